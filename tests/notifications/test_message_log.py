"""Every e-mail, SMS gateway call and alert webhook POST is kept in the message log like an agency's message: the
bytes as sent and the answer (or the failure) per attempt, with the purpose, the case and the person, verifiable."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from estelam.access.checkpoints import signer
from estelam.access.message_log import LoggedMessage, MessageLog
from estelam.core.settings import Settings
from estelam.outputs import alerts, notify
from simulators.sms_gateway import SmsGatewaySimulator
from tests.notifications.conftest import LOOPBACK, Mailbox, Webhook, free_port
from tests.notifications.test_delivery import BOTH, EMAIL_ONLY, SMS_ONLY, land_contacts
from tests.settings_support import override

CASES = {EMAIL_ONLY: "1405-000010", SMS_ONLY: "1405-000011", BOTH: "1405-000012"}


def notice(person: str) -> dict[str, object]:
    return {"notification_id": f"n-{CASES[person]}", "case_id": CASES[person], "person_id": person,
            "agency_id": "bank_a", "action": "freeze", "amount_rial": 900, "asset_kind": "bank_account",
            "asset_ref": "IR000000000000000000007702", "reason_code": "new_freeze"}


def by_agency(messages: list[LoggedMessage]) -> dict[str, list[LoggedMessage]]:
    found: dict[str, list[LoggedMessage]] = {}
    for message in messages:
        found.setdefault(message.agency_id, []).append(message)
    return found


def test_notices_by_email_and_sms_are_in_the_message_log(
        hub: Settings, smtp_server: tuple[Mailbox, int], sms_gateway: tuple[SmsGatewaySimulator, str]) -> None:
    mailbox, _ = smtp_server
    land_contacts()
    report = notify.deliver([notice(p) for p in CASES], partition=date(2026, 11, 30))
    assert report.states == {"delivered": 4}, report
    log = MessageLog()
    logged = by_agency(list(log.messages()))
    assert set(logged) == {"smtp", "sms_gateway"}

    mails = logged["smtp"]  # one attempt each: the e-mail out, the server's answer in
    assert Counter((m.operation, m.direction) for m in mails) == {("sendMail", "outbound"): 2,
                                                                  ("sendMail", "inbound"): 2}
    for sent in (m for m in mails if m.direction == "outbound"):
        [person] = sent.person_ids
        assert sent.case_ids == (CASES[person],) and sent.purpose == notify.purpose(CASES[person])
        assert sent.request_id == f"n-{CASES[person]}.email"
        mail = log.body(sent.message_id, "outbound")  # the e-mail as put on the wire: its Message-ID, its text
        assert f"Message-ID: <n-{CASES[person]}.email@estelam.test>".encode() in mail
        assert any(f"n-{CASES[person]}.email".encode() in raw for raw in mailbox.raw)
        answer = log.body(sent.message_id, "inbound")
        assert b'"refused": {}' in answer and b"@mail.example.ir" in answer

    texts = logged["sms_gateway"]  # the send and the status read, each a request and its answer
    assert Counter((m.operation, m.direction) for m in texts) == {
        ("sendMessage", "outbound"): 2, ("sendMessage", "inbound"): 2,
        ("getMessage", "outbound"): 2, ("getMessage", "inbound"): 2}
    for sent in (m for m in texts if m.operation == "sendMessage" and m.direction == "outbound"):
        body = log.body(sent.message_id, "outbound")
        assert body.startswith(b"POST /messages\n")
        assert "مصرف ألفا".encode() in body or b"Bank Alpha" in body  # the text as the debtor reads it
        [person] = sent.person_ids
        assert sent.case_ids == (CASES[person],) and sent.request_id == f"n-{CASES[person]}.sms"
    assert {m.http_status for m in texts if m.direction == "inbound"} == {200, 201}
    assert log.verify(public_key=signer().public_key).ok


def test_a_failing_sms_gateway_leaves_every_attempt_in_the_message_log(
        hub: Settings, sms_gateway: tuple[SmsGatewaySimulator, str]) -> None:
    gateway, _ = sms_gateway
    gateway.fail_always = True
    land_contacts()
    notify.deliver([notice(SMS_ONLY)], partition=date(2026, 11, 30))
    answers = [m for m in MessageLog().messages() if m.agency_id == "sms_gateway" and m.direction == "inbound"]
    assert [m.http_status for m in answers] == [503] * hub.delivery_attempts


def test_alerts_by_email_and_webhook_are_in_the_message_log(
        operators: Settings, smtp_server: tuple[Mailbox, int], webhook: Webhook) -> None:
    alerts.raise_alerts([alerts.Alert("frozen_beyond_debt", "ref:2:1", "critical", "money frozen beyond a debt",
                                      "detail", case_id="1405-000010,1405-000011")])
    log = MessageLog()
    logged = by_agency(list(log.messages()))
    assert set(logged) == {"smtp", "alert_webhook"}
    for messages in logged.values():
        assert {m.purpose for m in messages} == {alerts.PURPOSE}
        assert {m.case_ids for m in messages} == {("1405-000010", "1405-000011")}
    [posted] = [m for m in logged["alert_webhook"] if m.direction == "outbound"]
    assert posted.operation == "postAlert" and posted.request_id == "frozen_beyond_debt:ref:2:1.webhook"
    body = log.body(posted.message_id, "outbound")
    assert body.startswith(b"POST http://") and b'"alert_id": "frozen_beyond_debt:ref:2:1"' in body
    assert [m.http_status for m in logged["alert_webhook"] if m.direction == "inbound"] == [204]

    # a webhook nobody answers: each attempt is kept with why it failed
    with pytest.MonkeyPatch.context() as mp:
        override(mp, alert_webhook_url=f"http://{LOOPBACK}:{free_port()}/hooks")
        alerts.raise_alerts([alerts.Alert("breaker_open", "bank_a:r1", "critical", "breaker", "detail",
                                          agency_id="bank_a")])
    failed = [m for m in MessageLog().messages() if m.agency_id == "alert_webhook" and m.request_id ==
              "breaker_open:bank_a:r1.webhook"]
    assert [m.direction for m in failed] == ["outbound", "inbound"] * operators.delivery_attempts
    assert all(m.error and "ConnectError" in m.error for m in failed if m.direction == "inbound")
