"""``estelam bench``: the benchmarks of ``benchmarks/`` (development checkout only), options passed through.

``estelam bench`` alone (or ``estelam bench all``) runs every benchmark, each with its floor, at short sizes,
one child process each, and prints one table from the JSON line each benchmark prints last.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from estelam.cli.checkout import environment_with_checkout, import_development_module
from estelam.core.settings import PROJECT_ROOT

bench_app = typer.Typer(
    help="Measurements next to a floor measured in the same run (development checkout; see benchmarks/README.md). "
         "Without a subcommand: every benchmark at short sizes, one table.",
    epilog="Example: estelam bench freeze-plan --cases 100000",
    invoke_without_command=True,
)


@dataclass(frozen=True)
class Benchmark:
    """One benchmark as ``estelam bench all`` runs it: its command name, module and short-run options."""

    name: str
    module: str
    short: tuple[str, ...]


#: Every benchmark of benchmarks/, with sizes that keep ``estelam bench all`` to a few minutes.
BENCHMARKS: tuple[Benchmark, ...] = (
    Benchmark("freeze-plan", "freeze_plan_scale", ("--cases", "20000", "--rounds", "1")),
    Benchmark("warehouse", "warehouse_scale", ("--persons", "50000")),
    Benchmark("soap", "soap_throughput", ("--seconds", "1", "--rounds", "1")),
    Benchmark("on-demand", "on_demand_latency", ("--runs", "20", "--persons", "30")),
    Benchmark("record", "record_overhead", ("--persons", "100", "--rounds", "3")),
    Benchmark("task-startup", "task_startup", ("--runs", "2")),
    Benchmark("case-events", "case_events_ingest", ("--rounds", "1")),
)


def _argv(**options: object) -> list[str]:
    """The benchmark's own command line for the options given: ``--name value``, ``--flag``; unset ones left out,
    so the benchmark's defaults apply."""
    argv: list[str] = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is not None and value is not False:
            argv += [flag, str(value)]
    return argv


def _run(benchmark: str, argv: list[str]) -> None:
    module = import_development_module(f"benchmarks.{benchmark}", needed_by="the benchmark")
    module.main(argv)


@bench_app.command(epilog="Example: estelam bench soap --seconds 5 --batch 200 --rounds 5")
def soap(
    seconds: Annotated[float | None, typer.Option(help="seconds per path and round (default 3)")] = None,
    batch: Annotated[int | None, typer.Option(help="persons per batch call (default 100)")] = None,
    rounds: Annotated[int | None, typer.Option(help="interleaved rounds; the best counts (default 3)")] = None,
    in_process: Annotated[bool, typer.Option("--in-process", help="serve the bank from this process")] = False,
) -> None:
    """Inquiries per second through the hub's SOAP path, next to a raw httpx + lxml floor."""
    _run("soap_throughput", _argv(seconds=seconds, batch=batch, rounds=rounds, in_process=in_process))


@bench_app.command("on-demand", epilog="Example: estelam bench on-demand --runs 20 --persons 30")
def on_demand(
    runs: Annotated[int | None, typer.Option(help="timed inquiries (default 50)")] = None,
    persons: Annotated[int | None, typer.Option(help="persons in the synthetic world (default 60)")] = None,
) -> None:
    """What an on-demand inquiry adds above the slowest agency: p50/p95 with every agency simulated."""
    _run("on_demand_latency", _argv(runs=runs, persons=persons))


@bench_app.command("freeze-plan", epilog="Example: estelam bench freeze-plan --cases 300000 --rounds 1")
def freeze_plan(
    cases: Annotated[int | None, typer.Option(help="open cases in the book (default 100,000)")] = None,
    rounds: Annotated[int | None, typer.Option(help="rounds; the best counts (default 3)")] = None,
) -> None:
    """Plan and diff freezes for many open cases, next to a floor of grouping, sorting and comparing dicts."""
    _run("freeze_plan_scale", _argv(cases=cases, rounds=rounds))


@bench_app.command(epilog="Example: estelam bench record --persons 300 --rounds 5 --latency-ms 100")
def record(
    persons: Annotated[int | None, typer.Option(help="persons asked per agency (default 300)")] = None,
    rounds: Annotated[int | None, typer.Option(help="rounds with the record on, and as many off (default 5)")] = None,
    latency_ms: Annotated[float | None, typer.Option(help="each agency's delay per call (default 0)")] = None,
) -> None:
    """An inquiry round with the message log and audit writes on vs off, and the record's bytes per inquiry."""
    _run("record_overhead", _argv(persons=persons, rounds=rounds, latency_ms=latency_ms))


@bench_app.command("task-startup", epilog="Example: estelam bench task-startup --runs 5")
def task_startup(
    runs: Annotated[int | None, typer.Option(help="runs of each kind; the median counts (default 3)")] = None,
) -> None:
    """A mapped inquiry task's start-up, bare and forked from a preloaded Celery worker, next to an empty task."""
    _run("task_startup", _argv(runs=runs))


@bench_app.command("case-events", epilog="Example: estelam bench case-events --persons 1200 --cases 480")
def case_events(
    persons: Annotated[int | None, typer.Option(help="persons in the synthetic world (default: the demo's)")] = None,
    cases: Annotated[int | None, typer.Option(help="cases in the synthetic world (default: the demo's)")] = None,
    rounds: Annotated[int | None, typer.Option(help="fresh processes per mode; the best counts (default 3)")] = None,
) -> None:
    """The court's case-event files landed with GX on every file vs compiled rules and one GX audit."""
    _run("case_events_ingest", _argv(persons=persons, cases=cases, rounds=rounds))


@bench_app.command(epilog="Example: estelam bench warehouse --persons 100000 --data-dir /tmp/scale --keep")
def warehouse(
    persons: Annotated[int | None, typer.Option(help="persons in the landing zone (default 1,000,000)")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="where to generate (default: a temporary directory)",
                                                  file_okay=False)] = None,
    keep: Annotated[bool, typer.Option("--keep", help="keep the data directory afterwards")] = False,
) -> None:
    """The warehouse build at scale, next to one raw DuckDB query over the same Parquet."""
    _run("warehouse_scale", _argv(persons=persons, data_dir=data_dir, keep=keep))


def _figures(last_line: str) -> dict[str, Any] | None:
    try:
        figures = json.loads(last_line)
    except ValueError:
        return None
    return figures if isinstance(figures, dict) and "headline" in figures else None


def run_benchmark(benchmark: Benchmark) -> dict[str, Any]:
    """Run one benchmark in a child process, echoing its output; its figures (its last line), or an error."""
    started = time.perf_counter()
    last = ""
    with subprocess.Popen([sys.executable, "-m", f"benchmarks.{benchmark.module}", *benchmark.short],
                          cwd=PROJECT_ROOT, env=environment_with_checkout(), stdout=subprocess.PIPE,
                          text=True) as child:
        assert child.stdout is not None
        for line in child.stdout:
            typer.echo(f"  [{benchmark.name}] {line.rstrip()}")
            if line.strip():
                last = line.strip()
        code = child.wait()
    figures = _figures(last) if code == 0 else None
    if figures is None:
        return {"benchmark": benchmark.name, "error": f"exit code {code}" if code else "no JSON figures last",
                "headline": [], "wall_s": round(time.perf_counter() - started, 1)}
    return {**figures, "wall_s": round(time.perf_counter() - started, 1)}


def table(runs: list[dict[str, Any]]) -> str:
    """One row per headline figure of every benchmark: value, floor of the same run, ratio, load average."""
    def number(value: Any) -> str:
        return "-" if value is None else f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"

    rows = [("benchmark", "figure", "value", "unit", "floor", "ratio", "load avg", "run s")]
    for run in runs:
        load = " ".join(f"{x:.1f}" for x in run.get("load_average", [])[:1]) or "-"
        if run.get("error"):
            rows.append((run["benchmark"], f"FAILED: {run['error']}", "-", "", "-", "-", load, number(run["wall_s"])))
        for figure in run["headline"]:
            ratio = figure.get("ratio")
            rows.append((run["benchmark"], figure["what"], number(figure["value"]), figure["unit"],
                         number(figure.get("floor")), "-" if ratio is None else f"{ratio:.2f}x", load,
                         number(run["wall_s"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {2, 4, 5, 6, 7}
    return "\n".join("  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths, strict=True))) for row in rows)


@bench_app.callback()
def everything(context: typer.Context) -> None:
    """Without a subcommand: every benchmark, as ``estelam bench all``."""
    if context.invoked_subcommand is None:
        run_all()


@bench_app.command("all", epilog="Example: estelam bench all")
def run_all() -> None:
    """Every benchmark of benchmarks/ at short sizes, each with its floor in the same run; one table at the end.

    The last line is every benchmark's figures as one JSON object, to compare between commits.
    """
    import_development_module("benchmarks.figures", needed_by="the benchmark")
    runs = [run_benchmark(benchmark) for benchmark in BENCHMARKS]
    typer.echo("")
    typer.echo(table(runs))
    typer.echo(json.dumps({"benchmarks": runs}, ensure_ascii=False, default=str))
    if any(run.get("error") for run in runs):
        raise typer.Exit(1)
