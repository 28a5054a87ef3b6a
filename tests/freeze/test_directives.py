"""The judge's directives as the reconciliation acts on them: restriction changes, cancels, closed cases,
judge-ordered releases and capped collection (in-memory agencies, the same state the simulators serve)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from estelam.cases.directives import Directive, case_directives
from estelam.core.domain import AckStatus, FreezeOrder, OrderKind, RestrictionType
from estelam.freeze.ledger import CaseFacts, ReasonCode
from tests.freeze.freeze_harness import EnforcementWorld, account, registered_car

NOW = datetime(2026, 11, 1, tzinfo=UTC)
CAR = registered_car("P1", "12ب345-67", 5_000)
ACCOUNT = account("IR000000000000000000000002", "P1", 800)


class Judge:
    """Directive rows as the court or the API lands them, folded as the reconciliation reads them."""

    def __init__(self, world: EnforcementWorld) -> None:
        self.world = world
        self.rows: list[dict[str, Any]] = []

    def direct(self, kind: Directive, case_id: str = "C1", **fields: Any) -> str:
        directive_id = f"d{len(self.rows)}"
        self.rows.append({"directive_id": directive_id, "case_id": case_id, "directive": str(kind),
                          "issued_at": self.world.clock.now + timedelta(microseconds=len(self.rows)), **fields})
        self.world.directives = case_directives(self.rows)
        return directive_id


def world_of(*assets: Any, owed: int = 2_000) -> tuple[EnforcementWorld, Judge]:
    world = EnforcementWorld(list(assets), {"C1": CaseFacts("C1", "P1", "natural", NOW, owed, True)}, {"P1": "natural"})
    return world, Judge(world)


def sent(world: EnforcementWorld, cycle_id: str) -> list[tuple[str, str, str | None, str]]:
    """(kind, asset, restriction, reason) of every order first sent in the cycle."""
    return [(str(r["kind"]), str(r["asset_ref"]), r["restriction_type"], str(r["reason_code"]))
            for r in world.ledger.attempts() if r["cycle_id"] == cycle_id and r["delivery"] != "withheld"]


def withdrawn(world: EnforcementWorld, cycle_id: str) -> list[str]:
    """The orders the cycle withdrew (recorded, not sent)."""
    return [str(r["order_id"]) for r in world.ledger.attempts()
            if r["cycle_id"] == cycle_id and r["status"] == "withdrawn"]


def test_a_vehicle_directed_transfer_then_circulation_then_seizure_gets_an_order_of_each_type() -> None:
    world, judge = world_of(CAR)
    police = world.states["traffic_police"]
    world.cycle("c1")
    assert police.restriction("C1", CAR.asset_ref) is RestrictionType.TRANSFER
    for n, wanted in enumerate((RestrictionType.CIRCULATION, RestrictionType.SEIZURE, RestrictionType.TRANSFER), 2):
        judge.direct(Directive.RESTRICT_VEHICLE, asset_ref=CAR.asset_ref, restriction_type=str(wanted))
        world.clock.advance()
        world.cycle(f"c{n}")
        assert sent(world, f"c{n}") == [("freeze", CAR.asset_ref, str(wanted), ReasonCode.RESTRICTION_CHANGED)]
        assert police.restriction("C1", CAR.asset_ref) is wanted  # the registry holds the new type (a judge may lower)
        assert police.held_freezes() == {("C1", CAR.asset_ref): 2_000}  # the claim itself unchanged
        world.clock.advance()
        assert world.cycle(f"c{n}-again").orders == 0  # nothing more to send once the type holds


def test_lifting_a_vehicles_restriction_releases_it_and_it_stays_released() -> None:
    world, judge = world_of(CAR)
    world.cycle("c1")
    judge.direct(Directive.LIFT_VEHICLE_RESTRICTION, asset_ref=CAR.asset_ref)
    world.clock.advance()
    world.cycle("c2")
    assert sent(world, "c2") == [("release", CAR.asset_ref, None, ReasonCode.JUDGE_RELEASE)]
    assert world.states["traffic_police"].held_freezes() == {}
    world.clock.advance()
    assert world.cycle("c3").orders == 0


def test_a_cancelled_order_is_not_resent_and_what_it_may_have_blocked_is_released() -> None:
    world, judge = world_of(ACCOUNT, owed=600)
    world.cycle("c1", {"bank_a": "lost"})  # applied at the bank, never acknowledged
    (order_id,) = [o.order.order_id for o in world.state().in_flight.values()]
    judge.direct(Directive.CANCEL_ORDER, order_id=order_id)
    world.clock.advance()
    world.cycle("c2")
    # a cancel order of its own, naming the cancelled order: the bank undoes what it applied
    assert sent(world, "c2") == [("cancel", ACCOUNT.asset_ref, None, ReasonCode.ORDER_CANCELLED)]
    (cancel,) = [r for r in world.ledger.attempts() if r["kind"] == "cancel"]
    assert cancel["cancels_order_id"] == order_id
    assert withdrawn(world, "c2") == [order_id]  # recorded withdrawn, with the reason, and not sent again
    assert world.held_truth() == {} and world.state().in_flight == {}
    world.clock.advance()
    assert world.cycle("c3").orders == 0  # the cancelled freeze is not planned again


def test_cancelling_an_acknowledged_freeze_undoes_it_at_the_agency_and_it_is_not_frozen_again() -> None:
    world, judge = world_of(ACCOUNT, owed=600)
    world.cycle("c1")
    (order_id,) = world.state().acknowledged
    assert world.held_truth() == {("C1", "bank_a", ACCOUNT.asset_ref): 600}
    judge.direct(Directive.CANCEL_ORDER, order_id=order_id)
    world.clock.advance()
    world.cycle("c2")
    assert sent(world, "c2") == [("cancel", ACCOUNT.asset_ref, None, ReasonCode.ORDER_CANCELLED)]
    assert world.held_truth() == {}
    world.clock.advance()
    assert world.cycle("c3").orders == 0  # the judge's cancel holds: no new freeze of the same asset


def test_a_cancel_that_reaches_the_agency_before_its_order_makes_the_agency_refuse_the_order() -> None:
    world, _ = world_of(ACCOUNT, owed=600)
    bank = world.states["bank_a"]
    late = FreezeOrder("late-1", OrderKind.FREEZE, "C1", "bank_a", ACCOUNT.asset_ref, 500, NOW)
    cancel = FreezeOrder("cancel-1", OrderKind.CANCEL, "C1", "bank_a", ACCOUNT.asset_ref, 500, NOW, cancels="late-1")
    assert bank.apply(cancel).reason == "order late-1 not received: it will be refused"
    refused = bank.apply(late)
    assert (refused.status, refused.acknowledged_amount_rial) == (AckStatus.REFUSED, 0)
    assert refused.reason == "cancelled by order cancel-1" and bank.held_freezes() == {}


def test_a_closed_case_gets_only_releases_and_its_unacknowledged_order_is_not_resent() -> None:
    car = registered_car("P1", "22ب345-67", 900)
    world, _ = world_of(ACCOUNT, car, owed=1_500)
    world.cycle("c1", {"traffic_police": "lost"})  # the car's restriction applied, never acknowledged
    assert world.state().held and world.state().in_flight
    world.close("C1")
    world.clock.advance()
    world.cycle("c2")
    kinds = {kind for kind, *_ in sent(world, "c2")}
    assert kinds == {"release"}
    assert {reason for *_, reason in sent(world, "c2")} == {ReasonCode.CASE_CLOSED}
    assert len(withdrawn(world, "c2")) == 1  # the car's unacknowledged order
    assert world.held_truth() == {}  # the silently applied restriction is lifted too
    world.clock.advance()
    assert world.cycle("c3").orders == 0


def test_a_judge_ordered_release_of_an_amount_is_sent_once_and_the_asset_holds_no_more_after() -> None:
    world, judge = world_of(ACCOUNT, owed=600)
    world.cycle("c1")
    judge.direct(Directive.RELEASE, asset_ref=ACCOUNT.asset_ref, amount_rial=200)
    world.clock.advance()
    world.cycle("c2")
    assert sent(world, "c2") == [("release", ACCOUNT.asset_ref, None, ReasonCode.JUDGE_RELEASE)]
    assert world.held_truth() == {("C1", "bank_a", ACCOUNT.asset_ref): 400}
    world.clock.advance()
    assert world.cycle("c3").orders == 0  # not frozen again up to the debt


def test_collection_is_capped_at_the_amount_directed_and_at_what_is_owed() -> None:
    rich = account("IR000000000000000000000004", "P1", 5_000)
    world, judge = world_of(rich, owed=3_000)
    world.cycle("c1")
    judge.direct(Directive.COLLECT, amount_rial=1_000)
    world.clock.advance()
    world.cycle("c2")
    assert next((k, r) for k, _, _, r in sent(world, "c2")) == ("transfer", ReasonCode.COLLECTION)
    assert world.states["bank_a"].collected("C1") == 1_000  # not the 3,000 frozen
    world.clock.advance()
    world.cycle("c3")
    assert world.states["bank_a"].collected("C1") == 1_000
    judge.direct(Directive.COLLECT)  # now all: capped at what is still owed
    world.clock.advance()
    world.cycle("c4")
    assert world.states["bank_a"].collected("C1") == 3_000
    assert world.state().collected["C1"] == 3_000
    world.clock.advance()
    world.cycle("c5")
    assert str(OrderKind.TRANSFER) not in {kind for kind, *_ in sent(world, "c5")}  # nothing owed: no transfer
