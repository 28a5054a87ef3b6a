"""The order ledger: what the order and acknowledgement logs say, and the orders that close the gap to the plan.

Pure functions of the two immutable logs (no I/O): :func:`ledger_state` replays them into held
amounts, versions, asset news and the order book; :func:`plan_orders` diffs the plan against that
state; :func:`order_log_row` and :func:`acknowledgement_record` shape the rows the logs keep.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from hashlib import sha256
from itertools import compress, filterfalse, repeat
from operator import attrgetter, eq, is_not, itemgetter, methodcaller, ne
from typing import Final, TypeVar

from estelam.cases.directives import NO_DIRECTIVES, CaseDirectives
from estelam.contracts.registry import CourtAccount
from estelam.contracts.rows import FreezeAcknowledgementsRow, FreezeOrdersRow
from estelam.core.domain import Acknowledgement, FreezeOrder, OrderKind, RestrictionType
from estelam.core.keys import STABLE_ID_LENGTH, stable_id
from estelam.freeze.planner import (
    AssetKey,
    AssetNews,
    FreezePlan,
    KnownAsset,
    OpenCase,
    PlannedFreeze,
    replayed_news,
    without_cyclic_gc,
)

ORDERS_FEED: Final = "freeze_orders"
ACKS_FEED: Final = "freeze_acknowledgements"

Key = tuple[str, str, str]  # (case_id, agency_id, asset_ref)


class ReasonCode(StrEnum):
    """Why an order was issued (shown to the debtor)."""

    NEW_FREEZE = "new_freeze"
    TOP_UP = "top_up"
    EXCESS = "excess"
    CASE_PAID = "case_paid"
    CASE_CLOSED = "case_closed"
    COLLECTION = "collection"
    #: the case owes less than it holds (a partial payment) while the debtor's frozen total is within the debt
    DEBT_REDUCED = "debt_reduced"
    #: the asset can hold less than before (its agency could block less, money left it, it became protected, or
    #: the subsistence minimum must stay free) while the debtor's frozen total is within the debt
    ASSET_CHANGED = "asset_changed"
    #: the judge changed a vehicle's restriction (transfer, circulation, seizure): an order of the new type
    RESTRICTION_CHANGED = "restriction_changed"
    #: the judge ordered an asset released (an amount or all), or lifted a vehicle's restriction
    JUDGE_RELEASE = "judge_release"
    #: the judge cancelled an order: not resent; a cancel order tells its agency to undo it or refuse it
    ORDER_CANCELLED = "order_cancelled"
    #: money collected to the court's account is paid out to the case's creditor
    PAYOUT = "payout"


class OrderStatus(StrEnum):
    """Where an order stands when a cycle sends it."""

    ACKNOWLEDGED = "acknowledged"
    PENDING = "pending"  # no acknowledgement yet, within the agency's reply deadline
    LATE = "late"  # no acknowledgement past the deadline: counted against the agency
    #: not resent: its case closed or the judge cancelled it (a freeze; its asset is released instead)
    WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class CaseFacts:
    """A case as the court last described it (open or not), for planning and for reasons."""

    case_id: str
    person_id: str
    person_kind: str
    filed_at: datetime
    outstanding_rial: int
    is_open: bool
    creditor_iban: str | None = None  # where collected money is paid out to (the court's filed event says)


@dataclass(frozen=True)
class HubView:
    """What the hub knows at the start of a cycle: cases, assets as reported, the judge's directives."""

    cases: Sequence[CaseFacts]
    assets: Sequence[KnownAsset]
    directives: Mapping[str, CaseDirectives] = field(default_factory=dict)
    #: where collections land and payouts leave from; None: collected money waits (no payout is ordered)
    court_account: CourtAccount | None = None

    def open_cases(self) -> list[OpenCase]:
        return [OpenCase(c.case_id, c.person_id, c.person_kind, c.filed_at, c.outstanding_rial)
                for c in self.cases if c.is_open]


@dataclass(frozen=True)
class IssuedOrder:
    """An order as the hub issued it, with what it needs to resend, time and explain it."""

    order: FreezeOrder
    version: int
    reason_code: ReasonCode
    first_issued_at: datetime
    deadline_at: datetime
    person_id: str
    asset_kind: str
    confidential: bool

    @property
    def key(self) -> Key:
        return (self.order.case_id, self.order.agency_id, self.order.asset_ref)


def order_id_for(key: Key, kind: OrderKind, version: int) -> str:
    """The idempotency key of the order of ``kind`` following ``version`` acknowledgements on ``key``:
    ``stable_id(*key, kind, version)``, its digest taken here (a diff takes 25,000 of them; the f-string formats
    each part as ``str`` does, so the id is the same)."""
    case_id, agency_id, asset_ref = key
    return sha256(f"{case_id}|{agency_id}|{asset_ref}|{kind}|{version}".encode()).hexdigest()[:STABLE_ID_LENGTH]


# --- the state, derived from the logs -------------------------------------------------------------


_E = TypeVar("_E", bound=StrEnum)


def _reader(cls: type[_E]) -> Callable[[object], _E]:
    """``cls(str(value))`` by a dict lookup: the logs repeat a handful of values hundreds of thousands of times,
    and an enum's constructor is slow. An unknown value still raises as the constructor does."""
    members: dict[object, _E] = {m.value: m for m in cls}

    def read(value: object) -> _E:
        member = members.get(value)
        return member if member is not None else cls(str(value))
    return read


_order_status, _order_kind, _reason_code = _reader(OrderStatus), _reader(OrderKind), _reader(ReasonCode)
_restriction_type = _reader(RestrictionType)


def _issued_order(row: FreezeOrdersRow) -> IssuedOrder:
    """The order a ``freeze_orders`` row first recorded."""
    restriction = row.get("restriction_type")
    cancels = row.get("cancels_order_id")
    return IssuedOrder(
        order=FreezeOrder(str(row["order_id"]), _order_kind(row["kind"]), str(row["case_id"]), str(row["agency_id"]),
                          str(row["asset_ref"]), int(row["amount_rial"]), row["first_issued_at"],
                          _restriction_type(restriction) if restriction else None,
                          str(cancels) if cancels else None),
        version=int(row["version"]),
        reason_code=_reason_code(row["reason_code"]),
        first_issued_at=row["first_issued_at"],
        deadline_at=row["deadline_at"],
        person_id=str(row["person_id"]),
        asset_kind=str(row["asset_kind"]),
        confidential=bool(row["confidential"]),
    )


class OrderBook(Mapping[str, IssuedOrder]):
    """Every order ever issued, by id: the first ``freeze_orders`` row of each, its :class:`IssuedOrder` built when
    first read. A cycle reads a few of them (those in flight, those its directives name) out of every order ever
    issued, so building them all up front was most of the state's cost."""

    __slots__ = ("_built", "_rows")

    def __init__(self) -> None:
        self._rows: dict[str, FreezeOrdersRow] = {}
        self._built: dict[str, IssuedOrder] = {}

    @classmethod
    def of_rows(cls, first_rows: dict[str, FreezeOrdersRow]) -> OrderBook:
        """The book of ``first_rows`` (each order's first ``freeze_orders`` row, by id; later rows of the same id are
        resendings). An unknown kind, reason or restriction fails here, as it did when every order was built."""
        rows = first_rows.values()
        for kind in set(map(_KIND, rows)):
            _order_kind(kind)
        for reason in set(map(_REASON_CODE, rows)):
            _reason_code(reason)
        for restriction in set(map(methodcaller("get", "restriction_type"), rows)):
            if restriction:
                _restriction_type(restriction)
        book = cls()
        book._rows = first_rows
        return book

    def row(self, order_id: str) -> FreezeOrdersRow | None:
        """The first row of ``order_id``, or None."""
        return self._rows.get(order_id)

    def order_keys(self) -> set[Key]:
        """The (case, agency, asset) of every order, without building the orders."""
        return {(str(r["case_id"]), str(r["agency_id"]), str(r["asset_ref"])) for r in self._rows.values()}

    def __getitem__(self, order_id: str) -> IssuedOrder:
        built = self._built.get(order_id)
        if built is None:
            built = self._built[order_id] = _issued_order(self._rows[order_id])
        return built

    def __contains__(self, order_id: object) -> bool:
        return order_id in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


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
    issued: OrderBook = field(default_factory=OrderBook)
    last_status: dict[str, OrderStatus] = field(default_factory=dict)  # per order id, as last recorded
    acknowledged: set[str] = field(default_factory=set)
    frozen_after: dict[str, int] = field(default_factory=dict)  # per order id: the agency's total after it
    #: per vehicle (case, agency, plate): the restriction type of the last acknowledged freeze on it
    restrictions: dict[Key, RestrictionType] = field(default_factory=dict)

    @property
    def in_flight(self) -> dict[Key, IssuedOrder]:
        """Orders issued and neither acknowledged nor withdrawn, by case and asset (at most one each)."""
        flying = [oid for oid in filterfalse(self.acknowledged.__contains__, self.issued)
                  if self.last_status.get(oid) is not OrderStatus.WITHDRAWN]
        return {o.key: o for o in map(self.issued.__getitem__, flying)}


_KIND, _REASON_CODE, _STATUS = itemgetter("kind"), itemgetter("reason_code"), itemgetter("status")
_ORDER_ID, _CASE_ID, _AGENCY_ID, _ASSET_REF = (itemgetter("order_id"), itemgetter("case_id"), itemgetter("agency_id"),
                                               itemgetter("asset_ref"))


_FIRST, _SECOND, _PERSON_ID, _IS_OPEN = itemgetter(0), itemgetter(1), attrgetter("person_id"), attrgetter("is_open")
_ASSET_KIND = itemgetter("asset_kind")
_ASSET_REF_OF = attrgetter("asset_ref")


def _strings(rows: Sequence[Mapping[str, object]], column: itemgetter[object]) -> list[str]:
    return list(map(str, map(column, rows)))


@without_cyclic_gc
def ledger_state(attempts: Iterable[FreezeOrdersRow], acks: Iterable[FreezeAcknowledgementsRow]) -> LedgerState:
    """Derive held amounts, versions, asset news and the order book from the two logs.

    Replayed a column at a time: each log sorted once, its columns read out, and the state's dicts, counters and
    sets built from them by the builtins (a dict of (key, value) pairs keeps the last value of a key, as a replay
    does); only the rare rows that need a decision (payouts, vehicles' restrictions, asset news) go row by row."""
    ordered_acks = sorted(acks, key=itemgetter("acknowledged_at"))
    agency_ids, asset_refs = _strings(ordered_acks, _AGENCY_ID), _strings(ordered_acks, _ASSET_REF)
    keys: list[Key] = list(zip(_strings(ordered_acks, _CASE_ID), agency_ids, asset_refs, strict=True))
    ack_order_ids = _strings(ordered_acks, _ORDER_ID)
    frozen = list(map(int, map(itemgetter("frozen_total_rial"), ordered_acks)))
    kinds = list(map(itemgetter("order_kind"), ordered_acks))
    payouts = [i for i, kind in enumerate(kinds) if kind == OrderKind.PAYOUT] if OrderKind.PAYOUT in kinds else []
    state = LedgerState(versions=Counter(keys), acknowledged=set(ack_order_ids),
                        frozen_after=dict(zip(ack_order_ids, frozen, strict=True)))
    if payouts:  # a payment from the court's account: nothing is held
        for i in payouts:
            ack, key = ordered_acks[i], keys[i]
            state.paid_out[key[0]] += int(ack["acknowledged_amount_rial"])
            if ack["status"] == "refused":
                state.refused_payouts.add(key)
            else:
                state.refused_payouts.discard(key)
        holding = [True] * len(keys)
        for i in payouts:
            holding[i] = False
        state.held = dict(zip(compress(keys, holding), compress(frozen, holding), strict=True))
    else:
        state.held = dict(zip(keys, frozen, strict=True))
    state.news, state.collected = replayed_news(ordered_acks, agency_ids, asset_refs, frozen, kinds)
    ordered = sorted(attempts, key=itemgetter("issued_at"))
    order_ids = _strings(ordered, _ORDER_ID)
    statuses = list(map(_STATUS, ordered))
    status_of = {status: _order_status(status) for status in set(statuses)}
    state.last_status = dict(zip(order_ids, map(status_of.__getitem__, statuses), strict=True))
    if len(state.last_status) == len(order_ids):  # no order resent: each row is its order's first
        first = dict(zip(order_ids, ordered, strict=True))
    else:  # the first row of each id (reversed: the earliest wins), in the order of the ids' first rows
        latest_first = dict(zip(reversed(order_ids), reversed(ordered), strict=True))
        first = dict(zip(state.last_status, map(latest_first.__getitem__, state.last_status), strict=True))
    state.issued = OrderBook.of_rows(first)
    # the freezes on vehicles: the vehicles' rows first (a seventh of the orders), then their kinds
    vehicle_rows = list(compress(first.items(), map(eq, map(str, map(_ASSET_KIND, first.values())),
                                                    repeat("vehicle"))))
    vehicle_kinds = list(map(_KIND, map(_SECOND, vehicle_rows)))
    freezes = {kind for kind in set(vehicle_kinds) if _order_kind(kind) is OrderKind.FREEZE}
    vehicle_freezes = set(compress(map(_FIRST, vehicle_rows), map(freezes.__contains__, vehicle_kinds)))
    if vehicle_freezes:
        for i in compress(range(len(ack_order_ids)), map(vehicle_freezes.__contains__, ack_order_ids)):
            order_id = ack_order_ids[i]
            if ordered_acks[i]["status"] in ("done", "partial") or frozen[i] > 0:
                row = first[order_id]
                restriction = row.get("restriction_type")
                state.restrictions[(str(row["case_id"]), str(row["agency_id"]), str(row["asset_ref"]))] = \
                    _restriction_type(restriction) if restriction else RestrictionType.TRANSFER
    return state


# --- the diff -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DebtPosition:
    """Per debtor and per case: what is frozen now and what is still owed (the grounds of a release)."""

    frozen_of_debtor: Counter[str]
    owed_of_debtor: Counter[str]
    frozen_of_case: Counter[str]

    @classmethod
    def of(cls, state: LedgerState, cases: Mapping[str, CaseFacts], debtors: Collection[str] | None = None
           ) -> DebtPosition:
        """The position of every debtor and case; with ``debtors``, of those debtors and their cases only (the
        figures of each exact, every other left out: a diff reads the position of the debtors it releases from)."""
        frozen_of_debtor: Counter[str] = Counter()
        owed_of_debtor: Counter[str] = Counter()
        frozen_of_case: Counter[str] = Counter()
        held: Iterable[tuple[Key, int]] = state.held.items()
        if debtors is not None:  # filtered by the builtins (compress, map): no Python call per case or hold
            debtors = debtors if isinstance(debtors, (set, frozenset)) else set(debtors)
            cases = dict(compress(cases.items(), map(debtors.__contains__, map(_PERSON_ID, cases.values()))))
            held = list(compress(state.held.items(), map(cases.__contains__, map(_FIRST, state.held))))
        # dict.get, not Counter's += (whose __missing__ is a Python call per new key)
        collected = state.collected
        for (case_id, _, _), amount in held:
            frozen_of_case[case_id] = frozen_of_case.get(case_id, 0) + amount
            if (case := cases.get(case_id)) is not None:
                frozen_of_debtor[case.person_id] = frozen_of_debtor.get(case.person_id, 0) + amount
        for case in cases.values():
            if case.is_open:
                owed = max(case.outstanding_rial - collected.get(case.case_id, 0), 0)
                owed_of_debtor[case.person_id] = owed_of_debtor.get(case.person_id, 0) + owed
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
    if not view.directives:
        return ceilings
    held_keys = set(state.held) | state.issued.order_keys()
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


def judge_release_id(key: Key, directive_id: str) -> str:
    """The idempotency key of the release a judge's release directive orders on ``key`` (sent once)."""
    return stable_id(*key, OrderKind.RELEASE, "directive", directive_id)


def cancel_id(key: Key, cancelled_order_id: str) -> str:
    """The idempotency key of the cancel order sent for ``cancelled_order_id`` (sent once)."""
    return stable_id(*key, OrderKind.CANCEL, cancelled_order_id)


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


def withdrawn_orders(state: LedgerState, view: HubView, in_flight: Mapping[Key, IssuedOrder] | None = None,
                     cases: Mapping[str, CaseFacts] | None = None) -> list[tuple[IssuedOrder, str]]:
    """Freezes in flight the hub stops resending, with why: their case closed (or is unknown), or the judge
    cancelled them. Each is recorded ``withdrawn`` and its asset released (the agency may have applied it).
    Releases and transfers in flight are resent as ever: the agency applies an order once and a transfer may
    already have moved the money, which only its acknowledgement tells. ``in_flight``: ``state.in_flight``, and
    ``cases``: the view's cases by id, when the caller has them already."""
    if cases is None:
        cases = {c.case_id: c for c in view.cases}
    found: list[tuple[IssuedOrder, str]] = []
    for _, issued in sorted((state.in_flight if in_flight is None else in_flight).items()):
        if issued.order.kind is not OrderKind.FREEZE:
            continue
        case = cases.get(issued.order.case_id)
        if issued.order.order_id in view.directives.get(issued.order.case_id, NO_DIRECTIVES).cancelled_orders:
            found.append((issued, "cancelled by the judge's directive"))
        elif case is None or not case.is_open:
            found.append((issued, "the case is closed: not resent, the asset is released"))
    return found


def _may_order(desired: Mapping[Key, int], wanted: Sequence[int], state: LedgerState,
               dropped: Mapping[Key, IssuedOrder], ceilings: Mapping[Key, int],
               directives: Mapping[str, CaseDirectives]) -> set[Key]:
    """The case-and-asset keys :func:`plan_orders` may issue an order on: those the plan wants other than held,
    and every key of a case with directives, withdrawn, under a judge's ceiling or carrying a vehicle's restriction.
    Any other key (wanted as held, nothing directed) gets no order, so the diff looks no further at it.
    ``desired``: each planned key's row; ``wanted``: each row's wanted amount, then a 0 (the amount of a key the
    plan does not name, at row -1): the plan's keys are hashed once, into ``desired``, not into a second dict."""
    held = state.held
    keys = set(compress(desired, map(ne, map(wanted.__getitem__, desired.values()), map(held.get, desired, repeat(0)))))
    keys.update(key for key, amount in held.items() if amount > 0 and wanted[desired.get(key, -1)] != amount)
    keys.update(dropped.keys())
    keys.update(key for key in ceilings if key in held)
    # a vehicle's restriction orders only if its case is directed or it was acknowledged with a type other than
    # the undirected one (the keys of directed cases are all added below)
    restrictions = state.restrictions
    if NO_DIRECTIVES.vehicle_restrictions:  # an undirected case's restriction per plate (none as it stands)
        other = [key for key, restriction in restrictions.items()
                 if restriction is not NO_DIRECTIVES.restriction_for(key[2])]
    else:  # the undirected restriction is every plate's: the keys acknowledged with another, found by the builtins
        other = list(compress(restrictions, map(is_not, restrictions.values(), repeat(NO_DIRECTIVES.restriction_type))))
    keys.update(key for key in other if key in desired or held.get(key, 0) > 0)
    if directives:
        keys.update(key for key in desired if key[0] in directives)
        keys.update(key for key, amount in held.items() if amount > 0 and key[0] in directives)
    return keys


@without_cyclic_gc
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
    flying = state.in_flight
    dropped = {issued.key: issued for issued, _ in withdrawn_orders(state, view, flying, cases)}
    in_flight = {key: issued for key, issued in flying.items() if key not in dropped}
    orders = [o for _, o in sorted(in_flight.items()) if o.order.order_id not in skip]
    # the plan read as columns: each key's row (the last of a key, as a dict of the rows keeps it) by position
    plan = FreezePlan.of_rows(plan)
    plan_keys = plan.keys()
    _, plan_persons, _, plan_kinds, _, planned, *_ = plan.columns
    desired = dict(zip(plan_keys, range(len(plan_keys)), strict=True))
    open_ids = set(compress(cases, map(_IS_OPEN, cases.values())))
    # each row's wanted amount (its row's, if its case is open), then a 0 for the keys the plan does not name
    if open_ids.issuperset(map(_FIRST, desired)):  # every row's case open: what it wants is its row's amount
        wanted = [*planned, 0]
    else:
        wanted = [*(amount if key[0] in open_ids else 0 for key, amount in zip(plan_keys, planned, strict=True)), 0]
    kinds: dict[AssetKey, str] | None = None  # built when a release names an asset the plan does not
    ceilings = judge_ceilings(state, view)
    # what each case may still have transferred to the court: what it owes, within the collection's amount
    transferring: Counter[str] = Counter()  # per case, transfers in flight (summed once, not once per case)
    for o in in_flight.values():
        if o.order.kind is OrderKind.TRANSFER:
            transferring[o.order.case_id] += o.order.amount_rial
    transfer_budget: dict[str, int] = {}  # read only for cases directed to collect: computed for those
    for case_id, directed in view.directives.items():
        if not directed.collect or (facts := cases.get(case_id)) is None:
            continue
        limit = directed.collect_limit_rial
        budget = max(facts.outstanding_rial - state.collected[case_id], 0)
        if limit is not None:
            budget = min(budget, max(limit - state.collected[case_id], 0))
        transfer_budget[case_id] = budget - transferring[case_id]
    deadline_at: dict[str, datetime] = {}  # per agency: now plus its reply deadline (computed once)
    may_order = sorted(_may_order(desired, wanted, state, dropped, ceilings, view.directives) - in_flight.keys())
    # the position of the debtors whose keys may be released on an open case still owing (release_reason reads no
    # other: a closed or paid case's release says so without it)
    collected = state.collected
    position = DebtPosition.of(state, cases, {case.person_id for case_id, _, _ in may_order
                                              if (case := cases.get(case_id)) is not None and case.is_open
                                              and case.outstanding_rial > collected.get(case_id, 0)})
    for key in may_order:
        case_id, agency_id, asset_ref = key
        row = desired.get(key)
        case = cases.get(case_id)
        is_open = case is not None and case.is_open
        want, held = (planned[row] if row is not None and is_open else 0), state.held.get(key, 0)
        directives = view.directives.get(case_id, NO_DIRECTIVES)
        if row is None and kinds is None:  # the assets the plan does not name (found by reference, then as before)
            refs = {key[2] for key in may_order if key not in desired}
            kinds = {(a.agency_id, a.asset_ref): a.asset_kind
                     for a in compress(view.assets, map(refs.__contains__, map(_ASSET_REF_OF, view.assets)))}
        asset_kind = (plan_kinds[row] if row is not None else kinds.get((agency_id, asset_ref), "")
                      if kinds is not None else "")
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
            deadline_at=deadline_at[agency_id] if agency_id in deadline_at else
            deadline_at.setdefault(agency_id, now + timedelta(seconds=deadlines_s[agency_id])),
            person_id=plan_persons[row] if row is not None else (case.person_id if case else ""),
            asset_kind=asset_kind, confidential=directives.confidential,
        ))
    orders += [o for o in payout_orders(state, view, now=now, deadlines_s=deadlines_s, in_flight=in_flight)
               if o.order.order_id not in skip]
    return orders


def order_log_row(issued: IssuedOrder, *, cycle_id: str, sent_at: datetime) -> FreezeOrdersRow:
    """The ``freeze_orders`` row of one sending of an order (as delivered and acknowledged)."""
    order = issued.order
    return {
        "order_id": order.order_id, "cycle_id": cycle_id, "kind": str(order.kind), "case_id": order.case_id,
        "person_id": issued.person_id, "agency_id": order.agency_id, "asset_kind": issued.asset_kind,
        "asset_ref": order.asset_ref, "amount_rial": order.amount_rial,
        "restriction_type": str(order.restriction_type) if order.restriction_type else None,
        "version": issued.version, "reason_code": str(issued.reason_code), "confidential": issued.confidential,
        "first_issued_at": issued.first_issued_at, "deadline_at": issued.deadline_at, "issued_at": sent_at,
        "delivery": "delivered", "status": str(OrderStatus.ACKNOWLEDGED), "reason": None, "message_id": None,
        "cancels_order_id": order.cancels,
    }


def withdrawn_log_row(issued: IssuedOrder, reason: str, *, cycle_id: str, at: datetime) -> FreezeOrdersRow:
    """The ``freeze_orders`` row that ends an order the hub withdrew (not sent again)."""
    return order_log_row(issued, cycle_id=cycle_id, sent_at=at) | {
        "delivery": "withheld", "status": str(OrderStatus.WITHDRAWN), "reason": reason}


def acknowledgement_record(ack: Acknowledgement, kind: OrderKind) -> FreezeAcknowledgementsRow:
    """The ``freeze_acknowledgements`` row of an acknowledgement to an order of ``kind``."""
    return {
        "order_id": ack.order_id, "order_kind": str(kind), "agency_id": ack.agency_id, "case_id": ack.case_id,
        "asset_ref": ack.asset_ref, "status": str(ack.status),
        "acknowledged_amount_rial": ack.acknowledged_amount_rial, "frozen_total_rial": ack.frozen_total_rial,
        "acknowledged_at": ack.acknowledged_at, "reason": ack.reason or None,
    }



def compliance_scoreboard(attempts: Iterable[FreezeOrdersRow], acks: Iterable[FreezeAcknowledgementsRow],
                          *, now: datetime) -> dict[str, dict[str, int]]:
    """Per agency: orders issued, acknowledged, pending and late now, and orders ever recorded late."""
    attempts = list(attempts)
    state = ledger_state(attempts, acks)
    ever_late = {str(r["order_id"]) for r in attempts if r["status"] == OrderStatus.LATE}
    board: dict[str, Counter[str]] = defaultdict(Counter)
    for order_id, issued in state.issued.items():
        row = board[issued.order.agency_id]
        row["orders"] += 1
        late_now = order_id not in state.acknowledged and now > issued.deadline_at
        if order_id in state.acknowledged:
            row["acknowledged"] += 1
        elif late_now:
            row["late"] += 1
        else:
            row["pending"] += 1
        row["ever_late"] += order_id in ever_late or late_now
    return {agency: dict(counts) for agency, counts in sorted(board.items())}
