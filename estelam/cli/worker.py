"""What an Airflow Celery worker loads once, before it forks its pool, so that no task process pays for it.

Point Airflow at it: ``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=estelam.cli.worker.CELERY_CONFIG`` (as
``docker-compose.yml`` does). It sits in the command-line room because it imports every room whose tasks
the DAGs run, as only the top of the package may.

Under the CeleryExecutor every task runs in a process forked from one of the worker's pool processes,
which are forked from the worker itself: whatever the worker imported before forking is in every task
process from its first instruction. A mapped inquiry task lands its answers through the contract's
Great Expectations suite, so a task process that starts bare imports pandas and Great Expectations
and builds a GX context (≈10 s idle, far more on a loaded machine) before it asks its first agency.

:func:`preload` imports the modules the DAGs' tasks run (the inquiry rounds, the landing and its
validation, the freeze reconciliation, the case-event and directive intake, the register push), pandas
and Great Expectations, and builds the process-wide GX context with the suite of every feed a task
lands (:func:`estelam.ingest.validation.prepare_gx`). Nothing here opens a connection, a file handle or a
thread that a fork would share. dbt is left out: one task a cycle builds the warehouse, and it imports
dbt when it builds. With ``ESTELAM_VALIDATION=background`` (the compose file's) no task runs GX (the audit worker
does), so Great Expectations and its context are left out too.

:data:`CELERY_CONFIG` is Airflow's own Celery configuration; importing this module connects one
handler more to Celery's ``import_modules`` signal, sent in the worker's main process before the pool
forks (Airflow preloads its own operators on the same signal): it calls :func:`preload`. Airflow's own
handler, which runs after it, then freezes the collector's view of everything loaded (``gc.freeze``) so
the forks share those pages. The scheduler reads the same configuration to send tasks; the signal never
fires there.
"""

from __future__ import annotations

import importlib
import logging
from time import perf_counter
from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import import_modules

from estelam.core import settings
from estelam.ingest import validation

logger = logging.getLogger(__name__)

#: The modules the DAGs' tasks import when they run (``dags/*.py``), heaviest dependencies first.
TASK_MODULES = (
    "pandas",
    "great_expectations",
    "estelam.ingest.validation",
    "estelam.ingest.landing",
    "estelam.inquiry.rounds",
    "estelam.orchestration.agency_hooks",
    "estelam.ingest.case_events",
    "estelam.cases.court_drop",
    "estelam.freeze.reconciliation",
    "estelam.registers.push",
    "estelam.outputs.alerts",
)


def preload() -> dict[str, float]:
    """Import every task module and build the GX context with every feed's suite; seconds per step."""
    seconds: dict[str, float] = {}
    background = settings.current().validation == "background"  # the audit worker runs GX, no task does
    for name in TASK_MODULES if not background else tuple(m for m in TASK_MODULES if m != "great_expectations"):
        started = perf_counter()
        importlib.import_module(name)
        seconds[name] = perf_counter() - started
    # tqdm (GX's progress bars) would start a monitor thread: a thread holding its lock at the pool's fork
    # would leave that lock held for ever in the child
    tqdm = importlib.import_module("tqdm")
    tqdm.tqdm.monitor_interval = 0
    if not background:
        started = perf_counter()
        validation.prepare_gx()
        seconds["gx context and suites"] = perf_counter() - started
    logger.info("worker preloaded the tasks' modules%s in %.1f s", "" if background else " and the GX context",
                sum(seconds.values()),
                extra={"preload_s": {k: round(v, 3) for k, v in seconds.items()}})
    return seconds


def _preload_on_import_modules(*_: Any, **__: Any) -> None:
    preload()


#: Airflow's Celery configuration, unchanged: importing this module connects the preload to the worker's start.
CELERY_CONFIG: dict[str, Any] = dict(DEFAULT_CELERY_CONFIG)
import_modules.connect(_preload_on_import_modules, weak=False)

__all__ = ["CELERY_CONFIG", "TASK_MODULES", "preload"]
