"""The whole flow on one machine, over simulated days: simulators on loopback, DAGs in-process with real Airflow.

    estelam demo                  # what `make demo` runs: 7 simulated days
    estelam demo --days 4         # the shortest story (`python -m simulators.demo` is an alias)

The hub's clock (``estelam.core.clock``) is moved to each simulated day's morning and runs from there. Every
day is a real cycle of the real DAGs against the agencies' simulators: the court system drops what happened
since the day before (``simulators.story``: new cases, payments, closures, abscondings), a judge acts
through the hub's API, some agencies misbehave; then the hub ingests, builds its inquiry targets and inquires,
builds, reconciles (freezes, releases, transfers, payouts, restriction changes) and pushes its registers. At each
day's end the invariants (``simulators.invariants``) are checked against what the agencies hold. A last build
publishes everything; the result tells the story and stops everything it started.
"""

from __future__ import annotations

import logging
import shutil
import socket
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from time import perf_counter, sleep
from typing import Any

from estelam.core import clock, settings
from estelam.core.exceptions import DemoError
from estelam.orchestration.in_process import MetadataMigration, configure_airflow, load_dags, run_dag, warm_up_task_api
from simulators.faults import FaultProfile

logger = logging.getLogger(__name__)

#: One simulated day: the court's drop taken in; every agency asked about whoever needs asking (the round first
#: builds what its targets are made of: the new cases, payments and answers); the warehouse built; the freeze plan
#: reconciled with the agencies; the registers pushed. The day's orders and acknowledgements reach the warehouse
#: in the next day's builds (and the last day's in :data:`CLOSING`).
DAY_SEQUENCE = (
    "case_events_ingest",
    "asset_inquiries",
    "warehouse_build",
    "freeze_reconciliation",
    "register_push",
)
#: After the last day: everything built and published.
CLOSING = ("warehouse_build",)
DEFAULT_DAYS = 7


def dag_sequence(days: int = DEFAULT_DAYS) -> tuple[str, ...]:
    """Every DAG a demo of ``days`` days runs, in order."""
    return DAY_SEQUENCE * days + CLOSING


#: Every DAG the default demo runs, in order.
DAG_SEQUENCE = dag_sequence()
#: How the misbehaving agencies behave on a day the story gives them no fault.
HEALTHY = FaultProfile()


@dataclass
class DayResult:
    """One simulated day: what happened, what the hub did, what it cost, and the invariants at its end."""

    day: int
    date: date
    seconds: float = 0.0
    dag_seconds: dict[str, float] = field(default_factory=dict)  # each DAG's time that day (summed per DAG id)
    happenings: list[str] = field(default_factory=list)
    figures: dict[str, int] = field(default_factory=dict)  # the day's own counts (orders by kind, inquiries, ...)
    invariants: list[Any] = field(default_factory=list)  # simulators.invariants.Verdict
    audit_wait_s: float = 0.0  # waited at the day's end for the audit worker to finish GX's audits

    @property
    def invariants_held(self) -> bool:
        return all(v.held for v in self.invariants)


@dataclass
class DemoResult:
    dag_states: list[tuple[str, str, float]] = field(default_factory=list)
    summary: dict[str, int] = field(default_factory=dict)
    days: list[DayResult] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)  # late_bank, partial_bank, down_bank
    judge_acts: list[tuple[int, str, str, int]] = field(default_factory=list)  # day, case, directive, HTTP status
    judge_token: str = ""  # the demo judge who acted through the API, and their courts
    judge_courts: tuple[str, ...] = ()
    held_freezes: dict[tuple[str, str, str], int] = field(default_factory=dict)
    collected: dict[str, int] = field(default_factory=dict)  # case -> rials transferred to the court's account
    #: what the bank of the court's account paid creditors: (agency_id, case_id, creditor IBAN) -> rials
    payouts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    #: what each agency the hub pushes registers to holds at the end: agency_id -> person_id -> entry
    registers_held: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)
    #: what reached the debtors: the e-mails the loopback mail server received, the texts the SMS gateway sent
    mails: list[EmailMessage] = field(default_factory=list)
    texts: list[dict[str, str]] = field(default_factory=list)
    report_path: str = ""
    story: list[str] = field(default_factory=list)  # what a person reads after the run (story_lines)
    audits: list[Any] = field(default_factory=list)  # estelam.ingest.audit_worker.AuditEntry, one per feed audited


def _say(message: str) -> None:
    print(message, flush=True)


#: What a demo run writes under the data directory; removed before each run (Airflow's DB and the record's signing
#: key are kept). The acknowledgement claims go too: order ids are derived from the case, asset and kind, so the
#: same world's orders carry the same ids run after run, and a claim kept from the last run would withhold their
#: acknowledgements from the landing zone.
DEMO_OUTPUTS = ("landing", "quarantine", "inbox", "run", "rounds", "reports", "dbt", "published", "notifications",
                "acknowledgements", "audit", "messages", "checkpoints", "audit_spool")


def reset_data_dir() -> None:
    """Start from empty landing, quarantine and warehouse: the new simulators start with nothing frozen."""
    data = settings.data_dir()
    for name in DEMO_OUTPUTS:
        shutil.rmtree(data / name, ignore_errors=True)
    for path in (settings.warehouse_path(), settings.warehouse_path().with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)
    data.mkdir(parents=True, exist_ok=True)


def _run_step(dags: dict[str, Any], dag_id: str, result: DemoResult,
              on_step: Callable[[str], None] | None) -> float:
    if on_step is not None:
        on_step(dag_id)
    state, seconds, tasks = run_dag(dags[dag_id])
    result.dag_states.append((dag_id, state, seconds))
    logger.info("dag %s %s in %.1f s (%d tasks)", dag_id, state, seconds, len(tasks))
    failed = {t: s for t, s in tasks.items() if s not in {"success", "skipped"}}
    if state != "success" or failed:  # a teardown (the inquiries' GX audit) can fail in a successful run
        raise DemoError(f"DAG {dag_id} ended {state}: {failed}")
    return seconds


@dataclass
class LiveDemo:
    """A demo whose simulators, mail server and SMS gateway are still running (see :func:`running`): what it did,
    and what a caller needs to act on it further (another reconciliation against the same agencies)."""

    result: DemoResult
    fleet: Any  # simulators.fleet.Fleet
    channels: Any  # simulators.channels.Channels
    dags: dict[str, Any]
    hub_settings: settings.Settings  # the settings the hub ran with (the fleet's endpoints, the channels)

    def run_dag(self, dag_id: str, on_step: Callable[[str], None] | None = None) -> None:
        """Run one more DAG against the running agencies (as the demo ran its own), over the current data
        directory; the demo's own record (``result``) stays as the demo left it."""
        with settings.use(self.hub_settings.with_changes(data_dir=settings.data_dir())):
            _run_step(self.dags, dag_id, DemoResult(), on_step)


def run(*, days: int = DEFAULT_DAYS, persons: int | None = None, cases: int | None = None, seed: int | None = None,
        on_step: Callable[[str], None] | None = None, on_day: Callable[[DayResult], None] | None = None,
        jurisdiction: str | None = None) -> DemoResult:
    """Run the story and return what happened; ``on_step(dag_id)`` as each DAG starts, ``on_day(day)`` as each
    simulated day ends. ``jurisdiction`` (``ir``, ``sa``) is the profile of the run (the settings' when None)."""
    from estelam.reporting.asset_report import write_case_report

    with _profile(jurisdiction):
        with running(days=days, persons=persons, cases=cases, seed=seed, on_step=on_step, on_day=on_day) as live:
            result = live.result
        result.report_path = str(write_case_report())
        result.story = story_lines(result)  # under the run's profile: its registry's names, its currency
    return result


@contextmanager
def _profile(jurisdiction: str | None) -> Iterator[None]:
    """The settings with ``jurisdiction`` as the profile (unchanged when None) for the block."""
    if jurisdiction is None:
        yield
        return
    with settings.use(settings.current().with_changes(jurisdiction=jurisdiction)):
        yield


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _api_server() -> Iterator[str]:
    """The hub's API (FastAPI under uvicorn) on a loopback port, in a thread of this process; yields its URL."""
    import uvicorn

    from estelam.api.app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, name="demo-api", daemon=True)
    thread.start()
    deadline = perf_counter() + 30
    while not server.started:
        if not thread.is_alive() or perf_counter() > deadline:
            raise DemoError("the hub's API did not start")
        sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def demo_judge(courts: set[str]) -> dict[str, Any]:
    """The demo token of a judge sitting in some of ``courts`` (estelam.access.auth.DEMO_TOKENS): who acts through
    the API in the story, and whom the summary tells a reader to sign in as."""
    from estelam.access.auth import DEMO_TOKENS

    for entry in DEMO_TOKENS["tokens"]:
        if entry["role"] == "judge" and courts & set(entry.get("courts") or ()):
            return entry
    raise DemoError(f"no demo judge sits in any of the world's courts {sorted(courts)}")


def _day_figures(before: Counter[str], after: Counter[str]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in after if after[key] - before[key]}


def _landed_counts() -> Counter[str]:
    """Counts of the hub's logs so far, for the day's own figures (differences between two days' ends)."""
    from estelam.ingest.landing import read_landed

    counts: Counter[str] = Counter()
    for row in read_landed("inquiries"):
        counts[f"inquiries {row['status']}"] += 1
    for order in read_landed("freeze_orders"):
        counts[f"{order['kind']} sendings"] += 1
        counts[f"{order['kind']} sendings {order['delivery']}"] += 1
    for ack in read_landed("freeze_acknowledgements"):
        counts[f"{ack['order_kind']} acknowledged"] += 1
        counts[f"{ack['order_kind']} acknowledged {ack['status']}"] += 1
    return counts


@contextmanager
def running(*, days: int = DEFAULT_DAYS, persons: int | None = None, cases: int | None = None,
            seed: int | None = None, on_step: Callable[[str], None] | None = None,
            on_day: Callable[[DayResult], None] | None = None, jurisdiction: str | None = None) -> Iterator[LiveDemo]:
    """Run the story and keep the agencies and channels running while the caller looks or acts further (the
    tests' judges act in the portal, and a next cycle reaches the same simulators); stopped on exit.
    ``jurisdiction`` (``ir``, ``sa``) is the profile of the run (the settings' when None)."""
    from connectors.shared_state import let_time_pass
    from estelam.contracts.registry import load_agency_registry, load_court_account
    from estelam.ingest.audit_worker import AuditWorkerProcess, audit_record
    from estelam.warehouse import dbt_build
    from estelam.warehouse.summary import cycle_summary
    from simulators import world as world_module
    from simulators.channels import Channels
    from simulators.fleet import Fleet
    from simulators.story import Story, day_start, first_day

    if jurisdiction is not None:  # the profile of the run: the registry, the world and every DAG read it
        with _profile(jurisdiction), running(days=days, persons=persons, cases=cases, seed=seed, on_step=on_step,
                                             on_day=on_day) as live:
            yield live
        return
    reset_data_dir()
    configure_airflow()
    with MetadataMigration() as migration:  # Airflow's metadata DB is made while the world and its agencies start
        result = DemoResult()
        registry = load_agency_registry()
        start = first_day(clock.today(), clock.now(), days)  # the last simulated day is today (yesterday before 07:00)
        world = world_module.generate(
            registry.instances,
            seed=seed or world_module.DEFAULT_SEED,
            n_persons=persons or world_module.DEFAULT_PERSONS,
            n_cases=cases or world_module.DEFAULT_CASES,
            anchor=day_start(start, 1),
        )
        court_account = load_court_account()
        judge = demo_judge({c.court_code for c in world.cases})
        result.judge_token, result.judge_courts = str(judge["token"]), tuple(judge["courts"])
        story = Story(world, {i.agency_id: i.kind for i in registry.instances}, start=start, days=days,
                      judge=str(judge["subject"]), judge_courts=result.judge_courts,
                      spared=[court_account.agency_id] if court_account else [])
        roles = story.roles
        result.roles = {"late_bank": roles.late_bank, "partial_bank": roles.partial_bank, "down_bank": roles.down_bank}
        _say(f"• world: {len(world.persons)} persons, {len(world.cases)} cases (seed {world.seed}); "
             f"{days} simulated days from {start.isoformat()}")
        # the misbehaving agencies are wrapped from the start; each day says how they behave
        with (Fleet.start(registry, world, faults=dict.fromkeys(result.roles.values(), HEALTHY)) as fleet,
              Channels.start() as channels):
            endpoints = fleet.write_endpoints(settings.data_dir() / "run" / "endpoints.json")
            # connectors (and the Airflow tasks dag.test() runs in this process) use the fleet's endpoints, and
            # notices go out by e-mail and SMS to the loopback mail server and SMS gateway
            # Great Expectations audits what lands in a worker process of its own, beside this one (validation
            # "background"): GX's import and suites are built there while the migration runs
            hub_settings = settings.current().with_changes(endpoints_file=endpoints, validation="background",
                                                           **channels.settings())
            with (settings.use(hub_settings), clock.simulated(story.morning_at(1)), _api_server() as api_url,
                  AuditWorkerProcess() as auditor):
                kinds = Counter(str(registry.instance(agency_id).kind) for agency_id in fleet.servers
                                if agency_id not in fleet.receivers)
                _say(f"• simulators: {len(fleet.servers) - len(fleet.receivers)} agencies on loopback "
                     f"({', '.join(f'{n} {kind}' for kind, n in sorted(kinds.items()))}) and "
                     f"{len(fleet.receivers)} receiving registers ({', '.join(sorted(fleet.receivers))})")
                _say(f"• channels: mail server on port {channels.mail.port}, SMS gateway at {channels.sms.url}; "
                     f"the hub's API at {api_url}")
                _say(f"• validation: compiled contract rules as batches land; Great Expectations audits them in "
                     f"the audit worker (pid {auditor.pid})")
                # what the first day's tasks would pay for, done while the migration runs
                warmed, parsed = warm_up_task_api(), dbt_build.prepare()
                _say(f"• warmed up: Airflow's task API in {warmed:.1f}s, the dbt project parsed in {parsed:.1f}s")
                _say(f"• airflow: metadata DB migrated in {migration.wait():.1f}s (from the start, alongside the rest)")
                dags = load_dags()
                previous: Counter[str] = Counter()
                for day in range(1, days + 1):
                    day_started = perf_counter()
                    if day > 1:  # the night since the last morning passes for the agencies' circuits too
                        let_time_pass((story.morning_at(day) - story.morning_at(day - 1)).total_seconds())
                    clock.move_to(story.morning_at(day))
                    outcome = DayResult(day=day, date=clock.today())
                    not_taking = _morning(day, story, fleet, api_url, result, outcome)
                    for dag_id in DAY_SEQUENCE:
                        seconds = _run_step(dags, dag_id, result, on_step)
                        outcome.dag_seconds[dag_id] = outcome.dag_seconds.get(dag_id, 0.0) + seconds
                    now_counts = _landed_counts()
                    outcome.figures = _day_figures(previous, now_counts)
                    previous = now_counts
                    outcome.audit_wait_s = auditor.drain()  # the day's landings all audited by GX
                    outcome.invariants = _invariants_at_day_end(story, fleet, not_taking)
                    outcome.seconds = perf_counter() - day_started
                    result.days.append(outcome)
                    if on_day is not None:
                        on_day(outcome)
                for dag_id in CLOSING:
                    _run_step(dags, dag_id, result, on_step)
                result.held_freezes = fleet.held_freezes()
                result.collected = fleet.collected()
                result.payouts = fleet.payouts()
                result.registers_held = {agency_id: dict(agency.held) for agency_id, agency in fleet.receivers.items()}
                result.mails = list(channels.mail.mailbox.messages)
                result.texts = list(channels.sms.simulator.sent)
                result.summary = cycle_summary(result.held_freezes)
                auditor.drain()
                result.audits = audit_record()
            yield LiveDemo(result, fleet, channels, dags, hub_settings)


def _morning(day: int, story: Any, fleet: Any, api_url: str, result: DemoResult, outcome: DayResult) -> list[str]:
    """The world's day before the hub's cycle: the agencies' faults set, the court's case events and directives
    dropped, the judge's directives given through the hub's API. Returns the agencies not taking orders today."""
    import httpx

    from estelam.ingest.landing import read_landed
    from simulators.court import HOLD_DIRECTIVES, court_directives, drop_directives, drop_events
    from simulators.story import BACKLOG, COURT_DIRECTIVES_DAY, DOWN

    directives: list[dict[str, object]] = []
    if day == COURT_DIRECTIVES_DAY:  # the court system's directives of every kind, on frozen cases
        directives = court_directives(read_landed("freeze_orders"), issued_at=clock.now())
    morning = story.morning(day, fleet.held_freezes(),
                            directed=[str(d["case_id"]) for d in directives if d["directive"] in HOLD_DIRECTIVES])
    for agency_id, profile in morning.faults.items():
        fleet.faulty[agency_id].profile = profile or HEALTHY
    touched = {e.occurred_at.date() for e in morning.events}
    drop_events([e for e in story.dropped_so_far() if e.occurred_at.date() in touched], settings.inbox_dir())
    outcome.happenings = list(morning.happenings)
    if morning.events:
        outcome.happenings.insert(0, f"the court drops {len(morning.events)} case "
                                     f"event{'' if len(morning.events) == 1 else 's'}")
    if directives:
        drop_directives(directives, settings.inbox_dir(), day=clock.today().isoformat())
        outcome.happenings.append(f"the court system sends {len(directives)} directives")
    for act in morning.judge_acts:
        answer = httpx.post(f"{api_url}/cases/{act.case_id}/directives", json=act.body, timeout=60,
                            headers={"Authorization": f"Bearer {result.judge_token}"})
        result.judge_acts.append((day, act.case_id, str(act.body["kind"]), answer.status_code))
        if answer.status_code != 201:
            outcome.happenings.append(f"the API refused the judge's {act.body['kind']} on case "
                                      f"{act.case_id}: {answer.status_code} {answer.text[:200]}")
    return [agency_id for agency_id, profile in morning.faults.items() if profile in (BACKLOG, DOWN)]


def _invariants_at_day_end(story: Any, fleet: Any, not_taking: list[str]) -> list[Any]:
    """The day's end checked against what the agencies hold and what the hub landed (simulators.invariants)."""
    from estelam.ingest.landing import read_landed
    from simulators import invariants

    held, collected = fleet.held_freezes(), fleet.collected()
    dropped = story.dropped_so_far()
    return [
        invariants.never_beyond_the_debt(dropped, held, collected, not_taking_orders=not_taking),
        invariants.nothing_lost({e.event_id for e in dropped}, read_landed("case_events"),
                                _quarantined("case_events"), read_landed("inquiries"), read_landed("freeze_orders")),
        invariants.nothing_twice(read_landed("freeze_acknowledgements"), held, collected, fleet.payouts()),
    ]


def _quarantined(feed: str) -> list[dict[str, object]]:
    """The quarantined rows of ``feed`` (each with its reasons)."""
    import pyarrow.parquet as pq

    folder = settings.quarantine_dir() / feed
    return [row for path in sorted(folder.glob("*/*.parquet")) for row in pq.read_table(path).to_pylist()]


#: How a day's line names its figures: (figure key of _landed_counts, the words for one, the words for several).
_DAY_FIGURES = (
    ("inquiries answered", "answer", "answers"),
    ("inquiries rejected", "answer quarantined", "answers quarantined"),
    ("inquiries failed", "inquiry failed", "inquiries failed"),
    ("inquiries deadline_missed", "inquiry unanswered", "inquiries unanswered"),
    ("freeze sendings", "freeze order", "freeze orders"),
    ("release sendings", "release", "releases"),
    ("transfer sendings", "transfer", "transfers"),
    ("payout sendings", "payout", "payouts"),
    ("cancel sendings", "cancel", "cancels"),
    ("freeze sendings failed", "order not taken", "orders not taken"),
    ("freeze acknowledged partial", "partial freeze", "partial freezes"),
)


def day_line(day: DayResult) -> str:
    """One line for a simulated day: its date, its cost, what the hub did and whether the invariants held."""
    did = " · ".join(f"{n:,} {one if n == 1 else several}" for key, one, several in _DAY_FIGURES
                     if (n := day.figures.get(key, 0)))
    verdict = "invariants held" if day.invariants_held else "INVARIANTS BROKEN: " + "; ".join(
        f"{v.name}: {v.detail}" for v in day.invariants if not v.held)
    return f"day {day.day} · {day.date.isoformat()} · {day.seconds:5.1f}s · {did or 'nothing to do'} · {verdict}"


def cost_line(result: DemoResult) -> str:
    """What a simulated day costs, on average over the days after the first (the first asks about everyone)."""
    later = result.days[1:] or result.days
    if not later:
        return "no day ran"
    average = {dag_id: sum(d.dag_seconds.get(dag_id, 0.0) for d in later) / len(later)
               for dag_id in dict.fromkeys(DAY_SEQUENCE)}
    total = sum(d.seconds for d in later) / len(later)
    parts = ", ".join(f"{dag_id} {seconds:.1f}s" for dag_id, seconds in average.items())
    waited = sum(d.audit_wait_s for d in later) / len(later)
    first = f"day 1 {result.days[0].seconds:.1f}s; " if len(result.days) > 1 else ""
    return (f"{first}each later day {total:.1f}s on average: {parts}, waiting for the GX audit {waited:.1f}s "
            f"(the rest: the court's drop, the judge, checks)")


def story_lines(result: DemoResult) -> list[str]:
    """The story a person reads after the run: found, frozen, released by reason, collected and paid out, who was
    late, what debtors and creditors were told, the invariants, from the warehouse and the agencies' state."""
    from estelam.contracts.registry import load_agency_registry
    from estelam.core.calendars import grouped
    from estelam.core.jurisdiction import current_profile
    from estelam.ingest.landing import read_landed
    from estelam.warehouse.dbt_build import connect_read_only

    registry = load_agency_registry()
    currency = current_profile().currency

    def money(amount: int) -> str:  # in the profile's currency: rials, or riyals from halalas
        return f"{grouped(int(amount), digits='latin', minor_unit=currency.minor_unit)} {currency.names['en']}s"

    releases = Counter(str(o["reason_code"]) for o in read_landed("freeze_orders")
                       if o["kind"] == "release" and o["delivery"] == "delivered")
    with connect_read_only() as con:
        found = con.execute("select count(*), count(distinct person_id), coalesce(sum(value_rial), 0) "
                            "from main.person_assets").fetchone() or (0, 0, 0)
        late = con.execute("""
            select agency_id, sum(late) as late, sum(unanswered) as unanswered
            from main.kpi_deadline_compliance group by agency_id having sum(late) + sum(unanswered) > 0
            order by sum(late) + sum(unanswered) desc, agency_id limit 5""").fetchall()
        inquired = con.execute("select count(distinct day), sum(inquiries_sent), sum(answered), sum(failed) "
                               "+ sum(deadline_missed), sum(rejected) from main.kpi_inquiries_daily").fetchone() \
            or (0, 0, 0, 0, 0)
    notices = Counter(str(n.get("recipient") or "debtor") for n in read_landed("debtor_notifications"))
    frozen_cases = {case_id for (_, case_id, _) in result.held_freezes}
    collected, paid = sum(result.collected.values()), sum(result.payouts.values())
    held_days = sum(d.invariants_held for d in result.days)
    lines = [
        f"Found      {found[0]:,} assets of {found[1]:,} debtors worth {money(found[2])}, over "
        f"{inquired[1] or 0:,} inquiries on {inquired[0]} days ({inquired[2] or 0:,} answered, "
        f"{inquired[4] or 0:,} quarantined for breaking their feed's contract and "
        f"{inquired[3] or 0:,} failed or unanswered, each asked again)",
        f"Frozen     {money(sum(result.held_freezes.values()))} held now at the agencies for "
        f"{len(frozen_cases)} cases",
        "Released   " + (", ".join(f"{n} for {reason.replace('_', ' ')}" for reason, n in releases.most_common())
                         or "nothing"),
        f"Collected  {money(collected)} to the court's account; {money(paid)} paid out to "
        f"{len({case for (_, case, _) in result.payouts}):,} creditors",
        "Late       " + ("; ".join(f"{registry.instance(agency).name}: {int(n_late)} answered late, "
                                   f"{int(n_none)} unanswered" for agency, n_late, n_none in late) or "nobody"),
        f"Told       {notices.get('debtor', 0):,} notices to debtors, {notices.get('creditor', 0):,} to creditors "
        f"({len(result.mails):,} e-mails, {len(result.texts):,} text messages delivered)",
        f"Judges     {len(result.judge_acts)} directives through the API ("
        + ", ".join(f"day {d} {kind} on {case}: HTTP {status}" for d, case, kind, status in result.judge_acts) + ")",
        f"Invariants held at {held_days} of {len(result.days)} day ends (never frozen beyond the debt, nothing "
        f"lost, nothing twice)",
        f"Validated  {sum(a.batches for a in result.audits):,} landed batches ({sum(a.rows for a in result.audits):,}"
        f" rows) audited by Great Expectations in {len(result.audits):,} runs of the audit worker: "
        + ("it agreed with the compiled rules on every row" if all(a.agreed for a in result.audits) else
           f"IT DISAGREED on {sum(not a.agreed for a in result.audits)} feeds (landed again as GX judged them)"),
    ]
    return lines


if __name__ == "__main__":  # an alias of `estelam demo`
    from estelam.cli import main

    main(["demo", *sys.argv[1:]])
