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


class FeedFormat(StrEnum):
    PARQUET = "parquet"
    CSV = "csv"


MEDIA_TYPES = {FeedFormat.PARQUET: "application/vnd.apache.parquet", FeedFormat.CSV: "text/csv"}


@router.get("/central-bank/feed", summary="The registry for credit scoring (all, or changed since a date)",
            responses={200: {"content": {"application/vnd.apache.parquet": {}, "text/csv": {}}},
                       401: {"description": "no or unknown token"}, 403: {"description": "not the central bank"}})
def feed(
    caller: CentralBank,
    settings: Settings,
    since: Annotated[date | None, Query(description="Only entries whose cases moved on or after this day.")] = None,
    format: FeedFormat = FeedFormat.PARQUET,  # noqa: A002 (the query parameter's public name)
) -> Response:
    start = datetime.combine(since, time.min, tzinfo=UTC) if since else None
    with connect_read_only() as con:
        table = con.sql(FEED_SQL, params=[start, start]).to_arrow_table()
    buffer = io.BytesIO()
    if format is FeedFormat.PARQUET:
        pq.write_table(table, buffer, compression="zstd")
    else:
        pa_csv.write_csv(table, buffer)
    settings.audit.record(actor=caller.subject, role=caller.role, action=AuditAction.FEED_EXPORT, purpose=FEED_PURPOSE,
                          detail={"since": since.isoformat() if since else None, "rows": table.num_rows,
                                  "format": str(format)})
    stamp = since.isoformat() if since else "all"
    return Response(buffer.getvalue(), media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="central_bank_feed-{stamp}.{format}"'})
