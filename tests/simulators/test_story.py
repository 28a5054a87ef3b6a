"""The demo's story (simulators.story) and the invariants checked at every day's end (simulators.invariants)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from estelam.contracts.registry import load_agency_registry
from estelam.core.domain import CaseEventType, PersonKind
from estelam.freeze.planner import SUBSISTENCE_MINIMUM_RIAL
from simulators import invariants
from simulators.story import BACKLOG, DOWN, MIN_DAYS, PARTIAL, Story, day_start, first_day
from simulators.world import CaseEvent, World, generate
from tests.mapping_support import drawn_records

START = date(2026, 11, 24)


def _story(days: int = 7, persons: int = 120, cases: int = 48) -> Story:
    registry = load_agency_registry()
    world = generate(registry.instances, n_persons=persons, n_cases=cases, anchor=day_start(START, 1))
    return Story(world, {i.agency_id: i.kind for i in registry.instances}, start=START, days=days,
                 judge="judge-thr-01", judge_courts=("THR-01", "THR-02"), spared=["bank_melli"])


def _freezable_at(world: World, bank: str, person_id: str) -> int:
    """The person's balances at the bank, as its generated simulator (the banks' mapping) holds them."""
    instance = next(i for i in world.instances if i.agency_id == bank)
    return sum(int(r["balance_rial"] or 0) for r in drawn_records(world, instance, person_id))


def test_the_faulty_banks_meet_real_orders_and_never_the_court_accounts_bank() -> None:
    story = _story()
    roles = story.roles
    banks = {roles.late_bank, roles.partial_bank, roles.down_bank}
    assert len(banks) == 3 and "bank_melli" not in banks
    cases = {c.case_id: c for c in story.world.cases}
    for day, bank in ((2, roles.late_bank), (3, roles.partial_bank)):
        assert roles.new_cases[day], day
        for case_id in roles.new_cases[day]:
            debtor = cases[case_id].debtor
            assert _freezable_at(story.world, bank, debtor.person_id) > SUBSISTENCE_MINIMUM_RIAL  # there is an order
    assert set(roles.new_cases) == {2, 3, 4, 5, 6}  # new cases every day but the first and the last


def test_the_story_needs_four_days() -> None:
    with pytest.raises(ValueError, match="at least 4 days"):
        _story(days=MIN_DAYS - 1)


def test_each_event_is_dropped_once_in_time_and_the_story_acts_on_frozen_cases() -> None:
    story = _story(days=5)
    frozen: dict[tuple[str, str, str], int] = {}
    dropped: list[CaseEvent] = []
    mornings = []
    for day in range(1, 6):
        morning = story.morning(day, frozen)
        mornings.append(morning)
        assert all(e.occurred_at < morning.at for e in morning.events)
        dropped += morning.events
        if day == 1:  # the agencies freeze something of every open case's debtor at a bank and a vehicle registry
            cases = {e.case_id for e in dropped if e.event_type is CaseEventType.FILED}
            frozen = {("bank_mellat", c, f"IR{n:024d}"): 1_000_000 for n, c in enumerate(sorted(cases))}
            frozen |= {("traffic_police", c, f"{n:02d}ب{n:03d}-{n:02d}"): 5_000_000
                       for n, c in enumerate(sorted(cases))}
    ids = [e.event_id for e in dropped]
    assert len(ids) == len(set(ids))  # nothing twice
    assert set(ids) == {e.event_id for e in story.dropped_so_far()}  # nothing lost
    assert [m.faults[story.roles.late_bank] for m in mornings] == [BACKLOG, BACKLOG, None, None, None]
    assert [m.faults[story.roles.partial_bank] for m in mornings] == [None, None, PARTIAL, None, None]
    assert [m.faults[story.roles.down_bank] for m in mornings] == [DOWN, None, None, None, None]
    by_type = {(e.event_type, e.case_id): e for e in dropped if "-d" in e.event_id}
    partial = [e for (kind, _), e in by_type.items() if kind is CaseEventType.PAID and e.occurred_at.day == 25]
    assert len(partial) == 1 and (partial[0].amount_rial or 0) > 0
    closed = [case for (kind, case) in by_type if kind is CaseEventType.CLOSED]
    assert len(closed) == 1 and (CaseEventType.PAID, closed[0]) in by_type
    assert [c for (kind, c) in by_type if kind is CaseEventType.ABSCONDED] == \
           [c for (kind, c) in by_type if kind is CaseEventType.APPREHENDED]  # caught on the last day (5 < 6)
    acts = [(m.day, a.body["kind"]) for m in mornings for a in m.judge_acts]
    assert acts == [(2, "collect"), (3, "restrict_vehicle"), (3, "confidential"), (4, "collect")]
    judged = {a.case_id for m in mornings for a in m.judge_acts}
    assert {c.court_code for c in story.world.cases if c.case_id in judged} <= {"THR-01", "THR-02"}


def test_the_last_day_is_today_once_its_morning_has_passed() -> None:
    today = date(2026, 11, 30)
    assert first_day(today, datetime(2026, 11, 30, 12, tzinfo=UTC), 7) == today - timedelta(days=6)
    assert first_day(today, datetime(2026, 11, 30, 2, tzinfo=UTC), 7) == today - timedelta(days=7)


def _event(case_id: str, kind: CaseEventType, amount: int | None = None) -> CaseEvent:
    return CaseEvent(event_id=f"{case_id}-{kind}", case_id=case_id, event_type=kind,
                     occurred_at=datetime(2026, 11, 1, tzinfo=UTC), court_code="THR-01", debtor_id="0012345679",
                     debtor_kind=PersonKind.NATURAL, debtor_name="x", creditor_name="y", amount_rial=amount)


def test_a_freeze_beyond_the_debt_is_caught_unless_it_waits_for_an_agency_taking_no_orders() -> None:
    events = [_event("1403-000001", CaseEventType.FILED, 100), _event("1403-000001", CaseEventType.PAID, 40),
              _event("1403-000002", CaseEventType.FILED, 50), _event("1403-000002", CaseEventType.CLOSED)]
    within = {("bank_a", "1403-000001", "IR1"): 50}
    assert invariants.never_beyond_the_debt(events, within, {"1403-000001": 10}).held
    assert not invariants.never_beyond_the_debt(events, within, {"1403-000001": 11}).held  # 50 + 11 > 60
    closed = {("bank_b", "1403-000002", "IR2"): 1}
    assert not invariants.never_beyond_the_debt(events, closed, {}).held
    waiting = invariants.never_beyond_the_debt(events, closed, {}, not_taking_orders=["bank_b"])
    assert waiting.held and "bank_b" in waiting.detail


def test_nothing_lost_and_nothing_twice_catch_what_they_name() -> None:
    inquiries = [{"inquiry_id": "q1", "status": "answered", "reason": None},
                 {"inquiry_id": "q2", "status": "failed", "reason": "HTTP 503"}]
    orders = [{"delivery": "failed", "reason": "HTTP 503"}]
    assert invariants.nothing_lost({"e1"}, [{"event_id": "e1"}], [], inquiries, orders).held
    assert not invariants.nothing_lost({"e1", "e2"}, [{"event_id": "e1"}], [], inquiries, orders).held
    assert not invariants.nothing_lost({"e1"}, [{"event_id": "e1"}], [], [*inquiries, inquiries[0]], orders).held
    assert not invariants.nothing_lost({"e1"}, [], [], inquiries, [{"delivery": "failed", "reason": ""}]).held
    acks = [{"agency_id": "b", "case_id": "c", "asset_ref": "r", "acknowledged_at": "1", "order_id": "o1",
             "frozen_total_rial": 30, "order_kind": "freeze"},
            {"agency_id": "b", "case_id": "c", "asset_ref": "r", "acknowledged_at": "2", "order_id": "o2",
             "frozen_total_rial": 20, "order_kind": "release"}]
    assert invariants.nothing_twice(acks, {("b", "c", "r"): 20}, {}, {}).held
    assert not invariants.nothing_twice(acks, {("b", "c", "r"): 30}, {}, {}).held  # the release applied twice?
    assert not invariants.nothing_twice(acks, {("b", "c", "r"): 20}, {"c": 5}, {("m", "c", "IBAN"): 6}).held


def test_the_careless_clerks_bank_keeps_every_account_of_one_open_case_wrongly_and_the_story_leaves_it_alone() -> None:
    """The clerk's accounts fail their IBAN check (the hub quarantines them and asks again every day); the case is on
    the books before the story, stays open and owing, and the story neither pays, closes nor directs it."""
    from estelam.warehouse.duckdb_functions import is_valid_iban

    for persons, cases in ((60, 24), (120, 48)):  # the end-to-end world and the demo's
        story = _story(days=4, persons=persons, cases=cases)
        assert story.roles.careless is not None
        bank, case_id = story.roles.careless
        case = next(c for c in story.world.cases if c.case_id == case_id)
        assert (bank, case.debtor.person_id) in story.world.kept_wrongly
        assert bank not in {story.roles.late_bank, story.roles.partial_bank, story.roles.down_bank}
        instance = next(i for i in story.world.instances if i.agency_id == bank)
        ibans = [str(r["iban"]) for r in drawn_records(story.world, instance, case.debtor.person_id)]
        assert ibans and not any(is_valid_iban(iban) for iban in ibans)
        assert not {CaseEventType.CLOSED, CaseEventType.PAYMENT_PROVED} & {e.event_type for e in case.events}
        frozen = {(bank, case_id, ibans[0]): 10**12}  # even when it holds the most, the story acts elsewhere
        mornings = [story.morning(day, frozen) for day in range(1, 5)]
        assert any(bank in h and case_id in h for h in mornings[0].happenings)
        assert case_id not in {e.case_id for m in mornings for e in m.events if "-d" in e.event_id}
        assert case_id not in {a.case_id for m in mornings for a in m.judge_acts}


def test_a_judge_makes_a_case_confidential_even_when_none_of_their_cases_is_frozen() -> None:
    story = _story(days=4)
    mornings = [story.morning(day, {}) for day in range(1, 5)]
    acts = [(m.day, a.body["kind"], a.case_id) for m in mornings for a in m.judge_acts]
    assert [(day, kind) for day, kind, _ in acts] == [(3, "confidential")]
    case = next(c for c in story.world.cases if c.case_id == acts[0][2])
    assert case.court_code in {"THR-01", "THR-02"} and case.case_id not in story.new_case_ids
