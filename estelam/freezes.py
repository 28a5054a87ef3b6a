"""Freeze reconciliation: send agencies only the difference between the plan and what they hold.

- The desired state is the ``freeze_plan`` mart (what should be frozen per case and asset).
- The actual state is derived from the immutable acknowledgement log (the latest
  ``frozen_total_rial`` an agency reported per case and asset); no mutable outbox.
- Orders carry an idempotency key derived from (case, agency, asset, kind, amount,
  version), where version counts the acknowledgements already received for that
  case and asset; resending an unacknowledged order therefore reuses its key and
  agencies apply it at most once.
- Every order ends recorded: delivered with its acknowledgement, or failed with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from connectors import AgencyClient, client_for
from estelam import settings
from estelam.contracts import load_agency_registry
from estelam.domain import Acknowledgement, FreezeOrder, OrderKind
from estelam.exceptions import AgencyError
from estelam.ids import stable_id
from estelam.landing import validate_and_land

ORDERS_FEED = "freeze_orders"
ACKS_FEED = "freeze_acknowledgements"

Key = tuple[str, str, str]  # (case_id, agency_id, asset_ref)


@dataclass(frozen=True)
class HeldFreeze:
    frozen_rial: int
    acknowledgements: int


@dataclass(frozen=True)
class CycleSummary:
    cycle_id: str
    orders: int
    freezes: int
    releases: int
    delivered: int
    failed: int
    acknowledged_rial: int

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def load_plan() -> dict[Key, int]:
    """The desired frozen amount per (case, agency, asset), from the warehouse's ``freeze_plan``."""
    from estelam.warehouse import connect_read_only

    with connect_read_only() as con:
        rows = con.execute(
            "select case_id, agency_id, asset_ref, planned_freeze_rial from freeze_plan"
        ).fetchall()
    return {(c, a, r): int(v) for c, a, r, v in rows}


def _landed(feed: str) -> str | None:
    folder = settings.landing_dir() / feed
    return str(folder / "*" / "*.parquet") if any(folder.glob("*/*.parquet")) else None


def load_held() -> dict[Key, HeldFreeze]:
    """What agencies say they hold, from the landed acknowledgements (latest per case and asset)."""
    pattern = _landed(ACKS_FEED)
    if pattern is None:
        return {}
    with duckdb.connect() as con:
        rows = con.execute(
            """
            select case_id, agency_id, asset_ref,
                   arg_max(frozen_total_rial, (acknowledged_at, order_id)) as frozen_rial,
                   count(*) as acknowledgements
            from read_parquet(?)
            group by all
            """,
            [pattern],
        ).fetchall()
    return {(c, a, r): HeldFreeze(int(f), int(n)) for c, a, r, f, n in rows}


def plan_orders(plan: dict[Key, int], held: dict[Key, HeldFreeze], *, cycle_id: str,
                issued_at: datetime) -> list[FreezeOrder]:
    """The orders that take the agencies from ``held`` to ``plan``: freezes, top-ups and releases."""
    orders = []
    for key in sorted(plan.keys() | held.keys()):
        case_id, agency_id, asset_ref = key
        state = held.get(key, HeldFreeze(0, 0))
        gap = plan.get(key, 0) - state.frozen_rial
        if gap == 0:
            continue
        kind = OrderKind.FREEZE if gap > 0 else OrderKind.RELEASE
        order_id = stable_id(case_id, agency_id, asset_ref, kind, abs(gap), state.acknowledgements)
        orders.append(FreezeOrder(order_id, kind, case_id, agency_id, asset_ref, abs(gap), issued_at))
    return orders


def push_orders(orders: Iterable[FreezeOrder], clients: dict[str, AgencyClient]
                ) -> tuple[list[dict[str, object]], list[Acknowledgement]]:
    """Send each order through its agency's connector; returns the order log and the acknowledgements."""
    log: list[dict[str, object]] = []
    acks: list[Acknowledgement] = []
    for order in orders:
        client = clients[order.agency_id]
        entry: dict[str, object] = {
            "order_id": order.order_id, "kind": str(order.kind), "case_id": order.case_id,
            "agency_id": order.agency_id, "asset_ref": order.asset_ref, "amount_rial": order.amount_rial,
            "issued_at": order.issued_at, "delivery": "delivered", "reason": None,
        }
        try:
            ack = client.freeze(order) if order.kind is OrderKind.FREEZE else client.release(order)
        except AgencyError as exc:
            entry |= {"delivery": "failed", "reason": str(exc)}
        else:
            acks.append(ack)
        log.append(entry)
    return log, acks


def acknowledgement_record(ack: Acknowledgement) -> dict[str, object]:
    return {
        "order_id": ack.order_id, "agency_id": ack.agency_id, "case_id": ack.case_id,
        "asset_ref": ack.asset_ref, "status": str(ack.status),
        "acknowledged_amount_rial": ack.acknowledged_amount_rial, "frozen_total_rial": ack.frozen_total_rial,
        "acknowledged_at": ack.acknowledged_at, "reason": ack.reason or None,
    }


def run_cycle(cycle_id: str, *, today: date | None = None) -> CycleSummary:
    """One reconciliation cycle: plan, diff, push, land orders and acknowledgements."""
    issued_at = datetime.now(UTC)
    orders = plan_orders(load_plan(), load_held(), cycle_id=cycle_id, issued_at=issued_at)
    registry = load_agency_registry()
    clients = {agency_id: client_for(registry.instance(agency_id)) for agency_id in {o.agency_id for o in orders}}
    try:
        log, acks = push_orders(orders, clients)
    finally:
        for client in clients.values():
            client.close()
    partition = today or issued_at.date()
    for entry in log:
        entry["cycle_id"] = cycle_id
    validate_and_land(ORDERS_FEED, log, batch_id=cycle_id, partition=partition)
    validate_and_land(ACKS_FEED, [acknowledgement_record(a) for a in acks], batch_id=cycle_id, partition=partition)
    return CycleSummary(
        cycle_id=cycle_id,
        orders=len(orders),
        freezes=sum(o.kind is OrderKind.FREEZE for o in orders),
        releases=sum(o.kind is OrderKind.RELEASE for o in orders),
        delivered=sum(e["delivery"] == "delivered" for e in log),
        failed=sum(e["delivery"] == "failed" for e in log),
        acknowledged_rial=sum(a.acknowledged_amount_rial for a in acks),
    )


def landed_files(feed: str) -> list[Path]:
    return sorted((settings.landing_dir() / feed).glob("*/*.parquet"))
