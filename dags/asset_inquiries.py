"""Ask every partner agency about the debtors of open cases.

One mapped task per agency instance of ``contracts/agencies.yaml``; each asks
its agency about the debtors with no fresh answer, then lands the answers and
the inquiry log (every inquiry ends answered, rejected or failed, with a reason),
each batch judged by the feed contract's compiled rules. The last task has Great
Expectations audit every batch the rounds landed, one suite run per feed (a
batch GX judges differently is landed again as GX judged it, and the task fails
where it is seen and an alert is raised); it runs whatever the rounds' outcome,
as a teardown, so the run's state stays the rounds' own, and only then are the
answers announced to the warehouse build.
"""

import pendulum
from airflow.sdk import dag, get_current_context, task

from estelam.orchestration.airflow_assets import INQUIRY_ANSWERS
from estelam.orchestration.pools import TASK_TIMEOUTS, WAREHOUSE_POOL
from estelam.outputs.callbacks import on_task_failure


@dag(
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"execution_timeout": TASK_TIMEOUTS["asset_inquiries"], "on_failure_callback": on_task_failure},
    tags=["estelam", "inquiries"],
    doc_md=__doc__,
)
def asset_inquiries() -> None:
    @task
    def agencies() -> list[str]:
        from estelam.inquiry.rounds import agencies_to_ask

        return agencies_to_ask()

    @task(multiple_outputs=False, pool=WAREHOUSE_POOL)  # reads the warehouse: never during a build
    def inquire(agency_id: str) -> dict[str, object]:
        from estelam.core.keys import safe_batch_id
        from estelam.inquiry.rounds import inquire_agency

        return inquire_agency(agency_id, round_id=safe_batch_id(get_current_context()["run_id"]))

    @task(outlets=[INQUIRY_ANSWERS])
    def audit_answers() -> list[dict[str, object]]:
        from estelam.inquiry.rounds import audit_rounds

        return audit_rounds()

    # a teardown: it audits what every round landed, failed or not
    inquire.expand(agency_id=agencies()) >> audit_answers().as_teardown()


asset_inquiries()
