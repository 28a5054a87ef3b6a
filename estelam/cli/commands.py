"""The ``estelam`` command: the root of the command tree, its error handling, and the commands that run things.

Heavy imports (Airflow, dbt, FastAPI, Streamlit) happen inside the commands, so ``estelam --help`` is quick.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from estelam.cli.audit import audit_app
from estelam.cli.bench import bench_app
from estelam.cli.checkout import environment_with_checkout, import_development_module
from estelam.cli.progress import progress
from estelam.cli.warehouse import warehouse_app
from estelam.core import settings
from estelam.core.exceptions import EstelamError
from estelam.core.jurisdiction import available as available_jurisdictions
from estelam.core.log import configure_logging

PROG_NAME = "estelam"
DEFAULT_API_HOST = "127.0.0.1"
DEFAULT_API_PORT = 8000
#: The port an Airflow worker host serves its agency-call metrics on (the OpenTelemetry Prometheus exporter's).
DEFAULT_METRICS_PORT = 9464
DEFAULT_DASHBOARD_HOST = "127.0.0.1"
DEFAULT_DASHBOARD_PORT = 8501
DEFAULT_SIMULATORS_HOST = "127.0.0.1"
#: The Streamlit script of the statisticians' dashboard, relative to the checkout.
DASHBOARD_SCRIPT = Path("dashboards") / "app.py"
#: Exit code of a command stopped by an Estelam error.
EXIT_ESTELAM_ERROR = 1
#: Exit code of a command given an option it cannot use (click's own code for usage errors).
EXIT_USAGE = 2


class EstelamGroup(TyperGroup):
    """The root group: an :class:`EstelamError` from any command becomes ``error: <message>`` and exit 1."""

    # ctx: Any, as Typer's base class takes its vendored click Context, which it does not export.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except EstelamError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(EXIT_ESTELAM_ERROR) from None


app = typer.Typer(
    name=PROG_NAME,
    cls=EstelamGroup,
    help="Estelam, the judicial-enforcement data hub: run the demo, serve the API and the dashboard, "
         "check the audit log, build the warehouse, run the benchmarks.",
    epilog="Example: estelam demo   (then: estelam dashboard)",
    no_args_is_help=True,
    add_completion=False,
    # Plain tracebacks for bugs: they land in service logs, where rich's boxes only get in the way.
    pretty_exceptions_enable=False,
)
app.add_typer(audit_app, name="audit")
app.add_typer(warehouse_app, name="warehouse")
app.add_typer(bench_app, name="bench")


@app.callback()
def configure() -> None:
    """Every command logs through the settings' format and level (``ESTELAM_LOG_FORMAT``, ``ESTELAM_LOG_LEVEL``)."""
    configure_logging()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``estelam`` command with ``argv`` (default: this process's arguments); exits the process."""
    app(args=None if argv is None else list(argv), prog_name=PROG_NAME)


@app.command(epilog="Example: estelam demo --days 4 --persons 60 --cases 24 --seed 7")
def demo(
    days: Annotated[int, typer.Option(min=4, help="simulated days, each a whole cycle (at least 4)")] = 7,
    persons: Annotated[int | None, typer.Option(help="synthetic persons (default 120)")] = None,
    cases: Annotated[int | None, typer.Option(help="enforcement cases (default 48)")] = None,
    seed: Annotated[int | None, typer.Option(help="seed of the synthetic world (default 1403)")] = None,
    jurisdiction: Annotated[str | None, typer.Option(
        help="the jurisdiction profile of the run: ir or sa (default: ESTELAM_JURISDICTION, else ir)")] = None,
) -> None:
    """Run the story over simulated days on one machine: agency simulators on loopback, the DAGs in-process with
    real Airflow, a judge through the API; one line per day, then the story."""
    if jurisdiction is not None and jurisdiction not in available_jurisdictions():
        typer.echo(f"error: no jurisdiction profile {jurisdiction!r}: one of "
                   f"{', '.join(available_jurisdictions())}", err=True)
        raise typer.Exit(EXIT_USAGE)
    demo_module = import_development_module("simulators.demo", needed_by="the demo")
    trail = settings.data_dir() / "logs" / "estelam.log"
    trail.unlink(missing_ok=True)  # one demo run, one trail
    # the screen shows the story and any error; every round, order, build and warning (the story's faults make
    # many: refused orders, quarantined rows) goes to the trail
    configure_logging(file=trail, stream_level=logging.ERROR)
    started = perf_counter()
    with progress(demo_module.dag_sequence(days), label="DAG") as start_dag:
        # the profile only when asked for: the plain demo calls run() with the deployment's settings
        chosen = {} if jurisdiction is None else {"jurisdiction": jurisdiction}
        result = demo_module.run(days=days, persons=persons, cases=cases, seed=seed, on_step=start_dag,
                                 on_day=lambda day: _echo_day(demo_module, day), **chosen)
    typer.echo("\nThe story")
    for line in result.story:
        typer.echo(f"  {line}")
    typer.echo("\nCounts")
    for name, value in result.summary.items():
        typer.echo(f"  {name:<34} {value:>18,}")
    elapsed = perf_counter() - started
    typer.echo("\nWhere to look")
    typer.echo(f"  the asset report of a case, for a judge: {result.report_path}")
    typer.echo(f"  the case portal: `estelam api`, then http://127.0.0.1:8000/portal (sign in with the token "
               f"{result.judge_token}, a judge of the courts {', '.join(result.judge_courts)})")
    typer.echo("  the dashboard (days, scoreboard, KPIs): `estelam dashboard`, then http://127.0.0.1:8501")
    typer.echo(f"  the warehouse: {settings.warehouse_path()}   landing: {settings.landing_dir()}   "
               f"quarantine: {settings.quarantine_dir()}")
    typer.echo(f"  every round, order and build: {trail}")
    typer.echo(f"Done in {elapsed:.1f}s: {demo_module.cost_line(result)}")


def _echo_day(demo_module: Any, day: Any) -> None:
    """A simulated day as it ends: its line, then what happened in it."""
    typer.echo(demo_module.day_line(day))
    for happening in day.happenings:
        typer.echo(f"    - {happening}")


@app.command(epilog="Example: estelam api --host 127.0.0.1 --port 8000   (OpenAPI at /docs)")
def api(
    host: Annotated[str, typer.Option(help="address to bind")] = DEFAULT_API_HOST,
    port: Annotated[int, typer.Option(help="port to listen on")] = DEFAULT_API_PORT,
) -> None:
    """Serve the API (FastAPI with uvicorn) over the warehouse and the landing zone."""
    import uvicorn

    from estelam.api import create_app
    from estelam.inquiry.on_demand import warm_up

    # Validation setup costs seconds once per process: pay it before the first judge waits on it.
    warm_up()
    uvicorn.run(create_app(), host=host, port=port)


def dashboard_command(script: Path, host: str, port: int) -> list[str]:
    """The dashboard under Streamlit: headless, no usage statistics, and a reader's toolbar (no "Deploy" button,
    no developer menu: the statisticians read it, nobody deploys it from there)."""
    return [sys.executable, "-m", "streamlit", "run", str(script), "--server.address", host,
            "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "viewer"]


@app.command(epilog="Example: estelam dashboard --port 8501   (then open http://127.0.0.1:8501)")
def dashboard(
    host: Annotated[str, typer.Option(help="address to bind")] = DEFAULT_DASHBOARD_HOST,
    port: Annotated[int, typer.Option(help="port to listen on")] = DEFAULT_DASHBOARD_PORT,
) -> None:
    """Serve the statisticians' KPI dashboard (Streamlit) on the published KPI snapshot."""
    script = settings.PROJECT_ROOT / DASHBOARD_SCRIPT
    if not script.is_file():
        typer.echo(f"error: the dashboard's script {script} is missing: it ships in the checkout and the image, "
                   "not in the wheel", err=True)
        raise typer.Exit(EXIT_ESTELAM_ERROR)
    command = dashboard_command(script, host, port)
    sys.stdout.flush()
    # Streamlit takes over this process (its signals, its exit code); the dashboard imports dashboards.*.
    os.execve(sys.executable, command, environment_with_checkout())


@app.command(epilog="Example: estelam simulators --fixed-ports --seed 1403 --persons 120")
def simulators(
    host: Annotated[str, typer.Option(help="address to bind")] = DEFAULT_SIMULATORS_HOST,
    fixed_ports: Annotated[bool, typer.Option("--fixed-ports",
                                              help="use the ports of contracts/agencies.yaml")] = False,
    seed: Annotated[int | None, typer.Option(help="seed of the synthetic world (default 1403)")] = None,
    persons: Annotated[int | None, typer.Option(help="synthetic persons (default 120)")] = None,
    latency: Annotated[str | None, typer.Option(help="every answer late by LOW,HIGH seconds (uniform), as remote "
                                                     "agencies answer")] = None,
) -> None:
    """Serve every agency of the registry as a simulator until interrupted; prints agency_id and URL per line, then
    a line ``ready``."""
    delay: tuple[float, float] | None = None
    if latency is not None:
        try:
            low, high = (float(x) for x in latency.split(","))
        except ValueError:
            low = high = -1.0
        if not 0 <= low <= high:
            typer.echo(f"error: --latency takes LOW,HIGH in seconds (0 <= LOW <= HIGH), not {latency!r}", err=True)
            raise typer.Exit(EXIT_USAGE)
        delay = (low, high)
    world_module = import_development_module("simulators.world", needed_by="the simulator fleet")
    fleet_module = import_development_module("simulators.fleet", needed_by="the simulator fleet")
    faults_module = import_development_module("simulators.faults", needed_by="the simulator fleet")
    from estelam.contracts.registry import load_agency_registry

    registry = load_agency_registry()
    world = world_module.generate(
        registry.instances,
        seed=world_module.DEFAULT_SEED if seed is None else seed,
        n_persons=world_module.DEFAULT_PERSONS if persons is None else persons,
    )
    faults = None if delay is None else {
        instance.agency_id: faults_module.FaultProfile(rates={faults_module.Fault.LATENCY: 1.0}, latency_s=delay,
                                                       seed=n)
        for n, instance in enumerate(registry.instances)}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with fleet_module.Fleet.start(registry, world, host=host, fixed_ports=fixed_ports, faults=faults) as fleet:
        for agency_id, url in fleet.endpoints.items():
            typer.echo(f"{agency_id}\t{url}")
        typer.echo("ready")
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


@app.command("audit-worker", epilog="Example: ESTELAM_VALIDATION=background estelam audit-worker")
def audit_worker(
    once: Annotated[bool, typer.Option("--once", help="audit what is spooled now, then exit")] = False,
    check: Annotated[bool, typer.Option("--check", help="a health check: exit 1 if a landed batch has waited for "
                                                         "its audit longer than --stale-after")] = False,
    stale_after: Annotated[float, typer.Option(help="seconds a batch may wait (with --check)")] = 600.0,
    warm_up: Annotated[bool, typer.Option(help="build every feed's GX suite at start, not when first needed")] = True,
) -> None:
    """Have Great Expectations audit the batches the hub landed with its compiled rules (ESTELAM_VALIDATION=
    background spools them), one GX run per feed; until interrupted, auditing what is spooled before it exits."""
    from estelam.ingest import audit_worker as worker

    if check:
        waited = worker.oldest_wait_s()
        typer.echo(f"{worker.spooled_batches()} batches wait for their audit"
                   + (f", the oldest for {waited:.0f}s" if waited is not None else ""))
        if waited is not None and waited > stale_after:
            raise typer.Exit(EXIT_ESTELAM_ERROR)
        return
    if once:
        entries = worker.audit_pass()
        for entry in entries:
            typer.echo(f"{entry.purpose}/{entry.feed}: {entry.batches} batches, {entry.rows} rows, "
                       f"{'agreed' if entry.agreed else 'DISAGREED: ' + entry.disagreement}")
        if not all(entry.agreed for entry in entries):
            raise typer.Exit(EXIT_ESTELAM_ERROR)
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        worker.serve(stop, warm_up=warm_up)


@app.command(epilog="Example: PROMETHEUS_MULTIPROC_DIR=/var/lib/estelam/metrics estelam metrics --port 9464")
def metrics(
    host: Annotated[str, typer.Option(help="address to bind")] = DEFAULT_API_HOST,
    port: Annotated[int, typer.Option(help="port to listen on")] = DEFAULT_METRICS_PORT,
) -> None:
    """Serve this host's agency-call metrics (Prometheus text at /metrics) from PROMETHEUS_MULTIPROC_DIR, where
    every task process of an Airflow worker writes them; until interrupted."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder or not os.path.isdir(folder):
        typer.echo("error: set PROMETHEUS_MULTIPROC_DIR to the folder the workers write their metrics to", err=True)
        raise typer.Exit(EXIT_ESTELAM_ERROR)
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=folder)  # type: ignore[no-untyped-call]  # unannotated upstream
    start_http_server(port, addr=host, registry=registry)
    typer.echo(f"metrics of {folder} at http://{host}:{port}/metrics")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
