"""The ``anomaly_detection`` DAG, run for real by Airflow (``dag.test()``): an anomaly in the audit log reaches the
operators once however often the DAG runs; a task that fails raises ``task_failed`` through the DAGs'
``on_failure_callback``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from estelam.access.audit import AuditAction, AuditLog
from estelam.core.settings import Settings
from estelam.orchestration.in_process import load_dags, migrate_metadata_db, run_dag
from tests.notifications.conftest import Mailbox, Webhook
from tests.notifications.test_alerts import arrived, assert_once
from tests.notifications.test_delivery import national_code
from tests.settings_support import override


def test_the_anomaly_detection_dag_alerts_once_and_a_failed_task_alerts(
        operators: Settings, smtp_server: tuple[Mailbox, int], webhook: Webhook,
        monkeypatch: pytest.MonkeyPatch) -> None:
    mailbox, _ = smtp_server
    migrate_metadata_db()
    dag = load_dags()["anomaly_detection"]
    log = AuditLog()
    start = datetime.now(UTC) - timedelta(minutes=30)
    for i in range(25):
        log.record(actor="clerk-9", role="judge", action=AuditAction.REGISTRY_LOOKUP, purpose="curiosity",
                   person_id=national_code(f"2{i:02d}345678"[:9]), at=start + timedelta(seconds=60 * i))
    for _ in range(2):
        state, _, tasks = run_dag(dag)
        assert state == "success", tasks
    assert assert_once(mailbox, webhook, "anomaly").startswith("anomaly:clerk-9:")

    override(monkeypatch, signing_key="not-a-key")  # the record's key cannot be read: the task fails
    state, _, tasks = run_dag(dag)
    assert state == "failed" and tasks == {"detect": "failed"}, tasks
    alert_id = assert_once(mailbox, webhook, "task_failed")
    assert alert_id.startswith("task_failed:anomaly_detection.detect.")
    [(body, _)] = [(b, k) for b, k in webhook.received if b["kind"] == "task_failed"]
    assert "RecordError" in str(body["detail"]), body
    assert not arrived(mailbox, webhook, "audit_verification_failed")[0]
