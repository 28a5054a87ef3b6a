"""The SOAP wire (zeep) against the banks' generated simulator (contracts/kinds/bank.yaml over bank.wsdl), over
loopback: what an agency engineer sees of the hub's SOAP client and of the simulator, the bank's own answers and
refusals; the mapping's reading of the accounts and every order kind are in tests/connectors/test_bank_mapping.py.

The module's simulator keeps one agency state; tests keep apart by case id and by account.
"""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from lxml import etree

from connectors.mapped import MappedAgencyClient
from connectors.soap import wsdl_document
from connectors.wire import SOAP_ENV_NS
from estelam.contracts import registry as contracts
from estelam.contracts.registry import load_agency_registry
from estelam.core import settings
from estelam.core.domain import AckStatus, AgencyInstance, AgencyKind, FreezeOrder, OrderKind
from estelam.core.exceptions import AgencyAnswerMalformed, AgencyFault, AgencyUnavailable
from estelam.core.identifiers import is_person_id
from estelam.core.kinds import mapping_at
from estelam.ingest.validation import validate
from estelam.inquiry.rounds import asset_record
from simulators.agency_state import AgencyState
from simulators.mapped_app import MappedSoapAgency, mapped_application
from simulators.server import Response, RunningServer
from simulators.world import World, generate
from tests.mapping_support import drawn_assets, drawn_records, mapped_client_of

REGISTRY = load_agency_registry()
BANK = REGISTRY.instance("bank_melli")
MAPPING = Path(str(BANK.mapping_file))
NOT_A_PERSON_ID = "1234567890"  # ten digits, wrong check digit
UNKNOWN_IBAN = "IR" + "0" * 24
ISSUED_AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


@dataclasses.dataclass
class RunningAgency:
    instance: AgencyInstance
    state: AgencyState
    server: RunningServer
    client: MappedAgencyClient
    app: MappedSoapAgency


@pytest.fixture(scope="module")
def world() -> World:
    return generate(REGISTRY.instances, n_persons=600, n_cases=4)


@pytest.fixture(scope="module")
def bank(world: World) -> Iterator[RunningAgency]:
    """bank_melli's generated simulator for the module."""
    state = AgencyState(BANK, [])
    app = mapped_application(state, mapping_at(MAPPING), world, None)
    assert isinstance(app, MappedSoapAgency)
    with RunningServer(app) as server:
        app.public_url = server.url  # as a deployment configures it: the WSDL never copies the Host header
        local = dataclasses.replace(BANK, endpoint=server.url)
        client = mapped_client_of(BANK, MAPPING, endpoint=server.url)
        yield RunningAgency(local, state, server, client, app)
        client.close()


@pytest.fixture(scope="module")
def ordinary_accounts(world: World) -> Iterator[tuple[str, str, int]]:
    """(holder, IBAN, balance) of bank_melli's ordinary accounts with a valid IBAN and at least 1,000,000 rials, as
    its generated simulator draws them, each handed out once per module."""
    return iter([(owner, ref, int(row["balance_rial"])) for owner, ref, row in drawn_assets(world, BANK)
                 if row["account_kind"] == "ordinary" and int(row["balance_rial"]) >= 1_000_000
                 and (BANK.agency_id, owner) not in world.kept_wrongly])


def held_for(agency: RunningAgency, case_id: str) -> dict[tuple[str, str], int]:
    return {key: amount for key, amount in agency.state.held_freezes().items() if key[0] == case_id}


def order(kind: OrderKind, case_id: str, ref: str, amount: int, order_id: str,
          agency_id: str = "bank_melli") -> FreezeOrder:
    return FreezeOrder(f"{case_id}/{order_id}", kind, case_id, agency_id, ref, amount, ISSUED_AT)


# --- inquiries -----------------------------------------------------------------------------------------------


def test_a_person_with_no_accounts_gets_an_empty_answer(world: World, bank: RunningAgency) -> None:
    person = next(p for p in world.persons if not drawn_records(world, BANK, p.person_id))
    answer = bank.client.inquire(person.person_id, "req-empty")
    assert answer.assets == ()
    assert (answer.agency_id, answer.person_id, answer.request_id) == ("bank_melli", person.person_id, "req-empty")
    assert answer.responded_at.tzinfo is UTC


# --- freezes -------------------------------------------------------------------------------------------------


def test_freeze_within_balance_is_done(bank: RunningAgency, case_id: str,
                                       ordinary_accounts: Iterator[tuple[str, str, int]]) -> None:
    _, iban, balance = next(ordinary_accounts)
    amount = balance // 2
    ack = bank.client.freeze(order(OrderKind.FREEZE, case_id, iban, amount, "f1"))
    assert ack.status is AckStatus.DONE
    assert (ack.acknowledged_amount_rial, ack.frozen_total_rial) == (amount, amount)
    assert (ack.order_id, ack.case_id, ack.asset_ref, ack.agency_id) == (f"{case_id}/f1", case_id, iban, "bank_melli")
    assert ack.acknowledged_at.tzinfo is UTC
    assert held_for(bank, case_id) == {(case_id, iban): amount}


@pytest.mark.parametrize("kind", ["salary", "pension"])
def test_protected_accounts_are_refused(world: World, bank: RunningAgency, case_id: str, kind: str) -> None:
    _, iban, _ = next(a for a in drawn_assets(world, BANK)
                      if a[2]["account_kind"] == kind and int(a[2]["balance_rial"]) > 0)
    ack = bank.client.freeze(order(OrderKind.FREEZE, case_id, iban, 1_000_000, "f1"))
    assert ack.status is AckStatus.REFUSED
    assert ack.acknowledged_amount_rial == 0
    assert "protected" in ack.reason
    assert held_for(bank, case_id) == {}


def test_repeating_an_order_id_returns_the_first_acknowledgement(
        bank: RunningAgency, case_id: str, ordinary_accounts: Iterator[tuple[str, str, int]]) -> None:
    _, iban, balance = next(ordinary_accounts)
    amount = balance // 3
    freeze = order(OrderKind.FREEZE, case_id, iban, amount, "f1")
    applied_before = bank.state.applied_orders()
    first = bank.client.freeze(freeze)
    again = bank.client.freeze(freeze)
    assert again == first
    assert held_for(bank, case_id) == {(case_id, iban): amount}
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
    client = mapped_client_of(BANK, MAPPING, endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(AgencyUnavailable) as caught:
        client.inquire("0000000000", "req-down")
    assert caught.value.transient
    assert caught.value.request_id == "req-down"
    with pytest.raises(AgencyUnavailable) as caught:
        client.freeze(order(OrderKind.FREEZE, case_id, UNKNOWN_IBAN, 1, "f1"))
    assert caught.value.request_id == f"{case_id}/f1"
    client.close()


@pytest.fixture(scope="module")
def fake_bank() -> Iterator[tuple[MappedAgencyClient, dict[str, Response]]]:
    """A server that answers every call with whatever response the test puts in the dict."""
    script: dict[str, Response] = {}
    with RunningServer(lambda request: script["answer"]) as server:
        client = mapped_client_of(BANK, MAPPING, endpoint=server.url)
        yield client, script
        client.close()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<InquireAccountsResponse xmlns="urn:estelam:agency:bank:v1"><answeredAt>&lol2;</answeredAt></InquireAccountsResponse>
</soap:Body></soap:Envelope>"""

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
<holderId>0000000000</holderId><holderName>x</holderName><accountKind>{kind}</accountKind>
<balanceRial>{balance}</balanceRial></account><answeredAt>2026-11-01T10:00:00Z</answeredAt>
</InquireAccountsResponse></soap:Body></soap:Envelope>""".encode()


@pytest.mark.parametrize(("body", "reason"), [
    pytest.param(BILLION_LAUGHS, "DOCTYPE", id="doctype-entities"),
    pytest.param(b"<html>not soap</html", "not XML", id="not-xml"),
    pytest.param(NAIVE_ANSWERED_AT, "time zone", id="naive-time"),
    pytest.param(UNEXPECTED_ELEMENT, "Unexpected element", id="unexpected-element"),
    pytest.param(TWO_ANSWERED_AT, "Unexpected element", id="element-twice"),
    pytest.param(ACCOUNT_AFTER_ANSWERED_AT, "Unexpected element", id="out-of-order"),
    pytest.param(ANOTHER_OPERATIONS_ANSWER, "Unexpected element", id="another-operations-answer"),
    pytest.param(b"<answer>not an envelope</answer>", "not a SOAP 1.1 envelope", id="not-an-envelope"),
])
def test_hostile_or_malformed_answers_are_refused(
    fake_bank: tuple[MappedAgencyClient, dict[str, Response]], body: bytes, reason: str
) -> None:
    client, script = fake_bank
    script["answer"] = Response(200, body, {"Content-Type": "text/xml; charset=utf-8"})
    with pytest.raises(AgencyAnswerMalformed) as caught:
        client.inquire("0000000000", "req-hostile")
    assert (caught.value.operation, caught.value.request_id) == ("InquireAccounts", "req-hostile")
    assert "lollol" not in str(caught.value)
    assert reason in str(caught.value)


@pytest.mark.parametrize(("body", "reason"), [
    pytest.param(_account_answer("secret", "1000"), "account_kind", id="kind-outside-enum"),
    pytest.param(_account_answer("ordinary", "12.5"), "balance_rial", id="money-not-integer"),
])
def test_a_record_outside_the_contract_is_quarantined_by_the_feeds_contract(
    fake_bank: tuple[MappedAgencyClient, dict[str, Response]], body: bytes, reason: str
) -> None:
    """The generic client reads a record's values as the mapping says and leaves judging them to the landing: the
    feed's data contract quarantines the record, naming the column (the hand-written client refused the answer)."""
    client, script = fake_bank
    script["answer"] = Response(200, body, {"Content-Type": "text/xml; charset=utf-8"})
    answer = client.inquire("0000000000", "req-outside")
    rows = [asset_record("inq-1", "bank_melli", asset, answer.responded_at) for asset in answer.assets]
    outcome = validate(contracts.feed("bank_accounts"), rows)
    assert (outcome.valid_rows, outcome.rejected_rows) == (0, 1)
    assert any(said.startswith(reason) for said in outcome.reasons_summary()), outcome.reasons_summary()


def test_http_error_without_soap_is_a_fault_with_its_status(
    fake_bank: tuple[MappedAgencyClient, dict[str, Response]],
) -> None:
    client, script = fake_bank
    script["answer"] = Response(503, b"Service Unavailable", {"Content-Type": "text/plain"})
    with pytest.raises(AgencyFault) as caught:
        client.inquire("0000000000", "req-busy")
    assert caught.value.status_code == 503
    assert caught.value.transient


def test_a_fault_in_an_answer_with_status_200_is_still_a_fault(
    fake_bank: tuple[MappedAgencyClient, dict[str, Response]],
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
    holder, _, _ = drawn_assets(world, BANK)[0]
    envelope = (f'<s:Envelope xmlns:s="{SOAP_ENV_NS}"><s:Body><InquireAccounts xmlns="urn:estelam:agency:bank:v1">'
                f"<personId>{holder}</personId><requestId>r</requestId></InquireAccounts></s:Body>"
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
    path = settings.contracts_dir() / BANK.contract
    assert wsdl_document(path) is wsdl_document(path)
    assert BANK.kind is AgencyKind("bank")
