"""The FastAPI application: routers per audience, errors mapped to HTTP statuses, OpenAPI with bearer auth."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from estelam.access.audit import AuditAction, Outcome
from estelam.api import agencies, central_bank, judges, metrics, public, record, soap, statistics
from estelam.api.services import ApiSettings
from estelam.core.exceptions import AccessError, EstelamError, NotAuthenticated, ReportError, WarehouseError
from estelam.warehouse.dbt_build import connect_read_only

TITLE = "Estelam hub API"
VERSION = "1.0.0"
DESCRIPTION = """Asset reports for enforcement judges, on-demand inquiries, freeze orders and acknowledgements for
agencies (REST here, SOAP at /soap/acknowledgements with its WSDL), the central bank's registry feed, KPI
aggregates for statisticians, and consent-checked registry lookups for the public. Every call needs a bearer
token; every look at a person's data is written to a tamper-evident audit log."""
logger = logging.getLogger(__name__)

#: Who the audit log names for a request without a known token.
ANONYMOUS = "anonymous"
MAX_AUDITED_PATH = 200
MAX_AUDITED_REASON = 300
#: While dbt rebuilds the warehouse, readers are asked to come back shortly.
RETRY_AFTER_S = 5


def audit_refusal(request: Request, exc: AccessError) -> None:
    """Write a refused request to the audit log: who (if known; never the token), what, and why.

    Routes that audit their own refusals with more context (a report view, a registry lookup) mark the
    exception ``audited``. A failing audit store is logged and never turns the refusal into a 500.
    """
    if getattr(exc, "audited", False):
        return
    principal = getattr(request.state, "principal", None)
    settings: ApiSettings = request.app.state.api_settings
    params = request.path_params
    try:
        settings.audit.record(
            actor=principal.subject if principal else ANONYMOUS, role=str(principal.role) if principal else ANONYMOUS,
            action=AuditAction.REQUEST, purpose="", outcome=Outcome.REFUSED,
            person_id=params.get("person_id"), case_id=params.get("case_id"),
            detail={"method": request.method, "path": request.url.path[:MAX_AUDITED_PATH],
                    "status": exc.status_code, "reason": str(exc)[:MAX_AUDITED_REASON]})
    except EstelamError:
        logger.exception("a refused %s %s could not be audited", request.method, request.url.path[:MAX_AUDITED_PATH])


def _access_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AccessError)
    audit_refusal(request, exc)
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
    metrics.instrument(app)
    for module in (judges, agencies, soap, public, central_bank, statistics, record, metrics):
        app.include_router(module.router)
    app.include_router(statistics.open_router)

    @app.get("/health", tags=["health"], summary="Liveness, and whether the warehouse can be read")
    def health() -> dict[str, Any]:
        try:
            with connect_read_only():
                warehouse = "readable"
        except WarehouseError as exc:
            warehouse = f"unavailable: {exc}"
        return {"status": "ok", "warehouse": warehouse}

    return app
