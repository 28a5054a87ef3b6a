"""Push registers to the agencies that receive them: after each warehouse build, the difference between each
published register and what its agency acknowledged holding.

One task runs one reconciliation for every receiver in contracts/agencies.yaml (estelam.registers.push): the
register of fugitive convicts to the police (additions, updates, removals: apprehended, paid, expired), the
credit-scoring feed to the central bank. Every push lands in the register_pushes feed, acknowledged or failed
with its reason; failed pushes are sent again on the next run under the same idempotency keys, and the task
fails (after landing them) so that the failure is seen.
"""

import pendulum
from airflow.sdk import dag, get_current_context, task

from estelam.orchestration.airflow_assets import WAREHOUSE
from estelam.orchestration.pools import TASK_TIMEOUTS, WAREHOUSE_POOL


@dag(
    schedule=[WAREHOUSE],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"execution_timeout": TASK_TIMEOUTS["register_push"]},
    tags=["estelam", "registers"],
    doc_md=__doc__,
)
def register_push() -> None:
    @task(pool=WAREHOUSE_POOL)  # reads the warehouse: never during a build
    def push() -> list[dict[str, object]]:
        from estelam.core.exceptions import AgencyError
        from estelam.core.keys import safe_batch_id
        from estelam.registers.push import push_registers

        summaries = push_registers(safe_batch_id(get_current_context()["run_id"]))
        failed = {s.receiver_id: s.failed for s in summaries if s.failed}
        if failed:
            raise AgencyError(f"pushes failed (landed, retried next run): {failed}", agency_id=",".join(failed),
                              operation="pushNotices")
        return [s.as_dict() for s in summaries]

    push()


register_push()
