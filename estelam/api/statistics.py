"""Statisticians: the published KPI snapshot (aggregates only; the warehouse is never opened)."""

from __future__ import annotations

from typing import Annotated, Any

import pyarrow.parquet as pq
from fastapi import APIRouter, Depends
from fastapi.encoders import jsonable_encoder

from estelam.access.auth import Principal, Role
from estelam.api.dependencies import require
from estelam.core.exceptions import RequestRejected
from estelam.warehouse.published import published_dir, read_manifest

router = APIRouter(tags=["statisticians"])
Statistician = Annotated[Principal, Depends(require(Role.STATISTICIAN))]


@router.get("/kpis", summary="What the last publication holds",
            responses={401: {"description": "no or unknown token"}, 403: {"description": "not a statistician"}})
def manifest(statistician: Statistician) -> dict[str, Any]:
    return read_manifest() or {"published_at": None, "rows": {}}


@router.get("/kpis/{mart}", summary="One published KPI mart's rows",
            responses={401: {"description": "no or unknown token"}, 403: {"description": "not a statistician"},
                       404: {"description": "not published yet"}})
def kpi(mart: str, statistician: Statistician) -> list[dict[str, Any]]:
    published = (read_manifest() or {}).get("rows") or {}
    if mart not in published:  # only what the last publication holds; never a path built from input
        raise RequestRejected(f"no published mart named {mart[:64]!r}", status_code=404)
    path = published_dir() / f"{mart}.parquet"
    if not path.is_file():
        raise RequestRejected(f"{mart} has not been published yet", status_code=404)
    rows: list[dict[str, Any]] = jsonable_encoder(pq.read_table(path).to_pylist())
    return rows
