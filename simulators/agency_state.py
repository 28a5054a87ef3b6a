"""What one simulated agency knows and holds: its assets, its freezes, the orders it applied.

Order semantics, as a real bank or registry applies them:
- an order id is applied at most once; a repeat returns the first acknowledgement;
- a freeze blocks up to the amount asked, limited by what is still unblocked on the asset
  (``partial`` when less, ``refused`` when nothing is left);
- assets the law protects (the mapping's ``protected_when``: a bank's salary and pension accounts) are refused;
- vehicles and properties are indivisible: a freeze registers the case's claim (up to the asset's
  unclaimed value) but restricts the *whole* asset, so the value it takes out of the owner's hands
  (:meth:`AgencyState.immobilised_value`) is the asset's full value as soon as any claim is on it;
  a freeze on an asset whose mapping declares restriction types (a vehicle: transfer, circulation, seizure)
  carries its type, refused when not one of them; the asset keeps the strongest type the case asked for (the
  mapping lists them weakest first), and an order of another type on an asset the case already restricts
  restates the case's claim: the type is replaced (the judge changed it) and the claim grows to the order's
  amount if that is more;
- a release lifts up to the amount asked of what this case holds on the asset;
- a transfer (the judge ordered collection) moves up to the amount asked of what this case holds
  on a bank account to the court's account: the block and the balance both go down by it; only
  money can be transferred, any other asset is refused (it must be sold first);
- a payout (only the bank of the court's account) pays collected money for the case to the creditor's IBAN
  (the order's asset_ref, an account at any bank): a well-formed IBAN is paid, a malformed one refused;
- a cancel names the order it cancels: if that order was applied it is undone (a freeze's block lifted,
  a restriction it added removed), and if it has not arrived it is refused when it does.

The owner's own moves (deposits, withdrawals of unblocked money) change what later orders find:
that is how partial acknowledgements arise, as they do at real banks.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from estelam.core import clock
from estelam.core.domain import (
    Acknowledgement,
    AckStatus,
    AgencyInstance,
    FreezeOrder,
    OrderKind,
    RestrictionType,
)
from estelam.core.identifiers import is_iban


@dataclass(frozen=True)
class MappedAsset:
    """An asset of a kind declared by a mapping, as its generated simulator holds it: its reference, owner and
    value (what may be blocked), whether the law protects it whole (the mapping's ``protected_when``) and whether
    it is restricted whole (a property: its asset kind one the freeze plan takes whole)."""

    asset_ref: str
    owner_id: str
    value_rial: int
    protected: bool = False
    indivisible: bool = False
    restrictions: tuple[str, ...] = ()  # the restriction types a freeze may carry, weakest first (the mapping's)


#: What an agency's ledger holds: its kind's assets, as its generated simulator draws them.
AgencyAsset = MappedAsset
_AckMaker = Callable[..., Acknowledgement]


def restriction_types(asset: AgencyAsset) -> tuple[str, ...]:
    """The restriction types a freeze on the asset may carry, weakest first (none: its freezes carry no type)."""
    return asset.restrictions


def is_indivisible(asset: AgencyAsset) -> bool:
    """Vehicles and properties (their asset kinds ones the freeze plan takes whole) are restricted whole, whatever
    the claim on them."""
    return asset.indivisible


class AgencyState:
    """Thread-safe state of one agency instance."""

    def __init__(self, instance: AgencyInstance, assets: Sequence[AgencyAsset]) -> None:
        self.instance = instance
        self._assets = {a.asset_ref: a for a in assets}
        self._refs_of: dict[str, list[str]] = defaultdict(list)  # owner -> refs (owners never change)
        for a in assets:
            self._refs_of[a.owner_id].append(a.asset_ref)
        self._frozen: dict[tuple[str, str], int] = defaultdict(int)  # (case_id, asset_ref) -> rials
        self._restrictions: dict[tuple[str, str], RestrictionType] = {}  # (case_id, asset_ref) -> its type
        self._court_account: dict[str, int] = defaultdict(int)  # case_id -> rials collected
        self._applied: dict[str, Acknowledgement] = {}
        self._applied_orders: dict[str, FreezeOrder] = {}
        self._cancelled: dict[str, str] = {}  # cancelled order id -> the cancel order's id
        self._paid_out: dict[tuple[str, str], int] = defaultdict(int)  # (case_id, creditor IBAN) -> rials
        self._lock = threading.Lock()

    def hold(self, assets: Sequence[AgencyAsset]) -> None:
        """Add assets this agency learned of after it opened (a generated simulator's, drawn from the world)."""
        with self._lock:
            for a in assets:
                if a.asset_ref not in self._assets:
                    self._assets[a.asset_ref] = a
                    self._refs_of[a.owner_id].append(a.asset_ref)

    def knows(self, ref: str) -> bool:
        """Whether the agency holds an asset of this reference."""
        with self._lock:
            return ref in self._assets

    def assets_of(self, person_id: str) -> list[AgencyAsset]:
        """The person's assets as they are now (balances after transfers, deposits, withdrawals)."""
        with self._lock:
            return [self._assets[ref] for ref in self._refs_of.get(person_id, [])]

    def held_freezes(self) -> dict[tuple[str, str], int]:
        """What this agency actually holds frozen, by (case_id, asset_ref); zero entries left out."""
        with self._lock:
            return {k: v for k, v in self._frozen.items() if v > 0}

    def immobilised_value(self, ref: str) -> int:
        """How much of the asset's value its owner cannot use: the blocks, or the whole of an indivisible asset."""
        with self._lock:
            asset = self._assets.get(ref)
            claimed = self._blocked(ref)
            if asset is None or claimed == 0:
                return 0
            return asset.value_rial if is_indivisible(asset) else claimed

    def restriction(self, case_id: str, plate: str) -> RestrictionType | None:
        """The restriction type this case holds on an asset whose freezes carry one (a vehicle), if any."""
        with self._lock:
            return self._restrictions.get((case_id, plate)) if self._frozen.get((case_id, plate)) else None

    def collected(self, case_id: str) -> int:
        """Rials transferred to the court's account for the case."""
        with self._lock:
            return self._court_account.get(case_id, 0)

    def collections(self) -> dict[str, int]:
        """Rials this agency transferred to the court's account, by case."""
        with self._lock:
            return {case_id: v for case_id, v in self._court_account.items() if v > 0}

    def paid_out(self, case_id: str) -> dict[str, int]:
        """Rials paid from the court's account to creditors for the case, by the creditor's IBAN."""
        return {iban: v for (c, iban), v in self.payouts().items() if c == case_id}

    def payouts(self) -> dict[tuple[str, str], int]:
        """Every payout this bank made from the court's account: (case_id, creditor IBAN) -> rials."""
        with self._lock:
            return {k: v for k, v in self._paid_out.items() if v > 0}

    def applied_orders(self) -> int:
        with self._lock:
            return len(self._applied)

    def deposit(self, ref: str, amount_rial: int) -> None:
        """The owner pays money into a bank account (new balance, not yet reported to the hub)."""
        with self._lock:
            account = self._assets[ref]
            assert not is_indivisible(account)  # only money takes deposits
            self._assets[ref] = _less(account, -amount_rial)

    def withdraw(self, ref: str, amount_rial: int) -> int:
        """The owner takes money out of an account: only its unblocked part; returns what was taken."""
        with self._lock:
            account = self._assets[ref]
            assert not is_indivisible(account)  # only money pays out
            taken = min(amount_rial, max(account.value_rial - self._blocked(ref), 0))
            self._assets[ref] = _less(account, taken)
            return taken

    def apply(self, order: FreezeOrder, now: datetime | None = None) -> Acknowledgement:
        now = now or clock.now()
        with self._lock:
            if order.order_id in self._applied:
                return self._applied[order.order_id]
            if order.order_id in self._cancelled:
                ack = Acknowledgement(order.order_id, self.instance.agency_id, order.case_id, order.asset_ref,
                                      AckStatus.REFUSED, 0, self._frozen.get((order.case_id, order.asset_ref), 0),
                                      now, f"cancelled by order {self._cancelled[order.order_id]}")
            else:
                ack = self._apply(order, now)
            self._applied[order.order_id] = ack
            self._applied_orders[order.order_id] = order
            return ack

    def _blocked(self, ref: str) -> int:
        return sum(v for (_, r), v in self._frozen.items() if r == ref)

    def _apply(self, order: FreezeOrder, now: datetime) -> Acknowledgement:
        key = (order.case_id, order.asset_ref)

        def ack(status: AckStatus, amount: int, reason: str = "") -> Acknowledgement:
            return Acknowledgement(order.order_id, self.instance.agency_id, order.case_id, order.asset_ref,
                                   status, amount, self._frozen.get(key, 0), now, reason)

        if order.kind is OrderKind.PAYOUT:
            return self._pay_out(order, ack)
        asset = self._assets.get(order.asset_ref)
        if asset is None:
            return ack(AckStatus.UNKNOWN_ASSET, 0, "no such asset at this agency")
        if order.kind is OrderKind.CANCEL:
            return self._cancel(order, key, ack)
        if order.kind is OrderKind.RELEASE:
            released = min(order.amount_rial, self._frozen.get(key, 0))
            self._lift(key, released)
            return ack(AckStatus.DONE, released)
        if order.kind is OrderKind.TRANSFER:
            return self._transfer(order, asset, key, ack)
        if asset.protected:
            return ack(AckStatus.REFUSED, 0, "the asset is protected by law")
        types = restriction_types(asset)
        asked = str(order.restriction_type or types[0]) if types else None
        if asked is not None and (asked not in types or asked not in _RESTRICTION_TYPES):
            return ack(AckStatus.REFUSED, 0, f"unknown restriction type {asked!r}")
        wanted = RestrictionType(asked) if asked is not None else None
        available = max(asset.value_rial - self._blocked(order.asset_ref), 0)
        changed = (wanted is not None and self._frozen.get(key, 0) > 0 and order.restriction_type is not None
                   and self._restrictions.get(key) != wanted)
        # an order of another type restates the case's claim on the asset (its amount is the claim's total)
        wanted_more = max(order.amount_rial - self._frozen.get(key, 0), 0) if changed else order.amount_rial
        blocked = min(wanted_more, available)
        if blocked == 0 and not changed:
            return ack(AckStatus.REFUSED, 0, "nothing left to block on this asset")
        self._frozen[key] += blocked
        if wanted is not None:
            held = self._restrictions.get(key)
            if changed:  # the case already restricts the asset: an order of another type replaces the type
                self._restrictions[key] = wanted
            else:  # a first or further claim: a stronger restriction replaces a weaker one (the last is strongest)
                self._restrictions[key] = max((r for r in (held, wanted) if r is not None), key=types.index)
            if changed:
                return ack(AckStatus.DONE if blocked == wanted_more else AckStatus.PARTIAL, blocked,
                           f"restriction now {wanted}")
        if blocked < order.amount_rial:
            return ack(AckStatus.PARTIAL, blocked, f"only {blocked} rials available")
        return ack(AckStatus.DONE, blocked)

    def _transfer(self, order: FreezeOrder, asset: AgencyAsset, key: tuple[str, str],
                  ack: _AckMaker) -> Acknowledgement:
        if is_indivisible(asset):
            return ack(AckStatus.REFUSED, 0, "only money can be transferred: sell the asset first")
        moved = min(order.amount_rial, self._frozen.get(key, 0), asset.value_rial)
        if moved == 0:
            return ack(AckStatus.REFUSED, 0, "nothing frozen for this case on this account")
        self._lift(key, moved)
        self._assets[order.asset_ref] = _less(asset, moved)
        self._court_account[order.case_id] += moved
        return ack(AckStatus.DONE if moved == order.amount_rial else AckStatus.PARTIAL, moved)


    def _pay_out(self, order: FreezeOrder, ack: _AckMaker) -> Acknowledgement:
        if not is_iban(order.asset_ref):
            return ack(AckStatus.REFUSED, 0, "the creditor's IBAN fails its check digits")
        self._paid_out[(order.case_id, order.asset_ref)] += order.amount_rial
        return ack(AckStatus.DONE, order.amount_rial)

    def _cancel(self, order: FreezeOrder, key: tuple[str, str], ack: _AckMaker) -> Acknowledgement:
        target = order.cancels or ""
        applied, done = self._applied_orders.get(target), self._applied.get(target)
        if applied is None or done is None:  # not arrived (or lost): refuse it when it comes
            self._cancelled[target] = order.order_id
            return ack(AckStatus.DONE, 0, f"order {target} not received: it will be refused")
        if (applied.case_id, applied.asset_ref) != key:
            return ack(AckStatus.REFUSED, 0, f"order {target} is not on this case and asset")
        if applied.kind is not OrderKind.FREEZE:
            return ack(AckStatus.REFUSED, 0, f"order {target} is a {applied.kind}: it cannot be undone")
        undone = min(done.acknowledged_amount_rial, self._frozen.get(key, 0))
        self._lift(key, undone)
        return ack(AckStatus.DONE, undone, f"order {target} undone")

    def _lift(self, key: tuple[str, str], amount: int) -> None:
        """Unfreeze ``amount`` of the case's hold on the asset; a hold lifted in full takes its restriction type
        with it (released, moved to the court or undone alike)."""
        self._frozen[key] -= amount
        if self._frozen[key] == 0:
            self._restrictions.pop(key, None)


#: The restriction types the hub's judges direct (a mapping's ``restrictions`` are among them).
_RESTRICTION_TYPES = frozenset(str(r) for r in RestrictionType)


def _less(asset: MappedAsset, moved: int) -> MappedAsset:
    """The money asset after ``moved`` left it (a transfer to the court's account, the mapping's
    ``orders.transfer``)."""
    return replace(asset, value_rial=asset.value_rial - moved)
