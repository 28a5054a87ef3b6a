"""The REST connectors against the REST simulators, both built from the same OpenAPI files."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import yaml

from connectors import wire_client_for
from connectors.json_answers import DEFAULT_RESTRICTION_TYPE
from connectors.rest import ROUTES, RestAgencyClient
from estelam.contracts.registry import load_agency_registry
from estelam.core.domain import AckStatus, AgencyInstance, AgencyKind, FreezeOrder, OrderKind, Protocol
from estelam.core.exceptions import AgencyAnswerMalformed, AgencyFault, AgencyUnavailable, ContractError
from estelam.core.identifiers import iran_national_code_check_digit, is_person_id
from simulators.agency_state import AgencyAsset, AgencyState, asset_owner, asset_ref, asset_value
from simulators.rest_app import rest_application
from simulators.server import Request, Response, RunningServer
from simulators.world import World, generate

REGISTRY = load_agency_registry()
# the built-in REST kinds; kinds declared by mapping files are tested in tests/contracts/test_kinds.py
REST_INSTANCES = [i for i in REGISTRY.instances if i.protocol is Protocol.REST and i.mapping_file is None]
CASE_ID = "1403-000123"
ISSUED_AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
#: A person id with a valid check digit that the synthetic world never draws (its codes are random).
STRANGER_ID = "000000001" + str(iran_national_code_check_digit("000000001"))


@pytest.fixture(scope="module")
def world() -> World:
    return generate(REGISTRY.instances)


@dataclass
class SimulatedAgency:
    instance: AgencyInstance
    state: AgencyState
    client: RestAgencyClient
    url: str
    assets: list[AgencyAsset]

    def order(self, kind: OrderKind, ref: str, amount: int, order_id: str, case_id: str = CASE_ID) -> FreezeOrder:
        return FreezeOrder(order_id, kind, case_id, self.instance.agency_id, ref, amount, ISSUED_AT)


@pytest.fixture(params=REST_INSTANCES, ids=lambda i: i.agency_id)
def agency(request: pytest.FixtureRequest, world: World) -> Iterator[SimulatedAgency]:
    instance: AgencyInstance = request.param
    assets = world.assets_at(instance.agency_id)
    state = AgencyState(instance, assets)
    server = RunningServer(rest_application(state, REGISTRY.contract_path(instance)))
    client = RestAgencyClient(replace(instance, endpoint=server.url))
    try:
        yield SimulatedAgency(instance, state, client, server.url, assets)
    finally:
        client.close()
        server.stop()


def _fake(answer: Callable[[Request], Response]) -> RunningServer:
    return RunningServer(answer)


def _json_answer(document: Any, status: int = 200) -> Callable[[Request], Response]:
    body = document if isinstance(document, bytes) else json.dumps(document, ensure_ascii=False).encode()
    return lambda request: Response(status, body, {"Content-Type": "application/json"})


def _instance(kind: AgencyKind) -> AgencyInstance:
    return next(i for i in REST_INSTANCES if i.kind is kind)


# --- inquiries -----------------------------------------------------------------------------------


def test_inquiry_returns_exactly_the_worlds_assets(agency: SimulatedAgency, world: World) -> None:
    owners_seen = 0
    for n, person in enumerate(world.persons):
        answer = agency.client.inquire(person.person_id, f"inq-{n}")
        expected = sorted((a for a in agency.assets if asset_owner(a) == person.person_id), key=asset_ref)
        assert sorted(answer.assets, key=asset_ref) == expected
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
    assert (fault.agency_id, fault.operation, fault.request_id) == (agency.instance.agency_id, "inquire", "inq-bad")
    assert "check digit" in str(fault)
    assert not fault.transient


# --- freezes and releases ------------------------------------------------------------------------


def test_freeze_done_then_partial_then_refused(agency: SimulatedAgency) -> None:
    asset = agency.assets[0]
    ref, value = asset_ref(asset), asset_value(asset)

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
    ref = "11ب111-11"
    assert ref not in {asset_ref(a) for a in agency.assets}
    ack = agency.client.freeze(agency.order(OrderKind.FREEZE, ref, 50_000, "ord-unknown"))
    assert (ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial) == (AckStatus.UNKNOWN_ASSET, 0, 0)
    assert ack.reason
    assert agency.state.held_freezes() == {}


def test_release_lifts_up_to_what_the_case_holds(agency: SimulatedAgency) -> None:
    ref = asset_ref(agency.assets[1])
    agency.client.freeze(agency.order(OrderKind.FREEZE, ref, 100_000, "ord-f"))

    first = agency.client.release(agency.order(OrderKind.RELEASE, ref, 40_000, "ord-r1"))
    assert (first.status, first.acknowledged_amount_rial, first.frozen_total_rial) == (AckStatus.DONE, 40_000, 60_000)
    assert agency.state.held_freezes() == {(CASE_ID, ref): 60_000}

    rest = agency.client.release(agency.order(OrderKind.RELEASE, ref, 1_000_000, "ord-r2"))
    assert (rest.acknowledged_amount_rial, rest.frozen_total_rial) == (60_000, 0)
    assert agency.state.held_freezes() == {}


def test_a_repeated_order_id_is_applied_once(agency: SimulatedAgency) -> None:
    ref = asset_ref(agency.assets[2])
    order = agency.order(OrderKind.FREEZE, ref, 70_000, "ord-once")
    first = agency.client.freeze(order)
    again = agency.client.freeze(order)
    assert again == first
    assert agency.state.held_freezes() == {(CASE_ID, ref): 70_000}
    assert agency.state.applied_orders() == 1


def test_order_bodies_on_the_wire() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    ack = {"orderId": "ord-w", "status": "done", "acknowledgedAmountRial": 5_000, "frozenTotalRial": 5_000,
           "acknowledgedAt": "2026-11-01T09:31:00Z"}

    def recorder(request: Request) -> Response:
        sent.append((request.path, json.loads(request.body)))
        return _json_answer(ack)(request)

    ref = "12ب345-67"
    instance = _instance(AgencyKind.VEHICLE_REGISTRY)
    with _fake(recorder) as server, RestAgencyClient(replace(instance, endpoint=server.url)) as client:
        order = FreezeOrder("ord-w", OrderKind.FREEZE, CASE_ID, client.instance.agency_id, ref, 5_000, ISSUED_AT)
        client.freeze(order)
        client.release(replace(order, kind=OrderKind.RELEASE))
    common = {"orderId": "ord-w", "caseId": CASE_ID, "amountRial": 5_000}
    assert sent == [("/v1/restrictions", {**common, "plate": ref, "restrictionType": DEFAULT_RESTRICTION_TYPE}),
                    ("/v1/restrictions/release", {**common, "plate": ref})]


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
    ref = asset_ref(agency.assets[0])
    order = agency.order(OrderKind.FREEZE, ref, 1_000, "ord-bad")
    routes = ROUTES[agency.instance.kind]
    body = {**routes.freeze_body(order), **change}
    body = {k: v for k, v in body.items() if v is not None}
    answer = httpx.post(agency.url + routes.freeze.path, json=body)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["status"] == 422
    assert expected in answer.json()["detail"]
    assert agency.state.applied_orders() == 0


def test_simulator_answers_protocol_errors_with_problems(agency: SimulatedAgency, world: World) -> None:
    routes = ROUTES[agency.instance.kind]
    person = asset_owner(agency.assets[0])
    not_json = httpx.post(agency.url + routes.freeze.path, content=b"{oops",
                          headers={"Content-Type": "application/json"})
    no_request_id = httpx.get(agency.url + routes.inquiry.path.format(personId=person))
    nowhere = httpx.get(agency.url + "/v1/nowhere")
    wrong_method = httpx.get(agency.url + routes.freeze.path)
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
    instance = replace(_instance(AgencyKind.VEHICLE_REGISTRY), endpoint=url)
    with RestAgencyClient(instance) as client:
        with pytest.raises(AgencyUnavailable) as inquiry_error:
            client.inquire(STRANGER_ID, "inq-down")
        order = FreezeOrder("ord-down", OrderKind.FREEZE, CASE_ID, instance.agency_id, "12ب345-67", 1, ISSUED_AT)
        with pytest.raises(AgencyUnavailable) as order_error:
            client.freeze(order)
    assert (inquiry_error.value.operation, inquiry_error.value.request_id) == ("inquire", "inq-down")
    assert (order_error.value.operation, order_error.value.request_id) == ("freeze", "ord-down")
    assert inquiry_error.value.transient and inquiry_error.value.agency_id == instance.agency_id


def test_slow_agency_is_unavailable_after_its_timeout() -> None:
    released = threading.Event()

    def stalls(request: Request) -> Response:
        released.wait(timeout=5)
        return Response(200, b"{}")

    server = RunningServer(stalls)
    instance = replace(_instance(AgencyKind.VEHICLE_REGISTRY), endpoint=server.url, timeout_s=0.2)
    try:
        with RestAgencyClient(instance) as client, pytest.raises(AgencyUnavailable) as caught:
            client.inquire(STRANGER_ID, "inq-slow")
        assert "Timeout" in str(caught.value)
    finally:
        released.set()
        server.stop()


def test_error_status_without_a_problem_document_is_a_transient_fault() -> None:
    def maintenance(request: Request) -> Response:
        return Response(503, b"down for maintenance", {"Content-Type": "text/plain"})

    with _fake(maintenance) as server, \
            RestAgencyClient(replace(_instance(AgencyKind.VEHICLE_REGISTRY), endpoint=server.url)) as client, \
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
        [],
        {"personId": STRANGER_ID, "answeredAt": "2026-11-01T09:30:00Z"},
        _vehicles_answer(vehicle={"valueRial": "50000"}),
        _vehicles_answer(vehicle={"valueRial": 50000.0}),
        _vehicles_answer(vehicle={"plate": None}),
        _vehicles_answer(vehicle={"ownerId": "0012345679"}),
        _vehicles_answer(answeredAt="2026-11-01T09:30:00"),
        _vehicles_answer(answeredAt="yesterday"),
        _vehicles_answer(personId="0012345679"),
        _vehicles_answer(vehicles={"12ب345-67": 1}),
    ],
    ids=["not-json", "not-utf8", "not-object", "no-vehicles", "value-text", "value-float", "plate-null",
         "other-owner", "naive-time", "not-a-time", "other-person", "vehicles-not-list"],
)
def test_malformed_inquiry_answers(answer: Any) -> None:
    instance = _instance(AgencyKind.VEHICLE_REGISTRY)
    with _fake(_json_answer(answer)) as server, RestAgencyClient(replace(instance, endpoint=server.url)) as client, \
            pytest.raises(AgencyAnswerMalformed) as caught:
        client.inquire(STRANGER_ID, "inq-m")
    assert (caught.value.agency_id, caught.value.operation, caught.value.request_id) == (
        instance.agency_id, "inquire", "inq-m")


def test_a_well_formed_fake_answer_is_read() -> None:
    """The malformed cases above differ from this one answer by one field each."""
    instance = _instance(AgencyKind.VEHICLE_REGISTRY)
    with _fake(_json_answer(_vehicles_answer(answeredAt="2026-11-01T13:00:00+03:30"))) as server, \
            RestAgencyClient(replace(instance, endpoint=server.url)) as client:
        answer = client.inquire(STRANGER_ID, "inq-ok")
    assert answer.responded_at == datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    assert answer.responded_at.tzinfo is UTC
    assert answer.assets[0].value_rial == 50_000  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "change",
    [{"status": "frozen"}, {"acknowledgedAmountRial": 10.0}, {"frozenTotalRial": None}, {"orderId": "ord-other"},
     {"reason": 7}],
)
def test_malformed_acknowledgements(change: dict[str, Any]) -> None:
    ack = {"orderId": "ord-m", "status": "done", "acknowledgedAmountRial": 10, "frozenTotalRial": 10,
           "acknowledgedAt": "2026-11-01T09:31:00Z", **change}
    ack = {k: v for k, v in ack.items() if v is not None}
    instance = _instance(AgencyKind.VEHICLE_REGISTRY)
    order = FreezeOrder("ord-m", OrderKind.RELEASE, CASE_ID, instance.agency_id, "12ب345-67", 10, ISSUED_AT)
    with _fake(_json_answer(ack)) as server, RestAgencyClient(replace(instance, endpoint=server.url)) as client, \
            pytest.raises(AgencyAnswerMalformed) as caught:
        client.release(order)
    assert (caught.value.operation, caught.value.request_id) == ("release", "ord-m")


# --- the contracts -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ROUTES))
def test_openapi_files_declare_the_operations_the_client_uses(kind: AgencyKind) -> None:
    contract = REGISTRY.kinds[kind]
    assert contract.protocol is Protocol.REST
    document = yaml.safe_load((REGISTRY.contract_path(_instance(kind))).read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    for operation in ROUTES[kind].operations():
        assert operation.path in document["paths"], operation
        declared = document["paths"][operation.path][operation.method.lower()]
        assert declared["operationId"] == operation.operation_id
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
    vehicles = _instance(AgencyKind.VEHICLE_REGISTRY)
    other_contract = REGISTRY.root / "kinds" / "returned_cheques.openapi.yaml"  # another kind's interface
    with pytest.raises(ContractError, match="do not match"):
        rest_application(AgencyState(vehicles, []), other_contract)


def test_client_for_picks_the_rest_client() -> None:
    for instance in REST_INSTANCES:
        client = wire_client_for(instance)
        try:
            assert isinstance(client, RestAgencyClient)
        finally:
            client.close()
