"""Bodies a hostile client sends a real API process: who must be known first, and how much is ever read.

Measured against uvicorn on loopback, streaming from generators over a raw socket (see
``harness.stream_upload``), so the figures are the server's, not a test client's.
"""

from __future__ import annotations

import json

import httpx
import pytest

from estelam.api.guard import ACKNOWLEDGEMENTS_BODY_LIMIT
from tests.hostile.harness import AGENCY, ApiProcess, auth, filler, stream_upload

MB = 1024 * 1024
#: Done when: a 200 MB unauthenticated body is refused in under 100 ms, the server growing under 10 MB.
REFUSAL_BUDGET_S = 0.100
RSS_BUDGET_KIB = 10 * 1024
ACKS = f"/agencies/{AGENCY}/acknowledgements"
SOAP = "/soap/acknowledgements"


def _warm(api: ApiProcess) -> None:
    """One ordinary refusal first, so the measured one pays no first-request costs."""
    httpx.post(f"{api.url}{ACKS}", content=b"{}", timeout=30)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
@pytest.mark.parametrize("path", [ACKS, SOAP, "/consents"])
def test_a_200_mb_unauthenticated_body_is_refused_at_once(api: ApiProcess, path: str, framing: str) -> None:
    _warm(api)
    before = api.rss_kib()
    total = 200 * MB
    upload = stream_upload(api.url, path, {"Content-Type": "application/json"}, filler(total, b"[" * 65536),
                           content_length=total if framing == "content-length" else None)
    grown = api.rss_kib() - before
    print(f"200 MB unauthenticated to {path} ({framing}): {upload.status} in {upload.elapsed_s * 1000:.1f} ms, "
          f"{upload.sent_when_answered / MB:.1f} MB sent by then, server RSS +{grown} KiB")
    assert upload.status == 401
    assert upload.elapsed_s < REFUSAL_BUDGET_S
    assert grown < RSS_BUDGET_KIB
    assert upload.sent_when_answered < total // 4  # refused long before the body was through


@pytest.mark.parametrize("path", [ACKS, "/consents", "/persons/0012345679/inquiries"])
def test_malformed_json_without_a_token_is_401_not_422(api: ApiProcess, path: str) -> None:
    response = httpx.post(f"{api.url}{path}", content=b'{"acknowledgements": [', timeout=30,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_invalid_utf8_is_401_without_a_token_and_a_documented_400_with_one(api: ApiProcess) -> None:
    body = b'{"requester": "\xff\xfe", "purpose": "loan"}'
    headers = {"Content-Type": "application/json"}
    assert httpx.post(f"{api.url}/consents", content=body, headers=headers, timeout=30).status_code == 401
    with_token = httpx.post(f"{api.url}/consents", content=body, headers=headers | auth("person"), timeout=30)
    assert with_token.status_code == 400
    documented = httpx.get(f"{api.url}/openapi.json", timeout=30).json()["paths"]
    assert "400" in documented["/consents"]["post"]["responses"]
    acks = documented["/agencies/{agency_id}/acknowledgements"]["post"]["responses"]
    assert "400" in acks and "413" in acks


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_authenticated_50_mb_soap_body_is_refused_without_reading_it(api: ApiProcess, framing: str) -> None:
    _warm(api)
    before = api.rss_kib()
    total = 50 * MB
    upload = stream_upload(api.url, SOAP, {"Content-Type": "text/xml; charset=utf-8", **auth("agency")},
                           filler(total, b"<a>" * 20000), content_length=total if framing == "content-length" else None)
    grown = api.rss_kib() - before
    print(f"50 MB authenticated SOAP ({framing}): {upload.status} in {upload.elapsed_s * 1000:.1f} ms, "
          f"{upload.sent_when_answered / MB:.1f} MB sent by then, server RSS +{grown} KiB")
    assert upload.status == 413
    assert b"soap:Client" in upload.body
    # answered before the body was all sent (how much the kernel's buffers took by then depends on the machine's
    # load: 13-21 MB seen on a loaded 2-core machine), and the server never held more than the limit
    assert upload.sent_when_answered < total
    assert grown < (ACKNOWLEDGEMENTS_BODY_LIMIT // 1024) + RSS_BUDGET_KIB  # at most the limit was ever held


def test_an_oversize_rest_body_with_a_token_is_413_and_small(api: ApiProcess) -> None:
    """400,000 acknowledgements: refused by size while streaming, not parsed, not echoed."""
    item = {"order_id": "o", "status": "done", "acknowledged_amount_rial": 1, "frozen_total_rial": 1,
            "acknowledged_at": "2026-01-01T00:00:00Z"}
    encoded = json.dumps(item).encode()
    count = 400_000

    def body() -> object:
        yield b'{"acknowledgements": ['
        for index in range(count):
            yield encoded if index == 0 else b"," + encoded
        yield b"]}"

    upload = stream_upload(api.url, ACKS, {"Content-Type": "application/json", **auth("agency")},
                           body(), content_length=None)  # type: ignore[arg-type]
    assert upload.status == 413
    assert len(upload.body) < 1024


def test_a_422_never_echoes_more_than_a_small_bound_of_the_input(api: ApiProcess) -> None:
    """Five hundred invalid acknowledgements with long fields: the error names a few, each cut short."""
    bad = {"order_id": "x" * 5000, "status": "y" * 5000, "acknowledged_amount_rial": "z" * 5000,
           "frozen_total_rial": -1, "acknowledged_at": "w" * 5000, "reason": "r" * 5000}
    response = httpx.post(f"{api.url}{ACKS}", json={"acknowledgements": [bad] * 500}, headers=auth("agency"),
                          timeout=60)
    assert response.status_code in (413, 422)
    assert len(response.content) < 16 * 1024
    fits = httpx.post(f"{api.url}{ACKS}", json={"acknowledgements": [bad] * 50}, headers=auth("agency"), timeout=60)
    assert fits.status_code == 422
    assert len(fits.content) < 16 * 1024 and fits.json()["more_errors"] > 0
    assert "x" * 200 not in fits.text


def test_deep_json_nesting_is_a_client_error_not_a_crash(api: ApiProcess) -> None:
    depth = 200_000
    body = b'{"acknowledgements": ' + b"[" * depth + b"]" * depth + b"}"
    response = httpx.post(f"{api.url}{ACKS}", content=body, timeout=60,
                          headers={"Content-Type": "application/json", **auth("agency")})
    assert 400 <= response.status_code < 500
    assert httpx.get(f"{api.url}/health", timeout=30).status_code == 200  # and the server is still there
