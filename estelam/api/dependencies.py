"""Request-scoped pieces every router shares: the caller, the role check, the settings, the audit log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from estelam.access.auth import Principal, Role
from estelam.api.services import ApiSettings
from estelam.core.exceptions import AccessDenied

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
