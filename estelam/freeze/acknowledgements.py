"""Acknowledgements agencies post (REST or SOAP), landed like the reconciliation DAG lands them.

The agency says which order and what it did; the hub fills in the order's kind, case and asset from
its own order log, so an agency can acknowledge only orders the hub sent it, and each only once.
The rows go through :func:`estelam.ingest.landing.validate_and_land` into the ``freeze_acknowledgements``
feed, where the next reconciliation cycle reads them.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb

from estelam.core.domain import AckStatus
from estelam.core.exceptions import RequestRejected
from estelam.core.log import event_fields
from estelam.freeze.ledger import ACKS_FEED, ORDERS_FEED
from estelam.ingest.landing import landed_glob, validate_and_land

logger = logging.getLogger(__name__)

#: The most acknowledgements one call may carry (as the agencies' batch operations).
MAX_ACKNOWLEDGEMENTS_PER_CALL = 500


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
    orders = {str(o["order_id"]): o for o in orders_of(agency_id)}
    unknown = sorted(set(ids) - orders.keys())
    if unknown:
        raise RequestRejected(f"not orders sent to {agency_id}: {', '.join(unknown[:10])}")
    already = sorted(set(ids) & {str(a["order_id"]) for a in acknowledgements_of(agency_id)})
    if already:
        raise RequestRejected(f"already acknowledged: {', '.join(already[:10])}", status_code=409)
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
    now = datetime.now(UTC)
    batch_id = f"api-{agency_id}-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    result = validate_and_land(ACKS_FEED, rows, batch_id=batch_id, partition=now.date())
    logger.info("%s acknowledged %d orders over the API (%d quarantined)", agency_id, result.valid_rows,
                result.rejected_rows, extra=event_fields(agency_id=agency_id, batch_id=batch_id))
    return AcknowledgementReceipt(batch_id, result.valid_rows, result.rejected_rows, dict(result.reasons))
