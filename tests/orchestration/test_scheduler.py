"""The whole cycle under Airflow's own distributed machinery, not ``dag.test()``.

Starts, against a fresh database on the local PostgreSQL and a free Redis database number,
Airflow's dag-processor, scheduler, api-server and a Celery worker (the CeleryExecutor, with
its result backend in PostgreSQL); the agency simulators run in this process on loopback.
Triggers the DAGs through the REST API v2 (a JWT from the simple auth manager), lets the
Assets chain the rest, waits until nothing runs or waits, and checks the marts and freezes.

Every server binds 127.0.0.1. Airflow 3.3's log server has no host setting (it binds every
interface), so the scheduler and the worker run with ``--skip-serve-logs``: they share one
AIRFLOW_HOME with the api-server, which reads task logs from disk. The test asserts that no
process it started listens beyond loopback, and stops every process group it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from estelam.core import settings
from tests.postgres_support import throwaway_database

pytestmark = pytest.mark.scheduler

# Airflow 3 opens an async engine on its metadata database too: PostgreSQL needs asyncpg.
pytest.importorskip("asyncpg", reason="asyncpg (Airflow's async PostgreSQL driver) is not installed")

LOOPBACK = "127.0.0.1"
POSTGRES_PORT = 5432
REDIS_PORT = 6379
#: Redis keeps 16 numbered databases by default; the test takes the first empty one.
REDIS_DATABASES = 16
CELERY_CONCURRENCY = 4
#: Seconds to wait for the api-server and the DAG files to appear.
STARTUP_TIMEOUT_S = 120
#: Seconds each phase of the cycle may take.
PHASE_TIMEOUT_S = 300
#: The cycle is over when nothing ran or waited over this many seconds (several scheduler loops).
QUIET_PERIOD_S = 12
POLL_S = 2
STOP_GRACE_S = 20
DAG_IDS = ("case_events_ingest", "warehouse_build", "asset_inquiries", "freeze_reconciliation")
ACTIVE_STATES = ("queued", "running")
SCHEDULER_PERSONS = 60
SCHEDULER_CASES = 24
#: A registry of six agencies, one or more of every kind: under a real executor each mapped inquiry is its
#: own task process that imports pandas and Great Expectations (≈10 s idle, ≈40 s on a loaded 2-core
#: machine), so the thirty banks would take CI minutes without testing anything more about the scheduler.
SCHEDULER_AGENCIES = ("bank_melli", "bank_mellat", "bank_saderat", "csdi", "traffic_police", "land_registry")


def _small_registry(target: Path) -> Path:
    """A copy of the contracts folder whose registry keeps only SCHEDULER_AGENCIES; returns the folder."""
    import shutil

    import yaml

    shutil.copytree(settings.contracts_dir(), target)
    registry = target / "agencies.yaml"
    spec = yaml.safe_load(registry.read_text(encoding="utf-8"))
    spec["instances"] = [i for i in spec["instances"] if i["agency_id"] in SCHEDULER_AGENCIES]
    assert {i["agency_id"] for i in spec["instances"]} == set(SCHEDULER_AGENCIES)
    registry.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((LOOPBACK, port)) == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh database ``estelam_test_<random>`` on the local PostgreSQL, dropped afterwards."""
    with throwaway_database() as name:
        yield name


@pytest.fixture
def redis_database() -> Iterator[int]:
    """The first empty numbered Redis database, emptied again afterwards."""
    if not _port_open(REDIS_PORT):
        pytest.skip("no Redis on 127.0.0.1:6379")
    import redis

    used = redis.Redis(host=LOOPBACK, port=REDIS_PORT).info("keyspace")
    free = [n for n in range(1, REDIS_DATABASES) if f"db{n}" not in used]
    if not free:
        pytest.skip("every Redis database number holds keys")
    yield free[0]
    redis.Redis(host=LOOPBACK, port=REDIS_PORT, db=free[0]).flushdb()


@dataclass
class AirflowCluster:
    """Airflow's processes for one test: each in its own process group, logs in files."""

    home: Path
    env: dict[str, str]
    api_url: str
    password: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: list[Any] = field(default_factory=list)

    def start(self, name: str, *args: str) -> None:
        log = (self.home / f"{name}.out").open("wb")
        self.logs.append(log)
        self.processes[name] = subprocess.Popen([sys.executable, "-m", "airflow", *args], env=self.env,
                                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL what is left after a grace period."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # also children the leader left behind
            process.wait()
        for log in self.logs:
            log.close()

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"airflow {name} exited with {process.returncode}:\n{self.tail(name)}")

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.home / f"{name}.out"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def listening_addresses(self) -> set[tuple[str, int, str]]:
        """(address, port, process) of every listening socket of every process this cluster started."""
        import psutil

        found: set[tuple[str, int, str]] = set()
        for name, leader in self.processes.items():
            try:
                family = [psutil.Process(leader.pid), *psutil.Process(leader.pid).children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for process in family:
                try:
                    connections = process.net_connections(kind="inet")
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                found |= {(c.laddr.ip, c.laddr.port, name) for c in connections if c.status == psutil.CONN_LISTEN}
        return found


class ApiClient:
    """Airflow's REST API v2 with a JWT from the simple auth manager."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        import httpx

        token = httpx.post(f"{base_url}/auth/token", json={"username": username, "password": password},
                           timeout=30).raise_for_status().json()["access_token"]
        self.http = httpx.Client(base_url=f"{base_url}/api/v2", timeout=30,
                                 headers={"Authorization": f"Bearer {token}"})

    def close(self) -> None:
        self.http.close()

    def dag_ids(self) -> set[str]:
        return {d["dag_id"] for d in self.http.get("/dags").raise_for_status().json()["dags"]}

    def unpause(self, dag_id: str) -> None:
        self.http.patch(f"/dags/{dag_id}", json={"is_paused": False}).raise_for_status()

    def trigger(self, dag_id: str) -> str:
        run = self.http.post(f"/dags/{dag_id}/dagRuns", json={"logical_date": None}).raise_for_status().json()
        return str(run["dag_run_id"])

    def runs(self) -> list[dict[str, Any]]:
        body = self.http.get("/dags/~/dagRuns", params={"limit": 100}).raise_for_status().json()
        return list(body["dag_runs"])

    def task_durations(self, dag_id: str, run_id: str, task_id: str) -> list[float]:
        """Seconds each instance of ``task_id`` (every map index) ran, as Airflow recorded them."""
        body = self.http.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                             params={"limit": 200}).raise_for_status().json()
        return [float(t["duration"]) for t in body["task_instances"]
                if t["task_id"] == task_id and t.get("duration") is not None]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        body = self.http.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                             params={"limit": 200}).raise_for_status().json()
        return {f"{t['task_id']}[{t['map_index']}]": str(t["state"]) for t in body["task_instances"]}


#: Set to LocalExecutor to run the test without Celery (the fallback path).
EXECUTOR_ENV = "ESTELAM_SCHEDULER_TEST_EXECUTOR"


def celery_unusable() -> str | None:
    """Why the CeleryExecutor cannot run here, or None when it can."""
    if os.environ.get(EXECUTOR_ENV) == "LocalExecutor":
        return f"{EXECUTOR_ENV}=LocalExecutor"
    try:
        import airflow.providers.celery.executors.celery_executor_utils  # noqa: F401
    except ImportError as exc:  # e.g. celery 5.7 removed what provider 3.26 imports
        return f"{type(exc).__name__}: {exc}"
    return None


def _airflow_env(home: Path, data: Path, contracts: Path, endpoints: Path, database: str, redis_db: int,
                 api_port: int, password_file: Path, executor: str) -> dict[str, str]:
    postgres = f"postgres@{LOOPBACK}:{POSTGRES_PORT}/{database}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "ESTELAM_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": executor,
        "AIRFLOW__CORE__PARALLELISM": str(CELERY_CONCURRENCY),
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{LOOPBACK}:{api_port}/execution/",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg2://{postgres}",
        "AIRFLOW__CELERY__BROKER_URL": f"redis://{LOOPBACK}:{REDIS_PORT}/{redis_db}",
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg2://{postgres}",
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(CELERY_CONCURRENCY),
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "estelam.cli.worker.CELERY_CONFIG",  # as docker-compose.yml
        "AIRFLOW__API__HOST": LOOPBACK,
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
        # never served (--skip-serve-logs) but kept off the defaults other Airflows on the machine use
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "ESTELAM_DATA_DIR": str(data),
        "ESTELAM_CONTRACTS_DIR": str(contracts),
        settings.ENDPOINTS_FILE_ENV: str(endpoints),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(settings.PROJECT_ROOT), os.environ.get("PYTHONPATH")])),
    })
    return env


def _wait(what: str, cluster: AirflowCluster, predicate: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cluster.check_alive()
        value = predicate()
        if value:
            return value
        time.sleep(POLL_S)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n"
                         f"scheduler:\n{cluster.tail('scheduler')}\nworker:\n{cluster.tail('worker')}")


def _settle(api: ApiClient, cluster: AirflowCluster, done: Any) -> list[dict[str, Any]]:
    """Wait until ``done(runs)`` holds and no run was queued or running for QUIET_PERIOD_S; fail on a failed run."""
    quiet_since: float | None = None

    def settled() -> list[dict[str, Any]] | None:
        nonlocal quiet_since
        runs = api.runs()
        failed = [r for r in runs if r["state"] == "failed"]
        if failed:
            run = failed[0]
            states = api.task_states(run["dag_id"], run["dag_run_id"])
            raise AssertionError(f"DAG run {run['dag_id']}/{run['dag_run_id']} failed: {states}\n"
                                 f"worker:\n{cluster.tail('worker')}")
        if any(r["state"] in ACTIVE_STATES for r in runs) or not done(runs):
            quiet_since = None
            return None
        quiet_since = quiet_since or time.monotonic()
        return runs if time.monotonic() - quiet_since >= QUIET_PERIOD_S else None

    return _wait("the DAG runs to settle", cluster, settled, PHASE_TIMEOUT_S)


def _succeeded(runs: list[dict[str, Any]], dag_id: str) -> int:
    return sum(1 for r in runs if r["dag_id"] == dag_id and r["state"] == "success")


@pytest.mark.e2e
def test_full_cycle_under_a_real_scheduler(tmp_path: Path, postgres_database: str, redis_database: int) -> None:
    from estelam.contracts.registry import load_agency_registry
    from estelam.warehouse.dbt_build import connect_read_only
    from simulators import world as world_module
    from simulators.court import drop_case_events
    from simulators.fleet import Fleet

    started = time.monotonic()
    home, data = tmp_path / "airflow", tmp_path / "data"
    home.mkdir()
    password_file = home / "passwords.json"
    password = secrets.token_urlsafe(16)
    password_file.write_text(json.dumps({"admin": password}))
    api_port = _free_port()
    endpoints = data / "run" / "endpoints.json"
    why_not_celery = celery_unusable()
    executor = "LocalExecutor" if why_not_celery else "CeleryExecutor"
    if why_not_celery:
        print(f"\nCelery cannot run here ({why_not_celery}): the scheduler runs the LocalExecutor")
    contracts = _small_registry(tmp_path / "contracts")
    env = _airflow_env(home, data, contracts, endpoints, postgres_database, redis_database, api_port, password_file,
                       executor)

    migrate = subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True,
                             text=True, check=False)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    bootstrap = subprocess.run([sys.executable, "-m", "estelam.orchestration.pools"], env=env, capture_output=True,
                               text=True, check=False)
    assert bootstrap.returncode == 0, bootstrap.stderr[-3000:]

    registry = load_agency_registry(contracts / "agencies.yaml")
    world = world_module.generate(registry.instances, seed=world_module.DEFAULT_SEED,
                                  n_persons=SCHEDULER_PERSONS, n_cases=SCHEDULER_CASES)
    cluster = AirflowCluster(home, env, f"http://{LOOPBACK}:{api_port}", password)
    api: ApiClient | None = None
    with Fleet.start(registry, world) as fleet:
        fleet.write_endpoints(endpoints)
        assert drop_case_events(world, data / "inbox")
        try:
            cluster.start("api-server", "api-server", "--host", LOOPBACK, "--port", str(api_port))
            cluster.start("dag-processor", "dag-processor")
            cluster.start("scheduler", "scheduler", "--skip-serve-logs")
            if not why_not_celery:
                cluster.start("worker", "celery", "worker", "--skip-serve-logs", "--without-mingle",
                              "--without-gossip", "--concurrency", str(CELERY_CONCURRENCY))
            _wait("the api-server", cluster, lambda: _port_open(api_port), STARTUP_TIMEOUT_S)
            api = ApiClient(cluster.api_url, "admin", password)
            _wait("the DAGs to be parsed", cluster, lambda: set(DAG_IDS) <= api.dag_ids(), STARTUP_TIMEOUT_S)
            exposed = {a for a in cluster.listening_addresses() if a[0] not in {LOOPBACK, "::1"}}
            assert not exposed, f"processes listen beyond loopback: {exposed}"

            # Asset-scheduled DAGs must be unpaused to be triggered by the events of the others.
            for dag_id in ("warehouse_build", "freeze_reconciliation"):
                api.unpause(dag_id)
            api.trigger("case_events_ingest")
            api.unpause("case_events_ingest")
            _settle(api, cluster, lambda runs: _succeeded(runs, "warehouse_build") >= 1
                    and _succeeded(runs, "freeze_reconciliation") >= 1)

            builds_before = _succeeded(api.runs(), "warehouse_build")
            api.trigger("asset_inquiries")
            api.unpause("asset_inquiries")
            runs = _settle(api, cluster, lambda runs: _succeeded(runs, "asset_inquiries") >= 1
                           and _succeeded(runs, "warehouse_build") >= builds_before + 2)

            exposed = {a for a in cluster.listening_addresses() if a[0] not in {LOOPBACK, "::1"}}
            assert not exposed, f"processes listen beyond loopback: {exposed}"
            held = fleet.held_freezes()
            inquiries = next(r for r in runs if r["dag_id"] == "asset_inquiries")
            inquire_s = api.task_durations("asset_inquiries", inquiries["dag_run_id"], "inquire")
            worker_log = cluster.tail("worker", chars=10_000_000)
        finally:
            if api is not None:
                api.close()
            cluster.stop()

    assert {r["dag_id"] for r in runs} == set(DAG_IDS)
    assert all(r["state"] == "success" for r in runs)
    assert held, "no agency holds a freeze after the cycle"
    with connect_read_only(data / "warehouse.duckdb") as con:
        for mart in ("financial_convictions", "asset_report", "freeze_plan", "persons"):
            rows = con.execute(f'select count(*) from main."{mart}"').fetchone()
            assert rows and rows[0] > 0, f"mart {mart} is empty"
    if not why_not_celery:  # the worker preloaded the tasks' modules and GX before forking (estelam.cli.worker)
        assert "worker preloaded the tasks' modules" in worker_log, worker_log[-3000:]
    print(f"\nscheduler cycle ({executor}): {len(runs)} DAG runs in {time.monotonic() - started:.0f}s; "
          f"mapped inquiry tasks took {', '.join(f'{s:.1f}' for s in sorted(inquire_s))} s")
