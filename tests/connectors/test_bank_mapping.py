"""The banks as a kind declared by a mapping (contracts/kinds/bank.yaml) over their WSDL: the mapping format's
additions banks need (accounts named by IBAN, ``iban_accounts``; the payout), the generic client against the
generated simulator landing the accounts the world data draws (IBANs at each bank's own code) and sending every
order the WSDL declares — freeze, release, transfer, payout, cancel — with the bodies the retired hand-written
client sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from connectors import wire_client_for
from connectors.mapped import MappedAgencyClient
from estelam.contracts import kind_models
from estelam.contracts import registry as contracts
from estelam.core.domain import AckStatus, AgencyInstance, AgencyKind, FreezeOrder, OrderKind
from estelam.core.identifiers import is_iban
from estelam.core.kinds import mapping_at
from estelam.freeze.planner import BANK_ACCOUNT, INDIVISIBLE_KINDS, LIQUIDITY_RANK
from simulators.agency_state import AgencyState, MappedAsset
from simulators.mapped_app import mapped_application
from simulators.server import RunningServer
from simulators.world import World, bank_code_of, generate
from tests.mapping_support import body_fields, drawn_assets, drawn_records, mapped_client_of, recording
from tests.settings_support import override

PROJECT_CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
MAPPING = PROJECT_CONTRACTS / "kinds" / "bank.yaml"
WSDL = PROJECT_CONTRACTS / "kinds" / "bank.wsdl"
PROJECT = contracts.load_agency_registry()
NS = "urn:estelam:agency:bank:v1"
CASE = "1403-000123"
AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
CREDITOR_IBAN = "IR380170000000100000000001"


@pytest.fixture(scope="module")
def world() -> World:
    return generate(PROJECT.instances, n_persons=600, n_cases=4)


def _bank(agency_id: str = "bank_mellat") -> AgencyInstance:
    """A bank of the registry, as its mapping would declare it."""
    return replace(PROJECT.instance(agency_id), mapping_file=str(MAPPING))


@pytest.fixture
def bank_state() -> AgencyState:
    return AgencyState(_bank(), [])


@pytest.fixture
def generated(world: World, bank_state: AgencyState) -> Iterator[str]:
    """The bank's generated simulator, answering from the world's bank data (simulators/world_data/bank.yaml)."""
    with RunningServer(mapped_application(bank_state, mapping_at(MAPPING), world, None)) as server:
        yield server.url


def _order(kind: OrderKind, ref: str, amount: int, order_id: str, cancels: str | None = None) -> FreezeOrder:
    return FreezeOrder(order_id, kind, CASE, "bank_mellat", ref, amount, AT, cancels=cancels)


def _accounts(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return sorted((r["iban"], r["person_id"], r["holder_name"], r["account_kind"], r["balance_rial"]) for r in rows)


def test_the_mapping_loads_against_the_wsdl_and_the_feed_and_serves_every_bank() -> None:
    mapping = mapping_at(MAPPING)
    assets = mapping.assets
    assert assets is not None and assets.iban_accounts
    assert (assets.asset_kind, assets.asset_ref, assets.value) == (BANK_ACCOUNT, "iban", "balance_rial")
    assert assets.liquidity_rank == LIQUIDITY_RANK[BANK_ACCOUNT] == 1 and BANK_ACCOUNT not in INDIVISIBLE_KINDS
    assert assets.protected_when is not None and assets.protected_when.values == ("salary", "pension")
    assert set(mapping.orders) == {"freeze", "release", "transfer", "payout", "cancel"}
    assert mapping.feed == "bank_accounts" and mapping.interface == WSDL
    # the registry's kinds section no longer declares the bank: its mapping serves every bank
    kind = PROJECT.kinds[AgencyKind("bank")]
    assert kind.mapping is not None and kind.contract == str(WSDL)
    assert all(i.mapping_file == str(MAPPING) for i in PROJECT.of_kind(AgencyKind("bank")))


def test_the_generic_client_lands_the_accounts_the_world_data_draws(world: World, generated: str) -> None:
    client = mapped_client_of(_bank(), MAPPING, endpoint=generated)
    assert client.max_batch_size == 500  # the WSDL's maxOccurs
    code = bank_code_of(PROJECT.instance("bank_mellat"))
    persons = [p.person_id for p in world.persons][:500]
    holders = 0
    for n, person in enumerate(persons[:200]):
        expected = drawn_records(world, _bank(), person)
        answer = client.inquire(person, f"inq-{n}")
        assert _accounts([dict(r.values) for r in answer.assets]) == _accounts(expected)  # type: ignore[union-attr]
        holders += bool(expected)
        assert all(str(r["iban"])[4:4 + len(code)] == code for r in expected)  # at the bank's own code
    assert holders > 0
    batch = client.inquire_batch(persons, "batch-1")
    drawn = 0
    for person in persons:
        got = batch[person]
        assert not isinstance(got, Exception)
        expected = drawn_records(world, _bank(), person)
        assert _accounts([dict(r.values) for r in got.assets]) == _accounts(expected)  # type: ignore[union-attr]
        drawn += len(expected)
    assert drawn > 30
    client.close()


def test_every_order_sends_the_bodies_the_hand_written_client_sent(world: World) -> None:
    _, ref, _ = next(a for a in drawn_assets(world, _bank()) if a[2]["account_kind"] == "ordinary")
    app = mapped_application(AgencyState(_bank(), []), mapping_at(MAPPING), world, None)
    with recording(app) as (url, bodies):
        client = mapped_client_of(_bank(), MAPPING, endpoint=url)
        client.freeze(_order(OrderKind.FREEZE, ref, 100, "o-1"))
        client.release(_order(OrderKind.RELEASE, ref, 50, "o-2"))
        client.transfer(_order(OrderKind.TRANSFER, ref, 50, "o-3"))
        client.pay_out(_order(OrderKind.PAYOUT, CREDITOR_IBAN, 50, "o-4"))
        client.cancel(_order(OrderKind.CANCEL, ref, 100, "o-5", cancels="o-1"))
        client.inquire(world.persons[0].person_id, "inq-1")
        client.inquire_batch([p.person_id for p in world.persons[:3]], "batch-1")
        client.close()
        sent = {"mapped": list(bodies)}
    account = {"orderId": "o-1", "caseId": CASE, "iban": ref, "amountRial": "100"}
    assert body_fields(sent["mapped"])[:5] == [
        ("FreezeAccount", account),
        ("ReleaseAccount", {**account, "orderId": "o-2", "amountRial": "50"}),
        ("TransferToCourt", {**account, "orderId": "o-3", "amountRial": "50"}),
        ("PayOutToCreditor", {**account, "orderId": "o-4", "iban": CREDITOR_IBAN, "amountRial": "50"}),
        ("CancelAccountOrder", {"orderId": "o-5", "caseId": CASE, "cancelsOrderId": "o-1", "iban": ref,
                                "amountRial": "100"}),
    ]
    assert body_fields(sent["mapped"])[5] == ("InquireAccounts", {"personId": world.persons[0].person_id,
                                                                  "requestId": "inq-1"})
    batch = sent["mapped"][6]
    assert etree.QName(batch).localname == "InquireAccountsBatch"
    assert [c.text for c in batch if etree.QName(c).localname == "personId"] == [
        p.person_id for p in world.persons[:3]]
    assert all(etree.QName(b).namespace == NS for b in sent["mapped"])


def test_the_generated_bank_blocks_protects_transfers_pays_out_and_cancels(
        world: World, generated: str, bank_state: AgencyState) -> None:
    assets = drawn_assets(world, _bank())
    owner, ref, row = next(a for a in assets if a[2]["account_kind"] == "ordinary" and is_iban(a[1]))
    _, salary, _ = next(a for a in assets if a[2]["account_kind"] == "salary")
    balance = int(str(row["balance_rial"]))
    client = mapped_client_of(_bank(), MAPPING, endpoint=generated)
    ack = client.freeze(_order(OrderKind.FREEZE, ref, balance + 1, "b-1"))
    assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.PARTIAL, balance, balance)
    assert MappedAsset(ref, owner, balance) in bank_state.assets_of(owner)  # part-freezable, not protected
    assert client.freeze(_order(OrderKind.FREEZE, salary, 1, "b-2")).status is AckStatus.REFUSED  # by law
    assert client.release(_order(OrderKind.RELEASE, ref, 1, "b-3")).frozen_total_rial == balance - 1
    moved = client.transfer(_order(OrderKind.TRANSFER, ref, 10, "b-4"))
    assert (moved.status, moved.acknowledged_amount_rial, moved.frozen_total_rial) == (
        AckStatus.DONE, 10, balance - 11)
    assert bank_state.collected(CASE) == 10
    assert MappedAsset(ref, owner, balance - 10) in bank_state.assets_of(owner)
    paid = client.pay_out(_order(OrderKind.PAYOUT, CREDITOR_IBAN, 10, "b-5"))  # an account at another bank
    assert (paid.status, paid.acknowledged_amount_rial) == (AckStatus.DONE, 10)
    assert bank_state.paid_out(CASE) == {CREDITOR_IBAN: 10}
    broken = CREDITOR_IBAN[:-1] + "2"
    assert client.pay_out(_order(OrderKind.PAYOUT, broken, 10, "b-6")).status is AckStatus.REFUSED
    topped = client.freeze(_order(OrderKind.FREEZE, ref, 5, "b-7"))  # what the transfer left free: 1
    undone = client.cancel(_order(OrderKind.CANCEL, ref, 5, "b-8", cancels="b-7"))
    assert (topped.acknowledged_amount_rial, undone.status, undone.acknowledged_amount_rial) == (1, AckStatus.DONE, 1)
    assert undone.frozen_total_rial == balance - 11
    unknown = client.freeze(_order(OrderKind.FREEZE, "IR" + "0" * 24, 1, "b-9"))
    assert unknown.status is AckStatus.UNKNOWN_ASSET
    client.close()


@pytest.mark.parametrize(("jurisdiction", "agencies"), [("ir", "agencies.yaml"), ("sa", "agencies.sa.yaml")])
def test_the_switch_is_the_kinds_section_alone(monkeypatch: pytest.MonkeyPatch, jurisdiction: str,
                                               agencies: str) -> None:
    """The bank left out of the registry's kinds section, every bank is served by its mapping: the generic client
    (every order kind), the bank codes (3 digits in Iran, SAMA's 2 in Saudi Arabia) and the court's account checked
    by ``iban_accounts``, and the generated asset staging reading the accounts as the retired bank staging model
    did (IBAN reference, balance, rank 1, account kind as detail, salary and pension protected)."""
    registry_file = PROJECT_CONTRACTS / agencies
    assert "\n  bank:\n" not in registry_file.read_text(encoding="utf-8")
    override(monkeypatch, jurisdiction=jurisdiction)
    registry = contracts.load_agency_registry(registry_file)
    banks = registry.of_kind(AgencyKind("bank"))
    assert banks and all(b.mapping_file == str(MAPPING) for b in banks)
    assert all(b.iban_bank_code and len(b.iban_bank_code) == (3 if jurisdiction == "ir" else 2) for b in banks)
    court = contracts.load_court_account(registry_file)
    assert court is not None and court.agency_id in {b.agency_id for b in banks}
    client = wire_client_for(banks[0], credentials=None)
    assert isinstance(client, MappedAgencyClient) and client.order_kinds == frozenset(OrderKind)
    client.close()
    staging = kind_models.render_assets()
    section = staging[staging.index("-- bank: feed bank_accounts"):].split("union all")[0]
    for said in ("'bank_account' as asset_kind", "cast(iban as varchar) as asset_ref",
                 "cast(balance_rial as bigint) as value_rial", "1 as liquidity_rank",
                 "cast(account_kind as varchar) as asset_detail", "cast(holder_name as varchar) as owner_name",
                 "in ('salary', 'pension')", "true as can_freeze"):
        assert said in section, said


def test_the_saudi_banks_draw_sa_ibans_at_their_sama_codes_in_halalas(monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, jurisdiction="sa")
    saudi = contracts.load_agency_registry()
    world = generate(saudi.instances, n_persons=300, n_cases=2)
    bank = replace(saudi.of_kind(AgencyKind("bank"))[0], mapping_file=str(MAPPING))
    rows = [r for _, _, r in drawn_assets(world, bank)]
    code = bank_code_of(bank)
    assert len(code) == 2 and rows
    assert all(str(r["iban"]).startswith("SA") and str(r["iban"])[4:6] == code for r in rows)
    assert sum(is_iban(str(r["iban"])) for r in rows) >= len(rows) * 0.9  # a few mistyped, in the dirty share
    assert max(int(str(r["balance_rial"])) for r in rows) <= 300_000_000  # halalas
