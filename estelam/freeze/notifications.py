"""Tell the debtor: every acknowledged freeze, release and transfer becomes a notification.

What was done, where (agency and asset), how much, why and under which case. Notifications are
landed as the ``debtor_notifications`` feed (validated like any other) and delivered, for now, as
one readable JSON-lines file per reconciliation batch under ``<data>/notifications/dt=…/``.
Confidential cases are flagged: the serving layer decides who may read their notifications.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from estelam.core import settings
from estelam.core.domain import Acknowledgement, OrderKind

FEED = "debtor_notifications"
DELIVERY_SUBDIR = "notifications"

#: What the debtor reads, per kind of order (Persian: the debtor's language).
ACTION_TEXT = {
    OrderKind.FREEZE: "توقیف",
    OrderKind.RELEASE: "رفع توقیف",
    OrderKind.TRANSFER: "انتقال به حساب دادگستری",
}
#: Why, per reason code of the order.
REASON_TEXT = {
    "new_freeze": "بدهی پرداخت‌نشده‌ی پرونده",
    "top_up": "تکمیل توقیف تا میزان بدهی",
    "excess": "مازاد بر بدهی",
    "case_paid": "پرداخت کامل بدهی",
    "case_closed": "مختومه شدن پرونده",
    "collection": "دستور وصول قاضی اجرا",
}


@dataclass(frozen=True)
class OrderContext:
    """What the hub knew when it issued the order, beyond what the agency acknowledges."""

    kind: OrderKind
    person_id: str
    asset_kind: str
    reason_code: str
    confidential: bool


def message(ack: Acknowledgement, context: OrderContext) -> str:
    """The sentence the debtor reads: what, how much, where, why, which case."""
    return (f"{ACTION_TEXT[context.kind]} {ack.acknowledged_amount_rial:,} ریال از {ack.asset_ref} نزد "
            f"{ack.agency_id}، به سبب {REASON_TEXT.get(context.reason_code, context.reason_code)}، "
            f"پرونده‌ی اجرایی {ack.case_id}")


def notification_records(acks: Iterable[Acknowledgement], contexts: Mapping[str, OrderContext]
                         ) -> list[dict[str, object]]:
    """One ``debtor_notifications`` row per acknowledgement that moved money (amount > 0)."""
    rows = []
    for ack in acks:
        context = contexts[ack.order_id]
        if ack.acknowledged_amount_rial <= 0:
            continue  # a refusal changed nothing the debtor has
        rows.append({
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
        })
    return rows


def delivery_path(batch_id: str, partition: date) -> Path:
    return settings.data_dir() / DELIVERY_SUBDIR / f"dt={partition.isoformat()}" / f"{batch_id}.jsonl"


def deliver(rows: list[dict[str, object]], *, batch_id: str, partition: date) -> Path | None:
    """Write the notifications of one batch as readable JSON lines (atomically; a rerun replaces the file)."""
    if not rows:
        return None
    path = delivery_path(batch_id, partition)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    os.replace(tmp, path)
    return path


def delivered(person_id: str | None = None) -> list[dict[str, object]]:
    """Every notification delivered so far (optionally to one debtor), oldest file first."""
    folder = settings.data_dir() / DELIVERY_SUBDIR
    rows: list[dict[str, object]] = []
    for path in sorted(folder.glob("dt=*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if person_id is None or row["person_id"] == person_id:
                rows.append(row)
    return rows
