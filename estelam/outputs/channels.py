"""The channels a message leaves the hub by: e-mail (SMTP), SMS (the gateway's REST contract), a webhook.

Each send raises :class:`DeliveryError` (``permanent`` when a retry cannot help) and returns what the channel
answered. :func:`with_retries` runs a send with bounded attempts and exponential backoff.

Every attempt is handed to the message log when the caller opened an exchange (``connectors.message_hook``), as
the agency connectors' calls are: the e-mail as put on the wire (agency ``smtp``), the SMS gateway's requests
(``sms_gateway``, by its client), the webhook's POST (``alert_webhook``), each with the answer or the failure.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import TypeVar

import httpx

from connectors import message_hook
from connectors.sms_gateway import IDEMPOTENCY_HEADER, SmsGatewayClient, SmsStatus
from estelam.core import clock
from estelam.core.exceptions import DeliveryError
from estelam.core.settings import Settings

logger = logging.getLogger(__name__)

T = TypeVar("T")
SMTP_TIMEOUT_S = 15.0
WEBHOOK_TIMEOUT_S = 10.0
#: Who the message log says the hub talked to, and what it did.
SMTP_AGENCY, SMTP_OPERATION = "smtp", "sendMail"
WEBHOOK_AGENCY, WEBHOOK_OPERATION = "alert_webhook", "postAlert"


def message_id(key: str, settings: Settings) -> str:
    """The deterministic Message-ID of the e-mail with idempotency key ``key`` (a resend is the same message)."""
    domain = settings.smtp_from.rpartition("@")[2] or "estelam.invalid"
    safe = "".join(c if c.isalnum() or c in "._-" else "." for c in key)
    return f"<{safe}@{domain}>"


def send_email(settings: Settings, to: list[str], subject: str, body: str, *, key: str) -> str:
    """Mail ``body`` to ``to`` through the configured SMTP server; the Message-ID it was sent with."""
    if not settings.smtp_host:
        raise DeliveryError("no mail server configured (ESTELAM_SMTP_HOST)", permanent=True)
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id(key, settings)
    msg["X-Idempotency-Key"] = key
    msg.set_content(body, charset="utf-8")
    sent_at = clock.now()
    with message_hook.call_site(SMTP_AGENCY, SMTP_OPERATION, key):
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password or "")
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            _record_mail(msg, sent_at, error=f"recipients refused: {exc.recipients}")
            raise DeliveryError(f"mail server refused every recipient: {exc.recipients}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            _record_mail(msg, sent_at, error=f"{exc.smtp_code} {exc.smtp_error!r}")
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(f"mail server answered {exc.smtp_code}: {exc.smtp_error!r}",
                                permanent=permanent) from exc
        except (smtplib.SMTPException, OSError) as exc:
            _record_mail(msg, sent_at, error=f"{type(exc).__name__}: {exc}")
            raise DeliveryError(f"mail server unreachable: {type(exc).__name__}: {exc}") from exc
        # the server's answer as the log keeps it: which recipients it accepted and refused
        _record_mail(msg, sent_at, answer={"accepted": sorted(set(to) - set(refused)),
                                           "refused": {k: [v[0], v[1].decode(errors="replace")]
                                                       for k, v in refused.items()}})
    if refused:
        raise DeliveryError(f"mail server refused {sorted(refused)}", permanent=True)
    return str(msg["Message-ID"])


def _record_mail(msg: EmailMessage, sent_at: datetime, *, answer: dict[str, object] | None = None,
                 error: str | None = None) -> None:
    """Hand the e-mail's bytes (as sent over SMTP) and the server's answer or failure to the message log."""
    if not message_hook.recording():
        return
    reply = json.dumps(answer, ensure_ascii=False).encode() if answer is not None else None
    message_hook.record(msg.as_bytes(), reply, sent_at=sent_at, error=error[:500] if error else None)


def send_sms(settings: Settings, to: str, text: str, *, key: str) -> SmsStatus:
    """Hand ``text`` to the SMS gateway under idempotency key ``key``, then read its delivery status once."""
    if not settings.sms_gateway_url:
        raise DeliveryError("no SMS gateway configured (ESTELAM_SMS_GATEWAY_URL)", permanent=True)
    with SmsGatewayClient(settings.sms_gateway_url, token=settings.sms_gateway_token) as client:
        accepted = client.send(to, text, idempotency_key=key)
        if accepted.status != "accepted":
            return accepted
        try:
            return client.status(accepted.message_id)
        except DeliveryError as exc:  # accepted is already an outcome: the status is read again next time
            logger.warning("SMS %s accepted, status unknown: %s", accepted.message_id, exc)
            return accepted


def post_webhook(url: str, payload: dict[str, object], *, key: str) -> int:
    """POST ``payload`` as JSON to ``url`` with the idempotency key in a header; the HTTP status."""
    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    sent = b"POST " + url.encode() + b"\n" + body
    sent_at = clock.now()
    with message_hook.call_site(WEBHOOK_AGENCY, WEBHOOK_OPERATION, key):
        try:
            response = httpx.post(url, content=body,
                                  headers={"Content-Type": "application/json", IDEMPOTENCY_HEADER: key},
                                  timeout=WEBHOOK_TIMEOUT_S)
        except httpx.HTTPError as exc:
            message_hook.record(sent, None, sent_at=sent_at, error=f"{type(exc).__name__}: {exc}"[:500])
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}: {exc}") from exc
        message_hook.record(sent, response.content, sent_at=sent_at, http_status=response.status_code)
    if response.status_code >= 500 or response.status_code == 429:
        raise DeliveryError(f"webhook answered {response.status_code}")
    if response.status_code >= 400:
        raise DeliveryError(f"webhook refused: {response.status_code}", permanent=True)
    return response.status_code


@dataclass(frozen=True)
class Outcome:
    """What bounded attempts of one send came to: the result, or the last error; attempts made."""

    attempts: int
    result: object | None = None
    error: DeliveryError | None = None


def with_retries(send: Callable[[], T], *, attempts: int, backoff_s: float,
                 sleep: Callable[[float], None] = time.sleep) -> Outcome:
    """Run ``send`` up to ``attempts`` times, waiting ``backoff_s``, then twice as long, … between failures;
    a permanent failure stops at once."""
    error: DeliveryError | None = None
    for attempt in range(1, attempts + 1):
        try:
            return Outcome(attempt, result=send())
        except DeliveryError as exc:
            error = exc
            if exc.permanent or attempt == attempts:
                return Outcome(attempt, error=exc)
            sleep(backoff_s * 2 ** (attempt - 1))
    return Outcome(attempts, error=error)
