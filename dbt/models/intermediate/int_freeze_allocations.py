"""The freeze plan, computed by the hub's own planner (estelam.freeze.planner.plan_freezes).

One implementation serves both the published mart and reconciliation: this model feeds the
planner the open cases, the latest assets and the acknowledgement log (what agencies could
actually block, what was transferred to the court), and returns its allocation rows.
The subsistence minimum comes from the dbt var ``subsistence_minimum_rial`` when set.
"""

import asyncio
import threading


def _rows(relation):
    names = relation.columns
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def _close_worker_event_loop():
    # dbt-duckdb gives each worker thread an event loop and never closes it (a ResourceWarning later)
    if threading.current_thread() is not threading.main_thread():
        loop = asyncio.get_event_loop()
        asyncio.set_event_loop(None)
        loop.close()


def model(dbt, session):
    dbt.config(materialized="table")
    from estelam.freeze.planner import plan_table

    minimum = dbt.config.get("subsistence_minimum_rial")
    plan = plan_table(
        _rows(dbt.ref("int_cases")),
        _rows(dbt.ref("int_assets_latest")),
        _rows(dbt.source("landing", "freeze_acknowledgements")),
        subsistence_minimum_rial=int(minimum) if minimum not in (None, "") else None,
    )
    _close_worker_event_loop()
    return plan
