"""Statisticians: the published KPI snapshot (aggregates only; the warehouse is never opened)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import pyarrow.parquet as pq
from fastapi import APIRouter, Depends
from fastapi.encoders import jsonable_encoder

from estelam.access.auth import Principal, Role
from estelam.api.dependencies import require
from estelam.core.exceptions import RequestRejected
from estelam.warehouse.dbt_build import KPI_MARTS
from estelam.warehouse.publishing import published_dir, read_manifest

router = APIRouter(tags=["statisticians"])
Statistician = Annotated[Principal, Depends(require(Role.STATISTICIAN))]
KpiMart = StrEnum("KpiMart", {name: name for name in KPI_MARTS})  # type: ignore[misc]


@router.get("/kpis", summary="What the last publication holds",
            responses={401: {"description": "no or unknown token"}, 403: {"description": "not a statistician"}})
def manifest(statistician: Statistician) -> dict[str, Any]:
    return read_manifest() or {"published_at": None, "rows": {}}


@router.get("/kpis/{mart}", summary="One published KPI mart's rows",
            responses={401: {"description": "no or unknown token"}, 403: {"description": "not a statistician"},
                       404: {"description": "not published yet"}})
def kpi(mart: KpiMart, statistician: Statistician) -> list[dict[str, Any]]:
    path = published_dir() / f"{mart.value}.parquet"
    if not path.is_file():
        raise RequestRejected(f"{mart.value} has not been published yet", status_code=404)
    return jsonable_encoder(pq.read_table(path).to_pylist())  # type: ignore[no-any-return]
