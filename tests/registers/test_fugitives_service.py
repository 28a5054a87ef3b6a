"""The register of fugitive convicts as a service: the police look people up over REST and SOAP (a zeep client
built from the published WSDL, calling the API served on loopback), with their own token and a purpose; other
roles are refused; every lookup is on the audit log and its messages on the message log."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
import requests
import uvicorn
import zeep
from fastapi.testclient import TestClient
from zeep.transports import Transport

from estelam.access.audit import AuditLog
from estelam.access.auth import TokenStore
from estelam.access.consent import ConsentStore
from estelam.access.message_log import MessageLog
from estelam.api import ApiSettings, create_app
from estelam.core.settings import contracts_dir
from tests.registers import register_world
from tests.settings_support import override

TOKENS = {"police": "t-police", "border": "t-border", "agency": "t-agency", "central_bank": "t-cbi"}
LISTED, NOT_LISTED = "0012345678", "0099999999"
PURPOSE = "border check at IKA terminal 1"


def _settings(data_dir: Path) -> ApiSettings:
    tokens = TokenStore.from_config({"tokens": [
        {"token": TOKENS["police"], "subject": "police-desk-1", "role": "police", "agency_id": "police"},
        {"token": TOKENS["border"], "subject": "border-desk-1", "role": "police", "agency_id": "border_control"},
        {"token": TOKENS["agency"], "subject": "agency-bank-melli", "role": "agency", "agency_id": "bank_melli"},
        {"token": TOKENS["central_bank"], "subject": "cbi", "role": "central_bank"},
    ]})
    return ApiSettings(tokens=tokens, audit=AuditLog(data_dir / "audit" / "audit.jsonl"),
                       consents=ConsentStore(data_dir / "consents" / "consents.sqlite"),
                       messages=MessageLog(data_dir / "messages"))


@pytest.fixture
def api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ApiSettings:
    override(monkeypatch, data_dir=tmp_path)
    register_world.build(tmp_path)
    return _settings(tmp_path)


def _auth(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who]}"}


def _lookups(settings: ApiSettings) -> list[Any]:
    return [e for e in settings.audit.entries() if e.detail.get("register") == "fugitives"]


def test_police_look_up_over_rest_with_a_purpose_audited(api: ApiSettings) -> None:
    with TestClient(create_app(api)) as client:
        listed = client.get(f"/fugitives/{LISTED}", params={"purpose": PURPOSE}, headers=_auth("police"))
        assert listed.status_code == 200, listed.text
        entry = listed.json()
        assert entry["listed"] is True and entry["case_id"] == "1405-000011" and entry["court_code"] == "THR-01"
        assert entry["since"].startswith("2026-10-01") and "absconded" in entry["reason"]
        absent = client.get(f"/fugitives/{NOT_LISTED}", params={"purpose": PURPOSE}, headers=_auth("border"))
        assert absent.status_code == 200 and absent.json() == {**dict.fromkeys(entry, None), "person_id": NOT_LISTED,
                                                               "listed": False}
        every = client.get("/fugitives", params={"purpose": PURPOSE}, headers=_auth("police")).json()
        assert [e["person_id"] for e in every["entries"]] == sorted(register_world.FUGITIVES)
        since = client.get("/fugitives", params={"purpose": PURPOSE, "since": "2026-10-02"}, headers=_auth("police"))
        assert since.json() == {"entries": []}
        for who in ("agency", "central_bank"):
            assert client.get(f"/fugitives/{LISTED}", params={"purpose": PURPOSE},
                              headers=_auth(who)).status_code == 403
        assert client.get(f"/fugitives/{LISTED}", params={"purpose": PURPOSE}).status_code == 401
        assert client.get(f"/fugitives/{LISTED}", headers=_auth("police")).status_code == 422  # no purpose
        assert client.get(f"/fugitives/{LISTED}", params={"purpose": "a\nforged line"},
                          headers=_auth("police")).status_code == 422
    audited = _lookups(api)
    assert [(e.actor, e.action, e.person_id, e.purpose, e.detail["listed"]) for e in audited[:2]] == [
        ("police-desk-1", "registry_lookup", LISTED, PURPOSE, True),
        ("border-desk-1", "registry_lookup", NOT_LISTED, PURPOSE, False)]
    assert [(e.action, e.detail["entries"]) for e in audited[2:]] == [("feed_export", 3), ("feed_export", 0)]
    refused = [e for e in api.audit.entries() if e.outcome == "refused"]
    assert {e.actor for e in refused} == {"agency-bank-melli", "cbi", "anonymous"}
    logged = {m.message_id for m in api.messages.messages()}
    assert {e.detail["message_id"] for e in audited} <= logged


@pytest.fixture
def served(api: ApiSettings) -> Iterator[str]:
    """The API on an ephemeral loopback port (uvicorn in a thread, stopped at teardown)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(api), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the API did not start"
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def _zeep(url: str, who: str | None) -> Any:
    """A zeep client from the contract file, bound to the served address; the token rides on its HTTP session."""
    http = requests.Session()
    if who:
        http.headers.update(_auth(who))
    client = zeep.Client(str(contracts_dir() / "agencies" / "fugitives.wsdl"), transport=Transport(session=http))
    return client.create_service("{urn:estelam:hub:fugitives:v1}FugitivesBinding", f"{url}/soap/fugitives")


def test_police_look_up_over_soap_with_a_client_built_from_the_wsdl(api: ApiSettings, served: str) -> None:
    service = _zeep(served, "police")
    answer = service.LookupFugitive(personId=LISTED, purpose=PURPOSE)
    assert answer.listed is True and answer.caseId == "1405-000011" and answer.courtCode == "THR-01"
    assert answer.since.year == 2026 and answer.fugitiveCases == 1
    assert service.LookupFugitive(personId=NOT_LISTED, purpose=PURPOSE).listed is False
    every = service.ListFugitives(purpose=PURPOSE)
    assert sorted(e.personId for e in every) == sorted(register_world.FUGITIVES)
    for who in ("agency", None):
        with pytest.raises(zeep.exceptions.Fault) as refused:
            _zeep(served, who).LookupFugitive(personId=LISTED, purpose=PURPOSE)
        assert "Authentication" in str(refused.value.code)
    # no purpose: zeep will not even build it (the WSDL requires one); sent anyway, the hub refuses it
    raw = httpx.post(f"{served}/soap/fugitives", headers=_auth("police") | {"Content-Type": "text/xml"},
                     content=_envelope_without_purpose())
    assert raw.status_code == 500 and b"purpose" in raw.content
    wsdl = httpx.get(f"{served}/soap/fugitives?wsdl")
    assert wsdl.status_code == 200 and b"LookupFugitive" in wsdl.content
    audited = _lookups(api)
    assert [(e.action, e.outcome, e.purpose, e.detail["channel"]) for e in audited] == [
        ("registry_lookup", "allowed", PURPOSE, "soap"), ("registry_lookup", "allowed", PURPOSE, "soap"),
        ("feed_export", "allowed", PURPOSE, "soap"), ("registry_lookup", "refused", "", "soap")]
    assert audited[0].person_id == LISTED
    operations = [m.operation for m in api.messages.messages()]
    assert operations.count("LookupFugitive") >= 4 and "ListFugitives" in operations


def _envelope_without_purpose() -> bytes:
    return (b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
            b'xmlns:f="urn:estelam:hub:fugitives:v1"><soap:Body><f:LookupFugitive>'
            b"<f:personId>0012345678</f:personId></f:LookupFugitive></soap:Body></soap:Envelope>")


def test_a_person_id_is_looked_up_in_the_form_the_hub_keeps_it(api: ApiSettings, tmp_path: Path) -> None:
    """An Iranian code that lost its leading zeros, or written with its scheme, finds the same entry; a Saudi id
    with the same digits as an Iranian fugitive's code is someone else."""
    twin = "1000000206"  # a valid Iranian national code and a valid Saudi national id
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        for person_id, case_id in (("0012345679", "1405-000021"), (twin, "1405-000022")):
            con.execute("insert into fugitives values (?, 'iran_national_code', 'natural', 'X', ?, 'THR-01', ?, 1, 1, "
                        "?)", [person_id, case_id, register_world.ABSCONDED, register_world.AS_OF])
    with TestClient(create_app(api)) as client:
        def entry(person_id: str) -> tuple[str, bool, str | None]:
            answer = client.get(f"/fugitives/{person_id}", params={"purpose": PURPOSE}, headers=_auth("police"))
            assert answer.status_code == 200, answer.text
            return answer.json()["person_id"], answer.json()["listed"], answer.json()["case_id"]

        listed = ("0012345679", True, "1405-000021")
        assert entry("0012345679") == entry("12345679") == entry("ir-nc:0012345679") == listed
        assert entry(twin) == (twin, True, "1405-000022")
        assert entry(f"sa-nid:{twin}") == (f"sa-nid:{twin}", False, None)
        assert client.get("/fugitives/xx:0012345679", params={"purpose": PURPOSE},
                          headers=_auth("police")).status_code == 422
