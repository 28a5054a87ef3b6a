"""Collected money reaches the creditor: after a transfer to the court's account is acknowledged, the hub orders
the bank of the court's account to pay it to the creditor's IBAN, once, and again only for what is collected later
(in-memory agencies, the same state the simulators serve)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from estelam.cases.directives import Directive
from estelam.contracts.registry import CourtAccount
from estelam.freeze.ledger import CaseFacts, ReasonCode
from tests.freeze.freeze_harness import EnforcementWorld, account
from tests.freeze.test_directives import Judge, sent

NOW = datetime(2026, 11, 1, tzinfo=UTC)
RICH = account("IR000000000000000000000004", "P1", 5_000)
CREDITOR_IBAN = "IR370120000000200000000002"
COURT = CourtAccount("bank_b", "IR380170000000100000000001")


def world_of(*, creditor_iban: str | None = CREDITOR_IBAN, owed: int = 3_000) -> tuple[EnforcementWorld, Judge]:
    case = CaseFacts("C1", "P1", "natural", NOW, owed, True, creditor_iban)
    world = EnforcementWorld([RICH], {"C1": case}, {"P1": "natural"}, court_account=COURT)
    return world, Judge(world)


def test_a_collection_is_paid_out_to_the_creditor_in_the_same_cycle_and_once() -> None:
    world, judge = world_of()
    world.cycle("c1")
    judge.direct(Directive.COLLECT, amount_rial=1_000)
    world.clock.advance()
    summary = world.cycle("c2")
    assert [(k, r) for k, _, _, r in sent(world, "c2")] == [("transfer", ReasonCode.COLLECTION),
                                                             ("payout", ReasonCode.PAYOUT)]
    assert summary.payouts == 1
    (payout,) = [r for r in world.ledger.attempts() if r["kind"] == "payout"]
    assert (payout["agency_id"], payout["asset_ref"], payout["amount_rial"]) == ("bank_b", CREDITOR_IBAN, 1_000)
    assert world.states["bank_b"].paid_out("C1") == {CREDITOR_IBAN: 1_000}
    state = world.state()
    assert state.collected["C1"] == state.paid_out["C1"] == 1_000
    assert ("C1", "bank_b", CREDITOR_IBAN) not in {k for k, v in state.held.items() if v}  # a payment holds nothing
    world.clock.advance()
    assert world.cycle("c3").orders == 0  # paid once
    judge.direct(Directive.COLLECT)  # the rest of what is owed
    world.clock.advance()
    world.cycle("c4")
    assert world.states["bank_b"].paid_out("C1") == {CREDITOR_IBAN: 3_000}  # only the difference paid the 2nd time
    assert world.state().paid_out["C1"] == 3_000


def test_a_payout_the_bank_did_not_acknowledge_is_resent_under_the_same_id_and_paid_once() -> None:
    world, judge = world_of()
    world.cycle("c1")
    judge.direct(Directive.COLLECT, amount_rial=1_000)
    world.clock.advance()
    world.cycle("c2", {"bank_b": "lost"})  # the bank paid, the answer was lost
    first = {r["order_id"] for r in world.ledger.attempts() if r["kind"] == "payout"}
    world.clock.advance()
    world.cycle("c3")
    assert {r["order_id"] for r in world.ledger.attempts() if r["kind"] == "payout"} == first
    assert world.states["bank_b"].paid_out("C1") == {CREDITOR_IBAN: 1_000}
    assert world.state().paid_out["C1"] == 1_000


def test_a_closed_case_still_pays_out_what_it_collected() -> None:
    world, judge = world_of()
    world.cycle("c1")
    judge.direct(Directive.COLLECT)
    world.clock.advance()
    world.cycle("c2", {"bank_b": "down"})  # collected; the payout could not be sent
    world.cases["C1"] = replace(world.cases["C1"], is_open=False)
    world.clock.advance()
    world.cycle("c3")
    assert world.states["bank_b"].paid_out("C1") == {CREDITOR_IBAN: 3_000}


def test_no_payout_without_the_creditors_account_or_the_court_account() -> None:
    world, judge = world_of(creditor_iban=None)
    world.cycle("c1")
    judge.direct(Directive.COLLECT, amount_rial=1_000)
    world.clock.advance()
    world.cycle("c2")
    assert "payout" not in {k for k, *_ in sent(world, "c2")}
    assert world.state().collected["C1"] == 1_000 and world.state().paid_out["C1"] == 0
    world, judge = world_of()
    world.court_account = None
    world.cycle("c1")
    judge.direct(Directive.COLLECT, amount_rial=1_000)
    world.clock.advance()
    world.cycle("c2")
    assert "payout" not in {k for k, *_ in sent(world, "c2")}


def test_a_payout_to_an_iban_failing_its_check_digits_is_refused_by_the_bank_and_paid_nothing() -> None:
    world, judge = world_of(creditor_iban="IR990170000000100000000001")
    world.cycle("c1")
    judge.direct(Directive.COLLECT, amount_rial=1_000)
    world.clock.advance()
    world.cycle("c2")
    (ack,) = [a for a in world.ledger.acknowledgements() if a["order_kind"] == "payout"]
    assert (ack["status"], ack["acknowledged_amount_rial"]) == ("refused", 0)
    assert world.state().paid_out["C1"] == 0
    world.clock.advance()
    assert world.cycle("c3").orders == 0  # a refused account is not asked again until the court sends another
    world.cases["C1"] = replace(world.cases["C1"], creditor_iban=CREDITOR_IBAN)
    world.clock.advance()
    world.cycle("c4")
    assert world.states["bank_b"].paid_out("C1") == {CREDITOR_IBAN: 1_000}


def test_the_payout_is_issued_after_the_transfer_it_pays_is_acknowledged() -> None:
    world, judge = world_of()
    world.cycle("c1")
    judge.direct(Directive.COLLECT, amount_rial=1_000)
    world.clock.advance()
    world.cycle("c2", timed_passes=True)
    orders = {str(r["kind"]): r for r in world.ledger.attempts() if r["cycle_id"] == "c2"}
    (transfer_ack,) = [a for a in world.ledger.acknowledgements() if a["order_kind"] == "transfer"]
    # on the record (and the case's timeline) the payout follows the acknowledgement of the money it pays out
    assert orders["transfer"]["first_issued_at"] < transfer_ack["acknowledged_at"] < orders["payout"]["first_issued_at"]


def test_a_payout_is_told_to_the_debtor_and_to_the_creditor() -> None:
    world, judge = world_of()
    world.cycle("c1")
    judge.direct(Directive.COLLECT, amount_rial=1_000)
    world.clock.advance()
    world.cycle("c2")
    (payout,) = [r for r in world.ledger.attempts() if r["kind"] == "payout"]
    told = {str(n["notification_id"]): n for n in world.ledger.notice_rows if n["action"] == "payout"}
    assert set(told) == {payout["order_id"], f"{payout['order_id']}.creditor"}
    creditor = told[f"{payout['order_id']}.creditor"]
    assert creditor["recipient"] == "creditor" and creditor["amount_rial"] == 1_000
    assert "شما پرداخت شد" in str(creditor["message"]) and CREDITOR_IBAN not in str(creditor["message"])
    assert told[payout["order_id"]]["recipient"] == "debtor"
