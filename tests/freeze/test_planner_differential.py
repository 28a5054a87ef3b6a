"""The columnar planner gives the per-debtor planner's plan, row for row and in order, on large generated books;
the ledger's state and diff give the same state and the same orders as before (``reference_ledger.py``).

The reference is the planner as it was before it went columnar (``reference_planner.py``). The books mix what
makes the plan hard: debtors with several cases (shared assets), natural persons (subsistence minimum) and legal
ones, protected accounts, assets worth nothing, liquid assets that fall short (vehicles and properties chosen by
the covering rule, ties in value), holds acknowledged by agencies that exceed what is owed now (partial payments,
money collected) or what an asset can give now (partial acknowledgements, transfers, unknown assets), holds of
cases since closed, holds on whole assets no longer needed, and few distinct values so that ties are common.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from benchmarks import freeze_plan_scale
from estelam.cases.directives import CaseDirectives
from estelam.contracts.registry import CourtAccount
from estelam.contracts.rows import FreezeAcknowledgementsRow, FreezeOrdersRow
from estelam.core.domain import OrderKind, RestrictionType
from estelam.freeze.ledger import CaseFacts, HubView, ReasonCode, ledger_state, order_id_for, plan_orders
from estelam.freeze.planner import AssetNews, HoldKey, KnownAsset, OpenCase, plan_freezes, smallest_covering_set
from tests.freeze import reference_ledger
from tests.freeze import reference_planner as reference

T0 = datetime(2026, 11, 1, tzinfo=UTC)
BANKS = ("bank_a", "bank_b", "bank_c")
#: Few distinct values, so that capacities, debts and filing times tie often.
VALUES = (0, 40, 50, 100, 100, 150, 200, 300, 300, 500, 800, 1_000, 2_500, 6_000)
MINIMUM = 120

Book = tuple[list[OpenCase], list[KnownAsset], dict[tuple[str, str], AssetNews], dict[str, int], dict[HoldKey, int]]


def generated_book(seed: int, debtors: int) -> Book:
    """Open cases, reported assets, asset news, collected money and acknowledged holds of ``debtors`` debtors."""
    rng = random.Random(seed)
    cases: list[OpenCase] = []
    assets: list[KnownAsset] = []
    news: dict[tuple[str, str], AssetNews] = {}
    collected: dict[str, int] = {}
    held: dict[HoldKey, int] = {}
    for d in rng.sample(range(debtors * 3), debtors):  # persons not in sorted order
        person = f"P{d:06d}"
        kind = rng.choice(["natural", "natural", "legal"])
        mine: list[OpenCase] = []
        for c in range(rng.choice([1, 1, 1, 2, 3, 4])):
            owes = rng.choice(VALUES[1:]) * rng.choice([1, 1, 3])
            case = OpenCase(f"C{d:06d}-{rng.randrange(3)}{c}", person, kind,
                            T0 - timedelta(days=rng.choice([1, 2, 2, 5])), owes)
            mine.append(case)
            if rng.random() < 0.15:
                collected[case.case_id] = rng.choice(VALUES)
        closed = [OpenCase(f"X{d:06d}-{c}", person, kind, T0, 100) for c in range(rng.random() < 0.2)]
        owned: list[KnownAsset] = []
        for b in rng.sample(BANKS, rng.randint(0, 3)):
            owned.append(KnownAsset(person, b, "bank_account", f"IR{d:06d}{b}", rng.choice(VALUES), T0,
                                    rng.random() < 0.15))
        for s in range(rng.choice([0, 0, 1, 2])):
            owned.append(KnownAsset(person, "csdi", "security_holding", f"{person}:S{s}", rng.choice(VALUES), T0))
        for v in range(rng.choice([0, 0, 1, 2, 3])):
            owned.append(KnownAsset(person, "traffic_police", "vehicle", f"{d:06d}-V{v}", rng.choice(VALUES) * 2, T0))
        for p in range(rng.choice([0, 0, 1, 2])):
            owned.append(KnownAsset(person, "land_registry", "property", f"11/{d}/{p}", rng.choice(VALUES) * 4, T0))
        rng.shuffle(owned)
        for asset in owned:
            draw = rng.random()
            if draw < 0.08:
                news[asset.key] = AssetNews(rng.choice(VALUES), T0 + timedelta(hours=1))
            elif draw < 0.14:
                news[asset.key] = AssetNews(None, None, ((T0 + timedelta(hours=2), rng.choice(VALUES)),))
            elif draw < 0.16:
                news[asset.key] = AssetNews(0, T0 + timedelta(hours=1))
            for case in mine + closed:  # what agencies acknowledged holding (yesterday's plan, or not)
                if rng.random() < 0.35:
                    held[(case.case_id, *asset.key)] = rng.choice(VALUES)
        cases += mine
        assets += owned
    rng.shuffle(cases)
    return cases, assets, news, collected, held


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_columnar_plan_equals_the_reference_row_for_row(seed: int) -> None:
    cases, assets, news, collected, held = generated_book(seed, 2_500)
    for holds in ({}, held):
        for minimum in (MINIMUM, 0):
            ours = plan_freezes(cases, assets, news, collected=collected, subsistence_minimum_rial=minimum, held=holds)
            theirs = reference.plan_freezes(cases, assets, news, collected=collected,
                                            subsistence_minimum_rial=minimum, held=holds)
            assert ours == theirs
    # the book exercises what it claims to: whole assets planned, holds kept and cut, several cases per debtor
    plan = plan_freezes(cases, assets, news, collected=collected, subsistence_minimum_rial=MINIMUM, held=held)
    assert {row.asset_kind for row in plan} == {"bank_account", "security_holding", "vehicle", "property"}
    planned = {row.key: row.planned_freeze_rial for row in plan}
    assert sum(1 for key, amount in held.items() if planned.get(key) == amount) > 500
    assert sum(1 for key, amount in held.items() if 0 < planned.get(key, 0) < amount) > 50
    assert sum(1 for key, amount in held.items() if amount > 0 and key not in planned) > 500
    assert len({row.person_id for row in plan}) < len({row.case_id for row in plan})


def test_the_plan_of_nothing_is_empty() -> None:
    cases, assets, news, collected, held = generated_book(5, 50)
    assert plan_freezes([], assets, news, collected=collected, held=held) == []
    assert plan_freezes(cases, [], news, collected=collected, held=held) == []
    assert reference.plan_freezes(cases, [], news, collected=collected, held=held) == []


def test_covering_set_equals_the_reference_on_ties() -> None:
    rng = random.Random(7)
    for _ in range(2_000):
        pool = [(KnownAsset("P", rng.choice(["traffic_police", "land_registry"]),
                            rng.choice(["vehicle", "property"]), f"R{rng.randrange(5)}", 0, T0), rng.choice(VALUES))
                for _ in range(rng.randint(0, 6))]
        remainder = rng.choice(VALUES) * rng.choice([1, 2, 4])
        assert smallest_covering_set(pool, remainder) == reference.smallest_covering_set(pool, remainder)


def directed_book(n_cases: int, seed: int) -> tuple[HubView, list[FreezeOrdersRow], list[FreezeAcknowledgementsRow]]:
    """The benchmark's book at steady state (payments, closures, partial and unanswered orders), with transfers to
    the court, creditors to pay out to, and the judge's directives on some cases: collection (with and without a
    limit), a vehicle's restriction changed or lifted, releases (of an amount, of all), cancelled orders."""
    rng = random.Random(seed)
    view, attempts, acks = freeze_plan_scale.book(n_cases, rng)
    for row in attempts:  # vehicles restricted by a directive since withdrawn: today's default differs
        if row["asset_kind"] == "vehicle" and rng.random() < 0.2:
            row["restriction_type"] = "seizure"
    held = {(str(a["case_id"]), str(a["agency_id"]), str(a["asset_ref"])): a for a in acks}
    later = freeze_plan_scale.YESTERDAY + timedelta(hours=1)
    for (case_id, agency_id, asset_ref), ack in list(held.items()):
        if agency_id.startswith("bank_") and rng.random() < 0.05:  # money moved to the court's account
            moved = int(ack["frozen_total_rial"]) // 2
            order_id = order_id_for((case_id, agency_id, asset_ref), OrderKind.TRANSFER, 1)
            attempts.append(ack_order(attempts, ack, order_id, "transfer", moved, later))
            acks.append({**ack, "order_id": order_id, "order_kind": "transfer", "acknowledged_amount_rial": moved,
                         "frozen_total_rial": int(ack["frozen_total_rial"]) - moved, "acknowledged_at": later})
    cases = [CaseFacts(c.case_id, c.person_id, c.person_kind, c.filed_at, c.outstanding_rial, c.is_open,
                       f"IR{n:022d}" if rng.random() < 0.5 else None) for n, c in enumerate(view.cases)]
    orders_of: dict[str, list[FreezeOrdersRow]] = {}
    for row in attempts:
        orders_of.setdefault(str(row["case_id"]), []).append(row)
    directives: dict[str, CaseDirectives] = {}
    for case in rng.sample(cases, len(cases) // 10):
        mine = orders_of.get(case.case_id, [])
        vehicles = [str(r["asset_ref"]) for r in mine if r["asset_kind"] == "vehicle"]
        draw = rng.random()
        if draw < 0.3:
            directives[case.case_id] = CaseDirectives(collect=True, collect_limit_rial=rng.choice([None, 10**8]))
        elif draw < 0.5 and vehicles:
            directives[case.case_id] = CaseDirectives(
                restriction_type=RestrictionType.SEIZURE,
                vehicle_restrictions={vehicles[0]: rng.choice([None, RestrictionType.CIRCULATION])})
        elif draw < 0.7 and mine:
            directives[case.case_id] = CaseDirectives(releases=(
                (f"D{case.case_id}", rng.choice([None, str(mine[0]["asset_ref"])]), rng.choice([None, 10**7])),))
        elif draw < 0.9 and mine:
            directives[case.case_id] = CaseDirectives(cancelled_orders=frozenset({str(mine[0]["order_id"])}))
        else:
            directives[case.case_id] = CaseDirectives(confidential=True)
    court = CourtAccount("bank_melli", "IR000000000000000000000001")
    return HubView(cases, view.assets, directives, court), attempts, acks


def ack_order(attempts: list[FreezeOrdersRow], ack: FreezeAcknowledgementsRow, order_id: str, kind: str,
              amount: int, at: datetime) -> FreezeOrdersRow:
    """The order row of a later order on the key an acknowledgement answered (copied from that key's order)."""
    first = next(r for r in attempts if r["order_id"] == ack["order_id"])
    return {**first, "order_id": order_id, "kind": kind, "amount_rial": amount, "version": 1,
            "reason_code": "collection", "first_issued_at": at, "issued_at": at, "deadline_at": at,
            "delivery": "delivered", "status": "acknowledged"}


@pytest.mark.parametrize("seed", [11, 12])
def test_state_and_orders_equal_the_reference_on_a_directed_book(seed: int) -> None:
    view, attempts, acks = directed_book(6_000, seed)
    ours, theirs = ledger_state(attempts, acks), reference_ledger.ledger_state(attempts, acks)
    for name in ("held", "versions", "news", "collected", "paid_out", "refused_payouts", "last_status",
                 "acknowledged", "frozen_after", "restrictions"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert dict(ours.issued.items()) == theirs.issued
    assert ours.in_flight == theirs.in_flight
    deadlines = {a.agency_id: 30.0 for a in view.assets}
    now = freeze_plan_scale.NOW
    open_cases = view.open_cases()
    plan = plan_freezes(open_cases, view.assets, ours.news, collected=ours.collected, held=ours.held)
    assert plan == reference.plan_freezes(open_cases, view.assets, theirs.news, collected=theirs.collected,
                                          held=theirs.held)
    orders = plan_orders(plan, ledger_state(attempts, acks), view, now=now, deadlines_s=deadlines)
    expected = reference_ledger.plan_orders(plan, theirs, view, now=now, deadlines_s=deadlines)
    assert orders == expected
    kinds = {str(o.order.kind) for o in orders}
    assert {"freeze", "release", "transfer", "cancel", "payout"} <= kinds, kinds
    reasons = {o.reason_code for o in orders}
    assert {ReasonCode.RESTRICTION_CHANGED, ReasonCode.JUDGE_RELEASE, ReasonCode.CASE_CLOSED,
            ReasonCode.EXCESS} <= reasons, reasons
    assert any(o.reason_code is ReasonCode.RESTRICTION_CHANGED and o.order.case_id not in view.directives
               for o in orders)
    # and skipping what was sent skips the same orders
    sent = {o.order.order_id for o in orders[::3]}
    assert plan_orders(plan, ours, view, now=now, deadlines_s=deadlines, skip=sent) == \
        reference_ledger.plan_orders(plan, theirs, view, now=now, deadlines_s=deadlines, skip=sent)
