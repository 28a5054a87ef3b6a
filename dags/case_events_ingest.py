"""Take in the court system's case events.

Every case-event file in the inbox becomes one validated batch in the landing
zone (rejected events go to quarantine with their reasons). Re-running replaces
the same batches. Then the court's directive files: each directive validated, landed
and audited (a refused one is audited with its reason); re-running lands each once.
"""

import pendulum
from airflow.sdk import dag, task

from estelam.orchestration.airflow_assets import CASE_EVENTS
from estelam.orchestration.pools import TASK_TIMEOUTS
from estelam.outputs.callbacks import on_task_failure


@dag(
    schedule="@hourly",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"execution_timeout": TASK_TIMEOUTS["case_events_ingest"], "on_failure_callback": on_task_failure},
    tags=["estelam", "court"],
    doc_md=__doc__,
)
def case_events_ingest() -> None:
    @task(multiple_outputs=False, outlets=[CASE_EVENTS])
    def ingest_inbox() -> dict[str, int]:
        from estelam.ingest.case_events import ingest_inbox

        return ingest_inbox().as_dict()

    @task(multiple_outputs=False)
    def ingest_directives() -> dict[str, int]:
        from estelam.cases.court_drop import ingest_directives

        return ingest_directives().as_dict()

    ingest_inbox() >> ingest_directives()


case_events_ingest()
