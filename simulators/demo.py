"""The whole flow on one machine: simulators on loopback, DAGs in-process with real Airflow.

    estelam demo            # what `make demo` runs (`python -m simulators.demo` is an alias)

Steps: start the agency simulators; the court system drops case events; then
the DAGs in the order their Assets chain them: ingest -> build -> inquire ->
build -> freeze -> build; then the court drops its judges' directives on the cases
the hub froze (one of every kind) and the hub ingests, reconciles (transfers to the
court, restriction changes, releases) and builds again. Ends with a summary and a
judge-readable asset report, and stops everything it started.
"""

from __future__ import annotations

import shutil
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from estelam.core import settings
from estelam.core.exceptions import DemoError
from estelam.orchestration.in_process import configure_airflow, load_dags, migrate_metadata_db, run_dag

#: The DAGs in the order their Assets would trigger them after one court drop.
FIRST_CYCLE = (
    "case_events_ingest",
    "warehouse_build",
    "asset_inquiries",
    "warehouse_build",
    "freeze_reconciliation",
    "warehouse_build",
)
#: After the court's directives are dropped: ingest them, act on them, publish, push the registers.
DIRECTIVE_SEQUENCE = ("case_events_ingest", "freeze_reconciliation", "warehouse_build", "register_push")
#: Every DAG the demo runs, in order.
DAG_SEQUENCE = FIRST_CYCLE + DIRECTIVE_SEQUENCE


@dataclass
class DemoResult:
    dag_states: list[tuple[str, str, float]] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    held_freezes: dict[tuple[str, str, str], int] = field(default_factory=dict)
    #: what the bank of the court's account paid creditors: (agency_id, case_id, creditor IBAN) -> rials
    payouts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    #: what each agency the hub pushes registers to holds at the end: agency_id -> person_id -> entry
    registers_held: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)
    #: what reached the debtors: the e-mails the loopback mail server received, the texts the SMS gateway sent
    mails: list[EmailMessage] = field(default_factory=list)
    texts: list[dict[str, str]] = field(default_factory=list)
    report_path: str = ""


def _say(message: str) -> None:
    print(message, flush=True)


#: What a demo run writes under the data directory; removed before each run (Airflow's DB is kept).
DEMO_OUTPUTS = ("landing", "quarantine", "inbox", "run", "reports", "dbt", "published", "notifications")


def reset_data_dir() -> None:
    """Start from empty landing, quarantine and warehouse: the new simulators start with nothing frozen."""
    data = settings.data_dir()
    for name in DEMO_OUTPUTS:
        shutil.rmtree(data / name, ignore_errors=True)
    for path in (settings.warehouse_path(), settings.warehouse_path().with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)
    data.mkdir(parents=True, exist_ok=True)


def _run_step(dags: dict[str, Any], dag_id: str, result: DemoResult,
              on_step: Callable[[str], None] | None) -> None:
    if on_step is not None:
        on_step(dag_id)
    state, seconds, tasks = run_dag(dags[dag_id])
    result.dag_states.append((dag_id, state, seconds))
    failed = {t: s for t, s in tasks.items() if s not in {"success", "skipped"}}
    _say(f"• dag {dag_id:<24} {state:<8} {seconds:5.1f}s  "
         f"({len(tasks)} tasks{', failed: ' + str(failed) if failed else ''})")
    if state != "success":
        raise DemoError(f"DAG {dag_id} ended {state}: {failed}")


@dataclass
class LiveDemo:
    """A demo whose simulators, mail server and SMS gateway are still running (see :func:`running`): what it did,
    and what a caller needs to act on it further (another reconciliation against the same agencies)."""

    result: DemoResult
    fleet: Any  # simulators.fleet.Fleet
    channels: Any  # simulators.channels.Channels
    dags: dict[str, Any]
    hub_settings: settings.Settings  # the settings the hub ran with (the fleet's endpoints, the channels)

    def run_dag(self, dag_id: str, on_step: Callable[[str], None] | None = None) -> None:
        """Run one more DAG against the running agencies (as the demo ran its own), over the current data
        directory; the demo's own record (``result``) stays as the demo left it."""
        with settings.use(self.hub_settings.with_changes(data_dir=settings.data_dir())):
            _run_step(self.dags, dag_id, DemoResult(), on_step)


def run(*, persons: int | None = None, cases: int | None = None, seed: int | None = None,
        on_step: Callable[[str], None] | None = None, jurisdiction: str | None = None) -> DemoResult:
    """Run the whole cycle once and return what happened; ``on_step(dag_id)`` is called as each DAG starts.
    ``jurisdiction`` (``ir``, ``sa``) is the profile of the run (the settings' when None)."""
    from estelam.reporting.asset_report import write_case_report

    with _profile(jurisdiction):
        with running(persons=persons, cases=cases, seed=seed, on_step=on_step) as live:
            result = live.result
        result.report_path = str(write_case_report())
    return result


@contextmanager
def _profile(jurisdiction: str | None) -> Iterator[None]:
    """The settings with ``jurisdiction`` as the profile (unchanged when None) for the block."""
    if jurisdiction is None:
        yield
        return
    with settings.use(settings.current().with_changes(jurisdiction=jurisdiction)):
        yield


@contextmanager
def running(*, persons: int | None = None, cases: int | None = None, seed: int | None = None,
            on_step: Callable[[str], None] | None = None, jurisdiction: str | None = None) -> Iterator[LiveDemo]:
    """Run the whole cycle once and keep the agencies and channels running while the caller looks or acts further
    (the tests' judges act in the portal, and a next cycle reaches the same simulators); stopped on exit."""
    from estelam.contracts.registry import load_agency_registry
    from estelam.ingest.landing import read_landed
    from estelam.warehouse.summary import cycle_summary
    from simulators import world as world_module
    from simulators.channels import Channels
    from simulators.court import court_directives, drop_case_events, drop_directives
    from simulators.fleet import Fleet

    if jurisdiction is not None:  # the profile of the run: the registry, the world and every DAG read it
        with _profile(jurisdiction), running(persons=persons, cases=cases, seed=seed, on_step=on_step) as live:
            yield live
        return
    reset_data_dir()
    configure_airflow()
    result = DemoResult()
    registry = load_agency_registry()
    world = world_module.generate(
        registry.instances,
        seed=seed or world_module.DEFAULT_SEED,
        n_persons=persons or world_module.DEFAULT_PERSONS,
        n_cases=cases or world_module.DEFAULT_CASES,
    )
    _say(f"• world: {len(world.persons)} persons, {len(world.cases)} cases (seed {world.seed})")
    with Fleet.start(registry, world) as fleet, Channels.start() as channels:
        endpoints = fleet.write_endpoints(settings.data_dir() / "run" / "endpoints.json")
        # connectors (and the Airflow tasks dag.test() runs in this process) use the fleet's endpoints, and
        # notices go out by e-mail and SMS to the loopback mail server and SMS gateway
        hub_settings = settings.current().with_changes(endpoints_file=endpoints, **channels.settings())
        with settings.use(hub_settings):
            kinds = Counter(str(registry.instance(agency_id).kind) for agency_id in fleet.servers
                            if agency_id not in fleet.receivers)
            _say(f"• simulators: {len(fleet.servers) - len(fleet.receivers)} agencies on loopback "
                 f"({', '.join(f'{n} {kind}' for kind, n in sorted(kinds.items()))}) and "
                 f"{len(fleet.receivers)} receiving registers ({', '.join(sorted(fleet.receivers))}); "
                 f"endpoints in {endpoints}")
            _say(f"• channels: mail server on port {channels.mail.port}, SMS gateway at {channels.sms.url}")
            drops = drop_case_events(world, settings.inbox_dir())
            _say(f"• court system: {len(drops)} case-event files dropped in {settings.inbox_dir()}")
            _say(f"• airflow: metadata DB migrated in {migrate_metadata_db():.1f}s")
            dags = load_dags()
            for dag_id in FIRST_CYCLE:
                _run_step(dags, dag_id, result, on_step)
            directives = court_directives(read_landed("freeze_orders"), issued_at=datetime.now(UTC))
            drop = drop_directives(directives, settings.inbox_dir(), day=datetime.now(UTC).date().isoformat())
            _say(f"• court system: {len(directives)} judges' directives dropped in {drop}")
            for dag_id in DIRECTIVE_SEQUENCE:
                _run_step(dags, dag_id, result, on_step)
            result.held_freezes = fleet.held_freezes()
            result.payouts = fleet.payouts()
            result.registers_held = {agency_id: dict(agency.held) for agency_id, agency in fleet.receivers.items()}
            result.mails = list(channels.mail.mailbox.messages)
            result.texts = list(channels.sms.simulator.sent)
        result.summary = cycle_summary(result.held_freezes)
        yield LiveDemo(result, fleet, channels, dags, hub_settings)


if __name__ == "__main__":  # an alias of `estelam demo`
    from estelam.cli import main

    main(["demo", *sys.argv[1:]])
