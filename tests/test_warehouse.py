"""Build the warehouse with dbt from landing Parquet written straight from the synthetic world."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.simulators.agency_state import asset_owner, asset_ref
from connectors.simulators.world import World, generate
from estelam import contracts, warehouse
from estelam.domain import PROTECTED_ACCOUNT_KINDS, BankAccount, Property, SecurityHolding, Vehicle
from estelam.exceptions import WarehouseError
from estelam.inquiries import asset_record

SEED = 7
PERSONS = 60
CASES = 30
ANSWER_DELAY = timedelta(minutes=5)
STAGED_ASSET_MODELS = ("stg_bank__accounts", "stg_depository__holdings", "stg_vehicle_registry__vehicles",
                       "stg_land_registry__properties")


def land(data_dir: Path, feed: str, rows: list[dict[str, Any]], batch_id: str, landed_at: datetime) -> Path:
    """Write one batch the way estelam.landing does: contract columns plus lineage, under dt=<day>."""
    table = pa.Table.from_pylist(rows, schema=contracts.feed(feed).arrow_schema())
    table = table.append_column(pa.field("_batch_id", pa.string(), nullable=False),
                                pa.array([batch_id] * len(rows), pa.string()))
    table = table.append_column(pa.field("_landed_at", pa.timestamp("us", tz="UTC"), nullable=False),
                                pa.array([landed_at] * len(rows), pa.timestamp("us", tz="UTC")))
    path = data_dir / "landing" / feed / f"dt={landed_at.date().isoformat()}" / f"{batch_id}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


#: The feed each kind of asset lands in.
FEED_OF = {BankAccount: "bank_accounts", SecurityHolding: "security_holdings", Vehicle: "vehicles",
           Property: "properties"}


def asset_row(asset: Any, inquiry_id: str, agency_id: str, responded_at: datetime) -> tuple[str, dict[str, Any]]:
    return FEED_OF[type(asset)], asset_record(inquiry_id, agency_id, asset, responded_at)


@dataclass
class Landed:
    """What the landed world holds, for the assertions."""

    world: World
    dropped_asset: tuple[str, str] | None = None  # (agency_id, asset_ref) only in a superseded answer
    refused_ref: str | None = None
    frozen_case: str | None = None
    rows: dict[str, int] = field(default_factory=dict)


def land_world(data_dir: Path, *, with_freezes: bool) -> Landed:
    """Land a world's case events, two inquiry rounds with their answers, and optionally freeze orders and acks."""
    registry = contracts.load_agency_registry()
    world = generate(registry.instances, seed=SEED, n_persons=PERSONS, n_cases=CASES)
    landed = Landed(world)
    t0 = world.anchor

    events = [
        {"event_id": e.event_id, "case_id": e.case_id, "event_type": str(e.event_type), "occurred_at": e.occurred_at,
         "court_code": e.court_code, "debtor_id": e.debtor_id, "debtor_kind": str(e.debtor_kind),
         "debtor_name": e.debtor_name, "creditor_name": e.creditor_name, "amount_rial": e.amount_rial,
         "channel": e.channel, "automated": e.automated}
        for e in world.case_events()
    ]
    half = len(events) // 2
    land(data_dir, "case_events", events[:half], "court-0001", t0)
    # the second drop re-sends the first drop's last events: staging must count them once
    land(data_dir, "case_events", events[half - 5:], "court-0002", t0 + timedelta(hours=1))

    debtors = sorted({c.debtor.person_id for c in world.cases})
    by_feed: dict[str, list[dict[str, Any]]] = {}
    inquiries: list[dict[str, Any]] = []
    for round_no, run_at in ((1, t0 + timedelta(hours=2)), (2, t0 + timedelta(days=1))):
        for n, person_id in enumerate(debtors):
            for instance in registry.instances:
                assets = [a for a in world.assets_at(instance.agency_id) if asset_owner(a) == person_id]
                if round_no == 2:
                    # the second round asks again only where the person has several assets, and one is gone
                    if len(assets) < 2 or landed.dropped_asset is not None:
                        continue
                    landed.dropped_asset = (instance.agency_id, asset_ref(assets[-1]))
                    assets = assets[:-1]
                inquiry_id = f"run{round_no}-{instance.agency_id}-{person_id}"
                failed = round_no == 1 and n % 11 == 3 and instance.agency_id == "csdi"
                responded_at = None if failed else run_at + ANSWER_DELAY
                inquiries.append({
                    "inquiry_id": inquiry_id, "run_id": f"run{round_no}", "agency_id": instance.agency_id,
                    "agency_kind": str(instance.kind), "person_id": person_id, "case_id": None,
                    "requested_at": run_at, "responded_at": responded_at,
                    "latency_ms": None if failed else 40 + n, "status": "failed" if failed else "answered",
                    "reason": "timeout" if failed else None, "assets_found": 0 if failed else len(assets)})
                if failed:
                    continue
                for asset in assets:
                    feed, row = asset_row(asset, inquiry_id, instance.agency_id, responded_at)
                    by_feed.setdefault(feed, []).append(row)
    land(data_dir, "inquiries", inquiries, "hub-inquiries-0001", t0 + timedelta(days=1, hours=1))
    for feed, rows in by_feed.items():
        land(data_dir, feed, rows, f"{feed}-0001", t0 + timedelta(days=1, hours=1))
    landed.rows = {"inquiries": len(inquiries), **{f: len(r) for f, r in by_feed.items()}}

    if with_freezes:
        land_freezes(data_dir, landed, t0 + timedelta(days=2))
    return landed


def land_freezes(data_dir: Path, landed: Landed, at: datetime) -> None:
    """One protected account refused, one ordinary account frozen in full for an open case."""
    open_cases = {c.debtor.person_id: c for c in landed.world.cases if not any(
        str(e.event_type) == "closed" for e in c.events)}
    orders: list[dict[str, Any]] = []
    acks: list[dict[str, Any]] = []
    for agency_id, accounts in sorted(landed.world.bank_accounts.items()):
        for account in accounts:
            case = open_cases.get(account.holder_id)
            if case is None:
                continue
            protected = account.account_kind in PROTECTED_ACCOUNT_KINDS
            if (protected and landed.refused_ref) or (not protected and landed.frozen_case):
                continue
            if not protected and account.balance_rial == 0:
                continue
            amount = account.balance_rial if protected else min(account.balance_rial, case.amount_owed_rial // 4)
            order_id = f"ord-{case.case_id}-{account.iban}-1"
            orders.append({"order_id": order_id, "cycle_id": "cycle-0001", "kind": "freeze", "case_id": case.case_id,
                           "agency_id": agency_id, "asset_ref": account.iban, "amount_rial": max(amount, 1),
                           "issued_at": at, "delivery": "delivered", "reason": None})
            acks.append({"order_id": order_id, "agency_id": agency_id, "case_id": case.case_id,
                         "asset_ref": account.iban, "status": "refused" if protected else "done",
                         "acknowledged_amount_rial": 0 if protected else amount,
                         "frozen_total_rial": 0 if protected else amount,
                         "acknowledged_at": at + timedelta(seconds=3),
                         "reason": "protected by law" if protected else None})
            if protected:
                landed.refused_ref = account.iban
            else:
                landed.frozen_case = case.case_id
    land(data_dir, "freeze_orders", orders, "hub-orders-0001", at)
    land(data_dir, "freeze_acknowledgements", acks, "acks-0001", at + timedelta(minutes=1))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Landed, warehouse.BuildSummary]]:
    data_dir = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ESTELAM_DATA_DIR", str(data_dir))
        mp.setenv("ESTELAM_WAREHOUSE", str(data_dir / "warehouse.duckdb"))
        landed = land_world(data_dir, with_freezes=True)
        started = time.perf_counter()
        summary = warehouse.build()
        print(f"\nwarehouse.build() took {time.perf_counter() - started:.1f} s: {summary}")
        yield landed, summary


def query(sql: str) -> list[tuple[Any, ...]]:
    with warehouse.connect_read_only() as con:
        return con.execute(sql).fetchall()


def test_build_runs_models_and_tests(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    _, summary = built
    assert summary.models >= 17  # 8 staging + 4 intermediate + 5 marts
    assert summary.tests_failed == 0
    assert summary.tests_passed > 50
    assert summary.unit_tests == 2
    assert summary.skipped == 0


def test_every_mart_has_rows(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    counts = warehouse.mart_counts()
    assert set(counts) == set(warehouse.MARTS)
    assert all(n > 0 for n in counts.values()), counts


def test_nothing_is_written_into_the_source_tree(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    project = warehouse.settings.DBT_PROJECT_DIR
    assert not (project / "target").exists()
    assert not (project / "logs").exists()


def test_freeze_plan_never_exceeds_outstanding_nor_asset_value(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    over_case = query("""
        select p.case_id, sum(p.planned_freeze_rial), any_value(c.outstanding_rial)
        from freeze_plan p join intermediate.int_cases c using (case_id)
        group by p.case_id having sum(p.planned_freeze_rial) > any_value(c.outstanding_rial)""")
    over_asset = query("""
        select p.agency_id, p.asset_ref, sum(p.planned_freeze_rial), any_value(a.value_rial)
        from freeze_plan p join intermediate.int_assets_latest a using (person_id, agency_id, asset_ref)
        group by all having sum(p.planned_freeze_rial) > any_value(a.value_rial)""")
    assert over_case == []
    assert over_asset == []
    assert query("select count(*) from freeze_plan where planned_freeze_rial <= 0") == [(0,)]
    # every planned asset is one the debtor owns per the latest answers
    assert query("""select count(*) from freeze_plan p
                    anti join intermediate.int_assets_latest a using (person_id, agency_id, asset_ref)""") == [(0,)]


def test_freeze_plan_covers_open_cases_only_and_as_far_as_assets_allow(
        built: tuple[Landed, warehouse.BuildSummary]) -> None:
    closed = query("""select count(*) from freeze_plan join intermediate.int_cases c using (case_id)
                      where c.status = 'closed' or c.outstanding_rial = 0""")
    assert closed == [(0,)]
    # a debtor is either fully covered, or every freezable asset of theirs is used up
    shortfalls = query("""
        with need as (
            select person_id, sum(outstanding_rial) as owed from intermediate.int_cases
            where status = 'open' and outstanding_rial > 0 group by person_id),
        planned as (select person_id, sum(planned_freeze_rial) as planned from freeze_plan group by person_id),
        freezable as (select person_id, sum(value_rial) as worth from intermediate.int_assets_latest
                      where not is_protected group by person_id)
        select need.person_id from need
        left join planned using (person_id) left join freezable using (person_id)
        where coalesce(planned, 0) <> least(owed, coalesce(worth, 0))""")
    assert shortfalls == []


def test_protected_and_refused_accounts_are_never_planned(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    protected = {a.iban for accounts in landed.world.bank_accounts.values() for a in accounts
                 if a.account_kind in PROTECTED_ACCOUNT_KINDS}
    planned = {r[0] for r in query("select asset_ref from freeze_plan where asset_kind = 'bank_account'")}
    assert protected, "the world should have protected accounts"
    assert planned, "the plan should freeze some bank accounts"
    assert not planned & protected
    assert landed.refused_ref is not None and landed.refused_ref not in planned


def test_latest_answer_replaces_earlier_ones(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    assert landed.dropped_asset is not None
    agency_id, ref = landed.dropped_asset
    gone = query(f"select count(*) from intermediate.int_assets_latest where agency_id = '{agency_id}' "
                 f"and asset_ref = '{ref}'")
    assert gone == [(0,)]
    # yet the first round's answer, still in the landing zone, listed it
    staged = " union all ".join(f"select agency_id, asset_ref from staging.{m}" for m in STAGED_ASSET_MODELS)
    assert query(f"select count(*) from ({staged}) where agency_id = '{agency_id}' and asset_ref = '{ref}'") == [(1,)]
    expected_assets = sum(n for feed, n in landed.rows.items() if feed != "inquiries")
    latest = query("select count(*) from intermediate.int_assets_latest")[0][0]
    assert latest < expected_assets


def test_resent_case_events_are_counted_once(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    owed = {c.case_id: c.amount_owed_rial for c in landed.world.cases}
    paid = {c.case_id: sum(e.amount_rial or 0 for e in c.events if str(e.event_type) == "paid")
            for c in landed.world.cases}
    rows = query("select case_id, amount_owed_rial, paid_rial, status from intermediate.int_cases")
    assert {r[0]: r[1] for r in rows} == owed
    assert {r[0]: r[2] for r in rows} == paid


def test_asset_report_keeps_cases_without_assets_and_measures_coverage(
        built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    cases = query("select count(distinct case_id) from asset_report")[0][0]
    assert cases == len({c.case_id for c in landed.world.cases})
    frozen = query(f"""select any_value(case_frozen_rial), any_value(outstanding_rial), any_value(coverage_ratio)
                       from asset_report where case_id = '{landed.frozen_case}'""")
    case_frozen, outstanding, ratio = frozen[0]
    assert case_frozen > 0
    assert ratio == pytest.approx(case_frozen / outstanding, abs=1e-4)


def test_registry_lists_people_with_unpaid_convictions(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    unpaid: dict[str, int] = {}
    for case in landed.world.cases:
        paid = sum(e.amount_rial or 0 for e in case.events if str(e.event_type) == "paid")
        closed = any(str(e.event_type) == "closed" for e in case.events)
        if not closed and case.amount_owed_rial > paid:
            unpaid[case.debtor.person_id] = unpaid.get(case.debtor.person_id, 0) + case.amount_owed_rial - paid
    rows = query("select person_id, outstanding_rial, status from financial_convictions")
    assert {r[0]: r[1] for r in rows} == unpaid
    assert {r[2] for r in rows} <= {"unpaid", "partially_paid"}
    targets = {r[0] for r in query("select person_id from inquiry_targets")}
    assert targets == set(unpaid)


def test_kpis_hold_no_personal_data(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    columns = {r[0] for r in query("select column_name from information_schema.columns "
                                   "where table_name = 'kpi_inquiries_daily'")}
    assert not columns & {"person_id", "case_id", "debtor_name"}
    sent, failed = query("select sum(inquiries_sent), sum(failed) from kpi_inquiries_daily")[0]
    assert sent == landed.rows["inquiries"]
    assert failed > 0


def test_build_succeeds_before_any_freeze_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTELAM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ESTELAM_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    land_world(tmp_path, with_freezes=False)
    assert not (tmp_path / "landing" / "freeze_acknowledgements").exists()
    summary = warehouse.build()
    assert summary.tests_failed == 0
    counts = warehouse.mart_counts()
    assert counts["freeze_plan"] > 0
    assert query("select count(*) from landing.freeze_acknowledgements") == [(0,)]
    assert query("select count(*) from asset_report where frozen_rial > 0") == [(0,)]


def test_build_failure_names_the_failing_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTELAM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ESTELAM_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    land_world(tmp_path, with_freezes=False)
    rows = [{"event_id": "bad-1", "case_id": "1403-999999", "event_type": "teleported",
             "occurred_at": datetime(2026, 11, 1, tzinfo=UTC), "court_code": "THR-01",
             "debtor_id": "0000000000", "debtor_kind": "natural", "debtor_name": "x", "creditor_name": "y",
             "amount_rial": None, "channel": None, "automated": True}]
    land(tmp_path, "case_events", rows, "court-bad", datetime(2026, 11, 2, tzinfo=UTC))
    with pytest.raises(WarehouseError, match="accepted_values_landing_case_events_event_type"):
        warehouse.build(select="source:landing.case_events")


def test_reader_refuses_a_missing_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTELAM_WAREHOUSE", str(tmp_path / "none.duckdb"))
    with pytest.raises(WarehouseError, match=r"run estelam\.warehouse\.build"), warehouse.connect_read_only():
        pass


def test_a_landed_file_without_the_contract_columns_fails_naming_the_feed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ESTELAM_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ESTELAM_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    stray = tmp_path / "landing" / "vehicles" / "dt=2026-11-01" / "stray.parquet"
    stray.parent.mkdir(parents=True)
    pq.write_table(pa.table({"plate": ["12ب345-67"]}), stray)
    with pytest.raises(WarehouseError, match=r"landing feed vehicles: .* lack the contract columns inquiry_id"):
        warehouse.build()
