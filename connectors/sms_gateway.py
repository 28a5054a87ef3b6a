"""The SMS gateway's client (``contracts/agencies/sms_gateway.openapi.yaml``): send a text, read its status.

The idempotency key goes in the ``Idempotency-Key`` header: the gateway sends a key once, so a retry, or a
rerun after a crash between the send and the hub landing its outcome, never reaches the debtor twice.
A 5xx or a transport error is temporary (:class:`DeliveryError`, retry); a 4xx is permanent.
Each call's bytes go to the message log when the caller opened an exchange (``connectors.message_hook``), under
the agency id :data:`AGENCY_ID`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import httpx

from connectors import message_hook
from estelam.core import clock
from estelam.core.exceptions import DeliveryError

IDEMPOTENCY_HEADER = "Idempotency-Key"
DEFAULT_TIMEOUT_S = 10.0
#: Who the message log says the hub talked to.
AGENCY_ID = "sms_gateway"
SEND_OPERATION, STATUS_OPERATION = "sendMessage", "getMessage"


@dataclass(frozen=True)
class SmsStatus:
    """The gateway's answer: its message id, ``accepted``, ``delivered`` or ``failed``, and why."""

    message_id: str
    status: str
    reason: str | None = None


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    detail = body.get("detail") or body.get("title") if isinstance(body, dict) else None
    return f"HTTP {response.status_code}: {detail}" if detail else f"HTTP {response.status_code}"


def _status(response: httpx.Response) -> SmsStatus:
    if response.status_code >= 500:
        raise DeliveryError(f"SMS gateway unavailable: {_problem(response)}")
    if response.status_code >= 400:
        raise DeliveryError(f"SMS gateway refused: {_problem(response)}", permanent=True)
    try:
        body = response.json()
        return SmsStatus(str(body["id"]), str(body["status"]), body.get("reason"))
    except (ValueError, KeyError, TypeError) as exc:
        raise DeliveryError(f"SMS gateway answered outside its contract: {exc}") from exc


class SmsGatewayClient:
    """One gateway at ``base_url``; ``token`` is its bearer token (none for an open loopback simulator)."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> SmsGatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, to: str, text: str, *, idempotency_key: str) -> SmsStatus:
        """Hand one text to the gateway; the same key returns the first answer and sends nothing again."""
        payload = json.dumps({"to": to, "text": text}, ensure_ascii=False, separators=(",", ":")).encode()
        return self._call(SEND_OPERATION, "POST", "/messages", idempotency_key, payload,
                          {IDEMPOTENCY_HEADER: idempotency_key, "Content-Type": "application/json"})

    def status(self, message_id: str) -> SmsStatus:
        """What became of a message the gateway accepted."""
        return self._call(STATUS_OPERATION, "GET", f"/messages/{message_id}", message_id, None, {})

    def _call(self, operation: str, method: str, path: str, request_id: str, payload: bytes | None,
              headers: dict[str, str]) -> SmsStatus:
        """One HTTP call, its bytes handed to the message log (the request line and body, the answer as read)."""
        sent = f"{method} {path}\n".encode() + (payload or b"")
        sent_at = clock.now()
        with message_hook.call_site(AGENCY_ID, operation, request_id):
            try:
                response = self._http.request(method, path, content=payload, headers=headers)
            except httpx.HTTPError as exc:
                message_hook.record(sent, None, sent_at=sent_at, error=f"{type(exc).__name__}: {exc}"[:500])
                raise DeliveryError(f"SMS gateway unreachable: {type(exc).__name__}: {exc}") from exc
            message_hook.record(sent, response.content, sent_at=sent_at, http_status=response.status_code)
        return _status(response)
