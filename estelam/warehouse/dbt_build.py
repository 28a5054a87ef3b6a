"""Warehouse access: build the DuckDB warehouse with dbt, and read it briefly.

DuckDB allows one writer per file, and a reader in another process blocks
``dbt build``; so readers use :func:`connect_read_only` for as short a time as
they can, and :func:`build` runs one dbt invocation at a time in this process
(dbtRunner is not safe to run concurrently).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from estelam.core import settings
from estelam.core.exceptions import WarehouseError
from estelam.core.jurisdiction import current_profile

logger = logging.getLogger(__name__)

#: Published marts, in the DuckDB schema readers query without qualification.
MARTS: tuple[str, ...] = (
    "asset_report",
    "case_timeline",
    "central_bank_feed",
    "financial_convictions",
    "freeze_plan",
    "fugitives",
    "identity_review",
    "inquiry_targets",
    "kpi_deadline_compliance",
    "kpi_enforcement_steps",
    "kpi_freezes",
    "kpi_inquiries_daily",
    "kpi_notification_deliveries",
    "kpi_notifications",
    "kpi_response_times",
    "person_assets",
    "persons",
)
MARTS_SCHEMA = "main"

#: dbt's own files (compiled SQL, manifest, logs) go under the data directory, never into the source tree.
DBT_TARGET_SUBDIR = Path("dbt") / "target"
DBT_LOG_SUBDIR = Path("dbt") / "logs"

#: What the last whole build read (landed feeds, code, vars), so a scheduled build builds only what changed since.
BUILD_INPUTS_FILE = Path("dbt") / "last_build_inputs.json"
#: dbt tag of the models that read the clock (``as_of()``): time moves them, so every build builds them.
CLOCK_TAG = "clock"

#: Readers see timestamps in UTC whatever the machine's zone; they convert for display.
READER_TIMEZONE = "UTC"

_FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
_PASSED_TEST_STATUSES = frozenset({"pass", "success"})

_build_lock = threading.Lock()


@dataclass(frozen=True)
class BuildSummary:
    """What one ``dbt build`` did."""

    models: int
    tests_passed: int
    tests_failed: int
    tests_warned: int
    unit_tests: int
    skipped: int
    duration_s: float
    warnings: tuple[str, ...] = field(default=())
    #: what dbt was asked to build (None: everything)
    selected: str | None = None


def contract_vars() -> dict[str, Any]:
    """dbt vars from the settings and the contracts: where the warehouse and the landing zone are,
    every agency's reply deadline (``contracts/agencies.yaml``) and the jurisdiction profile's person-id
    schemes (how identity resolution reads a bare id). dbt's profile and landing macro read the paths with
    ``var()``, so nothing is passed through the environment."""
    from estelam.contracts import registry as contracts

    registry = contracts.load_agency_registry()
    return {
        "warehouse_path": str(settings.warehouse_path()),
        "data_dir": str(settings.data_dir()),
        "agency_reply_deadlines": {i.agency_id: float(i.reply_deadline_s) for i in registry.instances},
        "person_id_schemes": list(current_profile().person_id_schemes),
    }


def dbt_args(command: str, select: str | None = None, dbt_vars: dict[str, Any] | None = None, *,
             exclude_resource_types: Sequence[str] = (), write_artifacts: bool = True,
             indirect_selection: str | None = None) -> list[str]:
    """The dbt command line :func:`build` runs (also handy for ``dbt parse`` in tests).

    ``dbt_vars`` override the project's vars (e.g. ``{"as_of": ...}`` to replay the registry at a moment);
    ``write_artifacts=False`` leaves ``manifest.json`` and ``run_results.json`` unwritten.
    """
    data = settings.data_dir()
    args = [
        *command.split(),  # "build", or a subcommand such as "docs generate"
        "--project-dir", str(settings.DBT_PROJECT_DIR),
        "--profiles-dir", str(settings.DBT_PROJECT_DIR),
        "--target-path", str(data / DBT_TARGET_SUBDIR),
        "--log-path", str(data / DBT_LOG_SUBDIR),
        "--log-level-file", "info",  # each node's start, result and timing; not every SQL statement (debug)
        "--quiet",
        "--vars", json.dumps(contract_vars() | (dbt_vars or {})),
    ]
    if not write_artifacts:
        args.append("--no-write-json")
    if select:
        args += ["--select", select]
    if indirect_selection:
        args += ["--indirect-selection", indirect_selection]
    for resource_type in exclude_resource_types:
        args += ["--exclude-resource-type", resource_type]
    return args


def _node_name(result: object) -> str:
    node = getattr(result, "node", None)
    return str(getattr(node, "unique_id", None) or getattr(node, "name", "?"))


def _broken_rules(result: object, shown: int = 5) -> str:
    """What a failing ``contract_rules`` test found (rule, column, value, rows), read back with its compiled SQL:
    the feed's test is one node, so its failure must say which rule broke."""
    node = getattr(result, "node", None)
    sql = getattr(node, "compiled_code", None)
    if not sql or not str(getattr(node, "name", "")).startswith(("contract_rules", "model_rules")):
        return ""
    try:
        with connect_read_only() as connection:
            rows = connection.execute(f"select * from ({sql}) as broken order by all limit {shown}").fetchall()
    except (duckdb.Error, WarehouseError) as exc:
        return f" (its rows could not be read back: {exc})"
    found = ", ".join(f"{column} {rule}{'' if value is None else f' {value!r}'} ×{count}"
                      for rule, column, value, count in rows)
    return f" ({found})" if found else ""


def _release_dbt_connection() -> None:
    """Close the DuckDB connection dbt-duckdb keeps open after an invocation.

    dbt-duckdb holds its environment (and the file's write lock) in a class attribute until the
    process ends: other processes could not even read the warehouse, and readers in this process
    would fail with "different configuration than existing connections".
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        environment: Any = DuckDBConnectionManager._ENV  # dbt-duckdb declares it as a bare None: untyped
        if environment is not None:
            environment.close()
        DuckDBConnectionManager.close_all_connections()


def _release_dbt_log_files() -> None:
    """Close dbt's log file: its next invocation drops the handler without closing it (a leaked file)."""
    from dbt_common.events.event_manager_client import cleanup_event_logger, get_event_manager

    for event_logger in get_event_manager().loggers:
        python_logger = getattr(event_logger, "_python_logger", None)
        for handler in getattr(python_logger, "handlers", []):
            handler.close()
    cleanup_event_logger()


def _invoke(args: list[str], callbacks: list[Callable[[Any], None]] | None = None, *,
            manifest: Any = None) -> Any:
    """One dbt invocation, serialised, with this process's settings, releasing what dbt leaves open.
    ``manifest``: the project as parsed before (dbt then skips its parse)."""
    from dbt.cli.main import dbtRunner  # heavy import, only when building

    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    with _build_lock:
        try:
            return dbtRunner(manifest=manifest, callbacks=callbacks or []).invoke(args)
        finally:
            _release_dbt_connection()
            _release_dbt_log_files()


#: The dbt project as this process last parsed it, and what it was parsed from (:func:`_parsed_manifest`).
_parsed: tuple[str, Any] | None = None
_parsed_lock = threading.Lock()


def _parsed_manifest(dbt_vars: dict[str, Any] | None, write_artifacts: bool) -> Any:
    """The parsed dbt project, kept in this process between builds: parsed again only when a file of the project,
    the vars or the paths changed. dbt's partial parse still cost ~0.4 s a build (reading its state back and
    checking every file); a long-lived process (the demo, a worker) builds many times from the same project."""
    global _parsed
    args = dbt_args("parse", None, dbt_vars, write_artifacts=write_artifacts)
    files = [path for path in settings.DBT_PROJECT_DIR.rglob("*") if path.is_file()]
    key = _fingerprint(files) + json.dumps([a for a in args if a != "--no-write-json"])
    with _parsed_lock:
        if _parsed is not None and _parsed[0] == key:
            return _parsed[1]
        outcome = _invoke(args)
        if outcome.exception is not None or not outcome.success or outcome.result is None:
            _parsed = None
            raise WarehouseError(f"dbt build could not run: dbt parse failed: {outcome.exception}")
        _parsed = (key, outcome.result)
        return outcome.result


def prepare(dbt_vars: dict[str, Any] | None = None) -> float:
    """Parse the dbt project now and keep it for this process's builds (a long-lived process at start: the demo while
    Airflow's metadata DB migrates); the seconds it took."""
    started = time.perf_counter()
    _parsed_manifest(dbt_vars, write_artifacts=True)
    return time.perf_counter() - started


def parse() -> tuple[str, ...]:
    """Run ``dbt parse`` and return its warnings (deprecations, unused config paths, ...)."""
    warnings: list[str] = []

    def collect(event: Any) -> None:
        if event.info.level in ("warn", "error"):
            warnings.append(f"{event.info.name}: {event.info.msg}")

    outcome = _invoke(dbt_args("parse"), callbacks=[collect])
    if not outcome.success:
        raise WarehouseError(f"dbt parse failed: {outcome.exception or '; '.join(warnings)}")
    return tuple(warnings)


def _manifest_current() -> bool:
    """Whether ``manifest.json`` was written after every file of the dbt project last changed: what readers take from
    it (published marts, their disclosure rules, the data tests) comes from the project's files alone."""
    manifest = settings.data_dir() / DBT_TARGET_SUBDIR / "manifest.json"
    if not manifest.is_file():
        return False
    written = manifest.stat().st_mtime
    return all(path.stat().st_mtime < written for path in settings.DBT_PROJECT_DIR.rglob("*") if path.is_file())


def _fingerprint(paths: Iterable[Path]) -> str:
    """Changes when a file is added, removed, rewritten or touched (a batch landed again replaces its file)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        stat = path.stat()
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _build_inputs(dbt_vars: dict[str, Any] | None) -> dict[str, Any]:
    """What a build's results depend on besides the clock: each landed feed's files, the dbt project and the code
    its models call (name normalisation, identifiers: the ``estelam`` package), the vars, and the warehouse file."""
    from estelam.contracts import registry as contracts

    landing = settings.landing_dir()
    package = Path(__file__).resolve().parents[1]
    code = [path for root in (settings.DBT_PROJECT_DIR, package) for path in root.rglob("*")
            if path.is_file() and "__pycache__" not in path.parts]
    return {
        "warehouse": str(settings.warehouse_path()),
        "code": _fingerprint(code),
        "vars": contract_vars() | (dbt_vars or {}),
        "feeds": {feed: _fingerprint((landing / feed).glob("dt=*/*.parquet")) for feed in sorted(contracts.feeds())},
    }


def _changed_selection(inputs: dict[str, Any]) -> str | None:
    """The dbt selection that brings the warehouse up to ``inputs`` from the last whole build's: the feeds whose
    files changed and everything downstream of them, and every model that reads the clock and what depends on it.
    None (build everything) when there is no record of a last build, or its code, vars or warehouse differ."""
    path = settings.data_dir() / BUILD_INPUTS_FILE
    if not settings.warehouse_path().is_file() or not path.is_file():
        return None
    try:
        last = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if any(last.get(key) != inputs[key] for key in ("warehouse", "code", "vars")):
        return None
    changed = [feed for feed, files in inputs["feeds"].items() if last.get("feeds", {}).get(feed) != files]
    return " ".join([*(f"source:landing.{feed}+" for feed in changed), f"tag:{CLOCK_TAG}+"])


def lineage_selection(models: Sequence[str], within: str | None) -> str:
    """The dbt selection of ``models`` and what they are built from, within the selection ``within`` (a union of
    selectors, as :func:`_changed_selection` gives; None: the whole project)."""
    lineage = [f"+{model}" for model in models]
    if within is None:
        return " ".join(lineage)
    return " ".join(f"{part},{upstream}" for part in within.split() for upstream in lineage)


def build(select: str | None = None, dbt_vars: dict[str, Any] | None = None, *,
          unit_tests: bool = True, data_tests: bool = True, write_artifacts: bool = False,
          changed_only: bool = False, only_for: Sequence[str] = ()) -> BuildSummary:
    """Run ``dbt build`` (seeds, models, snapshots, sources' tests, data and unit tests) into the warehouse.

    ``unit_tests=False`` leaves out dbt's unit tests: they test the models' logic on fixed inputs, not the data,
    so they belong to CI and to ``estelam warehouse build`` (dbt's own advice), not to every scheduled build
    (the warehouse_build DAG), where they were about a fifth of a small build's time. Data tests run unless
    ``data_tests=False``, which only the warehouse benchmark asks for (to time the models alone): like a
    selected build, it records nothing.

    The message log's new entries are landed first (``message_log`` feed), so every inquiry and order row
    built can be traced to its message. Raises WarehouseError naming the failing nodes if any model, test or
    hook fails.

    dbt's JSON artifacts take it ~1.5 s a build to write (the manifest twice): they are written when asked
    (``write_artifacts``, for a benchmark reading ``run_results.json``) or when the project changed since the
    manifest was written; otherwise the last run's ``run_results.json`` is removed, so nobody reads a stale one.

    ``changed_only`` (the scheduled builds) builds only what the batches landed since the last whole build touch,
    plus every model that reads the clock (tagged ``clock``) and what depends on them, with their tests: the other
    tables were built from the same files by the same code and vars, so they stand. Anything else that differs
    (no record, other code, vars or warehouse file) makes it a whole build. A whole or changed-only build that
    succeeds records its inputs; one that fails removes the record, so the next build is whole.

    ``only_for`` (models) narrows the build to what those models are built from: the inquiry round's first task
    builds ``inquiry_targets``' lineage among what changed, with the tests of those nodes only (dbt's cautious
    indirect selection: a test that also reads a node left out waits for the whole build). Such a build records
    nothing, so the next changed-only build still builds everything that changed since the last whole one.
    """
    from estelam.warehouse.message_index import land_message_index  # the record's index, before dbt reads it

    land_message_index()
    inputs_path = settings.data_dir() / BUILD_INPUTS_FILE
    inputs = _build_inputs(dbt_vars) if select is None and data_tests else None
    if changed_only and inputs is not None:
        select = _changed_selection(inputs)
    if only_for:
        select, inputs = lineage_selection(only_for, select), None
    started = time.perf_counter()
    excluded = (() if unit_tests else ("unit_test",)) + (() if data_tests else ("test",))
    logger.info("dbt build started%s%s", f" (select {select})" if select else "",
                f" (without {', '.join(excluded)})" if excluded else "")
    write_artifacts = write_artifacts or not _manifest_current()
    if not write_artifacts:
        (settings.data_dir() / DBT_TARGET_SUBDIR / "run_results.json").unlink(missing_ok=True)
    try:
        manifest = _parsed_manifest(dbt_vars, write_artifacts)
    except WarehouseError:
        inputs_path.unlink(missing_ok=True)
        raise
    outcome = _invoke(dbt_args("build", select, dbt_vars, write_artifacts=write_artifacts,
                               exclude_resource_types=excluded,
                               indirect_selection="cautious" if only_for else None), manifest=manifest)
    duration = time.perf_counter() - started

    results = list(getattr(outcome.result, "results", None) or [])
    failures = [r for r in results if str(r.status) in _FAILED_STATUSES]
    if outcome.exception is not None or failures or not outcome.success:
        inputs_path.unlink(missing_ok=True)
    elif inputs is not None:
        inputs_path.parent.mkdir(parents=True, exist_ok=True)
        inputs_path.write_text(json.dumps(inputs, sort_keys=True), encoding="utf-8")
    if outcome.exception is not None:
        raise WarehouseError(f"dbt build could not run: {outcome.exception}") from outcome.exception
    if failures or not outcome.success:
        detail = "; ".join(f"{_node_name(r)}: {str(r.message or r.status).strip()}{_broken_rules(r)}"
                           for r in failures)
        raise WarehouseError(f"dbt build failed ({len(failures)} nodes): {detail or 'see the dbt log'}")

    def count(resource: str, statuses: frozenset[str] | None = None) -> int:
        return sum(
            1 for r in results
            if str(r.node.resource_type) == resource and (statuses is None or str(r.status) in statuses)
        )

    summary = BuildSummary(
        models=count("model", frozenset({"success"})),
        tests_passed=count("test", _PASSED_TEST_STATUSES),
        tests_failed=count("test", _FAILED_STATUSES),
        tests_warned=count("test", frozenset({"warn"})),
        unit_tests=count("unit_test", _PASSED_TEST_STATUSES),
        skipped=sum(1 for r in results if str(r.status) == "skipped"),
        duration_s=round(duration, 3),
        warnings=tuple(f"{_node_name(r)}: {r.message}" for r in results if str(r.status) == "warn"),
        selected=select,
    )
    logger.info("dbt build done in %.1f s: %d models, %d tests passed, %d unit tests, %d warned",
                summary.duration_s, summary.models, summary.tests_passed, summary.unit_tests, summary.tests_warned)
    return summary


def dbt_manifest() -> dict[str, Any]:
    """dbt's ``manifest.json`` of the last parse or build (under the data directory)."""
    path = settings.data_dir() / DBT_TARGET_SUBDIR / "manifest.json"
    if not path.is_file():
        raise WarehouseError(f"no dbt manifest at {path}: build or parse the warehouse first")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def generate_docs() -> Path:
    """Run ``dbt docs generate`` against the built warehouse; return the catalog's path (under the data dir)."""
    outcome = _invoke(dbt_args("docs generate"))
    if outcome.exception is not None or not outcome.success:
        raise WarehouseError(f"dbt docs generate failed: {outcome.exception or 'see the dbt log'}")
    catalog = settings.data_dir() / DBT_TARGET_SUBDIR / "catalog.json"
    if not catalog.is_file():
        raise WarehouseError(f"dbt docs generate wrote no catalog at {catalog}")
    return catalog


@contextmanager
def connect_read_only(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived read-only connection to the warehouse; close it quickly, a reader blocks builds."""
    path = path or settings.warehouse_path()
    if not path.is_file():
        raise WarehouseError(f"no warehouse at {path}: build it first (`estelam warehouse build`)")
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:  # typically: a build holds the write lock
        raise WarehouseError(f"cannot open the warehouse {path} for reading: {exc}") from exc
    try:
        # a SET, not connect(config=...): the config route does not autoload the icu extension
        connection.execute(f"set TimeZone = '{READER_TIMEZONE}'")
        yield connection
    finally:
        connection.close()


def mart_counts(marts: Sequence[str] = MARTS) -> dict[str, int]:
    """Rows in each of ``marts`` (every published mart by default)."""
    counts: dict[str, int] = {}
    with connect_read_only() as connection:
        for mart in marts:
            row = connection.execute(f'select count(*) from "{MARTS_SCHEMA}"."{mart}"').fetchone()
            counts[mart] = int(row[0]) if row else 0
    return counts
