"""The channels that reach people, on loopback: a mail server (aiosmtpd) that keeps what it receives, and the SMS
gateway simulator (uvicorn), each on a free port; the demo and the tests point the hub's settings at them.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller

from simulators.server import LOOPBACK
from simulators.sms_gateway import SmsGatewaySimulator

START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the loopback mail server received."""

    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's name
        content = bytes(envelope.original_content or envelope.content)
        self.raw.append(content)
        self.recipients.append(list(envelope.rcpt_tos))
        self.messages.append(message_from_bytes(content, policy=policy.default))
        return "250 Message accepted for delivery"


class MailServer:
    """An SMTP server on loopback keeping every message in :attr:`mailbox`."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self._controller = Controller(self.mailbox, hostname=LOOPBACK, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


class SmsGateway:
    """The SMS gateway simulator served by uvicorn in a thread, at :attr:`url`."""

    def __init__(self, simulator: SmsGatewaySimulator | None = None) -> None:
        self.simulator = simulator or SmsGatewaySimulator()
        port = free_port()
        self.url = f"http://{LOOPBACK}:{port}"
        self._server = uvicorn.Server(uvicorn.Config(self.simulator.app(), host=LOOPBACK, port=port,
                                                     log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name="sms-gateway", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("the SMS gateway simulator did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=START_TIMEOUT_S)


@dataclass
class Channels:
    """Both channels, started together; :meth:`settings` are the hub's settings that use them."""

    mail: MailServer
    sms: SmsGateway

    @classmethod
    def start(cls) -> Channels:
        mail = MailServer()
        try:
            return cls(mail, SmsGateway())
        except BaseException:
            mail.stop()
            raise

    def settings(self) -> dict[str, Any]:
        return {"smtp_host": LOOPBACK, "smtp_port": self.mail.port, "smtp_from": "notices@estelam.test",
                "sms_gateway_url": self.sms.url}

    def stop(self) -> None:
        self.sms.stop()
        self.mail.stop()

    def __enter__(self) -> Channels:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
