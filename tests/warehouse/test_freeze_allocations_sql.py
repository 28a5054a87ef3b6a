"""The warehouse's freeze allocation (SQL window functions) is the planner's, row for row.

``dbt/models/intermediate/int_freeze_allocations.sql`` is rendered as dbt would (``ref``, ``source`` and ``var``
resolved to in-memory tables) and run on DuckDB over generated cases, assets and acknowledgements; its rows must
equal :func:`estelam.freeze.planner.plan_table` on the same input, the one definition of the plan.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import pyarrow as pa
import pytest
import yaml

from estelam.core import settings
from estelam.freeze.planner import (
    LIQUIDITY_RANK,
    PLAN_SCHEMA,
    SUBSISTENCE_MINIMUM_RIAL,
    KnownAsset,
    OpenCase,
    asset_news,
    plan_freezes,
    plan_table,
)

MODEL = settings.DBT_PROJECT_DIR / "models" / "intermediate" / "int_freeze_allocations.sql"
T0 = datetime(2026, 11, 1, tzinfo=UTC)
AGENCIES = {"bank_account": ("bank_a", "bank_b", "bank_c"), "security_holding": ("csdi",),
            "vehicle": ("traffic_police",), "property": ("land_registry",)}
#: A mapped kind's liquidity rank: after the built-in liquid kinds, before vehicles' rank would matter.
MAPPED_RANK = 5
#: Few distinct values, so that capacities, filing times and acknowledgement times tie often.
VALUES = (0, 50, 100, 100, 150, 200, 300, 300, 500, 800, 1_000, 2_500)


def render(subsistence_minimum_rial: int) -> str:
    """The model's SQL with dbt's ``ref``, ``source`` and ``var`` resolved to this test's tables."""
    variables = {"subsistence_minimum_rial": subsistence_minimum_rial}
    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(MODEL.read_text(encoding="utf-8"))
    return template.render(ref=lambda name: name, source=lambda _source, name: name, var=variables.__getitem__)


def corpus(seed: int, debtors: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Cases, assets and acknowledgements (rows shaped like int_cases, int_assets_latest and the ack feed)."""
    rng = random.Random(seed)
    cases: list[dict[str, Any]] = []
    assets: list[dict[str, Any]] = []
    acks: list[dict[str, Any]] = []
    for d in range(debtors):
        person = f"P{d:05d}"
        kind = rng.choice(["natural", "natural", "legal"])
        for c in range(rng.choice([1, 1, 2, 3, 4])):
            cases.append({
                "case_id": f"1403-{d:05d}-{rng.randrange(10)}{c}", "person_id": person,
                # a debtor's later case may be filed as another kind: the oldest open case decides
                "person_kind": kind if rng.random() < 0.95 else rng.choice(["natural", "legal"]),
                "filed_at": T0 + timedelta(days=rng.randrange(3)),  # equal filing times: case_id decides
                "outstanding_rial": rng.choice([0, 100, 300, 700, 1_000, 2_000, 4_000, 9_000]),
                "status": "open" if rng.random() < 0.85 else "closed",
            })
        for a in range(rng.randrange(8)):
            asset_kind = rng.choice(["bank_account", "bank_account", "bank_account", "security_holding",
                                     "vehicle", "vehicle", "property"])
            agency = rng.choice(AGENCIES[asset_kind])
            # a few assets are held jointly: the same reference at the agency for two debtors
            ref = f"JOINT-{rng.randrange(20)}" if rng.random() < 0.03 else f"{person}-{a}"
            assets.append({
                "person_id": person, "agency_id": agency, "asset_kind": asset_kind, "asset_ref": ref,
                "value_rial": None if rng.random() < 0.03 else rng.choice(VALUES) * rng.choice([1, 1, 1, 10]),
                "learned_at": T0 + timedelta(days=rng.randrange(4)),
                "is_protected": asset_kind == "bank_account" and rng.random() < 0.2,
                "liquidity_rank": LIQUIDITY_RANK[asset_kind], "can_freeze": True,
            })
    case_ids = [c["case_id"] for c in cases]
    for n, asset in enumerate(rng.sample(assets, k=len(assets) // 3)):
        for k in range(rng.randrange(1, 5)):
            order_kind = rng.choice(["freeze", "freeze", "freeze", "transfer", "release", None])
            status = rng.choice(["done", "done", "partial", "refused", "unknown_asset"])
            acks.append({
                "order_id": f"O{n:05d}-{k}", "order_kind": order_kind, "agency_id": asset["agency_id"],
                "case_id": rng.choice(case_ids) if rng.random() < 0.2 else
                rng.choice([c for c in case_ids if c.startswith(f"1403-{asset['person_id'][1:]}")] or case_ids),
                "asset_ref": asset["asset_ref"], "status": status,
                "acknowledged_amount_rial": rng.choice([0, 50, 100, 300, 1_000]),
                "frozen_total_rial": rng.choice([0, 50, 100, 300, 1_000]),
                # before, at and after the report; equal times within one asset's log
                "acknowledged_at": T0 + timedelta(days=rng.randrange(5), hours=rng.choice([0, 0, 6])),
                "reason": None,
            })
    # a mapped kind's liquid assets (their rank the mapping's), some without a freeze operation: never planned
    mapped = random.Random(seed + 1_000)
    for person in sorted({a["person_id"] for a in assets}):
        if mapped.random() < 0.15:
            assets.append({
                "person_id": person, "agency_id": "social_security_org", "asset_kind": "salary",
                "asset_ref": f"W-{person}", "value_rial": mapped.choice(VALUES),
                "learned_at": T0 + timedelta(days=mapped.randrange(4)), "is_protected": False,
                "liquidity_rank": MAPPED_RANK, "can_freeze": mapped.random() < 0.7,
            })
    return cases, assets, acks


def replay_order(ack: dict[str, Any]) -> tuple[Any, ...]:
    """The model's tie order for acknowledgements at the same instant (nulls last, as DuckDB sorts)."""
    kind = ack["order_kind"]
    return (ack["acknowledged_at"], ack["order_id"], kind is None, kind or "", ack["status"], ack["case_id"],
            ack["acknowledged_amount_rial"], ack["frozen_total_rial"])


def sql_plan(cases: list[dict[str, Any]], assets: list[dict[str, Any]], acks: list[dict[str, Any]],
             subsistence_minimum_rial: int) -> list[tuple[Any, ...]]:
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        tables = {
            "int_cases": (cases, pa.schema([
                ("case_id", pa.string()), ("person_id", pa.string()), ("person_kind", pa.string()),
                ("filed_at", pa.timestamp("us", tz="UTC")), ("outstanding_rial", pa.int64()),
                ("status", pa.string())])),
            "int_assets_latest": (assets, pa.schema([
                ("person_id", pa.string()), ("agency_id", pa.string()), ("asset_kind", pa.string()),
                ("asset_ref", pa.string()), ("value_rial", pa.int64()), ("learned_at", pa.timestamp("us", tz="UTC")),
                ("is_protected", pa.bool_()), ("liquidity_rank", pa.int32()), ("can_freeze", pa.bool_())])),
            "freeze_acknowledgements": (acks, pa.schema([
                ("order_id", pa.string()), ("order_kind", pa.string()), ("agency_id", pa.string()),
                ("case_id", pa.string()), ("asset_ref", pa.string()), ("status", pa.string()),
                ("acknowledged_amount_rial", pa.int64()), ("frozen_total_rial", pa.int64()),
                ("acknowledged_at", pa.timestamp("us", tz="UTC")), ("reason", pa.string())])),
        }
        for name, (rows, schema) in tables.items():
            arrow = pa.Table.from_pylist(rows, schema=schema)  # noqa: F841 - read by DuckDB's replacement scan
            con.execute(f"create table {name} as select * from arrow")
        relation = con.sql(render(subsistence_minimum_rial))
        assert relation.columns == PLAN_SCHEMA.names
        return sorted(relation.fetchall())
    finally:
        con.close()


def python_plan(cases: list[dict[str, Any]], assets: list[dict[str, Any]], acks: list[dict[str, Any]],
                subsistence_minimum_rial: int, replay: list[dict[str, Any]] | None = None) -> list[tuple[Any, ...]]:
    """The planner's rows; with ``replay``, those acknowledgements' news but none of their holds (a fresh plan)."""
    if replay is None:
        table = plan_table(cases, assets, sorted(acks, key=replay_order),  # type: ignore[arg-type]
                           subsistence_minimum_rial=subsistence_minimum_rial)
        return sorted(tuple(row.values()) for row in table.to_pylist())
    news, collected = asset_news(sorted(replay, key=replay_order))  # type: ignore[arg-type]
    open_cases = [OpenCase(c["case_id"], c["person_id"], c["person_kind"], c["filed_at"], c["outstanding_rial"])
                  for c in cases if c["status"] == "open"]
    known = [KnownAsset(a["person_id"], a["agency_id"], a["asset_kind"], a["asset_ref"], a["value_rial"],
                        a["learned_at"], a["is_protected"], None if a["asset_kind"] in LIQUIDITY_RANK
                        else a["liquidity_rank"])
             for a in assets if a["value_rial"] is not None and a.get("can_freeze", True)]
    plan = plan_freezes(open_cases, known, news, collected=collected, subsistence_minimum_rial=subsistence_minimum_rial)
    return sorted(tuple(getattr(row, name) for name in PLAN_SCHEMA.names) for row in plan)


@pytest.mark.parametrize(("seed", "minimum"), [(1, 0), (2, 150), (3, 400), (4, 1_000)])
def test_sql_allocation_equals_the_planner(seed: int, minimum: int) -> None:
    cases, assets, acks = corpus(seed, debtors=1_500)
    expected = python_plan(cases, assets, acks, minimum)
    assert sql_plan(cases, assets, acks, minimum) == expected

    # the corpus reaches every branch of the plan, so equality says something
    indivisible = [row for row in expected if row[-1]]
    assert len(expected) > 1_000 and len(indivisible) > 50
    # the mapped kind's assets are planned when they can be frozen, and only then
    mapped = {(a["agency_id"], a["asset_ref"]): a["can_freeze"] for a in assets if a["asset_kind"] == "salary"}
    planned_mapped = {(row[2], row[4]) for row in expected if row[3] == "salary"}
    assert planned_mapped and all(mapped[key] for key in planned_mapped)
    assert {row[6] for row in expected if row[3] == "salary"} == {MAPPED_RANK}
    per_debtor = Counter(row[1] for row in expected)
    cases_per_debtor = Counter(len({r[0] for r in expected if r[1] == p}) for p in list(per_debtor)[:300])
    assert max(cases_per_debtor) > 1
    limited = [a for a in acks if a["status"] in ("partial", "refused", "unknown_asset")]
    assert limited and any(a["order_kind"] == "transfer" for a in acks)
    # what agencies hold is kept (the stable plan): ignoring it would give other rows for many debtors
    fresh = python_plan(cases, assets, [], subsistence_minimum_rial=minimum, replay=acks)
    changed = {row[1] for row in set(expected) ^ set(fresh)}
    assert len(changed) > 20, len(changed)


def test_sql_allocation_differs_when_the_meaning_does() -> None:
    """A guard on the guard: another subsistence minimum gives other rows, so the comparison can fail."""
    cases, assets, acks = corpus(5, debtors=300)
    assert sql_plan(cases, assets, acks, 0) != python_plan(cases, assets, acks, 500)


def test_the_subsistence_minimum_var_defaults_to_the_planners() -> None:
    project = yaml.safe_load((settings.DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    assert project["vars"]["subsistence_minimum_rial"] == SUBSISTENCE_MINIMUM_RIAL
    assert project["vars"]["liquidity_rank"] == LIQUIDITY_RANK


def test_no_python_model_is_left_in_the_project() -> None:
    """No model crosses into Python per row: the warehouse is SQL only."""
    models = Path(settings.DBT_PROJECT_DIR) / "models"
    assert not list(models.rglob("*.py"))
