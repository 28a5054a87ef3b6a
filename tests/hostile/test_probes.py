"""What an outside probe tried against a running API: hostile XML, protocol edges, and small leaks."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from lxml import etree

from tests.hostile.harness import (
    AGENCY,
    CASE,
    LOOPBACK,
    MISSING_CASE,
    OTHER_COURTS_CASE,
    PERSON,
    PUBLIC_SUBJECT,
    PUBLIC_URL,
    ApiProcess,
    auth,
    soap_envelope,
)

SOAP = "/soap/acknowledgements"
SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8", **auth("agency")}
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                             for n in range(1, 10))
                  + b"]><lolz>&lol9;</lolz>")
XXE = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
       b'<h:AcknowledgeOrders xmlns:h="urn:estelam:hub:acknowledgements:v1"><h:agencyId>&xxe;</h:agencyId>'
       b"</h:AcknowledgeOrders></soap:Body></soap:Envelope>")


def _fault(response: httpx.Response) -> tuple[str, str]:
    root = etree.fromstring(response.content)
    return root.findtext(".//faultcode") or "", root.findtext(".//faultstring") or ""


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A loopback port that records whatever connects to it (an external DTD must never be fetched)."""
    server = socket.socket()
    server.bind((LOOPBACK, 0))
    server.listen()
    server.settimeout(0.1)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1)
                seen.append(connection.recv(4096))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://{LOOPBACK}:{server.getsockname()[1]}", seen
    stop.set()
    thread.join(timeout=5)
    server.close()


@pytest.mark.parametrize("document", [XXE, BILLION_LAUGHS], ids=["xxe", "billion-laughs"])
def test_entities_are_refused_unexpanded_and_fast(api: ApiProcess, document: bytes) -> None:
    started = time.perf_counter()
    response = httpx.post(f"{api.url}{SOAP}", content=document, headers=SOAP_HEADERS, timeout=30)
    assert time.perf_counter() - started < 2.0
    assert response.status_code == 500 and len(response.content) < 2048
    code, _ = _fault(response)
    assert code == "soap:Client"
    assert b"root:" not in response.content and b"lollol" not in response.content


def test_an_external_dtd_is_never_fetched(api: ApiProcess, listener: tuple[str, list[bytes]]) -> None:
    url, seen = listener
    document = (f'<?xml version="1.0"?><!DOCTYPE soap:Envelope SYSTEM "{url}/evil.dtd">'.encode()
                + soap_envelope(AGENCY, ["o"]).split(b"?>", 1)[1])
    response = httpx.post(f"{api.url}{SOAP}", content=document, headers=SOAP_HEADERS, timeout=30)
    assert response.status_code == 500 and _fault(response)[0] == "soap:Client"
    time.sleep(0.3)
    assert seen == []


def test_a_soap_12_envelope_gets_version_mismatch(api: ApiProcess) -> None:
    response = httpx.post(f"{api.url}{SOAP}", content=soap_envelope(AGENCY, ["o"], envelope_ns=SOAP12_NS),
                          headers=SOAP_HEADERS, timeout=30)
    assert response.status_code == 500
    assert _fault(response)[0] == "soap:VersionMismatch"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "GET"])
def test_other_methods_on_the_soap_endpoint_get_a_soap_405(api: ApiProcess, method: str) -> None:
    response = httpx.request(method, f"{api.url}{SOAP}", headers=auth("agency"), timeout=30,
                             content=b"<x/>" if method != "GET" else None)
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.headers["content-type"].startswith("text/xml")
    assert _fault(response)[0] == "soap:Client"


@pytest.mark.parametrize(("path", "methods"), [
    (f"/agencies/{AGENCY}/acknowledgements", {"GET", "POST", "OPTIONS"}),
    (SOAP, {"GET", "POST", "OPTIONS"}),
    ("/consents", {"POST", "OPTIONS"}),
    ("/health", {"GET", "OPTIONS"}),
])
def test_options_names_every_method_of_the_path(api: ApiProcess, path: str, methods: set[str]) -> None:
    response = httpx.options(f"{api.url}{path}", timeout=30)
    assert response.status_code == 204
    assert {m.strip() for m in response.headers["allow"].split(",")} == methods


def test_the_wsdl_address_is_the_configured_url_never_the_host_header(api: ApiProcess) -> None:
    response = httpx.get(f"{api.url}{SOAP}?wsdl", headers={"Host": "evil.example"}, timeout=30)
    assert response.status_code == 200
    assert f'location="{PUBLIC_URL}{SOAP}"'.encode() in response.content
    assert b"evil.example" not in response.content


def test_a_judge_cannot_tell_a_missing_case_from_another_courts(api: ApiProcess) -> None:
    missing = httpx.get(f"{api.url}/cases/{MISSING_CASE}/asset-report", headers=auth("judge"), timeout=30)
    hidden = httpx.get(f"{api.url}/cases/{OTHER_COURTS_CASE}/asset-report", headers=auth("judge"), timeout=30)
    assert missing.status_code == hidden.status_code == 404
    assert missing.json()["detail"].replace(MISSING_CASE, "?") == hidden.json()["detail"].replace(
        OTHER_COURTS_CASE, "?")
    for case in (MISSING_CASE, OTHER_COURTS_CASE):  # the on-demand inquiry answers alike
        inquiry = httpx.post(f"{api.url}/persons/{PERSON}/inquiries", json={"case_id": case}, headers=auth("judge"),
                             timeout=30)
        assert inquiry.status_code == 404


def _consent(api: ApiProcess, purpose: str) -> str:
    issued = httpx.post(f"{api.url}/consents", json={"requester": PUBLIC_SUBJECT, "purpose": purpose},
                        headers=auth("person"), timeout=30)
    assert issued.status_code == 201, issued.text
    return str(issued.json()["code"])


def test_a_wrong_purpose_reveals_nothing_and_burns_the_code(api: ApiProcess) -> None:
    url = f"{api.url}/registry/{PERSON}"
    code = _consent(api, "mortgage-7731")
    wrong = httpx.get(url, params={"consent": code, "purpose": "marketing"}, headers=auth("public"), timeout=30)
    assert wrong.status_code == 403 and "mortgage" not in wrong.text
    retry = httpx.get(url, params={"consent": code, "purpose": "mortgage-7731"}, headers=auth("public"), timeout=30)
    assert retry.status_code == 403  # burned by the wrong-purpose use
    fresh = _consent(api, "mortgage-7731")  # the control: the right purpose at first use is answered
    answered = httpx.get(url, params={"consent": fresh, "purpose": "mortgage-7731"}, headers=auth("public"),
                         timeout=30)
    assert answered.status_code == 200 and answered.json()["listed"] is True


FORGING = ["loan\nbusiness-9 registry_lookup allowed", "loan\r", "loan\x00", "loan\u202e", "loan\u2066x",
           "loan\x1b[31m", "loan\u2028", "loan\x85"]


@pytest.mark.parametrize("purpose", FORGING, ids=repr)
def test_a_purpose_with_control_or_bidi_characters_is_refused(api: ApiProcess, purpose: str) -> None:
    issued = httpx.post(f"{api.url}/consents", json={"requester": PUBLIC_SUBJECT, "purpose": purpose},
                        headers=auth("person"), timeout=30)
    assert issued.status_code == 422
    lookup = httpx.get(f"{api.url}/registry/{PERSON}", params={"consent": "c", "purpose": purpose},
                       headers=auth("public"), timeout=30)
    assert lookup.status_code == 422
    report = httpx.get(f"{api.url}/cases/{CASE}/asset-report", params={"purpose": purpose}, headers=auth("judge"),
                       timeout=30)
    assert report.status_code == 422


def test_persian_purposes_are_still_welcome(api: ApiProcess) -> None:
    assert _consent(api, "وام مسکن")


@pytest.mark.parametrize("since", ["0", "1", "20240101", "2024-02-30", "-1"])
def test_the_central_bank_feed_takes_only_calendar_days(api: ApiProcess, since: str) -> None:
    response = httpx.get(f"{api.url}/central-bank/feed", params={"since": since, "format": "csv"},
                         headers=auth("central_bank"), timeout=30)
    assert response.status_code == 422


def test_the_central_bank_feed_still_takes_a_day(api: ApiProcess) -> None:
    response = httpx.get(f"{api.url}/central-bank/feed", params={"since": "2024-01-01", "format": "csv"},
                         headers=auth("central_bank"), timeout=30)
    assert response.status_code == 200 and PERSON in response.text
