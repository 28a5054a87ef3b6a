"""End to end: the demo cycle through real Airflow with the channels configured on loopback — every debtor
notification of the cycle is received by the SMTP server or the SMS gateway simulator (or written to the outbox
for a debtor with no contact), exactly once per channel, in the debtor's language, naming the agency and masking
the asset."""

from __future__ import annotations

from collections import Counter

import pytest

from estelam.contracts.registry import load_agency_registry
from estelam.core.domain import PersonKind
from estelam.freeze import notifications
from estelam.ingest.landing import read_landed
from estelam.outputs import notify
from simulators.demo import DemoResult
from simulators.world import Person, contact_of, creditor_contact_of
from tests.settings_support import override

pytestmark = pytest.mark.e2e


def test_every_notification_of_the_demo_cycle_reaches_its_channels_once(demo_cycle: DemoResult,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=demo_cycle.data_dir)  # type: ignore[attr-defined]
    notices = {str(n["notification_id"]): n for n in read_landed(notifications.FEED)}
    assert notices, "the cycle froze nothing: the test would prove nothing"
    registry = load_agency_registry()
    mails = Counter(str(m["X-Idempotency-Key"]).strip() for m in demo_cycle.mails)
    texts = Counter(s["key"] for s in demo_cycle.texts)
    expected_mail, expected_sms, expected_outbox = set(), set(), set()
    for notification_id, notice in notices.items():
        if notice.get("recipient") == "creditor":  # a payout told to the creditor, by the creditor's contact
            creditor = creditor_contact_of(str(notice["case_id"]))
            contact = {"debtor_email": creditor.get("creditor_email"), "debtor_mobile": creditor.get("creditor_mobile"),
                       "debtor_language": creditor.get("creditor_language")}
        else:
            contact = dict(contact_of(Person(str(notice["person_id"]), PersonKind.NATURAL, "")))  # the registration
        language = contact.get("debtor_language") or "fa"
        name = registry.instance(str(notice["agency_id"])).display_name(str(language))
        masked = f"****{str(notice['asset_ref'])[-4:]}"
        if contact.get("debtor_email"):
            expected_mail.add(f"{notification_id}.email")
            [message] = [m for m in demo_cycle.mails
                         if str(m["X-Idempotency-Key"]).strip() == f"{notification_id}.email"]
            body = message.get_content()
            assert name in body and masked in body and str(notice["asset_ref"]) not in body, body
        if contact.get("debtor_mobile"):
            expected_sms.add(f"{notification_id}.sms")
            [sms] = [s for s in demo_cycle.texts if s["key"] == f"{notification_id}.sms"]
            assert sms["to"] == contact["debtor_mobile"]
            assert name in sms["text"] and masked in sms["text"] and str(notice["asset_ref"]) not in sms["text"]
        if not (contact.get("debtor_email") or contact.get("debtor_mobile")):
            expected_outbox.add(f"{notification_id}.outbox")
    assert set(mails) == expected_mail and set(mails.values()) <= {1}
    assert set(texts) == expected_sms and set(texts.values()) <= {1}
    final = {str(r["idempotency_key"]): r["state"] for r in read_landed(notify.FEED) if r["state"] != "queued"}
    assert {k for k, s in final.items() if s == "delivered"} == expected_mail | expected_sms
    assert {k for k, s in final.items() if s == "sent"} == expected_outbox
    # every payout of the cycle was told to its creditor too, in the creditor's words
    payouts = {n for n, notice in notices.items()
               if notice["action"] == "payout" and notice.get("recipient") != "creditor"}
    assert payouts, "the cycle paid no creditor: the test would prove nothing"
    assert {f"{n}.creditor" for n in payouts} == {n for n, notice in notices.items()
                                                  if notice.get("recipient") == "creditor"}
    told = [m.get_content() for m in demo_cycle.mails
            if str(m["X-Idempotency-Key"]).strip().endswith(".creditor.email")]
    told += [s["text"] for s in demo_cycle.texts if s["key"].endswith(".creditor.sms")]
    assert told and all("شما پرداخت شد" in text for text in told), told
