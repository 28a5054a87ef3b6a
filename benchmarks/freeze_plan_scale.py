"""Plan and diff freezes for 100,000 open cases, next to a floor measured in the same run.

    .venv/bin/python -m benchmarks.freeze_plan_scale [--cases 100000] [--rounds 3]

Builds, in memory, an enforcement book at steady state: ``--cases`` open cases on debtors of whom a
fifth have two or three cases, each debtor with one to three bank accounts (some salary or pension),
maybe a security holding, a vehicle and a property; the acknowledgement and order logs of a previous
cycle that froze the plan of the day before, after which 10% of the cases received a payment, 3% were
closed, 2% of the freezes came back partial and 1% of the orders are still unanswered.

Times what one reconciliation pass computes before it sends anything:
- ``state``: :func:`estelam.freeze.reconciliation.ledger_state` (held amounts, versions, asset news, order book);
- ``plan``: :func:`estelam.freeze.planner.plan_freezes` (the desired state for every open case);
- ``diff``: :func:`estelam.freeze.reconciliation.plan_orders` (resends plus freezes, top-ups, releases, transfers).

The floor is the least any plan-and-diff must do on the same data in Python: group assets by debtor,
sort each debtor's cases and assets, and compare a dict of planned amounts with a dict of held ones.
Prints the best of ``--rounds`` for each and the ratio to the floor. A measurement, not a test.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from benchmarks.figures import emit, headline
from estelam.contracts.rows import FreezeAcknowledgementsRow, FreezeOrdersRow
from estelam.core.domain import OrderKind
from estelam.freeze.ledger import CaseFacts, HubView, ReasonCode, ledger_state, order_id_for, plan_orders
from estelam.freeze.planner import LIQUIDITY_RANK, KnownAsset, plan_freezes

DEFAULT_CASES = 100_000
DEFAULT_ROUNDS = 3
SEED = 1403
NOW = datetime(2026, 11, 2, tzinfo=UTC)
YESTERDAY = NOW - timedelta(days=1)
AGENCY_DEADLINE_S = 30.0
BANKS = ("bank_melli", "bank_mellat", "bank_saderat")
PAID_SHARE, CLOSED_SHARE, PARTIAL_SHARE, UNANSWERED_SHARE = 0.10, 0.03, 0.02, 0.01

T = TypeVar("T")


def book(n_cases: int, rng: random.Random) -> tuple[HubView, list[FreezeOrdersRow], list[FreezeAcknowledgementsRow]]:
    """Cases, reported assets, and yesterday's order and acknowledgement logs."""
    cases: list[CaseFacts] = []
    assets: list[KnownAsset] = []
    person = 0
    while len(cases) < n_cases:
        person += 1
        pid = f"P{person:07d}"
        kind = "legal" if rng.random() < 0.15 else "natural"
        for c in range(rng.choices([1, 2, 3], weights=[80, 15, 5])[0]):
            cases.append(CaseFacts(f"1403-{len(cases):06d}", pid, kind, YESTERDAY - timedelta(days=30 - c),
                                   rng.randrange(10_000_000, 5_000_000_000), True))
        for b in range(rng.randint(1, 3)):
            assets.append(KnownAsset(pid, BANKS[b], "bank_account", f"IR{person:014d}{b:010d}",
                                     rng.randrange(0, 3_000_000_000), YESTERDAY, rng.random() < 0.15))
        if rng.random() < 0.4:
            assets.append(KnownAsset(pid, "csdi", "security_holding", f"{pid}:FOOLAD",
                                     rng.randrange(1_000_000, 2_000_000_000), YESTERDAY))
        if rng.random() < 0.5:
            assets.append(KnownAsset(pid, "traffic_police", "vehicle", f"{person:07d}-PL",
                                     rng.randrange(500_000_000, 20_000_000_000), YESTERDAY))
        if rng.random() < 0.3:
            assets.append(KnownAsset(pid, "land_registry", "property", f"11/{person}/1",
                                     rng.randrange(5_000_000_000, 90_000_000_000), YESTERDAY))
    view = HubView(cases, assets)
    yesterday = plan_freezes(view.open_cases(), assets)
    attempts: list[FreezeOrdersRow] = []
    acks: list[FreezeAcknowledgementsRow] = []
    for row in yesterday:
        key = row.key
        order_id = order_id_for(key, OrderKind.FREEZE, 0)
        unanswered = rng.random() < UNANSWERED_SHARE
        attempts.append({
            "order_id": order_id, "cycle_id": "yesterday", "kind": "freeze", "case_id": row.case_id,
            "person_id": row.person_id, "agency_id": row.agency_id, "asset_kind": row.asset_kind,
            "asset_ref": row.asset_ref, "amount_rial": row.planned_freeze_rial, "restriction_type": None,
            "version": 0, "reason_code": str(ReasonCode.NEW_FREEZE), "confidential": False,
            "first_issued_at": YESTERDAY, "deadline_at": YESTERDAY + timedelta(seconds=AGENCY_DEADLINE_S),
            "issued_at": YESTERDAY, "delivery": "failed" if unanswered else "delivered",
            "status": "late" if unanswered else "acknowledged", "reason": None, "message_id": None,
            "cancels_order_id": None,
        })
        if unanswered:
            continue
        partial = rng.random() < PARTIAL_SHARE
        amount = row.planned_freeze_rial // 2 if partial else row.planned_freeze_rial
        acks.append({"order_id": order_id, "order_kind": "freeze", "agency_id": row.agency_id,
                     "case_id": row.case_id, "asset_ref": row.asset_ref, "status": "partial" if partial else "done",
                     "acknowledged_amount_rial": amount, "frozen_total_rial": amount,
                     "acknowledged_at": YESTERDAY + timedelta(seconds=1), "reason": None})
    today = []
    for case in cases:
        draw = rng.random()
        if draw < PAID_SHARE:
            case = CaseFacts(case.case_id, case.person_id, case.person_kind, case.filed_at,
                             case.outstanding_rial // rng.choice([2, 10, 1_000_000_000_000]), True)
        elif draw < PAID_SHARE + CLOSED_SHARE:
            case = CaseFacts(case.case_id, case.person_id, case.person_kind, case.filed_at, case.outstanding_rial,
                             False)
        today.append(case)
    return HubView(today, assets), attempts, acks


def floor(view: HubView, acks: list[FreezeAcknowledgementsRow]) -> int:
    """Group, sort, and diff two dicts: the least work a plan-and-diff does on these inputs."""
    by_person: dict[str, list[KnownAsset]] = defaultdict(list)
    for asset in view.assets:
        by_person[asset.person_id].append(asset)
    cases_of: dict[str, list[CaseFacts]] = defaultdict(list)
    for case in view.cases:
        cases_of[case.person_id].append(case)
    wanted: dict[tuple[str, str, str], int] = {}
    for person_id, cases in cases_of.items():
        cases.sort(key=lambda c: (c.filed_at, c.case_id))
        owned = sorted(by_person[person_id], key=lambda a: (LIQUIDITY_RANK[a.asset_kind], -a.value_rial))
        if owned:
            wanted[(cases[0].case_id, owned[0].agency_id, owned[0].asset_ref)] = cases[0].outstanding_rial
    held = {(str(a["case_id"]), str(a["agency_id"]), str(a["asset_ref"])): int(a["frozen_total_rial"])
            for a in acks}
    return sum(1 for key in wanted.keys() | held.keys() if wanted.get(key, 0) != held.get(key, 0))


def best_of(rounds: int, work: Callable[[], T]) -> tuple[float, T]:
    """The fastest of ``rounds`` runs of ``work``, each after a full collection, and what the last run returned."""
    times: list[float] = []
    for _ in range(rounds):
        gc.collect()  # each round starts from the same collector state (untimed): the floor's time moved with it
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return min(times), result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=DEFAULT_CASES)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    view, attempts, acks = book(args.cases, random.Random(SEED))
    print(f"book: {len(view.cases):,} cases ({sum(c.is_open for c in view.cases):,} open), {len(view.assets):,} "
          f"assets, {len(attempts):,} orders, {len(acks):,} acknowledgements  ({time.perf_counter() - started:.1f}s)")
    deadlines = {a.agency_id: AGENCY_DEADLINE_S for a in view.assets}
    t_state, state = best_of(args.rounds, lambda: ledger_state(attempts, acks))
    open_cases = view.open_cases()
    t_plan, plan = best_of(args.rounds, lambda: plan_freezes(open_cases, view.assets, state.news,
                                                             collected=state.collected, held=state.held))
    t_diff, orders = best_of(args.rounds, lambda: plan_orders(plan, state, view, now=NOW,
                                                              deadlines_s=deadlines))
    t_floor, _ = best_of(args.rounds, lambda: floor(view, acks))
    total = t_state + t_plan + t_diff
    by_kind: dict[str, int] = defaultdict(int)
    for order in orders:
        by_kind[str(order.order.kind)] += 1
    print(f"plan rows: {len(plan):,}; orders: {len(orders):,} {dict(by_kind)}")
    print(f"{'step':<8}{'seconds':>10}")
    for name, seconds in (("state", t_state), ("plan", t_plan), ("diff", t_diff), ("total", total),
                          ("floor", t_floor)):
        print(f"{name:<8}{seconds:>10.2f}")
    print(f"plan and diff of {args.cases:,} open cases: {total:.2f}s, {total / t_floor:.1f}x the floor "
          f"({args.cases / total:,.0f} cases/s)")
    emit("freeze-plan", [headline(f"plan and diff, {args.cases:,} cases", total, "s", t_floor)],
         cases=args.cases, rounds=args.rounds, state_s=round(t_state, 3), plan_s=round(t_plan, 3),
         diff_s=round(t_diff, 3), floor_s=round(t_floor, 3), plan_rows=len(plan), orders=dict(by_kind))


if __name__ == "__main__":
    main()
