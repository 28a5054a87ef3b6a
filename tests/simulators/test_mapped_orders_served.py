"""The generated simulator of an asset kind answers the orders its mapping declares: the order read back from the
request (a composed asset reference joined from its parts), applied to the agency's ledger over the assets its
world data draws (blocks up to what is left, releases, cancels, an order id applied once, the law's protected
assets refused), the acknowledgement written where the mapping reads it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors import wire_client_for
from connectors.mapped import MappedAgencyClient
from estelam.contracts import registry as contracts
from estelam.core.domain import AckStatus, AgencyInstance, FreezeOrder, OrderKind
from estelam.core.kinds import mapping_at
from simulators.agency_state import AgencyState
from simulators.mapped_app import WORLD_DATA_DIR, kind_world, load_kind_world, mapped_application, records_of
from simulators.server import RunningServer
from simulators.world import World, generate
from tests.settings_support import override

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PROJECT_CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
DEPOSITORY_WORLD = WORLD_DATA_DIR / "securities_depository.yaml"
AT = datetime(2026, 11, 30, 9, tzinfo=UTC)
CASE = "1403-000007"
EXCHANGE_REGISTRY = """defaults: {reply_deadline_s: 10, timeout_s: 5, demo_credentials: true}
instances:
  - agency_id: coin_exchange
    kind: crypto_exchange
    name: Coin exchange
    endpoint: http://127.0.0.1:1
"""


@pytest.fixture(scope="module")
def world() -> World:
    return generate(contracts.load_agency_registry().instances)


def _serve(instance: AgencyInstance, world: World, world_data: Path) -> tuple[RunningServer, MappedAgencyClient]:
    mapping = mapping_at(Path(str(instance.mapping_file)))
    app = mapped_application(AgencyState(instance, []), mapping, world, None, world_data=load_kind_world(world_data))
    server = RunningServer(app)
    client = wire_client_for(replace(instance, endpoint=server.url), credentials=None)
    assert isinstance(client, MappedAgencyClient)
    return server, client


def _order(kind: OrderKind, agency: str, ref: str, amount: int, order_id: str,
           cancels: str | None = None) -> FreezeOrder:
    return FreezeOrder(order_id, kind, CASE, agency, ref, amount, AT, cancels=cancels)


@pytest.fixture
def exchange(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, world: World) -> Iterator[MappedAgencyClient]:
    folder = tmp_path / "contracts"
    shutil.copytree(PROJECT_CONTRACTS / "feeds", folder / "feeds")
    for feed in (FIXTURES / "kinds" / "feeds").glob("*.yaml"):
        shutil.copy(feed, folder / "feeds")
    shutil.copytree(FIXTURES / "kinds" / "kinds", folder / "kinds")
    (folder / "agencies.yaml").write_text(EXCHANGE_REGISTRY, encoding="utf-8")
    override(monkeypatch, contracts_dir=folder, data_dir=tmp_path / "data")
    instance = contracts.load_agency_registry().instance("coin_exchange")
    server, client = _serve(instance, world, FIXTURES / "kinds" / "world_data" / "crypto_exchange.yaml")
    try:
        yield client
    finally:
        client.close()
        server.stop()


def test_the_exchange_simulator_blocks_releases_and_refuses_as_a_ledger(exchange: MappedAgencyClient,
                                                                        world: World) -> None:
    data = load_kind_world(FIXTURES / "kinds" / "world_data" / "crypto_exchange.yaml")
    wallets = [(p.person_id, row) for p in world.persons[:300]
               for row in records_of(world, data, "coin_exchange", p.person_id) or []]
    person, spot = next((p, r) for p, r in wallets if r["wallet_kind"] == "spot")
    _, escrow = next((p, r) for p, r in wallets if r["wallet_kind"] == "escrow")
    assert exchange.inquire(person, "inq-1").assets  # answered: the ledger holds the person's wallets
    value = spot["value_rial"]
    ack = exchange.freeze(_order(OrderKind.FREEZE, "coin_exchange", spot["wallet_id"], value - 1, "o-1"))
    assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.DONE, value - 1, value - 1)
    ack = exchange.freeze(_order(OrderKind.FREEZE, "coin_exchange", spot["wallet_id"], 5, "o-2"))
    assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.PARTIAL, 1, value)
    again = exchange.freeze(_order(OrderKind.FREEZE, "coin_exchange", spot["wallet_id"], 5, "o-2"))
    assert (again.status, again.acknowledged_amount_rial) == (AckStatus.PARTIAL, 1)  # applied once
    ack = exchange.release(_order(OrderKind.RELEASE, "coin_exchange", spot["wallet_id"], 10, "o-3"))
    assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.DONE, 10, value - 10)
    # an escrow wallet is protected (protected_when), drawn without an inquiry naming it
    ack = exchange.freeze(_order(OrderKind.FREEZE, "coin_exchange", escrow["wallet_id"], 5, "o-4"))
    assert (ack.status, ack.acknowledged_amount_rial) == (AckStatus.REFUSED, 0) and ack.reason
    assert exchange.freeze(_order(OrderKind.FREEZE, "coin_exchange", "CW0", 5, "o-5")).status is (
        AckStatus.UNKNOWN_ASSET)


@pytest.fixture
def depository(world: World) -> Iterator[MappedAgencyClient]:
    """The project's depository: declared by contracts/kinds/securities_depository.yaml, its world data the
    generated simulator's own."""
    instance = contracts.load_agency_registry().instance("csdi")
    server, client = _serve(instance, world, DEPOSITORY_WORLD)
    try:
        yield client
    finally:
        client.close()
        server.stop()


def test_the_depository_simulator_takes_blocks_releases_and_cancels_on_composed_references(
        depository: MappedAgencyClient, world: World) -> None:
    data = load_kind_world(DEPOSITORY_WORLD)
    person, row = next((p.person_id, r) for p in world.persons
                       for r in records_of(world, data, "csdi", p.person_id) or [])
    ref = f"{person}:{row['symbol']}"
    ack = depository.freeze(_order(OrderKind.FREEZE, "csdi", ref, 1_000, "d-1"))
    assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.DONE, 1_000, 1_000)
    ack = depository.release(_order(OrderKind.RELEASE, "csdi", ref, 400, "d-2"))
    assert (ack.status, ack.frozen_total_rial) == (AckStatus.DONE, 600)
    ack = depository.cancel(_order(OrderKind.CANCEL, "csdi", ref, 1_000, "d-3", cancels="d-1"))
    assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.DONE, 600, 0)
    # a cancel that arrives first: the order it withdraws is refused when it comes
    assert depository.cancel(_order(OrderKind.CANCEL, "csdi", ref, 1, "d-4", cancels="d-5")).status is AckStatus.DONE
    late = depository.freeze(_order(OrderKind.FREEZE, "csdi", ref, 1, "d-5"))
    assert (late.status, late.acknowledged_amount_rial) == (AckStatus.REFUSED, 0) and "cancelled" in late.reason
    assert depository.freeze(_order(OrderKind.FREEZE, "csdi", f"{person}:NOSUCH", 1, "d-6")).status is (
        AckStatus.UNKNOWN_ASSET)


def test_world_data_draws_unique_symbols_and_values_as_products(world: World) -> None:
    data = load_kind_world(DEPOSITORY_WORLD)
    drawn = [records_of(world, data, "csdi", p.person_id) for p in world.persons[:400]]
    held = [rows for rows in drawn if rows]
    assert held and any(len(rows) > 1 for rows in held)
    for rows in held:
        assert len({r["symbol"] for r in rows}) == len(rows)  # unique: a symbol at most once per holder
        for row in rows:
            assert row["value_rial"] == row["quantity"] * row["unit_price_rial"]
    assert drawn == [records_of(world, data, "csdi", p.person_id) for p in world.persons[:400]]  # stable


def test_the_depository_simulator_answers_inquiries_the_feed_accepts(depository: MappedAgencyClient,
                                                                    world: World) -> None:
    persons = [p.person_id for p in world.persons[:60]]
    answers = depository.inquire_batch(persons, "batch-1")
    rows = [r.values for a in answers.values() if not isinstance(a, Exception) for r in a.assets]  # type: ignore[union-attr]
    assert rows
    for row in rows:
        assert set(row) == {"person_id", "holder_name", "symbol", "quantity", "unit_price_rial", "value_rial"}
        assert row["value_rial"] == row["quantity"] * row["unit_price_rial"] and row["quantity"] >= 1
    single = depository.inquire(next(str(r["person_id"]) for r in rows), "inq-1")
    assert single.assets


def test_world_data_knows_persons_by_kind_and_never_one_the_world_draws_as_owning_nothing(world: World) -> None:
    data = load_kind_world(DEPOSITORY_WORLD)
    assert data.holders_only and data.known_share == {"natural": 0.3, "legal": 0.5}
    assetless = [p for p in world.persons if world.owns_nothing(p.person_id)]
    assert assetless, "the world draws some persons owning nothing"
    for person in assetless:
        assert records_of(world, data, "csdi", person.person_id) is None
    owners = [p for p in world.persons if not world.owns_nothing(p.person_id)]
    assert any(records_of(world, data, "csdi", p.person_id) for p in owners[:40])


def test_a_jurisdiction_world_reads_its_own_world_data_in_its_own_spelling(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Saudi world's depository (Edaa) draws Tadawul's numeric symbols and names as Saudi agencies spell them;
    a kind without Saudi world data is drawn from its own."""
    from simulators.world_sa import spell_arabic

    saudi = kind_world("securities_depository", jurisdiction="sa")
    assert saudi.source.name == "securities_depository.sa.yaml"
    assert kind_world("securities_depository", jurisdiction="ir").source == DEPOSITORY_WORLD
    assert kind_world("social_security", jurisdiction="sa").source.name == "social_security.yaml"
    override(monkeypatch, jurisdiction="sa")
    world = generate(contracts.load_agency_registry().instances, n_persons=300, jurisdiction="sa")
    drawn = [(p, r) for p in world.persons for r in records_of(world, saudi, "edaa", p.person_id) or []]
    assert drawn and all(r["symbol"].isdigit() for _, r in drawn)
    assert all(r["holder_name"] == spell_arabic(p.name, "edaa") for p, r in drawn)
