"""Acknowledgements agencies post (REST or SOAP), landed like the reconciliation DAG lands them.

The agency says which order and what it did; the hub fills in the order's kind, case and asset from
its own order log, so an agency can acknowledge only orders the hub sent it, and each only once.
The rows go through :func:`estelam.ingest.landing.land_audited` into the ``freeze_acknowledgements``
feed, where the next reconciliation cycle reads them.

"Each only once" holds across threads and processes (two API replicas, or the API and a worker):
before landing, a call *claims* its orders in :class:`AcknowledgementClaims`, a small SQLite file in the
data directory whose primary key is the order's idempotency key. The claim is one ``BEGIN IMMEDIATE``
transaction for the whole call, so of N concurrent calls acknowledging the same order exactly one
claims it and the others are refused (409). The claim fixes the batch id and partition the rows land
under, so landing is idempotent: a claim whose holder died before it finished is taken over after
``STALE_CLAIM`` and lands into the same file, and an order already in the landed feed is never landed
again. Another producer of acknowledgements (the reconciliation worker) takes the same claims before it
lands: :meth:`AcknowledgementClaims.claim_each` for the orders no one holds, landing only those.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from estelam.core import clock, settings
from estelam.core.domain import AckStatus
from estelam.core.exceptions import RequestRejected
from estelam.core.log import event_fields
from estelam.freeze.ledger import ACKS_FEED, ORDERS_FEED
from estelam.ingest.landing import land_audited, landed_glob

logger = logging.getLogger(__name__)

#: The most acknowledgements one call may carry: the ``maxOccurs`` of ``acknowledgement`` in
#: ``contracts/agencies/hub_acknowledgements.wsdl`` (tests/api checks they agree).
MAX_ACKNOWLEDGEMENTS_PER_CALL = 500
#: Where the claims live, under the data directory.
CLAIMS_FILE = Path("acknowledgements") / "claims.sqlite"
#: A claim still unlanded after this long belongs to a caller that died: another call may take it over.
STALE_CLAIM = timedelta(minutes=5)
#: How long a claim waits for another process's transaction before giving up (SQLite busy_timeout).
BUSY_TIMEOUT_MS = 30_000
CLAIMED, LANDED = "claimed", "landed"

_CLAIMS_SCHEMA = """
create table if not exists ack_claims (
    order_id   text primary key,
    agency_id  text not null,
    batch_id   text not null,
    partition  text not null,
    claimed_at text not null,
    state      text not null
)
"""


@dataclass(frozen=True)
class Claim:
    """Orders one call holds: the batch id and partition their acknowledgements land under."""

    batch_id: str
    partition: date
    order_ids: tuple[str, ...]


def already_acknowledged(order_ids: Sequence[str]) -> RequestRejected:
    """Another call claimed (or landed) an acknowledgement of one of these orders first: 409."""
    return RequestRejected(f"already acknowledged: {', '.join(sorted(order_ids)[:10])}", status_code=409)


class AcknowledgementClaims:
    """The cross-process claim on each order's one acknowledgement (SQLite, WAL, a busy timeout)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or settings.data_dir() / CLAIMS_FILE

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            con.execute(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
            con.execute("pragma journal_mode = wal")
            con.execute("pragma synchronous = normal")
            con.execute(_CLAIMS_SCHEMA)
            yield con
        finally:
            con.close()

    def claim(self, agency_id: str, order_ids: Sequence[str], *, now: datetime | None = None,
              landed: frozenset[str] = frozenset()) -> Claim:
        """Claim every order of ``order_ids`` for one batch, all or none (409 :class:`RequestRejected` if any is taken).

        ``landed``: orders already in the landed feed (claimed by no one, e.g. landed before claims existed).
        """
        now = now or clock.now()
        taken = sorted(set(order_ids) & landed)
        if taken:
            raise already_acknowledged(taken)
        batch_id = f"api-{agency_id}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        with self._connect() as con:
            con.execute("begin immediate")  # one writer at a time, across processes
            try:
                held: dict[str, tuple[str, str, str, str]] = {}
                for chunk in _chunks(list(order_ids), 500):
                    marks = ", ".join("?" * len(chunk))
                    for row in con.execute(f"select order_id, batch_id, partition, claimed_at, state "
                                           f"from ack_claims where order_id in ({marks})", chunk):
                        held[row[0]] = row[1:]
                live = sorted(o for o, (_, _, at, state) in held.items()
                              if state == LANDED or now - datetime.fromisoformat(at) < STALE_CLAIM)
                if live:
                    raise already_acknowledged(live)
                # Stale claims of a dead caller: taken over under their batch id when it was one batch, so a
                # landing it may have finished is replaced, not doubled.
                stale_batches = {(b, p) for (b, p, _, _) in held.values()}
                if len(stale_batches) == 1 and set(held) == set(order_ids):
                    batch_id, partition_text = next(iter(stale_batches))
                    partition = date.fromisoformat(partition_text)
                else:
                    partition = now.date()
                con.executemany("insert or replace into ack_claims values (?, ?, ?, ?, ?, ?)",
                                [(o, agency_id, batch_id, partition.isoformat(), now.isoformat(), CLAIMED)
                                 for o in order_ids])
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        return Claim(batch_id, partition, tuple(order_ids))

    def held(self, agency_id: str, order_ids: Sequence[str], *, now: datetime | None = None) -> list[str]:
        """Which of ``agency_id``'s ``order_ids`` another call holds now (a quick look; only :meth:`claim` decides)."""
        if not self.path.is_file():
            return []
        now = now or clock.now()
        found: list[str] = []
        with self._connect() as con:
            for chunk in _chunks(list(order_ids), 500):
                marks = ", ".join("?" * len(chunk))
                found += [order_id for order_id, at, state in con.execute(
                    f"select order_id, claimed_at, state from ack_claims where agency_id = ? and order_id in ({marks})",
                    [agency_id, *chunk])
                    if state == LANDED or now - datetime.fromisoformat(at) < STALE_CLAIM]
        return sorted(found)

    def claim_each(self, agency_id: str, order_ids: Sequence[str], *, batch_id: str, partition: date,
                   now: datetime | None = None) -> Claim:
        """Claim whichever of ``order_ids`` no one holds, under the caller's own batch (for a producer landing
        many orders at once, such as the reconciliation worker): the returned claim names the orders won; land
        only their acknowledgements, then :meth:`mark_landed`."""
        now = now or clock.now()
        won: list[str] = []
        with self._connect() as con:
            con.execute("begin immediate")
            try:
                for order_id in dict.fromkeys(order_ids):
                    row = con.execute("select claimed_at, state, batch_id from ack_claims where order_id = ?",
                                      (order_id,)).fetchone()
                    held_by_another = row is not None and row[2] != batch_id  # a rerun of this batch keeps its own
                    if held_by_another and (row[1] == LANDED or now - datetime.fromisoformat(row[0]) < STALE_CLAIM):
                        continue
                    con.execute("insert or replace into ack_claims values (?, ?, ?, ?, ?, ?)",
                                (order_id, agency_id, batch_id, partition.isoformat(), now.isoformat(), CLAIMED))
                    won.append(order_id)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        return Claim(batch_id, partition, tuple(won))

    def mark_landed(self, claim: Claim, order_ids: Sequence[str]) -> None:
        """The claim's acknowledgements of ``order_ids`` landed: the orders are acknowledged for good."""
        with self._connect() as con:
            con.executemany("update ack_claims set state = ? where order_id = ? and batch_id = ?",
                            [(LANDED, o, claim.batch_id) for o in order_ids])

    def release(self, claim: Claim, order_ids: Sequence[str]) -> None:
        """Give ``order_ids`` back (their acknowledgement did not land): the agency may acknowledge them again."""
        with self._connect() as con:
            con.executemany("delete from ack_claims where order_id = ? and batch_id = ? and state = ?",
                            [(o, claim.batch_id, CLAIMED) for o in order_ids])


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def claim_acknowledgements(agency_id: str, order_ids: Sequence[str]) -> Claim:
    """Claim the one acknowledgement of each of ``order_ids`` before landing it (for any producer of acks)."""
    landed = frozenset(str(a["order_id"]) for a in acknowledgements_of(agency_id))
    return AcknowledgementClaims().claim(agency_id, order_ids, landed=landed)


@dataclass(frozen=True)
class PostedAcknowledgement:
    order_id: str
    status: AckStatus
    acknowledged_amount_rial: int
    frozen_total_rial: int
    acknowledged_at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class AcknowledgementReceipt:
    batch_id: str
    accepted: int
    quarantined: int
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"batch_id": self.batch_id, "accepted": self.accepted, "quarantined": self.quarantined,
                "reasons": self.reasons}


def _query(feed: str, sql: str, params: list[object]) -> list[dict[str, object]]:
    """Rows of ``sql`` over the landed feed (``{feed}`` in the SQL); empty when nothing landed yet."""
    pattern = landed_glob(feed)
    if pattern is None:
        return []
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        cursor = con.execute(sql.format(feed="read_parquet(?, union_by_name = true)"), [pattern, *params])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def orders_of(agency_id: str) -> list[dict[str, object]]:
    """Every order the hub sent ``agency_id``, as last sent, oldest first."""
    return _query(ORDERS_FEED, """
        select order_id, arg_max(kind, issued_at) as kind, any_value(case_id) as case_id,
               any_value(person_id) as person_id, any_value(asset_kind) as asset_kind,
               any_value(asset_ref) as asset_ref, arg_max(amount_rial, issued_at) as amount_rial,
               arg_max(restriction_type, issued_at) as restriction_type,
               min(first_issued_at) as first_issued_at, max(deadline_at) as deadline_at,
               max(issued_at) as last_sent_at, arg_max(status, issued_at) as status
        from {feed} where agency_id = ? group by order_id order by first_issued_at, order_id
    """, [agency_id])


def acknowledgements_of(agency_id: str) -> list[dict[str, object]]:
    """Every acknowledgement landed from ``agency_id``, oldest first."""
    return _query(ACKS_FEED, """
        select order_id, order_kind, case_id, asset_ref, status, acknowledged_amount_rial, frozen_total_rial,
               acknowledged_at, reason
        from {feed} where agency_id = ? order by acknowledged_at, order_id
    """, [agency_id])


def land_acknowledgements(agency_id: str, posted: Sequence[PostedAcknowledgement]) -> AcknowledgementReceipt:
    """Validate and land ``posted`` for ``agency_id``; refuse the whole call if any order is not theirs to ack."""
    if not posted:
        raise RequestRejected("no acknowledgements in the request")
    if len(posted) > MAX_ACKNOWLEDGEMENTS_PER_CALL:
        raise RequestRejected(f"at most {MAX_ACKNOWLEDGEMENTS_PER_CALL} acknowledgements per call")
    ids = [ack.order_id for ack in posted]
    if len(set(ids)) != len(ids):
        raise RequestRejected("an order is acknowledged twice in one call")
    claims = AcknowledgementClaims()
    taken = claims.held(agency_id, ids)  # the common duplicate, answered before the feeds are read
    if taken:
        raise already_acknowledged(taken)
    orders = {str(o["order_id"]): o for o in orders_of(agency_id)}
    unknown = sorted(set(ids) - orders.keys())
    if unknown:
        raise RequestRejected(f"not orders sent to {agency_id}: {', '.join(unknown[:10])}")
    claim = claim_acknowledgements(agency_id, ids)  # 409 unless this call is the one
    rows = []
    for ack in posted:
        order = orders[ack.order_id]
        at = ack.acknowledged_at if ack.acknowledged_at.tzinfo else ack.acknowledged_at.replace(tzinfo=UTC)
        rows.append({
            "order_id": ack.order_id, "order_kind": order["kind"], "agency_id": agency_id,
            "case_id": order["case_id"], "asset_ref": order["asset_ref"], "status": str(ack.status),
            "acknowledged_amount_rial": ack.acknowledged_amount_rial, "frozen_total_rial": ack.frozen_total_rial,
            "acknowledged_at": at.astimezone(UTC), "reason": ack.reason or None,
        })
    try:
        result = land_audited(ACKS_FEED, rows, batch_id=claim.batch_id, partition=claim.partition)
    except BaseException:
        claims.release(claim, ids)
        raise
    quarantined = result.rejected if result.rejected_rows else None
    rejected = ({str(o) for o in quarantined.column("order_id").to_pylist()}
                if quarantined is not None and "order_id" in quarantined.column_names else set())
    claims.mark_landed(claim, [o for o in ids if o not in rejected])
    if rejected:  # a quarantined acknowledgement did not acknowledge: the agency may send it again
        claims.release(claim, sorted(rejected))
    logger.info("%s acknowledged %d orders over the API (%d quarantined)", agency_id, result.valid_rows,
                result.rejected_rows, extra=event_fields(agency_id=agency_id, batch_id=claim.batch_id))
    return AcknowledgementReceipt(claim.batch_id, result.valid_rows, result.rejected_rows, dict(result.reasons))
