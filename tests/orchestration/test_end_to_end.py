"""The whole story through real Airflow, over simulated days: each day court drop -> warehouse -> inquiries ->
warehouse -> freezes, releases, transfers, payouts -> registers pushed.

The agencies' own books (the simulators) are the referee: what they hold frozen
must equal what their acknowledgements say, and no case may be frozen beyond what it owes.
"""

from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from estelam.cases.directives import Directive
from simulators.demo import DAY_SEQUENCE, DemoResult, dag_sequence
from tests.conftest import E2E_DAYS

pytestmark = pytest.mark.e2e


@pytest.fixture
def cycle(demo_cycle: DemoResult) -> DemoResult:
    return demo_cycle


def _read(data: Path, feed: str, zone: str = "landing") -> list[dict]:
    files = sorted((data / zone / feed).glob("*/*.parquet"))
    if not files:
        return []
    with duckdb.connect() as con:
        rel = con.execute("select * from read_parquet(?)", [[str(f) for f in files]])
        cols = [d[0] for d in rel.description]
        return [dict(zip(cols, row, strict=True)) for row in rel.fetchall()]


def test_every_dag_succeeds_in_order_every_day(cycle: DemoResult) -> None:
    assert [name for name, _, _ in cycle.dag_states] == list(dag_sequence(E2E_DAYS))
    assert list(dag_sequence(E2E_DAYS)) == [*DAY_SEQUENCE * E2E_DAYS, "warehouse_build"]
    assert all(state == "success" for _, state, _ in cycle.dag_states)


def test_the_story_holds_every_day(cycle: DemoResult) -> None:
    """Checked at every day's end against the agencies' own state: never frozen beyond the debt, nothing lost,
    nothing twice."""
    assert [d.day for d in cycle.days] == list(range(1, E2E_DAYS + 1))
    for day in cycle.days:
        assert [v.name for v in day.invariants] == ["never frozen beyond the debt", "nothing lost", "nothing twice"]
        assert day.invariants_held, (day.day, [(v.name, v.detail) for v in day.invariants if not v.held])


def test_great_expectations_audited_every_feed_that_landed_and_agreed(cycle: DemoResult) -> None:
    """The demo lands with the compiled rules and the audit worker has GX audit every batch: each feed that landed
    was audited (case events, answers, the inquiry log, orders, acknowledgements, notices), and GX agreed."""
    audited = {a.feed for a in cycle.audits}
    assert {"case_events", "inquiries", "bank_accounts", "freeze_orders", "freeze_acknowledgements",
            "debtor_notifications", "case_directives"} <= audited, audited
    assert all(a.agreed for a in cycle.audits), [a.disagreement for a in cycle.audits if not a.agreed]
    landed = _read(cycle.data_dir, "case_events")  # type: ignore[attr-defined]
    assert landed and sum(a.rows for a in cycle.audits if a.feed == "case_events") >= len(landed)


def test_the_story_releases_excess_and_closed_cases_collects_pays_out_and_restricts(cycle: DemoResult) -> None:
    """A partial payment releases the excess, a closure releases everything, a judge's collection through the
    API is transferred and paid out, a judge's restriction change reaches the vehicle registry."""
    data = cycle.data_dir  # type: ignore[attr-defined]
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        delivered = dict(con.execute("select order_kind || '/' || reason_code, count(*) "
                                     "from staging.stg_hub__freeze_orders where delivery = 'delivered' "
                                     "group by 1").fetchall())
        api = dict(con.execute("select directive, count(*) from staging.stg_court__case_directives "
                               "where source = 'api' group by 1").fetchall())
        days = con.execute("select count(distinct day) from kpi_inquiries_daily").fetchone()
    assert delivered.get("release/debt_reduced", 0) + delivered.get("release/excess", 0) >= 1, delivered
    assert delivered.get("release/case_closed", 0) + delivered.get("release/case_paid", 0) >= 1, delivered
    assert delivered.get("payout/payout", 0) >= 1 and delivered.get("transfer/collection", 0) >= 1, delivered
    assert delivered.get("freeze/restriction_changed", 0) >= 1, delivered
    assert api.get("collect", 0) >= 1 and len(api) >= 2, api  # a collection and a restriction or confidentiality
    assert all(status == 201 for _, _, _, status in cycle.judge_acts), cycle.judge_acts
    assert days is not None and days[0] == E2E_DAYS  # the KPIs hold a row for every simulated day


def test_the_late_bank_is_late_on_the_scoreboard(cycle: DemoResult) -> None:
    """The bank whose order desk fell behind for two days acknowledged those orders late; the scoreboard says so
    and ranks it among the worst."""
    data = cycle.data_dir  # type: ignore[attr-defined]
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        late = dict(con.execute("select agency_id, sum(late) from kpi_deadline_compliance group by 1 "
                                "having sum(late) > 0").fetchall())
        partial = con.execute("select count(*) from staging.stg_agency__freeze_acknowledgements where agency_id = ? "
                              "and ack_status = 'partial'", [cycle.roles["partial_bank"]]).fetchone()
        failed = con.execute("select count(*) from staging.stg_hub__inquiries where agency_id = ? "
                             "and status in ('failed', 'deadline_missed')", [cycle.roles["down_bank"]]).fetchone()
    assert late.get(cycle.roles["late_bank"], 0) >= 1, (cycle.roles, late)
    assert partial is not None and partial[0] >= 1, cycle.roles  # the partial bank blocked part of a freeze
    assert failed is not None and failed[0] >= 1, cycle.roles  # the down bank's inquiries failed that day


def test_the_warehouse_holds_directives_of_every_kind_transfers_and_releases(cycle: DemoResult) -> None:
    data = cycle.data_dir  # type: ignore[attr-defined]
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        kinds = {k for (k,) in con.execute("select distinct directive from staging.stg_court__case_directives")
                 .fetchall()}
        orders = dict(con.execute("select order_kind || '/' || reason_code, count(*) "
                                  "from staging.stg_hub__freeze_orders group by 1").fetchall())
        sources = {s for (s,) in con.execute("select distinct source from staging.stg_court__case_directives")
                   .fetchall()}
    assert kinds == set(Directive) - {Directive.RESTRICT_CIRCULATION}, kinds  # every kind the court drops
    assert sources == {"court", "api"}  # the court system's file, and a judge through the API
    assert orders.get("transfer/collection", 0) >= 1, orders
    assert orders.get("payout/payout", 0) >= 1, orders
    assert orders.get("cancel/order_cancelled", 0) >= 1, orders
    assert orders.get("freeze/restriction_changed", 0) >= 1, orders
    assert orders.get("release/judge_release", 0) >= 1, orders
    assert sum(n for k, n in orders.items() if k.startswith("release/")) >= 1, orders


def test_collected_money_is_paid_out_to_each_creditor_as_acknowledged(cycle: DemoResult) -> None:
    """The bank of the court's account is the referee: what it paid each creditor is what the hub recorded, and
    every rial collected is paid out to the creditor's account the court sent."""
    data = cycle.data_dir  # type: ignore[attr-defined]
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        cases = {c: (iban, collected, paid) for c, iban, collected, paid in con.execute(
            "select case_id, creditor_iban, collected_rial, paid_out_rial from intermediate.int_cases "
            "where collected_rial > 0").fetchall()}
    assert cases, "nothing was collected"
    paid = {(case_id, iban): amount for (_, case_id, iban), amount in cycle.payouts.items()}
    assert paid == {(c, iban): collected for c, (iban, collected, _) in cases.items()}
    assert all(collected == paid_out for _, collected, paid_out in cases.values())


def test_marts_are_built_and_not_empty(cycle: DemoResult) -> None:
    for mart in ("financial_convictions", "asset_report", "freeze_plan", "kpi_inquiries_daily"):
        assert cycle.summary[f"{mart} rows"] > 0, mart


def test_every_inquiry_has_exactly_one_final_state(cycle: DemoResult) -> None:
    log = _read(cycle.data_dir, "inquiries")  # type: ignore[attr-defined]
    assert log, "no inquiry was logged"
    ids = [row["inquiry_id"] for row in log]
    assert len(ids) == len(set(ids))
    assert {row["status"] for row in log} <= {"answered", "rejected", "failed"}
    assert all(row["reason"] for row in log if row["status"] != "answered")


def test_agencies_hold_exactly_what_their_acknowledgements_say(cycle: DemoResult) -> None:
    acks = _read(cycle.data_dir, "freeze_acknowledgements")  # type: ignore[attr-defined]
    assert acks, "no freeze was acknowledged"
    latest: dict[tuple[str, str, str], tuple] = {}
    for ack in acks:
        key = (ack["agency_id"], ack["case_id"], ack["asset_ref"])
        stamp = (ack["acknowledged_at"], ack["order_id"])
        if key not in latest or stamp > latest[key][0]:
            latest[key] = (stamp, ack["frozen_total_rial"])
    said = {key: total for key, (_, total) in latest.items() if total > 0}
    assert said == cycle.held_freezes
    assert cycle.held_freezes, "nothing is frozen at any agency"


def test_no_case_is_frozen_beyond_what_it_owes(cycle: DemoResult) -> None:
    events = _read(cycle.data_dir, "case_events")  # type: ignore[attr-defined]
    outstanding: dict[str, int] = defaultdict(int)
    closed = set()
    for event in events:
        if event["event_type"] == "filed":
            outstanding[event["case_id"]] += event["amount_rial"]
        elif event["event_type"] == "paid":
            outstanding[event["case_id"]] -= event["amount_rial"]
        elif event["event_type"] == "closed":
            closed.add(event["case_id"])
    frozen: dict[str, int] = defaultdict(int)
    for (_, case_id, _), amount in cycle.held_freezes.items():
        frozen[case_id] += amount
    for case_id, amount in frozen.items():
        assert case_id not in closed, f"closed case {case_id} still has freezes"
        assert amount <= max(outstanding[case_id], 0), f"case {case_id} frozen {amount} > owed"


def test_outputs_are_where_the_readme_says(cycle: DemoResult) -> None:
    data = cycle.data_dir  # type: ignore[attr-defined]
    assert (data / "warehouse.duckdb").is_file()
    assert any((data / "landing").glob("*/*/*.parquet"))
    assert any((data / "quarantine").glob("*/*/*.parquet")), "the dirty records were not quarantined"
    assert (data / "published" / "kpi_inquiries_daily.parquet").is_file(), "KPIs were not published"
    assert Path(cycle.report_path).is_file()
    assert Path(cycle.report_path).read_text(encoding="utf-8").count("<tr") > 1


def test_every_exchange_is_on_the_record(cycle: DemoResult, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Every landed inquiry and order row names a message found in the message_log model; every stored body still
    matches its hash; the debtor sees the agencies that were asked about them, with the purpose; both logs verify,
    and stop verifying when the audit log's last line is removed."""
    import hashlib

    from typer.testing import CliRunner

    from estelam.access.audit import AuditLog
    from estelam.access.message_log import MessageLog
    from estelam.cli import app
    from tests.settings_support import override

    data = cycle.data_dir  # type: ignore[attr-defined]
    override(monkeypatch, data_dir=data)
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        logged = {m for (m,) in con.execute("select message_id from message_log").fetchall()}
        inquiry_ids = [m for (m,) in con.execute("select message_id from staging.stg_hub__inquiries").fetchall()]
        order_ids = [m for (m,) in con.execute("select message_id from staging.stg_hub__freeze_orders").fetchall()]
    assert inquiry_ids and order_ids
    assert set(inquiry_ids) <= logged and set(order_ids) <= logged  # None is not logged: every row has one
    messages = MessageLog()
    kept = [m for m in messages.messages() if m.body is not None]
    assert kept and any(m.body is None for m in messages.messages())  # bank_sina: metadata only
    for message in kept:
        assert hashlib.sha256(messages.body(message.message_id, message.direction)).hexdigest() == message.sha256
    debtor = next(i for i in _read(data, "inquiries") if i["case_id"])
    looked = [e for e in AuditLog().who_looked_at(debtor["person_id"]) if e.action == "inquiry"]
    assert len({e.detail["agency_id"] for e in looked}) >= 30  # every agency asked about them is named
    assert all(e.purpose.startswith("enforcement of case") for e in looked)
    runner = CliRunner()
    listed = runner.invoke(app, ["audit", "who-looked-at", debtor["person_id"]])
    assert f"inquiry at bank_melli  allowed  purpose: enforcement of case {debtor['case_id']}" in listed.output
    assert runner.invoke(app, ["audit", "verify"]).exit_code == 0
    log = data / "audit" / "audit.jsonl"
    original = log.read_bytes()
    try:
        log.write_bytes(b"".join(original.splitlines(keepends=True)[:-1]))
        cut = runner.invoke(app, ["audit", "verify"])
        assert cut.exit_code == 1 and "were removed" in cut.output
    finally:
        log.write_bytes(original)


def test_the_police_and_the_central_bank_hold_the_registers_pushed_to_them(cycle: DemoResult) -> None:
    """The fugitive-convicts register and the credit-scoring feed reach their agencies, every push on record."""
    warehouse = cycle.data_dir / "warehouse.duckdb"  # type: ignore[attr-defined]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        fugitives = {row[0] for row in con.execute("select person_id from fugitives").fetchall()}
        feed = {row[0] for row in con.execute("select person_id from central_bank_feed").fetchall()}
    assert fugitives and feed
    assert set(cycle.registers_held["police"]) == fugitives
    assert set(cycle.registers_held["central_bank"]) == feed
    pushes = _read(cycle.data_dir, "register_pushes")  # type: ignore[attr-defined]
    assert pushes and {row["state"] for row in pushes} == {"acknowledged"}


def test_execution_is_timed_from_the_courts_own_freeze_decisions(cycle: DemoResult) -> None:
    """The court sends its judges' freeze decisions (freeze_ordered, with the decision number and judge): the
    execution step runs from the invoice to that decision, not to the hub's first order weeks later."""
    data = cycle.data_dir  # type: ignore[attr-defined]
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        decisions = con.execute("select count(*), count(decision_number), count(judge_name) "
                                "from staging.stg_court__case_events where event_type = 'freeze_ordered'").fetchone()
        slowest = con.execute("select max(hours_p95) from kpi_enforcement_steps where step = 'execution'").fetchone()
    assert decisions is not None and decisions[0] > 0 and decisions[0] == decisions[1] == decisions[2]
    assert slowest is not None and 0 < slowest[0] <= 240  # the judge decides within ten days of the invoice


def test_the_kinds_declared_by_mapping_files_reach_the_warehouse_and_the_report(cycle: DemoResult) -> None:
    """Asked, landed, validated, in the warehouse and in the judge's report, with no code of their own."""
    from estelam.contracts.registry import load_agency_registry

    data = cycle.data_dir  # type: ignore[attr-defined]
    mapped = {str(k): c for k, c in load_agency_registry().kinds.items() if c.mapping is not None}
    assert {"civil_registry", "social_security", "returned_cheques", "eu_vies"} <= set(mapped)
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        asked = dict(con.execute("select agency_kind, count(*) filter (where status = 'answered') "
                                 "from staging.stg_hub__inquiries group by 1").fetchall())
        facts = dict(con.execute("select agency_kind, count(distinct person_id) from person_facts group by 1")
                     .fetchall())
        assets = dict(con.execute("select agency_kind, count(*) from intermediate.int_assets_latest group by 1")
                      .fetchall())
    for kind, contract in mapped.items():
        assert contract.mapping is not None
        assert asked.get(kind, 0) > 0, f"{kind} was never answered: {asked}"
        assert _read(data, contract.answer_feed), f"nothing of {kind} landed in {contract.answer_feed}"
        if contract.mapping.facts is not None:
            assert facts.get(kind, 0) > 0, f"no facts of {kind} in person_facts: {facts}"
        if contract.mapping.assets is not None:
            assert assets.get(kind, 0) > 0, f"no assets of {kind} in int_assets_latest: {assets}"
    report = Path(cycle.report_path).read_text(encoding="utf-8")  # type: ignore[attr-defined]
    assert "اطلاعات دیگر درباره بدهکار" in report  # the facts section, in Persian by default
