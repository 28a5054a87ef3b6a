"""Ask every partner agency about the debtors of open cases.

The first task brings the inquiry targets up to date (the court's new cases and
payments, the last answers: a dbt build of their lineage only) and writes down
the round's plan: whom each agency is asked about. Then one mapped task per
agency instance of ``contracts/agencies.yaml`` with anyone to ask about (agencies
with few inquiries share a task: estelam.inquiry.rounds.task_groups); each asks
its agencies about those debtors, then lands the answers and the inquiry log
(every inquiry ends answered, rejected or failed, with a reason),
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
from estelam.orchestration.pools import TASK_TIMEOUTS, WAREHOUSE_POOL, WAREHOUSE_WRITER_SLOTS
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
    # builds the inquiry targets' lineage first: it writes the warehouse
    @task(pool=WAREHOUSE_POOL, pool_slots=WAREHOUSE_WRITER_SLOTS)
    def plan_round() -> list[list[str]]:
        from estelam.core.keys import safe_batch_id
        from estelam.inquiry.rounds import plan_round

        return plan_round(safe_batch_id(get_current_context()["run_id"]))

    @task(multiple_outputs=False, pool=WAREHOUSE_POOL)  # a reader when its round has no plan: never during a build
    def inquire(agency_ids: list[str]) -> list[dict[str, object]]:
        from estelam.core.keys import safe_batch_id
        from estelam.inquiry.rounds import inquire_agencies

        return inquire_agencies(agency_ids, round_id=safe_batch_id(get_current_context()["run_id"]))

    @task(outlets=[INQUIRY_ANSWERS])
    def audit_answers() -> list[dict[str, object]]:
        from estelam.core.keys import safe_batch_id
        from estelam.inquiry.rounds import audit_rounds, end_round

        try:
            return audit_rounds()
        finally:
            end_round(safe_batch_id(get_current_context()["run_id"]))

    # a teardown: it audits what every round landed, failed or not
    inquire.expand(agency_ids=plan_round()) >> audit_answers().as_teardown()


asset_inquiries()
