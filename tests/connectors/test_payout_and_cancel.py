"""Payouts and cancels over the wire, through the generic client against the generated simulators: the bank of the
court's account pays a creditor (PayOutToCreditor), and the bank undoes a cancelled order (SOAP CancelAccountOrder)
or refuses it when it comes later (the kinds declared by mappings, the depository's, the land
registry's and the vehicle registry's cancels: test_mapped_order_steps)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors import AgencyClient
from estelam.contracts.registry import load_agency_registry
from estelam.core.domain import AckStatus, AgencyKind, FreezeOrder, OrderKind
from estelam.core.exceptions import AgencyError
from estelam.core.kinds import mapping_at
from simulators.agency_state import AgencyState
from simulators.mapped_app import mapped_application
from simulators.server import RunningServer
from simulators.world import World, generate
from tests.mapping_support import mapped_client_of, unprotected_assets

REGISTRY = load_agency_registry()
AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
CREDITOR_IBAN = "IR370120000000200000000002"  # a valid IBAN at another bank
BANK = AgencyKind("bank")
#: The kinds whose cancels these tests send: the bank's (the other kinds' are their mapping tests').
KINDS = (BANK,)


@dataclasses.dataclass
class Agency:
    state: AgencyState
    client: AgencyClient


@pytest.fixture(scope="module")
def world() -> World:
    return generate(REGISTRY.instances)


@pytest.fixture(scope="module")
def agencies(world: World) -> Iterator[dict[AgencyKind, Agency]]:
    running: dict[AgencyKind, tuple[Agency, RunningServer]] = {}
    for kind in KINDS:
        instance = REGISTRY.of_kind(kind)[0]
        mapping_file = Path(str(instance.mapping_file))  # every agency kind is declared by its mapping
        state = AgencyState(instance, [])  # the generated simulator holds what it draws as it is asked
        server = RunningServer(mapped_application(state, mapping_at(mapping_file), world, None))
        local = dataclasses.replace(instance, endpoint=server.url)
        client: AgencyClient = mapped_client_of(local, mapping_file, endpoint=server.url)
        running[kind] = (Agency(state, client), server)
    yield {kind: agency for kind, (agency, _) in running.items()}
    for agency, server in running.values():
        agency.client.close()
        server.stop()


def _order(kind: OrderKind, case_id: str, agency_id: str, ref: str, amount: int, order_id: str,
           cancels: str | None = None) -> FreezeOrder:
    return FreezeOrder(f"{case_id}/{order_id}", kind, case_id, agency_id, ref, amount, AT, None, cancels)


def test_the_bank_pays_collected_money_to_the_creditors_account_once(agencies: dict[AgencyKind, Agency],
                                                                    case_id: str) -> None:
    bank = agencies[BANK]
    agency_id = bank.client.instance.agency_id
    payout = _order(OrderKind.PAYOUT, case_id, agency_id, CREDITOR_IBAN, 1_500_000, "p1")
    ack = bank.client.pay_out(payout)
    assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.DONE, 1_500_000, 0)
    assert bank.client.pay_out(payout).acknowledged_amount_rial == 1_500_000  # the same order id: paid once
    assert bank.state.paid_out(case_id) == {CREDITOR_IBAN: 1_500_000}


def test_a_payout_to_a_malformed_iban_is_refused_by_the_contract_or_the_bank(agencies: dict[AgencyKind, Agency],
                                                                            case_id: str) -> None:
    bank = agencies[BANK]
    agency_id = bank.client.instance.agency_id
    bad = "IR990170000000100000000001"  # the right shape, wrong check digits
    ack = bank.client.pay_out(_order(OrderKind.PAYOUT, case_id, agency_id, bad, 1_000, "p2"))
    assert (ack.status, ack.acknowledged_amount_rial) == (AckStatus.REFUSED, 0)
    assert "check digits" in ack.reason and bank.state.paid_out(case_id) == {}


def _freezable(world: World, agency_id: str) -> str:
    """An asset the agency's generated simulator draws that can take a 1,000-rial freeze (not a protected account)."""
    return unprotected_assets(world, REGISTRY.instance(agency_id), at_least=1_001)[0][1]


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_the_bank_undoes_a_cancelled_freeze(agencies: dict[AgencyKind, Agency], world: World,
                                                     case_id: str, kind: AgencyKind) -> None:
    agency = agencies[kind]
    agency_id = agency.client.instance.agency_id
    ref = _freezable(world, agency_id)
    freeze = _order(OrderKind.FREEZE, case_id, agency_id, ref, 1_000, "f1")
    assert agency.client.freeze(freeze).frozen_total_rial == 1_000
    cancel = agency.client.cancel(_order(OrderKind.CANCEL, case_id, agency_id, ref, 1_000, "x1", freeze.order_id))
    assert (cancel.status, cancel.acknowledged_amount_rial, cancel.frozen_total_rial) == (AckStatus.DONE, 1_000, 0)
    assert (case_id, ref) not in agency.state.held_freezes()


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_an_order_arriving_after_its_cancel_is_refused(agencies: dict[AgencyKind, Agency], world: World,
                                                       case_id: str, kind: AgencyKind) -> None:
    agency = agencies[kind]
    agency_id = agency.client.instance.agency_id
    ref = _freezable(world, agency_id)
    late = _order(OrderKind.FREEZE, case_id, agency_id, ref, 1_000, "late")
    first = agency.client.cancel(_order(OrderKind.CANCEL, case_id, agency_id, ref, 1_000, "x2", late.order_id))
    assert (first.status, first.acknowledged_amount_rial) == (AckStatus.DONE, 0)
    refused = agency.client.freeze(late)
    assert (refused.status, refused.acknowledged_amount_rial) == (AckStatus.REFUSED, 0)
    assert refused.reason == f"cancelled by order {case_id}/x2"


def test_a_cancel_naming_no_order_is_refused_before_it_is_sent(agencies: dict[AgencyKind, Agency],
                                                                case_id: str) -> None:
    for kind in KINDS:
        agency = agencies[kind]
        agency_id = agency.client.instance.agency_id
        with pytest.raises(AgencyError, match="names no order to cancel"):
            agency.client.cancel(_order(OrderKind.CANCEL, case_id, agency_id, "X", 1, "x3"))
