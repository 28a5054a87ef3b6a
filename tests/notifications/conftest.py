"""Real channels on loopback: an SMTP server (aiosmtpd) and the SMS gateway simulator (uvicorn), each started on a
free port by its fixture and stopped at teardown; and a hub whose settings point at them."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from connectors.shared_state import forget_in_process_state
from estelam.core.settings import PROJECT_ROOT, Settings
from simulators.channels import LOOPBACK, Mailbox, MailServer, SmsGateway, free_port
from simulators.sms_gateway import SmsGatewaySimulator
from tests.settings_support import override

#: The freeze harness's agencies, registered with their names (so notices name them).
HARNESS_AGENCIES = """
  - {agency_id: bank_a, kind: bank, name: "Bank Alpha", name_fa: بانک آلفا, name_ar: مصرف ألفا, endpoint: "http://127.0.0.1:1"}
  - {agency_id: bank_b, kind: bank, name: "Bank Beta", name_fa: بانک بتا, endpoint: "http://127.0.0.1:1"}
"""


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    server = MailServer()
    try:
        yield server.mailbox, server.port
    finally:
        server.stop()


@pytest.fixture
def sms_gateway() -> Iterator[tuple[SmsGatewaySimulator, str]]:
    gateway = SmsGateway()
    try:
        yield gateway.simulator, gateway.url
    finally:
        gateway.stop()


def harness_contracts(tmp_path: Path) -> Path:
    """The project's contracts with the freeze harness's agencies added to the registry."""
    folder = tmp_path / "contracts"
    shutil.copytree(PROJECT_ROOT / "contracts", folder)
    registry = folder / "agencies.yaml"
    registry.write_text(registry.read_text(encoding="utf-8").rstrip("\n") + "\n" + HARNESS_AGENCIES.lstrip("\n"),
                        encoding="utf-8")
    return folder


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: tuple[Mailbox, int],
        sms_gateway: tuple[SmsGatewaySimulator, str]) -> Settings:
    """Settings pointing at the loopback mail server and SMS gateway, with a fresh data directory."""
    _, smtp_port = smtp_server
    _, sms_url = sms_gateway
    return override(monkeypatch, data_dir=tmp_path / "data", contracts_dir=harness_contracts(tmp_path),
                    smtp_host=LOOPBACK, smtp_port=smtp_port, smtp_from="notices@estelam.test",
                    sms_gateway_url=sms_url, delivery_attempts=3, delivery_backoff_s=0.01)


OPERATORS = ["ops@estelam.test", "duty@estelam.test"]


class Webhook(ThreadingHTTPServer):
    received: list[tuple[dict[str, Any], str]]


class _Handler(BaseHTTPRequestHandler):
    server: Webhook

    def do_POST(self) -> None:  # http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append((json.loads(body), str(self.headers.get("Idempotency-Key"))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  # http.server's signature
        """Quiet."""


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    server = Webhook((LOOPBACK, free_port()), _Handler)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def operators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp_server: tuple[Mailbox, int],
              webhook: Webhook) -> Iterator[Settings]:
    _, smtp_port = smtp_server
    yield override(monkeypatch, data_dir=tmp_path / "data", smtp_host=LOOPBACK, smtp_port=smtp_port,
                   smtp_from="alerts@estelam.test", alert_emails=",".join(OPERATORS),
                   alert_webhook_url=f"http://{LOOPBACK}:{webhook.server_address[1]}/hooks/estelam",
                   delivery_attempts=2, delivery_backoff_s=0.01)
    forget_in_process_state()  # the round's open breaker stays with this test
