"""The planner as it was before it went columnar (commit ccad706): a per-debtor Python reference.

The differential test (``test_planner_differential.py``) holds :func:`estelam.freeze.planner.plan_freezes` equal
to :func:`plan_freezes` here, row for row and in order, on large generated books. Kept verbatim on purpose: it
is the old semantics, not a second definition to maintain; change the planner's rules and this file with them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from operator import itemgetter

from estelam.freeze.planner import (
    BANK_ACCOUNT,
    INDIVISIBLE_KINDS,
    LIQUIDITY_RANK,
    NATURAL_PERSON,
    SUBSISTENCE_MINIMUM_RIAL,
    AssetKey,
    AssetNews,
    HoldKey,
    KnownAsset,
    OpenCase,
    PlannedFreeze,
)


def _order_key(asset: KnownAsset, capacity: int) -> tuple[int, int, str, str]:
    return (LIQUIDITY_RANK[asset.asset_kind], -capacity, asset.agency_id, asset.asset_ref)


def smallest_covering_set(pool: list[tuple[KnownAsset, int]], remainder: int) -> list[tuple[KnownAsset, int]]:
    """Indivisible assets to cover ``remainder``: the smallest one that covers it alone, else the largest and repeat.

    Every asset chosen but the last is used in full, so the value restricted beyond the need is less
    than the last one's value. When even all of them fall short, all are chosen.
    """
    left = sorted(pool, key=lambda item: (-item[1], LIQUIDITY_RANK[item[0].asset_kind], *item[0].key))
    chosen: list[tuple[KnownAsset, int]] = []
    while remainder > 0 and left:
        covering = [item for item in left if item[1] >= remainder]
        pick = min(covering, key=lambda item: (item[1], *_order_key(item[0], item[1]))) if covering else left[0]
        chosen.append(pick)
        left.remove(pick)
        remainder -= pick[1]
    return chosen


def _with_subsistence(accounts: list[tuple[KnownAsset, int]], minimum: int) -> list[tuple[KnownAsset, int]]:
    """Leave ``minimum`` rials free across the accounts: the last ones in freezing order give it up first."""
    freezable = max(sum(c for _, c in accounts) - minimum, 0)
    kept = []
    for asset, capacity in accounts:
        take = min(capacity, freezable)
        freezable -= take
        kept.append((asset, take))
    return kept


def _overlap(upto: int, amount: int, limit: int) -> int:
    """What of the interval [upto - amount, upto) lies below ``limit``."""
    return max(min(upto, limit) - (upto - amount), 0)


def kept_holds(cases: list[OpenCase], usable: list[tuple[KnownAsset, int]], held: Mapping[HoldKey, int],
               freezable_bank_rial: int | None, whole_needed_rial: int) -> dict[HoldKey, int]:
    """What of the holds agencies acknowledged still serves the debt (one debtor), in four passes.

    0. Vehicles and properties held, in a fixed order (rank, agency, reference), stay held while those before
       them leave ``whole_needed_rial`` (what liquid assets cannot cover) uncovered; the rest are released, so
       what is restricted whole exceeds the need by less than one of them. 1. Each case keeps its holds, its
       held assets in that fixed order, up to what it owes. 2. Each asset keeps those, older cases first, up to
       what it can give now. 3. A natural person's bank holds, in the accounts' fixed order, up to
       ``freezable_bank_rial`` (the balances less the subsistence minimum; ``None`` for a legal person). Passes
       1-3 repeat until passes 2 and 3 cut nothing, each hold they cut counting in pass 1 only as what they left
       of it. The warehouse's ``int_freeze_allocations`` computes the same passes as window functions.
    """
    capacity = {(asset.agency_id, asset.asset_ref): (asset, c) for asset, c in usable}
    rank = {case.case_id: n for n, case in enumerate(cases)}
    live = [(key, amount, key[1:]) for key, amount in held.items() if amount > 0 and key[1:] in capacity]
    whole_held = sorted({a for _, _, a in live if capacity[a][0].asset_kind in INDIVISIBLE_KINDS},
                        key=lambda a: (LIQUIDITY_RANK[capacity[a][0].asset_kind], *a))
    if whole_held:
        covered = 0
        for asset_key in whole_held:  # 0. whole assets only while the liquid ones fall short
            if covered >= whole_needed_rial:
                del capacity[asset_key]
            else:
                covered += capacity[asset_key][1]
    holds_of: dict[str, list[tuple[tuple[int, str, str], HoldKey, int]]] = defaultdict(list)
    for key, amount, asset_key in live:
        if asset_key in capacity:
            holds_of[key[0]].append(((LIQUIDITY_RANK[capacity[asset_key][0].asset_kind], key[1], key[2]), key, amount))
    for holds in holds_of.values():
        holds.sort(key=itemgetter(0))
    cap = {key: amount for holds in holds_of.values() for _, key, amount in holds}
    while True:  # 1-3 until they agree: a hold cut by pass 2 or 3 no longer counts against its case in pass 1
        wanted: dict[HoldKey, int] = {}
        for case in cases:  # 1. per case, up to what it owes
            upto, owed = 0, case.outstanding_rial
            for _, key, _ in holds_of.get(case.case_id, ()):
                upto += cap[key]
                wanted[key] = _overlap(upto, cap[key], owed)
        kept = dict(wanted)
        # kept is in case order already (pass 1 walks the cases in rank order): group it per asset as it stands
        by_asset: dict[AssetKey, list[HoldKey]] = defaultdict(list)  # 2. per asset, up to what it can give
        for key in kept:
            by_asset[key[1:]].append(key)
        for asset_key, keys in by_asset.items():
            upto, can_give = 0, capacity[asset_key][1]
            for key in keys:
                upto += kept[key]
                kept[key] = _overlap(upto, kept[key], can_give)
        if freezable_bank_rial is not None:  # 3. a natural person's bank holds leave the subsistence minimum free
            upto = 0
            for key in sorted((k for k in kept if capacity[k[1:]][0].asset_kind == BANK_ACCOUNT),
                              key=lambda k: (k[1], k[2], rank[k[0]])):
                upto += kept[key]
                kept[key] = _overlap(upto, kept[key], freezable_bank_rial)
        cut = [key for key, amount in kept.items() if amount < wanted[key]]
        if not cut:
            break
        for key in cut:
            cap[key] = kept[key]
    return {key: amount for key, amount in kept.items() if amount > 0}


def _plan_debtor(cases: list[OpenCase], assets: list[KnownAsset], news: Mapping[AssetKey, AssetNews],
                 subsistence_minimum_rial: int, held: Mapping[HoldKey, int]) -> Iterable[PlannedFreeze]:
    cases = sorted(cases, key=lambda c: (c.filed_at, c.case_id)) if len(cases) > 1 else cases
    usable = []
    for a in assets:
        if a.is_protected:
            continue
        told = news.get((a.agency_id, a.asset_ref)) if news else None  # most assets have no news: skip the call
        capacity = told.capacity(a) if told is not None else a.value_rial
        if capacity > 0:
            usable.append((a, capacity))
    natural = cases[0].person_kind == NATURAL_PERSON
    kept: dict[HoldKey, int] = {}
    if held:
        bank = sum(c for a, c in usable if a.asset_kind == BANK_ACCOUNT)
        freezable_bank = max(bank - subsistence_minimum_rial, 0) if natural else bank
        other_liquid = sum(c for a, c in usable
                           if a.asset_kind != BANK_ACCOUNT and a.asset_kind not in INDIVISIBLE_KINDS)
        whole_needed = sum(c.outstanding_rial for c in cases) - freezable_bank - other_liquid
        kept = kept_holds(cases, usable, held, freezable_bank if natural else None, whole_needed)
    if kept:  # plan only what the kept holds leave: the rest of each case's debt, on the rest of each asset
        kept_of_case: Counter[str] = Counter()
        kept_on_asset: Counter[AssetKey] = Counter()
        for (case_id, agency_id, asset_ref), amount in kept.items():
            kept_of_case[case_id] += amount
            kept_on_asset[(agency_id, asset_ref)] += amount
        rest = [OpenCase(c.case_id, c.person_id, c.person_kind, c.filed_at,
                         c.outstanding_rial - kept_of_case[c.case_id]) for c in cases]
        by_key = {a.key: a for a, _ in usable}
        fill: dict[HoldKey, PlannedFreeze] = {}
        if any(c.outstanding_rial > 0 for c in rest):  # else what is held covers every case: nothing to add
            usable_rest = [(a, c - kept_on_asset[a.key]) for a, c in usable]
            whole_kept = {a.key for a, _ in usable if a.asset_kind in INDIVISIBLE_KINDS and kept_on_asset[a.key] > 0}
            fill = {row.key: row for row in _fill_debtor(rest, usable_rest, subsistence_minimum_rial,
                                                         natural=natural, whole_kept=whole_kept)}
        order = {c.case_id: n for n, c in enumerate(cases)}
        for key in sorted(kept.keys() | fill.keys(),
                          key=lambda k: (order[k[0]], LIQUIDITY_RANK[by_key[k[1:]].asset_kind], k[1], k[2])):
            asset, case = by_key[key[1:]], cases[order[key[0]]]
            amount = kept.get(key, 0) + (fill[key].planned_freeze_rial if key in fill else 0)
            yield PlannedFreeze(case.case_id, case.person_id, asset.agency_id, asset.asset_kind, asset.asset_ref,
                                amount, LIQUIDITY_RANK[asset.asset_kind], asset.value_rial,
                                asset.asset_kind in INDIVISIBLE_KINDS)
        return
    yield from _fill_debtor(cases, usable, subsistence_minimum_rial, natural=natural)


def _fill_debtor(cases: list[OpenCase], usable: list[tuple[KnownAsset, int]], subsistence_minimum_rial: int, *,
                 natural: bool, whole_kept: frozenset[AssetKey] | set[AssetKey] = frozenset()
                 ) -> Iterable[PlannedFreeze]:
    """The two axes: ``cases`` (oldest first) need what they owe; ``usable`` assets give their capacity.

    Vehicles and properties in ``whole_kept`` are restricted already: what is left of them comes right after
    the liquid assets, before any other whole asset is chosen."""
    cases = [c for c in cases if c.outstanding_rial > 0]
    if not cases:
        return
    need = sum(c.outstanding_rial for c in cases)
    usable = [(a, c) for a, c in usable if c > 0]
    accounts = sorted(((a, c) for a, c in usable if a.asset_kind == BANK_ACCOUNT), key=lambda i: _order_key(*i))
    if natural:
        accounts = _with_subsistence(accounts, subsistence_minimum_rial)
    others = sorted(((a, c) for a, c in usable if a.asset_kind != BANK_ACCOUNT
                     and a.asset_kind not in INDIVISIBLE_KINDS), key=lambda i: _order_key(*i))
    liquid = [(a, c) for a, c in accounts + others if c > 0]
    restricted = sorted(((a, c) for a, c in usable if a.key in whole_kept),
                        key=lambda i: (LIQUIDITY_RANK[i[0].asset_kind], *i[0].key))
    remainder = need - sum(c for _, c in liquid) - sum(c for _, c in restricted)
    indivisible = [(a, c) for a, c in usable if a.asset_kind in INDIVISIBLE_KINDS and a.key not in whole_kept]
    axis = liquid + restricted + (smallest_covering_set(indivisible, remainder) if remainder > 0 else [])

    index, still_needed = 0, cases[0].outstanding_rial
    for asset, capacity in axis:
        while capacity > 0 and index < len(cases):
            take = min(capacity, still_needed)
            if take > 0:
                case = cases[index]
                yield PlannedFreeze(case.case_id, case.person_id, asset.agency_id, asset.asset_kind, asset.asset_ref,
                                    take, LIQUIDITY_RANK[asset.asset_kind], asset.value_rial,
                                    asset.asset_kind in INDIVISIBLE_KINDS)
            capacity -= take
            still_needed -= take
            if still_needed == 0:
                index += 1
                still_needed = cases[index].outstanding_rial if index < len(cases) else 0
        if index >= len(cases):
            return


def plan_freezes(cases: Iterable[OpenCase], assets: Iterable[KnownAsset],
                 news: Mapping[AssetKey, AssetNews] | None = None, *,
                 collected: Mapping[str, int] | None = None,
                 subsistence_minimum_rial: int = SUBSISTENCE_MINIMUM_RIAL,
                 held: Mapping[HoldKey, int] | None = None) -> list[PlannedFreeze]:
    """The desired state: for every open case still owing, the assets of its debtor to hold frozen and how much.

    ``collected`` (case_id -> rials already transferred to the court's account) is subtracted from
    what each case owes. ``held`` ((case, agency, asset) -> what the agency last acknowledged holding
    frozen) is kept while it serves the debt (:func:`kept_holds`); the rest is planned afresh. Rows come
    out grouped by debtor, cases oldest first.
    """
    held = held or {}
    news = news or {}
    collected = collected or {}
    by_person: dict[str, list[OpenCase]] = defaultdict(list)
    for case in cases:
        owed = case.outstanding_rial - collected.get(case.case_id, 0)
        if owed > 0:
            by_person[case.person_id].append(
                case if owed == case.outstanding_rial else OpenCase(case.case_id, case.person_id, case.person_kind,
                                                                    case.filed_at, owed))
    assets_of: dict[str, list[KnownAsset]] = defaultdict(list)
    for asset in assets:
        if asset.person_id in by_person:
            assets_of[asset.person_id].append(asset)
    plan: list[PlannedFreeze] = []
    held_of: dict[str, dict[HoldKey, int]] = defaultdict(dict)
    case_person = {c.case_id: c.person_id for cs in by_person.values() for c in cs}
    for key, amount in held.items():
        if amount > 0 and key[0] in case_person:
            held_of[case_person[key[0]]][key] = amount
    for person_id in sorted(by_person):
        plan.extend(_plan_debtor(by_person[person_id], assets_of[person_id], news, subsistence_minimum_rial,
                                 held_of.get(person_id, {})))
    return plan
