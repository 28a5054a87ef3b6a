"""How long a mapped inquiry task takes to start, bare and forked from a preloaded Celery worker, in one run.

    .venv/bin/python -m benchmarks.task_startup [--runs 3]

A task's start-up is what it does before it asks its first agency: the DAG file's imports (``airflow.sdk``
included), the task's modules (``estelam.inquiry.rounds``) and its first validation through the contract's
Great Expectations suite (a round lands its answers and its inquiry log through it). Measured:

- ``bare``: a fresh interpreter per run, as a task process that starts with nothing loaded;
- ``forked``: a process that first runs the worker's preload (``estelam.cli.worker.preload``, with Airflow
  loaded as a Celery worker has it) and then forks one child per run, as the CeleryExecutor runs each task
  in a fork of its worker's pool process;
- ``floor``: an empty task: a child forked from the same process that does nothing.

Each run reports the seconds of each step; the median of the runs counts. Nothing asserts.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.figures import emit, headline

DEFAULT_RUNS = 3
#: What ``dags/asset_inquiries.py`` imports (``airflow.sdk`` through the assets), then what its mapped task imports.
TASK_IMPORTS = ("estelam.orchestration.airflow_assets", "estelam.orchestration.pools", "estelam.outputs.callbacks",
                "estelam.core.keys", "estelam.inquiry.rounds")


def task_start() -> dict[str, float]:
    """What a mapped inquiry task does before its first agency call; seconds per step."""
    started = time.perf_counter()
    for module in TASK_IMPORTS:
        importlib.import_module(module)
    imported = time.perf_counter()
    from estelam.contracts import registry
    from estelam.ingest.validation import Engine, validate

    contract = registry.feed("bank_accounts")
    validate(contract, [dict.fromkeys(contract.column_names)], engine=Engine.GX)
    validated = time.perf_counter()
    return {"imports_s": imported - started, "first_validation_s": validated - imported,
            "total_s": validated - started}


def _in_fork(work: Any) -> dict[str, float]:
    """``work()``'s result in a forked child, and the child's whole life in ``total_s`` when work gives none."""
    read, write = os.pipe()
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: do the work, hand back its figures, leave without running the parent's clean-up
        os.close(read)
        os.write(write, json.dumps(work()).encode())
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    figures: dict[str, float] = json.loads(data)
    figures.setdefault("total_s", time.perf_counter() - started)
    return figures


def _bare() -> dict[str, float]:
    done = subprocess.run([sys.executable, "-m", "benchmarks.task_startup", "--bare-run"], capture_output=True,
                          text=True, check=True)
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="runs of each kind; the median counts")
    parser.add_argument("--bare-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare_run:
        print(json.dumps(task_start()), flush=True)
        return
    print(f"cores: {os.cpu_count()}; python {sys.version.split()[0]}; {args.runs} runs of each", flush=True)
    bare = []
    for n in range(args.runs):
        bare.append(_bare())
        print(f"  bare run {n + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in bare[-1].items()), flush=True)
    started = time.perf_counter()
    importlib.import_module("airflow.sdk")  # a Celery worker has Airflow loaded
    from estelam.cli.worker import preload

    steps = preload()
    preload_s = time.perf_counter() - started
    print(f"  worker preload: {preload_s:.2f} s", flush=True)
    forked, empty = [], []
    for n in range(args.runs):
        empty.append(_in_fork(dict))
        forked.append(_in_fork(task_start))
        print(f"  forked run {n + 1}: " + ", ".join(f"{k} {v:.3f}" for k, v in forked[-1].items())
              + f"; empty task {empty[-1]['total_s']:.3f}", flush=True)
    figures = {kind: {key: round(_median(runs, key), 3) for key in runs[0]}
               for kind, runs in (("bare", bare), ("forked", forked), ("empty", empty))}
    print()
    print(f"{'task start-up':<46} {'imports s':>10} {'1st validation s':>17} {'total s':>8}")
    for kind, label in (("bare", "bare process"), ("forked", "forked from a preloaded worker")):
        f = figures[kind]
        print(f"{label:<46} {f['imports_s']:>10.3f} {f['first_validation_s']:>17.3f} {f['total_s']:>8.3f}")
    print(f"{'empty task (fork, nothing done)':<46} {'':>10} {'':>17} {figures['empty']['total_s']:>8.3f}")
    print(f"worker preload, once per worker: {preload_s:.1f} s")
    emit("task-startup", [
        headline("task start-up, forked from a preloaded worker (s)", figures["forked"]["total_s"], "s",
                 figures["empty"]["total_s"]),
        headline("task start-up, bare process (s)", figures["bare"]["total_s"], "s"),
    ], runs=args.runs, figures=figures, worker_preload_s=round(preload_s, 2),
        preload_steps={k: round(v, 3) for k, v in steps.items()})


if __name__ == "__main__":
    main()
