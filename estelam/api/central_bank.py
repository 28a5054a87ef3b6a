"""The central bank's feed of the registry for credit scoring: bulk, Parquet or CSV, incremental since a date."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Annotated

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from estelam.access.audit import AuditAction
from estelam.access.auth import Principal, Role
from estelam.api.dependencies import Settings, require
from estelam.core.exceptions import RequestRejected
from estelam.warehouse.dbt_build import connect_read_only

router = APIRouter(tags=["central bank"])
CentralBank = Annotated[Principal, Depends(require(Role.CENTRAL_BANK))]
FEED_PURPOSE = "credit_scoring"

#: A person's entry changed when one of their cases last moved (filed, paid, closed, ...).
FEED_SQL = """
    with changes as (
        select person_id, max(coalesce(last_event_at, filed_at)) as changed_at from asset_report group by person_id
    )
    select feed.*, changes.changed_at
    from central_bank_feed as feed left join changes using (person_id)
    where ? is null or changes.changed_at >= ?
    order by feed.person_id
"""


#: ``since`` is a calendar day written out; pydantic's lax dates would take ``0`` for 1970-01-01.
ISO_DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise RequestRejected(f"since must be a calendar day (YYYY-MM-DD), not {text[:20]!r}") from exc


class FeedFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


MEDIA_TYPES = {FeedFormat.PARQUET: "application/vnd.apache.parquet", FeedFormat.CSV: "text/csv"}


@router.get("/central-bank/feed", summary="The registry for credit scoring (all, or changed since a date)",
            responses={200: {"content": {"application/vnd.apache.parquet": {}, "text/csv": {}}},
                       401: {"description": "no or unknown token"}, 403: {"description": "not the central bank"},
                       422: {"description": "since is not a calendar day"}})
def feed(
    caller: CentralBank,
    settings: Settings,
    since: Annotated[str | None, Query(pattern=ISO_DAY_PATTERN, description="Only entries whose cases moved on or "
                                       "after this day (YYYY-MM-DD).", json_schema_extra={"format": "date"})] = None,
    format: FeedFormat = FeedFormat.PARQUET,  # noqa: A002 (the query parameter's public name)
) -> Response:
    day = _day(since) if since else None
    start = datetime.combine(day, time.min, tzinfo=UTC) if day else None
    with connect_read_only() as con:
        table = con.sql(FEED_SQL, params=[start, start]).to_arrow_table()
    buffer = io.BytesIO()
    if format is FeedFormat.PARQUET:
        pq.write_table(table, buffer, compression="zstd")
    else:
        pa_csv.write_csv(table, buffer)
    settings.audit.record(actor=caller.subject, role=caller.role, action=AuditAction.FEED_EXPORT, purpose=FEED_PURPOSE,
                          detail={"since": day.isoformat() if day else None, "rows": table.num_rows,
                                  "format": str(format)})
    stamp = day.isoformat() if day else "all"
    return Response(buffer.getvalue(), media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="central_bank_feed-{stamp}.{format}"'})
