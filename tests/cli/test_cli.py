"""The ``estelam`` command: every subcommand listed and taught by example, exit codes, dev-only commands."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.core import TyperGroup
from typer.testing import CliRunner

from estelam.access.audit import AuditAction, AuditLog
from estelam.cli import app, progress
from estelam.contracts.registry import load_agency_registry
from estelam.core.exceptions import ContractError, DemoError

SUBCOMMANDS = ("demo", "api", "dashboard", "simulators", "audit", "audit-worker", "warehouse", "bench", "metrics")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and group under ``command``, as the words that reach it."""
    if path:
        yield path
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from _command_paths(sub, (*path, name))


def _fake_module(monkeypatch: pytest.MonkeyPatch, name: str, **attributes: object) -> ModuleType:
    module = ModuleType(name)
    module.__dict__.update(attributes)
    monkeypatch.setitem(sys.modules, name, module)
    return module


def _audit_log(path: Path) -> AuditLog:
    log = AuditLog(path)
    for i in range(4):
        log.record(actor="judge-1", role="judge", action=AuditAction.REPORT_VIEW, purpose="enforcement",
                   person_id=f"000000000{i}", case_id=f"1403-00000{i}")
    return log


def test_help_lists_every_subcommand(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert set(typer.main.get_command(app).commands) == set(SUBCOMMANDS)  # type: ignore[attr-defined]
    for name in SUBCOMMANDS:
        assert f" {name} " in result.stdout, name


def test_every_command_teaches_by_example(runner: CliRunner) -> None:
    paths = list(_command_paths(typer.main.get_command(app)))
    assert ("audit", "who-looked-at") in paths and ("bench", "freeze-plan") in paths
    for path in paths:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example: " in result.stdout and f"estelam {' '.join(path)}" in result.stdout, path


def test_audit_verify_exits_0_on_a_good_log_and_1_on_a_tampered_one(runner: CliRunner, tmp_path: Path) -> None:
    log = _audit_log(tmp_path / "audit.jsonl")
    good = runner.invoke(app, ["audit", "verify", "--log", str(log.path)])
    assert good.exit_code == 0 and "4 entries, last signed 4 entries" in good.stdout and "intact" in good.stdout

    lines = log.path.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[1])
    entry["actor"] = "someone-else"
    lines[1] = json.dumps(entry, ensure_ascii=False, sort_keys=True)
    log.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tampered = runner.invoke(app, ["audit", "verify", "--log", str(log.path)])
    assert tampered.exit_code == 1
    assert "BROKEN" in tampered.stdout and "entry 2: content does not match its hash" in tampered.stderr


def test_audit_who_looked_at_lists_that_persons_lookups(runner: CliRunner, tmp_path: Path) -> None:
    log = _audit_log(tmp_path / "audit.jsonl")
    result = runner.invoke(app, ["audit", "who-looked-at", "0000000002", "--log", str(log.path)])
    assert result.exit_code == 0
    assert result.stdout.count("judge-1 (judge)  report_view  allowed") == 1


def test_an_estelam_error_is_one_line_on_stderr_and_exit_1(runner: CliRunner, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: AuditLog, **checkpoints: object) -> None:
        raise ContractError("the audit log's contract is missing")

    monkeypatch.setattr(AuditLog, "verify", refuse)
    result = runner.invoke(app, ["audit", "verify", "--log", str(tmp_path / "audit.jsonl")])
    assert result.exit_code == 1
    assert result.stderr == "error: the audit log's contract is missing\n"
    assert "Traceback" not in result.output


def test_the_demo_prints_a_line_per_dag_and_per_day_then_the_story(runner: CliRunner,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def run(*, days: int, persons: int | None, cases: int | None, seed: int | None,
            on_step: Callable[[str], None], on_day: Callable[[object], None]) -> SimpleNamespace:
        assert (days, persons, cases, seed) == (5, 60, 24, 7)
        day = SimpleNamespace(seconds=12.5, happenings=["a debtor pays part of case 1403-000001's debt"])
        for dag_id in ("ingest", "build"):
            on_step(dag_id)
        on_day(day)
        return SimpleNamespace(summary={"financial_convictions rows": 1234}, report_path="reports/r.html",
                               days=[day], judge_token="demo-judge", judge_courts=("THR-01", "THR-02"),
                               story=["Found      3 assets"])

    _fake_module(monkeypatch, "simulators.demo", dag_sequence=lambda days: ("ingest", "build"), run=run,
                 day_line=lambda day: f"day 1 · {day.seconds}s",
                 cost_line=lambda result: "each later day 12.5s")
    result = runner.invoke(app, ["demo", "--days", "5", "--persons", "60", "--cases", "24", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "DAG 1/2: ingest\nDAG 2/2: build\n" in result.stdout  # not a terminal: plain lines
    assert "day 1 · 12.5s\n    - a debtor pays part of case 1403-000001's debt\n" in result.stdout
    assert "The story\n  Found      3 assets\n" in result.stdout
    assert "financial_convictions rows" in result.stdout and "1,234" in result.stdout
    assert "the asset report of a case, for a judge: reports/r.html" in result.stdout
    assert "sign in with the token demo-judge" in result.stdout
    assert "s: each later day 12.5s\n" in result.stdout
    assert runner.invoke(app, ["demo", "--days", "3"]).exit_code == 2  # the story needs four days


def test_a_failed_demo_step_is_an_error_line(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def run(**_: object) -> None:
        raise DemoError("DAG asset_inquiries ended failed: {'inquire': 'failed'}")

    _fake_module(monkeypatch, "simulators.demo", dag_sequence=lambda days: ("asset_inquiries",), run=run)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: DAG asset_inquiries ended failed")


@pytest.mark.parametrize(("argv", "modules", "message"), [
    (["demo"], ("simulators", "simulators.demo"),
     "the demo needs the development checkout: simulators/ is not part of a production install"),
    (["simulators"], ("simulators", "simulators.world", "simulators.fleet"),
     "the simulator fleet needs the development checkout: simulators/ is not part of a production install"),
    (["bench", "freeze-plan"], ("benchmarks", "benchmarks.freeze_plan_scale"),
     "the benchmark needs the development checkout: benchmarks/ is not part of a production install"),
])
def test_development_commands_say_they_need_the_checkout(runner: CliRunner, monkeypatch: pytest.MonkeyPatch,
                                                         argv: list[str], modules: tuple[str, ...],
                                                         message: str) -> None:
    for name in modules:  # None in sys.modules: importing it raises ModuleNotFoundError, as on a production install
        monkeypatch.setitem(sys.modules, name, None)
    result = runner.invoke(app, argv)
    assert result.exit_code == 2
    assert result.stderr.strip() == message


@pytest.mark.parametrize("latency", ["0.3", "a,b", "0.4,0.1", "-1,2"])
def test_the_fleets_latency_must_be_a_range_of_seconds(runner: CliRunner, latency: str) -> None:
    result = runner.invoke(app, ["simulators", "--latency", latency])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: --latency takes LOW,HIGH in seconds (0 <= LOW <= HIGH), not {latency!r}"


def test_the_fleet_served_as_a_process_answers_late_by_its_latency() -> None:
    """``estelam simulators --latency`` (the on-demand benchmark's remote agencies): one URL per agency, then
    ``ready``; every inquiry is answered no sooner than the latency asks."""
    import time

    import httpx

    from benchmarks.on_demand_latency import fleet_process

    with tempfile.TemporaryDirectory() as data, fleet_process(10, Path(data) / "endpoints.json",
                                                              latency=(0.3, 0.3)) as urls:
        registry = load_agency_registry()
        assert {i.agency_id for i in registry.instances} <= set(urls)
        assert json.loads((Path(data) / "endpoints.json").read_text(encoding="utf-8")) == urls
        started = time.perf_counter()
        answer = httpx.post(urls["bank_melli"], content=b"<x/>", headers={"content-type": "text/xml"})
        assert answer.status_code >= 400 and time.perf_counter() - started >= 0.3


def test_waiting_for_the_fleet_is_bounded_when_it_hangs_silently_or_dies() -> None:
    import subprocess
    import sys
    import time

    from benchmarks.on_demand_latency import announced_urls
    from estelam.core.exceptions import EstelamError

    def started(code: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)

    talking = started("import sys; print('bank_a\\thttp://127.0.0.1:1/soap'); print('ready'); sys.stdout.flush()")
    assert announced_urls(talking, 30) == {"bank_a": "http://127.0.0.1:1/soap"}
    talking.wait()
    # a URL printed, then silence: the wait ends at the deadline, not when the process does
    silent = started("import sys, time; print('bank_a\\thttp://x'); sys.stdout.flush(); time.sleep(60)")
    began = time.monotonic()
    try:
        with pytest.raises(EstelamError, match="not ready within 1 s"):
            announced_urls(silent, 1)
        assert time.monotonic() - began < 10
    finally:
        silent.kill()
        silent.wait()
    dying = started("raise SystemExit(3)")
    with pytest.raises(EstelamError, match=r"ended before it was ready \(exit 3\)"):
        announced_urls(dying, 30)
    for process in (talking, silent, dying):
        assert process.stdout is not None
        process.stdout.close()


def test_a_module_missing_inside_a_development_package_is_not_hidden(runner: CliRunner,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def import_module(name: str) -> ModuleType:
        raise ModuleNotFoundError("No module named 'faker'", name="faker")

    monkeypatch.setattr("estelam.cli.checkout.importlib.import_module", import_module)
    result = runner.invoke(app, ["demo"])
    assert isinstance(result.exception, ModuleNotFoundError) and result.exception.name == "faker"


def test_bench_passes_only_the_given_options_through(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[list[str]] = []
    _fake_module(monkeypatch, "benchmarks.soap_throughput", main=calls.append)
    _fake_module(monkeypatch, "benchmarks.warehouse_scale", main=calls.append)
    assert runner.invoke(app, ["bench", "soap", "--seconds", "5", "--in-process"]).exit_code == 0
    assert runner.invoke(app, ["bench", "warehouse"]).exit_code == 0
    assert calls == [["--seconds", "5.0", "--in-process"], []]


def test_dashboard_hands_the_process_to_streamlit(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, list[str], dict[str, str]]] = []
    monkeypatch.setattr("estelam.cli.commands.os.execve", lambda *call: calls.append(call))
    assert runner.invoke(app, ["dashboard", "--port", "8600"]).exit_code == 0
    [(executable, command, environment)] = calls
    assert command[:4] == [executable, "-m", "streamlit", "run"] and command[4].endswith("dashboards/app.py")
    assert command[command.index("--server.port") + 1] == "8600"
    assert environment["PYTHONPATH"].split(":")[0] == str(Path(command[4]).parents[1])


def test_progress_is_plain_lines_off_a_terminal_and_a_bar_on_one() -> None:
    plain = io.StringIO()
    with progress(("ingest", "build"), label="DAG", console=Console(file=plain)) as start:
        start("ingest")
        start("build")
    assert plain.getvalue() == "DAG 1/2: ingest\nDAG 2/2: build\n"

    terminal = io.StringIO()
    with progress(("ingest", "build"), label="DAG", console=Console(file=terminal, force_terminal=True)) as start:
        start("ingest")
        start("build")
    assert "DAG 1/2" not in terminal.getvalue() and "\x1b[" in terminal.getvalue()


def test_the_installed_console_script_runs(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "estelam"
    done = subprocess.run([str(script), "--help"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert all(f" {name} " in done.stdout for name in SUBCOMMANDS)


def test_demo_refuses_a_jurisdiction_without_a_profile(runner: CliRunner) -> None:
    result = runner.invoke(app, ["demo", "--jurisdiction", "xx"])
    assert result.exit_code == 2
    assert "no jurisdiction profile 'xx': one of ir, sa" in result.output


def test_the_demo_runs_under_the_jurisdiction_asked_for(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen: list[str] = []

    def run(*, days: int, persons: int | None, cases: int | None, seed: int | None, on_step: Callable[[str], None],
            on_day: Callable[[object], None], jurisdiction: str) -> SimpleNamespace:
        chosen.append(jurisdiction)
        return SimpleNamespace(summary={}, report_path="reports/r.html", days=[], judge_token="demo-judge-sa",
                               judge_courts=("RUH-01",), story=[])

    _fake_module(monkeypatch, "simulators.demo", dag_sequence=lambda days: (), run=run,
                 cost_line=lambda r: "no day ran")
    result = runner.invoke(app, ["demo", "--jurisdiction", "sa"])
    assert result.exit_code == 0, result.output
    assert chosen == ["sa"]
