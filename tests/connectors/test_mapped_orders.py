"""Orders to a kind declared by files alone: the mapping's ``orders`` section names the freeze and release operations
of the kind's interface, how each request is filled from an order and how the acknowledgement is read; the
generic client sends them, and the hub's reconciliation pushes a planned freeze through it."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors import client_for, wire_client_for
from estelam.contracts import registry as contracts
from estelam.core.domain import AckStatus, AgencyInstance, FreezeOrder, OrderKind
from estelam.core.exceptions import AgencyAnswerMalformed, OperationNotInContract
from estelam.freeze.ledger import CaseFacts, HubView
from estelam.freeze.planner import KnownAsset
from estelam.freeze.reconciliation import MemoryLedger, reconcile
from simulators.server import Request, Response, RunningServer
from tests.mapping_support import assert_refused_on_load, line_of
from tests.settings_support import override

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "kinds"
PROJECT_CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
AT = datetime(2026, 11, 30, 9, tzinfo=UTC)
REGISTRY = """defaults: {reply_deadline_s: 10, timeout_s: 5, demo_credentials: true}
kinds: {}
instances:
  - agency_id: coin_exchange
    kind: crypto_exchange
    name: Coin exchange
    endpoint: http://127.0.0.1:1
"""


class Exchange:
    """A test exchange speaking the fixture interface's order operations: it blocks what a wallet still holds."""

    def __init__(self, wallets: dict[str, int]) -> None:
        self.wallets = wallets
        self.held: dict[tuple[str, str], int] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, request: Request) -> Response:
        found = re.fullmatch(r"/v1/wallets/([^/]+)/(blocks|unblocks)", request.path)
        if request.method != "POST" or found is None:
            return Response(404)
        wallet, action = found.groups()
        body = json.loads(request.body)
        self.calls.append((request.path, body))
        key = (body["courtCase"], wallet)
        if wallet not in self.wallets:
            outcome, moved = "NO_SUCH_WALLET", 0
        elif action == "blocks":
            free = self.wallets[wallet] - sum(v for (_, w), v in self.held.items() if w == wallet)
            moved = min(body["rialAmount"], free)
            outcome = "BLOCKED" if moved == body["rialAmount"] else "PARTLY_BLOCKED"
            self.held[key] = self.held.get(key, 0) + moved
        else:
            moved = min(body["rialAmount"], self.held.get(key, 0))
            outcome = "UNBLOCKED"
            self.held[key] = self.held.get(key, 0) - moved
        ack = {"orderRef": body["orderRef"], "outcome": outcome,
               "result": {"movedRial": moved, "heldRial": self.held.get(key, 0)},
               "at": "2026-11-30T09:00:05+00:00"}
        return Response(200, json.dumps(ack).encode(), {"Content-Type": "application/json"})


@pytest.fixture
def fixture_contracts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "contracts"
    shutil.copytree(PROJECT_CONTRACTS / "feeds", folder / "feeds")
    for feed in (FIXTURE / "feeds").glob("*.yaml"):
        shutil.copy(feed, folder / "feeds")
    shutil.copytree(FIXTURE / "kinds", folder / "kinds")
    (folder / "agencies.yaml").write_text(REGISTRY, encoding="utf-8")
    override(monkeypatch, contracts_dir=folder, data_dir=tmp_path / "data")
    return folder


def _instance() -> AgencyInstance:
    return contracts.load_agency_registry().instance("coin_exchange")


def _order(kind: OrderKind, wallet: str, amount: int, order_id: str = "ord-1") -> FreezeOrder:
    return FreezeOrder(order_id, kind, "1403-000007", "coin_exchange", wallet, amount, AT)


def test_the_generic_client_sends_the_mapped_orders_and_reads_their_acknowledgements(
        fixture_contracts: Path) -> None:
    exchange = Exchange({"CW1": 1_000})
    with RunningServer(exchange) as server:
        client = wire_client_for(replace(_instance(), endpoint=server.url), credentials=None)
        assert client.order_kinds == frozenset({OrderKind.FREEZE, OrderKind.RELEASE})
        ack = client.freeze(_order(OrderKind.FREEZE, "CW1", 600, "ord-1"))
        assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.DONE, 600, 600)
        assert ack.acknowledged_at == datetime(2026, 11, 30, 9, 0, 5, tzinfo=UTC)
        ack = client.freeze(_order(OrderKind.FREEZE, "CW1", 600, "ord-2"))  # 400 left: partly blocked
        assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.PARTIAL, 400, 1_000)
        ack = client.release(_order(OrderKind.RELEASE, "CW1", 300, "ord-3"))
        assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.DONE, 300, 700)
        assert client.freeze(_order(OrderKind.FREEZE, "CW9", 5, "ord-4")).status is AckStatus.UNKNOWN_ASSET
        sent = len(exchange.calls)
        with pytest.raises(OperationNotInContract):  # no transfer in the mapping: nothing is sent
            client.transfer(_order(OrderKind.TRANSFER, "CW1", 100, "ord-5"))
        assert len(exchange.calls) == sent
        client.close()
    # the request filled as the mapping says: the wallet in the path, the order's fields, the literal channel
    path, body = exchange.calls[0]
    assert path == "/v1/wallets/CW1/blocks"
    assert body == {"orderRef": "ord-1", "courtCase": "1403-000007", "rialAmount": 600, "channel": "court"}
    assert "channel" not in exchange.calls[2][1]  # the release maps no channel


def test_an_acknowledgement_for_another_order_or_with_an_unknown_status_is_malformed(fixture_contracts: Path) -> None:
    def lying(request: Request) -> Response:
        body = json.loads(request.body)
        ref = "someone-else" if body["rialAmount"] == 1 else body["orderRef"]
        outcome = "MAYBE" if body["rialAmount"] == 2 else "BLOCKED"
        return Response(200, json.dumps({"orderRef": ref, "outcome": outcome,
                                         "result": {"movedRial": 1, "heldRial": 1}}).encode(),
                        {"Content-Type": "application/json"})

    with RunningServer(lying) as server:
        client = wire_client_for(replace(_instance(), endpoint=server.url), credentials=None)
        with pytest.raises(AgencyAnswerMalformed, match="someone-else"):
            client.freeze(_order(OrderKind.FREEZE, "CW1", 1))
        with pytest.raises(AgencyAnswerMalformed, match="MAYBE"):
            client.freeze(_order(OrderKind.FREEZE, "CW1", 2))
        client.close()


def test_reconciliation_pushes_a_planned_freeze_of_a_mapped_asset_through_the_mapping(
        fixture_contracts: Path) -> None:
    exchange = Exchange({"CW1": 5_000})
    person = "0012345679"
    view = HubView(cases=[CaseFacts("1403-000007", person, "legal", AT - timedelta(days=3), 3_000, True)],
                   assets=[KnownAsset(person, "coin_exchange", "crypto_wallet", "CW1", 5_000, AT - timedelta(hours=1),
                                      rank=2)])
    ledger = MemoryLedger()
    with RunningServer(exchange) as server:
        client = client_for(replace(_instance(), endpoint=server.url), credentials=None)
        summary = reconcile("cycle-1", view, ledger, {"coin_exchange": client}, deadlines_s={"coin_exchange": 10},
                            now=AT)
        client.close()
    assert summary.freezes == 1 and summary.delivered == 1, summary
    assert exchange.held == {("1403-000007", "CW1"): 3_000}
    (ack,) = ledger.ack_rows
    assert (ack["status"], ack["acknowledged_amount_rial"], ack["asset_ref"]) == ("done", 3_000, "CW1")


# --- guard rails ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "field", "says"), [
    ("operation: blockWallet", "operation: blockWallets", "orders.freeze.operation", "has no operation"),
    ("rialAmount: $amount_rial, channel", "amountRial: $amount_rial, channel", "orders.freeze.request.amountRial",
     "has no request field"),
    ("{walletId: $asset_ref, orderRef: $order_id, courtCase: $case_id, rialAmount: $amount_rial, channel: =court}",
     "{walletId: $asset_ref, orderRef: $order_id, rialAmount: $amount_rial}", "orders.freeze.request",
     "requires ['courtCase']"),
    ("courtCase: $case_id, rialAmount: $amount_rial, channel", "courtCase: $case, rialAmount: $amount_rial, channel",
     "orders.freeze.request.courtCase", "is not one of"),
    ("    amount: result.movedRial\n    frozen_total: result.heldRial\n    acknowledged_at: at\n    reason",
     "    amount: result.moved\n    frozen_total: result.heldRial\n    acknowledged_at: at\n    reason",
     "orders.freeze.amount", "does not resolve"),
    ("    frozen_total: result.heldRial\n    acknowledged_at: at\n    reason",
     "    frozen_total: orderRef\n    acknowledged_at: at\n    reason", "orders.freeze.frozen_total",
     "types 'orderRef' as string, not int"),
    ("BLOCKED: done, PARTLY", "BLOCKED: blocked, PARTLY", "orders.freeze.statuses.BLOCKED", "is not one of"),
    ("  freeze:\n", "  seize:\n", "orders.seize", "unknown order kind"),
])
def test_an_order_section_that_does_not_fit_its_interface_is_refused_naming_file_line_and_field(
        fixture_contracts: Path, old: str, new: str, field: str, says: str) -> None:
    error = assert_refused_on_load(fixture_contracts, "crypto_exchange", old, new, field, says)
    first = new.strip().splitlines()[0]
    assert error.line == line_of(error.path, first if field != "orders.freeze.request" else "request: {walletId"), (
        str(error))


def test_a_notice_names_a_mapped_asset_by_its_mappings_label(fixture_contracts: Path) -> None:
    from estelam.outputs.texts import asset_noun

    assert [asset_noun("crypto_wallet", lang) for lang in ("fa", "ar", "en")] == [
        "کیف پول رمزارز", "محفظة عملة مشفرة", "crypto wallet"]
    assert asset_noun("bank_account", "en") == "account" and asset_noun("gold_bar", "en") == "gold_bar"
