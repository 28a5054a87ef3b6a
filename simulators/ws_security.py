"""How a simulated SOAP agency checks the WS-Security UsernameToken on every request.

OASIS Web Services Security UsernameToken Profile 1.1:

- ``PasswordText``: the password itself (only sensible inside TLS);
- ``PasswordDigest``: Base64(SHA-1(nonce + created + password)), with a fresh nonce and a
  ``wsu:Created`` time, so the password never travels and a captured message cannot be replayed:
  a token created outside the allowed clock skew, or a nonce seen before, is refused. A nonce is
  remembered only once its digest proved the password: a forged token cannot fill the nonce memory
  (evicting real nonces, so their messages could be replayed) or burn a nonce a real caller will send.

Every refusal is ``AuthenticationFailed``; the SOAP application answers it with a
``soap:Client.Authentication`` fault.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import threading
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from lxml import etree

from connectors.credentials import Credentials
from connectors.wire import SOAP_ENV_NS, WSSE_NS, WSU_NS

_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
PASSWORD_TEXT = f"{_PROFILE}#PasswordText"
PASSWORD_DIGEST = f"{_PROFILE}#PasswordDigest"
#: How far a token's ``wsu:Created`` may be from the agency's clock.
DEFAULT_CLOCK_SKEW = timedelta(minutes=5)
#: Nonces remembered against replay; a nonce older than the clock skew cannot come back anyway.
DEFAULT_NONCE_MEMORY = 100_000


class AuthenticationFailed(Exception):
    """The request carries no valid UsernameToken for this agency."""


class UsernameTokenCheck:
    """Checks one agency's expected credentials against the UsernameToken of each request."""

    def __init__(self, credentials: Credentials, *, clock_skew: timedelta = DEFAULT_CLOCK_SKEW,
                 nonce_memory: int = DEFAULT_NONCE_MEMORY) -> None:
        self._credentials = credentials
        self._clock_skew = clock_skew
        self._nonce_memory = nonce_memory
        self._nonces: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, envelope: etree._Element, now: datetime | None = None) -> str:
        """Return the authenticated user name; raise ``AuthenticationFailed`` otherwise."""
        token = envelope.find(f"{{{SOAP_ENV_NS}}}Header/{{{WSSE_NS}}}Security/{{{WSSE_NS}}}UsernameToken")
        if token is None:
            raise AuthenticationFailed("no WS-Security UsernameToken in the SOAP header")
        username = (token.findtext(f"{{{WSSE_NS}}}Username") or "").strip()
        password = token.find(f"{{{WSSE_NS}}}Password")
        if password is None or not username:
            raise AuthenticationFailed("the UsernameToken needs a Username and a Password")
        kind = password.get("Type", PASSWORD_TEXT)
        given = (password.text or "").strip()
        nonce: bytes | None = None
        if kind == PASSWORD_DIGEST:
            nonce, expected = self._expected_digest(token, now or datetime.now(UTC))
        elif kind == PASSWORD_TEXT:
            expected = self._credentials.secret
        else:
            raise AuthenticationFailed(f"password type {kind!r} is not supported")
        user_ok = hmac.compare_digest(username.encode(), self._credentials.username.encode())
        password_ok = hmac.compare_digest(given.encode(), expected.encode())
        if not (user_ok and password_ok):  # one message for both: which of the two was wrong stays unsaid
            raise AuthenticationFailed("unknown user or wrong password")
        if nonce is not None:  # only now: the digest proved the password, so the nonce is the caller's
            self._remember(nonce)
        return username

    def _expected_digest(self, token: etree._Element, now: datetime) -> tuple[bytes, str]:
        nonce_text = (token.findtext(f"{{{WSSE_NS}}}Nonce") or "").strip()
        created = (token.findtext(f"{{{WSU_NS}}}Created") or "").strip()
        try:
            nonce = base64.b64decode(nonce_text, validate=True)
            moment = datetime.fromisoformat(created)
        except (binascii.Error, ValueError) as exc:
            raise AuthenticationFailed("a PasswordDigest needs a Base64 Nonce and a wsu:Created time") from exc
        if not nonce or moment.tzinfo is None:
            raise AuthenticationFailed("a PasswordDigest needs a Base64 Nonce and a wsu:Created time in UTC")
        if abs(now - moment) > self._clock_skew:
            raise AuthenticationFailed(f"the token was created at {created}, outside the allowed clock skew")
        # SHA-1 because the UsernameToken profile says so; freshness and the nonce guard replays
        digest = hashlib.sha1(nonce + created.encode() + self._credentials.secret.encode()).digest()
        return nonce, base64.b64encode(digest).decode("ascii")

    def _remember(self, nonce: bytes) -> None:
        with self._lock:
            if nonce in self._nonces:
                raise AuthenticationFailed("the token's nonce was used before (replay)")
            self._nonces[nonce] = None
            while len(self._nonces) > self._nonce_memory:
                self._nonces.popitem(last=False)
