"""The SOAP connector (zeep) against the SOAP agency simulators, over loopback.

Each test starts its own simulator on 127.0.0.1 (ephemeral port) from a fresh
agency state, so freezes in one test never leak into another.
"""

from __future__ import annotations

import dataclasses
import socket
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from lxml import etree

from connectors.soap import SoapAgencyClient, wsdl_document
from connectors.wire import SOAP_ENV_NS
from estelam.contracts.registry import load_agency_registry
from estelam.core import settings
from estelam.core.domain import (
    AccountKind,
    AckStatus,
    AgencyInstance,
    AgencyKind,
    BankAccount,
    FreezeOrder,
    OrderKind,
)
from estelam.core.exceptions import AgencyAnswerMalformed, AgencyFault, AgencyUnavailable
from estelam.core.identifiers import is_person_id
from simulators.agency_state import AgencyState
from simulators.server import Response, RunningServer
from simulators.soap_app import SoapAgency, soap_application
from simulators.world import World, generate

REGISTRY = load_agency_registry()
# the hand-written SOAP client and simulator, spoken to as the banks' built-in code (the registry now serves the
# banks by their mapping: tests/connectors/test_bank_mapping.py); mapped kinds are tested in
# tests/contracts/test_kinds.py and tests/connectors/test_*_mapping.py
SOAP_INSTANCES = [dataclasses.replace(i, mapping_file=None) for i in REGISTRY.of_kind(AgencyKind.BANK)]
NOT_A_PERSON_ID = "1234567890"  # ten digits, wrong check digit
UNKNOWN_IBAN = "IR" + "0" * 24
ISSUED_AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


@dataclasses.dataclass
class RunningAgency:
    instance: AgencyInstance
    state: AgencyState
    server: RunningServer
    client: SoapAgencyClient
    app: SoapAgency


@pytest.fixture(scope="module")
def world() -> World:
    return generate(REGISTRY.instances)


@pytest.fixture(scope="module")
def agencies(world: World) -> Iterator[dict[str, RunningAgency]]:
    """One simulator per SOAP instance for the module; tests keep apart by case id and by account."""
    running: dict[str, RunningAgency] = {}
    for instance in SOAP_INSTANCES:
        state = AgencyState(instance, world.assets_at(instance.agency_id))
        app = soap_application(state, settings.contracts_dir() / instance.contract)
        assert isinstance(app, SoapAgency)
        server = RunningServer(app)
        app.public_url = server.url  # as a deployment configures it: the WSDL never copies the Host header
        local = dataclasses.replace(instance, endpoint=server.url)
        running[instance.agency_id] = RunningAgency(local, state, server, SoapAgencyClient(local), app)
    yield running
    for agency in running.values():
        agency.client.close()
    with ThreadPoolExecutor() as pool:  # each stop waits out the server's poll interval; wait once
        list(pool.map(lambda a: a.server.stop(), running.values()))


@pytest.fixture
def agency(agencies: dict[str, RunningAgency], request: pytest.FixtureRequest) -> RunningAgency:
    return agencies[request.param]


@pytest.fixture
def bank(agencies: dict[str, RunningAgency]) -> RunningAgency:
    return agencies["bank_melli"]


def held_for(agency: RunningAgency, case_id: str) -> dict[tuple[str, str], int]:
    return {key: amount for key, amount in agency.state.held_freezes().items() if key[0] == case_id}


def order(kind: OrderKind, case_id: str, ref: str, amount: int, order_id: str,
          agency_id: str = "bank_melli") -> FreezeOrder:
    return FreezeOrder(f"{case_id}/{order_id}", kind, case_id, agency_id, ref, amount, ISSUED_AT)


def protected_account(world: World, kind: AccountKind) -> BankAccount:
    return next(a for a in world.bank_accounts["bank_melli"] if a.account_kind is kind and a.balance_rial > 0)


# --- inquiries -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("agency", [i.agency_id for i in SOAP_INSTANCES], indirect=True)
def test_inquiry_returns_exactly_the_assets_the_world_holds(world: World, agency: RunningAgency) -> None:
    expected: dict[str, list[object]] = {}
    for asset in world.assets_at(agency.instance.agency_id):
        owner = asset.holder_id if isinstance(asset, BankAccount) else asset.owner_id  # type: ignore[union-attr]
        expected.setdefault(owner, []).append(asset)
    assert expected, "the world gives this agency some assets"
    for person in world.persons:
        answer = agency.client.inquire(person.person_id, f"req-{person.person_id}")
        assert Counter(answer.assets) == Counter(expected.get(person.person_id, [])), person.person_id
        assert (answer.agency_id, answer.person_id) == (agency.instance.agency_id, person.person_id)
        assert answer.request_id == f"req-{person.person_id}"
        assert answer.responded_at.tzinfo is UTC


def test_a_person_with_no_accounts_gets_an_empty_answer(world: World, bank: RunningAgency) -> None:
    holders = {a.holder_id for a in world.bank_accounts["bank_melli"]}
    person = next(p for p in world.persons if p.person_id not in holders)
    assert bank.client.inquire(person.person_id, "req-empty").assets == ()


# --- freezes and releases ------------------------------------------------------------------------------------


def test_freeze_within_balance_is_done(bank: RunningAgency, case_id: str,
                                       ordinary_accounts: Iterator[BankAccount]) -> None:
    account = next(ordinary_accounts)
    amount = account.balance_rial // 2
    ack = bank.client.freeze(order(OrderKind.FREEZE, case_id, account.iban, amount, "f1"))
    assert ack.status is AckStatus.DONE
    assert (ack.acknowledged_amount_rial, ack.frozen_total_rial) == (amount, amount)
    assert (ack.order_id, ack.case_id, ack.asset_ref, ack.agency_id) == (f"{case_id}/f1", case_id, account.iban,
                                                                         "bank_melli")
    assert ack.acknowledged_at.tzinfo is UTC
    assert held_for(bank, case_id) == {(case_id, account.iban): amount}


def test_freeze_beyond_balance_is_partial(bank: RunningAgency, case_id: str,
                                          ordinary_accounts: Iterator[BankAccount]) -> None:
    account = next(ordinary_accounts)
    ack = bank.client.freeze(order(OrderKind.FREEZE, case_id, account.iban, account.balance_rial + 1_000_000, "f1"))
    assert ack.status is AckStatus.PARTIAL
    assert ack.acknowledged_amount_rial == account.balance_rial == ack.frozen_total_rial
    assert ack.reason
    assert held_for(bank, case_id) == {(case_id, account.iban): account.balance_rial}


@pytest.mark.parametrize("kind", [AccountKind.SALARY, AccountKind.PENSION])
def test_protected_accounts_are_refused(world: World, bank: RunningAgency, case_id: str, kind: AccountKind) -> None:
    account = protected_account(world, kind)
    ack = bank.client.freeze(order(OrderKind.FREEZE, case_id, account.iban, 1_000_000, "f1"))
    assert ack.status is AckStatus.REFUSED
    assert ack.acknowledged_amount_rial == 0
    assert "protected" in ack.reason
    assert held_for(bank, case_id) == {}


def test_unknown_asset_is_acknowledged_as_unknown(bank: RunningAgency, case_id: str) -> None:
    ack = bank.client.freeze(order(OrderKind.FREEZE, case_id, UNKNOWN_IBAN, 1_000_000, "f1"))
    assert ack.status is AckStatus.UNKNOWN_ASSET


def test_release_lifts_part_of_the_block(bank: RunningAgency, case_id: str,
                                         ordinary_accounts: Iterator[BankAccount]) -> None:
    account = next(ordinary_accounts)
    quarter = account.balance_rial // 4
    bank.client.freeze(order(OrderKind.FREEZE, case_id, account.iban, account.balance_rial, "f1"))
    ack = bank.client.release(order(OrderKind.RELEASE, case_id, account.iban, quarter, "r1"))
    assert ack.status is AckStatus.DONE
    assert ack.acknowledged_amount_rial == quarter
    assert ack.frozen_total_rial == account.balance_rial - quarter
    assert held_for(bank, case_id) == {(case_id, account.iban): account.balance_rial - quarter}


def test_repeating_an_order_id_returns_the_first_acknowledgement(bank: RunningAgency, case_id: str,
                                                                 ordinary_accounts: Iterator[BankAccount]) -> None:
    account = next(ordinary_accounts)
    amount = account.balance_rial // 3
    freeze = order(OrderKind.FREEZE, case_id, account.iban, amount, "f1")
    applied_before = bank.state.applied_orders()
    first = bank.client.freeze(freeze)
    again = bank.client.freeze(freeze)
    assert again == first
    assert held_for(bank, case_id) == {(case_id, account.iban): amount}
    assert bank.state.applied_orders() == applied_before + 1


# --- errors --------------------------------------------------------------------------------------------------


def test_invalid_person_id_is_a_soap_fault(bank: RunningAgency) -> None:
    assert not is_person_id(NOT_A_PERSON_ID)
    with pytest.raises(AgencyFault) as caught:
        bank.client.inquire(NOT_A_PERSON_ID, "req-bad")
    error = caught.value
    assert (error.agency_id, error.operation, error.request_id) == ("bank_melli", "InquireAccounts", "req-bad")
    assert error.status_code == 500
    assert "personId" in str(error)


def test_unreachable_agency_is_unavailable(case_id: str) -> None:
    with socket.socket() as probe:  # a port nobody listens on once the probe closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = SoapAgencyClient(dataclasses.replace(REGISTRY.instance("bank_melli"), endpoint=f"http://127.0.0.1:{port}"))
    with pytest.raises(AgencyUnavailable) as caught:
        client.inquire("0000000000", "req-down")
    assert caught.value.transient
    assert caught.value.request_id == "req-down"
    with pytest.raises(AgencyUnavailable) as caught:
        client.freeze(order(OrderKind.FREEZE, case_id, UNKNOWN_IBAN, 1, "f1"))
    assert caught.value.request_id == f"{case_id}/f1"
    client.close()


@pytest.fixture(scope="module")
def fake_bank() -> Iterator[tuple[SoapAgencyClient, dict[str, Response]]]:
    """A server that answers every call with whatever response the test puts in the dict."""
    script: dict[str, Response] = {}
    with RunningServer(lambda request: script["answer"]) as server:
        client = SoapAgencyClient(dataclasses.replace(REGISTRY.instance("bank_melli"), endpoint=server.url))
        yield client, script
        client.close()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<InquireAccountsResponse xmlns="urn:estelam:agency:bank:v1"><answeredAt>&lol2;</answeredAt></InquireAccountsResponse>
</soap:Body></soap:Envelope>"""

NO_ANSWERED_AT = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<InquireAccountsResponse xmlns="urn:estelam:agency:bank:v1"/></soap:Body></soap:Envelope>"""

NAIVE_ANSWERED_AT = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<InquireAccountsResponse xmlns="urn:estelam:agency:bank:v1"><answeredAt>2026-11-01T10:00:00</answeredAt>
</InquireAccountsResponse></soap:Body></soap:Envelope>"""

UNEXPECTED_ELEMENT = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<InquireAccountsResponse xmlns="urn:estelam:agency:bank:v1"><balance>1</balance>
<answeredAt>2026-11-01T10:00:00Z</answeredAt></InquireAccountsResponse></soap:Body></soap:Envelope>"""

TWO_ANSWERED_AT = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<InquireAccountsResponse xmlns="urn:estelam:agency:bank:v1"><answeredAt>2026-11-01T10:00:00Z</answeredAt>
<answeredAt>2026-11-01T10:00:00Z</answeredAt></InquireAccountsResponse></soap:Body></soap:Envelope>"""

ANOTHER_OPERATIONS_ANSWER = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<FreezeAccountResponse xmlns="urn:estelam:agency:bank:v1"><orderId>o</orderId></FreezeAccountResponse>
</soap:Body></soap:Envelope>"""

ACCOUNT_AFTER_ANSWERED_AT = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<InquireAccountsResponse xmlns="urn:estelam:agency:bank:v1"><answeredAt>2026-11-01T10:00:00Z</answeredAt>
<account/></InquireAccountsResponse></soap:Body></soap:Envelope>"""


def _account_answer(kind: str, balance: str) -> bytes:
    return f"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<InquireAccountsResponse xmlns="urn:estelam:agency:bank:v1"><account><iban>IR270170659251123418355460</iban>
<holderId>1481607049</holderId><holderName>x</holderName><accountKind>{kind}</accountKind>
<balanceRial>{balance}</balanceRial></account><answeredAt>2026-11-01T10:00:00Z</answeredAt>
</InquireAccountsResponse></soap:Body></soap:Envelope>""".encode()


@pytest.mark.parametrize(("body", "reason"), [
    pytest.param(BILLION_LAUGHS, "DOCTYPE", id="doctype-entities"),
    pytest.param(b"<html>not soap</html", "not XML", id="not-xml"),
    pytest.param(NO_ANSWERED_AT, "no readable answeredAt", id="missing-field"),
    pytest.param(NAIVE_ANSWERED_AT, "time zone", id="naive-time"),
    pytest.param(UNEXPECTED_ELEMENT, "Unexpected element", id="unexpected-element"),
    pytest.param(_account_answer("secret", "1000"), "accountKind", id="kind-outside-enum"),
    pytest.param(_account_answer("ordinary", "12.5"), "balanceRial", id="money-not-integer"),
    pytest.param(TWO_ANSWERED_AT, "Unexpected element", id="element-twice"),
    pytest.param(ACCOUNT_AFTER_ANSWERED_AT, "Unexpected element", id="out-of-order"),
    pytest.param(ANOTHER_OPERATIONS_ANSWER, "Unexpected element", id="another-operations-answer"),
    pytest.param(b"<answer>not an envelope</answer>", "not a SOAP 1.1 envelope", id="not-an-envelope"),
])
def test_hostile_or_malformed_answers_are_refused(
    fake_bank: tuple[SoapAgencyClient, dict[str, Response]], body: bytes, reason: str
) -> None:
    client, script = fake_bank
    script["answer"] = Response(200, body, {"Content-Type": "text/xml; charset=utf-8"})
    with pytest.raises(AgencyAnswerMalformed) as caught:
        client.inquire("0000000000", "req-hostile")
    assert (caught.value.operation, caught.value.request_id) == ("InquireAccounts", "req-hostile")
    assert "lollol" not in str(caught.value)
    assert reason in str(caught.value)


def test_http_error_without_soap_is_a_fault_with_its_status(
    fake_bank: tuple[SoapAgencyClient, dict[str, Response]],
) -> None:
    client, script = fake_bank
    script["answer"] = Response(503, b"Service Unavailable", {"Content-Type": "text/plain"})
    with pytest.raises(AgencyFault) as caught:
        client.inquire("0000000000", "req-busy")
    assert caught.value.status_code == 503
    assert caught.value.transient


def test_a_fault_in_an_answer_with_status_200_is_still_a_fault(
    fake_bank: tuple[SoapAgencyClient, dict[str, Response]],
) -> None:
    client, script = fake_bank
    fault = (f'<s:Envelope xmlns:s="{SOAP_ENV_NS}"><s:Body><s:Fault><faultcode>s:Client</faultcode>'
             "<faultstring>personId is not valid</faultstring></s:Fault></s:Body></s:Envelope>").encode()
    script["answer"] = Response(200, fault, {"Content-Type": "text/xml; charset=utf-8"})
    with pytest.raises(AgencyFault) as caught:
        client.inquire("0000000000", "req-fault")
    assert caught.value.status_code == 500
    assert str(caught.value).endswith("personId is not valid")
    assert not caught.value.transient  # a Client fault: a retry gets the same


# --- the simulator itself ------------------------------------------------------------------------------------

HOSTILE_REQUEST = b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<InquireAccounts xmlns="urn:estelam:agency:bank:v1"><personId>&secret;</personId><requestId>r</requestId>
</InquireAccounts></soap:Body></soap:Envelope>"""


def _fault(response: httpx.Response) -> tuple[str, str]:
    fault = etree.fromstring(response.content).find(f"{{{SOAP_ENV_NS}}}Body/{{{SOAP_ENV_NS}}}Fault")
    assert fault is not None
    return fault.findtext("faultcode") or "", fault.findtext("faultstring") or ""


def test_simulator_refuses_a_request_with_a_doctype(bank: RunningAgency) -> None:
    response = httpx.post(f"{bank.server.url}/soap", content=HOSTILE_REQUEST,
                          headers={"Content-Type": "text/xml; charset=utf-8"})
    assert response.status_code == 500
    code, message = _fault(response)
    assert code == "soap:Client"
    assert "DOCTYPE" in message
    assert b"root:" not in response.content


@pytest.mark.parametrize(("body", "expected"), [
    (b"<a>", "well-formed"),
    (f'<s:Envelope xmlns:s="{SOAP_ENV_NS}"><s:Body><Steal xmlns="urn:estelam:agency:bank:v1"/></s:Body>'
     "</s:Envelope>".encode(), "unknown operation"),
    (f'<s:Envelope xmlns:s="{SOAP_ENV_NS}"><s:Body><InquireAccounts xmlns="urn:estelam:agency:bank:v1">'
     "<requestId>r</requestId></InquireAccounts></s:Body></s:Envelope>".encode(), "contract"),
])
def test_simulator_answers_bad_requests_with_client_faults(bank: RunningAgency, body: bytes, expected: str) -> None:
    response = httpx.post(f"{bank.server.url}/soap", content=body)
    assert response.status_code == 500
    code, message = _fault(response)
    assert code == "soap:Client"
    assert expected in message


def test_simulator_answers_follow_the_wsdl_schema(world: World, bank: RunningAgency) -> None:
    account = world.bank_accounts["bank_melli"][0]
    envelope = (f'<s:Envelope xmlns:s="{SOAP_ENV_NS}"><s:Body><InquireAccounts xmlns="urn:estelam:agency:bank:v1">'
                f"<personId>{account.holder_id}</personId><requestId>r</requestId></InquireAccounts></s:Body>"
                "</s:Envelope>")
    response = httpx.post(f"{bank.server.url}/soap", content=envelope.encode())
    assert response.status_code == 200
    body = etree.fromstring(response.content).find(f"{{{SOAP_ENV_NS}}}Body")
    assert body is not None
    assert bank.app.validate(body[0]) == []
    assert len(body[0].findall("{urn:estelam:agency:bank:v1}account")) >= 1


def test_simulator_serves_its_wsdl_with_its_own_address(bank: RunningAgency) -> None:
    response = httpx.get(f"{bank.server.url}/soap", params={"wsdl": ""}, headers={"Host": "evil.example"})
    assert response.status_code == 200
    assert f'location="{bank.server.url}/soap"'.encode() in response.content
    assert b"evil.example" not in response.content


def test_wsdl_is_parsed_once_per_process() -> None:
    path = settings.contracts_dir() / REGISTRY.instance("bank_melli").contract
    assert wsdl_document(path) is wsdl_document(path)
    assert {i.kind for i in SOAP_INSTANCES} == {AgencyKind.BANK}
