"""The freeze plan: which assets to freeze, and for how much, so that every open case is covered, never more.

A pure function of what the hub knows (open cases, the assets agencies reported, what their
acknowledgements taught since), used by reconciliation, which re-plans after every round of
acknowledgements. The ``freeze_plan`` mart computes the same plan in SQL window functions
(``dbt/models/intermediate/int_freeze_allocations.sql``); a differential test holds that model equal to
:func:`plan_table` on a generated corpus, so this module stays the one definition.

Columnar, like the model: the passes below run over every debtor at once as sorted NumPy arrays and segmented
running totals; only the covering choice of vehicles and properties runs in Python, per debtor whose liquid
assets fall short. ``tests/freeze/test_planner_differential.py`` holds it equal, row for row and in order, to
the per-debtor planner it replaced (kept in ``tests/freeze/reference_planner.py``).

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
changed (:func:`_kept_holds`).

An asset's capacity is its reported value, less what was transferred out of it since, and capped by
what its agency could actually block when it last answered an order with ``partial``, ``refused`` or
``unknown_asset`` after that report (Brazil's "teimosinha": the next report re-opens it, and the
top-up is asked again). Indivisible assets are restricted whole at the agency, so the value they
take out of the debtor's hands may exceed the need by less than the value of the last one chosen:
the one declared tolerance.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress, repeat, starmap
from operator import eq, itemgetter, or_
from typing import TYPE_CHECKING, NamedTuple, NotRequired, ParamSpec, TypedDict, TypeVar, overload

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

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


class PlannedFreeze(NamedTuple):
    """One row of the plan: hold ``planned_freeze_rial`` of the asset frozen for the case.

    Immutable, and a named tuple rather than a frozen dataclass: a plan has a row per case and asset, and a
    frozen dataclass costs some 5 us a row to build (one ``object.__setattr__`` per field), as much as the
    whole columnar plan."""

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


PlanColumns = tuple[list[str], list[str], list[str], list[str], list[str], list[int], list[int], list[int], list[bool]]


class FreezePlan(Sequence[PlannedFreeze]):
    """The plan: a sequence of :class:`PlannedFreeze` rows, kept as their columns (in :class:`PlannedFreeze`'s
    field order) and built into rows only when read as rows.

    A cycle's diff (:func:`estelam.freeze.ledger.plan_orders`) reads the keys and amounts of every row, and the
    rest of only the rows that get an order, so it reads the columns; building a named tuple per row (158,000 at
    100,000 cases) was a tenth of the plan's time. Equal to any sequence of the same rows (a list of them)."""

    __slots__ = ("_columns", "_rows")

    def __init__(self, columns: PlanColumns) -> None:
        self._columns = columns
        self._rows: list[PlannedFreeze] | None = None

    @classmethod
    def of_rows(cls, rows: Iterable[PlannedFreeze]) -> FreezePlan:
        """The plan of ``rows`` (a plan built elsewhere: a list of rows)."""
        if isinstance(rows, FreezePlan):
            return rows
        listed = list(rows)
        columns = tuple(map(list, zip(*listed, strict=True))) if listed else tuple([] for _ in PlannedFreeze._fields)
        plan = cls(columns)  # type: ignore[arg-type]  # nine lists, in the fields' order
        plan._rows = listed
        return plan

    @property
    def columns(self) -> PlanColumns:
        """The rows' fields as lists: case_id, person_id, agency_id, asset_kind, asset_ref, planned_freeze_rial,
        liquidity_rank, asset_value_rial, blocks_whole_asset."""
        return self._columns

    def keys(self) -> list[HoldKey]:
        """Each row's (case_id, agency_id, asset_ref), in order."""
        case_ids, _, agency_ids, _, asset_refs, *_ = self._columns
        return list(zip(case_ids, agency_ids, asset_refs, strict=True))

    def _built(self) -> list[PlannedFreeze]:
        if self._rows is None:
            self._rows = list(starmap(PlannedFreeze, zip(*self._columns, strict=True)))
        return self._rows

    def __len__(self) -> int:
        return len(self._columns[0])

    @overload
    def __getitem__(self, index: int) -> PlannedFreeze: ...
    @overload
    def __getitem__(self, index: slice) -> list[PlannedFreeze]: ...
    def __getitem__(self, index: int | slice) -> PlannedFreeze | list[PlannedFreeze]:
        return self._built()[index]

    def __iter__(self) -> Iterator[PlannedFreeze]:
        return iter(self._built())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FreezePlan):
            return self._columns == other._columns
        if isinstance(other, list | tuple):
            return self._built() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a sequence compared by its rows, as a list is

    def __repr__(self) -> str:
        return f"FreezePlan({self._built()!r})"


def _covering_choice(pool: list[tuple[int, int, str, str]], remainder: int) -> list[int]:
    """Positions in ``pool`` ((capacity, liquidity rank, agency, reference) each) of :func:`smallest_covering_set`."""
    left = sorted(range(len(pool)), key=lambda i: (-pool[i][0], *pool[i][1:]))
    chosen: list[int] = []
    while remainder > 0 and left:
        covering = [i for i in left if pool[i][0] >= remainder]
        pick = min(covering, key=lambda i: pool[i]) if covering else left[0]
        chosen.append(pick)
        left.remove(pick)
        remainder -= pool[pick][0]
    return chosen


def smallest_covering_set(pool: list[tuple[KnownAsset, int]], remainder: int) -> list[tuple[KnownAsset, int]]:
    """Indivisible assets to cover ``remainder``: the smallest one that covers it alone, else the largest and repeat.

    Every asset chosen but the last is used in full, so the value restricted beyond the need is less
    than the last one's value. When even all of them fall short, all are chosen. Ties go by liquidity rank,
    agency and reference.
    """
    picks = _covering_choice([(c, a.liquidity_rank, a.agency_id, a.asset_ref) for a, c in pool],
                             remainder)
    return [pool[i] for i in picks]


Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]


def _sums(groups: Ints, values: Ints, n: int) -> Ints:
    """Per group ``0..n-1``: the sum of ``values`` (exact in int64, unlike a weighted bincount)."""
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, groups, values)
    return out


def _running(values: Ints, groups: Ints) -> Ints:
    """Running totals of ``values`` restarting at each group (``groups`` sorted: each group's rows together)."""
    if len(values) == 0:
        return values.copy()
    total = np.cumsum(values)
    starts = np.flatnonzero(np.concatenate(([True], groups[1:] != groups[:-1])))
    before = np.repeat(total[starts] - values[starts], np.diff(np.append(starts, len(values))))
    return np.asarray(total - before, dtype=np.int64)


def _overlap(upto: Ints, amount: Ints, limit: Ints) -> Ints:
    """What of each interval [upto - amount, upto) lies below ``limit``."""
    return np.asarray(np.maximum(np.minimum(upto, limit) - (upto - amount), 0), dtype=np.int64)


def _codes(values: pa.Array) -> Ints:
    """Each string's place in sorted order (equal strings, equal codes): strings compared as Python does."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(pc.rank(values, sort_keys="ascending", tiebreaker="dense").to_numpy(), dtype=np.int64)


def _ints(values: pa.Array | pa.ChunkedArray) -> Ints:
    return np.asarray(values.to_numpy(), dtype=np.int64)


Strings = npt.NDArray[np.object_]


@dataclass(frozen=True, slots=True)
class _Book:
    """The planner's input as columns: cases still owing (sorted by debtor, oldest first) and usable assets."""

    case_ids: Strings  # per case owing, by (person, filed_at, case_id)
    case_persons: Strings
    owed: Ints  # per case: outstanding less collected
    case_debtor: Ints  # per case: the debtor's number (persons in sorted order)
    natural: Flags  # per debtor
    debtor: Ints  # per usable asset (not protected, capacity > 0, of a debtor owing), in input order
    capacity: Ints
    rank: Ints  # liquidity rank
    form: Ints  # BANK (a bank account), DIVISIBLE (any other part-freezable asset), WHOLE (vehicles and properties)
    agency: Ints  # codes of agency_id and asset_ref, in their string order
    ref: Ints
    fixed: Ints  # per asset: its place in the fixed order (debtor, rank, agency, reference)
    agency_codes: dict[str, int]  # agency_id -> its code in ``agency``
    asset_refs: pa.Array  # per asset, the strings (as Arrow strings, and as the Python objects given)
    agency_objects: Strings
    ref_objects: Strings
    asset_kinds: Strings
    value: Ints  # per asset: the value reported


#: An asset's form in the plan (``_Book.form``): a bank account (the subsistence minimum stays free), another asset
#: frozen in part (securities, a mapped kind's), or one restricted whole.
BANK, DIVISIBLE, WHOLE = 0, 1, 2


def _form(asset_kind: str) -> int:
    return BANK if asset_kind == BANK_ACCOUNT else WHOLE if asset_kind in INDIVISIBLE_KINDS else DIVISIBLE


def _objects(values: list[str]) -> Strings:
    """``values`` as a NumPy array of the same Python objects (taken by positions, then read back by ``tolist``)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _code_of(values: list[str]) -> dict[str, int]:
    """Each distinct string's place in sorted order: codes of a column of few distinct values (agencies)."""
    return {value: code for code, value in enumerate(sorted(set(values)))}


def _owing_order(persons: list[str], filed_at: list[datetime], case_ids: list[str]) -> tuple[Ints, Ints]:
    """The cases' positions in (person, filed_at, case_id) order (stable, as ``sorted`` by that key), and each
    case's person's place among the persons (0, 1, ... in sorted order)."""
    person_codes = _codes(pa.array(persons, pa.string())) - 1
    if len({moment.tzinfo is None for moment in filed_at}) > 1:  # naive and aware: Python decides (or raises)
        key = list(zip(persons, filed_at, case_ids, strict=True))
        return np.asarray(sorted(range(len(key)), key=key.__getitem__), dtype=np.int64), person_codes
    instants = _ints(pa.array(filed_at).cast(pa.int64()))
    order = np.lexsort((_codes(pa.array(case_ids, pa.string())), instants, person_codes))
    return np.asarray(order, dtype=np.int64), person_codes


def _book(cases: Iterable[OpenCase], assets: Iterable[KnownAsset], news: Mapping[AssetKey, AssetNews],
          collected: Mapping[str, int]) -> _Book:
    given = cases if isinstance(cases, list) else list(cases)
    owed = np.fromiter((c.outstanding_rial for c in given), dtype=np.int64, count=len(given))
    if collected:
        owed -= np.fromiter((collected.get(c.case_id, 0) for c in given), dtype=np.int64, count=len(given))
    owing = [given[i] for i in np.flatnonzero(owed > 0).tolist()]
    owed = owed[owed > 0]
    persons = [c.person_id for c in owing]
    case_ids = [c.case_id for c in owing]
    order, person_codes = _owing_order(persons, [c.filed_at for c in owing], case_ids)
    case_debtor = person_codes[order]
    firsts = order[np.flatnonzero(np.diff(case_debtor, prepend=-1))]  # each debtor's first case
    natural = np.fromiter((owing[i].person_kind == NATURAL_PERSON for i in firsts.tolist()), dtype=np.bool_,
                          count=len(firsts))
    reported = assets if isinstance(assets, list) else list(assets)
    # every asset as columns; the debtor's number by a hash lookup of the person among the cases' persons
    owner = pc.index_in(pa.array([a.person_id for a in reported], pa.string()),
                        value_set=pa.array(persons, pa.string()))
    at_case = _ints(owner.fill_null(-1))
    debtor = np.where(at_case >= 0, person_codes[at_case], -1) if len(person_codes) else at_case
    capacity = np.fromiter((a.value_rial for a in reported), dtype=np.int64, count=len(reported))
    plannable = (debtor >= 0) & ~np.fromiter((a.is_protected for a in reported), dtype=np.bool_, count=len(reported))
    candidates = np.flatnonzero(plannable)
    agency_objects = _objects([reported[i].agency_id for i in candidates.tolist()])
    ref_objects = _objects([reported[i].asset_ref for i in candidates.tolist()])
    asset_refs = pa.array(ref_objects, pa.string())
    value = capacity.copy()
    if news:  # the few assets with news: their capacity by AssetNews.capacity (a join finds them)
        told = pa.table({"agency": pa.array([k[0] for k in news], pa.string()),
                         "ref": pa.array([k[1] for k in news], pa.string())})
        found = pa.table({"agency": pa.array(agency_objects, pa.string()), "ref": asset_refs,
                          "at": pa.array(np.arange(len(candidates), dtype=np.int64))}).join(
            told, keys=["agency", "ref"], join_type="inner", use_threads=False)
        for at in found.column("at").to_pylist():
            asset = reported[int(candidates[at])]
            capacity[candidates[at]] = news[(asset.agency_id, asset.asset_ref)].capacity(asset)
    usable_at = capacity[candidates] > 0
    chosen = candidates[usable_at]
    usable = [reported[i] for i in chosen.tolist()]
    n = len(usable)
    kinds = [a.asset_kind for a in usable]
    ranks = [a.rank for a in usable]
    if any(r is not None for r in ranks):
        rank = np.fromiter((a.liquidity_rank for a in usable), dtype=np.int64, count=n)
    else:  # the built-in kinds' (an unknown kind without a rank fails here, as KnownAsset.liquidity_rank does)
        rank = np.fromiter(map(LIQUIDITY_RANK.__getitem__, kinds), dtype=np.int64, count=n)
    form_of = {kind: _form(kind) for kind in set(kinds)}
    form = np.fromiter(map(form_of.__getitem__, kinds), dtype=np.int64, count=n)
    agency_objects, ref_objects = agency_objects[usable_at], ref_objects[usable_at]
    asset_refs = asset_refs.filter(pa.array(usable_at))
    agency_codes = _code_of(agency_objects.tolist())
    agency = np.fromiter(map(agency_codes.__getitem__, agency_objects.tolist()), dtype=np.int64, count=n)
    ref = _codes(asset_refs)
    debtors = debtor[chosen]
    fixed = np.empty(n, dtype=np.int64)
    fixed[np.lexsort((ref, agency, rank, debtors))] = np.arange(n, dtype=np.int64)
    return _Book(_objects(case_ids)[order], _objects(persons)[order], owed[order], case_debtor, natural, debtors,
                 capacity[chosen], rank, form, agency, ref, fixed, agency_codes, asset_refs, agency_objects,
                 ref_objects, _objects(kinds), value[chosen])


def _positions(keys: list[str], among: pa.Array) -> Ints:
    """Per key, the position of the last equal string in ``among`` (-1 if none), as a dict of ``among`` finds."""
    if len(among) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    last = pc.index_in(pa.array(keys, pa.string()), value_set=among[::-1])  # the first of equal values, reversed
    return np.where(last.is_valid().to_numpy(zero_copy_only=False), len(among) - 1 - _ints(last.fill_null(0)), -1)


def _held_rows(book: _Book, held: Mapping[HoldKey, int]) -> tuple[Ints, Ints, Ints]:
    """The holds (amount > 0) of owing cases on usable assets of the case's debtor: (case, asset, amount) rows,
    in ``held``'s order. The case by a hash lookup of its id, the asset by its reference (and its agency); where
    references repeat among the usable assets, by a dict of (debtor, agency, reference)."""
    amounts = np.fromiter(held.values(), dtype=np.int64, count=len(held))
    some = np.flatnonzero(amounts > 0)
    keys = list(held)
    if len(some) < len(keys):
        keys = [keys[i] for i in some.tolist()]
    amounts = amounts[some]
    none = np.zeros(0, dtype=np.int64)
    if not keys or len(book.case_ids) == 0 or len(book.debtor) == 0:
        return none, none, none
    case = _positions([key[0] for key in keys], pa.array(book.case_ids, pa.string()))
    if len(book.ref) == 0 or int(book.ref.max()) == len(book.ref):  # each reference one asset (dense codes from 1)
        asset = _positions([key[2] for key in keys], book.asset_refs)
        agency = np.fromiter(map(book.agency_codes.get, [key[1] for key in keys], repeat(-1)), dtype=np.int64,
                             count=len(keys))
        asset[asset >= 0] = np.where(book.agency[asset[asset >= 0]] == agency[asset >= 0], asset[asset >= 0], -1)
    else:
        asset_at = {key: i for i, key in enumerate(zip(book.debtor.tolist(), book.agency_objects.tolist(),
                                                       book.ref_objects.tolist(), strict=True))}
        debtor_of = np.where(case >= 0, book.case_debtor[np.maximum(case, 0)], -1).tolist()
        asset = np.fromiter((asset_at.get((d, key[1], key[2]), -1) for d, key in zip(debtor_of, keys, strict=True)),
                            dtype=np.int64, count=len(keys))
    ok = (case >= 0) & (asset >= 0)
    ok[ok] = book.case_debtor[case[ok]] == book.debtor[asset[ok]]
    return case[ok], asset[ok], amounts[ok]


def _kept_holds(book: _Book, held: Mapping[HoldKey, int], subsistence_minimum_rial: int) -> tuple[Ints, Ints, Ints]:
    """What of the holds agencies acknowledged still serves the debt: (case, asset, amount) rows, amount > 0.

    Per debtor, in four passes over every debtor at once (segmented running totals). 0. Vehicles and properties
    held, in the fixed order (rank, agency, reference), stay held while those before them leave uncovered what
    liquid assets cannot cover (the debt less the freezable bank balances and securities); the rest are
    released, so what is restricted whole exceeds the need by less than one of them. 1. Each case keeps its
    holds, its held assets in that fixed order, up to what it owes. 2. Each asset keeps those, older cases
    first, up to what it can give now. 3. A natural person's bank holds, in the accounts' fixed order (agency,
    reference, then older cases first), up to their balances less the subsistence minimum. Passes 1-3 repeat
    until passes 2 and 3 cut nothing, each hold they cut counting in pass 1 only as what they left of it.
    """
    case, asset, amount = _held_rows(book, held)
    if len(case) == 0:
        return case, asset, amount
    n_debtors = len(book.natural)
    # what may be frozen of bank balances, and what liquid assets leave for whole ones (debtors with holds)
    bank = _sums(book.debtor, np.where(book.form == BANK, book.capacity, 0), n_debtors)
    freezable_bank = np.where(book.natural, np.maximum(bank - subsistence_minimum_rial, 0), bank)
    other_liquid = _sums(book.debtor, np.where(book.form == DIVISIBLE, book.capacity, 0), n_debtors)
    whole_needed = _sums(book.case_debtor, book.owed, n_debtors) - freezable_bank - other_liquid
    # 0. whole assets held: kept while those before them (fixed order) cover less than whole_needed
    whole = np.zeros(len(book.debtor), dtype=np.bool_)
    whole[asset[book.form[asset] == WHOLE]] = True
    held_whole = np.flatnonzero(whole)
    if len(held_whole):
        held_whole = held_whole[np.argsort(book.fixed[held_whole], kind="stable")]
        debtor = book.debtor[held_whole]
        before = _running(book.capacity[held_whole], debtor) - book.capacity[held_whole]
        released = held_whole[before >= whole_needed[debtor]]
        live = ~np.isin(asset, released)
        case, asset, amount = case[live], asset[live], amount[live]
    # 1-3 until they agree: what passes 2 and 3 cut of a hold no longer counts, in pass 1, against what its case
    # owes, so the case's other holds keep what the cut frees (else the case falls short by the cut, and the fill
    # moves that gap onto another asset: a re-run would plan orders with nothing changed)
    order = np.lexsort((book.fixed[asset], case))
    case, asset, cap = case[order], asset[order], amount[order]
    by_asset = np.lexsort((case, asset))
    bank_hold = (book.form[asset] == BANK) & book.natural[book.debtor[asset]]
    banks = np.flatnonzero(bank_hold)
    banks = banks[np.lexsort((case[banks], book.fixed[asset[banks]]))]
    bank_debtor = book.debtor[asset[banks]]
    while True:
        # 1. per case (cases are numbered in order), its held assets in the fixed order, up to what it owes
        wanted = _overlap(_running(cap, case), cap, book.owed[case])
        # 2. per asset, older cases first, up to what it can give
        kept = np.empty_like(wanted)
        kept[by_asset] = _overlap(_running(wanted[by_asset], asset[by_asset]), wanted[by_asset],
                                  book.capacity[asset[by_asset]])
        # 3. a natural person's bank holds: accounts in (agency, reference) order, older cases first
        if len(banks):
            kept[banks] = _overlap(_running(kept[banks], bank_debtor), kept[banks], freezable_bank[bank_debtor])
        cut = kept < wanted
        if not cut.any():
            break
        cap = np.where(cut, kept, cap)
    some = kept > 0
    return case[some], asset[some], kept[some]


def _fill(book: _Book, owed: Ints, capacity: Ints, whole_kept: Flags, subsistence_minimum_rial: int
          ) -> tuple[Ints, Ints, Ints]:
    """The two axes, every debtor at once: (case, asset, amount) rows in axis order (asset, then case).

    ``owed`` (per case: oldest first) is what each case still needs; ``capacity`` (per asset) what each asset can
    still give. Per debtor the asset axis is: bank accounts by capacity, largest first (a natural person's leave
    the subsistence minimum free, the last in that order giving it up first), then securities by capacity, then
    vehicles and properties already restricted (``whole_kept``) in the fixed order, then, for what is still
    uncovered, the smallest covering set of the other vehicles and properties (in Python, on those debtors only).
    A case gets from an asset the overlap of their intervals on the two axes."""
    n_debtors = len(book.natural)
    need = _sums(book.case_debtor, np.maximum(owed, 0), n_debtors)
    usable = capacity > 0
    bank = np.flatnonzero(usable & (book.form == BANK))
    bank = bank[np.lexsort((book.ref[bank], book.agency[bank], -capacity[bank], book.debtor[bank]))]
    take = capacity[bank]
    natural = book.natural[book.debtor[bank]]
    if natural.any():
        freezable = np.maximum(_sums(book.debtor[bank], take, n_debtors) - subsistence_minimum_rial, 0)
        given = _running(take, book.debtor[bank]) - take
        take = np.where(natural, np.clip(freezable[book.debtor[bank]] - given, 0, take), take)
    others = np.flatnonzero(usable & (book.form == DIVISIBLE))  # by liquidity rank, then largest first
    others = others[np.lexsort((book.ref[others], book.agency[others], -capacity[others], book.rank[others],
                                book.debtor[others]))]
    restricted = np.flatnonzero(usable & whole_kept)
    restricted = restricted[np.argsort(book.fixed[restricted], kind="stable")]
    axis_asset = [bank, others, restricted]
    axis_amount = [take, capacity[others], capacity[restricted]]
    covered = (_sums(book.debtor[bank], take, n_debtors) + _sums(book.debtor[others], capacity[others], n_debtors)
               + _sums(book.debtor[restricted], capacity[restricted], n_debtors))
    remainder = need - covered
    pool = np.flatnonzero(usable & (book.form == WHOLE) & ~whole_kept & (remainder[book.debtor] > 0))
    if len(pool):
        pool = pool[np.argsort(book.debtor[pool], kind="stable")]
        chosen: list[int] = []
        bounds = np.flatnonzero(np.diff(book.debtor[pool])) + 1
        for members in np.split(pool, bounds):
            items = members.tolist()
            picks = _covering_choice(
                [(int(capacity[i]), int(book.rank[i]), book.agency_objects[i], book.ref_objects[i]) for i in items],
                int(remainder[book.debtor[members[0]]]))
            chosen += [items[p] for p in picks]
        picked = np.asarray(chosen, dtype=np.int64)
        axis_asset.append(picked)
        axis_amount.append(capacity[picked])
    group = np.concatenate([np.full(len(a), g, dtype=np.int64) for g, a in enumerate(axis_asset)])
    position = np.concatenate([np.arange(len(a), dtype=np.int64) for a in axis_asset])
    asset, amount = np.concatenate(axis_asset), np.concatenate(axis_amount)
    some = amount > 0
    asset, amount, group, position = asset[some], amount[some], group[some], position[some]
    order = np.lexsort((position, group, book.debtor[asset]))
    asset, amount = asset[order], amount[order]
    # one global line: debtor after debtor, each spanning what it can cover of its need
    span = np.minimum(need, _sums(book.debtor[asset], amount, n_debtors))
    base = np.cumsum(span) - span
    cases = np.flatnonzero(owed > 0)
    case_debtor = book.case_debtor[cases]
    case_ends = base[case_debtor] + np.minimum(_running(owed[cases], case_debtor), span[case_debtor])
    asset_debtor = book.debtor[asset]
    asset_ends = base[asset_debtor] + np.minimum(_running(amount, asset_debtor), span[asset_debtor])
    points = np.unique(np.concatenate(([0], case_ends, asset_ends)))
    starts, lengths = points[:-1], np.diff(points)
    return (cases[np.searchsorted(case_ends, starts, side="right")],
            asset[np.searchsorted(asset_ends, starts, side="right")], lengths)


_P = ParamSpec("_P")
_R = TypeVar("_R")
_gc_lock = threading.Lock()
_gc_depth = 0  # calls of :func:`without_cyclic_gc` functions running now, in any thread
_gc_paused = False  # whether the outermost of them turned the collector off (and so turns it back on)


def without_cyclic_gc(work: Callable[_P, _R]) -> Callable[_P, _R]:
    """``work`` with Python's cyclic garbage collector paused while it runs (reference counting still frees).

    The plan, the ledger's replay and the diff allocate a tuple or a row per case and asset, and every
    700 allocations CPython's collector runs; its full passes walk every object alive (the whole book of
    cases, assets and both logs: millions), which cost as much as the plan itself at 100,000 cases. These
    functions build no reference cycles (tuples, dicts, dataclasses of plain values), so pausing the
    collector frees nothing later than it would have. Process-wide, as the collector is: the first of
    nested or concurrent calls pauses it (if it was on) and the last to return resumes it.
    """

    @functools.wraps(work)
    def paused(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        global _gc_depth, _gc_paused
        with _gc_lock:
            if _gc_depth == 0:
                _gc_paused = gc.isenabled()
                if _gc_paused:
                    gc.disable()
            _gc_depth += 1
        try:
            return work(*args, **kwargs)
        finally:
            with _gc_lock:
                _gc_depth -= 1
                if _gc_depth == 0 and _gc_paused:
                    _gc_paused = False
                    gc.enable()
    return paused


@without_cyclic_gc
def plan_freezes(cases: Iterable[OpenCase], assets: Iterable[KnownAsset],
                 news: Mapping[AssetKey, AssetNews] | None = None, *,
                 collected: Mapping[str, int] | None = None,
                 subsistence_minimum_rial: int = SUBSISTENCE_MINIMUM_RIAL,
                 held: Mapping[HoldKey, int] | None = None) -> FreezePlan:
    """The desired state: for every open case still owing, the assets of its debtor to hold frozen and how much.

    ``collected`` (case_id -> rials already transferred to the court's account) is subtracted from
    what each case owes. ``held`` ((case, agency, asset) -> what the agency last acknowledged holding
    frozen) is kept while it serves the debt (:func:`_kept_holds`); the rest is planned afresh on the two axes
    (:func:`_fill`). Columnar: every debtor at once, sorted arrays and segmented running totals; only the
    covering choice of vehicles and properties runs per debtor, on the debtors whose liquid assets fall short.
    Rows come out grouped by debtor (persons in order). A debtor whose holds are kept has its rows by case
    (oldest first), then asset in the fixed order (rank, agency, reference), each row what is kept plus what is
    added; any other debtor's rows come in axis order (asset, then case). An asset is one (agency, reference) per
    debtor, as ``int_assets_latest`` and the hub's view keep it (the latest report of each).
    """
    book = _book(cases, assets, news or {}, collected or {})
    if len(book.case_ids) == 0:
        return FreezePlan.of_rows([])
    n_assets = len(book.debtor)
    k_case, k_asset, k_amount = _kept_holds(book, held or {}, subsistence_minimum_rial)
    kept_of_case = _sums(k_case, k_amount, len(book.case_ids))
    kept_on_asset = _sums(k_asset, k_amount, n_assets)
    whole_kept = (book.form == WHOLE) & (kept_on_asset > 0)
    f_case, f_asset, f_amount = _fill(book, book.owed - kept_of_case, book.capacity - kept_on_asset, whole_kept,
                                      subsistence_minimum_rial)
    keeps = np.zeros(len(book.natural), dtype=np.bool_)
    keeps[book.case_debtor[k_case]] = True
    stable = keeps[book.case_debtor[f_case]]
    # debtors with holds kept: kept and added summed per case and asset, by case then the asset's fixed order
    key = np.concatenate((k_case, f_case[stable])) * max(n_assets, 1) + book.fixed[np.concatenate((k_asset,
                                                                                                    f_asset[stable]))]
    merged, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    amount_of = np.zeros(len(merged), dtype=np.int64)
    np.add.at(amount_of, inverse, np.concatenate((k_amount, f_amount[stable])))
    case = np.concatenate((np.concatenate((k_case, f_case[stable]))[first], f_case[~stable]))
    asset = np.concatenate((np.concatenate((k_asset, f_asset[stable]))[first], f_asset[~stable]))
    amount = np.concatenate((amount_of, f_amount[~stable]))
    within = np.concatenate((merged, np.arange(int((~stable).sum()), dtype=np.int64)))
    order = np.lexsort((within, book.case_debtor[case]))
    case, asset = case[order], asset[order]
    # the rows' columns, taken by position (the same string objects the cases and assets hold)
    return FreezePlan((book.case_ids[case].tolist(), book.case_persons[case].tolist(),
                       book.agency_objects[asset].tolist(), book.asset_kinds[asset].tolist(),
                       book.ref_objects[asset].tolist(), amount[order].tolist(), book.rank[asset].tolist(),
                       book.value[asset].tolist(), (book.form[asset] == WHOLE).tolist()))


#: Acknowledgement statuses, and the order kind, that may teach news of an asset (a cap, or money moved out)
_NEWS_STATUSES = frozenset({"unknown_asset", "partial", "refused"})
_TRANSFER = "transfer"
_AGENCY_ID, _ASSET_REF, _STATUS, _ORDER_KIND = (itemgetter("agency_id"), itemgetter("asset_ref"), itemgetter("status"),
                                                itemgetter("order_kind"))
_FROZEN_TOTAL = itemgetter("frozen_total_rial")


def asset_news(acks: Iterable[FreezeAcknowledgementsRow]) -> tuple[dict[AssetKey, AssetNews], Counter[str]]:
    """Replay acknowledgement rows (oldest first) into per-asset news and the rials collected per case."""
    rows = acks if isinstance(acks, list) else list(acks)
    return replayed_news(rows, list(map(str, map(_AGENCY_ID, rows))), list(map(str, map(_ASSET_REF, rows))),
                         list(map(int, map(_FROZEN_TOTAL, rows))), list(map(_ORDER_KIND, rows)))


def replayed_news(rows: Sequence[FreezeAcknowledgementsRow], agency_ids: Sequence[str], asset_refs: Sequence[str],
                  frozen: Sequence[int], kinds: Sequence[object]) -> tuple[dict[AssetKey, AssetNews], Counter[str]]:
    """:func:`asset_news` of ``rows`` (oldest first), given each row's agency, asset reference, frozen total and kind.

    Only the rows of an asset with news are replayed: a first pass over the status and kind columns finds the
    rows that may teach a cap or a transfer, and every row of their assets, in order, is replayed as before; the
    others (most of a day's acknowledgements: ``done`` freezes and releases) teach nothing."""
    flagged = compress(range(len(rows)), map(or_, map(_NEWS_STATUSES.__contains__, map(_STATUS, rows)),
                                             map(eq, kinds, repeat(_TRANSFER))))
    worth = {(agency_ids[i], asset_refs[i]) for i in flagged}
    holds: dict[AssetKey, dict[str, int]] = defaultdict(dict)
    limits: dict[AssetKey, tuple[int, datetime]] = {}
    transfers: dict[AssetKey, list[tuple[datetime, int]]] = defaultdict(list)
    collected: Counter[str] = Counter()
    refs = {ref for _, ref in worth}  # rows found by their reference (a string's hash is kept), then their asset
    for i in compress(range(len(rows)), map(refs.__contains__, asset_refs)) if worth else ():
        if (asset := (agency_ids[i], asset_refs[i])) not in worth:
            continue
        ack = rows[i]
        at = ack["acknowledged_at"]
        holds[asset][str(ack["case_id"])] = frozen[i]
        status, kind = ack["status"], ack["order_kind"]
        if status == "unknown_asset":
            limits[asset] = (0, at)
        elif kind == "freeze" and status in ("partial", "refused"):
            limits[asset] = (sum(holds[asset].values()), at)  # the agency could block no more than this
        elif kind == _TRANSFER and int(ack["acknowledged_amount_rial"]) > 0:
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
    return pa.Table.from_arrays([pa.array(column, field.type) for column, field in zip(plan.columns, PLAN_SCHEMA,
                                                                                      strict=True)],
                                schema=PLAN_SCHEMA)


__all__ = [
    "INDIVISIBLE_KINDS",
    "LIQUIDITY_RANK",
    "PLAN_SCHEMA",
    "SUBSISTENCE_MINIMUM_RIAL",
    "AssetNews",
    "FreezePlan",
    "HoldKey",
    "KnownAsset",
    "OpenCase",
    "PlannedFreeze",
    "WarehouseAssetRow",
    "WarehouseCaseRow",
    "asset_news",
    "held_holds",
    "plan_freezes",
    "plan_table",
    "smallest_covering_set",
]
