"""Build the warehouse: one dbt process over the landing zone into the single DuckDB file.

Runs whenever case events, inquiry answers or freeze acknowledgements land. It builds what the batches landed
since the last whole build touch, and every model that reads the clock, with all their data tests (the other tables
were built from the same files by the same code: estelam.warehouse.dbt_build.build's changed_only); dbt's unit
tests (the models' logic on fixed inputs) run in CI and in `estelam warehouse build`.
DuckDB allows one writer, so this DAG never runs twice at once, and the build takes every slot
of the warehouse pool (estelam.orchestration.pools) so no reader task holds the file open meanwhile. After the build,
the KPI marts are published as Parquet for the dashboard, which never opens the warehouse.
"""

import pendulum
from airflow.sdk import dag, task

from estelam.orchestration.airflow_assets import CASE_EVENTS, FREEZE_ACKNOWLEDGEMENTS, INQUIRY_ANSWERS, WAREHOUSE
from estelam.orchestration.pools import TASK_TIMEOUTS, WAREHOUSE_POOL, WAREHOUSE_WRITER_SLOTS
from estelam.outputs.callbacks import on_task_failure


@dag(
    schedule=(CASE_EVENTS | INQUIRY_ANSWERS | FREEZE_ACKNOWLEDGEMENTS),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"execution_timeout": TASK_TIMEOUTS["warehouse_build"], "on_failure_callback": on_task_failure},
    tags=["estelam", "warehouse"],
    doc_md=__doc__,
)
def warehouse_build() -> None:
    # the one writer
    @task(multiple_outputs=False, outlets=[WAREHOUSE], pool=WAREHOUSE_POOL, pool_slots=WAREHOUSE_WRITER_SLOTS)
    def dbt_build() -> dict[str, object]:
        from dataclasses import asdict

        from estelam.warehouse.dbt_build import build

        # unit tests are CI's (tests/warehouse); data tests run here
        return asdict(build(unit_tests=False, changed_only=True))

    @task(multiple_outputs=False, pool=WAREHOUSE_POOL)  # a reader
    def publish_kpis() -> dict[str, object]:
        from estelam.warehouse.publishing import publish_kpis

        return publish_kpis().as_dict()

    dbt_build() >> publish_kpis()


warehouse_build()
