"""Push freezes, releases and transfers: send agencies the difference between the freeze plan and what they hold.

After each warehouse build. One task runs one reconciliation cycle (estelam.freeze.reconciliation.run_cycle:
plan, diff, push, land orders, acknowledgements and debtor notifications, again until nothing
new is to be sent). When nothing was delivered, no acknowledgements land and the warehouse is
not rebuilt (the announce task is skipped).
"""

from typing import Any

import pendulum
from airflow.sdk import dag, get_current_context, task
from airflow.sdk.exceptions import AirflowSkipException

from estelam.orchestration.airflow_assets import FREEZE_ACKNOWLEDGEMENTS, WAREHOUSE
from estelam.orchestration.pools import TASK_TIMEOUTS, WAREHOUSE_POOL
from estelam.outputs.callbacks import on_task_failure


@dag(
    schedule=[WAREHOUSE],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"execution_timeout": TASK_TIMEOUTS["freeze_reconciliation"], "on_failure_callback": on_task_failure},
    tags=["estelam", "freezes"],
    doc_md=__doc__,
)
def freeze_reconciliation() -> None:
    @task(multiple_outputs=False, pool=WAREHOUSE_POOL)  # reads the warehouse: never during a build
    def reconcile() -> dict[str, int | str]:
        from estelam.core.keys import safe_batch_id
        from estelam.freeze.reconciliation import run_cycle

        return run_cycle(safe_batch_id(get_current_context()["run_id"])).as_dict()

    @task(outlets=[FREEZE_ACKNOWLEDGEMENTS])
    def announce_acknowledgements(cycle: dict[str, int | str]) -> int:
        if not cycle["delivered"]:
            raise AirflowSkipException("no order was delivered: nothing new to build")
        return int(cycle["delivered"])

    cycle: Any = reconcile()  # an XComArg while the DAG is parsed; the task receives reconcile's dict
    announce_acknowledgements(cycle)


freeze_reconciliation()
