"""The Celery worker's preload: a task process forked from a preloaded worker imports nothing heavy and builds no GX
context before its work, and the deployment points Airflow at the configuration that preloads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from estelam.core import settings

#: In a child forked after ``preload()``: the modules a mapped inquiry task imports (the DAG file's and the task's),
#: one GX validation as the landing does, then what it had to import and how long it all took.
_FORKED_TASK = """
import json, os, sys, time
from estelam.cli.worker import preload
preload()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    before = set(sys.modules)
    started = time.perf_counter()
    import estelam.orchestration.airflow_assets, estelam.orchestration.pools, estelam.outputs.callbacks
    from estelam.core.keys import safe_batch_id
    from estelam.inquiry.rounds import inquire_agency
    from estelam.contracts import registry
    from estelam.ingest import validation
    contract = registry.feed("bank_accounts")
    contexts_before = id(validation._context)
    validation.validate(contract, [dict.fromkeys(contract.column_names)], engine=validation.Engine.GX)
    out = {"new_modules": sorted(set(sys.modules) - before), "seconds": time.perf_counter() - started,
           "same_context": id(validation._context) == contexts_before}
    os.write(w, json.dumps(out).encode())
    os._exit(0)
os.close(w)
data = b""
while chunk := os.read(r, 65536):
    data += chunk
os.waitpid(pid, 0)
print("RESULT " + data.decode())
"""


def test_a_task_forked_from_a_preloaded_worker_imports_nothing_heavy_and_starts_at_once() -> None:
    done = subprocess.run([sys.executable, "-c", _FORKED_TASK], capture_output=True, text=True, timeout=600,
                          cwd=settings.PROJECT_ROOT, check=True)
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    heavy = {"pandas", "great_expectations", "pyarrow", "duckdb", "zeep", "httpx", "redis", "airflow"}
    assert not {m.split(".")[0] for m in result["new_modules"]} & heavy, result["new_modules"]
    assert result["same_context"]  # the GX context the worker built, not a new one
    assert result["seconds"] < 2.0, result  # the bound on a task's start-up


def test_the_celery_configuration_is_airflows_own_and_preloads_on_the_workers_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
    from celery.signals import import_modules

    from estelam.cli import worker

    assert worker.CELERY_CONFIG == DEFAULT_CELERY_CONFIG
    calls: list[str] = []
    monkeypatch.setattr(worker, "preload", lambda: calls.append("preload") or {})
    import_modules.send(sender=None)  # what a Celery worker sends as it imports its default modules
    assert calls == ["preload"]


def test_the_deployment_points_airflow_at_the_preloading_configuration() -> None:
    compose = yaml.safe_load(Path(settings.PROJECT_ROOT, "docker-compose.yml").read_text(encoding="utf-8"))
    worker = compose["services"]["airflow-worker"]["environment"]
    assert worker["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == "estelam.cli.worker.CELERY_CONFIG"


def test_with_background_validation_the_worker_leaves_great_expectations_to_the_audit_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from estelam.cli import worker
    from estelam.ingest import validation
    from tests.settings_support import override

    override(monkeypatch, validation="background")
    monkeypatch.setattr(validation, "prepare_gx", lambda *a, **k: pytest.fail("GX prepared for tasks that run none"))
    steps = worker.preload()
    assert "great_expectations" not in steps and "gx context and suites" not in steps
    assert "estelam.inquiry.rounds" in steps and "estelam.freeze.reconciliation" in steps
