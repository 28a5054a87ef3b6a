"""The dbt project agrees with the contracts and the domain, and parses without warnings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from estelam.contracts import dbt_sources
from estelam.contracts import registry as contracts
from estelam.core import settings
from estelam.core.domain import CaseEventType
from estelam.warehouse import dbt_build as warehouse
from tests.settings_support import override


def committed_sources() -> dict:
    return yaml.safe_load(dbt_sources.sources_path().read_text(encoding="utf-8"))


def test_committed_sources_file_is_generated_from_the_contracts() -> None:
    committed = dbt_sources.sources_path().read_text(encoding="utf-8")
    assert committed == dbt_sources.render_sources(), (
        "contracts changed: run `python -c 'from estelam import dbt_sources; dbt_sources.write_sources()'`")


def test_every_feed_and_column_is_a_typed_source_column() -> None:
    (source,) = committed_sources()["sources"]
    assert source["name"] == source["schema"] == "landing"
    tables = {t["name"]: t for t in source["tables"]}
    assert set(tables) == set(contracts.feeds())
    for name, contract in contracts.feeds().items():
        columns = {c["name"]: c for c in tables[name]["columns"]}
        assert list(columns) == [*contract.column_names, "_batch_id", "_landed_at"]
        (rules,) = [t["contract_rules"]["arguments"] for t in tables[name]["data_tests"] if "contract_rules" in t]
        for column in contract.columns:
            spec = columns[column.name]
            assert spec["data_type"] == column.duckdb_type
            assert spec["config"]["meta"]["pii"] == column.pii
            assert (column.name in rules["not_null"]) == (not column.nullable)
            allowed = column.rules.get("allowed")
            assert rules["accepted_values"].get(column.name) == ([str(v) for v in allowed] if allowed else None)
        assert {"_batch_id", "_landed_at"} <= set(rules["not_null"])


def test_a_contract_change_changes_the_rendered_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    for path in (settings.contracts_dir() / "feeds").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if path.stem == "vehicles":
            text = text.replace("description: Make and model.", "description: Make and model of the vehicle.")
        (feeds / path.name).write_text(text, encoding="utf-8")
    override(monkeypatch, contracts_dir=tmp_path)
    rendered = dbt_sources.render_sources()
    assert "Make and model of the vehicle." in rendered
    written = dbt_sources.write_sources(tmp_path / "__sources.yml")
    assert written.read_text(encoding="utf-8") == rendered != dbt_sources.sources_path().read_text(encoding="utf-8")


def test_project_vars_follow_the_domain() -> None:
    project = yaml.safe_load((settings.DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    # which accounts the law protects is the bank mapping's protected_when (stg_kinds__assets), no project var
    assert "protected_account_kinds" not in project["vars"]
    ranks = project["vars"]["liquidity_rank"]
    assert sorted(ranks, key=ranks.get) == ["bank_account", "security_holding", "vehicle", "property"]


def test_dbt_parse_has_no_warnings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=tmp_path)
    override(monkeypatch, warehouse=None)
    assert warehouse.parse() == ()
    assert not (settings.DBT_PROJECT_DIR / "target").exists()


def test_staleness_and_registry_rules_are_configuration() -> None:
    from estelam.reporting.asset_report import STALE_AFTER

    project_vars = yaml.safe_load((settings.DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]
    assert project_vars["stale_after_days"] == STALE_AFTER.days
    assert project_vars["registry_retention_days"] > 0
    assert isinstance(project_vars["registry_early_exit_on_proof_of_payment"], bool)
    assert project_vars["as_of"] is None  # the build's clock unless a replay pins it


def test_reply_deadlines_reach_dbt_from_the_agency_registry() -> None:
    registry = contracts.load_agency_registry()
    deadlines = warehouse.contract_vars()["agency_reply_deadlines"]
    assert deadlines == {i.agency_id: i.reply_deadline_s for i in registry.instances}
    args = warehouse.dbt_args("build", dbt_vars={"as_of": "2026-11-20 00:00:00+00"})
    passed = json.loads(args[args.index("--vars") + 1])
    assert passed["as_of"] == "2026-11-20 00:00:00+00" and passed["agency_reply_deadlines"] == deadlines


def test_case_event_types_follow_the_domain() -> None:
    allowed = next(c for c in contracts.feed("case_events").columns if c.name == "event_type").rules["allowed"]
    assert set(allowed) == {str(t) for t in CaseEventType}


def test_the_identity_plugin_is_in_the_profile() -> None:
    profile = yaml.safe_load((settings.DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    (output,) = profile["estelam"]["outputs"].values()
    assert {"module": "estelam.warehouse.duckdb_functions"} in output["plugins"]
