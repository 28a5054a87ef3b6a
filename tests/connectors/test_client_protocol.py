"""Every client the hub holds is an ``AgencyClient``: the wire clients and the resilient wrapper.

This module is in mypy's ``files`` (pyproject ``[tool.mypy]``): the assignments below are checked
statically, and the same clients are checked at run time against the ``runtime_checkable`` protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from connectors import AgencyClient, ResilientClient, client_for
from connectors.base import FREEZE_AND_RELEASE
from connectors.mapped import MappedAgencyClient, mapped_client
from estelam.contracts.registry import load_agency_registry
from estelam.core.domain import Acknowledgement, AgencyInstance, AgencyKind, FreezeOrder, OrderKind
from estelam.core.exceptions import AgencyError, OperationNotInContract

REGISTRY = load_agency_registry()
#: The clients the hub holds: the generic client of every kind (declared by its mapping), the wrapper.
Client = MappedAgencyClient | ResilientClient
VEHICLES = AgencyKind("vehicle_registry")


def _first(kind: AgencyKind) -> AgencyInstance:
    return next(i for i in REGISTRY.instances if i.kind is kind)


def as_agency_client(client: Client) -> AgencyClient:
    """Accepted by mypy only while both satisfy the protocol."""
    return client


@pytest.fixture
def clients() -> Iterator[dict[str, Client]]:
    bank = mapped_client(_first(AgencyKind("bank")), credentials=None)  # a SOAP kind declared by its mapping
    land = mapped_client(_first(AgencyKind("land_registry")), credentials=None)  # a kind declared by its mapping
    vehicles = mapped_client(_first(VEHICLES), credentials=None)  # a REST kind declared by its mapping
    made: dict[str, Client] = {
        "mapped_bank": bank, "mapped_land_registry": land, "mapped_vehicle_registry": vehicles,
        "resilient_bank": ResilientClient(bank), "resilient_vehicle_registry": ResilientClient(vehicles),
    }
    yield made
    for client in made.values():
        client.close()


def test_wire_clients_and_the_resilient_client_are_agency_clients(
        clients: dict[str, Client]) -> None:
    for name, client in clients.items():
        typed: AgencyClient = as_agency_client(client)
        assert isinstance(typed, AgencyClient), name
        assert typed.max_batch_size >= 1, name
    resilient: AgencyClient = client_for(_first(VEHICLES))
    try:
        assert isinstance(resilient, AgencyClient)
    finally:
        resilient.close()


class _FreezeOnly:
    """A client written before transfers existed: no ``transfer``, no ``order_kinds``."""

    instance = _first(AgencyKind("bank"))
    max_batch_size = 1

    def inquire(self, person_id: str, request_id: str) -> None: ...

    def inquire_batch(self, person_ids: list[str], request_id: str) -> None: ...

    def freeze(self, order: FreezeOrder) -> None: ...

    def release(self, order: FreezeOrder) -> None: ...

    def close(self) -> None: ...


def test_a_client_without_the_transfer_operation_is_not_an_agency_client() -> None:
    assert not isinstance(_FreezeOnly(), AgencyClient)


def test_order_kinds_follow_each_contract(
        clients: dict[str, Client]) -> None:
    assert clients["mapped_bank"].order_kinds == frozenset(OrderKind)
    assert clients["resilient_bank"].order_kinds == frozenset(OrderKind)
    # every agency can be told to cancel an order; only banks move money (transfer, payout)
    assert clients["mapped_land_registry"].order_kinds == FREEZE_AND_RELEASE | {OrderKind.CANCEL}
    assert clients["mapped_vehicle_registry"].order_kinds == FREEZE_AND_RELEASE | {OrderKind.CANCEL}
    assert clients["resilient_vehicle_registry"].order_kinds == FREEZE_AND_RELEASE | {OrderKind.CANCEL}


def _transfer(client: Client, order: FreezeOrder) -> Acknowledgement:
    return client.transfer(order)


def _pay_out(client: Client, order: FreezeOrder) -> Acknowledgement:
    return client.pay_out(order)


@pytest.mark.parametrize("name", ["mapped_land_registry", "mapped_vehicle_registry", "resilient_vehicle_registry"])
@pytest.mark.parametrize(("kind", "send"), [(OrderKind.TRANSFER, _transfer), (OrderKind.PAYOUT, _pay_out)],
                         ids=["transfer", "payout"])
def test_a_transfer_or_payout_where_the_contract_has_none_is_a_final_typed_error(
        clients: dict[str, Client], name: str, kind: OrderKind,
        send: Callable[[Client, FreezeOrder], Acknowledgement]) -> None:
    client = clients[name]
    order = FreezeOrder(f"{kind}-1", kind, "C1", client.instance.agency_id, "IR" + "0" * 24, 1_000,
                        datetime(2026, 11, 1, tzinfo=UTC))
    with pytest.raises(OperationNotInContract, match=f"no {kind} operation") as raised:
        send(client, order)  # no simulator runs: reaching the network would fail differently
    error: AgencyError = raised.value
    assert (error.agency_id, error.operation, error.request_id) == (client.instance.agency_id, kind, order.order_id)
    assert not error.transient
