"""The FastAPI application: routers per audience, errors mapped to HTTP statuses, OpenAPI with bearer auth."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from estelam.access.audit import AuditAction, Outcome
from estelam.api import (
    agencies,
    alerts,
    central_bank,
    fugitives,
    judges,
    metrics,
    public,
    record,
    soap,
    statistics,
)
from estelam.api.dependencies import ANONYMOUS, MAX_AUDITED_PATH, MAX_AUDITED_REASON, audit_refusal, bounded
from estelam.api.guard import RequestGuard
from estelam.api.portal import pages as portal
from estelam.api.services import ApiSettings
from estelam.core.exceptions import AccessError, EstelamError, NotAuthenticated, ReportError, WarehouseError
from estelam.warehouse.dbt_build import connect_read_only

TITLE = "Estelam hub API"
VERSION = "1.0.0"
DESCRIPTION = """Asset reports for enforcement judges, on-demand inquiries, freeze orders and acknowledgements for
agencies (REST here, SOAP at /soap/acknowledgements with its WSDL), the central bank's registry feed, the
register of fugitive convicts for the police and border control (SOAP too, at /soap/fugitives), KPI
aggregates for statisticians, and consent-checked registry lookups for the public. Every call needs a bearer
token; every look at a person's data is written to a tamper-evident audit log."""
logger = logging.getLogger(__name__)

#: While dbt rebuilds the warehouse, readers are asked to come back shortly.
RETRY_AFTER_S = 5
#: A 422 names at most this many errors, and echoes at most this many characters of any input value.
MAX_REPORTED_ERRORS = 20
MAX_ECHOED_CHARS = 100


async def _audit_guard_refusal(app: FastAPI, scope: Scope, status: int, reason: str) -> None:
    """The front door's refusals (no token, a body too large) on the record, written off the event loop."""
    settings: ApiSettings = app.state.api_settings
    path = str(scope.get("path", ""))[:MAX_AUDITED_PATH]

    def write() -> None:
        try:
            settings.audit.record(actor=ANONYMOUS, role=ANONYMOUS, action=AuditAction.REQUEST, purpose="",
                                  outcome=Outcome.REFUSED, detail={"method": scope.get("method"), "path": path,
                                                                   "status": status,
                                                                   "reason": reason[:MAX_AUDITED_REASON]})
        except EstelamError:
            logger.exception("a refused %s %s could not be audited", scope.get("method"), path)

    await anyio.to_thread.run_sync(write)


def _access_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AccessError)
    audit_refusal(request, exc)  # on the record before it is answered
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
    return JSONResponse({"detail": str(exc)}, status_code=exc.status_code, headers=headers)


def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


def _warehouse_busy(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


def _echo(value: Any) -> Any:
    """A bounded echo of one input value: scalars cut short, containers only described."""
    if isinstance(value, str):
        return bounded(value, MAX_ECHOED_CHARS)
    if isinstance(value, dict | list | tuple | set):
        return f"<{type(value).__name__} of {len(value)} items>"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return value if isinstance(value, int | float | bool) or value is None else bounded(str(value), MAX_ECHOED_CHARS)


def bounded_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Validation errors as a 422 shows them: at most MAX_REPORTED_ERRORS, none echoing more than a little input."""
    shown = []
    for error in errors[:MAX_REPORTED_ERRORS]:
        entry = {"type": error.get("type"), "loc": [_echo(part) for part in error.get("loc", ())][:10],
                 "msg": bounded(str(error.get("msg", "")), 2 * MAX_ECHOED_CHARS)}
        if "input" in error:
            entry["input"] = _echo(error["input"])
        if error.get("ctx"):
            entry["ctx"] = {str(k): _echo(v if isinstance(v, int | float | bool | str) else str(v))
                            for k, v in list(error["ctx"].items())[:5]}
        shown.append(entry)
    return shown


def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    content: dict[str, Any] = {"detail": jsonable_encoder(bounded_errors(errors))}
    if len(errors) > MAX_REPORTED_ERRORS:
        content["more_errors"] = len(errors) - MAX_REPORTED_ERRORS
    return JSONResponse(content, status_code=422)


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """The API, built from ``settings`` (default: tokens, audit log and consent store from the environment)."""
    app = FastAPI(title=TITLE, version=VERSION, description=DESCRIPTION)
    app.state.api_settings = settings or ApiSettings.from_environment()
    app.add_middleware(RequestGuard, tokens=lambda: app.state.api_settings.tokens,
                       on_refusal=functools.partial(_audit_guard_refusal, app))
    app.add_exception_handler(AccessError, _access_error)
    app.add_exception_handler(ReportError, _not_found)
    app.add_exception_handler(WarehouseError, _warehouse_busy)
    app.add_exception_handler(RequestValidationError, _invalid)
    metrics.instrument(app)
    for module in (judges, agencies, soap, public, central_bank, statistics, record, alerts, metrics):
        app.include_router(module.router)
    app.include_router(statistics.open_router)
    app.include_router(fugitives.router)
    app.include_router(fugitives.soap_router)
    app.include_router(portal.router)
    app.add_exception_handler(portal.PortalError, portal.portal_error)

    @app.options("/{path:path}", include_in_schema=False)
    def options(request: Request) -> Response:
        """Which methods a path takes (``Allow``), from the routes themselves."""
        methods: set[str] = set()
        for route in app.router.routes:
            if (isinstance(route, Route) and route.methods and route.name != soap.NOT_ALLOWED_ROUTE
                    and route.path_regex.match(request.url.path) and route.name != "options"):
                methods |= route.methods
        if not methods:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return Response(status_code=204, headers={"Allow": ", ".join(sorted(methods | {"OPTIONS"}))})

    @app.get("/health", tags=["health"], summary="Liveness, and whether the warehouse can be read")
    def health() -> dict[str, Any]:
        try:
            with connect_read_only():
                warehouse = "readable"
        except WarehouseError as exc:
            warehouse = f"unavailable: {exc}"
        return {"status": "ok", "warehouse": warehouse}

    return app
