"""The freeze plan: which assets to freeze, and for how much, so that every open case is covered, never more.

A pure function of what the hub knows (open cases, the assets agencies reported, what their
acknowledgements taught since), used by reconciliation, which re-plans after every round of
acknowledgements. The ``freeze_plan`` mart computes the same plan in SQL window functions
(``dbt/models/intermediate/int_freeze_allocations.sql``); a differential test holds that model equal to
:func:`plan_table` on a generated corpus, so this module stays the one definition.

Per debtor, across every agency at once:

1. Cases line up oldest first along one axis of cumulative need; a case needs what it still owes
   minus what the hub already collected for it (transfers to the court's account).
2. Assets line up along one axis of cumulative capacity: liquid first (bank balances, then
   securities), then, only if those fall short, the smallest set of indivisible assets (vehicles,
   properties) that covers the remainder. Protected (salary, pension) accounts never appear, and a
   natural person keeps a subsistence minimum of their ordinary bank balances free.
3. A case gets from an asset exactly the overlap of their two intervals, so no case gets more than
   it needs and no asset gives more than it can: several cases against one debtor share the debtor's
   assets without double counting.

The plan is **stable**: what agencies already hold frozen is kept while it still serves the debt, and
only the rest is planned along the two axes above. Before the axes, each case keeps its holds (its held
assets in a fixed order, up to what it owes), each asset keeps its holds up to what it can still give
(older cases first), and a natural person's bank holds stay within what may be frozen of their balances.
So a shortfall at one asset moves only the shortfall, a partial payment releases only what that case no
longer needs, and no money moves between cases or assets unless what is owed, or what an asset can hold,
changed (:func:`kept_holds`).

An asset's capacity is its reported value, less what was transferred out of it since, and capped by
what its agency could actually block when it last answered an order with ``partial``, ``refused`` or
``unknown_asset`` after that report (Brazil's "teimosinha": the next report re-opens it, and the
top-up is asked again). Indivisible assets are restricted whole at the agency, so the value they
take out of the debtor's hands may exceed the need by less than the value of the last one chosen:
the one declared tolerance.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import TYPE_CHECKING, NotRequired, TypedDict

import pyarrow as pa

if TYPE_CHECKING:  # types only: the planner stays a pure module, nothing of the contracts loader at run time
    from estelam.contracts.rows import FreezeAcknowledgementsRow

#: The first rials of a natural person's ordinary (unprotected) bank balances that are never frozen,
#: across all their banks. The ``freeze_plan`` mart reads the dbt var ``subsistence_minimum_rial`` and
#: falls back to this.
SUBSISTENCE_MINIMUM_RIAL = 50_000_000
#: Liquid first: the order the plan reaches for assets (equal to the dbt var ``liquidity_rank``).
LIQUIDITY_RANK: dict[str, int] = {"bank_account": 1, "security_holding": 2, "vehicle": 3, "property": 4}
#: Frozen whole at the agency, whatever the claim: chosen only when liquid assets fall short.
INDIVISIBLE_KINDS = frozenset({"vehicle", "property"})
BANK_ACCOUNT = "bank_account"
NATURAL_PERSON = "natural"

AssetKey = tuple[str, str]  # (agency_id, asset_ref)
HoldKey = tuple[str, str, str]  # (case_id, agency_id, asset_ref)


@dataclass(frozen=True, slots=True)
class OpenCase:
    """A case that may need freezes: what it still owes, by the court's account of payments."""

    case_id: str
    person_id: str
    person_kind: str
    filed_at: datetime
    outstanding_rial: int


@dataclass(frozen=True, slots=True)
class KnownAsset:
    """An asset as its agency last reported it."""

    person_id: str
    agency_id: str
    asset_kind: str
    asset_ref: str
    value_rial: int
    learned_at: datetime
    is_protected: bool = False
    rank: int | None = None  # a mapped kind's liquidity rank (its mapping's); the built-in kinds': LIQUIDITY_RANK

    @property
    def key(self) -> AssetKey:
        return (self.agency_id, self.asset_ref)

    @property
    def liquidity_rank(self) -> int:
        return self.rank if self.rank is not None else LIQUIDITY_RANK[self.asset_kind]


@dataclass(frozen=True, slots=True)
class AssetNews:
    """What acknowledgements taught about an asset: a cap on what can be blocked, and money moved out."""

    limit_rial: int | None = None  # what the agency could block in all, when it last fell short
    limit_at: datetime | None = None
    transfers: tuple[tuple[datetime, int], ...] = field(default=())  # (when, rials) sent to the court

    def capacity(self, asset: KnownAsset) -> int:
        """What can be frozen on ``asset`` now, given this news."""
        moved_since_report = sum(r for at, r in self.transfers if at >= asset.learned_at)
        capacity = asset.value_rial - moved_since_report
        if self.limit_rial is not None and self.limit_at is not None and self.limit_at >= asset.learned_at:
            moved_since_limit = sum(r for at, r in self.transfers if at > self.limit_at)
            capacity = min(capacity, self.limit_rial - moved_since_limit)
        return max(capacity, 0)


@dataclass(frozen=True, slots=True)
class PlannedFreeze:
    """One row of the plan: hold ``planned_freeze_rial`` of the asset frozen for the case."""

    case_id: str
    person_id: str
    agency_id: str
    asset_kind: str
    asset_ref: str
    planned_freeze_rial: int
    liquidity_rank: int
    asset_value_rial: int
    blocks_whole_asset: bool

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.case_id, self.agency_id, self.asset_ref)


def _order_key(asset: KnownAsset, capacity: int) -> tuple[int, int, str, str]:
    return (asset.liquidity_rank, -capacity, asset.agency_id, asset.asset_ref)


def smallest_covering_set(pool: list[tuple[KnownAsset, int]], remainder: int) -> list[tuple[KnownAsset, int]]:
    """Indivisible assets to cover ``remainder``: the smallest one that covers it alone, else the largest and repeat.

    Every asset chosen but the last is used in full, so the value restricted beyond the need is less
    than the last one's value. When even all of them fall short, all are chosen.
    """
    left = sorted(pool, key=lambda item: (-item[1], item[0].liquidity_rank, *item[0].key))
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
       ``freezable_bank_rial`` (the balances less the subsistence minimum; ``None`` for a legal person). The
       warehouse's ``int_freeze_allocations`` computes the same passes as window functions.
    """
    capacity = {(asset.agency_id, asset.asset_ref): (asset, c) for asset, c in usable}
    rank = {case.case_id: n for n, case in enumerate(cases)}
    live = [(key, amount, key[1:]) for key, amount in held.items() if amount > 0 and key[1:] in capacity]
    whole_held = sorted({a for _, _, a in live if capacity[a][0].asset_kind in INDIVISIBLE_KINDS},
                        key=lambda a: (capacity[a][0].liquidity_rank, *a))
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
            holds_of[key[0]].append(((capacity[asset_key][0].liquidity_rank, key[1], key[2]), key, amount))
    kept: dict[HoldKey, int] = {}
    for case in cases:  # 1. per case, up to what it owes
        holds = holds_of.get(case.case_id)
        if not holds:
            continue
        holds.sort(key=itemgetter(0))
        upto, owed = 0, case.outstanding_rial
        for _, key, amount in holds:
            upto += amount
            kept[key] = _overlap(upto, amount, owed)
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
                          key=lambda k: (order[k[0]], by_key[k[1:]].liquidity_rank, k[1], k[2])):
            asset, case = by_key[key[1:]], cases[order[key[0]]]
            amount = kept.get(key, 0) + (fill[key].planned_freeze_rial if key in fill else 0)
            yield PlannedFreeze(case.case_id, case.person_id, asset.agency_id, asset.asset_kind, asset.asset_ref,
                                amount, asset.liquidity_rank, asset.value_rial,
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
                        key=lambda i: (i[0].liquidity_rank, *i[0].key))
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
                                    take, asset.liquidity_rank, asset.value_rial,
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


def asset_news(acks: Iterable[FreezeAcknowledgementsRow]) -> tuple[dict[AssetKey, AssetNews], Counter[str]]:
    """Replay acknowledgement rows (oldest first) into per-asset news and the rials collected per case."""
    holds: dict[AssetKey, dict[str, int]] = defaultdict(dict)
    limits: dict[AssetKey, tuple[int, datetime]] = {}
    transfers: dict[AssetKey, list[tuple[datetime, int]]] = defaultdict(list)
    collected: Counter[str] = Counter()
    for ack in acks:
        asset: AssetKey = (str(ack["agency_id"]), str(ack["asset_ref"]))
        at = ack["acknowledged_at"]
        holds[asset][str(ack["case_id"])] = int(ack["frozen_total_rial"])
        status, kind = ack["status"], ack["order_kind"]
        if status == "unknown_asset":
            limits[asset] = (0, at)
        elif kind == "freeze" and status in ("partial", "refused"):
            limits[asset] = (sum(holds[asset].values()), at)  # the agency could block no more than this
        elif kind == "transfer" and int(ack["acknowledged_amount_rial"]) > 0:
            moved = int(ack["acknowledged_amount_rial"])
            transfers[asset].append((at, moved))
            collected[str(ack["case_id"])] += moved
    news = {
        asset: AssetNews(limits[asset][0] if asset in limits else None,
                         limits[asset][1] if asset in limits else None, tuple(transfers.get(asset, ())))
        for asset in limits.keys() | transfers.keys()
    }
    return news, collected



def held_holds(acks: Iterable[FreezeAcknowledgementsRow]) -> dict[HoldKey, int]:
    """What each agency last acknowledged holding frozen per case and asset, replaying ``acks`` in order."""
    held: dict[HoldKey, int] = {}
    for ack in acks:
        held[(str(ack["case_id"]), str(ack["agency_id"]), str(ack["asset_ref"]))] = int(ack["frozen_total_rial"])
    return {key: amount for key, amount in held.items() if amount > 0}


#: Columns of the plan table, as the warehouse model ``int_freeze_allocations`` has them.
PLAN_SCHEMA = pa.schema([
    ("case_id", pa.string()), ("person_id", pa.string()), ("agency_id", pa.string()),
    ("asset_kind", pa.string()), ("asset_ref", pa.string()), ("planned_freeze_rial", pa.int64()),
    ("liquidity_rank", pa.int32()), ("asset_value_rial", pa.int64()), ("blocks_whole_asset", pa.bool_()),
])


class WarehouseCaseRow(TypedDict):
    """The columns of a warehouse ``int_cases`` row the plan reads."""

    case_id: str
    person_id: str
    person_kind: str
    filed_at: datetime
    outstanding_rial: int
    status: str


class WarehouseAssetRow(TypedDict):
    """The columns of a warehouse ``int_assets_latest`` row the plan reads (no value: not plannable)."""

    person_id: str
    agency_id: str
    asset_kind: str
    asset_ref: str
    value_rial: int | None
    learned_at: datetime
    is_protected: bool
    liquidity_rank: NotRequired[int | None]  # the built-in kinds' is LIQUIDITY_RANK's
    can_freeze: NotRequired[bool]  # False: a mapped kind with no freeze operation, never planned (default True)


def plan_table(cases: Iterable[WarehouseCaseRow], assets: Iterable[WarehouseAssetRow],
               acks: Iterable[FreezeAcknowledgementsRow], *, subsistence_minimum_rial: int | None = None) -> pa.Table:
    """The plan as an Arrow table, from rows shaped like ``int_cases``, ``int_assets_latest`` and the ack feed."""
    open_cases = [OpenCase(str(c["case_id"]), str(c["person_id"]), str(c["person_kind"]), c["filed_at"],
                           int(c["outstanding_rial"]))
                  for c in cases if c["status"] == "open"]
    known = [KnownAsset(str(a["person_id"]), str(a["agency_id"]), str(a["asset_kind"]), str(a["asset_ref"]),
                        int(value), a["learned_at"], bool(a["is_protected"]),
                        None if a.get("liquidity_rank") is None or a["asset_kind"] in LIQUIDITY_RANK
                        else a.get("liquidity_rank"))
             for a in assets if (value := a["value_rial"]) is not None and a.get("can_freeze", True)]
    replay = sorted(acks, key=lambda a: a["acknowledged_at"])
    news, collected = asset_news(replay)
    plan = plan_freezes(open_cases, known, news, collected=collected,
                        subsistence_minimum_rial=SUBSISTENCE_MINIMUM_RIAL if subsistence_minimum_rial is None
                        else subsistence_minimum_rial, held=held_holds(replay))
    return pa.Table.from_pylist([{name: getattr(row, name) for name in PLAN_SCHEMA.names} for row in plan],
                                schema=PLAN_SCHEMA)


__all__ = [
    "INDIVISIBLE_KINDS",
    "LIQUIDITY_RANK",
    "PLAN_SCHEMA",
    "SUBSISTENCE_MINIMUM_RIAL",
    "AssetNews",
    "HoldKey",
    "KnownAsset",
    "OpenCase",
    "PlannedFreeze",
    "WarehouseAssetRow",
    "WarehouseCaseRow",
    "asset_news",
    "held_holds",
    "kept_holds",
    "plan_freezes",
    "plan_table",
    "smallest_covering_set",
]
