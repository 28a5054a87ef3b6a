"""Push registers to the agencies that receive them, reconciled like freezes.

One mechanism, one configuration per register (:data:`SOURCES`):

- ``fugitives`` -> the police (``contracts/agencies/police_register.openapi.yaml``): a person added to the
  register of fugitive convicts, their entry updated, or removed (apprehended, paid, expired);
- ``central_bank_feed`` -> the central bank (``contracts/agencies/central_bank_feed.openapi.yaml``): the credit
  scoring feed's changes since what the bank last acknowledged (the pull endpoint stays).

Desired state: the published mart. Known state: what the agency acknowledged, from the landed
``register_pushes`` feed (the latest acknowledged push per person). The difference becomes notices, each with an
idempotency key derived from the receiver, the person, the change and the entry, so a failed push is sent again
on the next run under the same key and an agency that already has it acknowledges it once more without acting
twice. Every push ends in a landed state (``acknowledged`` with the agency's receipt, or ``failed`` with the
reason), its messages on the message log and one audit entry per person disclosed. A run with nothing new sends
nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

import httpx

from connectors.credentials import resolve_bearer_secret
from connectors.register_push import NoticeAcknowledgement, RegisterPushClient, push_operation
from estelam.access.audit import AuditAction, AuditRecord
from estelam.access.record import SYSTEM_ACTOR, SYSTEM_ROLE, Record
from estelam.contracts.registry import Receiver, load_receivers
from estelam.core import clock
from estelam.core.exceptions import AgencyError, ContractError
from estelam.core.log import event_fields
from estelam.ingest.landing import AuditedLanding, land_audited, read_landed
from estelam.registers import fugitives
from estelam.warehouse.dbt_build import connect_read_only

logger = logging.getLogger(__name__)

PUSHES_FEED: Final = "register_pushes"


class Change(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"


class PushState(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    FAILED = "failed"


def _plain(value: Any) -> Any:
    """A mart value as JSON carries it (times and days in ISO 8601)."""
    return value.isoformat() if isinstance(value, datetime | date) else value


def _fugitive_entries() -> dict[str, dict[str, Any]]:
    return {e.person_id: {"case_id": e.case_id, "court_code": e.court_code, "since": _plain(e.since),
                          "fugitive_cases": e.fugitive_cases, "outstanding_rial": e.outstanding_rial}
            for e in fugitives.entries()}


def _fugitive_removals(person_ids: Sequence[str]) -> dict[str, str]:
    return {p: str(r) for p, r in fugitives.removal_reasons(person_ids).items()}


def _feed_entries() -> dict[str, dict[str, Any]]:
    with connect_read_only() as con:
        rel = con.execute("select * exclude (as_of) from central_bank_feed order by person_id")
        names = [d[0] for d in rel.description]
        rows = rel.fetchall()
    return {str(row[0]): {n: _plain(v) for n, v in zip(names[1:], row[1:], strict=True)} for row in rows}


def _delisted(person_ids: Sequence[str]) -> dict[str, str]:
    return dict.fromkeys(person_ids, "delisted")


@dataclass(frozen=True)
class RegisterSource:
    """Where a register's desired state comes from, why a person left it, and the purpose it is shared for."""

    register: str
    purpose: str
    read: Callable[[], dict[str, dict[str, Any]]]
    removal_reasons: Callable[[Sequence[str]], dict[str, str]]


SOURCES: dict[str, RegisterSource] = {
    "fugitives": RegisterSource("fugitives", "register of fugitive convicts shared with the police",
                                _fugitive_entries, _fugitive_removals),
    "central_bank_feed": RegisterSource("central_bank_feed", "credit_scoring", _feed_entries, _delisted),
}


def fingerprint(entry: Mapping[str, Any] | None) -> str:
    return hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode()).hexdigest()


def idempotency_key(receiver_id: str, register: str, person_id: str, change: Change, entry_hash: str) -> str:
    """The same change of the same entry to the same agency: always the same key."""
    digest = hashlib.sha256("|".join((receiver_id, register, person_id, change, entry_hash)).encode()).hexdigest()
    return f"{register}-{digest[:40]}"


@dataclass(frozen=True)
class Notice:
    """One change of one person's entry, as it goes on the wire."""

    idempotency_key: str
    change: Change
    person_id: str
    reason: str | None
    entry: dict[str, Any] | None
    fingerprint: str

    def wire(self) -> dict[str, Any]:
        return {"idempotency_key": self.idempotency_key, "change": str(self.change), "person_id": self.person_id,
                "reason": self.reason, "entry": self.entry}


def known_state(receiver_id: str, register: str) -> dict[str, str]:
    """What the agency acknowledged holding: person id -> fingerprint of the entry (removed persons absent)."""
    acknowledged = sorted((r for r in read_landed(PUSHES_FEED) if r["receiver_id"] == receiver_id
                           and r["register"] == register and r["state"] == PushState.ACKNOWLEDGED),
                          key=lambda r: (r["attempted_at"], r["acknowledged_at"] or r["attempted_at"]))
    held: dict[str, str] = {}
    for row in acknowledged:
        if row["change"] == Change.REMOVED:
            held.pop(row["person_id"], None)
        else:
            held[row["person_id"]] = row["fingerprint"]
    return held


def diff(receiver_id: str, source: RegisterSource, desired: Mapping[str, dict[str, Any]],
         known: Mapping[str, str]) -> list[Notice]:
    """The notices that bring what the agency holds to the register: additions, updates, removals."""
    notices: list[Notice] = []
    for person_id, entry in sorted(desired.items()):
        entry_hash = fingerprint(entry)
        if person_id not in known or known[person_id] != entry_hash:
            change = Change.ADDED if person_id not in known else Change.UPDATED
            notices.append(Notice(idempotency_key(receiver_id, source.register, person_id, change, entry_hash),
                                  change, person_id, None, entry, entry_hash))
    gone = sorted(set(known) - set(desired))
    reasons = source.removal_reasons(gone)
    for person_id in gone:
        # a removal's key names the entry removed: the same person listed and removed again is a new notice
        key = idempotency_key(receiver_id, source.register, person_id, Change.REMOVED, known[person_id])
        notices.append(Notice(key, Change.REMOVED, person_id, reasons[person_id], None, fingerprint(None)))
    return notices


@dataclass
class PushSummary:
    """What one run pushed to one agency."""

    receiver_id: str
    register: str
    notices: int = 0
    acknowledged: int = 0
    failed: int = 0
    failures: dict[str, str] = field(default_factory=dict)  # idempotency key -> reason

    def as_dict(self) -> dict[str, Any]:
        return {"receiver_id": self.receiver_id, "register": self.register, "notices": self.notices,
                "acknowledged": self.acknowledged, "failed": self.failed}


def _client(receiver: Receiver, http: httpx.Client | None) -> RegisterPushClient:
    token = resolve_bearer_secret(receiver.agency_id, receiver.credentials, demo_allowed=receiver.demo_credentials)
    return RegisterPushClient(receiver.agency_id, receiver.endpoint, push_operation(receiver.contract), token=token,
                              timeout_s=receiver.timeout_s, http=http)


def push_register(receiver: Receiver, *, batch_id: str, record: Record | None = None,
                  http: httpx.Client | None = None, landing: AuditedLanding | None = None) -> PushSummary:
    """Reconcile one agency with its register: push the difference, land how each push ended (through
    ``landing`` when given: a run's receivers share one GX audit; else validated by GX on its own)."""
    source = SOURCES.get(receiver.register)
    if source is None:
        raise ContractError(f"receiver {receiver.agency_id}: no register {receiver.register!r} to push")
    summary = PushSummary(receiver.agency_id, receiver.register)
    notices = diff(receiver.agency_id, source, source.read(), known_state(receiver.agency_id, receiver.register))
    summary.notices = len(notices)
    if not notices:
        return summary
    record = record or Record()
    rows: list[dict[str, Any]] = []
    audits: list[AuditRecord] = []
    with _client(receiver, http) as client:
        size = client.operation.max_items
        for start in range(0, len(notices), size):
            batch = notices[start:start + size]
            request_id = f"{batch_id}-{start // size}"
            attempted_at = clock.now()
            failure: str | None = None
            acks: dict[str, NoticeAcknowledgement] = {}
            with record.exchange(purpose=source.purpose, person_ids=[n.person_id for n in batch]) as exchange:
                try:
                    acks = client.push([n.wire() for n in batch], request_id)
                except AgencyError as exc:
                    failure = str(exc)
            message_id = exchange.message_ids[-1] if exchange.message_ids else None
            for notice in batch:
                ack = acks.get(notice.idempotency_key)
                reason = failure or (None if ack and ack.accepted else
                                     f"rejected by the agency: {ack.reason}" if ack else
                                     "the agency's answer did not acknowledge this notice")
                state = PushState.FAILED if reason else PushState.ACKNOWLEDGED
                if reason:
                    summary.failed += 1
                    summary.failures[notice.idempotency_key] = reason
                else:
                    summary.acknowledged += 1
                rows.append({"push_id": notice.idempotency_key, "receiver_id": receiver.agency_id,
                             "register": receiver.register, "person_id": notice.person_id,
                             "change": str(notice.change), "reason": notice.reason, "fingerprint": notice.fingerprint,
                             "state": str(state), "failure": reason[:1000] if reason else None,
                             "receipt_id": ack.receipt_id if ack and not reason else None,
                             "attempted_at": attempted_at,
                             "acknowledged_at": ack.received_at if ack and not reason else None,
                             "message_id": message_id})
                audits.append(AuditRecord(actor=SYSTEM_ACTOR, role=SYSTEM_ROLE, action=AuditAction.FEED_EXPORT,
                                          purpose=source.purpose, person_id=notice.person_id,
                                          detail={"agency_id": receiver.agency_id, "register": receiver.register,
                                                  "change": str(notice.change), "push_id": notice.idempotency_key,
                                                  "state": str(state), "message_id": message_id}))
    # the batch id is unique per run and receiver: a rerun never overwrites an earlier run's record
    pushes_batch = f"{batch_id}-{receiver.agency_id}-{uuid.uuid4().hex[:8]}"
    if landing is None:
        land_audited(PUSHES_FEED, rows, batch_id=pushes_batch, partition=clock.today())
    else:
        landing.land(rows, batch_id=pushes_batch, partition=clock.today())
    record.audit_many(audits)
    logger.log(logging.WARNING if summary.failed else logging.INFO, "%s -> %s: %d notices, %d acknowledged, %d failed",
               receiver.register, receiver.agency_id, summary.notices, summary.acknowledged, summary.failed,
               extra=event_fields(agency_id=receiver.agency_id, register=receiver.register, notices=summary.notices,
                                  acknowledged=summary.acknowledged, failed=summary.failed))
    return summary


def push_registers(batch_id: str, *, receivers: Sequence[Receiver] | None = None,
                   record: Record | None = None) -> list[PushSummary]:
    """One reconciliation run for every receiver in the registry (or ``receivers``)."""
    with AuditedLanding(PUSHES_FEED) as landing:  # the compiled rules per receiver, GX once for the run
        return [push_register(receiver, batch_id=batch_id, record=record, landing=landing)
                for receiver in (load_receivers() if receivers is None else receivers)]
