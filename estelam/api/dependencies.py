"""Request-scoped pieces every router shares: the caller, the role check, the settings, the audit log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from estelam.access.audit import AuditAction, Outcome
from estelam.access.auth import Principal, Role
from estelam.api.services import ApiSettings
from estelam.core.exceptions import AccessDenied, AccessError, EstelamError

logger = logging.getLogger(__name__)

#: Free text a caller gives that is stored and shown again (a purpose, a requester): printable only. No C0/C1
#: control characters (newline, NUL, escape, ...), no line or paragraph separators and no bidirectional
#: overrides or isolates, which could forge lines or reorder what an audit reader sees.
SAFE_TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]+$"
#: Statuses any endpoint taking a body may answer before its own logic runs.
BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not UTF-8 JSON (checked after the token)"},
    413: {"description": "the body exceeds the endpoint's size limit"},
}


def bounded(text: str, limit: int) -> str:
    """``text``, cut to ``limit`` characters with a note of how much was left out."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


#: The OpenAPI security scheme (``bearerAuth``); missing tokens are answered by our own 401, not FastAPI's 403.
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="bearerAuth",
                           description="A token issued to a judge, statistician, agency, the central bank, "
                                       "a member of the public or a data subject.")


def api_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.api_settings
    return settings


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The caller behind the bearer token (401 without one or with an unknown one); kept on the request so a
    refusal further on is audited under their name."""
    principal = api_settings(request).tokens.authenticate(credentials.credentials if credentials else None)
    request.state.principal = principal
    return principal


def require(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting only callers in ``roles`` (403 for the others)."""
    allowed = frozenset(roles)

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            raise AccessDenied(f"role {principal.role} may not use this endpoint")
        return principal

    return check


Settings = Annotated[ApiSettings, Depends(api_settings)]


#: Who the audit log names for a request without a known token.
ANONYMOUS = "anonymous"
MAX_AUDITED_PATH = 200
MAX_AUDITED_REASON = 300


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
