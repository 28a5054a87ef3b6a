"""The FastAPI application: routers per audience, errors mapped to HTTP statuses, OpenAPI with bearer auth."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from estelam.api import agencies, central_bank, judges, public, soap, statistics
from estelam.api.services import ApiSettings
from estelam.core.exceptions import AccessError, NotAuthenticated, ReportError, WarehouseError
from estelam.warehouse.dbt_build import connect_read_only

TITLE = "Estelam hub API"
VERSION = "1.0.0"
DESCRIPTION = """Asset reports for enforcement judges, on-demand inquiries, freeze orders and acknowledgements for
agencies (REST here, SOAP at /soap/acknowledgements with its WSDL), the central bank's registry feed, KPI
aggregates for statisticians, and consent-checked registry lookups for the public. Every call needs a bearer
token; every look at a person's data is written to a tamper-evident audit log."""
#: While dbt rebuilds the warehouse, readers are asked to come back shortly.
RETRY_AFTER_S = 5


def _access_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AccessError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
    return JSONResponse({"detail": str(exc)}, status_code=exc.status_code, headers=headers)


def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


def _warehouse_busy(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The API, built from ``settings`` (default: tokens, audit log and consent store from the environment)."""
    app = FastAPI(title=TITLE, version=VERSION, description=DESCRIPTION)
    app.state.api_settings = settings or ApiSettings.from_environment()
    app.add_exception_handler(AccessError, _access_error)
    app.add_exception_handler(ReportError, _not_found)
    app.add_exception_handler(WarehouseError, _warehouse_busy)
    for module in (judges, agencies, soap, public, central_bank, statistics):
        app.include_router(module.router)

    @app.get("/health", tags=["health"], summary="Liveness, and whether the warehouse can be read")
    def health() -> dict[str, Any]:
        try:
            with connect_read_only():
                warehouse = "readable"
        except WarehouseError as exc:
            warehouse = f"unavailable: {exc}"
        return {"status": "ok", "warehouse": warehouse}

    return app
