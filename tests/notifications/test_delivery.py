"""Debtor notifications reach the debtor over real channels on loopback — an SMTP server and the SMS gateway
simulator — exactly once per notification and channel, in the debtor's language, naming the agency and masking the
account; a failing gateway is retried and the delivery ends ``failed`` with a reason; reruns and crashes send
nothing twice."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest

from estelam.core.identifiers import iran_national_code_check_digit
from estelam.core.settings import Settings
from estelam.freeze import notifications
from estelam.freeze.ledger import ACKS_FEED, CaseFacts
from estelam.freeze.reconciliation import LandedLedger
from estelam.ingest.landing import read_landed, validate_and_land
from estelam.outputs import notify
from simulators.sms_gateway import SmsGatewaySimulator
from tests.freeze.freeze_harness import T0, EnforcementWorld, account, holding
from tests.notifications.conftest import Mailbox


def national_code(first_nine: str) -> str:
    return first_nine + str(iran_national_code_check_digit(first_nine))


#: Four debtors: e-mail only (Persian), mobile only (Arabic), both (English), neither (the outbox).
EMAIL_ONLY, SMS_ONLY, BOTH, NONE = (national_code(n) for n in ("001234567", "002345678", "003456789", "004567891"))
CONTACTS: dict[str, dict[str, Any]] = {
    EMAIL_ONLY: {"debtor_email": "reza@mail.example.ir", "debtor_mobile": None, "debtor_language": "fa"},
    SMS_ONLY: {"debtor_email": None, "debtor_mobile": "09121234567", "debtor_language": "ar"},
    BOTH: {"debtor_email": "sara@mail.example.ir", "debtor_mobile": "09357654321", "debtor_language": "en"},
    NONE: {"debtor_email": None, "debtor_mobile": None, "debtor_language": None},
}
IBANS = {EMAIL_ONLY: "IR000000000000000000007702", SMS_ONLY: "IR000000000000000000008813",
         BOTH: "IR000000000000000000009924", NONE: "IR000000000000000000004435"}
NAMES = {"bank_a": {"fa": "بانک آلفا", "ar": "مصرف ألفا", "en": "Bank Alpha"},
         "bank_b": {"fa": "بانک بتا", "ar": "Bank Beta", "en": "Bank Beta"},  # no name_ar: English, not Persian
         "csdi": {"fa": "شرکت سپرده‌گذاری مرکزی اوراق بهادار و تسویه وجوه",
                  "ar": "الشركة المركزية لإيداع الأوراق المالية وتسوية الأموال في إيران",
                  "en": "Central Securities Depository of Iran"}}


def land_contacts() -> None:
    """The court's filings register each debtor's contact (case_events, as the court system sends them)."""
    rows = [{"event_id": f"e{i}", "case_id": f"1405-00000{i}", "event_type": "filed",
             "occurred_at": T0 - timedelta(days=9),
             "court_code": "THR-01", "debtor_id": person, "debtor_kind": "natural", "debtor_name": "بدهکار",
             "creditor_name": "بستانکار", "amount_rial": 1_000, "channel": None, "automated": True} | contact
            for i, (person, contact) in enumerate(CONTACTS.items())]
    validate_and_land("case_events", rows, batch_id="court-contacts", partition=T0.date())


def world() -> EnforcementWorld:
    assets = [account(IBANS[p], p, 900) for p in CONTACTS]
    assets.append(holding(BOTH, "FOOLAD", 10, 50))
    cases = {f"C{i}": CaseFacts(f"C{i}", p, "natural", T0, 1_200, True) for i, p in enumerate(CONTACTS)}
    return EnforcementWorld(assets, cases, dict.fromkeys(CONTACTS, "natural"),
                            ledger=LandedLedger())  # type: ignore[arg-type]  # the landed logs, for real


def moved_orders() -> dict[str, dict[str, object]]:
    """The acknowledged orders that moved money, by order id: each is owed one notification."""
    return {str(a["order_id"]): dict(a) for a in read_landed(ACKS_FEED) if int(a["acknowledged_amount_rial"]) > 0}


def final_states() -> dict[str, dict[str, object]]:
    return {str(r["idempotency_key"]): dict(r) for r in read_landed(notify.FEED) if r["state"] in notify.FINAL_STATES}


def test_every_notification_of_a_reconciliation_reaches_its_channels_once(
        hub: Settings, smtp_server: tuple[Mailbox, int], sms_gateway: tuple[SmsGatewaySimulator, str]) -> None:
    mailbox, _ = smtp_server
    gateway, _ = sms_gateway
    land_contacts()
    w = world()
    w.cycle("c1")
    moved = moved_orders()
    notices = {str(n["notification_id"]): n for n in read_landed(notifications.FEED)}
    assert set(notices) == set(moved) and len(moved) >= 5, "every acknowledgement that moved money is notified"

    mails = Counter(str(m["X-Idempotency-Key"]) for m in mailbox.messages)
    texts = Counter(s["key"] for s in gateway.sent)
    expected_mail = {f"{n}.email" for n, row in notices.items() if CONTACTS[str(row["person_id"])]["debtor_email"]}
    expected_sms = {f"{n}.sms" for n, row in notices.items() if CONTACTS[str(row["person_id"])]["debtor_mobile"]}
    assert set(mails) == expected_mail and set(mails.values()) == {1}
    assert set(texts) == expected_sms and set(texts.values()) == {1}
    states = final_states()
    assert {k for k, r in states.items() if r["state"] == "delivered"} == expected_mail | expected_sms
    outboxed = {f"{n}.outbox" for n, row in notices.items() if str(row["person_id"]) == NONE}
    assert outboxed and {k for k, r in states.items() if r["channel"] == "outbox"} == outboxed

    for message in mailbox.messages:  # the debtor's language, the agency's name, the account masked
        notice = notices[str(message["X-Idempotency-Key"]).rsplit(".", 1)[0]]
        language = CONTACTS[str(notice["person_id"])]["debtor_language"]
        body = message.get_content()
        assert NAMES[str(notice["agency_id"])][language] in body
        assert f"****{str(notice['asset_ref'])[-4:]}" in body and str(notice["asset_ref"]) not in body
        assert message["Message-ID"] == f"<{message['X-Idempotency-Key']}@estelam.test>"
        to = CONTACTS[str(notice["person_id"])]["debtor_email"]
        assert mailbox.recipients[mailbox.messages.index(message)] == [to]
    for sms in gateway.sent:
        notice = notices[sms["key"].rsplit(".", 1)[0]]
        contact = CONTACTS[str(notice["person_id"])]
        assert sms["to"] == contact["debtor_mobile"]
        assert NAMES[str(notice["agency_id"])][contact["debtor_language"]] in sms["text"]
        assert f"****{str(notice['asset_ref'])[-4:]}" in sms["text"] and str(notice["asset_ref"]) not in sms["text"]
    english = [s["text"] for s in gateway.sent if CONTACTS[BOTH]["debtor_mobile"] == s["to"]]
    assert english and all("enforcement case" in t for t in english)

    # No raw IBAN, e-mail address or mobile number anywhere in the delivery records or the landed texts.
    raw = [*IBANS.values(), *(c[k] for c in CONTACTS.values() for k in ("debtor_email", "debtor_mobile") if c[k])]
    for record in [*read_landed(notify.FEED), *({"message": n["message"]} for n in notices.values())]:
        assert not any(secret in str(value) for value in record.values() for secret in raw), record


def test_a_failing_sms_gateway_is_retried_then_failed_with_a_reason_and_the_rest_wait(
        hub: Settings, sms_gateway: tuple[SmsGatewaySimulator, str]) -> None:
    gateway, _ = sms_gateway
    land_contacts()
    gateway.fail_always = True
    w = world()
    w.cycle("c1")
    deliveries = read_landed(notify.FEED)
    failed = [r for r in deliveries if r["channel"] == "sms" and r["state"] == "failed"]
    assert len(failed) == 1, "the first SMS exhausts its attempts; the channel is then down for the run"
    assert failed[0]["attempt"] == hub.delivery_attempts and "503" in str(failed[0]["reason"])
    assert gateway.posts == hub.delivery_attempts and gateway.sent == []
    sms_keys = {str(r["idempotency_key"]) for r in deliveries if r["channel"] == "sms"}
    waiting = sms_keys - {str(failed[0]["idempotency_key"])}
    assert waiting and all(r["state"] == "queued" for r in deliveries if r["idempotency_key"] in waiting)

    gateway.fail_always, gateway.fail_next = False, 1  # back, with one more hiccup: a retry gets through
    w.clock.advance()
    w.cycle("c2")  # settles what is owed first
    states = final_states()
    assert {k for k in sms_keys if states[k]["state"] == "delivered"} == waiting
    assert states[str(failed[0]["idempotency_key"])]["state"] == "failed", "a failed delivery is final"
    assert Counter(s["key"] for s in gateway.sent) == Counter(waiting)
    assert max(int(str(states[k]["attempt"])) for k in waiting) == 2  # the hiccup, retried


def test_a_rerun_sends_nothing_twice(hub: Settings, smtp_server: tuple[Mailbox, int],
                                     sms_gateway: tuple[SmsGatewaySimulator, str]) -> None:
    mailbox, _ = smtp_server
    gateway, _ = sms_gateway
    land_contacts()
    w = world()
    w.cycle("c1")
    mails, texts = len(mailbox.messages), len(gateway.sent)
    assert mails and texts
    w.cycle("c1")  # the same cycle again
    w.clock.advance()
    w.cycle("c2")
    notify.deliver(read_landed(notifications.FEED), partition=date(2026, 11, 2))  # and every notification again
    assert (len(mailbox.messages), len(gateway.sent)) == (mails, texts)
    assert Counter(str(r["idempotency_key"]) for r in read_landed(notify.FEED)
                   if r["state"] in notify.FINAL_STATES).most_common(1)[0][1] == 1


class Crash(Exception):
    """The process died here."""


def test_a_crash_between_sending_and_landing_the_outcome_does_not_send_twice(
        hub: Settings, smtp_server: tuple[Mailbox, int], sms_gateway: tuple[SmsGatewaySimulator, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    mailbox, _ = smtp_server
    gateway, _ = sms_gateway
    land_contacts()
    land = notify.AuditedLanding.land

    def landing(self: notify.AuditedLanding, records: Any, *, batch_id: str, **kwargs: Any) -> Any:
        if self.contract.feed == notify.FEED and not batch_id.endswith("-queued"):
            raise Crash("after the sends, before their outcome landed")
        return land(self, records, batch_id=batch_id, **kwargs)

    w = world()
    with monkeypatch.context() as crashing:
        crashing.setattr(notify.AuditedLanding, "land", landing)
        with pytest.raises(Crash):
            w.cycle("c1")
    sent_before = len(gateway.sent)
    assert sent_before and not final_states(), "the SMS went out; nothing but 'queued' landed"
    w.cycle("c1")  # the rerun sends what is queued again, under the same keys
    assert Counter(s["key"] for s in gateway.sent) == Counter({k: 1 for k in {s["key"] for s in gateway.sent}})
    assert len(gateway.sent) >= sent_before and gateway.posts > len(gateway.sent), "the gateway deduplicated"
    # An e-mail resent after a crash is the same message (same Message-ID): the mailbox can tell.
    assert len({m["Message-ID"] for m in mailbox.messages}) == len({m["X-Idempotency-Key"] for m in mailbox.messages})
    assert {k for k, r in final_states().items() if r["channel"] != "outbox"} == {
        str(r["idempotency_key"]) for r in read_landed(notify.FEED) if r["channel"] != "outbox"}


def test_a_payout_notice_says_the_money_went_from_the_courts_account_to_the_creditor() -> None:
    from estelam.outputs import texts

    notice = {"action": "payout", "amount_rial": 221_343_300, "asset_kind": "bank_account",
              "asset_ref": "IR800170031195820616318304", "agency_id": "bank_melli", "reason_code": "payout",
              "case_id": "1403-001403"}
    english = texts.sentence(notice, "en")
    assert english == ("221,343,300 rial paid from the court's account at Bank Melli Iran to the creditor's "
                       "account ****8304, enforcement case 1403-001403")
    persian = texts.sentence(notice, "fa")
    assert "از حساب دادگستری نزد بانک ملی ایران" in persian and "****8304" in persian
    assert "IR80017" not in persian + english  # the creditor's account is masked
