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
import yaml

from estelam.contracts import registry as contracts
from estelam.core.domain import AgencyInstance, AgencyKind
from estelam.core.exceptions import WarehouseError
from estelam.core.kinds import join_asset_ref, mapping_at
from estelam.freeze.planner import SUBSISTENCE_MINIMUM_RIAL
from estelam.warehouse import dbt_build as warehouse
from estelam.warehouse.publishing import marts_to_publish
from simulators.mapped_app import WORLD_DATA_DIR
from simulators.world import World, generate
from tests.mapping_support import drawn_records
from tests.settings_support import override

SEED = 7
PERSONS = 60
CASES = 30
ANSWER_DELAY = timedelta(minutes=5)
STAGED_ASSET_MODELS = ("stg_kinds__assets",)


def land(data_dir: Path, feed: str, rows: list[dict[str, Any]], batch_id: str, landed_at: datetime) -> Path:
    """Write one batch the way estelam.ingest.landing does: contract columns plus lineage, under dt=<day>."""
    table = pa.Table.from_pylist(rows, schema=contracts.feed(feed).arrow_schema())
    table = table.append_column(pa.field("_batch_id", pa.string(), nullable=False),
                                pa.array([batch_id] * len(rows), pa.string()))
    table = table.append_column(pa.field("_landed_at", pa.timestamp("us", tz="UTC"), nullable=False),
                                pa.array([landed_at] * len(rows), pa.timestamp("us", tz="UTC")))
    path = data_dir / "landing" / feed / f"dt={landed_at.date().isoformat()}" / f"{batch_id}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


@dataclass(frozen=True)
class MappedRecord:
    """A record of a kind declared by a mapping whose assets the hub freezes (the depository, the land and vehicle
    registries), as its generated simulator draws it: its asset reference, its feed and its columns."""

    asset_ref: str
    feed: str
    values: dict[str, Any]


def assets_of(world: World, instance: AgencyInstance, person_id: str) -> list[MappedRecord]:
    """What the agency answers about the person: the records of a kind whose assets the hub freezes (the banks, the
    depository, the land and vehicle registries; a test's own kind brings its own world data and answers)."""
    mapping = mapping_at(Path(str(instance.mapping_file)))
    if mapping.assets is None or "freeze" not in mapping.orders or not (
            WORLD_DATA_DIR / f"{instance.kind}.yaml").is_file():
        return []  # facts, and assets the hub never orders frozen, are not what this world lands
    return [MappedRecord(join_asset_ref(mapping.assets, row), mapping.feed, row)
            for row in drawn_records(world, instance, person_id)]


def asset_row(asset: MappedRecord, inquiry_id: str, agency_id: str,
              responded_at: datetime) -> tuple[str, dict[str, Any]]:
    return asset.feed, {"inquiry_id": inquiry_id, "agency_id": agency_id, **asset.values, "responded_at": responded_at}


def bank_accounts(world: World) -> list[tuple[str, dict[str, Any]]]:
    """(bank, account) of every account the banks' generated simulators draw (their mapping's world data)."""
    banks = sorted(contracts.load_agency_registry().of_kind(AgencyKind("bank")), key=lambda b: b.agency_id)
    return [(bank.agency_id, row) for bank in banks for p in world.persons
            for row in drawn_records(world, bank, p.person_id)]


def protected_kinds() -> frozenset[str]:
    """The account kinds the banks' mapping says the law protects (``protected_when``: salary, pension)."""
    bank = contracts.load_agency_registry().of_kind(AgencyKind("bank"))[0]
    assets = mapping_at(Path(str(bank.mapping_file))).assets
    assert assets is not None and assets.protected_when is not None
    return frozenset(assets.protected_when.values)


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
                assets = assets_of(world, instance, person_id)
                if round_no == 2:
                    # the second round asks again only where the person has several assets, and one is gone
                    if len(assets) < 2 or landed.dropped_asset is not None:
                        continue
                    last = assets[-1]
                    landed.dropped_asset = (instance.agency_id, last.asset_ref)
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
    protected_kind = protected_kinds()
    for agency_id, account in bank_accounts(landed.world):
        iban, holder, balance = str(account["iban"]), str(account["person_id"]), int(account["balance_rial"])
        case = open_cases.get(holder)
        if case is None:
            continue
        protected = account["account_kind"] in protected_kind
        if (protected and landed.refused_ref) or (not protected and landed.frozen_case):
            continue
        if not protected and balance == 0:
            continue
        amount = balance if protected else min(balance, case.amount_owed_rial // 4)
        order_id = f"ord-{case.case_id}-{iban}-1"
        orders.append({"order_id": order_id, "cycle_id": "cycle-0001", "kind": "freeze", "case_id": case.case_id,
                       "agency_id": agency_id, "asset_ref": iban, "amount_rial": max(amount, 1),
                       "issued_at": at, "delivery": "delivered", "reason": None,
                       "person_id": holder, "asset_kind": "bank_account", "restriction_type": None,
                       "version": 0, "reason_code": "new_freeze", "confidential": False,
                       "first_issued_at": at, "deadline_at": at + timedelta(seconds=30),
                       "status": "acknowledged"})
        acks.append({"order_id": order_id, "order_kind": "freeze", "agency_id": agency_id, "case_id": case.case_id,
                     "asset_ref": iban, "status": "refused" if protected else "done",
                     "acknowledged_amount_rial": 0 if protected else amount,
                     "frozen_total_rial": 0 if protected else amount,
                     "acknowledged_at": at + timedelta(seconds=3),
                     "reason": "protected by law" if protected else None})
        if protected:
            landed.refused_ref = iban
        else:
            landed.frozen_case = case.case_id
    land(data_dir, "freeze_orders", orders, "hub-orders-0001", at)
    land(data_dir, "freeze_acknowledgements", acks, "acks-0001", at + timedelta(minutes=1))
    moved = [a for a in acks if a["acknowledged_amount_rial"] > 0]
    land(data_dir, "notification_deliveries", [  # the debtor told by SMS: queued, then delivered
        {"notification_id": a["order_id"], "channel": "sms", "recipient_masked": "****4567", "language": "fa",
         "state": state, "attempt": attempt, "reason": None, "provider_message_id": "sms-1",
         "state_at": at + timedelta(minutes=2 + attempt), "idempotency_key": f"{a['order_id']}.sms"}
        for a in moved for state, attempt in (("queued", 0), ("delivered", 1))], "deliveries-0001",
        at + timedelta(minutes=5))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Landed, warehouse.BuildSummary]]:
    data_dir = tmp_path_factory.mktemp("data")
    with pytest.MonkeyPatch.context() as mp:
        override(mp, data_dir=data_dir)
        override(mp, warehouse=data_dir / "warehouse.duckdb")
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
    assert summary.models >= 33  # 8 staging + 8 intermediate + 17 marts
    assert summary.tests_failed == 0
    data_tests = [node for key, node in warehouse.dbt_manifest()["nodes"].items() if key.startswith("test.")]
    assert summary.tests_passed + summary.tests_warned == len(data_tests) > 50  # every data test ran
    # every landed feed is held to its contract's rules in the warehouse too, and every published mart to its own
    names = {node["name"] for node in data_tests}
    assert {f"contract_rules_{feed}" for feed in contracts.feeds()} <= names
    assert {f"model_rules_{mart}" for mart in warehouse.MARTS} <= names
    assert summary.unit_tests >= 18  # every non-trivial mart has at least one
    assert summary.skipped == 0


def test_every_mart_has_rows(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    counts = warehouse.mart_counts()
    assert set(counts) == set(warehouse.MARTS)
    # the world spells names differently but never contradicts itself: nothing to review
    assert counts.pop("identity_review") == 0
    assert all(n > 0 for n in counts.values()), counts


def test_every_non_trivial_mart_has_a_unit_test() -> None:
    """Marts that only select or rename are exempt; everything that computes is unit-tested."""
    trivial = {"central_bank_feed", "identity_review", "inquiry_targets"}
    tested = set()
    for path in (warehouse.settings.DBT_PROJECT_DIR / "models").rglob("*.yml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        tested |= {test["model"] for test in document.get("unit_tests") or []}
    assert set(warehouse.MARTS) - trivial <= tested, set(warehouse.MARTS) - trivial - tested


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
    # a debtor is either fully covered, or every freezable asset of theirs is used up (but a natural
    # person's subsistence minimum of bank balances)
    shortfalls = query("""
        with need as (
            select person_id, sum(outstanding_rial) as owed from intermediate.int_cases
            where status = 'open' and outstanding_rial > 0 group by person_id),
        planned as (select person_id, sum(planned_freeze_rial) as planned from freeze_plan group by person_id),
        kinds as (select distinct person_id, person_kind from intermediate.int_cases),
        freezable as (select person_id,
                             sum(value_rial) - case when any_value(person_kind) = 'natural' then least(
                                 coalesce(sum(value_rial) filter (where asset_kind = 'bank_account'), 0),
                                 $minimum) else 0 end as worth
                      from intermediate.int_assets_latest join kinds using (person_id)
                      where not is_protected and can_freeze group by person_id)
        select need.person_id from need
        left join planned using (person_id) left join freezable using (person_id)
        where coalesce(planned, 0) <> least(owed, coalesce(worth, 0))""".replace(
        "$minimum", str(SUBSISTENCE_MINIMUM_RIAL)))
    assert shortfalls == []


def test_protected_and_refused_accounts_are_never_planned(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    protected = {str(a["iban"]) for _, a in bank_accounts(landed.world) if a["account_kind"] in protected_kinds()}
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


def project_vars() -> dict[str, Any]:
    project = yaml.safe_load((warehouse.settings.DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return dict(project["vars"])


def expected_registry(world: World, now: datetime) -> dict[str, tuple[int, str]]:
    """The registry's rules restated in Python: person -> (outstanding, status) for every listed person."""
    rules = project_vars()
    retention = timedelta(days=rules["registry_retention_days"])
    listed: dict[str, list[tuple[int, int, bool]]] = {}  # person -> [(outstanding, paid, satisfied)]
    for case in world.cases:
        paid, paid_in_full_at = 0, None
        for event in sorted(case.events, key=lambda e: (e.occurred_at, e.event_id)):
            if str(event.event_type) == "paid":
                paid += event.amount_rial or 0
                if paid >= case.amount_owed_rial and paid_in_full_at is None:
                    paid_in_full_at = event.occurred_at
        proved = min((e.occurred_at for e in case.events if str(e.event_type) == "payment_proved"), default=None)
        closed = max((e.occurred_at for e in case.events if str(e.event_type) == "closed"), default=None)
        moments = [m for m in (paid_in_full_at, proved, closed) if m is not None]
        satisfied_at = min(moments) if moments else None
        if satisfied_at is not None:
            until = satisfied_at + retention
            if proved is not None and rules["registry_early_exit_on_proof_of_payment"]:
                until = min(until, proved)
            if until <= now:
                continue
        outstanding = 0 if satisfied_at else max(case.amount_owed_rial - paid, 0)
        listed.setdefault(case.debtor.person_id, []).append((outstanding, paid, satisfied_at is not None))
    expected = {}
    for person_id, convictions in listed.items():
        unsatisfied = [c for c in convictions if not c[2]]
        status = ("satisfied" if not unsatisfied
                  else "partially_paid" if sum(c[1] for c in unsatisfied) > 0 else "unpaid")
        expected[person_id] = (sum(c[0] for c in convictions), status)
    return expected


def test_registry_lists_unpaid_and_retained_satisfied_convictions(
        built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    expected = expected_registry(landed.world, datetime.now(UTC))
    rows = query("select person_id, outstanding_rial, status from financial_convictions")
    assert {r[0]: (r[1], r[2]) for r in rows} == expected
    statuses = {r[2] for r in rows}
    assert {"unpaid", "partially_paid"} <= statuses
    # every debtor who still owes is asked about; satisfied entries are not
    owing = {p for p, (outstanding, _) in expected.items() if outstanding > 0}
    targets = {r[0] for r in query("select person_id from inquiry_targets")}
    assert targets == owing


def test_registry_history_is_a_snapshot(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    current = query("select count(*) from financial_convictions")[0][0]
    history = query("""select count(*), count(*) filter (where dbt_valid_to is null)
                       from snapshots.financial_convictions_history""")[0]
    assert history == (current, current)


def test_central_bank_feed_has_identifiers_and_amounts_but_no_names(
        built: tuple[Landed, warehouse.BuildSummary]) -> None:
    columns = {r[0] for r in query("select column_name from information_schema.columns "
                                   "where table_name = 'central_bank_feed'")}
    assert "person_id" in columns and "outstanding_rial" in columns
    assert not {c for c in columns if "name" in c}
    fed = query("select count(*) from central_bank_feed")[0][0]
    assert fed == query("select count(*) from financial_convictions where identifier_scheme is not null")[0][0] > 0


def test_fugitives_are_absconders_still_at_large(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    absconding = set()
    for case in landed.world.cases:
        kinds = [str(e.event_type) for e in case.events]
        if "absconded" in kinds and "apprehended" not in kinds and "closed" not in kinds:
            absconding.add(case.debtor.person_id)
    assert absconding, "the test world should have an absconder"
    assert {r[0] for r in query("select person_id from fugitives")} == absconding


def test_kpis_hold_no_personal_data(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    """No KPI mart has a column a data contract classes as personal (direct or indirect), nor a case or person key."""
    landed, _ = built
    personal = {c.name for feed in contracts.feeds().values() for c in feed.columns if c.pii != "none"}
    personal |= {"person_id", "case_id", "debtor_name", "person_name", "asset_ref"}
    assert {"debtor_id", "holder_name", "iban"} <= personal
    rows = query("select table_name, column_name from information_schema.columns where table_schema = 'main'")
    published = marts_to_publish()
    assert published == tuple(m for m in warehouse.MARTS if m.startswith("kpi_")), published
    for mart in published:
        columns = {column for table, column in rows if table == mart}
        assert columns, mart
        assert not columns & personal, (mart, columns & personal)
    sent, failed = query("select sum(inquiries_sent), sum(failed) from kpi_inquiries_daily")[0]
    assert sent == landed.rows["inquiries"]
    assert failed > 0


def test_kpis_add_up(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    scored = query("""select sum(requests), sum(on_time + late + unanswered + pending)
                      from kpi_deadline_compliance where request_kind = 'inquiry'""")[0]
    assert scored == (landed.rows["inquiries"], landed.rows["inquiries"])
    notices = [e for c in landed.world.cases for e in c.events if str(e.event_type) == "notified"]
    electronic = sum(1 for e in notices if e.channel == "electronic")
    assert query("select sum(notices), sum(electronic) from kpi_notifications")[0] == (len(notices), electronic)
    referred = query("select sum(cases_reached) from kpi_enforcement_steps where step = 'referral'")[0][0]
    assert referred == len(landed.world.cases)
    # the test freezes never hold more than a case owes
    assert query("select sum(over_blocked_rial), sum(frozen_rial) > 0 from kpi_freezes")[0] == (0, True)


def test_persons_resolve_every_debtor_once(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    debtors = {c.debtor.person_id for c in landed.world.cases}
    rows = query("select person_id, needs_review, name_agreement from persons")
    assert {r[0] for r in rows} == debtors
    assert all(not review and agreement == 1 for _, review, agreement in rows)
    # agencies spell the names their own way, yet every person has one name after normalisation
    assert query("select max(name_keys), max(spellings) > 1 from persons")[0] == (1, True)
    # the depository's holder names and the land and vehicle registries' owner names (their mappings name the owner)
    # are evidence, as the built-in kinds' names are
    for source in ("securities_depository", "land_registry", "vehicle_registry"):
        assert query(f"select count(*) > 0 from intermediate.int_person_records where source = '{source}'"
                     )[0] == (True,), source


def test_the_mapped_depository_s_holdings_are_latest_assets(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    assert landed.rows.get("security_holdings", 0) > 0
    rows = query("""select agency_kind, asset_ref, asset_detail, liquidity_rank, owner_name is not null
                    from intermediate.int_assets_latest where asset_kind = 'security_holding'""")
    assert rows and {r[0] for r in rows} == {"securities_depository"}
    assert all(":" in ref and " x " in detail and rank == 2 and named for _, ref, detail, rank, named in rows)


def test_the_mapped_land_registry_s_properties_are_latest_assets(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    assert landed.rows.get("properties", 0) > 0
    rows = query("""select agency_kind, asset_ref, asset_detail, liquidity_rank, owner_name is not null
                    from intermediate.int_assets_latest where asset_kind = 'property'""")
    assert rows and {r[0] for r in rows} == {"land_registry"}
    # the reference as orders always named a property, the detail as the retired staging model wrote it
    assert all(ref.count("/") == 2 and detail.endswith("% share") and rank == 4 and named
               for _, ref, detail, rank, named in rows)


def test_the_mapped_vehicle_registry_s_vehicles_are_latest_assets(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    assert landed.rows.get("vehicles", 0) > 0
    rows = query("""select agency_kind, asset_ref, asset_detail, liquidity_rank, owner_name is not null, can_freeze
                    from intermediate.int_assets_latest where asset_kind = 'vehicle'""")
    assert rows and {r[0] for r in rows} == {"vehicle_registry"}
    # the plate as orders always named a vehicle, the model as the retired staging model's detail, rank 3
    assert all(ref[-3] == "-" and detail and rank == 3 and named and can
               for _, ref, detail, rank, named, can in rows)


def test_asset_report_carries_acknowledgements_staleness_and_the_timeline(
        built: tuple[Landed, warehouse.BuildSummary]) -> None:
    landed, _ = built
    acknowledged = query(f"""select count(*) from asset_report where case_id = '{landed.frozen_case}'
                             and frozen_rial > 0 and last_acknowledged_at is not null""")[0][0]
    assert acknowledged == 1
    events = query(f"select any_value(case_events) from asset_report where case_id = '{landed.frozen_case}'")[0][0]
    timeline = query(f"select count(*) filter (where source = 'court'), count(*) from case_timeline "
                     f"where case_id = '{landed.frozen_case}'")[0]
    assert timeline[0] == events and timeline[1] == events + 2  # plus the freeze order and its acknowledgement
    # every asset an agency's answer lists says whether that answer is stale
    assert query("select count(*) from asset_report where agency_kind is not null and is_stale is null") == [(0,)]


def test_docs_generate_works(built: tuple[Landed, warehouse.BuildSummary]) -> None:
    import json

    catalog = json.loads(warehouse.generate_docs().read_text(encoding="utf-8"))
    nodes = catalog["nodes"]
    assert {f"model.estelam.{m}" for m in warehouse.MARTS} <= set(nodes)
    print(f"\ndbt docs generate: {len(nodes)} nodes, {len(catalog['sources'])} sources in the catalog")


def test_build_succeeds_before_any_freeze_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=tmp_path)
    override(monkeypatch, warehouse=tmp_path / "warehouse.duckdb")
    land_world(tmp_path, with_freezes=False)
    assert not (tmp_path / "landing" / "freeze_acknowledgements").exists()
    summary = warehouse.build()
    assert summary.tests_failed == 0
    counts = warehouse.mart_counts()
    assert counts["freeze_plan"] > 0
    assert query("select count(*) from landing.freeze_acknowledgements") == [(0,)]
    assert query("select count(*) from asset_report where frozen_rial > 0") == [(0,)]


def test_build_failure_names_the_failing_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=tmp_path)
    override(monkeypatch, warehouse=tmp_path / "warehouse.duckdb")
    land_world(tmp_path, with_freezes=False)
    rows = [{"event_id": "bad-1", "case_id": "1403-999999", "event_type": "teleported",
             "occurred_at": datetime(2026, 11, 1, tzinfo=UTC), "court_code": "THR-01",
             "debtor_id": "0000000000", "debtor_kind": "natural", "debtor_name": "x", "creditor_name": "y",
             "amount_rial": None, "channel": None, "automated": True}]
    land(tmp_path, "case_events", rows, "court-bad", datetime(2026, 11, 2, tzinfo=UTC))
    with pytest.raises(WarehouseError, match=r"contract_rules_case_events.*event_type accepted_values "
                                             r"'teleported' ×1"):
        warehouse.build(select="source:landing.case_events")


def test_reader_refuses_a_missing_warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, warehouse=tmp_path / "none.duckdb")
    with pytest.raises(WarehouseError, match=r"estelam warehouse build"), warehouse.connect_read_only():
        pass


def test_a_landed_file_without_the_contract_columns_fails_naming_the_feed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=tmp_path)
    override(monkeypatch, warehouse=tmp_path / "warehouse.duckdb")
    stray = tmp_path / "landing" / "vehicles" / "dt=2026-11-01" / "stray.parquet"
    stray.parent.mkdir(parents=True)
    pq.write_table(pa.table({"plate": ["12ب345-67"]}), stray)
    with pytest.raises(WarehouseError, match=r"landing feed vehicles: .* lack the contract columns inquiry_id"):
        warehouse.build()
