"""An inquiry round at one agency: ask about every target person, land answers and the inquiry log.

Persons are asked in batch calls (``DEFAULT_INQUIRY_BATCH_SIZE`` per call, the agency's batch
operation) through the resilient client (retries on transient faults, the agency's reply deadline,
circuit breaker, rate limit). Every inquiry ends in exactly one recorded state in the ``inquiries``
feed, with its reason and the number of attempts its call took:

- ``answered``: the agency answered and every asset row kept the data contract;
- ``rejected``: the agency answered but rows broke the contract (they are in quarantine with reasons;
  the person's valid rows are landed all the same);
- ``failed``: the agency answered, but with an error for good (a 4xx, a 5xx after every retry, a malformed answer);
- ``deadline_missed``: the agency gave no answer — it timed out or could not be reached on every attempt within
  its reply deadline, or its circuit is open because it stopped answering. Silence is never recorded as failure.

A batch call that fails gives every person in it the same final state and reason.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from time import perf_counter

import pyarrow as pa
import pyarrow.parquet as pq

from connectors import AgencyClient, client_for
from connectors.base import DEFAULT_INQUIRY_BATCH_SIZE, BatchAnswers
from connectors.shared_state import shared_state
from estelam.access.audit import AuditAction, AuditRecord
from estelam.access.record import SYSTEM_ACTOR, SYSTEM_ROLE, Record, enforcement_purpose
from estelam.contracts.registry import load_agency_registry
from estelam.core import clock, settings
from estelam.core.domain import (
    AgencyInstance,
    FeedRecord,
    InquiryAnswer,
    InquiryStatus,
)
from estelam.core.exceptions import AgencyError, AgencyUnavailable, RoundError
from estelam.core.keys import stable_id
from estelam.core.log import event_fields
from estelam.ingest.landing import SPOOL_SUFFIX, AuditedLanding, LandingResult, audit_spooled, validate_and_land
from estelam.ingest.validation import Engine
from estelam.outputs import alerts

logger = logging.getLogger(__name__)

INQUIRY_LOG_FEED = "inquiries"
#: An answer older than this is stale: the person is asked again.
DEFAULT_STALE_AFTER = timedelta(days=7)
#: Persons per landed batch: one Parquet file per batch per agency.
DEFAULT_BATCH_SIZE = 500
#: Inquiries a task of the round is given before the next agency gets a task of its own (:func:`task_groups`).
INQUIRIES_PER_TASK = 200


@dataclass(frozen=True)
class InquiryTarget:
    person_id: str
    case_id: str | None


@dataclass(frozen=True)
class RoundSummary:
    agency_id: str
    sent: int  # inquiries: one per distinct person asked
    answered: int
    rejected: int
    failed: int
    assets_landed: int
    assets_quarantined: int
    deadline_missed: int = 0
    calls: int = 0  # batch calls made (attempts included)

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def asset_record(inquiry_id: str, agency_id: str, asset: object, responded_at: datetime) -> dict[str, object]:
    """One asset of an answer, shaped as its feed's data contract wants it."""
    base: dict[str, object] = {"inquiry_id": inquiry_id, "agency_id": agency_id, "responded_at": responded_at}
    if isinstance(asset, FeedRecord):  # a kind declared by a mapping: the columns its mapping read
        return base | dict(asset.values)
    raise TypeError(f"not an asset: {asset!r}")


def _batches(targets: Sequence[InquiryTarget], size: int) -> Iterator[tuple[int, Sequence[InquiryTarget]]]:
    for start in range(0, len(targets), size):
        yield start // size, targets[start:start + size]


def targets_for(agency_id: str, *, stale_after: timedelta = DEFAULT_STALE_AFTER,
                now: datetime | None = None) -> list[InquiryTarget]:
    """Debtors of open cases with no fresh answer from this agency (from the warehouse); see
    :func:`targets_by_agency`."""
    return targets_by_agency([agency_id], stale_after=stale_after, now=now)[agency_id]


def targets_by_agency(agency_ids: Sequence[str], *, stale_after: timedelta = DEFAULT_STALE_AFTER,
                      now: datetime | None = None) -> dict[str, list[InquiryTarget]]:
    """For each agency, the debtors of open cases with no fresh answer from it, in one read of the warehouse.

    A judge's re-inquiry directive (``reinquire_now``, ``priority_reinquiry``) makes the case's debtor a target
    until an answer newer than the directive arrives, however fresh the last one; those come first.
    """
    from estelam.warehouse.dbt_build import connect_read_only

    cutoff = (now or clock.now()) - stale_after
    found: dict[str, list[InquiryTarget]] = {agency_id: [] for agency_id in agency_ids}
    with connect_read_only() as con:
        rows = con.execute(
            """
            with asked as (select unnest(?::varchar[]) as agency_id),
            directed as (
                select case_id, max(issued_at) as directed_at
                from staging.stg_court__case_directives
                where directive in ('reinquire_now', 'priority_reinquiry')
                group by case_id
            ),
            last_answered as (
                select agency_id, person_id, max(responded_at) as responded_at
                from staging.stg_hub__inquiries
                where status = 'answered' and agency_id in (select agency_id from asked)
                group by all
            )
            select a.agency_id, t.person_id, t.case_id
            from asked as a
            cross join inquiry_targets as t
            left join directed as d on d.case_id = t.case_id
            left join last_answered as l on l.agency_id = a.agency_id and l.person_id = t.person_id
            where l.responded_at is null or l.responded_at < greatest(?, coalesce(d.directed_at, ?))
            order by a.agency_id, d.directed_at is null, t.person_id
            """,
            [list(found), cutoff, cutoff],
        ).fetchall()
    for agency_id, person_id, case_id in rows:
        found[agency_id].append(InquiryTarget(person_id, case_id))
    return found


#: What :func:`targets_by_agency` reads of the warehouse (with what those are built from).
TARGETS_READ = ("inquiry_targets", "stg_court__case_directives", "stg_hub__inquiries")
#: The columns of a round's plan (:func:`plan_round`), in the order the agency is asked.
_PLAN_SCHEMA = pa.schema([("agency_id", pa.string()), ("person_id", pa.string()), ("case_id", pa.string())])


def round_plan_path(round_id: str) -> Path:
    """Where a round's plan lies while the round runs: which agency is asked about whom."""
    return settings.data_dir() / "rounds" / f"{round_id}.parquet"


def task_groups(planned: Sequence[tuple[str, int]], *, inquiries_per_task: int = INQUIRIES_PER_TASK) -> list[list[str]]:
    """The agencies with anyone to ask about (``(agency_id, inquiries planned)`` in the registry's order), grouped
    into the round's tasks: an agency with ``inquiries_per_task`` or more has a task of its own; agencies with
    fewer share one until it holds that many. A day with two new debtors is one task, not 37 tasks each paying
    a task's start-up for two inquiries; a national round is still one task per agency."""
    groups: list[list[str]] = []
    held = inquiries_per_task  # the open group is full: the first agency opens one
    for agency_id, count in planned:
        if count <= 0:
            continue
        if held >= inquiries_per_task or count >= inquiries_per_task:
            groups.append([])
            held = 0
        groups[-1].append(agency_id)
        held += count
    return groups


def plan_round(round_id: str, *, refresh: bool = True) -> list[list[str]]:
    """The inquiry DAG's first task: bring the inquiry targets up to date, and write down whom each agency is asked
    about in this round; returns the agencies that have anyone to be asked about, grouped into the round's tasks
    (:func:`task_groups`: the DAG fans out over these).

    ``refresh`` builds the inquiry targets' lineage in the warehouse from what landed since the last build (the
    court's new cases and payments, the last round's answers: ``estelam.warehouse.dbt_build.build``'s
    ``only_for``), with its data tests, so a round never asks from yesterday's cases; the warehouse build after the
    round builds the rest. The targets are read once for every agency, instead of once per agency's task."""
    if refresh:
        from estelam.warehouse.dbt_build import build

        build(changed_only=True, unit_tests=False, only_for=TARGETS_READ)
    agency_ids = [i.agency_id for i in load_agency_registry().instances]
    targets = targets_by_agency(agency_ids)
    planned = [(agency_id, t) for agency_id in agency_ids for t in targets[agency_id]]
    plan = pa.table({"agency_id": [agency_id for agency_id, _ in planned],
                     "person_id": [t.person_id for _, t in planned],
                     "case_id": [t.case_id for _, t in planned]}, schema=_PLAN_SCHEMA)
    path = round_plan_path(round_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    pq.write_table(plan, partial)
    partial.replace(path)
    groups = task_groups([(agency_id, len(targets[agency_id])) for agency_id in agency_ids])
    asked = sum(len(group) for group in groups)
    logger.info("round %s: %d inquiries planned at %d of %d agencies, in %d tasks", round_id, plan.num_rows, asked,
                len(agency_ids), len(groups),
                extra=event_fields(round_id=round_id, planned=plan.num_rows, agencies=asked, tasks=len(groups)))
    return groups


def planned_targets(round_id: str, agency_id: str) -> list[InquiryTarget] | None:
    """Whom ``agency_id`` is asked about in the round, as :func:`plan_round` wrote it; None when the round has no
    plan (a task run again after its round ended, or a round run by hand): then the warehouse is asked."""
    path = round_plan_path(round_id)
    if not path.is_file():
        return None
    table = pq.read_table(path, filters=[("agency_id", "=", agency_id)], columns=["person_id", "case_id"])
    return [InquiryTarget(person_id, case_id) for person_id, case_id in
            zip(table.column("person_id").to_pylist(), table.column("case_id").to_pylist(), strict=True)]


def end_round(round_id: str) -> None:
    """The round's plan is not kept once its audit ran (the inquiry log is the record of what was asked)."""
    round_plan_path(round_id).unlink(missing_ok=True)


def _unique_persons(batch: Sequence[InquiryTarget]) -> list[str]:
    return list(dict.fromkeys(t.person_id for t in batch))  # a debtor of two cases is asked once


def _final_state(exc: AgencyError) -> InquiryStatus:
    """``deadline_missed`` when the agency gave no answer (timed out, unreachable, its circuit open after it stopped
    answering: by its reply deadline it has not answered); ``failed`` when it answered with an error or nonsense."""
    return InquiryStatus.DEADLINE_MISSED if isinstance(exc, AgencyUnavailable) else InquiryStatus.FAILED


@dataclass(frozen=True)
class Asking:
    """Who asks and why: the DAGs for their cases by default, or a judge with a declared purpose (on demand)."""

    record: Record
    actor: str = SYSTEM_ACTOR
    role: str = SYSTEM_ROLE
    purpose: str | None = None  # None: derived from each person's cases ("enforcement of case N")


def _ask(client: AgencyClient, person_ids: Sequence[str], request_id: str, log: dict[str, dict[str, object]],
         ids: dict[str, str], *, asking: Asking,
         cases: Mapping[str, list[str | None]]) -> list[tuple[str, InquiryAnswer]]:
    """One batch call; every person's log entry gets its outcome and the message id, and every person asked gets
    an audit entry with its purpose. The answers that came back, by person asked."""
    requested_at = clock.now()
    started = perf_counter()
    answers: BatchAnswers = {}
    batch_cases = [c for p in person_ids for c in cases[p]]
    with asking.record.exchange(purpose=asking.purpose or enforcement_purpose(batch_cases), case_ids=batch_cases,
                                person_ids=person_ids) as exchange:
        try:
            answers = client.inquire_batch(person_ids, request_id)
        except AgencyError as exc:
            outcome: dict[str, object] = {"status": str(_final_state(exc)), "reason": str(exc)}
        else:
            outcome = {"latency_ms": round((perf_counter() - started) * 1000)}
    attempts = getattr(client, "last_attempts", 1)  # a bare wire client makes one attempt
    found: list[tuple[str, InquiryAnswer]] = []
    for person_id in person_ids:
        entry = log[ids[person_id]]
        entry |= {"requested_at": requested_at, "attempts": attempts, "message_id": exchange.message_id} | outcome
        if entry["status"] != str(InquiryStatus.ANSWERED):
            continue
        answer = answers.get(person_id)
        if isinstance(answer, AgencyError):  # the agency refused this person alone, or their record alone broke
            # the contract (its bytes are in the message log): the others of the batch stand
            entry |= {"status": str(_final_state(answer)), "reason": str(answer)}
        elif answer is None:  # the client promises every person; never let one vanish silently
            entry |= {"status": str(InquiryStatus.FAILED),
                      "reason": f"{client.instance.agency_id}.inquire_batch [{request_id}]: "
                                "the batch answer left this person out"}
        else:
            entry |= {"responded_at": answer.responded_at, "assets_found": len(answer.assets)}
            found.append((person_id, answer))
    asking.record.audit_many([
        AuditRecord(actor=asking.actor, role=asking.role, action=AuditAction.INQUIRY,
                    purpose=asking.purpose or enforcement_purpose(cases[person_id]), person_id=person_id,
                    case_id=next((c for c in cases[person_id] if c), None),
                    detail={"agency_id": client.instance.agency_id, "request_id": request_id,
                            "message_id": exchange.message_id, "status": log[ids[person_id]]["status"]},
                    at=requested_at)
        for person_id in person_ids
    ])
    return found


@dataclass
class AskedBatch:
    """One batch of targets asked at one agency, not yet landed: the inquiry log and the assets answered."""

    agency_id: str
    log: dict[str, dict[str, object]]  # inquiry_id -> entry; one per distinct person
    asset_rows: list[dict[str, object]]  # every asset answered, in its feed's contract shape
    calls: int  # batch calls made (attempts included)
    asking_s: float  # time spent waiting for the agency (all calls, retries included)


def ask_batch(agency: AgencyClient, instance: AgencyInstance, batch: Sequence[InquiryTarget], *,
              round_id: str, batch_id: str, inquiry_batch_size: int = DEFAULT_INQUIRY_BATCH_SIZE,
              asking: Asking | None = None) -> AskedBatch:
    """Ask ``agency`` about one batch of targets; every inquiry's log entry gets its outcome (nothing landed).

    Every message goes to the message log and every person asked to the audit log (``asking``: the DAGs
    for their cases unless given)."""
    asking = asking or Asking(Record.for_agencies([instance]))
    ids = {t.person_id: stable_id(round_id, instance.agency_id, t.person_id) for t in batch}
    log: dict[str, dict[str, object]] = {}
    cases: dict[str, list[str | None]] = defaultdict(list)
    for target in batch:
        cases[target.person_id].append(target.case_id)
        log.setdefault(ids[target.person_id], {
            "inquiry_id": ids[target.person_id], "run_id": round_id, "agency_id": instance.agency_id,
            "agency_kind": str(instance.kind), "person_id": target.person_id, "case_id": target.case_id,
            "requested_at": None, "responded_at": None, "latency_ms": None,
            "status": str(InquiryStatus.ANSWERED), "reason": None, "assets_found": 0, "attempts": 0,
            "message_id": None,
        })
    asset_rows: list[dict[str, object]] = []
    persons = _unique_persons(batch)
    per_call = max(1, min(inquiry_batch_size, agency.max_batch_size))
    calls = 0
    started = perf_counter()
    for call, start in enumerate(range(0, len(persons), per_call)):
        request_id = stable_id(batch_id, call)
        for person_id, answer in _ask(agency, persons[start:start + per_call], request_id, log, ids,
                                      asking=asking, cases=cases):
            inquiry_id = ids[person_id]
            asset_rows.extend(asset_record(inquiry_id, instance.agency_id, a, answer.responded_at)
                              for a in answer.assets)
        calls += getattr(agency, "last_attempts", 1)
    return AskedBatch(instance.agency_id, log, asset_rows, calls, perf_counter() - started)


def land_answers(answer_feed: str, asked: Sequence[AskedBatch], *, batch_id: str, partition: date,
                 engine: Engine = Engine.GX, landing: AuditedLanding | None = None) -> LandingResult:
    """Land the assets of ``asked`` (one agency kind's feed); inquiries with broken rows become ``rejected``.

    Through ``landing`` when given (compiled rules now, GX's audit at the end of the round), else by ``engine``."""
    rows = [row for a in asked for row in a.asset_rows]
    answers = (landing.land(rows, batch_id=batch_id, partition=partition) if landing is not None
               else validate_and_land(answer_feed, rows, batch_id=batch_id, partition=partition, engine=engine))
    rejected = answers.rejected_reasons_by("inquiry_id")
    for batch in asked:
        for inquiry_id, reason in rejected.items():
            if inquiry_id in batch.log:
                batch.log[inquiry_id] |= {"status": str(InquiryStatus.REJECTED), "reason": reason}
    return answers


def land_inquiry_log(asked: Sequence[AskedBatch], *, batch_id: str, partition: date,
                     engine: Engine = Engine.GX, landing: AuditedLanding | None = None) -> LandingResult:
    """Land the final log entries of ``asked``: call after ``land_answers``, which may reject some."""
    entries = [entry for a in asked for entry in a.log.values()]
    if landing is not None:
        return landing.land(entries, batch_id=batch_id, partition=partition)
    return validate_and_land(INQUIRY_LOG_FEED, entries, batch_id=batch_id, partition=partition, engine=engine)


def run_round(instance: AgencyInstance, targets: Sequence[InquiryTarget], *, round_id: str,
              batch_size: int = DEFAULT_BATCH_SIZE, today: date | None = None,
              inquiry_batch_size: int = DEFAULT_INQUIRY_BATCH_SIZE,
              client: AgencyClient | None = None, asking: Asking | None = None,
              audit_spool: Path | None = None) -> RoundSummary:
    """Ask ``instance`` about every target and land the answers and the inquiry log, batch by batch.

    ``batch_size`` persons make one landed file; ``inquiry_batch_size`` persons (at most the agency's
    contract limit) make one batch call.
    ``client`` defaults to ``connectors.client_for(instance)`` (resilient) and is then closed here;
    ``asking`` to the hub asking for its cases, recorded in the deployment's audit and message logs.
    With ``audit_spool``, GX's audit of the landed batches is left to :func:`audit_rounds` (the DAG's last task),
    which audits every round of the run at once; without it, the round ends with its own audit.
    """
    answer_feed = load_agency_registry().kinds[instance.kind].answer_feed
    partition = today or clock.today()
    own_client = client is None
    agency: AgencyClient = client if client is not None else client_for(
        instance, shared=settings.current().resilience_store)
    asking = asking or Asking(Record.for_agencies([instance]))
    totals = {str(s): 0 for s in InquiryStatus} | {"sent": 0, "assets_landed": 0, "assets_quarantined": 0,
                                                    "calls": 0}
    logger.info("round %s: asking %s about %d persons", round_id, instance.agency_id, len(targets),
                extra=event_fields(round_id=round_id, agency_id=instance.agency_id, persons=len(targets)))
    try:
        # each batch lands as the compiled rules judge it; GX audits the round's batches once per feed at the end
        # (the answers first: leaving the block closes the last one opened first)
        with (AuditedLanding(INQUIRY_LOG_FEED, spool=audit_spool) as log_landing,
              AuditedLanding(answer_feed, spool=audit_spool) as answer_landing):
            for number, batch in _batches(targets, batch_size):
                batch_id = f"{round_id}-{instance.agency_id}-{number:04d}"
                asked = ask_batch(agency, instance, batch, round_id=round_id, batch_id=batch_id,
                                  inquiry_batch_size=inquiry_batch_size, asking=asking)
                answers = land_answers(answer_feed, [asked], batch_id=batch_id, partition=partition,
                                       landing=answer_landing)
                land_inquiry_log([asked], batch_id=batch_id, partition=partition, landing=log_landing)
                totals["sent"] += len(asked.log)
                for entry in asked.log.values():
                    totals[str(entry["status"])] += 1
                totals["assets_landed"] += answers.valid_rows
                totals["assets_quarantined"] += answers.rejected_rows
                totals["calls"] += asked.calls
    finally:
        if own_client:
            agency.close()
    summary = RoundSummary(agency_id=instance.agency_id, **totals)
    logger.info("round %s: %s answered %d of %d inquiries in %d calls (%d assets landed, %d quarantined)",
                round_id, instance.agency_id, totals[str(InquiryStatus.ANSWERED)], totals["sent"], totals["calls"],
                totals["assets_landed"], totals["assets_quarantined"],
                extra=event_fields(round_id=round_id, **summary.as_dict()))
    return summary


def inquire_agencies(agency_ids: Sequence[str], *, round_id: str) -> list[dict[str, object]]:
    """The DAG's mapped task: each agency's round in turn (:func:`inquire_agency`); their summaries. A round that
    cannot run (not an agency's fault: those end as recorded inquiry states) does not keep the task's other
    agencies from being asked; the task then fails with :class:`RoundError` naming them."""
    summaries: list[dict[str, object]] = []
    broken: dict[str, str] = {}
    for agency_id in agency_ids:
        try:
            summaries.append(inquire_agency(agency_id, round_id=round_id))
        except Exception as exc:  # recorded, named in the RoundError, and the next agency is asked
            logger.exception("round %s: the round at %s could not run", round_id, agency_id,
                             extra=event_fields(round_id=round_id, agency_id=agency_id))
            broken[agency_id] = f"{type(exc).__name__}: {exc}"
    if broken:
        raise RoundError(f"round {round_id}: the rounds at {len(broken)} of {len(agency_ids)} agencies could not run: "
                         + "; ".join(f"{agency_id}: {reason[:300]}" for agency_id, reason in broken.items()))
    return summaries


def inquire_agency(agency_id: str, *, round_id: str) -> dict[str, object]:
    """One agency's part of the DAG's task: its targets (the round's plan, else the warehouse), its round, a small
    summary.

    The agency is reached as its Airflow Connection says (``estelam.orchestration.agency_hooks``), or as the
    registry says when it has none."""
    from estelam.orchestration.agency_hooks import hook_for

    instance = load_agency_registry().instance(agency_id)
    hook = hook_for(instance)
    resolved = hook.resolve()
    client = hook.get_client(shared=settings.current().resilience_store, resolved=resolved)
    try:
        targets = planned_targets(round_id, agency_id)
        summary = run_round(resolved[0], targets_for(agency_id) if targets is None else targets, round_id=round_id,
                            client=client, audit_spool=rounds_audit_spool())
    finally:
        client.close()
    raise_round_alerts(summary, round_id=round_id)
    return summary.as_dict()


def rounds_audit_spool() -> Path:
    """Where the inquiry DAG's rounds leave their landed batches for :func:`audit_rounds`."""
    return settings.audit_spool_dir() / "inquiry_rounds"


def audit_rounds() -> list[dict[str, object]]:
    """The inquiry DAG's last task: Great Expectations audits every batch the rounds landed, one suite run per feed
    instead of two per agency (the suite's fixed cost was two thirds of a round's time). Raises
    ``ValidationDisagreement`` where GX judged rows differently (those batches are landed again as GX judged them).
    With ``validation = "background"`` the audit worker audits them (it audits every spool folder) and this task
    only says how many it left to it."""
    if settings.current().validation == "background":
        waiting = sum(1 for _ in rounds_audit_spool().glob(f"*/*{SPOOL_SUFFIX}"))
        logger.info("%d landed batches of the rounds left to the audit worker", waiting)
        return []
    return [asdict(audited) for audited in audit_spooled(rounds_audit_spool())]


def raise_round_alerts(summary: RoundSummary, *, round_id: str) -> None:
    """Tell the operators what a round's outcome says: inquiries past the agency's deadline, its breaker open."""
    breaker = shared_state(settings.current().resilience_store).breaker(summary.agency_id).state
    alerts.raise_alerts(alerts.round_alerts(summary.agency_id, round_id, deadline_missed=summary.deadline_missed,
                                            sent=summary.sent, breaker=breaker))
