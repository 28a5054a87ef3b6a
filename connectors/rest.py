"""The REST wire over httpx: what every REST agency kind shares (every REST kind is declared by a mapping and
spoken to by the generic client, ``connectors.mapped``, which sends its operations through this wire).

The wire only sends and maps HTTP outcomes to the exception tree:

- cannot connect, or timed out             -> ``AgencyUnavailable``
- the agency's certificate is not trusted  -> ``AgencyFault`` (a retry would not change it)
- HTTP status >= 400 (RFC 7807 problem)    -> ``AgencyFault`` with the status code and the problem's detail
  (401: the agency refused the hub's bearer token)
- not JSON, or too large                   -> ``AgencyAnswerMalformed``

Every call carries ``Authorization: Bearer <token>`` when the registry names credentials
for the instance; TLS trust and the client certificate come from the instance's ``tls``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from connectors import message_hook
from connectors.agency_http import AgencyHttp, certificate_refused
from connectors.credentials import FROM_REGISTRY, Credentials, FromRegistry, resolve_credentials
from connectors.wire import REQUEST_ID_HEADER
from connectors.xml_safety import MAX_DOCUMENT_BYTES
from estelam.core import clock
from estelam.core.domain import AgencyInstance
from estelam.core.exceptions import (
    AgencyAnswerMalformed,
    AgencyCallSite,
    AgencyError,
    AgencyFault,
    AgencyUnavailable,
)

#: How much of a non-JSON error body goes into an exception message.
MAX_ERROR_TEXT_CHARS = 300
#: The largest answer the client reads (JSON or not): the same limit as for XML documents.
MAX_ANSWER_BYTES = MAX_DOCUMENT_BYTES

# --- operations -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestOperation:
    """One operation of an agency's OpenAPI file."""

    method: str
    path: str  # template, as written in the OpenAPI file
    operation_id: str


# --- the client -----------------------------------------------------------------------------------


class RestAgencyClient:
    """The REST wire of one agency instance (the generic client's ``_RestWire`` sends each operation through it).

    ``http`` may be injected (a shared pool, a test transport); requests use absolute URLs
    built from ``instance.endpoint``, so an injected client needs no ``base_url``. A client
    created here is closed by ``close()``; an injected one is left to its owner.
    ``credentials`` default to what the registry's reference resolves to; ``None`` sends no token.
    """

    def __init__(self, instance: AgencyInstance, *, http: AgencyHttp | httpx.Client | None = None,
                 credentials: Credentials | FromRegistry | None = FROM_REGISTRY,
                 max_answer_bytes: int = MAX_ANSWER_BYTES) -> None:
        self.instance = instance
        self._owns_http = http is None
        self._http = http or AgencyHttp(instance)
        if isinstance(credentials, FromRegistry):
            credentials = resolve_credentials(instance)
        self._authorization = {"Authorization": f"Bearer {credentials.secret}"} if credentials else {}
        self._max_answer_bytes = max_answer_bytes

    def close(self) -> None:
        """Close the HTTP connection pool if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> RestAgencyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals --------------------------------------------------------------------------------

    def _send(
        self,
        name: str,
        operation: RestOperation,
        path: str,
        request_id: str,
        body: dict[str, Any] | None = None,
    ) -> Any:
        """Send one request; the decoded JSON answer, or the matching ``AgencyError``."""
        context: AgencyCallSite = {"agency_id": self.instance.agency_id, "operation": name, "request_id": request_id}
        headers = {REQUEST_ID_HEADER: request_id, "Accept": "application/json", **self._authorization}
        # the bytes sent are the bytes the message log keeps: the body is encoded here, not inside httpx
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() if body is not None else b""
        if body is not None:
            headers["Content-Type"] = "application/json"
        sent_at = clock.now()
        with message_hook.call_site(self.instance.agency_id, name, request_id):
            try:
                with self._http.stream(operation.method, self.instance.endpoint + path, headers=headers,
                                       content=payload if body is not None else None) as response:
                    content = self._bounded_read(response, context)
            except (httpx.TransportError, httpx.DecodingError, AgencyError) as exc:
                message_hook.record(_request_line(operation.method, path, payload), None, sent_at=sent_at,
                                    error=f"{type(exc).__name__}: {exc}"[:500])
                raise self._call_failed(exc, context) from exc
            message_hook.record(_request_line(operation.method, path, payload), content, sent_at=sent_at,
                                http_status=response.status_code)
        if response.status_code >= 400:
            raise AgencyFault(_fault_message(response, content), status_code=response.status_code, **context)
        if not response.is_success:
            raise AgencyAnswerMalformed(f"unexpected HTTP status {response.status_code}",
                                        status_code=response.status_code, **context)
        try:
            return json.loads(content)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise AgencyAnswerMalformed(f"answer is not JSON: {exc}", status_code=response.status_code,
                                        **context) from exc

    @staticmethod
    def _call_failed(exc: Exception, context: AgencyCallSite) -> AgencyError:
        """The ``AgencyError`` for a call that got no readable answer."""
        if isinstance(exc, AgencyError):
            return exc
        if isinstance(exc, httpx.ConnectError) and certificate_refused(exc):
            return AgencyFault(f"TLS handshake refused: {exc}", **context)  # does not heal on a retry
        if isinstance(exc, httpx.DecodingError):
            return AgencyAnswerMalformed(f"answer cannot be decoded: {exc}", **context)
        return AgencyUnavailable(f"{type(exc).__name__}: {exc}", **context)  # includes every timeout

    def _bounded_read(self, response: httpx.Response, context: AgencyCallSite) -> bytes:
        """The answer's body, refused unread past ``max_answer_bytes`` (declared or actual)."""
        limit = self._max_answer_bytes
        declared = int(response.headers.get("Content-Length") or 0)
        if declared > limit:
            raise AgencyAnswerMalformed(f"answer of {declared} bytes exceeds the limit of {limit} bytes",
                                        status_code=response.status_code, **context)
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise AgencyAnswerMalformed(f"answer exceeds the limit of {limit} bytes",
                                            status_code=response.status_code, **context)
        return bytes(body)


def _request_line(method: str, path: str, payload: bytes) -> bytes:
    """What the message log keeps of a REST request: its method and path (a person's id may travel there), then
    the body as sent."""
    return f"{method} {path}\n".encode() + payload


def _fault_message(response: httpx.Response, content: bytes) -> str:
    """The problem document's detail (or title), else the start of the body."""
    status = f"HTTP {response.status_code} {response.reason_phrase}"
    try:
        document = json.loads(content)
    except ValueError:
        document = None
    if isinstance(document, dict):
        detail = document.get("detail") or document.get("title")
        if isinstance(detail, str) and detail:
            return f"{status}: {detail}"
    text = content.decode(response.encoding or "utf-8", errors="replace").strip()[:MAX_ERROR_TEXT_CHARS]
    return f"{status}: {text}" if text else status


__all__ = ["MAX_ANSWER_BYTES", "RestAgencyClient", "RestOperation"]
