"""Freeze reconciliation: send agencies only the difference between the plan and what they acknowledged.

- The desired state is :func:`estelam.freeze.planner.plan_freezes` on the warehouse's open cases and
  latest assets (the ``freeze_plan`` mart publishes the same function's output).
- The actual state is derived from two immutable logs, never a mutable outbox: the order log
  (``freeze_orders``: one row per order per cycle it was sent in) and the acknowledgement log
  (``freeze_acknowledgements``: the agency's running total per case and asset).
- An order's id is its idempotency key: ``stable_id(case, agency, asset, kind, version)`` where
  version counts the acknowledgements already received for that case and asset. At most one order
  per case and asset is in flight: until it is acknowledged it is resent every cycle under the same
  key (the agency applies it at most once and returns the stored acknowledgement), and no other
  order is issued for that case and asset; it is ``pending`` until its agency's reply deadline, then
  ``late`` (counted on the compliance scoreboard).
- A cycle runs passes until the diff is empty: a partial or refused freeze caps the asset, the plan
  moves the rest to the next asset, and the next pass sends it; so re-running a cycle sends nothing new.
- Every acknowledged freeze, release and transfer produces a debtor notification.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Protocol

import duckdb
import pyarrow as pa

from connectors import AgencyClient
from estelam.core import settings
from estelam.core.domain import Acknowledgement, AckStatus, FreezeOrder, OrderKind, RestrictionType
from estelam.core.exceptions import AgencyError
from estelam.core.keys import stable_id
from estelam.freeze import notifications
from estelam.freeze.planner import (
    SUBSISTENCE_MINIMUM_RIAL,
    AssetKey,
    AssetNews,
    KnownAsset,
    OpenCase,
    PlannedFreeze,
    plan_freezes,
)
from estelam.ingest.landing import validate_and_land

ORDERS_FEED = "freeze_orders"
ACKS_FEED = "freeze_acknowledgements"
DIRECTIVES_FEED = "case_directives"
#: Passes per cycle at most; a pass only follows one that learned something (new acknowledgements).
MAX_PASSES = 8
#: The restriction a vehicle freeze asks for unless the judge directed otherwise.
DEFAULT_RESTRICTION = RestrictionType.TRANSFER

Key = tuple[str, str, str]  # (case_id, agency_id, asset_ref)


class ReasonCode(StrEnum):
    """Why an order was issued (shown to the debtor)."""

    NEW_FREEZE = "new_freeze"
    TOP_UP = "top_up"
    EXCESS = "excess"
    CASE_PAID = "case_paid"
    CASE_CLOSED = "case_closed"
    COLLECTION = "collection"


class OrderStatus(StrEnum):
    """Where an order stands when a cycle sends it."""

    ACKNOWLEDGED = "acknowledged"
    PENDING = "pending"  # no acknowledgement yet, within the agency's reply deadline
    LATE = "late"  # no acknowledgement past the deadline: counted against the agency


class Directive(StrEnum):
    """What a judge may direct about a case's freezes (the ``case_directives`` feed)."""

    CONFIDENTIAL = "confidential"
    LIFT_CONFIDENTIALITY = "lift_confidentiality"
    COLLECT = "collect"
    RESTRICT_CIRCULATION = "restrict_circulation"


@dataclass(frozen=True)
class CaseDirectives:
    """The judge's standing directives for one case."""

    confidential: bool = False
    authorised_users: tuple[str, ...] = ()
    collect: bool = False
    restriction_type: RestrictionType = DEFAULT_RESTRICTION


NO_DIRECTIVES = CaseDirectives()


def case_directives(records: Iterable[Mapping[str, object]]) -> dict[str, CaseDirectives]:
    """Fold the directive log (oldest first by ``issued_at``) into each case's standing directives."""
    state: dict[str, CaseDirectives] = {}
    for row in sorted(records, key=lambda r: (r["issued_at"], str(r["directive_id"]))):  # type: ignore[return-value]
        case_id = str(row["case_id"])
        now = state.get(case_id, NO_DIRECTIVES)
        directive = Directive(str(row["directive"]))
        if directive is Directive.CONFIDENTIAL:
            users = tuple(sorted({u.strip() for u in str(row.get("authorised_users") or "").split(",") if u.strip()}))
            now = CaseDirectives(True, users, now.collect, now.restriction_type)
        elif directive is Directive.LIFT_CONFIDENTIALITY:
            now = CaseDirectives(False, (), now.collect, now.restriction_type)
        elif directive is Directive.COLLECT:
            now = CaseDirectives(now.confidential, now.authorised_users, True, RestrictionType.SEIZURE)
        elif now.restriction_type is not RestrictionType.SEIZURE:
            now = CaseDirectives(now.confidential, now.authorised_users, now.collect, RestrictionType.CIRCULATION)
        state[case_id] = now
    return state


@dataclass(frozen=True)
class CaseFacts:
    """A case as the court last described it (open or not), for planning and for reasons."""

    case_id: str
    person_id: str
    person_kind: str
    filed_at: datetime
    outstanding_rial: int
    is_open: bool


@dataclass(frozen=True)
class HubView:
    """What the hub knows at the start of a cycle: cases, assets as reported, the judge's directives."""

    cases: Sequence[CaseFacts]
    assets: Sequence[KnownAsset]
    directives: Mapping[str, CaseDirectives] = field(default_factory=dict)

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
    """The idempotency key of the order of ``kind`` following ``version`` acknowledgements on ``key``."""
    return stable_id(*key, kind, version)


# --- the state, derived from the logs -------------------------------------------------------------


@dataclass
class LedgerState:
    """What the order and acknowledgement logs say now."""

    held: dict[Key, int] = field(default_factory=dict)  # the agency's latest frozen total per case and asset
    versions: Counter[Key] = field(default_factory=Counter)  # acknowledgements per case and asset
    news: dict[AssetKey, AssetNews] = field(default_factory=dict)
    collected: Counter[str] = field(default_factory=Counter)  # rials transferred to the court, per case
    issued: dict[str, IssuedOrder] = field(default_factory=dict)
    last_status: dict[str, OrderStatus] = field(default_factory=dict)  # per order id, as last recorded
    acknowledged: set[str] = field(default_factory=set)

    @property
    def in_flight(self) -> dict[Key, IssuedOrder]:
        """Orders issued and not acknowledged, by case and asset (at most one each)."""
        return {o.key: o for oid, o in self.issued.items() if oid not in self.acknowledged}


def _replay_news(acks: list[Mapping[str, object]]) -> tuple[dict[AssetKey, AssetNews], Counter[str]]:
    holds: dict[AssetKey, dict[str, int]] = defaultdict(dict)
    limits: dict[AssetKey, tuple[int, datetime]] = {}
    transfers: dict[AssetKey, list[tuple[datetime, int]]] = defaultdict(list)
    collected: Counter[str] = Counter()
    for ack in acks:
        asset: AssetKey = (str(ack["agency_id"]), str(ack["asset_ref"]))
        at: datetime = ack["acknowledged_at"]  # type: ignore[assignment]
        holds[asset][str(ack["case_id"])] = int(ack["frozen_total_rial"])  # type: ignore[call-overload]
        status, kind = ack["status"], ack["order_kind"]
        if status == AckStatus.UNKNOWN_ASSET:
            limits[asset] = (0, at)
        elif kind == OrderKind.FREEZE and status in (AckStatus.PARTIAL, AckStatus.REFUSED):
            limits[asset] = (sum(holds[asset].values()), at)  # the agency could block no more than this
        elif kind == OrderKind.TRANSFER and int(ack["acknowledged_amount_rial"]) > 0:  # type: ignore[call-overload]
            moved = int(ack["acknowledged_amount_rial"])  # type: ignore[call-overload]
            transfers[asset].append((at, moved))
            collected[str(ack["case_id"])] += moved
    news = {
        asset: AssetNews(limits[asset][0] if asset in limits else None,
                         limits[asset][1] if asset in limits else None, tuple(transfers.get(asset, ())))
        for asset in limits.keys() | transfers.keys()
    }
    return news, collected


def ledger_state(attempts: Iterable[Mapping[str, object]], acks: Iterable[Mapping[str, object]]) -> LedgerState:
    """Derive held amounts, versions, asset news and the order book from the two logs."""
    state = LedgerState()
    ordered_acks = sorted(acks, key=lambda a: a["acknowledged_at"])  # type: ignore[arg-type,return-value]
    for ack in ordered_acks:
        key: Key = (str(ack["case_id"]), str(ack["agency_id"]), str(ack["asset_ref"]))
        state.held[key] = int(ack["frozen_total_rial"])  # type: ignore[call-overload]
        state.versions[key] += 1
        state.acknowledged.add(str(ack["order_id"]))
    state.news, state.collected = _replay_news(ordered_acks)
    for row in sorted(attempts, key=lambda r: r["issued_at"]):  # type: ignore[arg-type,return-value]
        order_id = str(row["order_id"])
        state.last_status[order_id] = OrderStatus(str(row["status"]))
        if order_id in state.issued:
            continue
        kind = OrderKind(str(row["kind"]))
        restriction = row.get("restriction_type")
        state.issued[order_id] = IssuedOrder(
            order=FreezeOrder(order_id, kind, str(row["case_id"]), str(row["agency_id"]), str(row["asset_ref"]),
                              int(row["amount_rial"]), row["first_issued_at"],  # type: ignore[call-overload,arg-type]
                              RestrictionType(str(restriction)) if restriction else None),
            version=int(row["version"]),  # type: ignore[call-overload]
            reason_code=ReasonCode(str(row["reason_code"])),
            first_issued_at=row["first_issued_at"],  # type: ignore[arg-type]
            deadline_at=row["deadline_at"],  # type: ignore[arg-type]
            person_id=str(row["person_id"]),
            asset_kind=str(row["asset_kind"]),
            confidential=bool(row["confidential"]),
        )
    return state


# --- the diff -------------------------------------------------------------------------------------


def _release_reason(case: CaseFacts | None, collected: int) -> ReasonCode:
    if case is None or not case.is_open:
        return ReasonCode.CASE_CLOSED
    if case.outstanding_rial - collected <= 0:
        return ReasonCode.CASE_PAID
    return ReasonCode.EXCESS


def plan_orders(plan: Sequence[PlannedFreeze], state: LedgerState, view: HubView, *, now: datetime,
                deadlines_s: Mapping[str, float], skip: Iterable[str] = ()) -> list[IssuedOrder]:
    """The orders that take the agencies from what they acknowledged to ``plan``.

    First every order still in flight (resent as issued, same key), then, for each case and asset
    with nothing in flight: a release of what is held beyond the plan, a transfer of what is held
    when the judge ordered collection of a bank account, or a freeze (new or top-up) of the gap.
    Orders whose id is in ``skip`` (already sent in this cycle) are left out.
    """
    skip = set(skip)
    in_flight = state.in_flight
    orders = [o for _, o in sorted(in_flight.items()) if o.order.order_id not in skip]
    desired = {row.key: row for row in plan}
    cases = {c.case_id: c for c in view.cases}
    kinds = {a.key: a.asset_kind for a in view.assets}
    for key in sorted(desired.keys() | {k for k, v in state.held.items() if v > 0}):
        if key in in_flight:
            continue  # one order in flight per case and asset: wait for its acknowledgement
        case_id, agency_id, asset_ref = key
        row = desired.get(key)
        want, held = (row.planned_freeze_rial if row else 0), state.held.get(key, 0)
        directives = view.directives.get(case_id, NO_DIRECTIVES)
        asset_kind = row.asset_kind if row else kinds.get((agency_id, asset_ref), "")
        if held > want:
            kind, amount = OrderKind.RELEASE, held - want
            reason = _release_reason(cases.get(case_id), state.collected[case_id])
        elif held > 0 and directives.collect and asset_kind == "bank_account":
            kind, amount, reason = OrderKind.TRANSFER, held, ReasonCode.COLLECTION
        elif want > held:
            kind, amount = OrderKind.FREEZE, want - held
            reason = ReasonCode.TOP_UP if held else ReasonCode.NEW_FREEZE
        else:
            continue
        version = state.versions[key]
        order_id = order_id_for(key, kind, version)
        if order_id in skip:
            continue
        restriction = directives.restriction_type if asset_kind == "vehicle" and kind is OrderKind.FREEZE else None
        case = cases.get(case_id)
        orders.append(IssuedOrder(
            order=FreezeOrder(order_id, kind, case_id, agency_id, asset_ref, amount, now, restriction),
            version=version, reason_code=reason, first_issued_at=now,
            deadline_at=now + timedelta(seconds=deadlines_s[agency_id]),
            person_id=row.person_id if row else (case.person_id if case else ""),
            asset_kind=asset_kind, confidential=directives.confidential,
        ))
    return orders


# --- sending --------------------------------------------------------------------------------------


def _send(client: AgencyClient, order: FreezeOrder) -> Acknowledgement:
    if order.kind is OrderKind.FREEZE:
        return client.freeze(order)
    if order.kind is OrderKind.RELEASE:
        return client.release(order)
    transfer: Callable[[FreezeOrder], Acknowledgement] | None = getattr(client, "transfer", None)
    if transfer is None:  # the agency's contract has no transfer operation (yet): recorded, resent later
        raise AgencyError("this agency's contract has no transfer operation", agency_id=order.agency_id,
                          operation="transfer", request_id=order.order_id)
    return transfer(order)


def push_orders(orders: Sequence[IssuedOrder], clients: Mapping[str, AgencyClient], *, cycle_id: str,
                now: datetime) -> tuple[list[dict[str, object]], list[Acknowledgement]]:
    """Send each order through its agency's connector; returns the order log rows and the acknowledgements.

    An order that got no acknowledgement (unreachable, timed out, faulted) is recorded ``pending``
    until its deadline and ``late`` after it, with the reason.
    """
    log: list[dict[str, object]] = []
    acks: list[Acknowledgement] = []
    for issued in orders:
        order = issued.order
        entry = order_log_row(issued, cycle_id=cycle_id, sent_at=now)
        try:
            ack = _send(clients[order.agency_id], order)
        except AgencyError as exc:
            late = now > issued.deadline_at
            entry |= {"delivery": "failed", "status": str(OrderStatus.LATE if late else OrderStatus.PENDING),
                      "reason": str(exc)}
        else:
            acks.append(ack)
        log.append(entry)
    return log, acks


def order_log_row(issued: IssuedOrder, *, cycle_id: str, sent_at: datetime) -> dict[str, object]:
    """The ``freeze_orders`` row of one sending of an order (as delivered and acknowledged)."""
    order = issued.order
    return {
        "order_id": order.order_id, "cycle_id": cycle_id, "kind": str(order.kind), "case_id": order.case_id,
        "person_id": issued.person_id, "agency_id": order.agency_id, "asset_kind": issued.asset_kind,
        "asset_ref": order.asset_ref, "amount_rial": order.amount_rial,
        "restriction_type": str(order.restriction_type) if order.restriction_type else None,
        "version": issued.version, "reason_code": str(issued.reason_code), "confidential": issued.confidential,
        "first_issued_at": issued.first_issued_at, "deadline_at": issued.deadline_at, "issued_at": sent_at,
        "delivery": "delivered", "status": str(OrderStatus.ACKNOWLEDGED), "reason": None,
    }


def acknowledgement_record(ack: Acknowledgement, kind: OrderKind) -> dict[str, object]:
    """The ``freeze_acknowledgements`` row of an acknowledgement to an order of ``kind``."""
    return {
        "order_id": ack.order_id, "order_kind": str(kind), "agency_id": ack.agency_id, "case_id": ack.case_id,
        "asset_ref": ack.asset_ref, "status": str(ack.status),
        "acknowledged_amount_rial": ack.acknowledged_amount_rial, "frozen_total_rial": ack.frozen_total_rial,
        "acknowledged_at": ack.acknowledged_at, "reason": ack.reason or None,
    }


# --- the logs -------------------------------------------------------------------------------------


class FreezeLedger(Protocol):
    """Where the order, acknowledgement and notification logs live: append-only."""

    def attempts(self) -> list[dict[str, object]]: ...

    def acknowledgements(self) -> list[dict[str, object]]: ...

    def record(self, batch_id: str, attempts: list[dict[str, object]], acks: list[dict[str, object]],
               notices: list[dict[str, object]], *, partition: date) -> None: ...


@dataclass
class MemoryLedger:
    """The logs in memory (tests, benchmarks): the same rows the landing zone would hold."""

    attempt_rows: list[dict[str, object]] = field(default_factory=list)
    ack_rows: list[dict[str, object]] = field(default_factory=list)
    notice_rows: list[dict[str, object]] = field(default_factory=list)

    def attempts(self) -> list[dict[str, object]]:
        return list(self.attempt_rows)

    def acknowledgements(self) -> list[dict[str, object]]:
        return list(self.ack_rows)

    def record(self, batch_id: str, attempts: list[dict[str, object]], acks: list[dict[str, object]],
               notices: list[dict[str, object]], *, partition: date) -> None:
        self.attempt_rows += attempts
        self.ack_rows += acks
        self.notice_rows += notices


def _landed(feed: str) -> str | None:
    folder = settings.landing_dir() / feed
    return str(folder / "*" / "*.parquet") if any(folder.glob("*/*.parquet")) else None


def read_landed(feed: str) -> list[dict[str, object]]:
    """Every landed row of ``feed`` (empty when nothing landed yet)."""
    pattern = _landed(feed)
    if pattern is None:
        return []
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        rel = con.execute("select * from read_parquet(?, union_by_name = true)", [pattern])
        names = [d[0] for d in rel.description]
        return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]


class LandedLedger:
    """The logs as landed feeds: every batch validated against its contract and written as Parquet."""

    def attempts(self) -> list[dict[str, object]]:
        return read_landed(ORDERS_FEED)

    def acknowledgements(self) -> list[dict[str, object]]:
        return read_landed(ACKS_FEED)

    def record(self, batch_id: str, attempts: list[dict[str, object]], acks: list[dict[str, object]],
               notices: list[dict[str, object]], *, partition: date) -> None:
        validate_and_land(ORDERS_FEED, attempts, batch_id=batch_id, partition=partition)
        validate_and_land(ACKS_FEED, acks, batch_id=batch_id, partition=partition)
        validate_and_land(notifications.FEED, notices, batch_id=batch_id, partition=partition)
        notifications.deliver(notices, batch_id=batch_id, partition=partition)


# --- one cycle ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CycleSummary:
    cycle_id: str
    passes: int
    orders: int
    freezes: int
    releases: int
    transfers: int
    delivered: int
    failed: int
    acknowledged_rial: int
    notifications: int
    pending: int  # orders in flight within their deadline at the end of the cycle
    late: int  # orders in flight past their deadline at the end of the cycle

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def reconcile(cycle_id: str, view: HubView, ledger: FreezeLedger, clients: Mapping[str, AgencyClient], *,
              deadlines_s: Mapping[str, float], now: datetime,
              subsistence_minimum_rial: int = SUBSISTENCE_MINIMUM_RIAL, partition: date | None = None
              ) -> CycleSummary:
    """One reconciliation cycle at ``now``: plan, diff, push, record; again until nothing new is to be sent."""
    sent: list[IssuedOrder] = []
    log: list[dict[str, object]] = []
    acks: list[Acknowledgement] = []
    notices = 0
    passes = 0
    open_cases = view.open_cases()
    for passes in range(1, MAX_PASSES + 1):
        state = ledger_state(ledger.attempts(), ledger.acknowledgements())
        plan = plan_freezes(open_cases, view.assets, state.news, collected=state.collected,
                            subsistence_minimum_rial=subsistence_minimum_rial)
        orders = plan_orders(plan, state, view, now=now, deadlines_s=deadlines_s,
                             skip={o.order.order_id for o in sent})
        if not orders:
            break
        pass_log, pass_acks = push_orders(orders, clients, cycle_id=cycle_id, now=now)
        by_id = {o.order.order_id: o for o in orders}
        contexts = {oid: notifications.OrderContext(o.order.kind, o.person_id, o.asset_kind, o.reason_code,
                                                    o.confidential) for oid, o in by_id.items()}
        pass_notices = notifications.notification_records(pass_acks, contexts)
        ledger.record(f"{cycle_id}-p{passes}", pass_log,
                      [acknowledgement_record(a, by_id[a.order_id].order.kind) for a in pass_acks],
                      pass_notices, partition=partition or now.date())
        sent += orders
        log += pass_log
        acks += pass_acks
        notices += len(pass_notices)
        if not pass_acks:
            break  # nothing learned: another pass would only find the same orders in flight
    final = ledger_state(ledger.attempts(), ledger.acknowledgements())
    in_flight = list(final.in_flight.values())
    return CycleSummary(
        cycle_id=cycle_id, passes=passes, orders=len(sent),
        freezes=sum(o.order.kind is OrderKind.FREEZE for o in sent),
        releases=sum(o.order.kind is OrderKind.RELEASE for o in sent),
        transfers=sum(o.order.kind is OrderKind.TRANSFER for o in sent),
        delivered=sum(e["delivery"] == "delivered" for e in log),
        failed=sum(e["delivery"] == "failed" for e in log),
        acknowledged_rial=sum(a.acknowledged_amount_rial for a in acks),
        notifications=notices,
        pending=sum(now <= o.deadline_at for o in in_flight),
        late=sum(now > o.deadline_at for o in in_flight),
    )


def compliance_scoreboard(attempts: Iterable[Mapping[str, object]], acks: Iterable[Mapping[str, object]],
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


# --- the embedded cycle: warehouse + landing + agencies -------------------------------------------


def load_view() -> HubView:
    """Cases and latest assets from the warehouse; the judge's directives from the landing zone."""
    from estelam.warehouse.dbt_build import connect_read_only

    with connect_read_only() as con:
        cases = [CaseFacts(c, p, k, f, int(o), s == "open") for c, p, k, f, o, s in con.execute(
            "select case_id, person_id, person_kind, filed_at, outstanding_rial, status from intermediate.int_cases"
        ).fetchall()]
        assets = [KnownAsset(p, a, k, r, int(v), t, bool(x)) for p, a, k, r, v, t, x in con.execute(
            "select person_id, agency_id, asset_kind, asset_ref, value_rial, learned_at, is_protected "
            "from intermediate.int_assets_latest where value_rial is not null"
        ).fetchall()]
    return HubView(cases, assets, case_directives(read_landed(DIRECTIVES_FEED)))


def run_cycle(cycle_id: str, *, today: date | None = None) -> CycleSummary:
    """One reconciliation cycle against the registry's agencies, logs in the landing zone."""
    from connectors import client_for
    from estelam.contracts.registry import load_agency_registry

    now = datetime.now(UTC)
    registry = load_agency_registry()
    view = load_view()
    clients = _ClientsOnDemand(lambda agency_id: client_for(registry.instance(agency_id)))
    try:
        return reconcile(cycle_id, view, LandedLedger(), clients, now=now, partition=today,
                         deadlines_s={i.agency_id: i.reply_deadline_s for i in registry.instances})
    finally:
        clients.close()


class _ClientsOnDemand(dict[str, AgencyClient]):
    """Agency clients opened on first use only: a cycle that orders nothing opens no connection."""

    def __init__(self, open_client: Callable[[str], AgencyClient]) -> None:
        super().__init__()
        self._open = open_client

    def __missing__(self, agency_id: str) -> AgencyClient:
        client = self[agency_id] = self._open(agency_id)
        return client

    def close(self) -> None:
        for client in self.values():
            client.close()


def mark_directive(case_id: str, directive: Directive, *, issued_by: str, authorised_users: Sequence[str] = (),
                   issued_at: datetime | None = None) -> None:
    """Record a judge's directive on a case (confidential, collect, ...) as a landed ``case_directives`` row."""
    issued_at = issued_at or datetime.now(UTC)
    row = {"directive_id": stable_id(case_id, directive, issued_at.isoformat()), "case_id": case_id,
           "directive": str(directive), "authorised_users": ",".join(authorised_users) or None,
           "issued_by": issued_by, "issued_at": issued_at}
    validate_and_land(DIRECTIVES_FEED, [row], batch_id=str(row["directive_id"]), partition=issued_at.date())


# --- the published plan (the freeze_plan mart) ----------------------------------------------------

#: Columns of the plan table the dbt Python model ``int_freeze_allocations`` returns.
PLAN_SCHEMA = pa.schema([
    ("case_id", pa.string()), ("person_id", pa.string()), ("agency_id", pa.string()),
    ("asset_kind", pa.string()), ("asset_ref", pa.string()), ("planned_freeze_rial", pa.int64()),
    ("liquidity_rank", pa.int32()), ("asset_value_rial", pa.int64()), ("blocks_whole_asset", pa.bool_()),
])


def plan_table(cases: Iterable[Mapping[str, object]], assets: Iterable[Mapping[str, object]],
               acks: Iterable[Mapping[str, object]], *, subsistence_minimum_rial: int | None = None) -> pa.Table:
    """The plan as an Arrow table, from rows shaped like ``int_cases``, ``int_assets_latest`` and the ack feed."""
    open_cases = [OpenCase(str(c["case_id"]), str(c["person_id"]), str(c["person_kind"]), c["filed_at"],  # type: ignore[arg-type]
                           int(c["outstanding_rial"]))  # type: ignore[call-overload]
                  for c in cases if c["status"] == "open"]
    known = [KnownAsset(str(a["person_id"]), str(a["agency_id"]), str(a["asset_kind"]), str(a["asset_ref"]),
                        int(a["value_rial"]), a["learned_at"], bool(a["is_protected"]))  # type: ignore[call-overload,arg-type]
             for a in assets if a["value_rial"] is not None]
    state = ledger_state([], acks)
    plan = plan_freezes(open_cases, known, state.news, collected=state.collected,
                        subsistence_minimum_rial=SUBSISTENCE_MINIMUM_RIAL if subsistence_minimum_rial is None
                        else subsistence_minimum_rial)
    return pa.Table.from_pylist([{name: getattr(row, name) for name in PLAN_SCHEMA.names} for row in plan],
                                schema=PLAN_SCHEMA)
