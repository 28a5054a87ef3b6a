"""The ledger's state and diff as they were before the columnar plan (commit ccad706): the reference.

The differential test (``test_planner_differential.py``) holds :func:`estelam.freeze.ledger.plan_orders` on
:func:`estelam.freeze.ledger.ledger_state` equal to :func:`plan_orders` on :func:`ledger_state` here. Kept
verbatim (the data classes and order ids are the ledger's own): the old semantics, not a second definition.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from estelam.cases.directives import NO_DIRECTIVES
from estelam.contracts.rows import FreezeAcknowledgementsRow, FreezeOrdersRow
from estelam.core.domain import FreezeOrder, OrderKind, RestrictionType
from estelam.freeze.ledger import (
    CaseFacts,
    HubView,
    IssuedOrder,
    Key,
    OrderStatus,
    ReasonCode,
    cancel_id,
    judge_release_id,
    order_id_for,
)
from estelam.freeze.planner import AssetKey, AssetNews, PlannedFreeze, asset_news


@dataclass
class LedgerState:
    """What the order and acknowledgement logs say now."""

    held: dict[Key, int] = field(default_factory=dict)  # the agency's latest frozen total per case and asset
    versions: Counter[Key] = field(default_factory=Counter)  # acknowledgements per case and asset
    news: dict[AssetKey, AssetNews] = field(default_factory=dict)
    collected: Counter[str] = field(default_factory=Counter)  # rials transferred to the court, per case
    paid_out: Counter[str] = field(default_factory=Counter)  # rials paid from the court's account to creditors
    #: payouts whose last acknowledgement was a refusal (the creditor's account was refused): not asked again
    #: until the court sends another account (another key)
    refused_payouts: set[Key] = field(default_factory=set)
    issued: dict[str, IssuedOrder] = field(default_factory=dict)
    last_status: dict[str, OrderStatus] = field(default_factory=dict)  # per order id, as last recorded
    acknowledged: set[str] = field(default_factory=set)
    frozen_after: dict[str, int] = field(default_factory=dict)  # per order id: the agency's total after it
    #: per vehicle (case, agency, plate): the restriction type of the last acknowledged freeze on it
    restrictions: dict[Key, RestrictionType] = field(default_factory=dict)

    @property
    def in_flight(self) -> dict[Key, IssuedOrder]:
        """Orders issued and neither acknowledged nor withdrawn, by case and asset (at most one each)."""
        return {o.key: o for oid, o in self.issued.items()
                if oid not in self.acknowledged and self.last_status.get(oid) is not OrderStatus.WITHDRAWN}


_E = TypeVar("_E", bound=StrEnum)


def _reader(cls: type[_E]) -> Callable[[object], _E]:
    """``cls(str(value))`` by a dict lookup: the logs repeat a handful of values hundreds of thousands of times,
    and an enum's constructor is slow. An unknown value still raises as the constructor does."""
    members: dict[object, _E] = {m.value: m for m in cls}

    def read(value: object) -> _E:
        member = members.get(value)
        return member if member is not None else cls(str(value))
    return read


def ledger_state(attempts: Iterable[FreezeOrdersRow], acks: Iterable[FreezeAcknowledgementsRow]) -> LedgerState:
    """Derive held amounts, versions, asset news and the order book from the two logs."""
    order_status, order_kind, reason_code = _reader(OrderStatus), _reader(OrderKind), _reader(ReasonCode)
    restriction_type = _reader(RestrictionType)
    state = LedgerState()
    ordered_acks = sorted(acks, key=lambda a: a["acknowledged_at"])
    for ack in ordered_acks:
        key: Key = (str(ack["case_id"]), str(ack["agency_id"]), str(ack["asset_ref"]))
        if ack.get("order_kind") == OrderKind.PAYOUT:  # a payment from the court's account: nothing is held
            state.paid_out[key[0]] += int(ack["acknowledged_amount_rial"])
            if ack["status"] == "refused":
                state.refused_payouts.add(key)
            else:
                state.refused_payouts.discard(key)
        else:
            state.held[key] = int(ack["frozen_total_rial"])
        state.versions[key] += 1
        state.acknowledged.add(str(ack["order_id"]))
        state.frozen_after[str(ack["order_id"])] = int(ack["frozen_total_rial"])
    state.news, state.collected = asset_news(ordered_acks)
    for row in sorted(attempts, key=lambda r: r["issued_at"]):
        order_id = str(row["order_id"])
        state.last_status[order_id] = order_status(row["status"])
        if order_id in state.issued:
            continue
        kind = order_kind(row["kind"])
        restriction = row.get("restriction_type")
        cancels = row.get("cancels_order_id")
        state.issued[order_id] = IssuedOrder(
            order=FreezeOrder(order_id, kind, str(row["case_id"]), str(row["agency_id"]), str(row["asset_ref"]),
                              int(row["amount_rial"]), row["first_issued_at"],
                              restriction_type(restriction) if restriction else None,
                              str(cancels) if cancels else None),
            version=int(row["version"]),
            reason_code=reason_code(row["reason_code"]),
            first_issued_at=row["first_issued_at"],
            deadline_at=row["deadline_at"],
            person_id=str(row["person_id"]),
            asset_kind=str(row["asset_kind"]),
            confidential=bool(row["confidential"]),
        )
    for ack in ordered_acks:
        issued = state.issued.get(str(ack["order_id"]))
        if issued and issued.order.kind is OrderKind.FREEZE and issued.asset_kind == "vehicle" and (
                ack["status"] in ("done", "partial") or int(ack["frozen_total_rial"]) > 0):
            state.restrictions[issued.key] = issued.order.restriction_type or RestrictionType.TRANSFER
    return state


# --- the diff -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DebtPosition:
    """Per debtor and per case: what is frozen now and what is still owed (the grounds of a release)."""

    frozen_of_debtor: Counter[str]
    owed_of_debtor: Counter[str]
    frozen_of_case: Counter[str]

    @classmethod
    def of(cls, state: LedgerState, cases: Mapping[str, CaseFacts]) -> DebtPosition:
        frozen_of_debtor: Counter[str] = Counter()
        owed_of_debtor: Counter[str] = Counter()
        frozen_of_case: Counter[str] = Counter()
        for (case_id, _, _), amount in state.held.items():
            frozen_of_case[case_id] += amount
            if case_id in cases:
                frozen_of_debtor[cases[case_id].person_id] += amount
        for case in cases.values():
            if case.is_open:
                owed_of_debtor[case.person_id] += max(case.outstanding_rial - state.collected[case.case_id], 0)
        return cls(frozen_of_debtor, owed_of_debtor, frozen_of_case)


def release_reason(case: CaseFacts | None, collected: int, position: DebtPosition) -> ReasonCode:
    """Why a release: the case closed or was paid; else "excess" only when the debtor has more frozen than they
    owe; else the case's debt fell below what it holds, or what the asset can hold fell."""
    if case is None or not case.is_open:
        return ReasonCode.CASE_CLOSED
    owed = case.outstanding_rial - collected
    if owed <= 0:
        return ReasonCode.CASE_PAID
    if position.frozen_of_debtor[case.person_id] > position.owed_of_debtor[case.person_id]:
        return ReasonCode.EXCESS
    if position.frozen_of_case[case.case_id] > owed:
        return ReasonCode.DEBT_REDUCED
    return ReasonCode.ASSET_CHANGED


def judge_ceilings(state: LedgerState, view: HubView) -> dict[Key, int]:
    """Per case and asset: the most the judge's directives let it hold (judge-ordered releases, lifted vehicle
    restrictions, cancelled orders). A release of all, or a lifted restriction, holds nothing; a release of an
    amount holds what the agency had left after that release; a cancelled order's asset holds what was
    acknowledged before it (its agency acknowledges no more)."""
    ceilings: dict[Key, int] = {}
    held_keys = set(state.held) | {o.key for o in state.issued.values()}
    for case_id, directives in view.directives.items():
        keys = [k for k in held_keys if k[0] == case_id]
        for directive_id, asset_ref, amount in directives.releases:
            for key in keys:
                if asset_ref is not None and key[2] != asset_ref:
                    continue
                if amount is None:
                    ceilings[key] = 0
                elif (done := state.frozen_after.get(judge_release_id(key, directive_id))) is not None:
                    ceilings[key] = min(ceilings.get(key, done), done)
        for key in keys:
            if key[2] in directives.vehicle_restrictions and directives.vehicle_restrictions[key[2]] is None:
                ceilings[key] = 0
        for order_id in directives.cancelled_orders:
            cancelled = state.issued.get(order_id)
            if not cancelled or cancelled.order.case_id != case_id:
                continue
            if order_id not in state.acknowledged:
                ceilings[cancelled.key] = min(ceilings.get(cancelled.key, state.held.get(cancelled.key, 0)),
                                              state.held.get(cancelled.key, 0))
            elif (undone := state.frozen_after.get(cancel_id(cancelled.key, order_id))) is not None:
                # an applied freeze the agency undid: the asset holds no more than it had left after the cancel
                ceilings[cancelled.key] = min(ceilings.get(cancelled.key, undone), undone)
    return ceilings


def payout_orders(state: LedgerState, view: HubView, *, now: datetime, deadlines_s: Mapping[str, float],
                  in_flight: Mapping[Key, IssuedOrder]) -> list[IssuedOrder]:
    """Payouts of what each case collected and has not yet paid out (nor has in flight) to its creditor's
    account, from the court's account: open or closed, a case's collected money belongs to its creditor."""
    account = view.court_account
    if account is None:
        return []
    in_flight_payouts: Counter[str] = Counter()
    for issued in in_flight.values():
        if issued.order.kind is OrderKind.PAYOUT:
            in_flight_payouts[issued.order.case_id] += issued.order.amount_rial
    orders = []
    for case in sorted(view.cases, key=lambda c: c.case_id):
        due = state.collected[case.case_id] - state.paid_out[case.case_id] - in_flight_payouts[case.case_id]
        key: Key = (case.case_id, account.agency_id, case.creditor_iban or "")
        if due <= 0 or not case.creditor_iban or key in in_flight or key in state.refused_payouts:
            continue
        version = state.versions[key]
        orders.append(IssuedOrder(
            order=FreezeOrder(order_id_for(key, OrderKind.PAYOUT, version), OrderKind.PAYOUT, case.case_id,
                              account.agency_id, case.creditor_iban, due, now),
            version=version, reason_code=ReasonCode.PAYOUT, first_issued_at=now,
            deadline_at=now + timedelta(seconds=deadlines_s[account.agency_id]), person_id=case.person_id,
            asset_kind="bank_account",
            confidential=view.directives.get(case.case_id, NO_DIRECTIVES).confidential))
    return orders


def withdrawn_orders(state: LedgerState, view: HubView) -> list[tuple[IssuedOrder, str]]:
    """Freezes in flight the hub stops resending, with why: their case closed (or is unknown), or the judge
    cancelled them. Each is recorded ``withdrawn`` and its asset released (the agency may have applied it).
    Releases and transfers in flight are resent as ever: the agency applies an order once and a transfer may
    already have moved the money, which only its acknowledgement tells."""
    cases = {c.case_id: c for c in view.cases}
    found: list[tuple[IssuedOrder, str]] = []
    for _, issued in sorted(state.in_flight.items()):
        if issued.order.kind is not OrderKind.FREEZE:
            continue
        case = cases.get(issued.order.case_id)
        if issued.order.order_id in view.directives.get(issued.order.case_id, NO_DIRECTIVES).cancelled_orders:
            found.append((issued, "cancelled by the judge's directive"))
        elif case is None or not case.is_open:
            found.append((issued, "the case is closed: not resent, the asset is released"))
    return found


def plan_orders(plan: Sequence[PlannedFreeze], state: LedgerState, view: HubView, *, now: datetime,
                deadlines_s: Mapping[str, float], skip: Iterable[str] = ()) -> list[IssuedOrder]:
    """The orders that take the agencies from what they acknowledged to ``plan``, as the judge directed.

    First every order still in flight (resent as issued, same key) — except the freezes
    :func:`withdrawn_orders` names, whose asset is released instead (the agency may have applied them).
    Then, for each case and asset with nothing in flight: a cancel order for a freeze the judge cancelled
    (the agency undoes it if applied, refuses it if it arrives later), a release for a closed case's
    withdrawn freeze, a judge-ordered release (once per
    directive), a release of what is held beyond the plan (or beyond the judge's ceiling), a transfer
    of what is held when the judge ordered collection of a bank account (capped at what the case still
    owes and at the collection's amount), a freeze (new or top-up) of the gap, or, for a vehicle whose
    restriction the judge changed, an order of the new type. Last, the payouts to creditors of what
    their cases collected (:func:`payout_orders`). Orders whose id is in ``skip`` (already sent in this
    cycle) are left out.
    """
    skip = set(skip)
    cases = {c.case_id: c for c in view.cases}
    dropped = {issued.key: issued for issued, _ in withdrawn_orders(state, view)}
    in_flight = {key: issued for key, issued in state.in_flight.items() if key not in dropped}
    orders = [o for _, o in sorted(in_flight.items()) if o.order.order_id not in skip]
    desired = {row.key: row for row in plan}
    kinds = {a.key: a.asset_kind for a in view.assets}
    position = DebtPosition.of(state, cases)
    ceilings = judge_ceilings(state, view)
    # what each case may still have transferred to the court: what it owes, within the collection's amount
    transferring: Counter[str] = Counter()  # per case, transfers in flight (summed once, not once per case)
    for o in in_flight.values():
        if o.order.kind is OrderKind.TRANSFER:
            transferring[o.order.case_id] += o.order.amount_rial
    transfer_budget: dict[str, int] = {}
    for facts in cases.values():
        limit = view.directives.get(facts.case_id, NO_DIRECTIVES).collect_limit_rial
        budget = max(facts.outstanding_rial - state.collected[facts.case_id], 0)
        if limit is not None:
            budget = min(budget, max(limit - state.collected[facts.case_id], 0))
        transfer_budget[facts.case_id] = budget - transferring[facts.case_id]
    for key in sorted(desired.keys() | {k for k, v in state.held.items() if v > 0} | dropped.keys()
                      | {k for k in ceilings if k in state.held}):
        if key in in_flight:
            continue  # one order in flight per case and asset: wait for its acknowledgement
        case_id, agency_id, asset_ref = key
        row = desired.get(key)
        case = cases.get(case_id)
        is_open = case is not None and case.is_open
        want, held = (row.planned_freeze_rial if row and is_open else 0), state.held.get(key, 0)
        directives = view.directives.get(case_id, NO_DIRECTIVES)
        asset_kind = row.asset_kind if row else kinds.get((agency_id, asset_ref), "")
        pending_cancel = next(
            (o for o in directives.cancelled_orders if o in state.acknowledged and held > 0
             and (issued := state.issued.get(o)) is not None and issued.key == key
             and issued.order.kind is OrderKind.FREEZE and cancel_id(key, o) not in state.issued),
            None) if directives.cancelled_orders else None
        pending_release = next(
            (d for d, ref, _ in directives.releases if (ref is None or ref == asset_ref) and held > 0
             and judge_release_id(key, d) not in state.issued), None) if directives.releases else None
        restriction = directives.restriction_for(asset_ref) if asset_kind == "vehicle" else None
        if key in ceilings:
            want = min(want, ceilings[key])
        order_id: str | None = None
        cancels: str | None = None
        if key in dropped and dropped[key].order.order_id in directives.cancelled_orders:
            # the judge cancelled a freeze in flight: a cancel order of its own (the agency undoes it if applied,
            # refuses it if it comes later); anything held beyond the plan is released once it is acknowledged
            gone = dropped[key]
            kind, amount, reason = OrderKind.CANCEL, gone.order.amount_rial, ReasonCode.ORDER_CANCELLED
            cancels = gone.order.order_id
            order_id = cancel_id(key, cancels)
        elif pending_cancel is not None:
            # the judge cancelled a freeze the agency applied: it undoes what that order blocked
            kind, reason = OrderKind.CANCEL, ReasonCode.ORDER_CANCELLED
            amount, cancels = state.issued[pending_cancel].order.amount_rial, pending_cancel
            order_id = cancel_id(key, cancels)
        elif key in dropped:
            # a closed case's freeze in flight: release what it (and the acknowledged) may have blocked
            gone = dropped[key]
            kind, amount = OrderKind.RELEASE, max(held - want, 0) + gone.order.amount_rial
            reason = ReasonCode.CASE_CLOSED
            if amount <= 0:
                continue
        elif pending_release is not None:
            amount_asked = next(a for d, _, a in directives.releases if d == pending_release)
            kind, amount, reason = OrderKind.RELEASE, min(held, amount_asked or held), ReasonCode.JUDGE_RELEASE
            order_id = judge_release_id(key, pending_release)
        elif held > want:
            kind, amount = OrderKind.RELEASE, held - want
            reason = (ReasonCode.JUDGE_RELEASE if key in ceilings and ceilings[key] < held
                      else release_reason(case, state.collected[case_id], position))
        elif held > 0 and directives.collect and asset_kind == "bank_account" and is_open \
                and transfer_budget.get(case_id, 0) > 0:
            kind, amount, reason = OrderKind.TRANSFER, min(held, transfer_budget[case_id]), ReasonCode.COLLECTION
            transfer_budget[case_id] -= amount
        elif held > 0 and restriction is not None and state.restrictions.get(key, restriction) is not restriction:
            # the judge changed the vehicle's restriction: an order of the new type restating the claim's total
            # (the registry replaces the type, and blocks only what the total adds)
            kind, amount, reason = OrderKind.FREEZE, max(want, held), ReasonCode.RESTRICTION_CHANGED
        elif want > held:
            kind, amount = OrderKind.FREEZE, want - held
            reason = ReasonCode.TOP_UP if held else ReasonCode.NEW_FREEZE
        else:
            continue
        version = state.versions[key]
        order_id = order_id or order_id_for(key, kind, version)
        if order_id in skip:
            continue
        orders.append(IssuedOrder(
            order=FreezeOrder(order_id, kind, case_id, agency_id, asset_ref, amount, now,
                              restriction if kind is OrderKind.FREEZE else None, cancels),
            version=version, reason_code=reason, first_issued_at=now,
            deadline_at=now + timedelta(seconds=deadlines_s[agency_id]),
            person_id=row.person_id if row else (case.person_id if case else ""),
            asset_kind=asset_kind, confidential=directives.confidential,
        ))
    orders += [o for o in payout_orders(state, view, now=now, deadlines_s=deadlines_s, in_flight=in_flight)
               if o.order.order_id not in skip]
    return orders
