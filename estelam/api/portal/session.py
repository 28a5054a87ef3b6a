"""The portal's session: a signed, expiring, HttpOnly cookie that names a token digest and a CSRF secret.

The cookie holds ``base64(json) . hmac-sha256`` with the app's portal key; it never holds a token, only
the SHA-256 digest the token store already keeps, so a stolen cookie expires and a revoked token ends
every session at once. The same cookie carries the CSRF token every form echoes (session-bound, so a
sign-in form has one before anyone signs in), and the chosen language.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "estelam_portal"
#: A session lasts this long from sign-in; the cookie expires with it.
SESSION_SECONDS = 8 * 60 * 60
#: An anonymous cookie (language, the sign-in form's CSRF token) lasts a day.
ANONYMOUS_SECONDS = 24 * 60 * 60
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Session:
    """What the cookie says: who signed in (a token digest) until when, the CSRF token, the language."""

    csrf: str
    expires: int
    digest: str | None = None
    lang: str = "fa"

    @classmethod
    def fresh(cls, lang: str = "fa") -> Session:
        return cls(csrf=secrets.token_urlsafe(32), expires=int(time.time()) + ANONYMOUS_SECONDS, lang=lang)

    def signed_in(self, digest: str) -> Session:
        """A new session for ``digest`` with a new CSRF token (no fixation of the anonymous one)."""
        return Session(csrf=secrets.token_urlsafe(32), expires=int(time.time()) + SESSION_SECONDS, digest=digest,
                       lang=self.lang)

    def with_lang(self, lang: str) -> Session:
        return replace(self, lang=lang)


def _sign(key: bytes, payload: bytes) -> str:
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


def encode(session: Session, key: bytes) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(
        {"c": session.csrf, "e": session.expires, "d": session.digest, "l": session.lang},
        separators=(",", ":")).encode("utf-8"))
    return f"{payload.decode('ascii')}.{_sign(key, payload)}"


def decode(value: str | None, key: bytes, *, now: float | None = None) -> Session | None:
    """The session in a cookie value; None when absent, forged, malformed or expired."""
    if not value or "." not in value:
        return None
    payload_text, signature = value.rsplit(".", 1)
    payload = payload_text.encode("ascii", errors="replace")
    if not hmac.compare_digest(_sign(key, payload), signature):
        return None
    try:
        raw: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload))
        session = Session(csrf=str(raw["c"]), expires=int(raw["e"]), digest=raw.get("d"), lang=str(raw.get("l", "fa")))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    return session if session.expires > (now if now is not None else time.time()) else None


def load(request: Request, key: bytes) -> Session | None:
    return decode(request.cookies.get(COOKIE), key)


def store(response: Response, session: Session, key: bytes, *, secure: bool) -> None:
    """Set the cookie: signed, HttpOnly, SameSite=Lax, expiring with the session."""
    response.set_cookie(COOKIE, encode(session, key), max_age=max(session.expires - int(time.time()), 0),
                        httponly=True, samesite="lax", secure=secure, path="/portal")


def clear(response: Response, *, secure: bool) -> None:
    response.delete_cookie(COOKIE, path="/portal", httponly=True, samesite="lax", secure=secure)


def csrf_matches(session: Session | None, presented: str | None) -> bool:
    """Whether a form's CSRF token is this session's (compared in constant time)."""
    if session is None or not presented:
        return False
    return hmac.compare_digest(session.csrf.encode(), presented.encode())
