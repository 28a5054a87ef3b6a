"""Tell the debtor: every acknowledged freeze, release and transfer becomes a notification.

What was done, where (agency and asset), how much, why and under which case. Notifications are
landed as the ``debtor_notifications`` feed (validated like any other) and delivered over e-mail and SMS in the
debtor's language, each delivery a landed state (``estelam.outputs.notify``; the file outbox when no channel is
configured).
Confidential cases are flagged: the serving layer decides who may read their notifications.

A notification is **owed until delivered**, derived from state rather than left to one step's side
effect: :func:`owed` finds every acknowledgement that moved money and has no landed notification
(a crash after the acknowledgements landed, an acknowledgement posted to the API), and
:func:`undelivered` every landed notification with no final delivery state; each reconciliation
cycle settles both first, so a rerun produces exactly the missing ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from estelam.core.domain import Acknowledgement, AckStatus, OrderKind
from estelam.ingest.landing import read_landed
from estelam.outputs import notify, texts

FEED = "debtor_notifications"
#: Who a notice is for: the debtor (every order that moved money) or the creditor (a payout to them).
DEBTOR, CREDITOR = notify.DEBTOR, notify.CREDITOR

@dataclass(frozen=True)
class OrderContext:
    """What the hub knew when it issued the order, beyond what the agency acknowledges."""

    kind: OrderKind
    person_id: str
    asset_kind: str
    reason_code: str
    confidential: bool


def message(ack: Acknowledgement, context: OrderContext) -> str:
    """The sentence the debtor reads (Persian): what, how much, where (the agency's name, the asset masked to its
    last 4 characters), why, which case. Delivery renders it again in the debtor's language (``estelam.outputs``)."""
    return texts.sentence({"action": str(context.kind), "amount_rial": ack.acknowledged_amount_rial,
                           "asset_kind": context.asset_kind, "asset_ref": ack.asset_ref, "agency_id": ack.agency_id,
                           "reason_code": context.reason_code, "case_id": ack.case_id})


def notification_records(acks: Iterable[Acknowledgement], contexts: Mapping[str, OrderContext]
                         ) -> list[dict[str, object]]:
    """One ``debtor_notifications`` row per acknowledgement that moved money (amount > 0)."""
    rows = []
    for ack in acks:
        context = contexts[ack.order_id]
        if ack.acknowledged_amount_rial <= 0:
            continue  # a refusal changed nothing the debtor has
        row: dict[str, object] = {
            "notification_id": ack.order_id,
            "case_id": ack.case_id,
            "person_id": context.person_id,
            "action": str(context.kind),
            "agency_id": ack.agency_id,
            "asset_kind": context.asset_kind,
            "asset_ref": ack.asset_ref,
            "amount_rial": ack.acknowledged_amount_rial,
            "frozen_total_rial": ack.frozen_total_rial,
            "reason_code": context.reason_code,
            "message": message(ack, context),
            "occurred_at": ack.acknowledged_at,
            "confidential": context.confidential,
            "recipient": DEBTOR,
        }
        rows.append(row)
        if context.kind is OrderKind.PAYOUT:  # the creditor is told too: the money reached their account
            creditor = row | {"notification_id": f"{ack.order_id}.{CREDITOR}", "recipient": CREDITOR}
            rows.append(creditor | {"message": texts.sentence(creditor)})
    return rows


def owed(attempts: Iterable[Mapping[str, object]], acks: Iterable[Mapping[str, object]],
         notified: set[str]) -> list[dict[str, object]]:
    """The notifications owed: one per landed acknowledgement that moved money and has none landed yet.

    ``attempts`` are ``freeze_orders`` rows (what the hub knew of each order), ``acks`` are
    ``freeze_acknowledgements`` rows, ``notified`` the notification ids already landed.
    """
    contexts: dict[str, OrderContext] = {}
    for row in attempts:
        contexts[str(row["order_id"])] = OrderContext(OrderKind(str(row["kind"])), str(row["person_id"]),
                                                      str(row["asset_kind"]), str(row["reason_code"]),
                                                      bool(row["confidential"]))
    pending = [
        Acknowledgement(order_id=str(a["order_id"]), agency_id=str(a["agency_id"]), case_id=str(a["case_id"]),
                        asset_ref=str(a["asset_ref"]), status=AckStatus(str(a["status"])),
                        acknowledged_amount_rial=int(str(a["acknowledged_amount_rial"])),
                        frozen_total_rial=int(str(a["frozen_total_rial"])),
                        acknowledged_at=a["acknowledged_at"],  # type: ignore[arg-type]  # a landed timestamp
                        reason=str(a.get("reason") or ""))
        for a in acks if str(a["order_id"]) not in notified and str(a["order_id"]) in contexts
    ]
    unique = {a.order_id: a for a in pending}  # an order's acknowledgement is landed once; never notify twice
    return notification_records(unique.values(), contexts)


def undelivered(landed: Iterable[Mapping[str, object]]) -> list[dict[str, object]]:
    """Landed notifications still owed a delivery (never sent, or left queued by a crash or a channel down)."""
    rows = [{k: v for k, v in row.items() if not k.startswith("_") and k != "dt"} for row in landed]
    return [dict(n) for n in notify.undelivered(rows)]


def deliver(rows: list[dict[str, object]], *, batch_id: str, partition: date) -> notify.DeliveryReport:
    """Deliver the notifications of one batch over their channels (``estelam.outputs.notify``): each
    notification and channel once, its states landed in ``notification_deliveries``."""
    return notify.deliver(rows, partition=partition, run_prefix=batch_id)


def delivered(person_id: str | None = None) -> list[dict[str, object]]:
    """Every notification handed to a channel so far (optionally to one debtor): one row per notification and
    channel that reached ``sent`` or ``delivered``, the notification's columns with ``channel`` and ``state``."""
    notices = {str(n["notification_id"]): n for n in read_landed(FEED)}
    rows: list[dict[str, object]] = []
    for d in read_landed(notify.FEED):
        notice = notices.get(str(d["notification_id"]))
        if d["state"] not in ("sent", "delivered") or notice is None:
            continue
        if person_id is None or (notice["person_id"] == person_id and notice.get("recipient") != CREDITOR):
            rows.append({k: v for k, v in notice.items() if not k.startswith("_") and k != "dt"}
                        | {"channel": d["channel"], "state": d["state"]})
    return rows
