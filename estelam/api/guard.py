"""The API's front door, before any route runs: who is calling, and how much they may send.

:class:`RequestGuard` is plain ASGI middleware, so it acts before FastAPI reads or parses a body:

- a request that may carry a body (any method but GET, HEAD and OPTIONS, or any request announcing a
  body) must show a known bearer token first; without one it is answered 401 and not one byte of its
  body is read (malformed JSON without a token is a 401, not a 422); the portal's pages (``/portal``) are
  the exception: they sign in by a form and a session cookie, and check a CSRF token on every POST;
- every body has a per-endpoint size limit (:func:`body_limit`): a ``Content-Length`` above it is
  answered 413 at once, and a body streamed without one is counted as it arrives and refused with
  413 the moment it passes the limit (:class:`BodyTooLarge`), never buffered whole.

Refusals on the SOAP endpoint are SOAP faults (:func:`soap_fault`), as its WSDL promises.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from lxml import etree
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from connectors.wire import AUTHENTICATION_FAULT, FAULT_CLIENT, SOAP_ENV_NS, XML_CONTENT_TYPE
from estelam.access.auth import TokenStore, bearer_token
from estelam.core.exceptions import NotAuthenticated
from estelam.freeze.acknowledgements import MAX_ACKNOWLEDGEMENTS_PER_CALL

SOAP_PATH = "/soap/acknowledgements"
FUGITIVES_SOAP_PATH = "/soap/fugitives"
#: Paths whose refusals are SOAP faults.
SOAP_PATHS = frozenset({SOAP_PATH, FUGITIVES_SOAP_PATH})
#: The largest one acknowledgement may be on the wire: its order id (200) and reason (1000) characters,
#: each at most 6 bytes as a JSON ``\\uXXXX`` escape or an XML character reference, with its other fields
#: and markup. Generous, and still bounded by the contract.
ACKNOWLEDGEMENT_WIRE_BYTES = 8 * 1024
#: An acknowledgement call's body: the contract's ``maxOccurs``/``maxItems`` (500) of the largest item, plus the
#: envelope around them.
ACKNOWLEDGEMENTS_BODY_LIMIT = MAX_ACKNOWLEDGEMENTS_PER_CALL * ACKNOWLEDGEMENT_WIRE_BYTES + 64 * 1024
#: Every other body (a consent request, an inquiry request) is a handful of short fields.
DEFAULT_BODY_LIMIT = 64 * 1024
_ACKNOWLEDGEMENT_PATHS = re.compile(r"^(/agencies/[^/]+/acknowledgements|/soap/acknowledgements)/?$")
#: The portal's pages authenticate by their session cookie and check a CSRF token on every form (estelam.api.portal).
PORTAL_PREFIX = "/portal"
#: Methods that never need a body; with no body announced, their routes authenticate as usual.
BODILESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def body_limit(method: str, path: str) -> int:
    """The most bytes a request body to ``path`` may have."""
    return ACKNOWLEDGEMENTS_BODY_LIMIT if method == "POST" and _ACKNOWLEDGEMENT_PATHS.match(path) else \
        DEFAULT_BODY_LIMIT


class BodyTooLarge(HTTPException):
    """A body passed its endpoint's limit while it was being read (an HTTPException, so FastAPI passes it on)."""

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body exceeds this endpoint's limit of {limit} bytes")
        self.limit = limit


def soap_fault(code: str, message: str, status: int) -> Response:
    """A SOAP 1.1 fault envelope with ``faultcode`` ``soap:{code}``."""
    envelope = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope", nsmap={"soap": SOAP_ENV_NS})
    fault = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Body"), f"{{{SOAP_ENV_NS}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soap:{code}"
    etree.SubElement(fault, "faultstring").text = message
    return Response(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"), status_code=status,
                    media_type=XML_CONTENT_TYPE)


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers", ())}


class RequestGuard:
    """Authenticate requests that carry a body before reading it; bound every body while it streams."""

    def __init__(self, app: ASGIApp, tokens: Callable[[], TokenStore],
                 on_refusal: Callable[[Scope, int, str], Awaitable[None]] | None = None) -> None:
        self.app = app
        self.tokens = tokens
        self.on_refusal = on_refusal  # the audit log's hook: every refusal here is on the record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers = _headers(scope)
        length_text = headers.get(b"content-length")
        announces_body = b"transfer-encoding" in headers or (length_text not in (None, b"0"))
        portal = path == PORTAL_PREFIX or path.startswith(PORTAL_PREFIX + "/")
        if (method not in BODILESS_METHODS or announces_body) and not portal:
            authorization = headers.get(b"authorization")
            try:
                self.tokens().authenticate(bearer_token(authorization.decode("latin-1") if authorization else None))
            except NotAuthenticated as refused:
                await self._refuse(scope, receive, send, 401, str(refused), AUTHENTICATION_FAULT)
                return
        limit = body_limit(method, path)
        if length_text is not None:
            try:
                length = int(length_text)
            except ValueError:
                await self._refuse(scope, receive, send, 400, "Content-Length is not a number", FAULT_CLIENT)
                return
            if length > limit:
                await self._refuse(scope, receive, send, 413, BodyTooLarge(limit).detail, FAULT_CLIENT)
                return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge as too_large:  # raised where no handler turned it into a response
            if started:
                raise
            await self._refuse(scope, receive, watched, 413, too_large.detail, FAULT_CLIENT)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, message: str,
                      soap_code: str) -> None:
        """Answer without reading the body (the server closes a connection whose body was left unread), and
        put the refusal on the record."""
        if self.on_refusal is not None:
            await self.on_refusal(scope, status, message)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        response: Response
        if scope["path"].rstrip("/") in SOAP_PATHS:
            response = soap_fault(soap_code, message, status)
            response.headers.update(headers)
        else:
            response = JSONResponse({"detail": message}, status_code=status, headers=headers)
        await response(scope, receive, send)
