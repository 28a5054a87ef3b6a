"""Consent codes for registry lookups: the person looked up says who may look, for what, and once.

A data subject (an authenticated ``person`` principal) issues a code bound to one requester (the
subject of a ``public`` principal) and one purpose; it lives ``DEFAULT_TTL`` (at most ``MAX_TTL``) and
is spent by its first successful use. Codes are random (``CODE_BYTES`` of entropy) and stored only as
SHA-256 digests in a small SQLite file under ``data/consents/``; spending is one conditional UPDATE, so
two lookups racing with one code cannot both succeed.

A refusal never says what the code was bound to: a lookup for another person or purpose, or by
another requester, is told only that the code does not allow it. A use by the requester it was issued
to, for that person but another purpose, *burns* the code (it can no longer be used, not even with the
right purpose): probing for the purpose costs the code.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from estelam.core import settings
from estelam.core.exceptions import ConsentRefused

DEFAULT_TTL = timedelta(minutes=10)
MAX_TTL = timedelta(hours=24)
CODE_BYTES = 16
STORE_FILE = Path("consents") / "consents.sqlite"
#: The one refusal for a code used for another person, purpose or requester than it was issued for.
WRONG_USE = "consent code does not allow this lookup"

_SCHEMA = """
create table if not exists consents (
    code_sha256 text primary key,
    person_id   text not null,
    requester   text not null,
    purpose     text not null,
    issued_at   text not null,
    expires_at  text not null,
    used_at     text
)
"""


def default_store_path() -> Path:
    return settings.data_dir() / STORE_FILE


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Consent:
    """One issued consent; ``code`` is shown to the issuer once and never stored."""

    code: str
    person_id: str
    requester: str
    purpose: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class SpentConsent:
    """A consent as used by a lookup (for the audit log)."""

    person_id: str
    requester: str
    purpose: str
    used_at: datetime


class ConsentStore:
    """Issue and spend consent codes in a SQLite file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_store_path()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            con.execute(_SCHEMA)
            yield con
        finally:
            con.close()

    def issue(self, person_id: str, *, requester: str, purpose: str, ttl: timedelta = DEFAULT_TTL,
              now: datetime | None = None) -> Consent:
        """A fresh single-use code letting ``requester`` look ``person_id`` up for ``purpose``."""
        if not timedelta(0) < ttl <= MAX_TTL:
            raise ValueError(f"a consent lives more than 0 and at most {MAX_TTL}, not {ttl}")
        now = now or datetime.now(UTC)
        consent = Consent(code=secrets.token_urlsafe(CODE_BYTES), person_id=person_id, requester=requester,
                          purpose=purpose, issued_at=now, expires_at=now + ttl)
        with self._connect() as con:
            con.execute("insert into consents values (?, ?, ?, ?, ?, ?, null)",
                        (_digest(consent.code), person_id, requester, purpose, now.isoformat(),
                         consent.expires_at.isoformat()))
        return consent

    def spend(self, code: str, *, person_id: str, requester: str, purpose: str,
              now: datetime | None = None) -> SpentConsent:
        """Use ``code`` once for this lookup, or raise :class:`ConsentRefused` saying why not."""
        now = now or datetime.now(UTC)
        digest = _digest(code)
        with self._connect() as con:
            spent = con.execute(
                "update consents set used_at = ? where code_sha256 = ? and used_at is null and expires_at > ? "
                "and person_id = ? and requester = ? and purpose = ?",
                (now.isoformat(), digest, now.isoformat(), person_id, requester, purpose),
            ).rowcount
            if spent == 1:
                return SpentConsent(person_id, requester, purpose, now)
            row = con.execute("select person_id, requester, purpose, expires_at, used_at from consents "
                              "where code_sha256 = ?", (digest,)).fetchone()
            if row is not None and row[4] is None and (row[0], row[1]) == (person_id, requester) and row[2] != purpose:
                con.execute("update consents set used_at = ? where code_sha256 = ? and used_at is null",
                            (now.isoformat(), digest))  # a wrong-purpose use by its holder burns the code
        raise ConsentRefused(_why_refused(row, person_id=person_id, requester=requester, purpose=purpose, now=now))


def _why_refused(row: tuple[str, str, str, str, str | None] | None, *, person_id: str, requester: str,
                 purpose: str, now: datetime) -> str:
    if row is None:
        return "unknown consent code"
    bound_person, bound_requester, bound_purpose, expires_at, used_at = row
    if used_at is not None:
        return "consent code already used"
    if datetime.fromisoformat(expires_at) <= now:
        return "consent code expired"
    if (bound_person, bound_requester, bound_purpose) != (person_id, requester, purpose):
        return WRONG_USE  # which of the three differs, and what it was bound to, stays unsaid
    return "consent code could not be used"
