"""The REST wire (``connectors.rest``) under the generic client, against the generated REST simulators, both built
from the same OpenAPI files: every REST kind (the vehicle registry, the securities depository) is declared by its
mapping (contracts/kinds/), so these are the wire's behaviours — answers, acknowledgements, problems, timeouts, what
is malformed — as the hub meets them at any REST agency."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from connectors import wire_client_for
from connectors.mapped import MappedAgencyClient
from connectors.rest import RestAgencyClient
from estelam.contracts.registry import load_agency_registry
from estelam.core.domain import (
    AckStatus,
    AgencyInstance,
    AgencyKind,
    FeedRecord,
    FreezeOrder,
    OrderKind,
    Protocol,
    RestrictionType,
)
from estelam.core.exceptions import AgencyAnswerMalformed, AgencyFault, AgencyUnavailable, ContractError
from estelam.core.identifiers import iran_national_code_check_digit, is_person_id
from estelam.core.kinds import KindMapping, join_asset_ref, load_interface, mapping_at, order_fields, restriction_of
from simulators.agency_state import AgencyState, MappedAsset
from simulators.mapped_app import mapped_application
from simulators.rest_app import rest_application
from simulators.server import Request, Response, RunningServer
from simulators.world import World, generate
from tests.mapping_support import drawn_assets

REGISTRY = load_agency_registry()
VEHICLES = AgencyKind("vehicle_registry")
#: The REST kinds that take orders, each declared by its mapping.
REST_INSTANCES = [i for i in REGISTRY.instances if i.protocol is Protocol.REST and i.mapping_file
                  and "freeze" in mapping_at(Path(i.mapping_file)).orders]
CASE_ID = "1403-000123"
ISSUED_AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
#: A person id with a valid check digit that the synthetic world never draws (its codes are random).
STRANGER_ID = "000000001" + str(iran_national_code_check_digit("000000001"))


@pytest.fixture(scope="module")
def world() -> World:
    return generate(REGISTRY.instances)


def _mapping(instance: AgencyInstance) -> KindMapping:
    return mapping_at(Path(str(instance.mapping_file)))


@dataclass
class SimulatedAgency:
    instance: AgencyInstance
    state: AgencyState
    client: MappedAgencyClient
    url: str
    assets: list[MappedAsset]

    @property
    def mapping(self) -> KindMapping:
        return _mapping(self.instance)

    def order(self, kind: OrderKind, ref: str, amount: int, order_id: str, case_id: str = CASE_ID) -> FreezeOrder:
        return FreezeOrder(order_id, kind, case_id, self.instance.agency_id, ref, amount, ISSUED_AT)

    def path_of(self, operation: str, **params: str) -> str:
        path = load_interface(self.mapping.interface, Protocol.REST).operations[operation].path
        return path.format(**params)


def _simulated(instance: AgencyInstance, world: World) -> Iterator[SimulatedAgency]:
    mapping = _mapping(instance)
    assert mapping.assets is not None
    assets = [MappedAsset(ref, owner, int(row[mapping.assets.value])) for owner, ref, row in
              drawn_assets(world, instance)]
    state = AgencyState(instance, [])
    server = RunningServer(mapped_application(state, mapping, world, None))
    client = wire_client_for(replace(instance, endpoint=server.url), credentials=None)
    assert isinstance(client, MappedAgencyClient)
    try:
        yield SimulatedAgency(instance, state, client, server.url, assets)
    finally:
        client.close()
        server.stop()


@pytest.fixture(params=REST_INSTANCES, ids=lambda i: i.agency_id)
def agency(request: pytest.FixtureRequest, world: World) -> Iterator[SimulatedAgency]:
    yield from _simulated(request.param, world)


@pytest.fixture
def vehicles(world: World) -> Iterator[SimulatedAgency]:
    yield from _simulated(_instance(VEHICLES), world)


def _fake(answer: Callable[[Request], Response]) -> RunningServer:
    return RunningServer(answer)


def _json_answer(document: Any, status: int = 200) -> Callable[[Request], Response]:
    body = document if isinstance(document, bytes) else json.dumps(document, ensure_ascii=False).encode()
    return lambda request: Response(status, body, {"Content-Type": "application/json"})


def _instance(kind: AgencyKind) -> AgencyInstance:
    return next(i for i in REST_INSTANCES if i.kind is kind)


def _client(instance: AgencyInstance, url: str, **changes: Any) -> MappedAgencyClient:
    client = wire_client_for(replace(instance, endpoint=url, **changes))
    assert isinstance(client, MappedAgencyClient)
    return client


def _refs(agency: SimulatedAgency, records: tuple[object, ...]) -> list[str]:
    assets = agency.mapping.assets
    assert assets is not None
    return sorted(join_asset_ref(assets, r.values) for r in records if isinstance(r, FeedRecord))


# --- inquiries -----------------------------------------------------------------------------------


def test_inquiry_returns_exactly_the_worlds_assets(agency: SimulatedAgency, world: World) -> None:
    owners_seen = 0
    for n, person in enumerate(world.persons):
        answer = agency.client.inquire(person.person_id, f"inq-{n}")
        expected = sorted(a.asset_ref for a in agency.assets if a.owner_id == person.person_id)
        assert _refs(agency, answer.assets) == expected
        assert (answer.agency_id, answer.person_id, answer.request_id) == (
            agency.instance.agency_id, person.person_id, f"inq-{n}")
        assert answer.responded_at.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - answer.responded_at) < timedelta(minutes=1)
        owners_seen += bool(expected)
    assert 0 < owners_seen < len(world.persons)  # both kinds of person were asked about


def test_person_with_no_assets_gets_an_empty_answer(agency: SimulatedAgency) -> None:
    assert is_person_id(STRANGER_ID)
    answer = agency.client.inquire(STRANGER_ID, "inq-empty")
    assert answer.assets == ()
    assert answer.person_id == STRANGER_ID


def test_invalid_person_id_is_a_fault_with_status_400(agency: SimulatedAgency) -> None:
    bad_id = STRANGER_ID[:-1] + str((int(STRANGER_ID[-1]) + 1) % 10)
    assert not is_person_id(bad_id)
    with pytest.raises(AgencyFault) as caught:
        agency.client.inquire(bad_id, "inq-bad")
    fault = caught.value
    assert fault.status_code == 400
    assert (fault.agency_id, fault.operation, fault.request_id) == (
        agency.instance.agency_id, agency.mapping.inquiry.operation, "inq-bad")
    assert "check digit" in str(fault)
    assert not fault.transient


# --- freezes and releases ------------------------------------------------------------------------


def test_freeze_done_then_partial_then_refused(agency: SimulatedAgency) -> None:
    asset = agency.assets[0]
    ref, value = asset.asset_ref, asset.value_rial

    done = agency.client.freeze(agency.order(OrderKind.FREEZE, ref, value // 2, "ord-1"))
    assert (done.status, done.acknowledged_amount_rial, done.frozen_total_rial) == (AckStatus.DONE, value // 2,
                                                                                    value // 2)
    assert (done.order_id, done.agency_id, done.case_id, done.asset_ref) == (
        "ord-1", agency.instance.agency_id, CASE_ID, ref)
    assert done.acknowledged_at.utcoffset() == timedelta(0)

    partial = agency.client.freeze(agency.order(OrderKind.FREEZE, ref, value, "ord-2"))
    assert partial.status is AckStatus.PARTIAL
    assert partial.acknowledged_amount_rial == value - value // 2
    assert partial.frozen_total_rial == value
    assert partial.reason

    refused = agency.client.freeze(agency.order(OrderKind.FREEZE, ref, 10_000, "ord-3", case_id="1404-000001"))
    assert (refused.status, refused.acknowledged_amount_rial) == (AckStatus.REFUSED, 0)
    assert agency.state.held_freezes() == {(CASE_ID, ref): value}


def test_freeze_of_an_unknown_asset(agency: SimulatedAgency) -> None:
    assert agency.mapping.assets is not None
    ref = f"{STRANGER_ID}:NOSUCH" if agency.mapping.assets.asset_ref_parts else "11ب111-11"
    assert ref not in {a.asset_ref for a in agency.assets}
    ack = agency.client.freeze(agency.order(OrderKind.FREEZE, ref, 50_000, "ord-unknown"))
    assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.UNKNOWN_ASSET, 0, 0)
    assert ack.reason
    assert agency.state.held_freezes() == {}


def test_release_lifts_up_to_what_the_case_holds(agency: SimulatedAgency) -> None:
    ref = agency.assets[1].asset_ref
    agency.client.freeze(agency.order(OrderKind.FREEZE, ref, 100_000, "ord-f"))

    first = agency.client.release(agency.order(OrderKind.RELEASE, ref, 40_000, "ord-r1"))
    assert (first.status, first.acknowledged_amount_rial, first.frozen_total_rial) == (AckStatus.DONE, 40_000, 60_000)
    assert agency.state.held_freezes() == {(CASE_ID, ref): 60_000}

    rest = agency.client.release(agency.order(OrderKind.RELEASE, ref, 1_000_000, "ord-r2"))
    assert (rest.acknowledged_amount_rial, rest.frozen_total_rial) == (60_000, 0)
    assert agency.state.held_freezes() == {}


def test_a_repeated_order_id_is_applied_once(agency: SimulatedAgency) -> None:
    ref = agency.assets[2].asset_ref
    order = agency.order(OrderKind.FREEZE, ref, 70_000, "ord-once")
    first = agency.client.freeze(order)
    again = agency.client.freeze(order)
    assert again == first
    assert agency.state.held_freezes() == {(CASE_ID, ref): 70_000}
    assert agency.state.applied_orders() == 1


def test_order_bodies_on_the_wire() -> None:
    """The vehicle registry's order bodies, those its hand-written client sent: a freeze carries the restriction type
    the order names, else the mapping's default (transfer); a release and a cancel carry none."""
    sent: list[tuple[str, dict[str, Any]]] = []
    ack = {"orderId": "ord-w", "status": "done", "acknowledgedAmountRial": 5_000, "frozenTotalRial": 5_000,
           "acknowledgedAt": "2026-11-01T09:31:00Z"}

    def recorder(request: Request) -> Response:
        body = json.loads(request.body)
        sent.append((request.path, body))
        return _json_answer({**ack, "orderId": body["orderId"]})(request)

    ref = "12ب345-67"
    instance = _instance(VEHICLES)
    with _fake(recorder) as server, closing(_client(instance, server.url)) as client:
        order = FreezeOrder("ord-w", OrderKind.FREEZE, CASE_ID, instance.agency_id, ref, 5_000, ISSUED_AT)
        client.freeze(order)
        client.freeze(replace(order, order_id="ord-s", restriction_type=RestrictionType.SEIZURE))
        client.release(replace(order, kind=OrderKind.RELEASE))
        client.cancel(replace(order, order_id="ord-c", kind=OrderKind.CANCEL, cancels="ord-w"))
    common = {"caseId": CASE_ID, "amountRial": 5_000, "plate": ref}
    assert sent == [
        ("/v1/restrictions", {"orderId": "ord-w", **common, "restrictionType": "transfer"}),
        ("/v1/restrictions", {"orderId": "ord-s", **common, "restrictionType": "seizure"}),
        ("/v1/restrictions/release", {"orderId": "ord-w", **common}),
        ("/v1/restrictions/cancel", {"orderId": "ord-c", **common, "cancelsOrderId": "ord-w"}),
    ]


# --- the simulator's own checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"amountRial": 0}, "at least 1"),
        ({"amountRial": -5}, "at least 1"),
        ({"amountRial": "1000"}, "type integer"),
        ({"amountRial": 1000.5}, "type integer"),
        ({"amountRial": True}, "type integer"),
        ({"orderId": None}, "orderId is required"),
        ({"surprise": 1}, "surprise is not allowed"),
    ],
)
def test_simulator_rejects_bad_order_bodies_with_422(agency: SimulatedAgency, change: dict[str, Any],
                                                     expected: str) -> None:
    ref = agency.assets[0].asset_ref
    freeze = agency.mapping.orders["freeze"]
    assets = agency.mapping.assets
    assert assets is not None
    body = {**order_fields(freeze, order_id="ord-bad", case_id=CASE_ID, asset_ref=ref, amount_rial=1_000,
                           issued_at=ISSUED_AT, agency_id=agency.instance.agency_id,
                           asset_ref_parts=assets.asset_ref_parts, separator=assets.asset_ref_separator,
                           restriction=restriction_of(assets, None)), **change}
    body = {k: v for k, v in body.items() if v is not None}
    answer = httpx.post(agency.url + agency.path_of(freeze.operation), json=body)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == 422
    assert expected in answer.json()["detail"]
    assert agency.state.applied_orders() == 0


def test_simulator_answers_protocol_errors_with_problems(vehicles: SimulatedAgency) -> None:
    agency = vehicles
    freeze = agency.path_of(agency.mapping.orders["freeze"].operation)
    person = agency.assets[0].owner_id
    not_json = httpx.post(agency.url + freeze, content=b"{oops", headers={"Content-Type": "application/json"})
    no_request_id = httpx.get(agency.url + agency.path_of(agency.mapping.inquiry.operation, personId=person))
    nowhere = httpx.get(agency.url + "/v1/nowhere")
    wrong_method = httpx.get(agency.url + freeze)
    assert [r.status_code for r in (not_json, no_request_id, nowhere, wrong_method)] == [400, 400, 404, 405]
    assert wrong_method.headers["allow"] == "POST"
    assert "X-Request-Id" in no_request_id.json()["detail"]
    assert all(r.headers["content-type"].startswith("application/problem+json")
               for r in (not_json, no_request_id, nowhere, wrong_method))


def test_simulator_serves_its_openapi_document(agency: SimulatedAgency) -> None:
    answer = httpx.get(agency.url + "/openapi.yaml")
    assert answer.status_code == 200
    assert answer.content == REGISTRY.contract_path(agency.instance).read_bytes()


# --- failures the client must name ---------------------------------------------------------------


def test_unreachable_agency_is_unavailable() -> None:
    server = RunningServer(_json_answer({}))
    url = server.url
    server.stop()  # the port is free again: nothing listens there now
    instance = _instance(VEHICLES)
    with closing(_client(instance, url)) as client:
        with pytest.raises(AgencyUnavailable) as inquiry_error:
            client.inquire(STRANGER_ID, "inq-down")
        order = FreezeOrder("ord-down", OrderKind.FREEZE, CASE_ID, instance.agency_id, "12ب345-67", 1, ISSUED_AT)
        with pytest.raises(AgencyUnavailable) as order_error:
            client.freeze(order)
    assert (inquiry_error.value.operation, inquiry_error.value.request_id) == ("listVehicles", "inq-down")
    assert (order_error.value.operation, order_error.value.request_id) == ("restrictVehicle", "ord-down")
    assert inquiry_error.value.transient and inquiry_error.value.agency_id == instance.agency_id


def test_slow_agency_is_unavailable_after_its_timeout() -> None:
    released = threading.Event()

    def stalls(request: Request) -> Response:
        released.wait(timeout=5)
        return Response(200, b"{}")

    server = RunningServer(stalls)
    try:
        with closing(_client(_instance(VEHICLES), server.url, timeout_s=0.2)) as client, \
                pytest.raises(AgencyUnavailable) as caught:
            client.inquire(STRANGER_ID, "inq-slow")
        assert "Timeout" in str(caught.value)
    finally:
        released.set()
        server.stop()


def test_error_status_without_a_problem_document_is_a_transient_fault() -> None:
    def maintenance(request: Request) -> Response:
        return Response(503, b"down for maintenance", {"Content-Type": "text/plain"})

    with _fake(maintenance) as server, \
            closing(_client(_instance(VEHICLES), server.url)) as client, \
            pytest.raises(AgencyFault) as caught:
        client.inquire(STRANGER_ID, "inq-503")
    assert caught.value.status_code == 503
    assert caught.value.transient
    assert "down for maintenance" in str(caught.value)


def _vehicles_answer(**changes: Any) -> dict[str, Any]:
    vehicle = {"plate": "12ب345-67", "ownerId": STRANGER_ID, "ownerName": "علی کریمی", "model": "Saipa Pride",
               "valueRial": 50_000}
    vehicle.update(changes.pop("vehicle", {}))
    return {"personId": STRANGER_ID, "answeredAt": "2026-11-01T09:30:00Z", "vehicles": [vehicle], **changes}


@pytest.mark.parametrize(
    "answer",
    [
        b"{not json",
        b"\xff\xfe",
        _vehicles_answer(vehicle={"valueRial": 50000.0}),
        _vehicles_answer(vehicle={"ownerId": "0012345679"}),
        _vehicles_answer(answeredAt="2026-11-01T09:30:00"),
        _vehicles_answer(answeredAt="yesterday"),
    ],
    ids=["not-json", "not-utf8", "value-float", "other-owner", "naive-time", "not-a-time"],
)
def test_malformed_inquiry_answers(answer: Any) -> None:
    """What the generic client refuses whole; a record that reads but breaks a value rule (a plate missing, a value
    written as text) is the vehicles feed's contract's to quarantine when it lands."""
    instance = _instance(VEHICLES)
    with _fake(_json_answer(answer)) as server, closing(_client(instance, server.url)) as client, \
            pytest.raises(AgencyAnswerMalformed) as caught:
        client.inquire(STRANGER_ID, "inq-m")
    assert (caught.value.agency_id, caught.value.operation, caught.value.request_id) == (
        instance.agency_id, "listVehicles", "inq-m")


def test_a_well_formed_fake_answer_is_read() -> None:
    """The malformed cases above differ from this one answer by one field each."""
    instance = _instance(VEHICLES)
    with _fake(_json_answer(_vehicles_answer(answeredAt="2026-11-01T13:00:00+03:30",
                                             vehicle={"plate": "۱۲ب۳۴۵-۶۷"}))) as server, \
            closing(_client(instance, server.url)) as client:
        answer = client.inquire(STRANGER_ID, "inq-ok")
    assert answer.responded_at == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    assert answer.responded_at.tzinfo is UTC
    record = answer.assets[0]
    assert isinstance(record, FeedRecord)
    assert (record.values["value_rial"], record.values["plate"]) == (50_000, "12ب345-67")  # Latin digits


@pytest.mark.parametrize(
    "change",
    [{"status": "frozen"}, {"acknowledgedAmountRial": 10.0}, {"frozenTotalRial": None}, {"orderId": "ord-other"}],
)
def test_malformed_acknowledgements(change: dict[str, Any]) -> None:
    ack = {"orderId": "ord-m", "status": "done", "acknowledgedAmountRial": 10, "frozenTotalRial": 10,
           "acknowledgedAt": "2026-11-01T09:31:00Z", **change}
    ack = {k: v for k, v in ack.items() if v is not None}
    instance = _instance(VEHICLES)
    order = FreezeOrder("ord-m", OrderKind.RELEASE, CASE_ID, instance.agency_id, "12ب345-67", 10, ISSUED_AT)
    with _fake(_json_answer(ack)) as server, closing(_client(instance, server.url)) as client, \
            pytest.raises(AgencyAnswerMalformed) as caught:
        client.release(order)
    assert (caught.value.operation, caught.value.request_id) == ("releaseRestriction", "ord-m")


# --- the contracts -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted({i.kind for i in REST_INSTANCES}))
def test_openapi_files_declare_the_operations_the_client_uses(kind: AgencyKind) -> None:
    contract = REGISTRY.kinds[kind]
    assert contract.protocol is Protocol.REST and contract.mapping is not None
    mapping = contract.mapping
    document = yaml.safe_load((REGISTRY.contract_path(_instance(kind))).read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    interface = load_interface(mapping.interface, Protocol.REST)
    names = [mapping.inquiry.operation, *([mapping.batch.operation] if mapping.batch else []),
             *(order.operation for order in mapping.orders.values())]
    for operation in (interface.operations[name] for name in names):
        assert operation.path in document["paths"], operation
        declared = document["paths"][operation.path][operation.method.lower()]
        assert declared["operationId"] == operation.name
        errors = [code for code in declared["responses"] if code.startswith(("4", "5"))]
        assert errors and all(declared["responses"][c]["$ref"].startswith("#/components/responses/")
                              for c in errors)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        **document["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert document["security"] == [{"bearerAuth": []}]
    schemas = document["components"]["schemas"]
    money = [(name, prop) for name, schema in schemas.items() for prop in schema.get("properties", {})
             if prop.endswith("Rial")]
    assert money
    for name, prop in money:
        field = schemas[name]["properties"][prop]
        field = {**schemas[field["$ref"].rsplit("/", 1)[1]], **field} if "$ref" in field else field
        assert (field["type"], field["format"]) == ("integer", "int64"), (name, prop)
    for response in document["components"]["responses"].values():
        if "Problem" in json.dumps(response):
            assert list(response["content"]) == ["application/problem+json"]


def test_simulator_refuses_a_contract_it_cannot_honour() -> None:
    vehicles = _instance(VEHICLES)
    other_contract = REGISTRY.root / "kinds" / "returned_cheques.openapi.yaml"  # another kind's interface
    with pytest.raises(ContractError, match="do not match"):
        rest_application(AgencyState(vehicles, []), other_contract, handlers={"listVehicles": lambda s, c: Response()})
    with pytest.raises(ContractError, match="it has no mapping"):  # every REST simulator is a mapping's
        rest_application(AgencyState(vehicles, []), REGISTRY.contract_path(vehicles))


def test_client_for_picks_the_generic_client_over_the_rest_wire() -> None:
    for instance in REST_INSTANCES:
        client = wire_client_for(instance)
        try:
            assert isinstance(client, MappedAgencyClient) and isinstance(client._wire, RestAgencyClient)
        finally:
            client.close()
