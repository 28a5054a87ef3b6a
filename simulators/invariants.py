"""What must hold at the end of every simulated day, checked against the agencies' own state.

The simulated agencies are the referees: what they hold frozen, what they transferred and paid is compared
with what the court said (the case events it dropped) and with what the hub recorded (its landing zone).

- **never frozen beyond the debt**: for every case, what the agencies hold plus what was collected is at most
  what the court says is owed (filed less paid); a closed case holds nothing. Money held beyond it at an
  agency that takes no orders today (its order desk behind, or down) waits for that agency, and is named.
- **nothing lost**: every case event the court dropped is landed or quarantined; every inquiry has one final
  state, with a reason unless answered; every order sending has a delivery state, with a reason if it failed.
- **nothing twice**: every agency holds exactly what its latest acknowledgements say (no order applied twice);
  no creditor was paid more than was collected for the case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from estelam.core.domain import CaseEventType
from simulators.world import CaseEvent


@dataclass(frozen=True)
class Verdict:
    """One invariant on one day: held or not, and what a reader should know either way."""

    name: str
    held: bool
    detail: str = ""


def never_beyond_the_debt(events: Iterable[CaseEvent], held: Mapping[tuple[str, str, str], int],
                          collected: Mapping[str, int], *, not_taking_orders: Collection[str] = ()) -> Verdict:
    owed: dict[str, int] = defaultdict(int)
    closed: set[str] = set()
    for event in events:
        if event.event_type is CaseEventType.FILED:
            owed[event.case_id] += event.amount_rial or 0
        elif event.event_type is CaseEventType.PAID:
            owed[event.case_id] -= event.amount_rial or 0
        elif event.event_type is CaseEventType.CLOSED:
            closed.add(event.case_id)
    frozen: dict[str, int] = defaultdict(int)
    waiting: dict[str, int] = defaultdict(int)  # case -> held at agencies that take no orders today
    for (agency_id, case_id, _), amount in held.items():
        frozen[case_id] += amount
        if agency_id in not_taking_orders:
            waiting[case_id] += amount
    beyond = {}
    for case_id, amount in frozen.items():
        allowed = 0 if case_id in closed else max(owed[case_id] - collected.get(case_id, 0), 0)
        if amount > allowed:
            beyond[case_id] = amount - allowed
    unexplained = {c: x for c, x in beyond.items() if x > waiting.get(c, 0)}
    if unexplained:
        return Verdict("never frozen beyond the debt", False,
                       "; ".join(f"case {c}: {x:,} rials beyond" for c, x in sorted(unexplained.items())))
    if beyond:
        return Verdict("never frozen beyond the debt", True,
                       f"{sum(beyond.values()):,} rials of {len(beyond)} case(s) wait for a release at "
                       f"{', '.join(sorted(not_taking_orders))}, which takes no orders today")
    return Verdict("never frozen beyond the debt", True, f"{len(frozen)} cases frozen, each within its debt")


def nothing_lost(dropped_event_ids: Collection[str], landed_events: Iterable[Mapping[str, object]],
                 quarantined_events: Iterable[Mapping[str, object]], inquiries: Iterable[Mapping[str, object]],
                 orders: Iterable[Mapping[str, object]]) -> Verdict:
    problems = []
    seen = {str(r["event_id"]) for r in landed_events} | {str(r.get("event_id")) for r in quarantined_events}
    if missing := set(dropped_event_ids) - seen:
        problems.append(f"{len(missing)} case events neither landed nor quarantined")
    inquiry_rows = list(inquiries)
    ids = [str(r["inquiry_id"]) for r in inquiry_rows]
    if len(ids) != len(set(ids)):
        problems.append(f"{len(ids) - len(set(ids))} inquiries logged twice")
    if unreasoned := [r for r in inquiry_rows if r["status"] != "answered" and not r["reason"]]:
        problems.append(f"{len(unreasoned)} unanswered inquiries without a reason")
    order_rows = list(orders)
    if unfinished := [r for r in order_rows if r["delivery"] not in {"delivered", "failed", "withheld"}]:
        problems.append(f"{len(unfinished)} order sendings without a delivery state")
    if unreasoned_orders := [r for r in order_rows if r["delivery"] == "failed" and not r["reason"]]:
        problems.append(f"{len(unreasoned_orders)} failed order sendings without a reason")
    if problems:
        return Verdict("nothing lost", False, "; ".join(problems))
    return Verdict("nothing lost", True, f"{len(set(dropped_event_ids))} case events, {len(ids)} inquiries and "
                                         f"{len(order_rows)} order sendings, each in a recorded state")


def nothing_twice(acknowledgements: Iterable[Mapping[str, object]], held: Mapping[tuple[str, str, str], int],
                  collected: Mapping[str, int], paid: Mapping[tuple[str, str, str], int]) -> Verdict:
    latest: dict[tuple[str, str, str], tuple[tuple[str, str], int]] = {}
    for ack in acknowledgements:
        if ack.get("order_kind") == "payout":
            continue  # a payout moves the court's money, not an asset's hold
        key = (str(ack["agency_id"]), str(ack["case_id"]), str(ack["asset_ref"]))
        stamp = (str(ack["acknowledged_at"]), str(ack["order_id"]))
        if key not in latest or stamp > latest[key][0]:
            latest[key] = (stamp, int(str(ack["frozen_total_rial"])))
    said = {key: total for key, (_, total) in latest.items() if total > 0}
    problems = []
    if differ := {k for k in said.keys() | held.keys() if said.get(k) != held.get(k)}:
        problems.append(f"{len(differ)} holds differ from the agencies' acknowledgements (e.g. " + ", ".join(
            f"{'/'.join(k)}: held {held.get(k, 0):,}, acknowledged {said.get(k, 0):,}" for k in sorted(differ)[:3])
            + ")")
    paid_by_case: dict[str, int] = defaultdict(int)
    for (_, case_id, _), amount in paid.items():
        paid_by_case[case_id] += amount
    if overpaid := {c for c, amount in paid_by_case.items() if amount > collected.get(c, 0)}:
        problems.append(f"creditors of {len(overpaid)} case(s) paid more than was collected")
    if problems:
        return Verdict("nothing twice", False, "; ".join(problems))
    return Verdict("nothing twice", True, f"{len(held)} holds as acknowledged; "
                                          f"{sum(paid_by_case.values()):,} rials paid out of "
                                          f"{sum(collected.values()):,} collected")
