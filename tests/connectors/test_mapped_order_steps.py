"""The order steps every agency whose assets the hub orders through its mapping alone takes the same way — the
securities depository (a holding), the land registry (a property) and the vehicle registry (a vehicle): the generic
client against the kind's generated simulator freezing an asset by its reference, releasing it, undoing a cancelled
freeze, hearing of a reference the agency does not hold, and sending no order its mapping cannot say (a transfer, a
reference not of the kind's form, a cancel naming no order). What differs between the kinds is the table below;
what each does of its own (the bodies its interface declares, the vehicle's restriction types): its mapping test."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors import wire_client_for
from estelam.contracts import registry as contracts
from estelam.core.domain import AckStatus, AgencyInstance, FreezeOrder, OrderKind, RestrictionType
from estelam.core.exceptions import AgencyError, AgencyFault, OperationNotInContract
from estelam.core.kinds import mapping_at
from simulators.agency_state import AgencyState, MappedAsset
from simulators.server import Request, Response, RunningServer
from simulators.world import World, generate
from tests.mapping_support import drawn_assets, simulated

PROJECT = contracts.load_agency_registry()
CASE = "1403-000123"
AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


@dataclass(frozen=True)
class OrderedKind:
    """What differs between the kinds in these steps."""

    agency_id: str  # the kind's instance the steps run against
    whole: bool  # restricted whole (the freeze plan's indivisible kinds): a claim of 1 immobilises all it is worth
    restrictions: tuple[str, ...]  # the restriction types its freezes may carry (none: its freezes carry no type)
    unknown_ref: str  # a reference of the kind's form naming nothing the agency holds ({owner}: the asset's owner)
    unsayable: FreezeOrder  # a freeze the mapping cannot put into a request
    refusal: str  # what the client's refusal of it says


def _order(kind: OrderKind, agency_id: str, ref: str, amount: int, order_id: str, *,
           cancels: str | None = None) -> FreezeOrder:
    return FreezeOrder(order_id, kind, CASE, agency_id, ref, amount, AT, cancels=cancels)


KINDS = [
    OrderedKind("csdi", whole=False, restrictions=(), unknown_ref="{owner}:NOSUCH",
                unsayable=_order(OrderKind.FREEZE, "csdi", "IKCO1", 100, "o-1"),
                refusal="not of the form person_id:symbol"),
    OrderedKind("land_registry", whole=True, restrictions=(), unknown_ref="99/99999/0",
                unsayable=_order(OrderKind.FREEZE, "land_registry", "0012345679:IKCO1", 100, "o-1"),
                refusal="not of the form registry_section/main_plate/sub_plate"),
    OrderedKind("traffic_police", whole=True, restrictions=tuple(str(r) for r in RestrictionType),
                unknown_ref="11ب111-11",
                unsayable=replace(_order(OrderKind.FREEZE, "traffic_police", "12ب345-67", 1, "o-1"),
                                  restriction_type="towing"),  # type: ignore[arg-type]  # a type no kind declares
                refusal="'towing' is not one of the kind's"),
]
IDS = ["securities_depository", "land_registry", "vehicle_registry"]


@pytest.fixture(scope="module")
def world() -> World:
    return generate(PROJECT.instances)


def _instance(agency_id: str) -> AgencyInstance:
    return contracts.load_agency_registry().instance(agency_id)


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_the_agency_freezes_releases_and_cancels_by_reference_and_is_never_sent_a_transfer(
        world: World, kind: OrderedKind) -> None:
    instance = _instance(kind.agency_id)
    state = AgencyState(instance, [])
    owner, ref, row = drawn_assets(world, instance)[0]
    assets = mapping_at(Path(str(instance.mapping_file))).assets
    assert assets is not None
    worth = int(row[assets.value])

    def order(order_kind: OrderKind, asset_ref: str, amount: int, order_id: str,
              cancels: str | None = None) -> FreezeOrder:
        return _order(order_kind, kind.agency_id, asset_ref, amount, order_id, cancels=cancels)

    with simulated(world, instance, state) as url:
        client = wire_client_for(replace(instance, endpoint=url))
        ack = client.freeze(order(OrderKind.FREEZE, ref, 1, "sim-1"))
        assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial, ack.asset_ref) == (
            AckStatus.DONE, 1, 1, ref)
        assert MappedAsset(ref, owner, worth, False, kind.whole, kind.restrictions) in state.assets_of(owner)
        assert state.immobilised_value(ref) == (worth if kind.whole else 1)  # a property, a vehicle: all of it
        assert client.release(order(OrderKind.RELEASE, ref, 1, "sim-2")).frozen_total_rial == 0
        assert state.immobilised_value(ref) == 0
        client.freeze(order(OrderKind.FREEZE, ref, 5, "sim-3"))
        cancelled = client.cancel(order(OrderKind.CANCEL, ref, 5, "sim-4", cancels="sim-3"))
        assert (cancelled.order_id, cancelled.status, cancelled.acknowledged_amount_rial,
                cancelled.frozen_total_rial) == ("sim-4", AckStatus.DONE, 5, 0)
        unknown = kind.unknown_ref.format(owner=owner)
        assert client.freeze(order(OrderKind.FREEZE, unknown, 1, "sim-5")).status is AckStatus.UNKNOWN_ASSET
        with pytest.raises(OperationNotInContract, match="no transfer operation"):
            client.transfer(order(OrderKind.TRANSFER, ref, 1, "sim-6"))
        client.close()
    assert state.applied_orders() == 5  # the transfer was never sent


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_an_order_the_mapping_cannot_say_is_not_sent(world: World, kind: OrderedKind) -> None:
    instance = _instance(kind.agency_id)
    _, ref, _ = drawn_assets(world, instance)[0]
    sent: list[Request] = []

    def recorder(request: Request) -> Response:
        sent.append(request)
        return Response(500)

    with RunningServer(recorder) as server:
        client = wire_client_for(replace(instance, endpoint=server.url), credentials=None)
        with pytest.raises(AgencyError, match=kind.refusal) as refused:
            client.freeze(kind.unsayable)
        assert not isinstance(refused.value, AgencyFault)
        with pytest.raises(AgencyError, match="names no order to cancel"):
            client.cancel(_order(OrderKind.CANCEL, kind.agency_id, ref, 100, "o-2"))
        client.close()
    assert sent == []

