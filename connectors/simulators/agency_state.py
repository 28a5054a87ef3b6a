"""What one simulated agency knows and holds: its assets, its freezes, the orders it applied.

Freeze semantics, as a real bank or registry applies them:
- an order id is applied at most once; a repeat returns the first acknowledgement;
- a freeze blocks up to the amount asked, limited by what is still unblocked on the asset
  (``partial`` when less, ``refused`` when nothing is left);
- protected (salary, pension) accounts are refused;
- a release lifts up to the amount asked of what this case holds on the asset.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime

from estelam.domain import (
    PROTECTED_ACCOUNT_KINDS,
    Acknowledgement,
    AckStatus,
    AgencyInstance,
    BankAccount,
    FreezeOrder,
    OrderKind,
    Property,
    SecurityHolding,
    Vehicle,
)

AgencyAsset = BankAccount | SecurityHolding | Vehicle | Property


def asset_ref(asset: AgencyAsset) -> str:
    if isinstance(asset, BankAccount):
        return asset.iban
    if isinstance(asset, Vehicle):
        return asset.plate
    return asset.asset_ref


def asset_owner(asset: AgencyAsset) -> str:
    return asset.holder_id if isinstance(asset, BankAccount | SecurityHolding) else asset.owner_id


def asset_value(asset: AgencyAsset) -> int:
    return asset.balance_rial if isinstance(asset, BankAccount) else asset.value_rial


class AgencyState:
    """Thread-safe state of one agency instance."""

    def __init__(self, instance: AgencyInstance, assets: list[AgencyAsset]) -> None:
        self.instance = instance
        self._assets = {asset_ref(a): a for a in assets}
        self._by_owner: dict[str, list[AgencyAsset]] = defaultdict(list)
        for a in assets:
            self._by_owner[asset_owner(a)].append(a)
        self._frozen: dict[tuple[str, str], int] = defaultdict(int)  # (case_id, asset_ref) -> rials
        self._applied: dict[str, Acknowledgement] = {}
        self._lock = threading.Lock()

    def assets_of(self, person_id: str) -> list[AgencyAsset]:
        return list(self._by_owner.get(person_id, []))

    def held_freezes(self) -> dict[tuple[str, str], int]:
        """What this agency actually holds frozen, by (case_id, asset_ref); zero entries left out."""
        with self._lock:
            return {k: v for k, v in self._frozen.items() if v > 0}

    def applied_orders(self) -> int:
        with self._lock:
            return len(self._applied)

    def apply(self, order: FreezeOrder, now: datetime | None = None) -> Acknowledgement:
        now = now or datetime.now(UTC)
        with self._lock:
            if order.order_id in self._applied:
                return self._applied[order.order_id]
            ack = self._apply(order, now)
            self._applied[order.order_id] = ack
            return ack

    def _apply(self, order: FreezeOrder, now: datetime) -> Acknowledgement:
        key = (order.case_id, order.asset_ref)

        def ack(status: AckStatus, amount: int, reason: str = "") -> Acknowledgement:
            return Acknowledgement(order.order_id, self.instance.agency_id, order.case_id, order.asset_ref,
                                   status, amount, self._frozen.get(key, 0), now, reason)

        asset = self._assets.get(order.asset_ref)
        if asset is None:
            return ack(AckStatus.UNKNOWN_ASSET, 0, "no such asset at this agency")
        if order.kind is OrderKind.RELEASE:
            released = min(order.amount_rial, self._frozen.get(key, 0))
            self._frozen[key] -= released
            return ack(AckStatus.DONE, released)
        if isinstance(asset, BankAccount) and asset.account_kind in PROTECTED_ACCOUNT_KINDS:
            return ack(AckStatus.REFUSED, 0, f"{asset.account_kind} account is protected by law")
        blocked_elsewhere = sum(v for (_, ref), v in self._frozen.items() if ref == order.asset_ref)
        available = max(asset_value(asset) - blocked_elsewhere, 0)
        blocked = min(order.amount_rial, available)
        if blocked == 0:
            return ack(AckStatus.REFUSED, 0, "nothing left to block on this asset")
        self._frozen[key] += blocked
        if blocked < order.amount_rial:
            return ack(AckStatus.PARTIAL, blocked, f"only {blocked} rials available")
        return ack(AckStatus.DONE, blocked)
