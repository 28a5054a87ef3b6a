"""Tell the debtor: every acknowledged freeze, release and transfer becomes a notification.

What was done, where (agency and asset), how much, why and under which case. Notifications are
landed as the ``debtor_notifications`` feed (validated like any other) and delivered, for now, as
one readable JSON-lines file per reconciliation batch under ``<data>/notifications/dt=…/``.
Confidential cases are flagged: the serving layer decides who may read their notifications.

A notification is **owed until delivered**, derived from state rather than left to one step's side
effect: :func:`owed` finds every acknowledgement that moved money and has no landed notification
(a crash after the acknowledgements landed, an acknowledgement posted to the API), and
:func:`undelivered_batches` every landed notification batch with no delivery; each reconciliation
cycle settles both first, so a rerun produces exactly the missing ones.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from estelam.core import settings
from estelam.core.domain import Acknowledgement, AckStatus, OrderKind

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
    "debt_reduced": "کاهش بدهی پرونده",
    "asset_changed": "تغییر موجودی یا وضعیت دارایی",
    "case_paid": "پرداخت کامل بدهی",
    "case_closed": "مختومه شدن پرونده",
    "collection": "دستور وصول قاضی اجرا",
    "restriction_changed": "دستور قاضی اجرا به تغییر نوع توقیف",
    "judge_release": "دستور رفع توقیف قاضی اجرا",
    "order_cancelled": "لغو دستور به حکم قاضی اجرا",
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


def undelivered_batches(landed: Iterable[Mapping[str, object]]) -> dict[tuple[str, date], list[dict[str, object]]]:
    """Landed notification batches whose delivery file is missing, with their rows (landed, not yet sent)."""
    batches: dict[tuple[str, date], list[dict[str, object]]] = {}
    for row in landed:
        key = (str(row["_batch_id"]), row["dt"])
        batches.setdefault(key, []).append(  # type: ignore[arg-type]  # dt is the landed partition's date
            {k: v for k, v in row.items() if not k.startswith("_") and k != "dt"})
    return {key: rows for key, rows in batches.items() if not delivery_path(*key).is_file()}


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
