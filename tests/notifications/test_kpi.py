"""The e-notification KPI counts what the channels reported (landed delivery states), not files written."""

from __future__ import annotations

from collections import Counter

from estelam.core.settings import Settings
from estelam.ingest.landing import read_landed
from estelam.outputs import notify
from estelam.warehouse import dbt_build as warehouse
from simulators.sms_gateway import SmsGatewaySimulator
from tests.notifications.conftest import Mailbox
from tests.notifications.test_delivery import land_contacts, world


def test_the_delivery_kpi_counts_deliveries_by_channel_and_state(
        hub: Settings, smtp_server: tuple[Mailbox, int], sms_gateway: tuple[SmsGatewaySimulator, str]) -> None:
    mailbox, _ = smtp_server
    gateway, _ = sms_gateway
    land_contacts()
    gateway.fail_always = True  # SMS fails: one failed, the rest queued
    world().cycle("c1")
    warehouse.build(select="+kpi_notification_deliveries")
    with warehouse.connect_read_only() as con:
        kpi = {channel: (deliveries, delivered, sent, failed, queued) for channel, deliveries, delivered, sent,
               failed, queued in con.execute("select channel, sum(deliveries), sum(delivered), sum(sent), "
                                             "sum(failed), sum(queued) from kpi_notification_deliveries "
                                             "group by channel").fetchall()}
    latest: dict[str, str] = {}
    for row in sorted(read_landed(notify.FEED), key=lambda r: (r["state"] != "queued", r["state_at"])):
        latest[str(row["idempotency_key"])] = f"{row['channel']}:{row['state']}"
    expected = Counter(latest.values())
    assert kpi["email"] == (len(mailbox.messages), len(mailbox.messages), 0, 0, 0) and mailbox.messages
    assert kpi["sms"][1:] == (0, 0, expected["sms:failed"], expected["sms:queued"])
    assert expected["sms:failed"] == 1 and expected["sms:queued"] >= 1 and gateway.sent == []
    assert kpi["outbox"][2] == expected["outbox:sent"] >= 1
