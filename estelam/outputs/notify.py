"""Debtor notifications delivered over real channels, each delivery a landed state.

For every ``debtor_notifications`` row, the channels it goes by: e-mail when a mail server is configured and the
court registered the debtor's address, SMS when a gateway is configured and the court registered a mobile
number (``case_events``: ``debtor_email``, ``debtor_mobile``, ``debtor_language`` of the filing). With neither
channel configured (the embedded default) or no contact for any configured channel, the notification goes to
the outbox: one JSON-lines file per run under ``<data>/notifications/`` for the paper service.

Each notification and channel has an idempotency key (``<notification_id>.<channel>``). Its states land in
``notification_deliveries``: ``queued`` before the first send, then ``delivered`` (the SMS gateway reported it
delivered; the mail server accepted it), ``sent`` (accepted, not yet reported, or written to the outbox) or
``failed`` with the last error after bounded attempts with backoff. A key with a final state is never sent
again; a key left ``queued`` (a crash, a channel down) is sent again by the next run with the same key: the SMS
gateway sends a key once, and an e-mail keeps its deterministic Message-ID.

Every attempt over SMTP or the SMS gateway is kept in the message log (``estelam.access.message_log``) under the
purpose :func:`purpose` naming the case, with the case and the debtor: the record of every exchange.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from connectors import message_hook
from connectors.sms_gateway import SmsStatus
from estelam.access.message_log import MessageLog
from estelam.core import clock, settings
from estelam.core.exceptions import DeliveryError
from estelam.core.settings import Settings
from estelam.ingest.landing import AuditedLanding, read_landed
from estelam.outputs import channels, texts

logger = logging.getLogger(__name__)

FEED = "notification_deliveries"
OUTBOX_SUBDIR = "notifications"
FINAL_STATES = frozenset({"sent", "delivered", "failed"})
#: Final states are landed this many at a time: what a crash can leave to send again (same key) is at most this.
LANDING_CHUNK = 25


@dataclass(frozen=True)
class Contact:
    email: str | None
    mobile: str | None
    language: str


#: Who a notice is for (``debtor_notifications.recipient``; empty means the debtor).
DEBTOR, CREDITOR = "debtor", "creditor"


def purpose(case_id: object, recipient: object = DEBTOR) -> str:
    """The declared purpose the message log keeps with a notice's e-mail or SMS."""
    return f"notice to the {CREDITOR if recipient == CREDITOR else DEBTOR} of case {case_id}"


def addressee(notice: Mapping[str, object]) -> str:
    """The key a notice's contact is found under: the debtor's id, or ``creditor:<case>`` for the case's creditor."""
    if notice.get("recipient") == CREDITOR:
        return f"{CREDITOR}:{notice['case_id']}"
    return str(notice["person_id"])


def delivery_key(notification_id: str, channel: str) -> str:
    return f"{notification_id}.{channel}"


def contacts(person_ids: Iterable[str] | None = None) -> dict[str, Contact]:
    """Each debtor's contact as the court registered it at the latest filing that gave one, and each case's
    creditor's under ``creditor:<case>`` (see :func:`addressee`)."""
    wanted = None if person_ids is None else set(person_ids)
    found: dict[str, tuple[datetime, Contact]] = {}
    for event in read_landed("case_events"):
        for key, prefix in ((str(event["debtor_id"]), "debtor"), (f"{CREDITOR}:{event['case_id']}", CREDITOR)):
            if wanted is not None and key not in wanted:
                continue
            email, mobile = event.get(f"{prefix}_email"), event.get(f"{prefix}_mobile")
            language = event.get(f"{prefix}_language")
            if not (email or mobile or language):
                continue
            at = event["occurred_at"]
            if key not in found or found[key][0] <= at:
                found[key] = (at, Contact(str(email) if email else None, str(mobile) if mobile else None,
                                          texts.language_of(language)))
    return {key: contact for key, (_, contact) in found.items()}


def channels_for(contact: Contact | None, config: Settings) -> list[str]:
    """The channels one debtor's notifications go by."""
    chosen = []
    if contact and contact.email and config.smtp_host:
        chosen.append("email")
    if contact and contact.mobile and config.sms_gateway_url:
        chosen.append("sms")
    return chosen or ["outbox"]


def recipient(channel: str, contact: Contact | None) -> str:
    if channel == "email" and contact and contact.email:
        return contact.email
    if channel == "sms" and contact and contact.mobile:
        return contact.mobile
    return ""


def masked(channel: str, address: str) -> str:
    if channel == "email":
        return texts.mask_email(address)
    if channel == "sms":
        return texts.mask(address)
    return "outbox"


@dataclass
class DeliveryReport:
    """What one run did: final states reached, by state; keys left queued (to be sent by the next run)."""

    states: dict[str, int] = field(default_factory=dict)
    left_queued: int = 0
    skipped: int = 0  # keys already final: nothing sent


def _row(notice: Mapping[str, object], channel: str, contact: Contact | None, state: str, attempt: int,
         reason: str | None, provider_id: str | None) -> dict[str, object]:
    notification_id = str(notice["notification_id"])
    return {"notification_id": notification_id, "channel": channel,
            "recipient_masked": masked(channel, recipient(channel, contact)),
            "language": contact.language if contact else texts.DEFAULT_LANGUAGE, "state": state,
            "attempt": attempt, "reason": reason, "provider_message_id": provider_id, "state_at": clock.now(),
            "idempotency_key": delivery_key(notification_id, channel)}


def _outbox(rows: list[tuple[Mapping[str, object], Contact | None]], run_id: str, partition: date) -> None:
    path = settings.data_dir() / OUTBOX_SUBDIR / f"dt={partition.isoformat()}" / f"{run_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for notice, contact in rows:
            language = contact.language if contact else texts.DEFAULT_LANGUAGE
            out.write(json.dumps({"notification_id": notice["notification_id"], "case_id": notice["case_id"],
                                  "person_id": notice["person_id"], "language": language,
                                  "subject": texts.subject(notice, language),
                                  "text": texts.sentence(notice, language)}, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def outbox_files() -> list[Path]:
    return sorted((settings.data_dir() / OUTBOX_SUBDIR).glob("dt=*/*.jsonl"))


def deliver(notices: Sequence[Mapping[str, object]], *, partition: date, run_prefix: str = "deliveries",
            sleep: Callable[[float], None] = time.sleep) -> DeliveryReport:
    """Deliver every notification in ``notices`` over its channels, once per key, landing each state."""
    report = DeliveryReport()
    if not notices:
        return report
    config = settings.current()
    run_id = f"{run_prefix}-{clock.now():%Y%m%dT%H%M%S%f}"
    landed = read_landed(FEED)
    final = {str(r["idempotency_key"]) for r in landed if r["state"] in FINAL_STATES}
    queued = {str(r["idempotency_key"]) for r in landed if r["state"] == "queued"}
    people = contacts({addressee(n) for n in notices})
    todo: list[tuple[Mapping[str, object], str, Contact | None]] = []
    for notice in notices:
        contact = people.get(addressee(notice))
        for channel in channels_for(contact, config):
            if delivery_key(str(notice["notification_id"]), channel) in final:
                report.skipped += 1
            else:
                todo.append((notice, channel, contact))
    if not todo:
        return report
    landing = AuditedLanding(FEED)  # every state this run lands: the compiled rules per batch, GX once at the end
    newly_queued = [_row(n, ch, c, "queued", 0, None, None) for n, ch, c in todo
                    if delivery_key(str(n["notification_id"]), ch) not in queued]
    if newly_queued:
        landing.land(newly_queued, batch_id=f"{run_id}-queued", partition=partition)

    outbox = [(n, c) for n, ch, c in todo if ch == "outbox"]
    results: list[dict[str, object]] = []
    if outbox:
        _outbox(outbox, run_id, partition)
        results += [_row(n, "outbox", c, "sent", 1, "written to the outbox (no channel)", run_id) for n, c in outbox]
    down: dict[str, str] = {}
    chunk = 0
    recorder = MessageLog()

    def flush(force: bool = False) -> None:
        nonlocal results, chunk
        if results and (force or len(results) >= LANDING_CHUNK):
            landing.land(results, batch_id=f"{run_id}-{chunk:04d}", partition=partition)
            for row in results:
                report.states[str(row["state"])] = report.states.get(str(row["state"]), 0) + 1
            chunk += 1
            results = []

    for notice, channel, contact in todo:
        if channel == "outbox":
            continue
        if channel in down:
            report.left_queued += 1
            continue
        language = contact.language if contact else texts.DEFAULT_LANGUAGE
        key = delivery_key(str(notice["notification_id"]), channel)
        address = recipient(channel, contact)
        text = texts.sentence(notice, language)

        def send(notice: Mapping[str, object] = notice, channel: str = channel, key: str = key,
                 address: str = address, text: str = text, language: str = language) -> object:
            if channel == "email":
                return channels.send_email(config, [address], texts.subject(notice, language), text, key=key)
            return channels.send_sms(config, address, text, key=key)

        with message_hook.exchange(recorder, purpose=purpose(notice["case_id"], notice.get("recipient")),
                                   case_ids=[str(notice["case_id"])],
                                   person_ids=[str(notice["person_id"])]):
            outcome = channels.with_retries(send, attempts=config.delivery_attempts,
                                            backoff_s=config.delivery_backoff_s, sleep=sleep)
        if isinstance(outcome.result, SmsStatus):
            state = {"accepted": "sent", "delivered": "delivered"}.get(outcome.result.status, "failed")
            results.append(_row(notice, channel, contact, state, outcome.attempts,
                                outcome.result.reason, outcome.result.message_id))
        elif outcome.result is not None:
            results.append(_row(notice, channel, contact, "delivered", outcome.attempts,
                                "accepted by the mail server", str(outcome.result)))
        else:
            error = outcome.error or DeliveryError("no outcome")
            results.append(_row(notice, channel, contact, "failed", outcome.attempts, str(error), None))
            if not error.permanent:
                down[channel] = str(error)  # the channel is down: the rest stay queued for the next run
        flush()
    flush(force=True)
    landing.audit()
    for channel, reason in down.items():
        logger.warning("%s channel down (%s): %d notifications left queued for the next run",
                       channel, reason, report.left_queued)
    logger.info("notification deliveries: %s; %d already done, %d left queued",
                report.states, report.skipped, report.left_queued)
    return report


def undelivered(notices: Sequence[Mapping[str, object]]) -> list[Mapping[str, object]]:
    """The landed notifications still owed a delivery: no final state on any channel (landed, never sent: a
    crash), or a key queued and never final (a crash mid-send, a channel that was down)."""
    landed = read_landed(FEED)
    final = {str(r["idempotency_key"]) for r in landed if r["state"] in FINAL_STATES}
    done = {str(r["notification_id"]) for r in landed if r["state"] in FINAL_STATES}
    pending = {str(r["notification_id"]) for r in landed
               if r["state"] == "queued" and str(r["idempotency_key"]) not in final}
    return [n for n in notices if str(n["notification_id"]) not in done or str(n["notification_id"]) in pending]
