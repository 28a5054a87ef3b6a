"""``estelam bench`` / ``estelam bench all``: every benchmark with its floor, one table, figures as JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from estelam.cli import app, bench
from estelam.core.settings import PROJECT_ROOT


def test_all_runs_every_benchmark_of_the_directory_and_each_has_a_command() -> None:
    modules = {p.stem for p in (PROJECT_ROOT / "benchmarks").glob("*.py")} - {"__init__", "figures"}
    assert {b.module for b in bench.BENCHMARKS} == modules
    commands = set(typer.main.get_command(bench.bench_app).commands)  # type: ignore[attr-defined]
    assert {b.name for b in bench.BENCHMARKS} | {"all"} == commands


def test_a_benchmark_run_ends_with_its_figures_as_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    figures = bench.run_benchmark(bench.Benchmark("freeze-plan", "freeze_plan_scale", ("--cases", "300",
                                                                                       "--rounds", "1")))
    assert "error" not in figures
    assert figures["benchmark"] == "freeze-plan" and figures["cases"] == 300
    [plan] = figures["headline"]
    assert plan["unit"] == "s" and plan["floor"] > 0
    assert plan["ratio"] == pytest.approx(plan["value"] / plan["floor"], rel=0.05)
    assert len(figures["load_average"]) == 3 and figures["peak_rss_mb"] > 0
    echoed = capsys.readouterr().out.strip().splitlines()
    assert json.loads(echoed[-1].removeprefix("  [freeze-plan] "))["benchmark"] == "freeze-plan"


def test_a_benchmark_that_fails_is_a_failed_row_not_a_crash() -> None:
    failed = bench.run_benchmark(bench.Benchmark("nothing", "no_such_benchmark", ()))
    assert failed["error"] == "exit code 1" and failed["headline"] == []
    assert "FAILED: exit code 1" in bench.table([failed])


def test_bench_alone_runs_all_and_prints_one_table(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def fake(benchmark: bench.Benchmark) -> dict[str, Any]:
        ran.append(benchmark.name)
        return {"benchmark": benchmark.name, "wall_s": 1.0, "load_average": [0.5, 0.4, 0.3],
                "headline": [{"what": f"{benchmark.name} time", "value": 2.0, "unit": "s", "floor": 0.5,
                              "ratio": 4.0}]}

    monkeypatch.setattr(bench, "run_benchmark", fake)
    for argv in (["bench"], ["bench", "all"]):
        ran.clear()
        result = CliRunner().invoke(app, argv)
        assert result.exit_code == 0, result.output
        assert ran == [b.name for b in bench.BENCHMARKS]
        lines = result.stdout.strip().splitlines()
        assert lines[0].split()[:2] == ["benchmark", "figure"]
        assert sum("4.00x" in line for line in lines) == len(bench.BENCHMARKS)
        assert [r["benchmark"] for r in json.loads(lines[-1])["benchmarks"]] == ran


def test_bench_all_exits_1_when_a_benchmark_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "run_benchmark", lambda b: {"benchmark": b.name, "error": "exit code 3",
                                                           "headline": [], "wall_s": 0.1})
    result = CliRunner().invoke(app, ["bench", "all"])
    assert result.exit_code == 1
    assert result.stdout.count("FAILED: exit code 3") == len(bench.BENCHMARKS)
