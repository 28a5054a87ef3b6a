"""The serving API: every role against every endpoint, and the flows behind them (consent, acknowledgements, audit)."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from typer.testing import CliRunner

from estelam.access.audit import AuditEntry, AuditLog
from estelam.access.message_log import MessageLog
from estelam.api import create_app
from estelam.cli import app as estelam_cli
from estelam.contracts import registry as contracts
from estelam.core.settings import contracts_dir
from estelam.freeze.acknowledgements import orders_of
from estelam.freeze.ledger import ORDERS_FEED
from estelam.ingest.landing import read_landed, validate_and_land
from tests.api.api_harness import PUBLIC_SUBJECT, TOKENS, DemoFacts, auth, copy_demo, demo_facts
from tests.settings_support import override

ROLES = [None, *TOKENS]


@pytest.fixture(scope="module")
def facts(demo_cycle: Any, tmp_path_factory: pytest.TempPathFactory) -> DemoFacts:
    data = copy_demo(demo_cycle.data_dir, tmp_path_factory.mktemp("api-data"))
    with pytest.MonkeyPatch.context() as mp:
        override(mp, data_dir=data)
        return demo_facts(data)


@pytest.fixture
def client(facts: DemoFacts, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    override(monkeypatch, data_dir=facts.data_dir)
    with TestClient(create_app(facts.settings())) as test_client:
        yield test_client


# role -> expected status; roles not named get `default`
def _expect(default: int, **by_role: int) -> dict[str | None, int]:
    expected: dict[str | None, int] = dict.fromkeys(TOKENS, default)
    expected[None] = 401
    expected.update(by_role)
    return expected


ENDPOINTS: dict[str, tuple[str, str, dict[str | None, int]]] = {
    # a judge refused a case gets the missing case's 404: existence does not leak (other roles: 403 by role)
    "asset report": ("GET", "/cases/{case_id}/asset-report", _expect(403, judge=200, judge_named=200,
                                                                     judge_other=404)),
    "asset report html": ("GET", "/cases/{case_id}/asset-report?format=html&lang=en",
                          _expect(403, judge=200, judge_named=200, judge_other=404)),
    "confidential asset report": ("GET", "/cases/{confidential_case_id}/asset-report",
                                  _expect(403, judge_named=200, judge=404, judge_other=404)),
    "unknown case": ("GET", "/cases/1399-000000/asset-report", _expect(403, judge=404, judge_named=404,
                                                                         judge_other=404)),
    "on-demand inquiry": ("POST", "/persons/{person_id}/inquiries", _expect(403, judge=200, judge_named=200,
                                                                              judge_other=404)),
    "directive": ("POST", "/cases/{case_id}/directives", _expect(403, judge=201, judge_named=201, judge_other=404)),
    "own orders": ("GET", "/agencies/{agency_id}/orders", _expect(403, agency=200)),
    "another agency's orders": ("GET", "/agencies/{other_agency_id}/orders", _expect(403, agency_other=200)),
    "own acknowledgements": ("GET", "/agencies/{agency_id}/acknowledgements", _expect(403, agency=200)),
    "post acknowledgements": ("POST", "/agencies/{agency_id}/acknowledgements", _expect(403, agency=422)),
    "issue consent": ("POST", "/consents", _expect(403, person=201)),
    "registry lookup": ("GET", "/registry/{person_id}?consent={consent}&purpose=loan", _expect(403, public=200)),
    "access log": ("GET", "/me/access-log", _expect(403, person=200)),
    "central-bank feed": ("GET", "/central-bank/feed?format=csv", _expect(403, central_bank=200)),
    "kpi manifest": ("GET", "/kpis", _expect(403, statistician=200)),
    "kpi mart": ("GET", "/kpis/kpi_freezes", _expect(403, statistician=200)),
    "fugitive lookup": ("GET", "/fugitives/{person_id}?purpose=border check", _expect(403, police=200)),
    "fugitives list": ("GET", "/fugitives?purpose=border check", _expect(403, police=200)),
    "health": ("GET", "/health", dict.fromkeys(ROLES, 200)),
}

BODIES: dict[str, dict[str, Any]] = {
    "on-demand inquiry": {"case_id": "{case_id}", "purpose": "enforcement"},
    # an order this agency never received: past authorisation, refused as 422
    "post acknowledgements": {"acknowledgements": [{
        "order_id": "no-such-order", "status": "done", "acknowledged_amount_rial": 1, "frozen_total_rial": 1,
        "acknowledged_at": "2026-01-01T00:00:00Z"}]},
    "issue consent": {"requester": PUBLIC_SUBJECT, "purpose": "loan"},
    "directive": {"kind": "release", "note": "role matrix"},
}


def _fill(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "anonymous")
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_role_matrix(client: TestClient, facts: DemoFacts, endpoint: str, role: str | None) -> None:
    method, template, expected = ENDPOINTS[endpoint]
    consent = client.app.state.api_settings.consents.issue(  # type: ignore[attr-defined]
        facts.person_id, requester=PUBLIC_SUBJECT, purpose="loan").code
    names = {"case_id": facts.case_id, "confidential_case_id": facts.confidential_case_id,
             "person_id": facts.person_id, "agency_id": facts.agency_id, "other_agency_id": facts.other_agency_id,
             "consent": consent}
    body = _fill(BODIES.get(endpoint), names)
    response = client.request(method, _fill(template, names), headers=auth(role), json=body)
    assert response.status_code == expected[role], response.text
    if response.status_code == 401:
        assert response.headers["www-authenticate"] == "Bearer"


def test_the_openapi_document_declares_bearer_auth_and_every_endpoint(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["bearerAuth"][
            "description"]}
    assert {"/cases/{case_id}/asset-report", "/persons/{person_id}/inquiries", "/agencies/{agency_id}/orders",
            "/agencies/{agency_id}/acknowledgements", "/consents", "/registry/{person_id}", "/me/access-log",
            "/central-bank/feed", "/kpis/{mart}", "/cases/{case_id}/directives", "/fugitives/{person_id}", "/fugitives",
            "/health"} <= set(spec["paths"])


def test_asset_report_json_is_the_case_and_the_view_is_audited(client: TestClient, facts: DemoFacts) -> None:
    response = client.get(f"/cases/{facts.case_id}/asset-report?purpose=hearing", headers=auth("judge"))
    report = response.json()
    assert report["case"]["case_id"] == facts.case_id and report["case"]["person_id"] == facts.person_id
    last = list(AuditLog(facts.data_dir / "audit" / "audit.jsonl").entries())[-1]
    assert (last.actor, last.action, last.purpose, last.case_id, last.person_id) == (
        "judge-a", "report_view", "hearing", facts.case_id, facts.person_id)


def test_asset_report_pdf(client: TestClient, facts: DemoFacts) -> None:
    response = client.get(f"/cases/{facts.case_id}/asset-report?format=pdf&lang=en", headers=auth("judge"))
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert response.headers["content-type"] == "application/pdf"


def test_an_inquiry_for_someone_not_the_cases_debtor_is_refused(client: TestClient, facts: DemoFacts) -> None:
    response = client.post("/persons/0012345679/inquiries", json={"case_id": facts.case_id, "purpose": "x"},
                           headers=auth("judge"))
    assert response.status_code == 403
    calls = len(facts.inquiries)
    ok = client.post(f"/persons/{facts.person_id}/inquiries", json={"case_id": facts.case_id}, headers=auth("judge"))
    assert ok.status_code == 200 and ok.json()["person_id"] == facts.person_id
    assert facts.inquiries[calls:] == [{"person_id": facts.person_id, "case_id": facts.case_id}]


def test_consent_flow_lookup_once_and_the_person_sees_who_looked(client: TestClient, facts: DemoFacts) -> None:
    issued = client.post("/consents", json={"requester": PUBLIC_SUBJECT, "purpose": "lease", "ttl_seconds": 60},
                         headers=auth("person"))
    assert issued.status_code == 201
    code = issued.json()["code"]
    url = f"/registry/{facts.person_id}?consent={code}&purpose="
    wrong = client.get(url + "marketing", headers=auth("public"))
    assert wrong.status_code == 403 and "lease" not in wrong.text  # bound to "lease", which stays unsaid
    assert client.get(url + "lease", headers=auth("public")).status_code == 403  # and the wrong use burned it
    issued = client.post("/consents", json={"requester": PUBLIC_SUBJECT, "purpose": "lease", "ttl_seconds": 60},
                         headers=auth("person"))
    url = f"/registry/{facts.person_id}?consent={issued.json()['code']}&purpose="
    answer = client.get(url + "lease", headers=auth("public"))
    assert answer.status_code == 200
    assert answer.json()["person_id"] == facts.person_id and "listed" in answer.json()
    assert "person_name" not in answer.json()
    assert client.get(url + "lease", headers=auth("public")).status_code == 403  # single use
    looked = client.get("/me/access-log", headers=auth("person")).json()
    lookups = [(e["actor"], e["purpose"], e["outcome"]) for e in looked if e["action"] == "registry_lookup"]
    assert ("business-7", "lease", "allowed") in lookups and ("business-7", "marketing", "refused") in lookups


def _pending_order(facts: DemoFacts, suffix: str) -> str:
    """Land an unacknowledged order for the agency (as a cycle whose delivery failed would)."""
    row = dict(next(r for r in read_landed(ORDERS_FEED) if r["agency_id"] == facts.agency_id))
    row = {name: row[name] for name in contracts.feed(ORDERS_FEED).column_names}
    row.update(order_id=f"test-order-{suffix}", cycle_id=f"test-cycle-{suffix}", delivery="failed",
               status="pending", reason="agency unreachable")
    landed = validate_and_land(ORDERS_FEED, [row], batch_id=f"test-{suffix}", partition=date.today())
    assert landed.valid_rows == 1, landed.reasons
    return str(row["order_id"])


def test_posted_acknowledgements_land_for_the_next_cycle(client: TestClient, facts: DemoFacts) -> None:
    order_id = _pending_order(facts, "rest")
    body = {"acknowledgements": [{"order_id": order_id, "status": "partial", "acknowledged_amount_rial": 500,
                                  "frozen_total_rial": 500, "acknowledged_at": "2026-03-01T10:00:00",
                                  "reason": "balance short"}]}
    url = f"/agencies/{facts.agency_id}/acknowledgements"
    posted = client.post(url, json=body, headers=auth("agency"))
    assert posted.status_code == 201, posted.text
    assert posted.json()["accepted"] == 1 and posted.json()["quarantined"] == 0
    landed = [a for a in client.get(url, headers=auth("agency")).json() if a["order_id"] == order_id]
    order = next(o for o in orders_of(facts.agency_id) if o["order_id"] == order_id)
    assert landed == [{"order_id": order_id, "order_kind": order["kind"], "case_id": order["case_id"],
                       "asset_ref": order["asset_ref"], "status": "partial", "acknowledged_amount_rial": 500,
                       "frozen_total_rial": 500, "acknowledged_at": "2026-03-01T10:00:00+00:00",
                       "reason": "balance short"}]
    assert client.post(url, json=body, headers=auth("agency")).status_code == 409  # once only
    other = client.post(f"/agencies/{facts.other_agency_id}/acknowledgements", json=body,
                        headers=auth("agency_other"))
    assert other.status_code == 422  # not an order sent to that agency


def _envelope(agency_id: str, order_id: str) -> bytes:
    """An AcknowledgeOrders request built by zeep from the published WSDL (proves the contract is usable)."""
    import zeep

    client = zeep.Client(str(contracts_dir() / "agencies" / "hub_acknowledgements.wsdl"))
    message = client.create_message(client.service, "AcknowledgeOrders", agencyId=agency_id, acknowledgement=[{
        "orderId": order_id, "status": "done", "acknowledgedAmountRial": 700, "frozenTotalRial": 700,
        "acknowledgedAt": datetime(2026, 3, 2, 9, 30, tzinfo=UTC)}])
    return etree.tostring(message)  # type: ignore[no-any-return]


def test_soap_acknowledgements_land_like_rest_ones(client: TestClient, facts: DemoFacts) -> None:
    order_id = _pending_order(facts, "soap")
    envelope = _envelope(facts.agency_id, order_id)
    headers = {"Content-Type": "text/xml; charset=utf-8"}
    assert client.post("/soap/acknowledgements", content=envelope, headers=headers).status_code == 401
    for role in ("judge", "public", "agency_other"):
        refused = client.post("/soap/acknowledgements", content=envelope, headers=headers | auth(role))
        assert refused.status_code == 403 and b"Client.Authentication" in refused.content
    answered = client.post("/soap/acknowledgements", content=envelope, headers=headers | auth("agency"))
    assert answered.status_code == 200, answered.text
    root = etree.fromstring(answered.content)
    assert root.findtext(".//{urn:estelam:hub:acknowledgements:v1}accepted") == "1"
    landed = client.get(f"/agencies/{facts.agency_id}/acknowledgements", headers=auth("agency")).json()
    assert [a["acknowledged_amount_rial"] for a in landed if a["order_id"] == order_id] == [700]
    again = client.post("/soap/acknowledgements", content=envelope, headers=headers | auth("agency"))
    assert again.status_code == 500 and b"already acknowledged" in again.content


@pytest.mark.parametrize("document", [
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    b"<not-xml",
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>',
])
def test_soap_refuses_unsafe_or_malformed_documents(client: TestClient, facts: DemoFacts, document: bytes) -> None:
    response = client.post("/soap/acknowledgements", content=document, headers=auth("agency"))
    assert response.status_code == 500 and b"soap:Client" in response.content


def test_the_wsdl_is_served_with_the_configured_address(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, api_public_url="https://hub.example.ir/")
    wsdl = client.get("/soap/acknowledgements?wsdl", headers={"Host": "evil.example"})
    assert wsdl.status_code == 200
    assert b'location="https://hub.example.ir/soap/acknowledgements"' in wsdl.content
    assert b"evil.example" not in wsdl.content and b"testserver" not in wsdl.content


def test_central_bank_feed_is_bulk_or_incremental(client: TestClient, facts: DemoFacts) -> None:
    headers = auth("central_bank")
    full = pq.read_table(io.BytesIO(client.get("/central-bank/feed", headers=headers).content))
    assert full.num_rows > 0 and "person_name" not in full.column_names and "changed_at" in full.column_names
    cutoff = sorted(full.column("changed_at").to_pylist())[full.num_rows // 2].date()
    since = pq.read_table(io.BytesIO(client.get(f"/central-bank/feed?since={cutoff}", headers=headers).content))
    assert 0 < since.num_rows < full.num_rows
    assert all(t.date() >= cutoff for t in since.column("changed_at").to_pylist())
    future = client.get("/central-bank/feed?since=2999-01-01&format=csv", headers=headers)
    assert future.headers["content-type"].startswith("text/csv") and future.text.count("\n") == 1  # header only


def test_statisticians_get_published_aggregates_only(client: TestClient) -> None:
    rows = client.get("/kpis/kpi_freezes", headers=auth("statistician")).json()
    assert rows and "person_id" not in rows[0]
    assert client.get("/kpis/persons", headers=auth("statistician")).status_code == 404  # not a published mart


def test_the_api_audit_log_verifies_and_tampering_is_found(client: TestClient, facts: DemoFacts,
                                                           tmp_path: Path) -> None:
    client.get(f"/cases/{facts.case_id}/asset-report", headers=auth("judge"))
    log_path = facts.data_dir / "audit" / "audit.jsonl"
    assert CliRunner().invoke(estelam_cli, ["audit", "verify", "--log", str(log_path)]).exit_code == 0
    copy = tmp_path / "audit.jsonl"
    lines = log_path.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace('"judge-a"', '"judge-z"', 1) if '"judge-a"' in lines[0] else lines[0].replace(
        '"allowed"', '"refused"', 1)
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert CliRunner().invoke(estelam_cli, ["audit", "verify", "--log", str(copy)]).exit_code == 1


# --- the record: refusals audited, checkpoints served, bodies for auditors ---------------------------------


def _refusals(facts: DemoFacts, since: int) -> list[AuditEntry]:
    return [e for e in AuditLog(facts.data_dir / "audit" / "audit.jsonl").entries()
            if e.seq > since and e.outcome == "refused"]


def _last_seq(facts: DemoFacts) -> int:
    return AuditLog(facts.data_dir / "audit" / "audit.jsonl").head()[0]


@pytest.mark.parametrize("kind", ["bad token", "no token", "role", "another agency's orders",
                                  "unknown order", "repeated acknowledgement", "another agency's order"])
def test_every_refused_request_is_audited_with_its_reason(client: TestClient, facts: DemoFacts, kind: str) -> None:
    acks = f"/agencies/{facts.agency_id}/acknowledgements"
    ack = {"status": "done", "acknowledged_amount_rial": 1, "frozen_total_rial": 1,
           "acknowledged_at": "2026-03-01T10:00:00"}
    if kind == "repeated acknowledgement":
        order_id = _pending_order(facts, "audited-repeat")
        assert client.post(acks, json={"acknowledgements": [ack | {"order_id": order_id}]},
                           headers=auth("agency")).status_code == 201
    since = _last_seq(facts)
    if kind == "bad token":
        response = client.get(f"/cases/{facts.case_id}/asset-report", headers={"Authorization": "Bearer stolen-xyz"})
    elif kind == "no token":
        response = client.get(f"/agencies/{facts.agency_id}/orders")
    elif kind == "role":
        response = client.get(f"/cases/{facts.case_id}/asset-report", headers=auth("statistician"))
    elif kind == "another agency's orders":
        response = client.get(f"/agencies/{facts.agency_id}/orders", headers=auth("agency_other"))
    elif kind == "unknown order":
        response = client.post(acks, json={"acknowledgements": [ack | {"order_id": "no-such-order"}]},
                               headers=auth("agency"))
    elif kind == "repeated acknowledgement":
        response = client.post(acks, json={"acknowledgements": [ack | {"order_id": order_id}]},
                               headers=auth("agency"))
    else:
        order_id = _pending_order(facts, "audited-foreign")
        response = client.post(f"/agencies/{facts.other_agency_id}/acknowledgements",
                               json={"acknowledgements": [ack | {"order_id": order_id}]},
                               headers=auth("agency_other"))
    assert response.status_code in (401, 403, 409, 422), response.text
    (entry,) = _refusals(facts, since)
    assert entry.detail["status"] == response.status_code
    assert entry.detail["reason"] and entry.detail["reason"] in response.json()["detail"]
    assert "stolen-xyz" not in json.dumps(entry.as_dict())  # never the token
    other_agency = f"agency-{facts.other_agency_id}"
    expected_actor = {"bad token": "anonymous", "no token": "anonymous", "role": "stat-1",
                      "another agency's orders": other_agency,
                      "another agency's order": other_agency}.get(kind, f"agency-{facts.agency_id}")
    assert entry.actor == expected_actor


def test_the_checkpoint_is_served_to_anyone_and_holds_the_hub_to_its_log(client: TestClient, facts: DemoFacts,
                                                                         tmp_path: Path) -> None:
    client.get(f"/cases/{facts.case_id}/asset-report", headers=auth("judge"))
    served = client.get("/audit/checkpoint")
    assert served.status_code == 200
    document = served.json()
    audit = document["checkpoints"]["audit"]
    assert audit["entries"] == _last_seq(facts) and document["algorithm"] == "Ed25519"
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps(audit))
    command = ["audit", "verify", "--checkpoint", str(kept), "--public-key", document["public_key"]]
    assert CliRunner().invoke(estelam_cli, command).exit_code == 0
    log = facts.data_dir / "audit" / "audit.jsonl"
    original = log.read_bytes()
    try:
        log.write_bytes(b"".join(original.splitlines(keepends=True)[:-1]))  # the hub's last entry removed
        result = CliRunner().invoke(estelam_cli, command)
        assert result.exit_code == 1 and "were removed" in result.output
    finally:
        log.write_bytes(original)


def test_message_bodies_are_for_auditors_and_match_their_hashes(client: TestClient, facts: DemoFacts) -> None:
    logged = next(m for m in MessageLog().messages() if m.body is not None)
    url = f"/audit/messages/{logged.message_id}/{logged.direction}"
    assert client.get(url, headers=auth("judge")).status_code == 403
    body = client.get(url, headers=auth("auditor"))
    assert body.status_code == 200
    assert hashlib.sha256(body.content).hexdigest() == logged.sha256
    read = [e for e in AuditLog(facts.data_dir / "audit" / "audit.jsonl").entries() if e.action == "message_read"]
    assert read[-1].actor == "inspector-1" and read[-1].detail["message_id"] == logged.message_id


def _revealed_small_counts(rows: list[dict[str, Any]], counts: list[str], threshold: int) -> list[tuple[str, Any]]:
    return [(c, r[c]) for r in rows for c in counts
            if r.get(c) not in (None, "") and 0 < float(r[c]) < threshold]


def test_no_served_or_open_kpi_cell_reveals_a_small_count(client: TestClient) -> None:
    from estelam.warehouse.published import disclosure_of, published_dir

    threshold = 5
    marts = sorted(client.get("/kpis", headers=auth("statistician")).json()["rows"])
    index = client.get("/open/kpis").json()  # no token
    assert sorted(index["files"]) == marts and index["suppressed_below"] == threshold
    for mart in marts:
        counts = list(disclosure_of(mart).counts)
        raw = pq.read_table(published_dir() / f"{mart}.parquet").to_pylist()
        served = client.get(f"/kpis/{mart}", headers=auth("statistician")).json()
        opened = client.get(f"/open/kpis/{mart}").json()
        assert len(served) == len(opened) == len(raw)
        assert _revealed_small_counts(served, counts, threshold) == []
        assert _revealed_small_counts(opened, counts, threshold) == []
        csv_text = client.get(f"/open/kpis/{mart}", params={"format": "csv"}).text
        assert csv_text.splitlines()[0].split(",") == list(raw[0]) if raw else True
        for row in opened:
            for column, value in row.items():
                if column.endswith("_rial") and value not in (None, ""):
                    assert float(value) % 1_000_000 == 0
    small = [r for mart in marts for r in _revealed_small_counts(
        pq.read_table(published_dir() / f"{mart}.parquet").to_pylist(), list(disclosure_of(mart).counts), threshold)]
    assert small, "the demo's raw snapshot has small counts: the test would prove nothing without them"
    assert client.get("/open/kpis/no_such_mart").status_code == 404
    assert client.get("/open/kpis/..%2Fmanifest").status_code in (404, 405)  # only files that exist: never a path


# --- directives -------------------------------------------------------------------------------------


def test_a_judge_directs_collection_and_it_is_landed_and_audited(client: TestClient, facts: DemoFacts) -> None:
    from estelam.ingest.landing import read_landed

    response = client.post(f"/cases/{facts.case_id}/directives", headers=auth("judge"),
                           json={"kind": "release", "amount_rial": 1_000, "note": "decision 7/1405"})
    assert response.status_code == 201, response.text
    directive_id = response.json()["directive_id"]
    (row,) = [r for r in read_landed("case_directives") if r["directive_id"] == directive_id]
    assert (row["case_id"], row["directive"], row["amount_rial"], row["issued_by"], row["source"]) == (
        facts.case_id, "release", 1_000, "judge-a", "api")
    last = list(AuditLog(facts.data_dir / "audit" / "audit.jsonl").entries())[-1]
    assert (last.action, last.outcome, last.actor, last.detail["directive_id"]) == (
        "directive", "allowed", "judge-a", directive_id)


def test_a_judge_of_another_court_gets_the_missing_cases_answer(client: TestClient, facts: DemoFacts) -> None:
    theirs = client.post(f"/cases/{facts.case_id}/directives", headers=auth("judge_other"), json={"kind": "release"})
    missing = client.post("/cases/1399-000000/directives", headers=auth("judge_other"), json={"kind": "release"})
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["detail"].replace(facts.case_id, "X") == missing.json()["detail"].replace("1399-000000", "X")
    refused = [e for e in AuditLog(facts.data_dir / "audit" / "audit.jsonl").entries()
               if e.action == "directive" and e.actor == "judge-z" and e.case_id == facts.case_id]
    assert refused and refused[-1].outcome == "refused" and "reason" in refused[-1].detail


@pytest.mark.parametrize("role", ["person", "public", "agency", "statistician"])
def test_parties_and_other_roles_may_not_direct(client: TestClient, facts: DemoFacts, role: str) -> None:
    response = client.post(f"/cases/{facts.case_id}/directives", headers=auth(role), json={"kind": "collect"})
    assert response.status_code == 403


@pytest.mark.parametrize(("body", "says"), [
    ({"kind": "release", "amount_rial": 0}, "positive"),
    ({"kind": "restrict_vehicle", "restriction_type": "seizure", "asset_ref": "IR" + "0" * 100}, "not a vehicle"),
    ({"kind": "cancel_order", "order_id": "no-such-order"}, "has no freeze order"),
    ({"kind": "confidential"}, "names the users"),
    ({"kind": "no_such_kind"}, ""),
    ({"kind": "release", "note": "x" * 5_000}, ""),
])
def test_a_bad_directive_is_a_422_with_a_bounded_reason(client: TestClient, facts: DemoFacts,
                                                        body: dict[str, Any], says: str) -> None:
    response = client.post(f"/cases/{facts.case_id}/directives", headers=auth("judge"), json=body)
    assert response.status_code == 422, response.text
    assert says in str(response.json()["detail"]) and len(response.text) < 2_000
