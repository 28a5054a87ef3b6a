"""Statisticians: the published KPI snapshot (aggregates only; the warehouse is never opened)."""

from __future__ import annotations

import csv
from enum import StrEnum
from typing import Annotated, Any

import pyarrow.parquet as pq
from fastapi import APIRouter, Depends
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from estelam.access.auth import Principal, Role
from estelam.api.dependencies import require
from estelam.core import settings
from estelam.core.exceptions import RequestRejected
from estelam.warehouse.disclosure import AMOUNT_ROUNDING, suppress
from estelam.warehouse.published import OPEN_FOLDER, disclosure_of, published_dir, read_manifest

router = APIRouter(tags=["statisticians"])
Statistician = Annotated[Principal, Depends(require(Role.STATISTICIAN))]


@router.get("/kpis", summary="What the last publication holds",
            responses={401: {"description": "no or unknown token"}, 403: {"description": "not a statistician"}})
def manifest(statistician: Statistician) -> dict[str, Any]:
    return read_manifest() or {"published_at": None, "rows": {}}


@router.get("/kpis/{mart}", summary="One published KPI mart's rows, small counts suppressed",
            responses={401: {"description": "no or unknown token"}, 403: {"description": "not a statistician"},
                       404: {"description": "not published yet"}})
def kpi(mart: str, statistician: Statistician) -> list[dict[str, Any]]:
    published = (read_manifest() or {}).get("rows") or {}
    if mart not in published:  # only what the last publication holds; never a path built from input
        raise RequestRejected(f"no published mart named {mart[:64]!r}", status_code=404)
    path = published_dir() / f"{mart}.parquet"
    if not path.is_file():
        raise RequestRejected(f"{mart} has not been published yet", status_code=404)
    rows: list[dict[str, Any]] = jsonable_encoder(
        suppress(pq.read_table(path).to_pylist(), disclosure_of(mart), settings.current().suppress_below))
    return rows


# --- open statistics: for anyone, no token ------------------------------------------------------------

open_router = APIRouter(tags=["open statistics"])


class OpenFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


@open_router.get("/open/kpis", summary="Open statistics: which anonymised KPI files are published (no token)")
def open_index() -> dict[str, Any]:
    manifest = read_manifest() or {}
    return {"published_at": manifest.get("published_at"),
            "files": sorted(p.stem for p in (published_dir() / OPEN_FOLDER).glob("*.csv")),
            "suppressed_below": settings.current().suppress_below, "amounts_rounded_to": AMOUNT_ROUNDING}


@open_router.get("/open/kpis/{mart}", summary="One open KPI file, as JSON or CSV (no token)",
                 responses={200: {"content": {"application/json": {}, "text/csv": {}}},
                            404: {"description": "no such open file"}})
def open_file(mart: str, format: OpenFormat = OpenFormat.JSON) -> Response:  # noqa: A002 (public name)
    """Small counts suppressed in every cell, every measure of a small row hidden, amounts rounded."""
    names = {p.stem: p for p in (published_dir() / OPEN_FOLDER).glob("*.csv")}
    path = names.get(mart)  # only a file that exists; never a path built from input
    if path is None:
        raise RequestRejected(f"no open statistics named {mart[:64]!r}", status_code=404)
    if format is OpenFormat.CSV:
        return Response(path.read_bytes(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{path.name}"'})
    with open(path, encoding="utf-8", newline="") as handle:
        rows = [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(handle)]
    return JSONResponse(rows)
