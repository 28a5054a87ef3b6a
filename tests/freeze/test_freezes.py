"""The freeze plan and reconciliation, rule by rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from estelam.cases.directives import CaseDirectives, Directive, case_directives
from estelam.core.domain import (
    Acknowledgement,
    AckStatus,
    FreezeOrder,
    OrderKind,
    RestrictionType,
)
from estelam.core.exceptions import AgencyUnavailable
from estelam.freeze import notifications
from estelam.freeze.ledger import (
    CaseFacts,
    HubView,
    IssuedOrder,
    LedgerState,
    OrderStatus,
    ReasonCode,
    compliance_scoreboard,
    ledger_state,
    order_id_for,
    plan_orders,
)
from estelam.freeze.planner import AssetNews, KnownAsset, OpenCase, plan_freezes, smallest_covering_set
from estelam.freeze.reconciliation import LandedLedger, push_orders
from tests.freeze.freeze_harness import EnforcementWorld, account, parcel, registered_car
from tests.settings_support import override

NOW = datetime(2026, 11, 1, tzinfo=UTC)
LEARNED = NOW - timedelta(days=1)
DEADLINES = {"bank_melli": 30.0, "bank_mellat": 30.0, "csdi": 30.0, "traffic_police": 30.0, "land_registry": 30.0}


def case(case_id: str, owed: int, *, person: str = "P", kind: str = "natural", day: int = 1) -> OpenCase:
    return OpenCase(case_id, person, kind, NOW.replace(day=day), owed)


def asset(ref: str, kind: str, value: int, *, agency: str = "bank_melli", person: str = "P",
          protected: bool = False) -> KnownAsset:
    return KnownAsset(person, agency, kind, ref, value, LEARNED, protected)


def planned(plan: list) -> dict[tuple[str, str], int]:
    return {(row.case_id, row.asset_ref): row.planned_freeze_rial for row in plan}


# --- the plan -------------------------------------------------------------------------------------


def test_liquid_first_and_property_or_vehicles_only_when_liquid_falls_short() -> None:
    assets = [asset("ACC", "bank_account", 500), asset("SEC", "security_holding", 300, agency="csdi"),
              asset("CAR", "vehicle", 2_000, agency="traffic_police"), asset("HOUSE", "property", 9_000,
                                                                                 agency="land_registry")]
    assert planned(plan_freezes([case("C1", 700)], assets, subsistence_minimum_rial=0)) == {
        ("C1", "ACC"): 500, ("C1", "SEC"): 200}
    assert planned(plan_freezes([case("C1", 1_000)], assets, subsistence_minimum_rial=0)) == {
        ("C1", "ACC"): 500, ("C1", "SEC"): 300, ("C1", "CAR"): 200}


def test_the_smallest_indivisible_asset_that_covers_the_remainder_is_chosen() -> None:
    pool = [(asset("BIG", "property", 9_000), 9_000), (asset("MID", "vehicle", 3_000), 3_000),
            (asset("SMALL", "vehicle", 1_000), 1_000)]
    assert [a.asset_ref for a, _ in smallest_covering_set(pool, 2_500)] == ["MID"]
    assert [a.asset_ref for a, _ in smallest_covering_set(pool, 800)] == ["SMALL"]
    # none covers alone: the largest, then the smallest that covers what is left
    assert [a.asset_ref for a, _ in smallest_covering_set(pool, 9_500)] == ["BIG", "SMALL"]
    assert [a.asset_ref for a, _ in smallest_covering_set(pool, 20_000)] == ["BIG", "MID", "SMALL"]
    plan = plan_freezes([case("C1", 2_500)], [a for a, _ in pool], subsistence_minimum_rial=0)
    assert planned(plan) == {("C1", "MID"): 2_500}
    assert plan[0].blocks_whole_asset


def test_protected_accounts_and_the_subsistence_minimum_stay_free() -> None:
    assets = [asset("SAL", "bank_account", 10_000, protected=True), asset("ORD1", "bank_account", 700),
              asset("ORD2", "bank_account", 300)]
    natural = plan_freezes([case("C1", 5_000)], assets, subsistence_minimum_rial=400)
    assert planned(natural) == {("C1", "ORD1"): 600}  # 1,000 of ordinary balances, 400 left free
    legal = plan_freezes([case("C1", 5_000, kind="legal")], assets, subsistence_minimum_rial=400)
    assert planned(legal) == {("C1", "ORD1"): 700, ("C1", "ORD2"): 300}  # companies have no subsistence


def test_several_cases_of_one_debtor_share_assets_without_double_counting() -> None:
    assets = [asset("ACC", "bank_account", 500), asset("CAR", "vehicle", 1_000, agency="traffic_police")]
    plan = plan_freezes([case("NEW", 600, day=5), case("OLD", 700, day=1)], assets, subsistence_minimum_rial=0)
    assert planned(plan) == {("OLD", "ACC"): 500, ("OLD", "CAR"): 200, ("NEW", "CAR"): 600}


def test_an_agencys_shortfall_caps_the_asset_until_the_next_report_and_collections_reduce_the_need() -> None:
    account = asset("ACC", "bank_account", 1_000)
    car = asset("CAR", "vehicle", 5_000, agency="traffic_police")
    short = {account.key: AssetNews(limit_rial=400, limit_at=NOW)}
    assert planned(plan_freezes([case("C1", 900)], [account, car], short, subsistence_minimum_rial=0)) == {
        ("C1", "ACC"): 400, ("C1", "CAR"): 500}
    reported_again = KnownAsset("P", "bank_melli", "bank_account", "ACC", 1_000, NOW + timedelta(hours=1))
    assert planned(plan_freezes([case("C1", 900)], [reported_again, car], short, subsistence_minimum_rial=0)) == {
        ("C1", "ACC"): 900}  # teimosinha: a fresh report re-opens the account, the top-up is asked again
    moved = {account.key: AssetNews(transfers=((NOW, 600),))}
    assert planned(plan_freezes([case("C1", 900)], [account], moved, collected={"C1": 600},
                                subsistence_minimum_rial=0)) == {("C1", "ACC"): 300}


def test_what_is_held_is_kept_a_shortfall_moves_only_the_shortfall() -> None:
    """The fault campaign's churn: after a partial acknowledgement the plan re-sorted by the reduced capacity and
    released what it had just frozen. Now the hold stays and only the shortfall goes elsewhere."""
    assets = [asset("ACC-A", "bank_account", 1_000), asset("ACC-B", "bank_account", 800, agency="bank_mellat")]
    assert planned(plan_freezes([case("C1", 1_000)], assets, subsistence_minimum_rial=0)) == {("C1", "ACC-A"): 1_000}
    short = {("bank_melli", "ACC-A"): AssetNews(limit_rial=600, limit_at=NOW)}
    held = {("C1", "bank_melli", "ACC-A"): 600}
    assert planned(plan_freezes([case("C1", 1_000)], assets, short, subsistence_minimum_rial=0, held=held)) == {
        ("C1", "ACC-A"): 600, ("C1", "ACC-B"): 400}
    # without the holds, the plan would start over from the largest capacity: 800 at B, and 200 at A
    assert planned(plan_freezes([case("C1", 1_000)], assets, short, subsistence_minimum_rial=0)) == {
        ("C1", "ACC-B"): 800, ("C1", "ACC-A"): 200}


def test_each_case_keeps_its_own_holds_and_whole_assets_stay_while_liquid_falls_short() -> None:
    assets = [asset("ACC", "bank_account", 1_000), asset("CAR", "vehicle", 900, agency="traffic_police"),
              asset("VAN", "vehicle", 400, agency="traffic_police")]
    cases = [case("OLD", 600, day=1), case("NEW", 600, day=2)]
    # the fresh plan gives the account to the older case; the holds say otherwise, and are kept
    held = {("NEW", "bank_melli", "ACC"): 600, ("OLD", "traffic_police", "VAN"): 400}
    assert planned(plan_freezes(cases, assets, subsistence_minimum_rial=0, held=held)) == {
        ("OLD", "VAN"): 400, ("OLD", "ACC"): 200, ("NEW", "ACC"): 600}
    # money found: the van is no longer needed and is released, the account covers both cases
    richer = [asset("ACC", "bank_account", 1_200), *assets[1:]]
    assert planned(plan_freezes(cases, richer, subsistence_minimum_rial=0, held=held)) == {
        ("OLD", "ACC"): 600, ("NEW", "ACC"): 600}


def test_a_bank_hold_the_subsistence_minimum_cuts_leaves_its_case_its_other_holds() -> None:
    """Hypothesis found it: a re-run planned two orders with nothing changed. The account's hold (1) counted
    against the case before the subsistence minimum cut it, so the property kept 1 less, and the fill put that 1 on
    the vehicle: a release of 1 on the property and a top-up of 1 on the car, every cycle."""
    assets = [asset("ACC", "bank_account", 75), asset("SEC", "security_holding", 1, agency="csdi"),
              asset("CAR", "vehicle", 100, agency="traffic_police"),
              asset("HOUSE", "property", 3_350, agency="land_registry")]
    held = {("C1", "bank_melli", "ACC"): 1, ("C1", "csdi", "SEC"): 1, ("C1", "traffic_police", "CAR"): 37,
            ("C1", "land_registry", "HOUSE"): 3_343}
    plan = plan_freezes([case("C1", 3_381)], assets, subsistence_minimum_rial=100, held=held)
    assert planned(plan) == {("C1", "SEC"): 1, ("C1", "CAR"): 37, ("C1", "HOUSE"): 3_343}


# --- the diff -------------------------------------------------------------------------------------


def view(*cases: CaseFacts, directives: dict[str, CaseDirectives] | None = None) -> HubView:
    assets = [asset("ACC", "bank_account", 5_000), asset("CAR", "vehicle", 5_000, agency="traffic_police")]
    return HubView(list(cases), assets, directives or {})


def facts(case_id: str, owed: int, *, is_open: bool = True) -> CaseFacts:
    return CaseFacts(case_id, "P", "natural", NOW, owed, is_open)


def diff(state: LedgerState, hub: HubView, *, skip: set[str] | None = None) -> list[IssuedOrder]:
    plan = plan_freezes(hub.open_cases(), hub.assets, state.news, collected=state.collected,
                        subsistence_minimum_rial=0, held=state.held)
    return plan_orders(plan, state, hub, now=NOW, deadlines_s=DEADLINES, skip=skip or set())


def kinds(orders: list[IssuedOrder]) -> list[tuple[str, str, int, str]]:
    return [(o.order.kind, o.order.asset_ref, o.order.amount_rial, o.reason_code) for o in orders]


def test_new_freeze_top_up_release_of_excess_and_release_on_payment_or_closure() -> None:
    state = LedgerState()
    assert kinds(diff(state, view(facts("C1", 1_000)))) == [(OrderKind.FREEZE, "ACC", 1_000, ReasonCode.NEW_FREEZE)]
    state.held[("C1", "bank_melli", "ACC")] = 400
    state.versions[("C1", "bank_melli", "ACC")] = 1
    assert kinds(diff(state, view(facts("C1", 1_000)))) == [(OrderKind.FREEZE, "ACC", 600, ReasonCode.TOP_UP)]
    assert kinds(diff(state, view(facts("C1", 100)))) == [(OrderKind.RELEASE, "ACC", 300, ReasonCode.EXCESS)]
    assert kinds(diff(state, view(facts("C1", 0)))) == [(OrderKind.RELEASE, "ACC", 400, ReasonCode.CASE_PAID)]
    assert kinds(diff(state, view(facts("C1", 900, is_open=False)))) == [
        (OrderKind.RELEASE, "ACC", 400, ReasonCode.CASE_CLOSED)]
    assert diff(state, view(facts("C1", 400))) == []


def test_a_release_says_excess_only_when_the_debtor_has_more_frozen_than_owed() -> None:
    state = LedgerState()
    state.held[("C1", "bank_melli", "ACC")] = 500
    state.held[("C2", "bank_melli", "ACC")] = 200
    state.versions.update({("C1", "bank_melli", "ACC"): 1, ("C2", "bank_melli", "ACC"): 1})
    older, younger = CaseFacts("C1", "P", "natural", NOW, 300, True), CaseFacts("C2", "P", "natural",
                                                                                NOW + timedelta(days=1), 700, True)
    # C1 was partly paid; the debtor still owes 1,000 with 700 frozen: a release, but not of an "excess"
    assert sorted(kinds(diff(state, view(older, younger)))) == [
        (OrderKind.FREEZE, "ACC", 500, ReasonCode.TOP_UP), (OrderKind.RELEASE, "ACC", 200, ReasonCode.DEBT_REDUCED)]
    # with C2 paid down too, the debtor owes 400 with 700 frozen: now it is an excess
    assert sorted(kinds(diff(state, view(older, CaseFacts("C2", "P", "natural", NOW, 100, True))))) == [
        (OrderKind.RELEASE, "ACC", 100, ReasonCode.EXCESS), (OrderKind.RELEASE, "ACC", 200, ReasonCode.EXCESS)]


def test_collection_transfers_the_frozen_money_and_vehicles_carry_the_judges_restriction() -> None:
    state = LedgerState()
    state.held[("C1", "bank_melli", "ACC")] = 5_000
    collect = {"C1": CaseDirectives(collect=True, restriction_type=RestrictionType.SEIZURE)}
    orders = diff(state, view(facts("C1", 7_000), directives=collect))
    assert kinds(orders) == [(OrderKind.TRANSFER, "ACC", 5_000, ReasonCode.COLLECTION),
                             (OrderKind.FREEZE, "CAR", 2_000, ReasonCode.NEW_FREEZE)]
    assert orders[1].order.restriction_type is RestrictionType.SEIZURE
    plain = diff(LedgerState(), view(facts("C1", 7_000)))
    assert plain[1].order.restriction_type is RestrictionType.TRANSFER
    assert plain[0].order.restriction_type is None


def test_directives_fold_into_each_cases_standing_orders() -> None:
    rows = [
        {"directive_id": "a", "case_id": "C1", "directive": Directive.CONFIDENTIAL, "authorised_users": "j7, c2",
         "issued_at": NOW},
        {"directive_id": "b", "case_id": "C2", "directive": Directive.CONFIDENTIAL, "authorised_users": "j7",
         "issued_at": NOW},
        {"directive_id": "c", "case_id": "C2", "directive": Directive.LIFT_CONFIDENTIALITY, "authorised_users": None,
         "issued_at": NOW + timedelta(days=1)},
        {"directive_id": "d", "case_id": "C3", "directive": Directive.RESTRICT_CIRCULATION, "authorised_users": None,
         "issued_at": NOW},
    ]
    directives = case_directives(rows)
    assert directives["C1"] == CaseDirectives(True, ("c2", "j7"))
    assert not directives["C2"].confidential
    assert directives["C3"].restriction_type is RestrictionType.CIRCULATION


def test_one_order_in_flight_per_case_and_asset_resent_under_the_same_key() -> None:
    hub = view(facts("C1", 1_000))
    [first] = diff(LedgerState(), hub)
    assert first.order.order_id == order_id_for(("C1", "bank_melli", "ACC"), OrderKind.FREEZE, 0)
    log, acks = push_orders([first], {"bank_melli": _Down()}, cycle_id="c1", now=NOW)  # type: ignore[dict-item]
    assert acks == [] and log[0]["status"] == OrderStatus.PENDING and "refused" in str(log[0]["reason"])
    state = ledger_state(log, [])
    # the case was paid meanwhile: still the same order is resent, nothing else, until it is answered
    paid = view(facts("C1", 0))
    assert [o.order.order_id for o in diff(state, paid)] == [first.order.order_id]
    assert diff(state, paid, skip={first.order.order_id}) == []
    later = NOW + timedelta(seconds=31)
    log2, _ = push_orders(diff(state, paid), {"bank_melli": _Down()}, cycle_id="c2", now=later)  # type: ignore[dict-item]
    assert log2[0]["status"] == OrderStatus.LATE and log2[0]["order_id"] == first.order.order_id
    board = compliance_scoreboard(log + log2, [], now=later)
    assert board == {"bank_melli": {"orders": 1, "late": 1, "ever_late": 1}}


class _Down:
    def freeze(self, order: FreezeOrder) -> Acknowledgement:
        raise AgencyUnavailable("connection refused", agency_id=order.agency_id, operation="freeze",
                                request_id=order.order_id)

    release = transfer = freeze


def test_a_lost_acknowledgement_is_recovered_by_resending_the_same_key() -> None:
    world = EnforcementWorld([account("IR000000000000000000000002", "P1", 1_000)],
                             {"C1": CaseFacts("C1", "P1", "natural", NOW, 600, True)},
                             {"P1": "natural"})
    world.cycle("c1", {"bank_a": "lost"})
    assert world.held_truth() == {("C1", "bank_a", "IR000000000000000000000002"): 600}
    assert world.state().held == {}  # applied, but the hub does not know yet
    world.clock.advance()
    summary = world.cycle("c2")
    assert summary.orders == 1 and summary.freezes == 1  # the same order again, not a second freeze
    assert world.state().held == {("C1", "bank_a", "IR000000000000000000000002"): 600}
    assert world.states["bank_a"].applied_orders() == 1


def test_vehicles_are_restricted_whole_with_their_type_and_money_moves_to_the_court() -> None:
    car = registered_car("P1", "12ب345-67", 5_000)
    house = parcel("P1", "11", 7, 1, 50_000)
    savings = account("IR000000000000000000000002", "P1", 800)
    world = EnforcementWorld([car, house, savings], {"C1": CaseFacts("C1", "P1", "natural", NOW, 2_000, True)},
                             {"P1": "natural"})
    world.directives["C1"] = CaseDirectives(restriction_type=RestrictionType.CIRCULATION)
    world.cycle("c1")
    police = world.states["traffic_police"]
    assert police.restriction("C1", car.asset_ref) is RestrictionType.CIRCULATION
    assert police.immobilised_value(car.asset_ref) == 5_000  # the whole car, for a claim of 1,200
    assert world.states["land_registry"].held_freezes() == {}  # the smaller car covers: the house stays free
    world.directives["C1"] = CaseDirectives(collect=True, restriction_type=RestrictionType.SEIZURE)
    world.clock.advance()
    summary = world.cycle("c2")
    assert summary.transfers == 1
    assert world.states["bank_a"].collected("C1") == 800
    assert world.states["bank_a"].held_freezes() == {}
    assert world.state().collected["C1"] == 800
    assert police.held_freezes() == {("C1", car.asset_ref): 1_200}  # still what is owed after the collection


# --- the logs as landed feeds ---------------------------------------------------------------------


def test_landed_logs_give_the_same_state_and_notify_the_debtor(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=tmp_path)
    order = IssuedOrder(FreezeOrder("o1", OrderKind.FREEZE, "1403-000001", "bank_melli", "IR1", 900, NOW),
                        0, ReasonCode.NEW_FREEZE, NOW, NOW + timedelta(seconds=30), "0499370899", "bank_account",
                        True)
    ack = Acknowledgement("o1", "bank_melli", "1403-000001", "IR1", AckStatus.PARTIAL, 400, 400, NOW, "only 400")
    bad = Acknowledgement("o2", "bank_melli", "1403-000001", "IR1", AckStatus.DONE, -5, 0, NOW)
    log, _ = push_orders([order], {"bank_melli": _Down()}, cycle_id="c1", now=NOW)  # type: ignore[dict-item]
    log[0] |= {"delivery": "delivered", "status": "acknowledged", "reason": None}
    from estelam.freeze.ledger import acknowledgement_record

    notices = notifications.notification_records(
        [ack], {"o1": notifications.OrderContext(OrderKind.FREEZE, "0499370899", "bank_account", "new_freeze", True)})
    ledger = LandedLedger()
    ledger.record("c1-p1", log, [acknowledgement_record(ack, OrderKind.FREEZE),
                                 acknowledgement_record(bad, OrderKind.FREEZE)], notices, partition=date(2026, 11, 1))
    state = ledger_state(ledger.attempts(), ledger.acknowledgements())
    assert state.held == {("1403-000001", "bank_melli", "IR1"): 400}
    assert state.news[("bank_melli", "IR1")].limit_rial == 400  # partial: the account can give no more
    assert list(tmp_path.glob("quarantine/freeze_acknowledgements/*/*.parquet"))  # the negative amount
    [delivered] = notifications.delivered("0499370899")
    assert delivered["action"] == "freeze" and delivered["amount_rial"] == 400 and delivered["confidential"]
    assert "1403-000001" in str(delivered["message"]) and "400" in str(delivered["message"])
