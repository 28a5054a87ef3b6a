"""The vehicle registry, a kind declared by its mapping (contracts/kinds/vehicle_registry.yaml) over its OpenAPI file:
the mapping format's addition it needs — a freeze carrying a restriction type as data (``contributes.assets.
restrictions: [transfer, circulation, seizure]``, ``restriction_default: transfer``, ``$restriction`` in the freeze's
request) — a vehicle still named by its plate as every order and ledger named it, the built-in asset kind
``vehicle`` (rank 3, restricted whole), the registry keeping the strongest type a case asked for and taking an order
of another type as the judge's change; and, with the land registry, what every registry moved onto a mapping must
do the same way (landing what its world data draws, refusing an order that arrives after its cancel). Its order steps
against the generated simulator (freezing a vehicle whole, releasing, cancelling; a type the kind does not declare
never sent): in test_mapped_order_steps, with the depository's and the land registry's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from connectors import wire_client_for
from connectors.mapped import MappedAgencyClient
from estelam.contracts import kind_models
from estelam.contracts import registry as contracts
from estelam.core.domain import AckStatus, AgencyInstance, AgencyKind, FreezeOrder, OrderKind, RestrictionType
from estelam.freeze.planner import INDIVISIBLE_KINDS, LIQUIDITY_RANK
from simulators.agency_state import AgencyState
from simulators.world import World, generate
from tests.mapping_support import (
    PROJECT_CONTRACTS,
    assert_refused_on_load,
    by_reference,
    copy_contracts,
    drawn_assets,
    drawn_records,
    simulated,
)

MAPPING = PROJECT_CONTRACTS / "kinds" / "vehicle_registry.yaml"
PROJECT = contracts.load_agency_registry()
POLICE = "traffic_police"
#: The registries moved onto mappings whose tests are the same shape: one instance of each.
REGISTRIES = ["land_registry", POLICE]
CASE = "1403-000123"
AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(PROJECT.instances)


def _instance(agency_id: str = POLICE) -> AgencyInstance:
    return contracts.load_agency_registry().instance(agency_id)


@pytest.fixture
def police_state() -> AgencyState:
    return AgencyState(PROJECT.instance(POLICE), [])


@pytest.fixture
def police(world: World, police_state: AgencyState) -> Iterator[MappedAgencyClient]:
    """The generic client against the vehicle registry's generated simulator (its ledger: ``police_state``)."""
    with simulated(world, _instance(), police_state) as url:
        client = wire_client_for(replace(_instance(), endpoint=url))
        assert isinstance(client, MappedAgencyClient)
        yield client
        client.close()


def _order(kind: OrderKind, ref: str, amount: int, order_id: str, *, agency_id: str = POLICE,
           cancels: str | None = None, restriction: RestrictionType | None = None) -> FreezeOrder:
    return FreezeOrder(order_id, kind, CASE, agency_id, ref, amount, AT, restriction, cancels)


# --- the mapping --------------------------------------------------------------------------------------------


def test_the_mapping_loads_against_the_openapi_file_and_the_feed() -> None:
    kind = PROJECT.kinds[AgencyKind("vehicle_registry")]
    assert kind.mapping is not None and kind.mapping.assets is not None
    assets = kind.mapping.assets
    assert (assets.asset_kind, assets.asset_ref, assets.asset_ref_parts) == ("vehicle", "plate", ())
    assert assets.liquidity_rank == LIQUIDITY_RANK["vehicle"] == 3 and "vehicle" in INDIVISIBLE_KINDS
    assert assets.restrictions == tuple(str(r) for r in RestrictionType)  # weakest first: seizure the strongest
    assert assets.restriction_default == RestrictionType.TRANSFER
    assert set(kind.mapping.orders) == {"freeze", "release", "cancel"}  # a vehicle is never transferred
    assert kind.mapping.orders["freeze"].request["restrictionType"] == "$restriction"
    assert kind.answer_feed == "vehicles" and _instance().mapping_file == str(MAPPING)
    assert kind.contract == str(PROJECT_CONTRACTS / "kinds" / "vehicle_registry.openapi.yaml")


def test_the_generated_asset_staging_keeps_the_plate_the_model_and_the_rank() -> None:
    text = kind_models.render_assets()
    section = text[text.index("-- vehicle_registry: feed vehicles"):].split("union all")[0]
    assert "cast(plate as varchar) as asset_ref" in section
    assert "cast(model as varchar) as asset_detail" in section
    assert "'vehicle' as asset_kind" in section and "3 as liquidity_rank" in section
    assert "cast(owner_name as varchar) as owner_name" in section  # identity evidence (int_person_records)


# --- what each registry moved onto a mapping does the same way ------------------------------------------------


@pytest.mark.parametrize("agency_id", REGISTRIES)
def test_the_generic_client_lands_the_records_the_world_draws(world: World, agency_id: str) -> None:
    instance = _instance(agency_id)
    persons = [p.person_id for p in world.persons]
    with simulated(world, instance) as url:
        client = wire_client_for(replace(instance, endpoint=url))
        assert isinstance(client, MappedAgencyClient) and client.max_batch_size == 500
        owners = 0
        for n, person in enumerate(persons):
            expected = by_reference(instance, drawn_records(world, instance, person))
            answer = client.inquire(person, f"inq-{n}")
            assert by_reference(instance, (r.values for r in answer.assets)) == expected  # type: ignore[union-attr]
            owners += bool(expected)
        batch = client.inquire_batch(persons[:50], "batch-1")
        client.close()
    assert 0 < owners < len(persons)
    for person in persons[:50]:
        got = batch[person]
        assert not isinstance(got, Exception)
        assert by_reference(instance, (r.values for r in got.assets)) == by_reference(  # type: ignore[union-attr]
            instance, drawn_records(world, instance, person))


@pytest.mark.parametrize("agency_id", REGISTRIES)
def test_an_order_arriving_after_its_cancel_is_refused(world: World, agency_id: str) -> None:
    instance = _instance(agency_id)
    _, ref, _ = drawn_assets(world, instance)[1]
    with simulated(world, instance) as url:
        client = wire_client_for(replace(instance, endpoint=url))
        first = client.cancel(_order(OrderKind.CANCEL, ref, 1_000, "x-1", agency_id=agency_id, cancels="late-1"))
        assert (first.status, first.acknowledged_amount_rial) == (AckStatus.DONE, 0)
        refused = client.freeze(_order(OrderKind.FREEZE, ref, 1_000, "late-1", agency_id=agency_id))
        client.close()
    assert (refused.status, refused.acknowledged_amount_rial, refused.reason) == (
        AckStatus.REFUSED, 0, "cancelled by order x-1")


# --- restrictions, as data ------------------------------------------------------------------------------------


def test_the_registry_restricts_a_vehicle_with_the_type_the_order_carries_and_the_judge_may_change_it(
        world: World, police: MappedAgencyClient, police_state: AgencyState) -> None:
    _, plate, _ = drawn_assets(world, _instance())[0]
    police.freeze(_order(OrderKind.FREEZE, plate, 1, "r-1"))  # no type named: the mapping's default
    assert police_state.restriction(CASE, plate) is RestrictionType.TRANSFER
    # the judge changes the type: an order of the new type restating the claim's total
    changed = police.freeze(_order(OrderKind.FREEZE, plate, 1, "r-2", restriction=RestrictionType.SEIZURE))
    assert (changed.status, changed.frozen_total_rial, changed.reason) == (AckStatus.DONE, 1, "restriction now seizure")
    assert police_state.restriction(CASE, plate) is RestrictionType.SEIZURE
    assert police.release(_order(OrderKind.RELEASE, plate, 1, "r-3")).frozen_total_rial == 0
    assert police_state.immobilised_value(plate) == 0 and police_state.restriction(CASE, plate) is None
    police.freeze(_order(OrderKind.FREEZE, plate, 5, "r-4", restriction=RestrictionType.CIRCULATION))
    cancelled = police.cancel(_order(OrderKind.CANCEL, plate, 5, "r-5", cancels="r-4"))
    assert (cancelled.status, cancelled.frozen_total_rial) == (AckStatus.DONE, 0)
    assert police_state.restriction(CASE, plate) is None


def test_a_further_claim_keeps_the_strongest_type_a_case_asked_for(
        world: World, police: MappedAgencyClient, police_state: AgencyState) -> None:
    _, plate, _ = drawn_assets(world, _instance())[2]
    police.freeze(_order(OrderKind.FREEZE, plate, 1, "s-1", restriction=RestrictionType.CIRCULATION))
    police.freeze(replace(_order(OrderKind.FREEZE, plate, 1, "s-2"), case_id="1403-000999"))  # another case
    assert police_state.restriction(CASE, plate) is RestrictionType.CIRCULATION
    assert police_state.restriction("1403-000999", plate) is RestrictionType.TRANSFER


def test_a_released_restriction_leaves_nothing_behind_for_the_next_freeze(
        world: World, police: MappedAgencyClient, police_state: AgencyState) -> None:
    # a seizure released in full is gone: the case's next freeze carries its own type, not the old seizure
    _, plate, _ = drawn_assets(world, _instance())[3]
    police.freeze(_order(OrderKind.FREEZE, plate, 1, "u-1", restriction=RestrictionType.SEIZURE))
    assert police.release(_order(OrderKind.RELEASE, plate, 1, "u-2")).frozen_total_rial == 0
    police.freeze(_order(OrderKind.FREEZE, plate, 1, "u-3", restriction=RestrictionType.CIRCULATION))
    assert police_state.restriction(CASE, plate) is RestrictionType.CIRCULATION


def test_the_registry_refuses_a_type_its_interface_does_not_declare(world: World) -> None:
    # the generic client never sends it (test_mapped_order_steps); the registry's interface declares the types: 422
    _, plate, _ = drawn_assets(world, _instance())[0]
    with simulated(world, _instance()) as url:
        answer = httpx.post(f"{url}/v1/restrictions", json={"orderId": "t-2", "caseId": CASE, "plate": plate,
                                                            "amountRial": 1, "restrictionType": "towing"})
    assert answer.status_code == 422 and "restrictionType must be one of" in answer.json()["detail"]


# --- guard rails of the addition --------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "field", "says"), [
    ("amountRial: $amount_rial}\n    order_id: orderId\n    status: status\n    amount: acknowledgedAmountRial\n"
     "    frozen_total: frozenTotalRial\n    acknowledged_at: acknowledgedAt\n    reason: reason\n  cancel:",
     "amountRial: $amount_rial, restrictionType: $restriction}\n    order_id: orderId\n    status: status\n"
     "    amount: acknowledgedAmountRial\n    frozen_total: frozenTotalRial\n    acknowledged_at: acknowledgedAt\n"
     "    reason: reason\n  cancel:", "orders.release.request.restrictionType", "only orders.freeze sends it"),
    (",\n              restrictionType: $restriction}", "}", "orders.freeze.request",
     "a freeze sends its type in one field ($restriction)"),
    ("restrictionType: $restriction}", "restrictionType: $restriction_type}",
     "orders.freeze.request.restrictionType", "is not one of"),
    ("restriction_default: transfer", "restriction_default: towing", "contributes.assets.restriction_default",
     "'towing' is not one of restrictions"),
    ("restrictions: [transfer, circulation, seizure]", "restrictions: [transfer, transfer]",
     "contributes.assets.restrictions", "a list of distinct restriction types"),
    ("restrictions: [transfer, circulation, seizure]", "restrictions: [transfer, impound]",
     "contributes.assets.restrictions", "['impound'] are not restriction types the hub orders"),
])
def test_a_restriction_that_does_not_fit_is_refused_naming_file_line_and_field(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, field: str, says: str) -> None:
    assert_refused_on_load(copy_contracts(tmp_path, monkeypatch), "vehicle_registry", old, new, field, says)
