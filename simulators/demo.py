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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
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
#: After the court's directives are dropped: ingest them, act on them, publish.
DIRECTIVE_SEQUENCE = ("case_events_ingest", "freeze_reconciliation", "warehouse_build")
#: Every DAG the demo runs, in order.
DAG_SEQUENCE = FIRST_CYCLE + DIRECTIVE_SEQUENCE


@dataclass
class DemoResult:
    dag_states: list[tuple[str, str, float]] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    held_freezes: dict[tuple[str, str, str], int] = field(default_factory=dict)
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


def run(*, persons: int | None = None, cases: int | None = None, seed: int | None = None,
        on_step: Callable[[str], None] | None = None) -> DemoResult:
    """Run the whole cycle once and return what happened; ``on_step(dag_id)`` is called as each DAG starts."""
    from estelam.contracts.registry import load_agency_registry
    from estelam.ingest.landing import read_landed
    from estelam.reporting.asset_report import write_case_report
    from estelam.warehouse.summary import cycle_summary
    from simulators import world as world_module
    from simulators.court import court_directives, drop_case_events, drop_directives
    from simulators.fleet import Fleet

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
    with Fleet.start(registry, world) as fleet:
        endpoints = fleet.write_endpoints(settings.data_dir() / "run" / "endpoints.json")
        # connectors (and the Airflow tasks dag.test() runs in this process) use the fleet's endpoints
        with settings.use(settings.current().with_changes(endpoints_file=endpoints)):
            kinds = Counter(str(registry.instance(agency_id).kind) for agency_id in fleet.servers)
            _say(f"• simulators: {len(fleet.servers)} agencies on loopback "
                 f"({', '.join(f'{n} {kind}' for kind, n in sorted(kinds.items()))}); endpoints in {endpoints}")
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
    result.summary = cycle_summary(result.held_freezes)
    result.report_path = str(write_case_report())
    return result


if __name__ == "__main__":  # an alias of `estelam demo`
    from estelam.cli import main

    main(["demo", *sys.argv[1:]])
