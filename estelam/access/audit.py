"""The audit log: who looked at what, when and why; append-only and tamper-evident.

Every inquiry, order read, acknowledgement, report view and registry lookup the serving API answers
(or refuses) is one JSON line in ``data/audit/audit.jsonl``. Each entry carries the hash of the
previous one and its own hash over its content and that link (SHA-256 of canonical JSON), so
changing, inserting or deleting any entry but the last breaks the chain at that point;
``estelam audit verify`` walks it and exits non-zero where it breaks. (Cutting off the tail
is only visible against a head published elsewhere: :meth:`AuditLog.head` gives it.)

A person can ask who looked at their data (:meth:`AuditLog.who_looked_at`); :func:`unusual_lookups`
flags a user who looked at many unrelated persons (different cases, or no case) in a short window.

Usage: ``estelam audit verify | who-looked-at PERSON_ID | anomalies [--log PATH]``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from estelam.core import settings

LOG_FILE = Path("audit") / "audit.jsonl"
GENESIS_HASH = "0" * 64
#: How far back from the end of the file the last entry is looked for at first (grows if needed).
TAIL_CHUNK_BYTES = 8192
#: A user looking at more unrelated persons than this within the window is flagged.
ANOMALY_DISTINCT_SUBJECTS = 20
ANOMALY_WINDOW = timedelta(hours=1)


class AuditAction(StrEnum):
    INQUIRY = "inquiry"
    REPORT_VIEW = "report_view"
    REGISTRY_LOOKUP = "registry_lookup"
    ORDER_READ = "order_read"
    ACKNOWLEDGEMENT = "acknowledgement"
    CONSENT_ISSUED = "consent_issued"
    FEED_EXPORT = "feed_export"
    ACCESS_LOG_VIEW = "access_log_view"


#: Actions that look at one person's data (what "who looked at my data" lists).
LOOKING_ACTIONS = frozenset({AuditAction.INQUIRY, AuditAction.REPORT_VIEW, AuditAction.REGISTRY_LOOKUP})


class Outcome(StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: str
    actor: str
    role: str
    action: str
    purpose: str
    outcome: str
    person_id: str | None
    case_id: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _entry_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of an entry without its own hash (its prev_hash included)."""
    body = {k: v for k, v in fields.items() if k != "hash"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass
class VerificationReport:
    """What :meth:`AuditLog.verify` found: the entries checked and where the chain breaks, if it does."""

    entries: int = 0
    problems: list[str] = field(default_factory=list)
    first_broken_line: int | None = None
    head_hash: str = GENESIS_HASH

    @property
    def ok(self) -> bool:
        return not self.problems

    def broken(self, line: int, problem: str) -> None:
        if self.first_broken_line is None:
            self.first_broken_line = line
        self.problems.append(f"line {line}: {problem}")


@dataclass(frozen=True)
class Anomaly:
    """A user who looked at many unrelated persons within one window."""

    actor: str
    role: str
    window_start: str
    distinct_subjects: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_log_path() -> Path:
    return settings.data_dir() / LOG_FILE


def _last_line(handle: Any) -> bytes | None:
    """The last non-empty line of a file opened in binary mode (read from the end)."""
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    chunk = TAIL_CHUNK_BYTES
    while True:
        start = max(0, size - chunk)
        handle.seek(start)
        lines = handle.read(size - start).rstrip(b"\n").split(b"\n")
        if len(lines) > 1 or start == 0:
            return lines[-1] or None
        chunk *= 2


class AuditLog:
    """The append-only, hash-chained audit log in one JSON-lines file."""

    _lock = threading.Lock()  # appends within this process; flock serialises processes

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_log_path()

    def record(self, *, actor: str, role: str, action: AuditAction | str, purpose: str,
               outcome: Outcome | str = Outcome.ALLOWED, person_id: str | None = None,
               case_id: str | None = None, detail: dict[str, Any] | None = None,
               at: datetime | None = None) -> AuditEntry:
        """Append one entry chained to the last; returns it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, open(self.path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                last = _last_line(handle)
                previous = json.loads(last) if last else None
                fields: dict[str, Any] = {
                    "seq": previous["seq"] + 1 if previous else 1,
                    "at": (at or datetime.now(UTC)).isoformat(),
                    "actor": actor, "role": str(role), "action": str(action), "purpose": purpose,
                    "outcome": str(outcome), "person_id": person_id, "case_id": case_id,
                    "detail": detail or {},
                    "prev_hash": previous["hash"] if previous else GENESIS_HASH,
                }
                fields["hash"] = _entry_hash(fields)
                handle.seek(0, os.SEEK_END)
                handle.write(json.dumps(fields, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
                             + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return AuditEntry(**fields)

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry, oldest first (does not verify: see :meth:`verify`)."""
        if not self.path.is_file():
            return
        with open(self.path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield AuditEntry(**json.loads(line))

    def verify(self) -> VerificationReport:
        """Walk the chain: every line parses, numbers follow, links match and hashes recompute."""
        report = VerificationReport()
        if not self.path.is_file():
            return report
        previous_hash, expected_seq = GENESIS_HASH, 1
        with open(self.path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    report.broken(number, "empty line")
                    continue
                report.entries += 1
                try:
                    fields = json.loads(line)
                    recorded_hash, seq, prev = fields["hash"], fields["seq"], fields["prev_hash"]
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    report.broken(number, f"not an audit entry ({exc})")
                    continue
                if seq != expected_seq:
                    report.broken(number, f"sequence {seq}, expected {expected_seq}")
                if prev != previous_hash:
                    report.broken(number, "previous-hash link does not match the entry before")
                if _entry_hash(fields) != recorded_hash:
                    report.broken(number, "content does not match its hash (entry altered)")
                previous_hash, expected_seq = recorded_hash, (seq + 1 if isinstance(seq, int) else expected_seq + 1)
        report.head_hash = previous_hash
        return report

    def head(self) -> tuple[int, str]:
        """(number of entries, hash of the last): publish it elsewhere to make truncation evident too."""
        last: AuditEntry | None = None
        for last in self.entries():  # noqa: B007
            pass
        return (last.seq, last.hash) if last else (0, GENESIS_HASH)

    def who_looked_at(self, person_id: str) -> list[AuditEntry]:
        """Every inquiry, report view and registry lookup about ``person_id``, allowed or refused."""
        return [e for e in self.entries() if e.person_id == person_id and e.action in LOOKING_ACTIONS]

    def unusual_lookups(self, *, window: timedelta = ANOMALY_WINDOW,
                        threshold: int = ANOMALY_DISTINCT_SUBJECTS) -> list[Anomaly]:
        return unusual_lookups(list(self.entries()), window=window, threshold=threshold)


def unusual_lookups(entries: Sequence[AuditEntry], *, window: timedelta = ANOMALY_WINDOW,
                    threshold: int = ANOMALY_DISTINCT_SUBJECTS) -> list[Anomaly]:
    """Users who looked at more than ``threshold`` unrelated persons within any ``window``.

    Persons of one case are related (a judge looking at a case's debtors is one subject); a lookup
    without a case (a registry lookup) is its own subject. One flag per user, at its first window.
    """
    by_actor: dict[tuple[str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for entry in entries:
        if entry.action in LOOKING_ACTIONS and entry.person_id:
            subject = f"case:{entry.case_id}" if entry.case_id else f"person:{entry.person_id}"
            by_actor[(entry.actor, entry.role)].append((datetime.fromisoformat(entry.at), subject))
    flagged: list[Anomaly] = []
    for (actor, role), looks in by_actor.items():
        looks.sort()
        start = 0
        for end in range(len(looks)):
            while looks[end][0] - looks[start][0] > window:
                start += 1
            subjects = {subject for _, subject in looks[start:end + 1]}
            if len(subjects) > threshold:
                flagged.append(Anomaly(actor, role, looks[start][0].isoformat(), len(subjects)))
                break
    return flagged
