"""An agency that receives a register's notices (the police, the central bank), built from its OpenAPI contract.

It serves the contract's ``pushNotices`` operation, checks the bearer token, reads the body against the
contract (the notice list's bounds, the required fields, the ``change`` and ``reason`` enumerations, the person id
pattern) and answers one acknowledgement per notice. A notice whose idempotency key it already holds is
acknowledged again with the same receipt and not acted on twice. What it holds (:attr:`RegisterReceiver.held`)
and every notice it acted on (:attr:`RegisterReceiver.received`) are kept for tests to read; ``fail_next`` makes
it answer the next calls with 503, as an agency that is down.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.wire import JSON_CONTENT_TYPE, PROBLEM_CONTENT_TYPE
from estelam.core import clock
from simulators.server import Request, Response

BEARER_PREFIX = "bearer "


def _problem(status: int, detail: str) -> Response:
    return Response(status, json.dumps({"status": status, "detail": detail}).encode(),
                    {"Content-Type": PROBLEM_CONTENT_TYPE})


@dataclass
class RegisterReceiver:
    """The receiving agency: an application for ``simulators.server.RunningServer``."""

    contract: Path
    token: str | None = None
    fail_next: int = 0
    held: dict[str, dict[str, Any]] = field(default_factory=dict)  # person id -> entry
    received: list[dict[str, Any]] = field(default_factory=list)  # notices acted on, in order
    calls: int = 0
    receipts: dict[str, str] = field(default_factory=dict)  # idempotency key -> receipt
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        document = yaml.safe_load(self.contract.read_text(encoding="utf-8"))
        (self.path, operation), = [(p, m["post"]) for p, m in document["paths"].items()
                                   if (m.get("post") or {}).get("operationId") == "pushNotices"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]["properties"]["notices"]
        self.max_items = int(body["maxItems"])
        notice = document["components"]["schemas"]["Notice"]
        self.required = list(notice["required"])
        self.changes = set(notice["properties"]["change"]["enum"])
        self.reasons = {r for r in notice["properties"]["reason"]["enum"] if r is not None}
        self.person_id = re.compile(notice["properties"]["person_id"]["pattern"])

    def __call__(self, request: Request) -> Response:
        with self._lock:
            self.calls += 1
            if request.method != "POST" or request.path != self.path:
                return _problem(404, f"POST {self.path}")
            if self.token is not None:
                presented = request.headers.get("authorization", "")
                if not (presented[:len(BEARER_PREFIX)].lower() == BEARER_PREFIX
                        and hmac.compare_digest(presented[len(BEARER_PREFIX):].encode(), self.token.encode())):
                    return _problem(401, "a valid bearer token is required")
            if self.fail_next > 0:
                self.fail_next -= 1
                return _problem(503, "the register service is down for maintenance")
            try:
                notices = self._read(request.body)
            except ValueError as exc:
                return _problem(422, str(exc))
            return Response(200, json.dumps({"acknowledgements": [self._act(n) for n in notices]}).encode(),
                            {"Content-Type": JSON_CONTENT_TYPE})

    def _read(self, body: bytes) -> list[dict[str, Any]]:
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        notices = document.get("notices") if isinstance(document, dict) else None
        if not isinstance(notices, list) or not 1 <= len(notices) <= self.max_items:
            raise ValueError(f"notices must be a list of 1 to {self.max_items}")
        for i, notice in enumerate(notices):
            missing = [name for name in self.required if not isinstance(notice, dict) or name not in notice]
            if missing:
                raise ValueError(f"notice {i}: missing {', '.join(missing)}")
            if notice["change"] not in self.changes:
                raise ValueError(f"notice {i}: change {notice['change']!r} is not one of {sorted(self.changes)}")
            if notice.get("reason") is not None and notice["reason"] not in self.reasons:
                raise ValueError(f"notice {i}: reason {notice['reason']!r} is not one of {sorted(self.reasons)}")
            if not self.person_id.fullmatch(str(notice["person_id"])):
                raise ValueError(f"notice {i}: person_id does not match {self.person_id.pattern}")
        return notices

    def _act(self, notice: dict[str, Any]) -> dict[str, Any]:
        key = str(notice["idempotency_key"])
        if key not in self.receipts:  # once only: a notice sent again is acknowledged, not acted on
            self.receipts[key] = f"r-{len(self.receipts) + 1:06d}"
            self.received.append(notice)
            if notice["change"] == "removed":
                self.held.pop(str(notice["person_id"]), None)
            else:
                self.held[str(notice["person_id"])] = notice.get("entry") or {}
        return {"idempotency_key": key, "status": "accepted", "receipt_id": self.receipts[key],
                "received_at": clock.now().isoformat()}
