"""The columnar planner gives the per-debtor planner's plan, row for row and in order, on large generated books.

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

from estelam.freeze.planner import AssetNews, HoldKey, KnownAsset, OpenCase, plan_freezes, smallest_covering_set
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
