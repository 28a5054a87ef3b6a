"""Each cause of an alert, injected for real, reaches the operators by e-mail (a loopback SMTP server) and the
webhook (a loopback HTTP server), once each, even when it is raised twice; every alert is recorded (``alerts``) and
listed to operators by ``GET /alerts``."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from estelam.access.audit import AuditAction, AuditLog
from estelam.access.auth import TokenStore
from estelam.access.consent import ConsentStore
from estelam.api import ApiSettings
from estelam.api.app import create_app
from estelam.cli.commands import app as cli_app
from estelam.contracts.registry import load_agency_registry
from estelam.core.settings import Settings
from estelam.freeze.checks import frozen_beyond_debt
from estelam.freeze.ledger import CaseFacts, HubView, LedgerState
from estelam.ingest.landing import read_landed, validate_and_land
from estelam.inquiry.rounds import InquiryTarget, raise_round_alerts, run_round
from estelam.outputs import alerts
from estelam.outputs.callbacks import on_task_failure
from tests.notifications.conftest import LOOPBACK, OPERATORS, Mailbox, Webhook, free_port
from tests.notifications.test_delivery import national_code


def arrived(mailbox: Mailbox, webhook: Webhook, kind: str) -> tuple[Counter[str], Counter[str]]:
    """Alert ids of ``kind`` received, by e-mail (subject lines carry the id in the body) and by the webhook."""
    mails = Counter(str(m["X-Idempotency-Key"]).strip().rsplit(".", 1)[0] for m in mailbox.messages
                    if str(m["X-Idempotency-Key"]).strip().startswith(f"{kind}:"))
    posts = Counter(str(body["alert_id"]) for body, _ in webhook.received if body["kind"] == kind)
    return mails, posts


def assert_once(mailbox: Mailbox, webhook: Webhook, kind: str) -> str:
    mails, posts = arrived(mailbox, webhook, kind)
    assert mails and set(mails.values()) == {1}, f"{kind} by e-mail: {mails}"
    assert posts == mails, f"{kind} by webhook: {posts} (e-mail: {mails})"
    for message in mailbox.messages:
        if str(message["X-Idempotency-Key"]).strip().startswith(f"{kind}:"):
            assert sorted(mailbox.recipients[mailbox.messages.index(message)]) == sorted(OPERATORS)
    recorded = [r for r in read_landed(alerts.FEED) if r["kind"] == kind and r["state"] == "delivered"]
    assert Counter((r["alert_id"], r["channel"]) for r in recorded) == Counter(
        {(a, ch): 1 for a in mails for ch in ("email", "webhook")})
    return next(iter(mails))


def test_a_failed_task_alerts_once(operators: Settings, smtp_server: tuple[Mailbox, int], webhook: Webhook) -> None:
    mailbox, _ = smtp_server
    ti = SimpleNamespace(dag_id="warehouse_build", task_id="dbt_build", run_id="scheduled__2026-11-30", try_number=1)
    context = {"task_instance": ti, "exception": RuntimeError("dbt build failed (3 nodes)")}
    on_task_failure(context)
    on_task_failure(context)  # the callback fired twice for the same try
    alert_id = assert_once(mailbox, webhook, "task_failed")
    assert "warehouse_build.dbt_build" in alert_id
    [(body, key)] = [(b, k) for b, k in webhook.received if b["kind"] == "task_failed"]
    assert key == f"{alert_id}.webhook" and "dbt build failed" in str(body["detail"]) and body["severity"] == "critical"


def test_an_agency_past_its_deadline_with_its_breaker_open_alerts_once(
        operators: Settings, smtp_server: tuple[Mailbox, int], webhook: Webhook) -> None:
    mailbox, _ = smtp_server
    bank = replace(load_agency_registry().instance("bank_saderat"), endpoint=f"http://{LOOPBACK}:{free_port()}",
                   timeout_s=1.0)  # nothing listens there: every call is refused
    targets = [InquiryTarget(national_code(f"00{i}123456"), f"1403-00000{i}") for i in range(1, 4)]
    for _ in range(2):  # the round, then the same round rerun (what the DAG's task does after each)
        summary = run_round(bank, targets, round_id="r1", today=date(2026, 11, 30), inquiry_batch_size=1)
        assert summary.deadline_missed == len(targets)
        raise_round_alerts(summary, round_id="r1")
    missed = assert_once(mailbox, webhook, "agency_deadline_missed")
    assert missed == "agency_deadline_missed:bank_saderat:r1"
    assert assert_once(mailbox, webhook, "breaker_open") == "breaker_open:bank_saderat:r1"


def test_money_frozen_beyond_a_debt_at_a_cycle_end_alerts_once(
        operators: Settings, smtp_server: tuple[Mailbox, int], webhook: Webhook) -> None:
    mailbox, _ = smtp_server
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    person, fine = national_code("005678912"), national_code("006789123")
    view = HubView([CaseFacts("1403-000001", person, "natural", t0, 1_000, True),
                    CaseFacts("1403-000002", person, "natural", t0, 500, False),  # closed: nothing owed
                    CaseFacts("1403-000003", fine, "natural", t0, 900, True)], [])
    state = LedgerState(held={("1403-000001", "bank_melli", "IR1"): 1_000, ("1403-000002", "bank_mellat", "IR2"): 300,
                              ("1403-000003", "bank_melli", "IR3"): 900})
    excess = frozen_beyond_debt(view, state)
    assert excess == {person: (1_300, 1_000)}
    for cycle in ("c1", "c2"):  # seen at the end of two cycles: one alert
        alerts.raise_alerts(alerts.frozen_beyond_debt_alerts(excess, cycle_id=cycle))
    assert_once(mailbox, webhook, "frozen_beyond_debt")
    assert not any(person in json.dumps(body) for body, _ in webhook.received), "the debtor is not named"


def test_a_broken_audit_log_and_an_anomaly_alert_once(
        operators: Settings, smtp_server: tuple[Mailbox, int], webhook: Webhook) -> None:
    mailbox, _ = smtp_server
    log = AuditLog()
    start = datetime.now(UTC) - timedelta(minutes=30)
    for i in range(25):  # one user looks at 25 unrelated persons within half an hour
        log.record(actor="clerk-7", role="judge", action=AuditAction.REGISTRY_LOOKUP, purpose="curiosity",
                   person_id=national_code(f"1{i:02d}4567890"[:9]), at=start + timedelta(seconds=60 * i))
    for _ in range(2):  # the anomaly_detection DAG's task, run twice
        alerts.raise_alerts(alerts.audit_alerts())
    assert assert_once(mailbox, webhook, "anomaly").startswith("anomaly:clerk-7:")
    assert not arrived(mailbox, webhook, "audit_verification_failed")[0], "an intact log raises nothing"

    path = operators.data_dir / "audit" / "audit.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[3])
    entry["purpose"] = "enforcement"  # an entry edited after the fact
    path.write_text("\n".join([*lines[:3], json.dumps(entry), *lines[4:]]) + "\n", encoding="utf-8")
    for _ in range(2):
        result = CliRunner().invoke(cli_app, ["audit", "verify", "--no-messages"])
        assert result.exit_code == 1, result.output
    assert assert_once(mailbox, webhook, "audit_verification_failed").startswith("audit_verification_failed:audit:")
    [(body, _)] = [(b, k) for b, k in webhook.received if b["kind"] == "audit_verification_failed"]
    assert "entry 4" in str(body["detail"]) and "edited" in str(body["detail"])


def test_operators_list_alerts_with_their_deliveries(operators: Settings, smtp_server: tuple[Mailbox, int],
                                                    webhook: Webhook) -> None:
    alerts.raise_alerts([alerts.Alert("breaker_open", "bank_melli:r9", "critical", "bank_melli: breaker open",
                                      "after round r9", agency_id="bank_melli")])
    tokens = TokenStore.from_config({"tokens": [{"token": "t-aud", "subject": "inspector", "role": "auditor"},
                                                {"token": "t-stat", "subject": "stat", "role": "statistician"}]})
    data = operators.data_dir
    app = create_app(ApiSettings(tokens=tokens, audit=AuditLog(data / "audit" / "audit.jsonl"),
                                 consents=ConsentStore(data / "consents" / "consents.sqlite")))
    with TestClient(app) as client:
        assert client.get("/alerts", headers={"Authorization": "Bearer t-stat"}).status_code == 403
        served = client.get("/alerts", headers={"Authorization": "Bearer t-aud"})
    assert served.status_code == 200, served.text
    [alert] = served.json()["alerts"]
    assert alert["alert_id"] == "breaker_open:bank_melli:r9" and alert["agency_id"] == "bank_melli"
    assert {ch: d["state"] for ch, d in alert["deliveries"].items()} == {"email": "delivered", "webhook": "delivered"}


def test_an_agency_past_its_deadline_on_a_cases_order_alerts_once_about_that_case(
        operators: Settings, smtp_server: tuple[Mailbox, int], webhook: Webhook) -> None:
    """Orders sent to a bank: one late and unacknowledged, one acknowledged after its deadline, one withdrawn, one
    still within its deadline. Only the first raises an alert, once, naming the agency and the case."""
    mailbox, _ = smtp_server
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    person = national_code("007891234")

    def order(order_id: str, case_id: str, deadline: datetime, status: str = "pending") -> dict[str, object]:
        return {"order_id": order_id, "cycle_id": "c1", "kind": "freeze", "case_id": case_id, "person_id": person,
                "agency_id": "bank_melli", "asset_kind": "bank_account", "asset_ref": f"IR{order_id}",
                "amount_rial": 1_000, "restriction_type": None, "version": 0, "reason_code": "new_freeze",
                "confidential": False, "first_issued_at": deadline - timedelta(seconds=30), "deadline_at": deadline,
                "issued_at": deadline - timedelta(seconds=30), "delivery": "delivered", "status": status,
                "reason": None, "message_id": None}

    past, later = now - timedelta(hours=2), now + timedelta(hours=2)
    validate_and_land("freeze_orders", [order("o-late", "1405-000021", past), order("o-acked", "1405-000022", past),
                                        order("o-withdrawn", "1405-000023", past, "withdrawn"),
                                        order("o-due", "1405-000024", later)], batch_id="orders", partition=now.date())
    validate_and_land("freeze_acknowledgements", [
        {"order_id": "o-acked", "order_kind": "freeze", "agency_id": "bank_melli", "case_id": "1405-000022",
         "asset_ref": "IRo-acked", "status": "done", "acknowledged_amount_rial": 1_000, "frozen_total_rial": 1_000,
         "acknowledged_at": now, "reason": None}], batch_id="acks", partition=now.date())
    for _ in range(2):  # the daily check, run twice
        found = alerts.late_order_alerts(now=now)
        assert [(a.case_id, a.agency_id) for a in found] == [("1405-000021", "bank_melli")]
        alerts.raise_alerts(found)
    alert_id = assert_once(mailbox, webhook, "agency_deadline_missed")
    assert alert_id == "agency_deadline_missed:bank_melli:case:1405-000021:o-late"
    assert [a["alert_id"] for a in alerts.about_case("1405-000021")] == [alert_id]
    assert alerts.about_case("1405-000022") == []
