"""Watch the record: every day, verify the audit and message logs' chains and signatures and flag users who looked
at many unrelated persons, and agencies past their deadline on a case's orders; each finding is an alert to the
operators (e-mail and webhook) raised once, and one about a case shows on its page in the portal.

Also delivers alerts an earlier run left queued (a crash, a channel down).
"""

import pendulum
from airflow.sdk import dag, task

from estelam.orchestration.pools import TASK_TIMEOUTS
from estelam.outputs.callbacks import on_task_failure


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"execution_timeout": TASK_TIMEOUTS["anomaly_detection"], "on_failure_callback": on_task_failure},
    tags=["estelam", "audit", "alerts"],
    doc_md=__doc__,
)
def anomaly_detection() -> None:
    @task(multiple_outputs=False)
    def detect() -> dict[str, int]:
        from estelam.outputs import alerts

        pending = alerts.deliver_pending()
        found = alerts.audit_alerts() + alerts.late_order_alerts()
        report = alerts.raise_alerts(found)
        return {"found": len(found), "raised": len(report.raised), "duplicates": report.duplicates,
                "pending_delivered": len(pending.raised)}

    detect()


anomaly_detection()
