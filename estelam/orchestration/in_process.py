"""Run the DAGs in-process with real Airflow: ``dag.test()`` on a project-local SQLite metadata DB.

The environment must be set before Airflow is first imported, so callers call
``configure_airflow()`` first and import DAG machinery only after it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import warnings
from contextlib import closing
from pathlib import Path
from time import perf_counter
from typing import Any

from estelam.core import settings
from estelam.core.exceptions import DemoError
from estelam.orchestration.pools import ensure_pools

#: Airflow's own chatter goes here instead of the terminal.
AIRFLOW_LOG_LEVEL = "WARNING"


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", settings.data_dir() / "airflow")).resolve()


def configure_airflow() -> Path:
    """Point Airflow at a project-local home and our dags folder; no examples, quiet logs."""
    # Airflow's task runner imports svcs -> starlette's test client, which warns on import: not ours to fix.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient` is deprecated")
    home = airflow_home()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(settings.DAGS_DIR)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ["AIRFLOW__LOGGING__LOGGING_LEVEL"] = AIRFLOW_LOG_LEVEL
    os.environ.setdefault("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}")
    # Task code imports estelam and connectors from the project root.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(settings.PROJECT_ROOT),
                                                            os.environ.get("PYTHONPATH")]))
    return home


def metadata_db_at_head() -> bool:
    """Whether the SQLite metadata DB exists and is at the schema head of the installed Airflow (then
    ``airflow db migrate`` would do nothing but cost a process start: 10-25 s on two busy cores)."""
    from importlib.metadata import version

    from packaging.version import Version

    url = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "")
    path = Path(url.removeprefix("sqlite:///"))
    if not url.startswith("sqlite:///") or not path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            row = db.execute("select version_num from alembic_version").fetchone()
    except sqlite3.Error:
        return False
    from airflow.utils.db import _REVISION_HEADS_MAP  # the schema head of each Airflow release that changed it

    installed = Version(version("apache-airflow-core"))
    released = [Version(v) for v in _REVISION_HEADS_MAP if Version(v) <= installed]
    return bool(row and released and row[0] == _REVISION_HEADS_MAP[str(max(released))])


class MetadataMigration:
    """``airflow db migrate`` running in a subprocess (unless the DB is already at head) while the caller does
    other things: the demo starts its simulators meanwhile. :meth:`wait` ends it and creates the pools."""

    def __init__(self) -> None:
        self.started = perf_counter()
        self._process: subprocess.Popen[str] | None = None
        if not metadata_db_at_head():
            self._process = subprocess.Popen([sys.executable, "-m", "airflow", "db", "migrate"],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                             env=os.environ.copy())

    def __enter__(self) -> MetadataMigration:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None and self._process.poll() is None:  # left before waiting: stop it
            self._process.kill()
            self._process.wait()

    def wait(self) -> float:
        """Seconds since the migration started, once it is done; raises DemoError if it failed."""
        if self._process is not None:
            _, errors = self._process.communicate()
            if self._process.returncode != 0:
                raise DemoError(f"airflow db migrate failed:\n{errors[-2000:]}")
        ensure_pools()  # the DAGs' tasks name pools; a deployment's init step creates the same ones
        return perf_counter() - self.started


def migrate_metadata_db() -> float:
    """``airflow db migrate`` in a subprocess unless the DB is already at head, then the pools; returns seconds."""
    return MetadataMigration().wait()


def warm_up_task_api() -> float:
    """Build Airflow's in-process Execution API (what ``dag.test()``'s tasks report their state to) and have it answer
    one request, so that the first task does not pay for it: the API generates its versioned routes on its first
    request (5-15 s on two busy cores). Needs no metadata DB: the demo calls it while the migration runs. Seconds."""
    import httpx
    from airflow.sdk.execution_time.supervisor import in_process_api_server

    started = perf_counter()
    api = in_process_api_server()  # the one instance dag.test() uses (cached per process)
    with httpx.Client(transport=api.transport, base_url="http://in-process.invalid./") as client:
        client.get("/health").raise_for_status()
    return perf_counter() - started


def load_dags() -> dict[str, Any]:
    """Every DAG in the dags folder; import errors are fatal, with the file and the error."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(settings.DAGS_DIR))
    if bag.import_errors:
        raise DemoError(f"DAG import errors: {bag.import_errors}")
    return dict(bag.dags)


def run_dag(dag: Any) -> tuple[str, float, dict[str, str]]:
    """``dag.test()`` one DAG; returns its final state, seconds, and each task's state."""
    started = perf_counter()
    quiet = logging.getLogger("airflow")
    previous = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        run = dag.test()
    finally:
        quiet.setLevel(previous)
    seconds = perf_counter() - started
    if run is None:
        raise DemoError(f"DAG {dag.dag_id} did not start")
    tasks = {}
    for ti in run.get_task_instances():
        name = ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"
        tasks[name] = str(ti.state)
    return str(run.state), seconds, tasks
