"""Batch inquiries (many persons per call) over SOAP and REST, against the simulators and against liars."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors import wire_client_for
from connectors.base import AgencyClient
from connectors.credentials import demo_credentials
from connectors.mapped import MappedAgencyClient
from connectors.wire import SOAP_ENV_NS
from estelam.contracts.registry import AgencyRegistry, load_agency_registry
from estelam.core.domain import AgencyInstance, FeedRecord, InquiryAnswer
from estelam.core.exceptions import AgencyAnswerMalformed, AgencyError, AgencyFault
from estelam.core.identifiers import iran_national_code_check_digit
from estelam.core.kinds import mapping_at
from simulators.fleet import Fleet
from simulators.server import Request, Response, RunningServer
from simulators.world import World, generate, render_digits, spelling_of
from tests.mapping_support import drawn_records

REGISTRY = load_agency_registry()
#: One agency per contract, chosen so that identifiers come back in Persian or Arabic-Indic digits (the depository,
#: the land registry and the vehicle registry kinds declared by their mappings: the generic client and the generated
#: simulator).
AGENCIES = ["bank_melli", "land_registry", "csdi", "traffic_police"]
CONTRACT_BATCH_LIMIT = 500


def expected_assets(world: World, agency_id: str, person_id: str) -> list[Any]:
    """What the agency holds of the person: its kind's records as the client reads them (the feed's columns)."""
    instance = REGISTRY.instance(agency_id)
    columns = mapping_at(Path(str(instance.mapping_file))).columns
    return [FeedRecord(person_id, {c: row[c] for c in columns}) for row in drawn_records(world, instance, person_id)]


def owner_of(asset: FeedRecord) -> str:
    return str(asset.person_id)


def _bad_id(good: str) -> str:
    return good[:-1] + str((int(good[-1]) + 1) % 10)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(REGISTRY.instances, n_persons=150, dirty_share=0.0)


@pytest.fixture(scope="module")
def clients(world: World) -> Iterator[dict[str, AgencyClient]]:
    subset = AgencyRegistry(REGISTRY.kinds, tuple(REGISTRY.instance(a) for a in AGENCIES), REGISTRY.root)
    with Fleet.start(subset, world) as fleet:
        made = {a: wire_client_for(dataclasses.replace(REGISTRY.instance(a), endpoint=fleet.endpoints[a]))
                for a in AGENCIES}
        yield made
        for client in made.values():
            client.close()


@pytest.mark.parametrize("agency_id", AGENCIES)
def test_a_batch_answers_every_person_as_single_inquiries_do(world: World, clients: dict[str, AgencyClient],
                                                             agency_id: str) -> None:
    client = clients[agency_id]
    asked = [p.person_id for p in world.persons]
    answers = client.inquire_batch(asked, "batch-1")
    assert list(answers) == asked
    for person_id in asked:
        answer = answers[person_id]
        assert isinstance(answer, InquiryAnswer)
        assert (answer.agency_id, answer.person_id, answer.request_id) == (agency_id, person_id, "batch-1")
        expected = expected_assets(world, agency_id, person_id)
        assert sorted(map(repr, answer.assets)) == sorted(map(repr, expected))
    for person_id in asked[:15]:
        assert client.inquire(person_id, "single").assets == answers[person_id].assets
    assert sum(len(a.assets) for a in answers.values() if isinstance(a, InquiryAnswer)) == sum(
        len(expected_assets(world, agency_id, p)) for p in asked) > 0


def test_identifiers_written_in_persian_or_arabic_digits_come_back_latin(world: World,
                                                                         clients: dict[str, AgencyClient]) -> None:
    scripts = {spelling_of(a).id_digits for a in AGENCIES}
    assert scripts - {"latin"}, "the chosen agencies write ids in other scripts"
    for agency_id in AGENCIES:
        owners = {p.person_id for p in world.persons if expected_assets(world, agency_id, p.person_id)}
        answers = clients[agency_id].inquire_batch(sorted(owners)[:40], "batch-digits")
        for answer in answers.values():
            assert isinstance(answer, InquiryAnswer)
            assert all(owner_of(a).isascii() and owner_of(a) == answer.person_id for a in answer.assets)


def test_a_person_refused_alone_is_a_fault_for_that_person_only(world: World,
                                                                clients: dict[str, AgencyClient]) -> None:
    good = [p.person_id for p in world.persons[:5]]
    bad = _bad_id(good[0])
    for agency_id, client in clients.items():
        answers = client.inquire_batch([*good, bad], "batch-bad")
        assert set(answers) == {*good, bad}
        refusal = answers[bad]
        assert isinstance(refusal, AgencyFault), agency_id
        assert "invalid_person_id" in str(refusal) and not refusal.transient
        assert (refusal.agency_id, refusal.request_id) == (agency_id, "batch-bad")
        assert all(isinstance(answers[p], InquiryAnswer) for p in good)


def test_an_id_no_contract_accepts_is_not_sent_and_the_others_are_asked(
        world: World, clients: dict[str, AgencyClient]) -> None:
    good = world.persons[0].person_id
    for agency_id, client in clients.items():
        answers = client.inquire_batch([good, "12345", "not-an-id"], "batch-garbage")
        assert isinstance(answers[good], InquiryAnswer), agency_id
        for garbage in ("12345", "not-an-id"):
            refusal = answers[garbage]
            assert type(refusal) is AgencyError and "not sent" in str(refusal)
        assert client.inquire_batch(["x"], "batch-none")["x"].request_id == "batch-none"  # type: ignore[union-attr]


def test_repeated_and_non_latin_ids_are_asked_once_and_answered_under_each_key(
        world: World, clients: dict[str, AgencyClient]) -> None:
    bank = REGISTRY.instance("bank_melli")
    person_id = next(p.person_id for p in world.persons if drawn_records(world, bank, p.person_id))
    persian = render_digits(person_id, "persian")
    answers = clients["bank_melli"].inquire_batch([person_id, persian, person_id], "batch-dup")
    assert set(answers) == {person_id, persian}
    assert answers[person_id].assets == answers[persian].assets != ()  # type: ignore[union-attr]


def test_the_batch_limit_comes_from_the_contract_and_the_client_sends_nothing_beyond(
        clients: dict[str, AgencyClient]) -> None:
    too_many = [f"{n:09d}{iran_national_code_check_digit(f'{n:09d}')}" for n in range(1, CONTRACT_BATCH_LIMIT + 2)]
    for client in clients.values():
        assert client.max_batch_size == CONTRACT_BATCH_LIMIT
        with pytest.raises(AgencyError, match="exceed the contract's batch limit of 500"):
            client.inquire_batch(too_many, "batch-big")
    assert clients["bank_melli"].inquire_batch([], "batch-empty") == {}


def _soap_batch(ids: list[str]) -> bytes:
    persons = "".join(f"<b:personId>{i}</b:personId>" for i in ids)
    return (f'<s:Envelope xmlns:s="{SOAP_ENV_NS}" xmlns:b="urn:estelam:agency:bank:v1"><s:Header/><s:Body>'
            f"<b:InquireAccountsBatch><b:requestId>r</b:requestId>{persons}</b:InquireAccountsBatch>"
            "</s:Body></s:Envelope>").encode()


def test_simulators_refuse_a_batch_beyond_the_contract_whole(clients: dict[str, AgencyClient]) -> None:
    ids = [f"{n:09d}{iran_national_code_check_digit(f'{n:09d}')}" for n in range(1, CONTRACT_BATCH_LIMIT + 2)]
    bank = clients["bank_melli"]
    assert isinstance(bank, MappedAgencyClient)  # the banks' mapping over their WSDL
    token = demo_credentials(bank.instance)
    wsse = ("<wsse:Security xmlns:wsse='http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-"
            "secext-1.0.xsd'><wsse:UsernameToken><wsse:Username>" + token.username + "</wsse:Username>"
            "<wsse:Password>" + token.secret + "</wsse:Password></wsse:UsernameToken></wsse:Security>")
    body = _soap_batch(ids).replace(b"<s:Header/>", f"<s:Header>{wsse}</s:Header>".encode())
    refused = httpx.post(f"{bank.instance.endpoint}/soap", content=body)
    assert refused.status_code == 500 and b"soap:Client" in refused.content
    assert b"This element is not expected" in refused.content  # the WSDL schema refuses the 501st personId
    accepted = httpx.post(f"{bank.instance.endpoint}/soap", content=_soap_batch(ids[:3]).replace(
        b"<s:Header/>", f"<s:Header>{wsse}</s:Header>".encode()))
    assert accepted.status_code == 200 and len(re.findall(rb"<(?:\w+:)?personId>", accepted.content)) == 3

    depository = clients["csdi"]
    headers = {"Authorization": f"Bearer {demo_credentials(depository.instance).secret}"}
    refused = httpx.post(f"{depository.instance.endpoint}/v1/holdings:query", headers=headers,
                         json={"requestId": "r", "personIds": ids})
    assert refused.status_code == 422
    assert "at most 500 items" in refused.json()["detail"]


# --- agencies whose batch answers lie --------------------------------------------------------------------

A = "000000001" + str(iran_national_code_check_digit("000000001"))
B = "000000002" + str(iran_national_code_check_digit("000000002"))


def _soap_answer(persons: str, request_id: str = "req") -> bytes:
    return (f'<soap:Envelope xmlns:soap="{SOAP_ENV_NS}"><soap:Body>'
            f'<InquireAccountsBatchResponse xmlns="urn:estelam:agency:bank:v1"><requestId>{request_id}</requestId>'
            f"{persons}<answeredAt>2026-11-01T10:00:00Z</answeredAt></InquireAccountsBatchResponse>"
            "</soap:Body></soap:Envelope>").encode()


def _account(holder: str) -> str:
    return (f"<account><iban>IR270170659251123418355460</iban><holderId>{holder}</holderId>"
            "<holderName>x</holderName><accountKind>ordinary</accountKind><balanceRial>5</balanceRial></account>")


def _rest_answer(answers: list[dict[str, object]], request_id: str = "req") -> bytes:
    return json.dumps({"requestId": request_id, "answeredAt": "2026-11-01T10:00:00Z", "answers": answers}).encode()


SOAP_LIES = {
    "leaves-out": (_soap_answer(f"<person><personId>{A}</personId></person>"), "leaves out 1 of 2"),
    "stranger": (_soap_answer(f"<person><personId>{A}</personId></person><person><personId>{B}</personId>"
                              "</person><person><personId>1111111111</personId></person>"), "not asked"),
    "twice": (_soap_answer(f"<person><personId>{A}</personId></person>" * 2), "twice"),
    "others-assets": (_soap_answer(f"<person><personId>{A}</personId>{_account(B)}</person>"
                                   f"<person><personId>{B}</personId></person>"), "includes a record of"),
    "other-request": (_soap_answer(f"<person><personId>{A}</personId></person><person><personId>{B}</personId>"
                                   "</person>", request_id="someone-else"), "answers request"),
}

_VEHICLE = {"plate": "12ب345-67", "ownerId": B, "ownerName": "x", "model": "Saipa Pride", "valueRial": 5}
REST_LIES = {
    "leaves-out": (_rest_answer([{"personId": A, "vehicles": []}]), "leaves out 1 of 2"),
    "twice": (_rest_answer([{"personId": A, "vehicles": []}, {"personId": A, "vehicles": []}]), "twice"),
    "others-assets": (_rest_answer([{"personId": A, "vehicles": [_VEHICLE]}, {"personId": B, "vehicles": []}]),
                      "includes a record of"),
    "other-request": (_rest_answer([{"personId": A, "vehicles": []}], request_id="nope"), "answers request 'nope'"),
}
#: The REST agency these tests speak to (the vehicle registry: the generic client over the REST wire).
REST_AGENCY = "traffic_police"


def _liar(instance: AgencyInstance, body: bytes, content_type: str) -> tuple[RunningServer, AgencyClient]:
    server = RunningServer(lambda request: Response(200, body, {"Content-Type": content_type}))
    local = dataclasses.replace(instance, endpoint=server.url)
    return server, wire_client_for(local)  # the bank's: the generic client its mapping declares


@pytest.mark.parametrize(("protocol", "lie"), [*(("soap", k) for k in SOAP_LIES), *(("rest", k) for k in REST_LIES)])
def test_a_batch_answer_that_does_not_match_the_persons_asked_is_malformed(protocol: str, lie: str) -> None:
    instance = REGISTRY.instance("bank_melli" if protocol == "soap" else REST_AGENCY)
    body, reason = (SOAP_LIES if protocol == "soap" else REST_LIES)[lie]
    server, client = _liar(instance, body, "text/xml" if protocol == "soap" else "application/json")
    try:
        with pytest.raises(AgencyAnswerMalformed, match=reason) as caught:
            client.inquire_batch([A, B], "req")
        assert caught.value.request_id == "req"
    finally:
        client.close()
        server.stop()


def test_rest_batch_sends_the_contracts_body(world: World) -> None:
    seen: list[Request] = []

    def record(request: Request) -> Response:
        seen.append(request)
        return Response(200, _rest_answer([{"personId": A, "vehicles": []}]), {"Content-Type": "application/json"})

    with RunningServer(record) as server:
        client = wire_client_for(dataclasses.replace(REGISTRY.instance(REST_AGENCY), endpoint=server.url))
        client.inquire_batch([render_digits(A, "arabic")], "req")
        client.close()
    assert seen[0].path == "/v1/vehicles:query" and seen[0].method == "POST"
    assert json.loads(seen[0].body) == {"requestId": "req", "personIds": [A]}


@pytest.mark.parametrize("protocol", ["soap", "rest"])
def test_one_persons_record_breaking_the_contract_is_that_persons_alone(protocol: str) -> None:
    """A value of the wrong type in one person's record fails that person (the hand-written REST client) or is
    left null for the landing's validation (the banks' generic client); the others of the batch are answered."""
    if protocol == "soap":
        broken = _account(B).replace("<balanceRial>5</balanceRial>", "<balanceRial>many</balanceRial>")
        body = _soap_answer(f"<person><personId>{A}</personId>{_account(A)}</person>"
                            f"<person><personId>{B}</personId>{broken}</person>")
    else:
        good = _VEHICLE | {"ownerId": A}
        body = _rest_answer([{"personId": A, "vehicles": [good]},
                             {"personId": B, "vehicles": [_VEHICLE | {"valueRial": "many"}]}])
    instance = REGISTRY.instance("bank_melli" if protocol == "soap" else REST_AGENCY)
    server, client = _liar(instance, body, "text/xml" if protocol == "soap" else "application/json")
    try:
        answers = client.inquire_batch([A, B], "req")
    finally:
        client.close()
        server.stop()
    answered, refused = answers[A], answers[B]
    assert isinstance(answered, InquiryAnswer) and len(answered.assets) == 1
    if protocol == "soap":  # the banks' generic client keeps the record, the value it cannot read left null: the
        # landing's validation quarantines the row (the feed's rules), the person's other records are kept
        assert isinstance(refused, InquiryAnswer) and len(refused.assets) == 1
        assert isinstance(asset := refused.assets[0], FeedRecord) and asset.values["balance_rial"] is None
        return
    assert isinstance(refused, AgencyAnswerMalformed) and "does not follow the contract" in str(refused)
