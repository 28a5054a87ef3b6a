"""Transfers to the court's account (collection) over the wire: the bank's TransferToCourt operation, through the
generic client (contracts/kinds/bank.yaml) against the bank's generated simulator.

Each module runs one bank simulator on loopback from a fresh state; tests keep apart by case id and by account
(that the depository and the registries have no transfer: tests/connectors/test_mapped_order_steps.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors import client_for
from connectors.base import FREEZE_AND_RELEASE, BatchAnswers
from connectors.mapped import MappedAgencyClient
from connectors.resilience import BreakerState, ResilientClient
from estelam.contracts.registry import load_agency_registry
from estelam.core.domain import (
    Acknowledgement,
    AckStatus,
    AgencyInstance,
    FreezeOrder,
    InquiryAnswer,
    OrderKind,
)
from estelam.core.kinds import mapping_at
from estelam.freeze.ledger import IssuedOrder, OrderStatus, ReasonCode
from estelam.freeze.reconciliation import push_orders
from simulators.agency_state import AgencyState
from simulators.mapped_app import mapped_application
from simulators.server import RunningServer
from simulators.world import World, generate
from tests.mapping_support import mapped_client_of

REGISTRY = load_agency_registry()
ISSUED_AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
Accounts = Iterator[tuple[str, str, int]]  # (holder, IBAN, balance): conftest.drawn_accounts


@dataclasses.dataclass
class Agency:
    instance: AgencyInstance
    state: AgencyState
    server: RunningServer
    client: MappedAgencyClient


@pytest.fixture(scope="module")
def world() -> World:
    return generate(REGISTRY.instances)


def _start(world: World, agency_id: str) -> Agency:
    instance = REGISTRY.instance(agency_id)
    mapping_file = Path(str(instance.mapping_file))
    state = AgencyState(instance, [])  # the generated simulator holds the accounts it draws as it is asked
    server = RunningServer(mapped_application(state, mapping_at(mapping_file), world, None))
    local = dataclasses.replace(instance, endpoint=server.url)
    return Agency(local, state, server, mapped_client_of(local, mapping_file, endpoint=server.url))


@pytest.fixture(scope="module")
def agencies(world: World) -> Iterator[dict[str, Agency]]:
    running = {agency_id: _start(world, agency_id) for agency_id in ("bank_melli",)}
    yield running
    for agency in running.values():
        agency.client.close()
        agency.server.stop()


@pytest.fixture
def bank(agencies: dict[str, Agency]) -> Agency:
    return agencies["bank_melli"]


def order(kind: OrderKind, case_id: str, ref: str, amount: int, order_id: str,
          agency_id: str = "bank_melli") -> FreezeOrder:
    return FreezeOrder(f"{case_id}/{order_id}", kind, case_id, agency_id, ref, amount, ISSUED_AT)


def held_for(agency: Agency, case_id: str) -> dict[tuple[str, str], int]:
    return {key: amount for key, amount in agency.state.held_freezes().items() if key[0] == case_id}


def test_transfer_moves_part_of_the_block_to_the_court(bank: Agency, case_id: str,
                                                      drawn_accounts: Accounts) -> None:
    holder, iban, balance_rial = next(drawn_accounts)
    frozen = balance_rial // 2
    part = frozen // 3
    bank.client.freeze(order(OrderKind.FREEZE, case_id, iban, frozen, "f1"))
    ack = bank.client.transfer(order(OrderKind.TRANSFER, case_id, iban, part, "t1"))
    assert ack.status is AckStatus.DONE
    assert (ack.acknowledged_amount_rial, ack.frozen_total_rial) == (part, frozen - part)
    assert (ack.order_id, ack.case_id, ack.asset_ref, ack.agency_id) == (f"{case_id}/t1", case_id, iban,
                                                                         "bank_melli")
    assert ack.acknowledged_at.tzinfo is UTC
    assert held_for(bank, case_id) == {(case_id, iban): frozen - part}
    assert bank.state.collected(case_id) == part
    balance = next(a.value_rial for a in bank.state.assets_of(holder) if a.asset_ref == iban)
    assert balance == balance_rial - part


def test_transfer_beyond_the_block_moves_only_what_is_frozen(bank: Agency, case_id: str,
                                                             drawn_accounts: Accounts) -> None:
    _holder, iban, balance_rial = next(drawn_accounts)
    frozen = balance_rial // 4
    bank.client.freeze(order(OrderKind.FREEZE, case_id, iban, frozen, "f1"))
    ack = bank.client.transfer(order(OrderKind.TRANSFER, case_id, iban, frozen + 1_000, "t1"))
    assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.PARTIAL, frozen, 0)
    assert held_for(bank, case_id) == {}
    assert bank.state.collected(case_id) == frozen
    # nothing frozen any more: a further transfer is refused and moves nothing
    again = bank.client.transfer(order(OrderKind.TRANSFER, case_id, iban, 1_000, "t2"))
    assert (again.status, again.acknowledged_amount_rial) == (AckStatus.REFUSED, 0)
    assert again.reason
    assert bank.state.collected(case_id) == frozen


def test_transfer_without_a_block_is_refused(bank: Agency, case_id: str,
                                             drawn_accounts: Accounts) -> None:
    _holder, iban, _balance_rial = next(drawn_accounts)
    ack = bank.client.transfer(order(OrderKind.TRANSFER, case_id, iban, 1_000, "t1"))
    assert (ack.status, ack.acknowledged_amount_rial) == (AckStatus.REFUSED, 0)
    assert "nothing frozen" in ack.reason
    assert bank.state.collected(case_id) == 0


def test_repeating_a_transfer_order_id_moves_the_money_once(bank: Agency, case_id: str,
                                                            drawn_accounts: Accounts) -> None:
    _holder, iban, balance_rial = next(drawn_accounts)
    frozen = balance_rial // 2
    bank.client.freeze(order(OrderKind.FREEZE, case_id, iban, frozen, "f1"))
    transfer = order(OrderKind.TRANSFER, case_id, iban, frozen // 2, "t1")
    applied_before = bank.state.applied_orders()
    first = bank.client.transfer(transfer)
    again = bank.client.transfer(transfer)
    assert again == first
    assert bank.state.applied_orders() == applied_before + 1
    assert bank.state.collected(case_id) == frozen // 2
    assert held_for(bank, case_id) == {(case_id, iban): frozen - frozen // 2}


def test_transfer_refuses_an_order_of_another_kind(bank: Agency, case_id: str) -> None:
    with pytest.raises(ValueError, match="not a transfer order"):
        bank.client.transfer(order(OrderKind.FREEZE, case_id, "IR" + "0" * 24, 1, "f1"))


# --- through the hub's own path: client_for and push_orders -----------------------------------------------


def issued(the_order: FreezeOrder, *, asset_kind: str = "bank_account") -> IssuedOrder:
    return IssuedOrder(order=the_order, version=1, reason_code=ReasonCode.COLLECTION, first_issued_at=ISSUED_AT,
                       deadline_at=ISSUED_AT + timedelta(hours=1), person_id="P", asset_kind=asset_kind,
                       confidential=False)


def test_push_orders_sends_a_transfer_through_the_hubs_bank_client(bank: Agency, case_id: str,
                                                                   drawn_accounts: Accounts) -> None:
    _holder, iban, balance_rial = next(drawn_accounts)
    frozen = balance_rial // 2
    client = client_for(bank.instance)
    try:
        assert isinstance(client, ResilientClient)
        freeze = order(OrderKind.FREEZE, case_id, iban, frozen, "f1")
        transfer = order(OrderKind.TRANSFER, case_id, iban, frozen, "t1")
        log, acks = push_orders([issued(freeze), issued(transfer)], {"bank_melli": client}, cycle_id="c1",
                                now=ISSUED_AT)
    finally:
        client.close()
    assert [row["delivery"] for row in log] == ["delivered", "delivered"]
    assert [row["status"] for row in log] == [str(OrderStatus.ACKNOWLEDGED)] * 2
    assert [(a.status, a.acknowledged_amount_rial) for a in acks] == [(AckStatus.DONE, frozen)] * 2
    assert acks[1].frozen_total_rial == 0
    assert bank.state.collected(case_id) == frozen
    assert held_for(bank, case_id) == {}


class _NoTransfer:
    """A wire client whose agency's contract has freeze and release only (as the REST agencies)."""

    max_batch_size = 1
    order_kinds = FREEZE_AND_RELEASE

    def __init__(self, instance: AgencyInstance) -> None:
        self.instance = instance
        self.calls = 0

    def inquire(self, person_id: str, request_id: str) -> InquiryAnswer:
        raise NotImplementedError

    def inquire_batch(self, person_ids: Sequence[str], request_id: str) -> BatchAnswers:
        raise NotImplementedError

    def freeze(self, order: FreezeOrder) -> Acknowledgement:
        self.calls += 1
        raise NotImplementedError

    release = transfer = freeze

    def close(self) -> None:
        pass


def test_a_wrapped_client_without_transfer_records_the_order_failed_with_the_reason(bank: Agency,
                                                                                     case_id: str) -> None:
    inner = _NoTransfer(bank.instance)
    client = ResilientClient(inner)  # type: ignore[arg-type]
    transfer = order(OrderKind.TRANSFER, case_id, "IR" + "0" * 24, 1_000, "t1")
    log, acks = push_orders([issued(transfer)], {"bank_melli": client}, cycle_id="c1", now=ISSUED_AT)
    assert acks == []
    assert log[0]["delivery"] == "failed"
    assert log[0]["status"] == str(OrderStatus.PENDING)
    assert "no transfer operation" in str(log[0]["reason"])
    assert inner.calls == 0 and client.last_attempts == 0
    assert client.breaker.state is BreakerState.CLOSED
