"""The warehouse at scale: ``warehouse.build()`` on a million persons, next to a raw DuckDB floor, in one run.

    .venv/bin/python -m benchmarks.warehouse_scale [--persons 1000000] [--data-dir DIR] [--keep]

1. Generates the landing zone straight into Parquet with vectorised DuckDB SQL (no Python per person):
   ``--persons`` persons (15% legal), each the debtor of one case plus 20% more cases on random debtors,
   every case's court events (filed ... closed, payments, proofs of payment, abscondings), one inquiry per
   debtor to six agencies (three banks, the depository, the vehicle and land registries) with the answers'
   bank accounts, holdings, vehicles and properties, names spelled each agency's way (Arabic yeh/kaf,
   ZWNJ as space or dropped), valid check digits throughout, and freeze orders with acknowledgements for
   10% of the cases. Files carry the contract's columns plus lineage, as ``estelam.ingest.landing`` writes them.
2. Times ``estelam.warehouse.dbt_build.build()``: every seed, model, snapshot, data test and unit test; then
   the models alone (``build(data_tests=False, unit_tests=False)``: seeds, models and the snapshot, rebuilt).
3. Times the floor: the same core aggregations (the registry per person, each case's assets and coverage,
   the daily inquiry KPIs with p50/p95) as one raw DuckDB query over the same Parquet: no dbt, no
   staging or deduplication, no identity resolution, no tests, nothing written.

Prints both wall times and their ratio, then (last line, ``benchmarks.figures``) one JSON object: the build,
the floor, the dbt time spent in models, tests and unit tests (summed over dbt's threads), the freeze
allocation model's own time, peak resident memory and the load average. A measurement, not a test: nothing
asserts; numbers vary with the machine and with whatever else runs on it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from benchmarks.figures import emit, headline
from estelam.contracts import registry as contracts
from estelam.core import settings
from estelam.warehouse import dbt_build as warehouse

DEFAULT_PERSONS = 1_000_000
#: Extra cases, as a share of persons, on random debtors (so some debtors have several cases).
EXTRA_CASE_SHARE = 0.2
#: Cases with a freeze order and its acknowledgement.
FROZEN_CASE_SHARE = 0.1
ANCHOR = "2026-11-01 00:00:00+00"
BATCH_ID = "bench-0001"
PARTITION = "dt=2026-11-01"

FIRST_NAMES = ["علی", "محمد", "زهرا", "فاطمه", "حسین", "مریم", "رضا", "سکینه", "مهدی", "کبری",
               "یاسر", "نرگس", "کاظم", "لیلا", "یوسف", "شکوفه", "عبدالله", "کیمیا", "مصطفی", "ریحانه"]
LAST_NAMES = ["کریمی", "رضایی", "محمدی", "حسینی", "کاظمی", "یزدانی", "کیانی", "شکیبا", "نیک‌نژاد",
              "میرکریمی", "ملک‌زاده", "یگانه", "بیگی", "کامکار", "زنگنه", "پاک‌نیت", "کوهی", "نیکی"]
COMPANY_NAMES = ["شرکت کیان پارس", "صنایع یکتا", "بازرگانی نیک‌اندیشان", "تولیدی پیک ایران", "شرکت کاوه"]
#: (agency_id, kind, IBAN bank code or None, how it spells names)
AGENCIES = [
    ("bank_melli", "bank", "017", "arabic"),
    ("bank_mellat", "bank", "012", "space"),
    ("bank_saderat", "bank", "019", "persian"),
    ("csdi", "securities_depository", None, "nojoiner"),
    ("traffic_police", "vehicle_registry", None, "space"),
    ("land_registry", "land_registry", None, "persian"),
]
SYMBOLS = ["FOOLAD", "KHODRO", "SHEPNA", "VABEMELLAT", "FAMELI", "SHASTA", "VATEJARAT", "KACHAD"]
PLATE_LETTERS = ["ب", "ج", "د", "س", "ص", "ط", "ق", "ل", "م", "ن", "و", "ه", "ی"]
COURTS = ["THR-01", "THR-02", "ISF-01", "MHD-01", "TBZ-01"]


def _list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _pick(values: list[str], *salt: str) -> str:
    """SQL: one of ``values``, chosen by a hash of the row and ``salt``."""
    return f"{_list(values)}[cast(1 + hash({', '.join(salt)}) % {len(values)} as bigint)]"


def _u(*salt: str) -> str:
    """SQL: a uniform number in [0, 1) from a hash of the row and ``salt``."""
    return f"((hash({', '.join(salt)}) % 1000003) / 1000003.0)"


def _spelled(name: str, style: str) -> str:
    if style == "arabic":
        return f"replace(replace({name}, 'ی', 'ي'), 'ک', 'ك')"
    if style == "space":
        return f"replace({name}, chr(8204), ' ')"
    if style == "nojoiner":
        return f"replace({name}, chr(8204), '')"
    return name


def _persons_sql(n: int) -> str:
    """Persons with valid national codes (85%) or legal-person ids (15%), distinct by construction."""
    digits9 = "lpad(cast((i * 7919 + 104729) % 1000000000 as varchar), 9, '0')"
    national_check = " + ".join(f"cast(substr(d, {k + 1}, 1) as int) * {10 - k}" for k in range(9))
    legal_coefficients = (29, 27, 23, 19, 17, 29, 27, 23, 19, 17)
    legal_sum = " + ".join(f"(cast(substr(l, 10, 1) as int) + 2 + cast(substr(l, {k + 1}, 1) as int)) * {c}"
                           for k, c in enumerate(legal_coefficients))
    return f"""
        create or replace table persons as
        with base as (
            select i, {digits9} as d, '1' || {digits9} as l, {_u('i', "'kind'")} < 0.15 as is_legal,
            from range({n}) t(i)
        ),
        checked as (
            select *, ({national_check}) % 11 as r, ({legal_sum}) % 11 as lr, from base
        )
        select
            i,
            case when is_legal then l || cast(case when lr = 10 then 0 else lr end as varchar)
                 else d || cast(case when r < 2 then r else 11 - r end as varchar) end as person_id,
            case when is_legal then 'legal' else 'natural' end as person_kind,
            case when is_legal then {_pick(COMPANY_NAMES, 'i', "'co'")}
                 else {_pick(FIRST_NAMES, 'i', "'first'")} || ' ' || {_pick(LAST_NAMES, 'i', "'last'")} end as name,
        from checked
    """


def _copy(con: duckdb.DuckDBPyConnection, root: Path, feed: str, select_sql: str) -> int:
    """Write one feed's batch: the contract's columns (absent nullable ones as nulls) plus lineage."""
    contract = contracts.feed(feed)
    con.execute(f"create or replace temp view produced as {select_sql}")
    present = {r[0] for r in con.execute("describe produced").fetchall()}
    columns = []
    for column in contract.columns:
        if column.name in present:
            columns.append(f"cast({column.name} as {column.duckdb_type}) as {column.name}")
        elif column.nullable:
            columns.append(f"cast(null as {column.duckdb_type}) as {column.name}")
        else:
            raise ValueError(f"{feed}: the benchmark does not produce the required column {column.name}")
    path = root / "landing" / feed / PARTITION / f"{BATCH_ID}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"""copy (select {", ".join(columns)}, '{BATCH_ID}' as _batch_id,
                         timestamptz '{ANCHOR}' + interval 3 day as _landed_at from produced)
                    to '{path}' (format parquet, compression zstd, row_group_size 122880)""")
    ((count,),) = con.execute(f"select count(*) from read_parquet('{path}')").fetchall()
    return int(count)


def generate_landing(root: Path, n_persons: int) -> dict[str, int]:
    """The landing zone for ``n_persons`` persons, all in DuckDB; rows per feed."""
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute(_persons_sql(n_persons))
        extra = int(n_persons * EXTRA_CASE_SHARE)
        con.execute(f"""
            create or replace table cases as
            with numbered as (
                select j, case when j < {n_persons} then j else hash(j, 'debtor') % {n_persons} end as debtor,
                from range({n_persons + extra}) t(j)
            )
            select
                j,
                cast(1403 + j % 3 as varchar) || '-' || lpad(cast(j // 3 as varchar), 6, '0') as case_id,
                persons.person_id, persons.person_kind, persons.name,
                {_pick(FIRST_NAMES, 'j', "'cred'")} || ' ' || {_pick(LAST_NAMES, 'j', "'cred2'")} as creditor_name,
                {_pick(COURTS, 'j', "'court'")} as court_code,
                cast(pow(10, 8 + 2.8 * {_u('j', "'owed'")}) as bigint) // 10000 * 10000 as owed,
                timestamptz '{ANCHOR}' - to_days(cast(5 + hash(j, 'day') % 55 as int))
                    - to_minutes(cast(hash(j, 'min') % 1440 as int)) as filed_at,
                {_u('j', "'outcome'")} as outcome,
                {_u('j', "'extra'")} as extra,
            from numbered
            inner join persons on persons.i = numbered.debtor
        """)
        # the steps of each case, hours after filing; null hours = the step did not happen
        con.execute("""
            create or replace table steps as
            select * from (values
                (1, 'filed', 0.0), (2, 'referred', 2.0), (3, 'notified', 26.0), (4, 'invoiced', 40.0),
                (5, 'paid', 160.0), (6, 'closed', 200.0), (7, 'payment_proved', 240.0), (8, 'absconded', 300.0)
            ) t(seq, event_type, hours)
        """)
        rows: dict[str, int] = {}
        root.mkdir(parents=True, exist_ok=True)
        rows["case_events"] = _copy(con, root, "case_events", """
            select
                case_id || '-' || lpad(cast(seq as varchar), 2, '0') as event_id, case_id, event_type,
                -- +-10% around the step's typical delay: the steps stay in order
                filed_at + to_microseconds(cast(hours * 3600e6 * (0.9 + (hash(case_id, seq) % 1000) / 5000.0)
                                                as bigint)) as occurred_at,
                court_code, person_id as debtor_id, person_kind as debtor_kind, name as debtor_name,
                creditor_name,
                case event_type when 'filed' then owed
                                when 'paid' then case when outcome < 0.2 then owed else owed * 3 // 10 end end
                    as amount_rial,
                case when event_type = 'notified' then
                    case when hash(case_id, 'paper') % 100 < 94 then 'electronic' else 'paper' end end as channel,
                event_type not in ('referred', 'payment_proved', 'absconded') or hash(case_id, 'auto') % 10 = 0
                    as automated,
            from cases, steps
            where seq <= 4
               or (event_type = 'paid' and outcome < 0.45)
               or (event_type = 'closed' and outcome < 0.2)
               or (event_type = 'payment_proved' and outcome < 0.2 and extra < 0.5)
               or (event_type = 'absconded' and outcome >= 0.45 and extra < 0.15)
        """)
        # one inquiry per debtor per agency, answered a day after the case's latest filing
        agencies = " union all ".join(f"select '{a}' as agency_id, '{k}' as agency_kind, {n} as agency_rank"
                                      for n, (a, k, _, _) in enumerate(AGENCIES))
        con.execute(f"""
            create or replace table inquiries as
            with debtors as (
                select person_id, any_value(name) as name, max(filed_at) as last_filed_at,
                       first(case_id order by filed_at) as case_id,
                from cases group by person_id
            )
            select
                'bench-' || agency_id || '-' || person_id as inquiry_id, 'bench-run' as run_id,
                agency_id, agency_kind, person_id, name, case_id,
                last_filed_at + interval 1 day + to_seconds(agency_rank) as requested_at,
                hash(person_id, agency_id) % 1000 as roll,
            from debtors, ({agencies}) as agencies
        """)
        rows["inquiries"] = _copy(con, root, "inquiries", """
            select inquiry_id, run_id, agency_id, agency_kind, person_id, case_id, requested_at,
                case when roll >= 30 then requested_at + to_milliseconds(40 + roll % 900) end as responded_at,
                case when roll >= 30 then 40 + roll % 900 end as latency_ms,
                case when roll < 30 then 'failed' else 'answered' end as status,
                case when roll < 30 then 'timeout' end as reason,
                0 as assets_found, 1 as attempts,
            from inquiries
        """)
        con.execute("""
            create or replace table answers as
            select *, requested_at + to_milliseconds(40 + roll % 900) as responded_at from inquiries where roll >= 30
        """)
        answered = "from answers, range(2) t(k) where"
        responded = "responded_at"
        bank_feeds = []
        for agency_id, _, code, style in AGENCIES[:3]:
            bank_feeds.append(f"""
                select inquiry_id, agency_id, person_id, {_spelled('name', style)} as holder_name,
                    '{code}0' || lpad(cast(hash(inquiry_id, k) % 1000000000000000000 as varchar), 18, '0') as bban,
                    case when hash(inquiry_id, k, 'kind') % 100 < 75 then 'ordinary'
                         when hash(inquiry_id, k, 'kind') % 100 < 90 then 'salary' else 'pension' end
                        as account_kind,
                    cast(pow(10, 6 + 4.5 * ((hash(inquiry_id, k, 'bal') % 1000) / 1000.0)) as bigint)
                        // 10000 * 10000 as balance_rial,
                    {responded},
                {answered} agency_id = '{agency_id}' and hash(inquiry_id, k) % 10 < 4""")
        rows["bank_accounts"] = _copy(con, root, "bank_accounts", f"""
            select *, 'IR' || lpad(cast(98 - cast(bban || '182700' as hugeint) % 97 as varchar), 2, '0') || bban
                as iban,
            from ({" union all ".join(bank_feeds)})
        """)
        rows["security_holdings"] = _copy(con, root, "security_holdings", f"""
            select inquiry_id, agency_id, person_id, {_spelled('name', 'nojoiner')} as holder_name,
                {_list(SYMBOLS)}[cast(1 + (hash(inquiry_id) + k) % {len(SYMBOLS)} as bigint)] as symbol,
                100 + hash(inquiry_id, k) % 200000 as quantity, 2000 + hash(inquiry_id, k, 'p') % 88000
                    as unit_price_rial,
                (100 + hash(inquiry_id, k) % 200000) * (2000 + hash(inquiry_id, k, 'p') % 88000) as value_rial,
                {responded},
            {answered} agency_id = 'csdi' and hash(inquiry_id, 'has') % 10 < 3
        """)
        rows["vehicles"] = _copy(con, root, "vehicles", f"""
            select inquiry_id, agency_id, person_id, {_spelled('name', 'space')} as owner_name,
                lpad(cast(10 + hash(inquiry_id, k) % 90 as varchar), 2, '0')
                    || {_list(PLATE_LETTERS)}[cast(1 + hash(inquiry_id, k, 'l') % {len(PLATE_LETTERS)} as bigint)]
                    || cast(100 + hash(inquiry_id, k, 'n') % 900 as varchar) || '-'
                    || cast(10 + hash(inquiry_id, k, 'r') % 90 as varchar) as plate,
                'Saipa Pride' as model,
                cast(pow(10, 9 + 1.7 * ((hash(inquiry_id, k, 'v') % 1000) / 1000.0)) as bigint) // 10000 * 10000
                    as value_rial,
                {responded},
            {answered} agency_id = 'traffic_police' and hash(inquiry_id, 'has') % 10 < 4
                and (k = 0 or hash(inquiry_id, 'second') % 2 = 0)
        """)
        rows["properties"] = _copy(con, root, "properties", f"""
            select inquiry_id, agency_id, person_id, name as owner_name,
                cast(1 + hash(inquiry_id, k) % 30 as varchar) as registry_section,
                1 + hash(inquiry_id, k, 'm') % 9999 as main_plate, hash(inquiry_id, k, 's') % 500 as sub_plate,
                100 as share_percent,
                cast(pow(10, 10 + 1.5 * ((hash(inquiry_id, k, 'v') % 1000) / 1000.0)) as bigint) // 10000 * 10000
                    as value_rial,
                {responded},
            {answered} agency_id = 'land_registry' and hash(inquiry_id, 'has') % 100 < 25
                and (k = 0 or hash(inquiry_id, 'two') % 3 = 0)
        """)
        # freezes: one order per frozen case on the debtor's first ordinary account at bank_melli, acknowledged
        con.execute(f"""
            create or replace table orders as
            select
                'ord-' || cases.case_id as order_id, cases.case_id, cases.person_id, accounts.iban as asset_ref,
                least(accounts.balance_rial, cases.owed) as amount_rial,
                timestamptz '{ANCHOR}' + interval 2 day as issued_at,
            from cases
            inner join (
                select person_id, first(iban order by iban) as iban, first(balance_rial order by iban) as balance_rial,
                from read_parquet('{root}/landing/bank_accounts/*/*.parquet')
                where agency_id = 'bank_melli' and account_kind = 'ordinary' and balance_rial > 0
                group by person_id
            ) as accounts using (person_id)
            where cases.outcome >= 0.45 and {_u('cases.case_id', "'frozen'")} < {FROZEN_CASE_SHARE / 0.55}
            qualify row_number() over (partition by accounts.iban order by cases.case_id) = 1
        """)
        rows["freeze_orders"] = _copy(con, root, "freeze_orders", """
            select order_id, 'bench-cycle' as cycle_id, 'freeze' as kind, case_id, person_id, 'bank_melli' as agency_id,
                'bank_account' as asset_kind, asset_ref, amount_rial, 0 as version, 'new_freeze' as reason_code,
                false as confidential, issued_at as first_issued_at, issued_at + interval 20 second as deadline_at,
                issued_at, 'delivered' as delivery, 'acknowledged' as status, null as reason,
            from orders
        """)
        rows["freeze_acknowledgements"] = _copy(con, root, "freeze_acknowledgements", """
            select order_id, 'freeze' as order_kind, 'bank_melli' as agency_id, case_id, asset_ref, 'done' as status,
                amount_rial as acknowledged_amount_rial, amount_rial as frozen_total_rial,
                issued_at + interval 3 second as acknowledged_at, null as reason,
            from orders
        """)
        rows["persons"] = n_persons
        return rows
    finally:
        con.close()


FLOOR_SQL = """
with
events as (select * from read_parquet('{landing}/case_events/*/*.parquet')),
filed as (
    select case_id, any_value(debtor_id) as person_id, any_value(amount_rial) as owed, min(occurred_at) as filed_at,
    from events where event_type = 'filed' group by case_id
),
progress as (
    select case_id, coalesce(sum(amount_rial) filter (where event_type = 'paid'), 0) as paid,
        bool_or(event_type = 'closed') as closed,
    from events group by case_id
),
cases as (
    select filed.*, progress.paid, progress.closed, greatest(filed.owed - progress.paid, 0) as outstanding,
    from filed inner join progress using (case_id)
),
registry as (
    select person_id, count(*) as unpaid_cases, sum(owed) as owed, sum(paid) as paid, sum(outstanding) as outstanding,
        min(filed_at) as unpaid_since,
        case when sum(paid) > 0 then 'partially_paid' else 'unpaid' end as status,
    from cases where not closed and outstanding > 0 group by person_id
),
assets as (
    select person_id, agency_id, iban as asset_ref, balance_rial as value_rial
        from read_parquet('{landing}/bank_accounts/*/*.parquet')
    union all select person_id, agency_id, person_id || ':' || symbol, value_rial
        from read_parquet('{landing}/security_holdings/*/*.parquet')
    union all select person_id, agency_id, plate, value_rial from read_parquet('{landing}/vehicles/*/*.parquet')
    union all select person_id, agency_id, registry_section || '/' || main_plate || '/' || sub_plate, value_rial
        from read_parquet('{landing}/properties/*/*.parquet')
),
frozen as (
    select case_id, sum(frozen_total_rial) as frozen
    from read_parquet('{landing}/freeze_acknowledgements/*/*.parquet') group by case_id
),
asset_report as (
    select cases.case_id, count(assets.asset_ref) as assets, sum(assets.value_rial) as assets_value,
        any_value(coalesce(frozen.frozen, 0)) as frozen,
        any_value(case when cases.outstanding > 0 then coalesce(frozen.frozen, 0) / cases.outstanding end)
            as coverage_ratio,
    from cases left join assets using (person_id) left join frozen using (case_id)
    group by cases.case_id
),
kpi as (
    select agency_id, agency_kind, cast(requested_at as date) as day, count(*) as sent,
        count(*) filter (where status = 'answered') as answered, count(*) filter (where status = 'failed') as failed,
        quantile_disc(latency_ms, 0.5) as p50, quantile_disc(latency_ms, 0.95) as p95,
    from read_parquet('{landing}/inquiries/*/*.parquet') group by all
)
select
    (select count(*) from registry), (select sum(hash(person_id, outstanding, status, unpaid_since)) from registry),
    (select count(*) from asset_report), (select sum(hash(case_id, assets_value, coverage_ratio)) from asset_report),
    (select count(*) from kpi), (select sum(hash(agency_id, day, sent, p50, p95)) from kpi)
"""


def run_floor(landing: Path) -> tuple[float, tuple[object, ...]]:
    """The core aggregations as one raw DuckDB query over the landed Parquet; (seconds, result)."""
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        started = time.perf_counter()
        result = con.execute(FLOOR_SQL.format(landing=landing)).fetchone()
        return time.perf_counter() - started, tuple(result or ())
    finally:
        con.close()


def dbt_times(data_dir: Path) -> dict[str, float]:
    """Seconds dbt spent per kind of node (model, test, unit_test, ...; summed over its threads), and in the
    freeze allocation model, from the build's ``run_results.json``."""
    results = json.loads((data_dir / warehouse.DBT_TARGET_SUBDIR / "run_results.json").read_text(encoding="utf-8"))
    times: dict[str, float] = {}
    for result in results["results"]:
        kind = str(result["unique_id"]).split(".")[0]
        times[f"{kind}_s"] = times.get(f"{kind}_s", 0.0) + float(result["execution_time"])
        if result["unique_id"] == "model.estelam.int_freeze_allocations":
            times["freeze_allocations_s"] = float(result["execution_time"])
    return {name: round(seconds, 3) for name, seconds in times.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=DEFAULT_PERSONS)
    parser.add_argument("--data-dir", type=Path, default=None, help="default: a temporary directory")
    parser.add_argument("--keep", action="store_true", help="keep the data directory afterwards")
    parser.add_argument("--memory-limit", default=None,
                        help="DuckDB's memory_limit for the build (dbt var duckdb_memory_limit; the profile's: 3GB)")
    args = parser.parse_args(argv)

    data_dir = (args.data_dir or Path(tempfile.mkdtemp(prefix="estelam-scale-"))).resolve()
    scale_settings = settings.current().with_changes(data_dir=data_dir, warehouse=data_dir / "warehouse.duckdb")
    try:
        with settings.use(scale_settings):
            started = time.perf_counter()
            rows = generate_landing(data_dir, args.persons)
            generated = time.perf_counter() - started
            print(f"generated in {generated:.1f} s: " + ", ".join(f"{feed} {n:,}" for feed, n in rows.items()))

            floor_s, floor_result = run_floor(data_dir / "landing")
            print(f"floor (one raw DuckDB query over the Parquet): {floor_s:.1f} s "
                  f"(registry {floor_result[0]:,} persons, {floor_result[2]:,} cases, {floor_result[4]:,} KPI rows)")

            dbt_vars = {"duckdb_memory_limit": args.memory_limit} if args.memory_limit else None
            summary = warehouse.build(dbt_vars=dbt_vars, write_artifacts=True)  # dbt_times reads run_results.json
            print(f"warehouse.build(): {summary.duration_s:.1f} s ({summary.models} models, "
                  f"{summary.tests_passed} tests, {summary.unit_tests} unit tests, {summary.tests_failed} failed, "
                  f"{summary.tests_warned} warned)")
            counts = warehouse.mart_counts()
            print("marts: " + ", ".join(f"{mart} {n:,}" for mart, n in counts.items()))
            print(f"ratio build / floor: {summary.duration_s / floor_s:.1f}x")
            times = dbt_times(data_dir)
            models_only = warehouse.build(dbt_vars=dbt_vars, data_tests=False, unit_tests=False)  # nothing tested
            print(f"models alone (seeds, models, snapshot; no tests), again on the same landing zone: "
                  f"{models_only.duration_s:.1f} s, {models_only.duration_s / floor_s:.1f}x the floor")
            emit("warehouse", [headline(f"warehouse.build() at {args.persons:,} persons", summary.duration_s, "s",
                                        floor_s),
                                headline(f"models alone at {args.persons:,} persons", models_only.duration_s, "s",
                                         floor_s)],
                 persons=args.persons, memory_limit=args.memory_limit or "3GB",
                 rows=rows, generate_s=round(generated, 3), floor_s=round(floor_s, 3),
                 build_s=summary.duration_s, models_only_s=models_only.duration_s, models=summary.models,
                 tests=summary.tests_passed, unit_tests=summary.unit_tests, tests_failed=summary.tests_failed,
                 dbt=times,
                 warehouse_mb=round((data_dir / "warehouse.duckdb").stat().st_size / 2**20, 1))
    finally:
        if not args.keep and args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
