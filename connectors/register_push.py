"""The client that pushes a register's changes to an agency that receives them (the police, the central bank).

Built from the receiver's OpenAPI contract (``contracts/agencies/police_register.openapi.yaml``,
``central_bank_feed.openapi.yaml``): the path of its ``pushNotices`` operation and its ``maxItems`` per call.
One POST per batch of notices, ``{"notices": [...]}``, answered ``{"acknowledgements": [...]}`` one per notice.
Each attempt's bytes go to the message log when the caller opened an exchange (``connectors.message_hook``);
an agency that cannot be reached, answers an error or an answer that breaks the contract raises an
``AgencyError`` naming it. No retry here: a push that failed is sent again on the reconciler's next run, under
the same idempotency key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from connectors import message_hook
from connectors.wire import REQUEST_ID_HEADER
from estelam.core import clock
from estelam.core.exceptions import AgencyAnswerMalformed, AgencyCallSite, AgencyFault, AgencyUnavailable, ContractError

OPERATION_ID = "pushNotices"
#: An acknowledgement answer larger than this is refused (500 acknowledgements are far smaller).
MAX_ANSWER_BYTES = 4 * 1024 * 1024
MAX_ERROR_TEXT_CHARS = 300


@dataclass(frozen=True)
class PushOperation:
    """Where notices go and how many one call may carry, as the receiver's contract says."""

    path: str
    max_items: int


def push_operation(contract: Path) -> PushOperation:
    """The ``pushNotices`` operation of an OpenAPI document (``ContractError`` if it has none)."""
    try:
        document = yaml.safe_load(contract.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"cannot read the receiver contract {contract}: {exc}") from exc
    for path, methods in (document.get("paths") or {}).items():
        operation = (methods or {}).get("post") or {}
        if operation.get("operationId") == OPERATION_ID:
            schema = operation["requestBody"]["content"]["application/json"]["schema"]
            return PushOperation(path=str(path), max_items=int(schema["properties"]["notices"]["maxItems"]))
    raise ContractError(f"{contract}: no POST operation {OPERATION_ID}")


@dataclass(frozen=True)
class NoticeAcknowledgement:
    """The agency's word on one notice."""

    idempotency_key: str
    accepted: bool
    receipt_id: str | None
    received_at: datetime
    reason: str | None


class RegisterPushClient:
    """Push notices to one receiving agency over HTTP."""

    def __init__(self, agency_id: str, endpoint: str, operation: PushOperation, *, token: str | None,
                 timeout_s: float, http: httpx.Client | None = None) -> None:
        self.agency_id = agency_id
        self.operation = operation
        self._url = endpoint.rstrip("/") + operation.path
        self._headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._http = http or httpx.Client(timeout=timeout_s)
        self._owns_http = http is None

    def push(self, notices: Sequence[Mapping[str, Any]], request_id: str) -> dict[str, NoticeAcknowledgement]:
        """Send one batch (at most the contract's ``maxItems``); the acknowledgements by idempotency key."""
        if len(notices) > self.operation.max_items:
            raise ContractError(f"{len(notices)} notices exceed the contract's {self.operation.max_items} per call")
        context: AgencyCallSite = {"agency_id": self.agency_id, "operation": OPERATION_ID, "request_id": request_id}
        payload = json.dumps({"notices": list(notices)}, ensure_ascii=False, separators=(",", ":"),
                             default=str).encode()
        sent = f"POST {self.operation.path}\n".encode() + payload
        sent_at = clock.now()
        with message_hook.call_site(self.agency_id, OPERATION_ID, request_id):
            try:
                response = self._http.post(self._url, content=payload,
                                           headers={**self._headers, REQUEST_ID_HEADER: request_id})
                content = response.content
            except httpx.HTTPError as exc:
                message_hook.record(sent, None, sent_at=sent_at, error=f"{type(exc).__name__}: {exc}"[:500])
                raise AgencyUnavailable(f"{type(exc).__name__}: {exc}", **context) from exc
            message_hook.record(sent, content, sent_at=sent_at, http_status=response.status_code)
        if response.status_code >= 400:
            text = content.decode("utf-8", errors="replace").strip()[:MAX_ERROR_TEXT_CHARS]
            raise AgencyFault(f"HTTP {response.status_code}: {text}", status_code=response.status_code,
                              **context)
        if len(content) > MAX_ANSWER_BYTES:
            raise AgencyAnswerMalformed(f"answer exceeds {MAX_ANSWER_BYTES} bytes", **context)
        return _acknowledgements(content, {str(n["idempotency_key"]) for n in notices}, context)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> RegisterPushClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _acknowledgements(content: bytes, sent: set[str], context: AgencyCallSite) -> dict[str, NoticeAcknowledgement]:
    """The answer read against the contract: one acknowledgement per notice sent, none for another."""
    try:
        answer = json.loads(content)
        found: dict[str, NoticeAcknowledgement] = {}
        for ack in answer["acknowledgements"]:
            key = str(ack["idempotency_key"])
            if key not in sent:
                raise ValueError(f"an acknowledgement of a notice not sent ({key[:100]})")
            status = ack["status"]
            if status not in ("accepted", "rejected"):
                raise ValueError(f"status {str(status)[:50]!r} is not accepted or rejected")
            found[key] = NoticeAcknowledgement(
                idempotency_key=key, accepted=status == "accepted", receipt_id=ack.get("receipt_id"),
                received_at=datetime.fromisoformat(ack["received_at"]), reason=ack.get("reason"))
    except (ValueError, KeyError, TypeError) as exc:
        raise AgencyAnswerMalformed(f"answer does not follow the contract: {exc}", **context) from exc
    return found


__all__ = ["OPERATION_ID", "NoticeAcknowledgement", "PushOperation", "RegisterPushClient", "push_operation"]
