"""``estelam bench``: the benchmarks of ``benchmarks/`` (development checkout only), options passed through."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from estelam.cli.checkout import import_development_module

bench_app = typer.Typer(
    help="Measurements next to a floor measured in the same run (development checkout; see benchmarks/README.md).",
    epilog="Example: estelam bench freeze-plan --cases 100000",
    no_args_is_help=True,
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


@bench_app.command(epilog="Example: estelam bench warehouse --persons 100000 --data-dir /tmp/scale --keep")
def warehouse(
    persons: Annotated[int | None, typer.Option(help="persons in the landing zone (default 1,000,000)")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="where to generate (default: a temporary directory)",
                                                  file_okay=False)] = None,
    keep: Annotated[bool, typer.Option("--keep", help="keep the data directory afterwards")] = False,
) -> None:
    """The warehouse build at scale, next to one raw DuckDB query over the same Parquet."""
    _run("warehouse_scale", _argv(persons=persons, data_dir=data_dir, keep=keep))
