"""The securities depository, a kind declared by its mapping (contracts/kinds/securities_depository.yaml) over its
published OpenAPI document: the mapping format's additions it needs — a composed asset reference (``asset_ref:
[person_id, symbol]``, split again into an order's fields by ``$asset_ref.<column>``), a ``detail`` template, an
``orders.cancel`` naming the withdrawn order (``$cancels``) — and the generic client against the generated simulator
landing the holdings its world data draws and sending the order bodies the depository's interface declares (those
of the hand-written client the mapping replaced). Its order steps against the generated simulator: in
test_mapped_order_steps, with the land registry's and the vehicle registry's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors import wire_client_for
from connectors.mapped import MappedAgencyClient
from estelam.contracts import kind_models
from estelam.contracts import registry as contracts
from estelam.core.domain import AckStatus, AgencyInstance, AgencyKind, FreezeOrder, OrderKind
from estelam.core.kinds import mapping_at, split_asset_ref
from simulators.agency_state import AgencyState
from simulators.mapped_app import mapped_application
from simulators.server import Request, Response, RunningServer
from simulators.world import World, generate
from tests.mapping_support import PROJECT_CONTRACTS, assert_refused_on_load, copy_contracts, drawn_records

MAPPING = PROJECT_CONTRACTS / "kinds" / "securities_depository.yaml"
PROJECT = contracts.load_agency_registry()
CASE = "1403-000123"
AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(PROJECT.instances)


def _instance() -> AgencyInstance:
    return contracts.load_agency_registry().instance("csdi")


@pytest.fixture
def depository(world: World) -> Iterator[str]:
    """The depository's generated simulator (as the fleet runs it), answering from the world."""
    instance = PROJECT.instance("csdi")
    app = mapped_application(AgencyState(instance, []), mapping_at(MAPPING), world, None)
    with RunningServer(app) as server:
        yield server.url


def _order(kind: OrderKind, ref: str, amount: int, order_id: str, cancels: str | None = None) -> FreezeOrder:
    return FreezeOrder(order_id, kind, CASE, "csdi", ref, amount, AT, cancels=cancels)


def test_the_mapping_loads_against_the_published_interface_and_the_feed() -> None:
    kind = PROJECT.kinds[AgencyKind("securities_depository")]
    assert kind.mapping is not None and kind.mapping.assets is not None
    assets = kind.mapping.assets
    assert (assets.asset_kind, assets.asset_ref, assets.ref_columns) == (
        "security_holding", "person_id:symbol", ("person_id", "symbol"))
    assert set(kind.mapping.orders) == {"freeze", "release", "cancel"}
    assert _instance().mapping_file == str(MAPPING)
    assert kind.contract == str(PROJECT_CONTRACTS / "kinds" / "securities_depository.openapi.yaml")
    assert split_asset_ref(assets, "0012345679:IKCO") == {"person_id": "0012345679", "symbol": "IKCO"}
    assert split_asset_ref(assets, "IKCO") is None


def test_the_generated_asset_staging_keeps_the_holdings_reference_and_detail() -> None:
    text = kind_models.render_assets()
    section = text[text.index("-- securities_depository: feed security_holdings"):].split("union all")[0]
    assert "cast(person_id as varchar) || ':' || cast(symbol as varchar) as asset_ref" in section
    assert "cast(symbol as varchar) || ' x ' || cast(quantity as varchar) as asset_detail" in section
    assert "'security_holding' as asset_kind" in section and "true as can_freeze" in section
    assert "cast(holder_name as varchar) as owner_name" in section  # identity evidence (int_person_records)


def test_the_generic_client_lands_the_holdings_the_world_draws(world: World, depository: str) -> None:
    mapped = wire_client_for(replace(_instance(), endpoint=depository))
    assert isinstance(mapped, MappedAgencyClient) and mapped.max_batch_size == 500
    holders = 0
    persons = [p.person_id for p in world.persons]
    for n, person in enumerate(persons[:300]):
        expected = sorted(drawn_records(world, _instance(), person), key=lambda r: r["symbol"])
        got = sorted((dict(r.values) for r in mapped.inquire(person, f"inq-{n}").assets),  # type: ignore[union-attr]
                     key=lambda r: r["symbol"])
        assert got == expected
        holders += bool(expected)
    assert holders > 0
    batch = mapped.inquire_batch(persons[:50], "batch-1")
    for person in persons[:50]:
        got_batch = batch[person]
        assert not isinstance(got_batch, Exception)
        assert sorted(r.values["symbol"] for r in got_batch.assets) == sorted(  # type: ignore[union-attr]
            r["symbol"] for r in drawn_records(world, _instance(), person))
    mapped.close()


def test_orders_send_the_interface_s_bodies_and_read_the_acknowledgements() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []

    def recorder(request: Request) -> Response:
        body = json.loads(request.body)
        sent.append((request.path, body))
        ack = {"orderId": body["orderId"], "status": "partial", "acknowledgedAmountRial": 40,
               "frozenTotalRial": 90, "acknowledgedAt": "2026-11-01T09:30:05Z", "reason": "part"}
        return Response(200, json.dumps(ack).encode(), {"Content-Type": "application/json"})

    ref = "0012345679:IKCO1"
    orders = [_order(OrderKind.FREEZE, ref, 100, "o-1"), _order(OrderKind.RELEASE, ref, 50, "o-2"),
              _order(OrderKind.CANCEL, ref, 100, "o-3", cancels="o-1")]
    with RunningServer(recorder) as server:
        client = wire_client_for(replace(_instance(), endpoint=server.url), credentials=None)
        assert OrderKind.CANCEL in client.order_kinds
        acks = [client.freeze(orders[0]), client.release(orders[1]), client.cancel(orders[2])]
        client.close()
    # the bodies the hand-written client sent, field for field
    body = {"caseId": CASE, "holderId": "0012345679", "symbol": "IKCO1"}
    assert sent == [("/v1/blocks", {"orderId": "o-1", **body, "amountRial": 100}),
                    ("/v1/releases", {"orderId": "o-2", **body, "amountRial": 50}),
                    ("/v1/blocks/cancel", {"orderId": "o-3", **body, "cancelsOrderId": "o-1", "amountRial": 100})]
    assert [(a.order_id, a.status, a.acknowledged_amount_rial, a.frozen_total_rial) for a in acks] == [
        (o.order_id, AckStatus.PARTIAL, 40, 90) for o in orders]
    assert acks[0].reason == "part" and acks[0].acknowledged_at == datetime(2026, 11, 1, 9, 30, 5, tzinfo=UTC)


# --- guard rails of the additions ---------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "field", "says"), [
    ("symbol: $asset_ref.symbol,", "symbol: $asset_ref.isin,",  # the first: the freeze's
     "orders.freeze.request.symbol", "is not composed of that column"),
    ("cancelsOrderId: $cancels,", "cancelsOrderId: $order_id,", "orders.cancel.request",
     "names the order it withdraws"),
    ("{orderId: $order_id, caseId: $case_id, holderId", "{orderId: $order_id, caseId: $cancels, holderId",
     "orders.freeze.request", "only orders.cancel sends it"),
    ("asset_ref: [person_id, symbol]", "asset_ref: [symbol]", "contributes.assets.asset_ref", "two or more"),
    ("asset_ref: [person_id, symbol]", "asset_ref: [person_id, ticker]", "contributes.assets.asset_ref.ticker",
     "a column the mapping does not fill"),
    ('detail: "{symbol} x {quantity}"', 'detail: "{symbol} x {qty}"', "contributes.assets.detail.qty",
     "a column the mapping does not fill"),
    ('detail: "{symbol} x {quantity}"', 'detail: "{symbol x {quantity}"', "contributes.assets.detail",
     "a template names columns"),
    ("asset_kind: security_holding", "asset_kind: vehicle", "contributes.assets.asset_kind",
     "built-in kind's own"),
])
def test_an_addition_that_does_not_fit_is_refused_naming_file_line_and_field(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, field: str, says: str) -> None:
    assert_refused_on_load(copy_contracts(tmp_path, monkeypatch), "securities_depository", old, new, field, says)
