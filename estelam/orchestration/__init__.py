"""Airflow wiring the DAG files use: the Assets that chain the DAGs, the pools, and running the DAGs in-process
(``dag.test()``) for the embedded mode.

May import: core, contracts, connectors (the agencies' hooks). Names are loaded on first use: Airflow must be
configured before it is imported.
"""

from __future__ import annotations

from typing import Any

#: Public name -> the module of this room that defines it (imported on first use).
_EXPORTS = {
    "CASE_EVENTS": "airflow_assets",
    "FREEZE_ACKNOWLEDGEMENTS": "airflow_assets",
    "INQUIRY_ANSWERS": "airflow_assets",
    "POOLS": "pools",
    "SIMULATORS_SERVICE": "pools",
    "WAREHOUSE": "airflow_assets",
    "WAREHOUSE_POOL": "pools",
    "WAREHOUSE_WRITER_SLOTS": "pools",
    "configure_airflow": "in_process",
    "load_dags": "in_process",
    "migrate_metadata_db": "in_process",
    "run_dag": "in_process",
    "simulator_endpoints": "pools",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)


__all__ = [
    "CASE_EVENTS",
    "FREEZE_ACKNOWLEDGEMENTS",
    "INQUIRY_ANSWERS",
    "POOLS",
    "SIMULATORS_SERVICE",
    "WAREHOUSE",
    "WAREHOUSE_POOL",
    "WAREHOUSE_WRITER_SLOTS",
    "configure_airflow",
    "load_dags",
    "migrate_metadata_db",
    "run_dag",
    "simulator_endpoints",
]
