"""The API's hardening, in process: the acknowledgement claim, the contract-derived limits, bounded errors.

The same behaviours against real server processes are in ``tests/hostile``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from estelam.access.audit import AuditLog
from estelam.access.auth import TokenStore
from estelam.access.consent import ConsentStore
from estelam.api import ApiSettings, create_app
from estelam.api.app import MAX_ECHOED_CHARS, MAX_REPORTED_ERRORS, bounded_errors
from estelam.api.guard import ACKNOWLEDGEMENTS_BODY_LIMIT, DEFAULT_BODY_LIMIT, body_limit
from estelam.core.domain import AckStatus
from estelam.core.exceptions import RequestRejected
from estelam.core.settings import contracts_dir
from estelam.freeze.acknowledgements import (
    MAX_ACKNOWLEDGEMENTS_PER_CALL,
    STALE_CLAIM,
    AcknowledgementClaims,
    PostedAcknowledgement,
    acknowledgements_of,
    land_acknowledgements,
)
from tests.hostile.harness import AGENCY, TOKENS, land_orders, write_tokens
from tests.settings_support import override

XSD = "{http://www.w3.org/2001/XMLSchema}"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    override(monkeypatch, data_dir=tmp_path)
    return tmp_path


def _ack(order_id: str) -> PostedAcknowledgement:
    return PostedAcknowledgement(order_id, AckStatus.DONE, 1000, 1000, datetime(2026, 3, 1, tzinfo=UTC))


def test_the_acknowledgement_limit_is_the_contracts_max_occurs() -> None:
    wsdl = etree.parse(str(contracts_dir() / "agencies" / "hub_acknowledgements.wsdl"))
    element = wsdl.find(f".//{XSD}element[@name='acknowledgement']")
    assert element is not None and int(element.get("maxOccurs", "0")) == MAX_ACKNOWLEDGEMENTS_PER_CALL
    assert body_limit("POST", f"/agencies/{AGENCY}/acknowledgements") == ACKNOWLEDGEMENTS_BODY_LIMIT
    assert body_limit("POST", "/soap/acknowledgements") == ACKNOWLEDGEMENTS_BODY_LIMIT
    assert body_limit("POST", "/consents") == DEFAULT_BODY_LIMIT < ACKNOWLEDGEMENTS_BODY_LIMIT


def test_threads_racing_one_order_land_it_once(data_dir: Path) -> None:
    land_orders(["o-race"], "orders-1")
    barrier = threading.Barrier(8)

    def racer(_: int) -> int:
        barrier.wait()
        try:
            land_acknowledgements(AGENCY, [_ack("o-race")])
        except RequestRejected as refused:
            return refused.status_code
        return 201

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(racer, range(8)))
    assert statuses == [201] + [409] * 7
    assert [a["order_id"] for a in acknowledgements_of(AGENCY)] == ["o-race"]


def test_a_claim_is_all_or_nothing(data_dir: Path) -> None:
    claims = AcknowledgementClaims()
    claims.claim(AGENCY, ["a", "b"])
    with pytest.raises(RequestRejected) as refused:
        claims.claim(AGENCY, ["c", "b"])
    assert refused.value.status_code == 409 and "b" in str(refused.value)
    claims.claim(AGENCY, ["c"])  # "c" was not kept by the refused call


def test_a_dead_callers_claim_is_taken_over_under_its_batch_id(data_dir: Path) -> None:
    """A caller that claimed and died before landing: after STALE_CLAIM the order can be acknowledged, into the
    same batch file (so a landing it may have finished is replaced, not doubled)."""
    land_orders(["o-dead"], "orders-2")
    claims = AcknowledgementClaims()
    then = datetime.now(UTC) - STALE_CLAIM - timedelta(seconds=1)
    dead = claims.claim(AGENCY, ["o-dead"], now=then)
    receipt = land_acknowledgements(AGENCY, [_ack("o-dead")])
    assert receipt.batch_id == dead.batch_id and receipt.accepted == 1
    with pytest.raises(RequestRejected, match="already acknowledged"):
        land_acknowledgements(AGENCY, [_ack("o-dead")])
    assert [a["order_id"] for a in acknowledgements_of(AGENCY)] == ["o-dead"]


def test_a_live_claim_is_not_taken_over(data_dir: Path) -> None:
    land_orders(["o-live"], "orders-3")
    AcknowledgementClaims().claim(AGENCY, ["o-live"])  # another caller, landing right now
    with pytest.raises(RequestRejected) as refused:
        land_acknowledgements(AGENCY, [_ack("o-live")])
    assert refused.value.status_code == 409


def test_a_quarantined_acknowledgement_can_be_sent_again(data_dir: Path) -> None:
    land_orders(["o-bad"], "orders-4")
    negative = PostedAcknowledgement("o-bad", AckStatus.DONE, -5, 0, datetime(2026, 3, 1, tzinfo=UTC))
    first = land_acknowledgements(AGENCY, [negative])
    assert (first.accepted, first.quarantined) == (0, 1)
    again = land_acknowledgements(AGENCY, [_ack("o-bad")])  # the claim went back with the quarantined row
    assert again.accepted == 1


def test_validation_errors_are_bounded() -> None:
    huge = "x" * 100_000
    errors = [{"type": "string_too_long", "loc": ("body", "acknowledgements", n, "order_id"), "msg": "too long",
               "input": huge, "ctx": {"max_length": 200}} for n in range(400_000)]
    shown = bounded_errors(errors)
    assert len(shown) == MAX_REPORTED_ERRORS
    assert all(len(str(entry["input"])) < MAX_ECHOED_CHARS + 40 for entry in shown)
    assert bounded_errors([{"type": "list_type", "loc": ("body",), "msg": "m", "input": [0] * 10**6}])[0][
        "input"] == "<list of 1000000 items>"


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    settings = ApiSettings(tokens=TokenStore.from_file(write_tokens(data_dir / "tokens.json")),
                           audit=AuditLog(data_dir / "audit.jsonl"),
                           consents=ConsentStore(data_dir / "consents.sqlite"))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_a_body_is_not_parsed_before_the_token_is_checked(client: TestClient) -> None:
    malformed = client.post("/consents", content=b'{"purpose": ', headers={"Content-Type": "application/json"})
    assert malformed.status_code == 401 and malformed.headers["www-authenticate"] == "Bearer"
    soap = client.post("/soap/acknowledgements", content=b"<not-xml")
    assert soap.status_code == 401 and b"Client.Authentication" in soap.content


def test_an_oversize_body_is_413_by_its_length_and_while_streaming(client: TestClient) -> None:
    token = {"Authorization": f"Bearer {TOKENS['person']}"}
    declared = client.post("/consents", content=b"{" + b" " * DEFAULT_BODY_LIMIT + b"}", headers=token)
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:
        for _ in range(DEFAULT_BODY_LIMIT // 1024 + 10):
            yield b" " * 1024

    streamed = client.post("/consents", content=chunks(), headers=token | {"Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_a_worker_claims_what_no_one_holds_and_the_api_then_refuses(data_dir: Path) -> None:
    """The API and a worker landing acknowledgements of the same orders: each order is won by one of them."""
    land_orders(["w-1", "w-2"], "orders-5")
    land_acknowledgements(AGENCY, [_ack("w-1")])  # the agency posted this one first
    claims = AcknowledgementClaims()
    worker = claims.claim_each(AGENCY, ["w-1", "w-2"], batch_id="cycle-7", partition=datetime.now(UTC).date())
    assert worker.order_ids == ("w-2",)
    claims.mark_landed(worker, worker.order_ids)
    with pytest.raises(RequestRejected) as refused:
        land_acknowledgements(AGENCY, [_ack("w-2")])
    assert refused.value.status_code == 409
