"""The deployment files: the compose file against the Compose Specification, health checks, secrets only
from the environment, the image from the lock file, the simulators' endpoints, and the pools the DAGs use."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from estelam.core import settings
from estelam.orchestration.pools import POOLS, SIMULATORS_SERVICE, WAREHOUSE_POOL, simulator_endpoints

ROOT = settings.PROJECT_ROOT
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_SCHEMA = Path(__file__).parents[1] / "fixtures" / "compose-spec.json"
#: The vendored schema declares draft 2019-09 as "http://json-schema.org/draft/2019-09/schema#", a spelling
#: jsonschema no longer looks up (it warns, and will fail): name the draft instead.
COMPOSE_VALIDATOR = jsonschema.Draft201909Validator
ENV_EXAMPLE = ROOT / ".env.example"
#: ${NAME}, ${NAME:-default}, ${NAME:?message}; $$ escapes a dollar for the container's shell.
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?])([^}]*))?\}")
SECRET_WORDS = ("PASSWORD", "SECRET", "FERNET", "TOKEN", "CRED")
AIRFLOW_SERVICES = ("airflow-api-server", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer",
                    "airflow-worker")
SERVING_SERVICES = ("estelam-api", "dashboard")


def _names_a_secret(key: str) -> bool:
    """A key whose value is a secret itself (not a path to a secret file)."""
    return any(word in key for word in SECRET_WORDS) and not key.endswith("_FILE")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _env_example() -> dict[str, str]:
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(COMPOSE_VALIDATOR(schema).iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_the_schema_check_rejects_a_broken_compose_file(compose: dict[str, Any]) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    broken = {**compose, "services": {**compose["services"], "redis": {**compose["services"]["redis"],
                                                                       "healthcheck": {"tset": "typo"}}}}
    assert not COMPOSE_VALIDATOR(schema).is_valid(broken)


def test_every_service_the_hub_needs_is_there(compose: dict[str, Any]) -> None:
    expected = {"postgres", "redis", "airflow-init", *AIRFLOW_SERVICES, *SERVING_SERVICES, SIMULATORS_SERVICE}
    assert expected <= set(compose["services"])


def test_every_service_has_a_health_check(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no health check"
        assert check.get("interval") and check.get("retries"), f"{name}: health check without interval/retries"


def test_airflow_runs_celery_on_postgres_and_redis(compose: dict[str, Any]) -> None:
    for name in AIRFLOW_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://"), name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql"), name
        depends = compose["services"][name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name


def test_workers_can_be_scaled(compose: dict[str, Any]) -> None:
    worker = compose["services"]["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker  # both would clash under --scale


def test_simulators_are_a_profile_production_leaves_out(compose: dict[str, Any]) -> None:
    assert compose["services"][SIMULATORS_SERVICE]["profiles"] == ["simulators"]
    assert all("profiles" not in s for n, s in compose["services"].items() if n != SIMULATORS_SERVICE)


def test_published_ports_bind_loopback_unless_configured(compose: dict[str, Any]) -> None:
    env = _env_example()
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            bind = INTERPOLATION.sub(lambda m: m.group(3) if m.group(2) == ":-" else env.get(m.group(1), ""),
                                     str(port))
            assert bind.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback by default"


def test_no_secret_is_written_in_the_compose_file(compose: dict[str, Any]) -> None:
    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}/{index}")
        elif isinstance(node, str) and _names_a_secret(path.upper().rsplit("/", 1)[-1]):
            assert INTERPOLATION.search(node), f"{path} holds a literal secret"
            for match in INTERPOLATION.finditer(node):
                assert match.group(2) != ":-", f"{path}: a secret must not have a default ({match.group(0)})"

    walk(compose, "")
    for url_key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__BROKER_URL"):
        value = compose["services"]["airflow-scheduler"]["environment"][url_key]
        assert re.search(r"://[^@]*:\$\{[A-Z_]+:\?", value), f"{url_key} must take its password from the environment"


def test_every_variable_the_compose_file_reads_is_in_env_example() -> None:
    used = {m.group(1) for m in INTERPOLATION.finditer(COMPOSE_FILE.read_text(encoding="utf-8"))}
    required = {m.group(1) for m in INTERPOLATION.finditer(COMPOSE_FILE.read_text(encoding="utf-8"))
                if m.group(2) == ":?"}
    documented = _env_example()
    assert used - set(documented) == set(), "variables missing from .env.example"
    assert {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_FERNET_KEY"} <= required
    assert all(documented[name].startswith("change-me") for name in required), "a real secret in .env.example?"


def test_the_image_installs_the_locked_environment() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    syncs = re.findall(r"uv sync ([^\n\\&]*)", dockerfile)
    assert syncs and all("--frozen" in s for s in syncs)
    assert "COPY pyproject.toml uv.lock" in dockerfile
    assert re.search(r"^USER (?!root)", dockerfile, re.MULTILINE), "the image must not run as root"


def test_endpoints_file_points_every_agency_at_the_simulators_service() -> None:
    shipped = json.loads((ROOT / "deploy" / "endpoints.json").read_text(encoding="utf-8"))
    assert shipped == simulator_endpoints()
    assert all(f"//{SIMULATORS_SERVICE}:" in url for url in shipped.values())
    assert json.loads((ROOT / "deploy" / "endpoints.production.json").read_text(encoding="utf-8")) == {}


def test_credentials_example_names_every_agency_secret_and_holds_none() -> None:
    text = (ROOT / "deploy" / "agency-credentials.env.example").read_text(encoding="utf-8")
    referenced = set(re.findall(r"env:(ESTELAM_CRED_[A-Z0-9_]+)",
                                (settings.contracts_dir() / "agencies.yaml").read_text(encoding="utf-8")))
    assert referenced and referenced <= set(re.findall(r"^# (ESTELAM_CRED_[A-Z0-9_]+)=$", text, re.MULTILINE))
    assert not [line for line in text.splitlines() if line and not line.startswith("#")]


def test_dag_tasks_use_only_pools_that_exist_with_enough_slots() -> None:
    from estelam.orchestration.in_process import load_dags

    pools = {pool.name: pool.slots for pool in POOLS} | {"default_pool": 128}
    used: dict[str, set[str]] = {}
    for dag in load_dags().values():
        for task in dag.tasks:
            assert task.pool in pools, f"{dag.dag_id}.{task.task_id} uses unknown pool {task.pool}"
            assert task.pool_slots <= pools[task.pool], f"{dag.dag_id}.{task.task_id} can never start"
            used.setdefault(task.pool, set()).add(f"{dag.dag_id}.{task.task_id}")
    writer = "warehouse_build.dbt_build"
    assert writer in used[WAREHOUSE_POOL]
    dags = load_dags()
    for build in (dags["warehouse_build"].get_task("dbt_build"), dags["asset_inquiries"].get_task("plan_round")):
        assert build.pool_slots == pools[WAREHOUSE_POOL], "a dbt writer must exclude every warehouse reader"
    assert {"asset_inquiries.inquire", "freeze_reconciliation.reconcile",
            "warehouse_build.publish_kpis"} <= used[WAREHOUSE_POOL]


@pytest.mark.e2e
def test_the_demo_path_creates_the_pools(demo_cycle: Any) -> None:
    from airflow.models.pool import Pool

    for pool in POOLS:
        assert Pool.get_pool(pool.name) is not None
        assert Pool.get_pool(pool.name).slots == pool.slots


def test_the_wheel_holds_no_simulator_nor_benchmark(tmp_path: Path) -> None:
    """What `uv build --wheel` ships: the hub's packages only, never the development ones."""
    uv = ROOT / ".tools" / "bin" / "uv"
    assert uv.is_file(), "make install puts uv in .tools/bin"
    source = tmp_path / "source"  # a copy: setuptools writes build/ and *.egg-info beside the sources
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("estelam", "connectors", "simulators", "benchmarks", "dags"):
        shutil.copytree(ROOT / folder, source / folder, ignore=skip)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    subprocess.run([str(uv), "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(source)], check=True,
                   capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("estelam-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {"estelam", "connectors"} <= tops
    assert not tops & {"simulators", "benchmarks", "tests", "dags"}, tops
    assert "estelam/reporting/templates/asset_report.html.j2" in zipfile.ZipFile(wheel).namelist()


def test_the_production_image_copies_no_simulator() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    production, _, simulators = dockerfile.partition("AS simulators")
    assert "simulators" not in re.findall(r"^COPY[^\n]*", production, re.MULTILINE).__str__()
    assert "COPY . ." not in production
    assert re.search(r"^COPY [^\n]*simulators", simulators, re.MULTILINE)
