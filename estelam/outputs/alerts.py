"""Alerts for operators and courts: raised once per deduplication key, recorded, delivered by e-mail and webhook.

Causes (each with its own key, so the same condition raised twice is one alert and one delivery):

- ``task_failed``: an Airflow task failed (:func:`on_task_failure`, every DAG's ``on_failure_callback``);
- ``agency_deadline_missed`` / ``breaker_open``: a round's outcome (:func:`round_alerts`, after the DAG task's round);
  an agency past its deadline on a case's orders (:func:`late_order_alerts`, the ``anomaly_detection`` DAG);
- ``frozen_beyond_debt``: at a reconciliation cycle's end, a debtor's frozen total above what they owe;
- ``audit_verification_failed``: ``estelam audit verify`` or the ``anomaly_detection`` DAG found a broken chain;
- ``anomaly``: a user who looked at many unrelated persons (:func:`audit_alerts`, the ``anomaly_detection`` DAG).

Each alert goes to the operators' addresses (``ESTELAM_ALERT_EMAILS``, one e-mail) and to the webhook
(``ESTELAM_ALERT_WEBHOOK_URL``, a JSON POST with an ``Idempotency-Key`` header); with neither configured it is
logged (channel ``log``). An alert about cases names them (``case_id``, several comma-separated): the portal shows
it on those cases' pages. After each call the alerts as listed by :func:`raised` are written to the published
snapshot (``<data>/published/alerts.parquet``, :func:`publish_snapshot`), which the operators' dashboard reads.
Every state lands in the ``alerts`` feed; every e-mail and webhook attempt is kept in
the message log (``estelam.access.message_log``, purpose :data:`PURPOSE`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from connectors import message_hook
from connectors.resilience import BreakerState
from estelam.access.message_log import MessageLog
from estelam.core import clock, settings
from estelam.core.exceptions import DeliveryError, RecordError
from estelam.ingest.landing import land_audited, landed_glob, read_landed
from estelam.outputs import channels

logger = logging.getLogger(__name__)

FEED: Final = "alerts"
#: The declared purpose the message log keeps with an alert's e-mail and webhook POST.
PURPOSE: Final = "alert to the operators"
FINAL_STATES = frozenset({"sent", "delivered", "failed"})
CHANNELS: Final = ("email", "webhook", "log")
#: Between the case ids of an alert about several cases (a debtor's money frozen beyond their debt).
CASE_SEPARATOR: Final = ","
SNAPSHOT: Final = "alerts.parquet"
KINDS = frozenset({"task_failed", "agency_deadline_missed", "breaker_open", "frozen_beyond_debt",
                   "audit_verification_failed", "anomaly"})


@dataclass(frozen=True)
class Alert:
    """One alert; ``key`` says what it is about, so the same condition raised again is the same alert."""

    kind: str
    key: str
    severity: str
    subject: str
    detail: str
    case_id: str | None = None
    agency_id: str | None = None
    raised_at: datetime = field(default_factory=lambda: clock.now())

    @property
    def alert_id(self) -> str:
        return f"{self.kind}:{self.key}"

    @property
    def case_ids(self) -> list[str]:
        return case_ids(self.case_id)

    def payload(self) -> dict[str, object]:
        """The webhook's JSON body."""
        return {"alert_id": self.alert_id, "kind": self.kind, "severity": self.severity, "subject": self.subject,
                "detail": self.detail, "case_id": self.case_id, "agency_id": self.agency_id,
                "raised_at": self.raised_at.isoformat()}


@dataclass
class AlertReport:
    raised: list[str] = field(default_factory=list)  # alert ids delivered (or attempted) by this call
    duplicates: int = 0  # already raised: nothing recorded nor sent


class _MessagesIfWritable:
    """The message log as alerts write to it: a message it cannot keep is logged as an error, and the alert still
    goes out, since an alert may be about that very record (a signing key that cannot be read, a broken chain)."""

    def __init__(self) -> None:
        self._log: MessageLog | None = None

    def record_exchange(self, messages: Sequence[message_hook.WireMessage], exchange: message_hook.Exchange) -> None:
        try:
            self._log = self._log or MessageLog()
            self._log.record_exchange(messages, exchange)
        except RecordError as exc:
            logger.error("alert %s not kept in the message log: %s", messages[0].request_id, exc)


def case_ids(value: object) -> list[str]:
    """The cases a recorded ``case_id`` names (none, one, or several comma-separated)."""
    return [c for c in str(value or "").split(CASE_SEPARATOR) if c]


def _channels() -> list[str]:
    config = settings.current()
    chosen = []
    if config.smtp_host and operator_addresses():
        chosen.append("email")
    if config.alert_webhook_url:
        chosen.append("webhook")
    return chosen or ["log"]


def operator_addresses() -> list[str]:
    return [a.strip() for a in settings.current().alert_emails.split(",") if a.strip()]


def _row(alert: Alert, channel: str, state: str, attempt: int, reason: str | None) -> dict[str, object]:
    return {"alert_id": alert.alert_id, "kind": alert.kind, "severity": alert.severity, "subject": alert.subject,
            "detail": alert.detail, "case_id": alert.case_id, "agency_id": alert.agency_id,
            "raised_at": alert.raised_at, "channel": channel, "state": state, "attempt": attempt, "reason": reason,
            "state_at": clock.now()}


def _email_body(alert: Alert) -> str:
    lines = [alert.subject, "", alert.detail, "", f"alert: {alert.alert_id}", f"severity: {alert.severity}",
             f"raised at: {alert.raised_at.isoformat()}"]
    lines += [f"case: {alert.case_id}"] if alert.case_id else []
    lines += [f"agency: {alert.agency_id}"] if alert.agency_id else []
    return "\n".join(lines) + "\n"


def raise_alerts(alerts: Iterable[Alert], *, sleep: Callable[[float], None] = time.sleep) -> AlertReport:
    """Record and deliver every alert not raised before (by alert id and channel); land each state."""
    report = AlertReport()
    unique: dict[str, Alert] = {}
    for alert in alerts:
        unique.setdefault(alert.alert_id, alert)
    if not unique:
        return report
    config = settings.current()
    landed = read_landed(FEED)
    final = {(str(r["alert_id"]), str(r["channel"])) for r in landed if r["state"] in FINAL_STATES}
    queued = {(str(r["alert_id"]), str(r["channel"])) for r in landed if r["state"] == "queued"}
    known = {str(r["alert_id"]) for r in landed}
    todo = [(a, ch) for a in unique.values() for ch in _channels() if (a.alert_id, ch) not in final]
    report.duplicates = sum(a.alert_id in known and all((a.alert_id, ch) in final for ch in _channels())
                            for a in unique.values())
    if not todo:
        return report
    stamp = f"alerts-{clock.now():%Y%m%dT%H%M%S%f}"
    partition = clock.today()
    fresh = [_row(a, ch, "queued", 0, None) for a, ch in todo if (a.alert_id, ch) not in queued]
    if fresh:
        land_audited(FEED, fresh, batch_id=f"{stamp}-queued", partition=partition)
    results = []
    recorder = _MessagesIfWritable()
    for alert, channel in todo:
        key = f"{alert.alert_id}.{channel}"

        def send(alert: Alert = alert, channel: str = channel, key: str = key) -> object:
            if channel == "email":
                return channels.send_email(config, operator_addresses(), f"[{alert.severity}] {alert.subject}",
                                           _email_body(alert), key=key)
            if channel == "webhook":
                return channels.post_webhook(str(config.alert_webhook_url), alert.payload(), key=key)
            logger.warning("ALERT %s [%s] %s: %s", alert.alert_id, alert.severity, alert.subject, alert.detail)
            return "logged"

        with message_hook.exchange(recorder, purpose=PURPOSE, case_ids=case_ids(alert.case_id)):
            outcome = channels.with_retries(send, attempts=config.delivery_attempts,
                                            backoff_s=config.delivery_backoff_s, sleep=sleep)
        if outcome.error is None:
            state = "sent" if channel == "log" else "delivered"
            results.append(_row(alert, channel, state, outcome.attempts, f"{channel}: {outcome.result}"))
        else:
            error = outcome.error or DeliveryError("no outcome")
            results.append(_row(alert, channel, "failed", outcome.attempts, str(error)))
            logger.error("alert %s not delivered by %s: %s", alert.alert_id, channel, error)
        report.raised.append(alert.alert_id)
    land_audited(FEED, results, batch_id=f"{stamp}-done", partition=partition)
    publish_snapshot()
    return report


def raised(kind: str | None = None) -> list[dict[str, object]]:
    """Every alert recorded, one row each with its channels' latest states (newest first): what an operator
    lists (``GET /alerts``)."""
    by_id: dict[str, dict[str, Any]] = {}
    for row in sorted(read_landed(FEED), key=lambda r: (r["state"] != "queued", r["state_at"])):
        if kind is not None and row["kind"] != kind:
            continue
        alert = by_id.setdefault(str(row["alert_id"]), {
            "alert_id": row["alert_id"], "kind": row["kind"], "severity": row["severity"], "subject": row["subject"],
            "detail": row["detail"], "case_id": row["case_id"], "case_ids": case_ids(row["case_id"]),
            "agency_id": row["agency_id"], "raised_at": row["raised_at"], "deliveries": {}})
        alert["deliveries"][str(row["channel"])] = {"state": row["state"], "attempt": row["attempt"],
                                                    "reason": row["reason"]}
    return sorted(by_id.values(), key=lambda a: a["raised_at"], reverse=True)


def frozen_amounts(alert_id: object) -> tuple[int, int] | None:
    """(frozen, owed) of a ``frozen_beyond_debt`` alert, from its id (``frozen_beyond_debt:ref:frozen:owed``)."""
    kind, _, rest = str(alert_id).partition(":")
    parts = rest.split(":")
    if kind != "frozen_beyond_debt" or len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    return int(parts[1]), int(parts[2])


def about_case(case_id: str) -> list[dict[str, object]]:
    """The alerts that concern ``case_id`` (newest first): what the portal's case page shows its judges."""
    return [a for a in raised() if case_id in case_ids(a["case_id"])]


SNAPSHOT_SCHEMA = pa.schema(
    [pa.field(name, pa.string()) for name in ("alert_id", "kind", "severity", "subject", "detail", "case_id",
                                              "agency_id")]
    + [pa.field("raised_at", pa.timestamp("us", tz="UTC"))]
    + [pa.field(f"{channel}_{what}", pa.int64() if what == "attempts" else pa.string())
       for channel in CHANNELS for what in ("state", "attempts", "reason")])


def snapshot_path() -> Path:
    return settings.published_dir() / SNAPSHOT


def publish_snapshot() -> Path:
    """Write every alert (one row each, its channels' latest states side by side) to the published snapshot,
    whole then moved into place: the dashboard reads it without opening the landing zone or the warehouse."""
    rows = []
    for alert in raised():
        row = {k: alert[k] for k in ("alert_id", "kind", "severity", "subject", "detail", "case_id", "agency_id",
                                     "raised_at")}
        deliveries: dict[str, dict[str, Any]] = alert["deliveries"]  # type: ignore[assignment]
        for channel in CHANNELS:
            delivery = deliveries.get(channel) or {}
            row[f"{channel}_state"] = delivery.get("state")
            row[f"{channel}_attempts"] = delivery.get("attempt")
            row[f"{channel}_reason"] = delivery.get("reason")
        rows.append(row)
    path = snapshot_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # two processes raising at once: own files
    pq.write_table(pa.Table.from_pylist(rows, schema=SNAPSHOT_SCHEMA), temporary)
    os.replace(temporary, path)
    return path


# --- the causes ------------------------------------------------------------------------------------


def round_alerts(agency_id: str, round_id: str, *, deadline_missed: int, sent: int,
                 breaker: BreakerState | None) -> list[Alert]:
    """A round's outcome: inquiries past the agency's deadline, a circuit breaker left open."""
    found = []
    if deadline_missed:
        found.append(Alert("agency_deadline_missed", f"{agency_id}:{round_id}", "warning",
                           f"{agency_id} missed its reply deadline for {deadline_missed} of {sent} inquiries",
                           f"round {round_id}: {deadline_missed} inquiries of {sent} got no answer in time "
                           "(timed out, unreachable or refused while its circuit was open)", agency_id=agency_id))
    if breaker is not None and breaker is not BreakerState.CLOSED:
        found.append(Alert("breaker_open", f"{agency_id}:{round_id}", "critical",
                           f"{agency_id}: circuit breaker {breaker}",
                           f"after round {round_id} the hub stops calling {agency_id} until its cool-down ends",
                           agency_id=agency_id))
    return found


def frozen_beyond_debt_alerts(excess: Mapping[str, tuple[int, int]], *, cycle_id: str,
                              cases: Mapping[str, Sequence[str]] | None = None) -> list[Alert]:
    """``excess``: person_id -> (frozen total, owed) where frozen > owed at a cycle's end. The key is the amounts,
    so the same excess seen by the next cycle is not raised again; the person is not named (the key is hashed).
    The alert names the debtor's cases (``cases``: person_id -> case ids; by default those the court filed
    against them and has not closed), so their judges see it in the portal."""
    import hashlib

    if not excess:
        return []
    of_person = cases if cases is not None else open_cases_of(excess)
    found = []
    for person_id, (frozen, owed) in sorted(excess.items()):
        subject_ref = hashlib.sha256(person_id.encode()).hexdigest()[:12]
        named = sorted(set(of_person.get(person_id, ())))
        found.append(Alert("frozen_beyond_debt", f"{subject_ref}:{frozen}:{owed}", "critical",
                           f"money frozen beyond a debt: {frozen - owed:,} rial",
                           f"at the end of cycle {cycle_id} a debtor (ref {subject_ref}) has {frozen:,} rial frozen "
                           f"against {owed:,} rial owed on their open cases"
                           + (f" ({', '.join(named)})" if named else ""),
                           case_id=CASE_SEPARATOR.join(named) or None))
    return found


def late_order_alerts(*, now: datetime | None = None) -> list[Alert]:
    """Agencies past their deadline on a case's orders: per agency and case, the orders sent to it (and not
    withdrawn) whose deadline passed with no acknowledgement (``freeze_orders``, ``freeze_acknowledgements``).
    Keyed by the agency, the case and the first late order: the same lateness is raised once, a later one again."""
    import duckdb

    orders, acks = landed_glob("freeze_orders"), landed_glob("freeze_acknowledgements")
    if orders is None:
        return []
    acknowledged = "select order_id from read_parquet(?, union_by_name = true)" if acks else \
        "select null::varchar as order_id where false"
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        late = con.execute(f"""
            with sent as (  -- each order's latest sending, unless it was withdrawn
                select order_id, agency_id, case_id, kind, deadline_at, status, delivery
                from read_parquet(?, union_by_name = true)
                qualify row_number() over (partition by order_id order by issued_at desc) = 1
            )
            select agency_id, case_id, list(order_id order by deadline_at, order_id), min(deadline_at),
                   list(distinct kind order by kind)
            from sent
            where status <> 'withdrawn' and delivery <> 'withheld' and deadline_at < ?
              and order_id not in ({acknowledged})
            group by agency_id, case_id
            order by agency_id, case_id""", [orders, now or clock.now(), *([acks] if acks else [])]).fetchall()
    found = []
    for agency_id, case_id, order_ids, deadline, kinds in late:
        found.append(Alert("agency_deadline_missed", f"{agency_id}:case:{case_id}:{order_ids[0]}", "warning",
                           f"{agency_id} is past its deadline on {len(order_ids)} {'/'.join(kinds)} orders "
                           f"of case {case_id}",
                           f"no acknowledgement since the deadline {deadline.isoformat()}: {', '.join(order_ids[:10])}",
                           case_id=str(case_id), agency_id=str(agency_id)))
    return found


def open_cases_of(persons: Iterable[str]) -> dict[str, list[str]]:
    """The cases the court filed against each of ``persons`` and has not closed (``case_events``)."""
    import duckdb

    wanted = sorted(set(persons))
    pattern = landed_glob("case_events")
    if not wanted or pattern is None:
        return {}
    with duckdb.connect() as con:
        found = con.execute("""
            select debtor_id, list(distinct case_id order by case_id) from read_parquet(?, union_by_name = true)
            where event_type = 'filed' and debtor_id in (select unnest(?::varchar[]))
              and case_id not in (select case_id from read_parquet(?, union_by_name = true)
                                  where event_type = 'closed')
            group by debtor_id""", [pattern, wanted, pattern]).fetchall()
    return {str(person): [str(c) for c in cases] for person, cases in found}


def audit_alerts(*, day: date | None = None) -> list[Alert]:
    """Verify the audit log and the message log, and look for unusual lookups: one alert per broken chain and
    per flagged user (the anomaly keyed by user and window, the failure by log and day)."""
    from estelam.access import AuditLog, MessageLog
    from estelam.access.checkpoints import signer

    today = (day or clock.today()).isoformat()
    found = []
    key = signer().public_key
    for name, log in (("audit log", AuditLog()), ("message log", MessageLog())):
        report = log.verify(public_key=key)
        if not report.ok:
            found.append(Alert("audit_verification_failed", f"{name.split()[0]}:{today}", "critical",
                               f"{name} verification failed ({len(report.problems)} problems)",
                               "\n".join(report.problems[:20])))
    for anomaly in AuditLog().unusual_lookups():
        found.append(Alert("anomaly", f"{anomaly.actor}:{anomaly.window_start}", "warning",
                           f"unusual lookups by {anomaly.actor} ({anomaly.role})",
                           f"{anomaly.distinct_subjects} unrelated persons looked at from {anomaly.window_start}"))
    return found


def on_task_failure(context: Mapping[str, Any]) -> None:
    """Airflow's ``on_failure_callback``: one ``task_failed`` alert per task instance and try."""
    ti = context.get("task_instance") or context.get("ti")
    dag_id = str(getattr(ti, "dag_id", context.get("dag_id", "?")))
    task_id = str(getattr(ti, "task_id", "?"))
    run_id = str(getattr(ti, "run_id", context.get("run_id", "?")))
    try_number = getattr(ti, "try_number", 1)
    error = context.get("exception")
    try:
        raise_alerts([Alert("task_failed", f"{dag_id}.{task_id}.{run_id}.{try_number}", "critical",
                            f"task {dag_id}.{task_id} failed", f"run {run_id}, try {try_number}: "
                            f"{type(error).__name__ + ': ' if error else ''}{error or 'no exception given'}")])
    except Exception:  # a callback must not hide the failure it reports
        logger.exception("could not raise the alert for %s.%s", dag_id, task_id)


def deliver_pending(sleep: Callable[[float], None] = time.sleep) -> AlertReport:
    """Deliver alerts left queued (a crash, a channel down): they are raised again under the same keys."""
    landed = read_landed(FEED)
    final = {(str(r["alert_id"]), str(r["channel"])) for r in landed if r["state"] in FINAL_STATES}
    pending: dict[str, Alert] = {}
    for r in landed:
        if r["state"] == "queued" and (str(r["alert_id"]), str(r["channel"])) not in final:
            kind, _, key = str(r["alert_id"]).partition(":")
            pending[str(r["alert_id"])] = Alert(kind, key, str(r["severity"]), str(r["subject"]), str(r["detail"]),
                                                _opt(r["case_id"]), _opt(r["agency_id"]), r["raised_at"])
    return raise_alerts(pending.values(), sleep=sleep)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


