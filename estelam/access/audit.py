"""The audit log: who looked at what or ordered what, when and why; append-only, hash-chained and signed.

Every inquiry and order the DAGs and the on-demand path send (with the purpose derived from the
case), every order read, acknowledgement, report view and registry lookup the API answers, and every
request it refuses (with the reason, never the token) is one entry. Entries form a hash chain and
every write is followed by a signed checkpoint (:mod:`estelam.access.chain`,
:mod:`estelam.access.checkpoints`), so an edited, removed, inserted or appended entry, a cut tail and
a deleted log are all found by ``estelam audit verify``. The log is a JSON-lines file under
``data/audit/`` (checkpoints in ``data/checkpoints/``) or, with ``ESTELAM_RECORD_DATABASE``, rows of
PostgreSQL shared by every API replica and worker.

A person can ask who looked at their data (:meth:`AuditLog.who_looked_at`); :func:`unusual_lookups`
flags a user who looked at many unrelated persons (different cases, or no case) in a short window.

Usage: ``estelam audit verify | who-looked-at PERSON_ID | anomalies | checkpoint [--log PATH]``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from estelam.access import checkpoints
from estelam.access.chain import (
    GENESIS_HASH,
    ChainStore,
    FileChainStore,
    PostgresChainStore,
    Verification,
    verify,
)
from estelam.access.checkpoints import Checkpoint
from estelam.core import clock, settings

LOG_NAME = "audit"
LOG_FILE = Path("audit") / "audit.jsonl"
CHECKPOINT_FILE = Path("checkpoints") / "audit.jsonl"
#: A user looking at more unrelated persons than this within the window is flagged.
ANOMALY_DISTINCT_SUBJECTS = 20
ANOMALY_WINDOW = timedelta(hours=1)
#: The role of the hub's own entries (the DAGs' inquiries and orders); ``estelam.access.record`` names it too.
SYSTEM_ROLE = "system"


class AuditAction(StrEnum):
    INQUIRY = "inquiry"
    REPORT_VIEW = "report_view"
    REGISTRY_LOOKUP = "registry_lookup"
    ORDER_READ = "order_read"
    ACKNOWLEDGEMENT = "acknowledgement"
    CONSENT_ISSUED = "consent_issued"
    FEED_EXPORT = "feed_export"
    ACCESS_LOG_VIEW = "access_log_view"
    ORDER = "order"  # a freeze, release or transfer order sent to an agency
    REQUEST = "request"  # an API request refused before it reached an action (bad token, role)
    MESSAGE_READ = "message_read"  # an auditor read a message body
    SIGN_IN = "sign_in"  # a portal sign-in (or a refused one) and sign-out
    PORTAL_VIEW = "portal_view"  # a portal page about a case, seen by a party to it
    DIRECTIVE = "directive"  # a judge's directive on a case (landed or refused), from the API or the portal


#: Actions that look at one person's data (what "who looked at my data" lists).
LOOKING_ACTIONS = frozenset({AuditAction.INQUIRY, AuditAction.REPORT_VIEW, AuditAction.REGISTRY_LOOKUP,
                             AuditAction.ORDER, AuditAction.PORTAL_VIEW, AuditAction.DIRECTIVE})


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


def _checkpoint_path(path: Path) -> Path:
    """Checkpoints live apart from the entries: ``<data>/checkpoints/audit.jsonl`` for the default log."""
    if path.resolve() == default_log_path().resolve():
        return settings.data_dir() / CHECKPOINT_FILE
    return path.with_name(f"{path.stem}.checkpoints.jsonl")


@dataclass(frozen=True)
class AuditRecord:
    """One entry to be written (see :meth:`AuditLog.record` for the fields)."""

    actor: str
    role: str
    action: str
    purpose: str
    outcome: str = Outcome.ALLOWED
    person_id: str | None = None
    case_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None

    def payload(self) -> dict[str, Any]:
        return {"at": (self.at or clock.now()).isoformat(), "actor": self.actor, "role": str(self.role),
                "action": str(self.action), "purpose": self.purpose, "outcome": str(self.outcome),
                "person_id": self.person_id, "case_id": self.case_id, "detail": self.detail}


def _entry(fields: dict[str, Any]) -> AuditEntry | None:
    try:
        return AuditEntry(**{name: fields[name] for name in AuditEntry.__dataclass_fields__})
    except (KeyError, TypeError):
        return None


class AuditLog:
    """The append-only, hash-chained, signed audit log (a file, or PostgreSQL when configured)."""

    def __init__(self, path: Path | None = None, *, store: ChainStore | None = None) -> None:
        if store is None:
            database = settings.current().record_database
            if database and path is None:
                store = PostgresChainStore(LOG_NAME, database)
            else:
                log_path = path or default_log_path()
                store = FileChainStore(LOG_NAME, log_path, _checkpoint_path(log_path))
        self.store = store

    @property
    def path(self) -> Path | None:
        """The log file, when the log is a file."""
        return self.store.path if isinstance(self.store, FileChainStore) else None

    def record(self, *, actor: str, role: str, action: AuditAction | str, purpose: str,
               outcome: Outcome | str = Outcome.ALLOWED, person_id: str | None = None,
               case_id: str | None = None, detail: dict[str, Any] | None = None,
               at: datetime | None = None) -> AuditEntry:
        """Append one entry chained to the last (and sign the new head); returns it."""
        return self.record_many([AuditRecord(actor, role, str(action), purpose, str(outcome), person_id, case_id,
                                             detail or {}, at)])[0]

    def record_many(self, records: Sequence[AuditRecord]) -> list[AuditEntry]:
        """Append several entries in one write and one signature (a batch inquiry's persons)."""
        written = self.store.append([r.payload() for r in records], checkpoints.signer())
        return [entry for fields in written if (entry := _entry(fields)) is not None]

    def entries(self) -> Iterator[AuditEntry]:
        """Every readable entry, oldest first (a damaged line is skipped here; :meth:`verify` names it)."""
        for stored in self.store.stored():
            entry = _entry(stored.fields) if stored.fields is not None else None
            if entry is not None:
                yield entry

    def verify(self, *, public_key: Ed25519PublicKey | None = None,
               held: Sequence[Checkpoint] = ()) -> Verification:
        """Check the chain against the signed checkpoints (and any ``held`` by an outside party)."""
        return verify(self.store, public_key or checkpoints.signer().public_key, held=held)

    def latest_checkpoint(self) -> Checkpoint | None:
        """The newest signed checkpoint (what ``GET /audit/checkpoint`` serves)."""
        found = [c for c in self.store.checkpoints() if isinstance(c, Checkpoint)]
        return max(found, key=lambda c: c.entries) if found else None

    def head(self) -> tuple[int, str]:
        """(number of entries, hash of the last), as the latest checkpoint signed them."""
        latest = self.latest_checkpoint()
        return (latest.entries, latest.head) if latest else (0, GENESIS_HASH)

    def who_looked_at(self, person_id: str) -> list[AuditEntry]:
        """Every inquiry, order, report view and registry lookup about ``person_id``, allowed or refused."""
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
        # the hub's own scheduled rounds ask about every debtor by design: what a person does is what is flagged
        if entry.action in LOOKING_ACTIONS and entry.person_id and entry.role != SYSTEM_ROLE:
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
