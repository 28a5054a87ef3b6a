"""Consent codes for registry lookups: the person looked up says who may look, for what, and once.

A data subject (an authenticated ``person`` principal) issues a code bound to one requester (the
subject of a ``public`` principal) and one purpose; it lives ``DEFAULT_TTL`` (at most ``MAX_TTL``) and
is spent by its first successful use. Codes are random (``CODE_BYTES`` of entropy) and stored only as
SHA-256 digests, in a small SQLite file under ``data/consents/`` (embedded default) or in PostgreSQL
(``ESTELAM_RECORD_DATABASE``, shared by every API replica); spending is one conditional UPDATE, so
two lookups racing with one code cannot both succeed, in one process or many.

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
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from estelam.core import clock, settings
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


class _Connection:
    """One SQL dialect over SQLite and PostgreSQL: statements are written with ``?`` placeholders."""

    def __init__(self, connection: Any, placeholder: str) -> None:
        self._connection = connection
        self._placeholder = placeholder

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self._placeholder)

    def execute(self, statement: str, parameters: tuple[object, ...] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        cursor = self._connection.cursor()
        try:
            cursor.execute(self._sql(statement), parameters)
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def fetch_one(self, statement: str, parameters: tuple[object, ...] = ()) -> Any:
        cursor = self._connection.cursor()
        try:
            cursor.execute(self._sql(statement), parameters)
            return cursor.fetchone()
        finally:
            cursor.close()


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
    """Issue and spend consent codes in a SQLite file, or in PostgreSQL when ``database`` (a libpq URL) is given."""

    def __init__(self, path: Path | None = None, *, database: str | None = None) -> None:
        self.path = path or default_store_path()
        self.database = database if database is not None else (
            settings.current().record_database if path is None else None)

    @contextmanager
    def _connect(self) -> Iterator[_Connection]:
        if self.database:
            import psycopg2

            pg = psycopg2.connect(self.database, connect_timeout=10)
            pg.autocommit = True
            try:
                with pg.cursor() as cursor:
                    cursor.execute("select pg_advisory_lock(hashtext('estelam consents schema'))")
                    cursor.execute(_SCHEMA)
                    cursor.execute("select pg_advisory_unlock(hashtext('estelam consents schema'))")
                yield _Connection(pg, "%s")
            finally:
                pg.close()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            con.execute(_SCHEMA)
            yield _Connection(con, "?")
        finally:
            con.close()

    def issue(self, person_id: str, *, requester: str, purpose: str, ttl: timedelta = DEFAULT_TTL,
              now: datetime | None = None) -> Consent:
        """A fresh single-use code letting ``requester`` look ``person_id`` up for ``purpose``."""
        if not timedelta(0) < ttl <= MAX_TTL:
            raise ValueError(f"a consent lives more than 0 and at most {MAX_TTL}, not {ttl}")
        now = now or clock.now()
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
        now = now or clock.now()
        digest = _digest(code)
        with self._connect() as con:
            spent = con.execute(
                "update consents set used_at = ? where code_sha256 = ? and used_at is null and expires_at > ? "
                "and person_id = ? and requester = ? and purpose = ?",
                (now.isoformat(), digest, now.isoformat(), person_id, requester, purpose),
            )
            if spent == 1:
                return SpentConsent(person_id, requester, purpose, now)
            row = con.fetch_one("select person_id, requester, purpose, expires_at, used_at from consents "
                                "where code_sha256 = ?", (digest,))
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
