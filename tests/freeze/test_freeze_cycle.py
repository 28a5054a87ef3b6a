"""End to end through the real connectors and simulators: a case paid in full is released within one cycle.

Court drop -> ingest -> inquiries -> warehouse -> freeze cycle; then the court reports the payment,
the warehouse is rebuilt, and one more cycle must leave nothing frozen for the case at any agency
(the simulators are asked) and tell the debtor about every release.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from estelam.contracts.registry import load_agency_registry
from estelam.core import settings
from estelam.core.domain import CaseEventType
from estelam.freeze import notifications
from estelam.freeze.planner import plan_freezes
from estelam.freeze.reconciliation import load_view, run_cycle
from estelam.ingest.case_events import ingest_inbox
from estelam.inquiry.rounds import end_round, inquire_agencies, plan_round, planned_targets, targets_for
from estelam.warehouse import dbt_build as warehouse
from simulators import world as world_module
from simulators.court import drop_case_events, event_record
from simulators.fleet import Fleet
from simulators.world import CaseEvent
from tests.settings_support import override

pytestmark = pytest.mark.e2e


@dataclass
class Frozen:
    fleet: Fleet
    world: world_module.World
    data: Path


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Frozen]:
    data = tmp_path_factory.mktemp("freeze-cycle")
    with pytest.MonkeyPatch.context() as mp:
        override(mp, data_dir=data)
        override(mp, warehouse=None)
        registry = load_agency_registry()
        world = world_module.generate(registry.instances, seed=world_module.DEFAULT_SEED, n_persons=40, n_cases=16)
        with Fleet.start(registry, world) as fleet:
            override(mp, endpoints_file=fleet.write_endpoints(data / "run" / "endpoints.json"))
            drop_case_events(world, settings.inbox_dir())
            ingest_inbox()
            warehouse.build()
            for agency_ids in plan_round("round-1", refresh=False):
                inquire_agencies(agency_ids, round_id="round-1")
            warehouse.build()
            run_cycle("cycle-1")
            yield Frozen(fleet, world, data)


def test_the_published_plan_is_what_reconciliation_plans(frozen: Frozen) -> None:
    # the mart was built before the first cycle, so against an empty acknowledgement log
    with warehouse.connect_read_only() as con:
        mart = {(c, a, r): v for c, a, r, v in con.execute(
            "select case_id, agency_id, asset_ref, planned_freeze_rial from freeze_plan").fetchall()}
    view = load_view()
    assert mart == {row.key: row.planned_freeze_rial for row in plan_freezes(view.open_cases(), view.assets)}
    assert mart, "nothing planned"


def test_a_round_plans_whom_each_agency_has_not_answered_in_one_read(frozen: Frozen) -> None:
    from estelam.ingest.landing import read_landed

    answered = {(r["agency_id"], r["person_id"]) for r in read_landed("inquiries") if r["status"] == "answered"}
    with warehouse.connect_read_only() as con:
        debtors = {person for (person,) in con.execute("select person_id from inquiry_targets").fetchall()}
    agencies = [i.agency_id for i in load_agency_registry().instances]
    # the world has debtors answered by some agencies and not others (the faulty and the dirty ones)
    expected = {(a, p) for a in agencies for p in debtors} - answered

    asked = plan_round("round-2", refresh=False)
    try:
        planned = {a: planned_targets("round-2", a) for a in agencies}
        assert {(a, t.person_id) for a, targets in planned.items() for t in targets or []} == expected
        assert [a for group in asked for a in group] == [a for a in agencies if planned[a]], \
            "only agencies with someone to ask are fanned out to"
        for agency_id in agencies:  # the one read gives what each agency's own read gives, in the same order
            assert planned[agency_id] == targets_for(agency_id)
    finally:
        end_round("round-2")
    assert planned_targets("round-2", agencies[0]) is None, "a round's plan is gone once the round ended"


def test_a_case_paid_in_full_is_released_everywhere_within_one_cycle_and_the_debtor_told(frozen: Frozen) -> None:
    held = frozen.fleet.held_freezes()
    frozen_cases = sorted({case_id for (_, case_id, _) in held})
    assert frozen_cases, "the first cycle froze nothing"
    case_id = frozen_cases[0]
    case = next(c for c in frozen.world.cases if c.case_id == case_id)
    view = {c.case_id: c for c in load_view().cases}
    paid_at = datetime.now(UTC) + timedelta(seconds=1)
    payment = CaseEvent(f"{case_id}-paid-in-full", case_id, CaseEventType.PAID, paid_at, case.court_code,
                        case.debtor.person_id, case.debtor.kind, case.debtor.name, case.creditor_name,
                        amount_rial=view[case_id].outstanding_rial)
    inbox = settings.inbox_dir() / f"case_events-{paid_at.date().isoformat()}-payment.jsonl"
    inbox.write_text(json.dumps(event_record(payment), ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    ingest_inbox()
    warehouse.build()

    summary = run_cycle("cycle-2")

    still = {k: v for k, v in frozen.fleet.held_freezes().items() if k[1] == case_id}
    assert still == {}, f"still frozen for the paid case: {still}"
    released = {(a, r) for (a, c, r) in held if c == case_id}
    told = [n for n in notifications.delivered(case.debtor.person_id)
            if n["case_id"] == case_id and n["action"] == "release"]
    assert {(n["agency_id"], n["asset_ref"]) for n in told} == released
    assert {n["reason_code"] for n in told} == {"case_paid"}
    assert summary.releases >= len(released) and summary.late == 0
    # and a second look changes nothing: the cycle reached its fixed point
    assert run_cycle("cycle-3").orders == 0

