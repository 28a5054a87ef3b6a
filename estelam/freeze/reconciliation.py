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
- Every acknowledged freeze, release and transfer produces a debtor notification, owed until delivered: each
  cycle first settles what an interrupted one left (``notifications.owed``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

from connectors import AgencyClient
from estelam.access.audit import AuditAction, AuditRecord
from estelam.access.record import SYSTEM_ACTOR, SYSTEM_ROLE, Record, enforcement_purpose
from estelam.cases.directives import standing_directives
from estelam.contracts.registry import load_agency_registry, load_court_account
from estelam.contracts.rows import (
    FreezeAcknowledgementsRow,
    FreezeOrdersRow,
    LandedFreezeAcknowledgementsRow,
    LandedFreezeOrdersRow,
)
from estelam.core import clock, settings
from estelam.core.domain import Acknowledgement, FreezeOrder, OrderKind
from estelam.core.exceptions import AgencyError
from estelam.core.log import event_fields
from estelam.freeze import checks, notifications
from estelam.freeze.acknowledgements import AcknowledgementClaims, Claim
from estelam.freeze.ledger import (
    ACKS_FEED,
    ORDERS_FEED,
    CaseFacts,
    HubView,
    IssuedOrder,
    OrderStatus,
    acknowledgement_record,
    ledger_state,
    order_log_row,
    plan_orders,
    withdrawn_log_row,
    withdrawn_orders,
)
from estelam.freeze.planner import LIQUIDITY_RANK, SUBSISTENCE_MINIMUM_RIAL, KnownAsset, plan_freezes
from estelam.ingest.landing import land_audited, read_landed
from estelam.outputs import alerts

logger = logging.getLogger(__name__)

#: Passes per cycle at most; a pass only follows one that learned something (new acknowledgements).
MAX_PASSES = 8


# --- sending --------------------------------------------------------------------------------------


def _send(client: AgencyClient, order: FreezeOrder) -> Acknowledgement:
    if order.kind is OrderKind.FREEZE:
        return client.freeze(order)
    if order.kind is OrderKind.RELEASE:
        return client.release(order)
    if order.kind is OrderKind.CANCEL:
        return client.cancel(order)
    # an agency whose contract has no such operation raises OperationNotInContract: recorded, resent later
    if order.kind is OrderKind.PAYOUT:
        return client.pay_out(order)
    return client.transfer(order)


def push_orders(orders: Sequence[IssuedOrder], clients: Mapping[str, AgencyClient], *, cycle_id: str,
                now: datetime, record: Record | None = None) -> tuple[list[FreezeOrdersRow], list[Acknowledgement]]:
    """Send each order through its agency's connector; returns the order log rows and the acknowledgements.

    An order that got no acknowledgement (unreachable, timed out, faulted) is recorded ``pending``
    until its deadline and ``late`` after it, with the reason. Every sending's messages go to the message
    log (its row carries the ``message_id``) and every order to the audit log, with the case as purpose.
    """
    record = record or Record.for_agencies(load_agency_registry().instances)
    log: list[FreezeOrdersRow] = []
    acks: list[Acknowledgement] = []
    audited: list[AuditRecord] = []
    for issued in orders:
        order = issued.order
        entry = order_log_row(issued, cycle_id=cycle_id, sent_at=now)
        purpose = enforcement_purpose([order.case_id])
        with record.exchange(purpose=purpose, case_ids=[order.case_id], person_ids=[issued.person_id]) as exchange:
            try:
                ack = _send(clients[order.agency_id], order)
            except AgencyError as exc:
                logger.warning("order %s (%s) to %s not acknowledged: %s", order.order_id, order.kind,
                               order.agency_id, exc, extra=event_fields(order_id=order.order_id,
                                                                        agency_id=order.agency_id, cycle_id=cycle_id))
                late = now > issued.deadline_at
                entry |= {"delivery": "failed", "status": str(OrderStatus.LATE if late else OrderStatus.PENDING),
                          "reason": str(exc)}
            else:
                logger.info("order %s (%s, %d rials) sent to %s: %s", order.order_id, order.kind, order.amount_rial,
                            order.agency_id, ack.status, extra=event_fields(
                                order_id=order.order_id, agency_id=order.agency_id, cycle_id=cycle_id,
                                status=ack.status))
                acks.append(ack)
        entry["message_id"] = exchange.message_id
        log.append(entry)
        audited.append(AuditRecord(
            actor=SYSTEM_ACTOR, role=SYSTEM_ROLE, action=AuditAction.ORDER, purpose=purpose,
            person_id=issued.person_id, case_id=order.case_id,
            detail={"agency_id": order.agency_id, "order_id": order.order_id, "kind": str(order.kind),
                    "amount_rial": order.amount_rial, "reason_code": str(issued.reason_code),
                    "message_id": exchange.message_id, "delivery": entry["delivery"]}))
    record.audit_many(audited)
    return log, acks


# --- the logs -------------------------------------------------------------------------------------


class FreezeLedger(Protocol):
    """Where the order, acknowledgement and notification logs live: append-only."""

    def attempts(self) -> Sequence[FreezeOrdersRow]: ...

    def acknowledgements(self) -> Sequence[FreezeAcknowledgementsRow]: ...

    def record(self, batch_id: str, attempts: list[FreezeOrdersRow], acks: list[FreezeAcknowledgementsRow],
               notices: list[dict[str, object]], *, partition: date) -> None: ...

    def settle_notifications(self, batch_id: str, *, partition: date) -> int:
        """Land and deliver every notification owed (see ``notifications.owed``); how many were settled."""
        ...


@dataclass
class MemoryLedger:
    """The logs in memory (tests, benchmarks): the same rows the landing zone would hold."""

    attempt_rows: list[FreezeOrdersRow] = field(default_factory=list)
    ack_rows: list[FreezeAcknowledgementsRow] = field(default_factory=list)
    notice_rows: list[dict[str, object]] = field(default_factory=list)

    def attempts(self) -> list[FreezeOrdersRow]:
        return list(self.attempt_rows)

    def acknowledgements(self) -> list[FreezeAcknowledgementsRow]:
        return list(self.ack_rows)

    def record(self, batch_id: str, attempts: list[FreezeOrdersRow], acks: list[FreezeAcknowledgementsRow],
               notices: list[dict[str, object]], *, partition: date) -> None:
        self.attempt_rows += attempts
        self.ack_rows += acks
        self.notice_rows += notices

    def settle_notifications(self, batch_id: str, *, partition: date) -> int:
        owed = notifications.owed(self.attempt_rows, self.ack_rows,
                                  {str(n["notification_id"]) for n in self.notice_rows})
        self.notice_rows += owed
        return len(owed)


class LandedLedger:
    """The logs as landed feeds: every batch validated against its contract and written as Parquet."""

    def attempts(self) -> list[LandedFreezeOrdersRow]:
        return read_landed(ORDERS_FEED)

    def acknowledgements(self) -> list[LandedFreezeAcknowledgementsRow]:
        return read_landed(ACKS_FEED)

    def record(self, batch_id: str, attempts: list[FreezeOrdersRow], acks: list[FreezeAcknowledgementsRow],
               notices: list[dict[str, object]], *, partition: date) -> None:
        land_audited(ORDERS_FEED, attempts, batch_id=batch_id, partition=partition)
        # An order is acknowledged once, whichever way the acknowledgement comes (this push, or the agency posting
        # it to the API at the same moment): land only the acknowledgements this batch wins the claim for.
        claims = AcknowledgementClaims()
        won: dict[str, tuple[Claim, list[str]]] = {}
        for agency_id in sorted({str(a["agency_id"]) for a in acks}):
            ids = [str(a["order_id"]) for a in acks if a["agency_id"] == agency_id]
            claim = claims.claim_each(agency_id, ids, batch_id=batch_id, partition=partition)
            won[agency_id] = claim, list(claim.order_ids)
        kept = [a for a in acks if str(a["order_id"]) in won[str(a["agency_id"])][1]]
        landed = land_audited(ACKS_FEED, kept, batch_id=batch_id, partition=partition)
        quarantined = set(landed.rejected_reasons_by("order_id"))
        for claim, order_ids in won.values():
            claims.mark_landed(claim, [o for o in order_ids if o not in quarantined])
            claims.release(claim, [o for o in order_ids if o in quarantined])  # the agency may acknowledge again
        land_audited(notifications.FEED, notices, batch_id=batch_id, partition=partition)
        notifications.deliver(notices, batch_id=batch_id, partition=partition)

    def settle_notifications(self, batch_id: str, *, partition: date) -> int:
        """Deliver landed batches that were never delivered, then land and deliver the notifications owed for
        acknowledgements that have none (a crash between the steps, an acknowledgement posted to the API)."""
        landed = read_landed(notifications.FEED)
        undelivered = notifications.undelivered(landed)
        if undelivered:
            notifications.deliver(undelivered, batch_id=batch_id, partition=partition)
        settled = len(undelivered)
        owed = notifications.owed(self.attempts(), self.acknowledgements(),
                                  {str(n["notification_id"]) for n in landed})
        if owed:
            land_audited(notifications.FEED, owed, batch_id=batch_id, partition=partition)
            notifications.deliver(owed, batch_id=batch_id, partition=partition)
        if settled or owed:
            logger.info("notifications owed from earlier: %d delivered, %d made and delivered", settled, len(owed))
        return settled + len(owed)


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
    payouts: int = 0  # payout orders to creditors (from the court's account)
    cancels: int = 0  # cancel orders (of freezes the judge cancelled)

    def as_dict(self) -> dict[str, int | str]:
        """The summary as a small JSON-friendly dict (a DAG task's return value)."""
        return dict(self.__dict__)


def reconcile(cycle_id: str, view: HubView, ledger: FreezeLedger, clients: Mapping[str, AgencyClient], *,
              deadlines_s: Mapping[str, float], now: datetime,
              subsistence_minimum_rial: int = SUBSISTENCE_MINIMUM_RIAL, partition: date | None = None,
              clock: Callable[[], datetime] | None = None) -> CycleSummary:
    """One reconciliation cycle at ``now``: plan, diff, push, record; again until nothing new is to be sent.

    A pass after the first sends what the previous pass's acknowledgements made due (a payout after its transfer,
    the rest of a freeze after a partial one): with ``clock``, those orders are issued at its reading then (so the
    record shows them after the acknowledgements they follow); without it, every pass is at ``now``.
    """
    sent: list[IssuedOrder] = []
    log: list[FreezeOrdersRow] = []
    acks: list[Acknowledgement] = []
    notices = 0
    passes = 0
    open_cases = view.open_cases()
    notices = ledger.settle_notifications(f"{cycle_id}-owed", partition=partition or now.date())
    at = now
    for passes in range(1, MAX_PASSES + 1):
        if passes > 1 and clock is not None:
            at = max(at, clock())
        state = ledger_state(ledger.attempts(), ledger.acknowledgements())
        plan = plan_freezes(open_cases, view.assets, state.news, collected=state.collected,
                            subsistence_minimum_rial=subsistence_minimum_rial, held=state.held)
        orders = plan_orders(plan, state, view, now=at, deadlines_s=deadlines_s,
                             skip={o.order.order_id for o in sent})
        withdrawn = [withdrawn_log_row(o, why, cycle_id=cycle_id, at=at) for o, why in withdrawn_orders(state, view)]
        if not orders and not withdrawn:
            break
        pass_log, pass_acks = push_orders(orders, clients, cycle_id=cycle_id, now=at)
        pass_log = withdrawn + pass_log
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
        pending=sum(at <= o.deadline_at for o in in_flight),
        late=sum(at > o.deadline_at for o in in_flight),
        payouts=sum(o.order.kind is OrderKind.PAYOUT for o in sent),
        cancels=sum(o.order.kind is OrderKind.CANCEL for o in sent),
    )


# --- the embedded cycle: warehouse + landing + agencies -------------------------------------------


def load_view() -> HubView:
    """Cases and latest assets from the warehouse; the judge's directives from the landing zone."""
    from estelam.warehouse.dbt_build import connect_read_only

    with connect_read_only() as con:
        cases = [CaseFacts(c, p, k, f, int(o), s == "open", i) for c, p, k, f, o, s, i in con.execute(
            "select case_id, person_id, person_kind, filed_at, outstanding_rial, status, creditor_iban "
            "from intermediate.int_cases"
        ).fetchall()]
        # what an order can freeze (a mapped kind's asset without a freeze operation is reported, never planned);
        # a mapped kind's asset carries its mapping's liquidity rank
        assets = [KnownAsset(p, a, k, r, int(v), t, bool(x), None if k in LIQUIDITY_RANK else n)
                  for p, a, k, r, v, t, x, n in con.execute(
            "select person_id, agency_id, asset_kind, asset_ref, value_rial, learned_at, is_protected, liquidity_rank "
            "from intermediate.int_assets_latest where value_rial is not null and can_freeze"
        ).fetchall()]
    return HubView(cases, assets, standing_directives(), load_court_account())


def run_cycle(cycle_id: str, *, today: date | None = None) -> CycleSummary:
    """One reconciliation cycle against the registry's agencies, logs in the landing zone."""
    from estelam.orchestration.agency_hooks import hook_for

    now = clock.now()
    registry = load_agency_registry()
    view = load_view()
    clients = _ClientsOnDemand(lambda agency_id: hook_for(registry.instance(agency_id)).get_client(
        shared=settings.current().resilience_store))  # the agency's Airflow Connection, or the registry's entry
    ledger = LandedLedger()
    try:
        summary = reconcile(cycle_id, view, ledger, clients, now=now, partition=today,
                            deadlines_s={i.agency_id: i.reply_deadline_s for i in registry.instances},
                            clock=clock.now)
    finally:
        clients.close()
    excess = checks.frozen_beyond_debt(view, ledger_state(ledger.attempts(), ledger.acknowledgements()))
    alerts.raise_alerts(alerts.frozen_beyond_debt_alerts(excess, cycle_id=cycle_id))
    return summary


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
