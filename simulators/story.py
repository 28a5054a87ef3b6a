"""The demo's story over simulated days: what the world does besides the agencies answering.

Each morning the court system drops the case events that happened since the day before (new cases filed,
payments, closures, abscondings and apprehensions), a judge acts on frozen cases through the hub's API, and
some agencies misbehave for a while. The story is decided from the world and from what the agencies
hold that morning (which cases are frozen, where), never from the hub's own figures, so the hub is judged
on what it does with it.

=====  ==========================================================================================
day    what happens (with at least :data:`MIN_DAYS` days; more days add new cases and quiet days)
=====  ==========================================================================================
1      the court's backlog: every case filed before the demo, with its steps so far; the *down bank*
       answers nothing all day (every inquiry to it fails, and is asked again the next day); the
       *late bank*'s order desk is behind for two days (its orders refused with 503, acknowledged on
       day 3: late on the scoreboard)
2      new cases whose debtors bank at the late bank; a debtor pays part of a frozen debt (the excess
       is released); the court system's directives of every kind; a judge collects a frozen account's
       money through the API (transferred, then paid out)
3      the late bank takes its orders again; new cases at the *partial bank*, which blocks only half
       of each new freeze that day (the rest is frozen elsewhere); a debtor pays in full and the case
       is closed (everything released); a judge changes a vehicle's restriction and makes a case
       confidential; a debtor absconds
4      new cases; a judge collects part of a debt
5-     new cases each day but the last; the absconded debtor is apprehended on day 6 (or the last day)
=====  ==========================================================================================

The faults fall where they show: the scoreboard hides counts below the disclosure threshold (5), so the down bank
fails on the day everyone is asked, and the late bank is late with the backlog's first freezes.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from estelam.contracts.registry import iban_account_holders
from estelam.core.domain import (
    AgencyInstance,
    AgencyKind,
    CaseEventType,
    PersonKind,
)
from estelam.core.kinds import mapping_at
from estelam.freeze.planner import SUBSISTENCE_MINIMUM_RIAL
from simulators.faults import Fault, FaultProfile
from simulators.mapped_app import KindWorld, kind_world, records_of
from simulators.world import Case, CaseEvent, Person, World

#: The fewest days that hold the whole story.
MIN_DAYS = 4
#: When the court system drops each day's events, and the hub's day starts (UTC).
MORNING = time(6, 0)
#: New cases filed on each day after the first (but the last).
NEW_CASES_PER_DAY = 2
#: The steps of a new case that happen on its first day (later steps lie beyond the story).
FIRST_STEPS = frozenset({CaseEventType.FILED, CaseEventType.REFERRED, CaseEventType.NOTIFIED,
                         CaseEventType.INVOICED, CaseEventType.FREEZE_ORDERED})

#: Days on which each misbehaving agency misbehaves, and how.
#: The court system sends its judges' directives of every kind (simulators.court.court_directives) on this day.
COURT_DIRECTIVES_DAY = 2
LATE_DAYS = (1, 2)
PARTIAL_DAY = 3
DOWN_DAY = 1
#: The day the late bank's new cases are filed (while its order desk is still behind).
LATE_BANK_CASES_DAY = 2
DOWN = FaultProfile(rates={Fault.SERVER_ERROR: 1.0})
BACKLOG = FaultProfile(rates={Fault.BACKLOG: 1.0})
PARTIAL = FaultProfile(rates={Fault.PARTIAL_ACK: 1.0})


@dataclass(frozen=True)
class Roles:
    """Who plays what in the story: chosen once from the world."""

    late_bank: str
    partial_bank: str
    down_bank: str
    new_cases: Mapping[int, tuple[str, ...]]  # day -> case ids filed that day
    careless: tuple[str, str] | None = None  # (bank, case): the bank keeps the case's debtor's accounts wrongly


@dataclass
class JudgeAct:
    """A directive a judge gives through the API: ``POST /cases/{case_id}/directives`` with ``body``."""

    case_id: str
    body: dict[str, object]
    why: str


@dataclass
class Morning:
    """What the world does on one day before the hub's cycle runs."""

    day: int
    at: datetime
    events: list[CaseEvent] = field(default_factory=list)  # the court's events since yesterday's drop
    judge_acts: list[JudgeAct] = field(default_factory=list)
    faults: dict[str, FaultProfile | None] = field(default_factory=dict)  # agency -> today's behaviour
    happenings: list[str] = field(default_factory=list)  # what a reader is told (one phrase each)


def _freezable(world: World, banks: Sequence[str], person: Person, keep: int | None = None) -> dict[str, int]:
    """What of each bank's unprotected accounts the hub may freeze, if the plan reaches every account: all of it
    for a legal person; for a natural person, what exceeds the subsistence minimum (``keep``) even if it is all
    kept there. The accounts are the banks' generated simulators' (their mapping's world data)."""
    if keep is None:
        keep = 0 if person.kind is PersonKind.LEGAL else SUBSISTENCE_MINIMUM_RIAL
    instances = {i.agency_id: i for i in world.instances}
    held = {bank: _mapped_worth(world, instances[bank], person.person_id, unprotected=True) for bank in banks}
    return {bank: amount - keep for bank, amount in held.items() if amount > keep}


def _worth(world: World, person_id: str) -> int:
    """Everything the person has at every agency of the world that the hub may freeze: the records of the kinds that
    take freeze orders (the banks' accounts, the depository's holdings, the land registry's properties), as their
    generated simulators draw them."""
    return sum(_mapped_worth(world, instance, person_id) for instance in world.instances)


def _mapped_worth(world: World, instance: AgencyInstance, person_id: str, *, unprotected: bool = False) -> int:
    """What the person's records at ``instance`` (a kind declared by a mapping) are worth, when its mapping names
    their value and declares a freeze order; nothing otherwise. ``unprotected``: only the records the law does not
    protect whole (the mapping's ``protected_when``: a bank's salary and pension accounts)."""
    assets = mapping_at(Path(str(instance.mapping_file))).assets
    data = _freezable_world_data(world, instance)
    if assets is None or data is None:
        return 0
    rows = records_of(world, data, instance.agency_id, person_id) or []
    rule = assets.protected_when if unprotected else None
    return sum(int(row.get(assets.value) or 0) for row in rows
               if rule is None or str(row.get(rule.column)) not in rule.values)


def _freezable_world_data(world: World, instance: AgencyInstance) -> KindWorld | None:
    """The world data of a mapped kind whose assets the hub orders frozen (None for the others)."""
    mapping = mapping_at(Path(str(instance.mapping_file)))
    if mapping.assets is None or "freeze" not in mapping.orders:
        return None
    return _world_data(str(instance.kind), world.jurisdiction)


def _restricting_agencies(world: World) -> frozenset[str]:
    """The agencies of the world whose kind's freezes carry a restriction type (its mapping's
    ``contributes.assets.restrictions``: the vehicle registry's), so a judge may restrict their frozen assets."""
    return frozenset(instance.agency_id for instance in world.instances if instance.mapping_file
                     and (assets := mapping_at(Path(str(instance.mapping_file))).assets) is not None
                     and assets.restrictions)


@cache
def _world_data(kind: str, jurisdiction: str) -> KindWorld:
    return kind_world(kind, jurisdiction=jurisdiction)


def cast_roles(world: World, banks: Sequence[str], *, days: int, spared: Iterable[str] = ()) -> Roles:
    """The misbehaving banks and each day's new cases, deterministic in the world.

    The late bank is the one with the most debtors the plan will freeze there (its backlog's first freezes, then
    new cases, meet its refusals); the partial bank gets new cases on its day; the down bank is the next. A faulty
    bank's new cases are debts at least as large as everything their debtor has, so the plan reaches
    every asset, and the debtor keeps more than the subsistence minimum at that bank: the fault meets real orders.
    ``spared`` banks (the one holding the court's account, which pays creditors) never misbehave.
    """
    if days < MIN_DAYS:
        raise ValueError(f"the story needs at least {MIN_DAYS} days, not {days}")
    candidates = [b for b in banks if b not in set(spared)]
    whole: dict[str, list[Case]] = defaultdict(list)  # bank -> cases that freeze every account, that bank's too
    for case in world.cases:
        if case.amount_owed_rial >= _worth(world, case.debtor.person_id):
            for bank in _freezable(world, banks, case.debtor):
                whole[bank].append(case)
    if sum(1 for bank in candidates if whole[bank]) < 3:  # a small world: debtors with money at the bank at least
        for case in world.cases:
            for bank in _freezable(world, banks, case.debtor, keep=0):
                if case not in whole[bank]:
                    whole[bank].append(case)
    ranked = sorted(candidates, key=lambda b: (-len(whole[b]), b))
    used: set[str] = set()
    debtors: set[str] = set()
    new_cases: dict[int, tuple[str, ...]] = {}
    chosen_banks: list[str] = []
    for day in (LATE_BANK_CASES_DAY, PARTIAL_DAY):
        for bank in ranked:
            if bank in chosen_banks:
                continue
            fresh = [c for c in whole[bank] if c.case_id not in used and c.debtor.person_id not in debtors]
            if fresh:
                picked = fresh[:NEW_CASES_PER_DAY]
                chosen_banks.append(bank)
                new_cases[day] = tuple(c.case_id for c in picked)
                used.update(new_cases[day])
                debtors.update(c.debtor.person_id for c in picked)
                break
        else:
            raise ValueError("the world has too few debtors with bank accounts for the story; use more persons")
    down = next((b for b in ranked if b not in chosen_banks), None)  # everyone is asked about: no case needed
    if down is None:
        raise ValueError("the story needs three banks besides the spared ones")
    chosen_banks.append(down)
    careless = _careless(world, [b for b in candidates if b not in chosen_banks], used)
    if careless is not None:
        used.add(careless[1])
    others = [c for c in world.cases if c.case_id not in used and c.debtor.person_id not in debtors]
    for day in range(PARTIAL_DAY + 1, days):
        picked = others[:NEW_CASES_PER_DAY]
        others = others[NEW_CASES_PER_DAY:]
        new_cases[day] = tuple(c.case_id for c in picked)
    return Roles(late_bank=chosen_banks[0], partial_bank=chosen_banks[1], down_bank=chosen_banks[2],
                 new_cases=new_cases, careless=careless)


def _owing(events: Iterable[CaseEvent]) -> dict[str, int]:
    """What each case of ``events`` owes by them: the amounts filed less the payments."""
    owed: dict[str, int] = defaultdict(int)
    for e in events:
        if e.event_type is CaseEventType.FILED:
            owed[e.case_id] += e.amount_rial or 0
        elif e.event_type is CaseEventType.PAID:
            owed[e.case_id] -= e.amount_rial or 0
    return owed


def _careless(world: World, banks: Sequence[str], new: set[str]) -> tuple[str, str] | None:
    """A bank and a case on the court's books before the story starts whose debtor has an account there and whose
    debt stays unpaid and open in the court's own timeline: the bank's clerk keeps that debtor's accounts wrongly
    (their IBANs' check digits do not hold), so the hub quarantines them and asks again every day."""
    instances = {i.agency_id: i for i in world.instances}
    for case in sorted(world.cases, key=lambda c: c.case_id):
        kinds = {e.event_type for e in case.events}
        filed_before = any(e.event_type is CaseEventType.FILED and e.occurred_at < world.anchor for e in case.events)
        if (case.case_id in new or not filed_before or _owing(case.events).get(case.case_id, 0) <= 0
                or kinds & {CaseEventType.CLOSED, CaseEventType.PAYMENT_PROVED}):
            continue
        for bank in banks:
            data = _freezable_world_data(world, instances[bank])
            if data is not None and records_of(world, data, bank, case.debtor.person_id):
                return bank, case.case_id
    return None


def first_day(today: date, now: datetime, days: int) -> date:
    """The first day of a story of ``days`` days whose last day's morning has passed by ``now``."""
    last = today if now >= datetime.combine(today, MORNING, tzinfo=UTC) + timedelta(hours=1) else today - timedelta(1)
    return last - timedelta(days=days - 1)


def day_start(start: date, day: int) -> datetime:
    """The instant day ``day`` (1-based) of a story starting on ``start`` begins."""
    return datetime.combine(start + timedelta(days=day - 1), MORNING, tzinfo=UTC)


def _retimed(case: Case, at: datetime) -> list[CaseEvent]:
    """A new case's first steps, filed at ``at`` and a quarter of an hour apart (its later steps are left out)."""
    steps = [e for e in case.events if e.event_type in FIRST_STEPS]
    return [dataclasses.replace(e, occurred_at=at + timedelta(minutes=15 * n)) for n, e in enumerate(steps)]


class Story:
    """The days of the story for one world; :meth:`morning` tells each day's happenings in turn."""

    def __init__(self, world: World, kinds: Mapping[str, AgencyKind], *, start: date, days: int,
                 judge: str, judge_courts: Iterable[str], spared: Iterable[str] = ()) -> None:
        self.world = world
        self.judge = judge  # the user id of the judge acting through the API, and the courts they sit in
        self.judge_courts = frozenset(judge_courts)
        self.kinds = dict(kinds)  # agency_id -> its kind
        self.restricting = _restricting_agencies(world)  # whose freezes carry a restriction type (vehicles)
        # the kinds whose accounts are named by IBAN (the banks'), as the world's agencies' mappings say
        self._iban_kinds = frozenset(instance.kind for instance in iban_account_holders(world.instances))
        banks = sorted(agency_id for agency_id, kind in kinds.items() if kind in self._iban_kinds)
        self.start = start
        self.days = days
        self.roles = cast_roles(world, banks, days=days, spared=spared)
        self._cases = {c.case_id: c for c in world.cases}
        new = {case_id: day for day, ids in self.roles.new_cases.items() for case_id in ids}
        self._timeline: list[CaseEvent] = []
        for case in world.cases:
            if case.case_id in new:
                filed_at = self.morning_at(new[case.case_id]) - timedelta(hours=4) + timedelta(
                    minutes=5 * self.roles.new_cases[new[case.case_id]].index(case.case_id))
                self._timeline.extend(_retimed(case, filed_at))
            else:
                self._timeline.extend(case.events)
        self._timeline.sort(key=lambda e: (e.occurred_at, e.event_id))
        self._dropped_until: datetime | None = None
        self._used: set[str] = set()  # cases the story already acted on (or keeps for the careless clerk)
        if self.roles.careless is not None:
            bank, case_id = self.roles.careless
            world.kept_wrongly.add((bank, self._cases[case_id].debtor.person_id))
            self._used.add(case_id)
        self._directed: set[str] = set()  # cases the court system's directives act on
        self.absconded: str | None = None  # the case whose debtor absconded

    def morning_at(self, day: int) -> datetime:
        """The instant day ``day`` (1-based) begins: the court's drop, then the hub's cycle."""
        return day_start(self.start, day)

    @property
    def new_case_ids(self) -> set[str]:
        return {case_id for ids in self.roles.new_cases.values() for case_id in ids}

    def morning(self, day: int, frozen: Mapping[tuple[str, str, str], int],
                directed: Iterable[str] = ()) -> Morning:
        """Day ``day``'s happenings, given what the agencies hold frozen this morning ((agency, case, asset) ->
        amount) and the cases the court system's directives change holds on (left to them)."""
        at = self.morning_at(day)
        plan = Morning(day=day, at=at)
        self._directed.update(directed)
        # the misbehaving agencies: every one is told how to behave today (healthy unless its day)
        plan.faults = {self.roles.late_bank: BACKLOG if day in LATE_DAYS else None,
                       self.roles.partial_bank: PARTIAL if day == PARTIAL_DAY else None,
                       self.roles.down_bank: DOWN if day == DOWN_DAY else None}
        if day == LATE_DAYS[0]:
            plan.happenings.append(f"{self.roles.late_bank}'s order desk falls behind (days "
                                   f"{LATE_DAYS[0]}-{LATE_DAYS[-1]})")
        if day == LATE_DAYS[-1] + 1:
            plan.happenings.append(f"{self.roles.late_bank} takes its orders again")
        if day == PARTIAL_DAY:
            plan.happenings.append(f"{self.roles.partial_bank} blocks only part of each new freeze")
        if day == DOWN_DAY:
            plan.happenings.append(f"{self.roles.down_bank} is down all day")
        if day == 1 and self.roles.careless is not None:
            bank, case_id = self.roles.careless
            plan.happenings.append(f"{bank} keeps the accounts of case {case_id}'s debtor wrongly (mistyped IBANs)")
        if filed := self.roles.new_cases.get(day):
            plan.happenings.append(f"{len(filed)} new case{'s' if len(filed) > 1 else ''} filed")
        by_case: dict[str, int] = defaultdict(int)
        vehicles: dict[str, list[str]] = defaultdict(list)
        accounts: set[str] = set()
        for (agency_id, case_id, ref), amount in frozen.items():
            by_case[case_id] += amount
            if self.kinds.get(agency_id) in self._iban_kinds:
                accounts.add(case_id)
            elif agency_id in self.restricting:
                vehicles[case_id].append(ref)
        story_events: list[CaseEvent] = []
        if day == 2 and (case := self._pick(by_case, lambda c: True)):
            # the debt falls below what is frozen: the hub must release the excess
            paid = max(self._outstanding(case) - by_case[case] // 2, 1)
            story_events.append(self._event(case, CaseEventType.PAID, at - timedelta(minutes=30), amount=paid))
            plan.happenings.append(f"a debtor pays part of case {case}'s debt")
        if day == 2 and (case := self._pick(by_case, lambda c: c in accounts, judge=True)):
            plan.judge_acts.append(JudgeAct(case, {"kind": "collect", "note": "collect the frozen money"},
                                            "collect everything frozen"))
        if day == 3 and (case := self._pick(by_case, lambda c: True)):
            owed = self._outstanding(case)
            story_events.append(self._event(case, CaseEventType.PAID, at - timedelta(minutes=40), amount=owed))
            story_events.append(self._event(case, CaseEventType.CLOSED, at - timedelta(minutes=35)))
            plan.happenings.append(f"case {case} paid in full and closed")
        if day == 3 and (case := self._pick(by_case, lambda c: bool(vehicles.get(c)), judge=True)):
            plan.judge_acts.append(JudgeAct(case, {"kind": "restrict_vehicle", "asset_ref": vehicles[case][0],
                                                   "restriction_type": "seizure"},
                                            "seize a frozen vehicle"))
        if day == 3 and (case := self._pick(by_case, lambda c: True, judge=True)
                         or self._pick(self._on_the_books(), lambda c: True, judge=True)):
            plan.judge_acts.append(JudgeAct(case, {"kind": "confidential",
                                                   "authorised_users": [self.judge, "clerk-1"]},
                                            "make a case confidential"))
        if day == 3 and (case := self._pick(by_case, lambda c: True)):
            story_events.append(self._event(case, CaseEventType.ABSCONDED, at - timedelta(minutes=20)))
            self.absconded = case
            plan.happenings.append(f"the debtor of case {case} absconds")
        if day == 4 and (case := self._pick(by_case, lambda c: c in accounts, judge=True)):
            plan.judge_acts.append(JudgeAct(case, {"kind": "collect", "amount_rial": max(by_case[case] // 2, 1)},
                                            "collect half of what is frozen"))
        if self.absconded and day == min(6, self.days):
            story_events.append(self._event(self.absconded, CaseEventType.APPREHENDED, at - timedelta(minutes=10)))
            plan.happenings.append(f"the debtor of case {self.absconded} is apprehended")
        if plan.judge_acts:
            plan.happenings.append(f"a judge gives {len(plan.judge_acts)} directive"
                                   f"{'s' if len(plan.judge_acts) > 1 else ''} through the API")
        # the court's drop: everything that happened since yesterday's
        since = self._dropped_until
        plan.events = [e for e in self._timeline if e.occurred_at < at and (since is None or e.occurred_at >= since)]
        plan.events += story_events
        self._timeline.extend(story_events)
        self._timeline.sort(key=lambda e: (e.occurred_at, e.event_id))
        self._dropped_until = at
        return plan

    def dropped_so_far(self) -> list[CaseEvent]:
        """Every event the court has dropped up to the last morning (what each day's file holds in full)."""
        until = self._dropped_until
        return [e for e in self._timeline if until is not None and e.occurred_at < until]

    def _on_the_books(self) -> dict[str, int]:
        """The cases the court has dropped so far that are open and still owe, none counted as frozen: for a
        directive that needs no hold (a judge may make any of their cases confidential)."""
        dropped = self.dropped_so_far()
        ended = {e.case_id for e in dropped if e.event_type in (CaseEventType.CLOSED, CaseEventType.PAYMENT_PROVED)}
        return {case_id: 0 for case_id, owed in sorted(_owing(dropped).items()) if owed > 0 and case_id not in ended}

    def _outstanding(self, case_id: str) -> int:
        """What the case still owes by the events dropped so far."""
        return _owing(e for e in self.dropped_so_far() if e.case_id == case_id).get(case_id, 0)

    def _pick(self, by_case: Mapping[str, int], fits: Callable[[str], bool], *, judge: bool = False) -> str | None:
        """A frozen case the story has not used yet, largest hold first: for a judge's directive, one of the demo
        judge's courts (which the court system's directives may act on too); for a payment or a closure, one
        nobody directs anything on."""
        def allowed(case_id: str) -> bool:
            case = self._cases.get(case_id)
            return (case is not None and case_id not in self._used and case_id not in self.new_case_ids
                    and (case.court_code in self.judge_courts if judge else case_id not in self._directed)
                    and fits(case_id))

        for case_id in sorted(by_case, key=lambda c: (-by_case[c], c)):
            if allowed(case_id):
                self._used.add(case_id)
                return case_id
        return None

    def _event(self, case_id: str, kind: CaseEventType, at: datetime, *, amount: int | None = None) -> CaseEvent:
        case = self._cases[case_id]
        template = case.events[0]
        return CaseEvent(event_id=f"{case_id}-d{at:%m%d}-{kind.value}", case_id=case_id, event_type=kind,
                         occurred_at=at, court_code=case.court_code, debtor_id=template.debtor_id,
                         debtor_kind=template.debtor_kind, debtor_name=template.debtor_name,
                         creditor_name=template.creditor_name, amount_rial=amount,
                         automated=kind is CaseEventType.PAID)

