"""The SMS gateway, simulated: what ``contracts/agencies/sms_gateway.openapi.yaml`` declares, on loopback.

Messages are kept in memory by idempotency key: a repeated key sends nothing and answers as the first time.
A test reads what reached the phones with :attr:`SmsGatewaySimulator.sent` (one entry per message really sent).
Faults for tests: ``fail_next`` temporary failures (503) before the gateway works again, or ``fail_always``.

    python -m simulators.sms_gateway --port 18390
"""

from __future__ import annotations

import argparse
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

#: An Iranian (09 and nine digits) or Saudi (05 and eight digits) mobile number, as the gateway's OpenAPI says.
MOBILE = re.compile(r"^(09[0-9]{9}|05[0-9]{8})$")
PROBLEM = "application/problem+json"


def _problem(status: int, title: str, detail: str = "") -> JSONResponse:
    return JSONResponse({"title": title, "status": status, "detail": detail}, status_code=status, media_type=PROBLEM)


@dataclass
class SmsGatewaySimulator:
    """The gateway's state: what it sent, by key and by id, and the faults it is told to show."""

    token: str | None = None
    fail_next: int = 0
    fail_always: bool = False
    sent: list[dict[str, str]] = field(default_factory=list)
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    posts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> FastAPI:
        app = FastAPI(title="SMS gateway simulator")

        def authorised(authorization: str | None) -> bool:
            return self.token is None or authorization == f"Bearer {self.token}"

        @app.post("/messages", status_code=201)
        async def send_message(request: Request, idempotency_key: str = Header(alias="Idempotency-Key"),
                               authorization: str | None = Header(default=None)) -> Any:
            if not authorised(authorization):
                return _problem(401, "unauthorised")
            try:
                body = await request.json()
            except ValueError:
                return _problem(400, "body is not JSON")
            if (not isinstance(body, dict) or set(body) != {"to", "text"} or not isinstance(body["text"], str)
                    or not body["text"] or len(body["text"]) > 1000):
                return _problem(422, "body breaks the MessageRequest schema")
            if not isinstance(body["to"], str) or not MOBILE.fullmatch(body["to"]):
                return _problem(422, "not a mobile number", str(body["to"]))
            with self.lock:
                self.posts += 1
                if idempotency_key in self.by_key:
                    return JSONResponse(self.by_key[idempotency_key], status_code=201)
                if self.fail_always:
                    return _problem(503, "operator network down")
                if self.fail_next > 0:
                    self.fail_next -= 1
                    return _problem(503, "operator network busy")
                message: dict[str, Any] = {"id": f"sms-{uuid.uuid4().hex[:16]}", "status": "accepted", "reason": None}
                self.by_key[idempotency_key] = message
                self.by_id[message["id"]] = message | {"status": "delivered"}
                self.sent.append({"to": body["to"], "text": body["text"], "key": idempotency_key,
                                  "id": message["id"]})
                return JSONResponse(message, status_code=201)

        @app.get("/messages/{message_id}")
        def get_message(message_id: str, authorization: str | None = Header(default=None)) -> Any:
            if not authorised(authorization):
                return _problem(401, "unauthorised")
            with self.lock:
                if message_id not in self.by_id:
                    return _problem(404, "no such message")
                return self.by_id[message_id]

        return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18390)
    parser.add_argument("--token")
    args = parser.parse_args(argv)
    uvicorn.run(SmsGatewaySimulator(token=args.token).app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
