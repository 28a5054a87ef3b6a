"""How a round is split into the inquiry DAG's tasks, and what a task does when one of its agencies' rounds cannot run.

(Whom the round plans to ask is tested against a real warehouse in tests/freeze/test_freeze_cycle.py.)
"""

from __future__ import annotations

import pytest

from estelam.core.exceptions import RoundError
from estelam.inquiry import rounds
from estelam.inquiry.rounds import inquire_agencies, task_groups


def test_agencies_with_few_inquiries_share_a_task_and_a_big_one_has_its_own() -> None:
    # a quiet day: two new debtors at each of five agencies is one task, not five
    assert task_groups([(f"bank_{n}", 2) for n in range(5)], inquiries_per_task=200) == [
        [f"bank_{n}" for n in range(5)]]
    # a national round: every agency has a task of its own
    assert task_groups([("a", 900), ("b", 200), ("c", 5000)], inquiries_per_task=200) == [["a"], ["b"], ["c"]]
    # a task is given agencies until it holds enough; an agency with nobody to ask gets no task at all
    assert task_groups([("a", 120), ("b", 0), ("c", 100), ("d", 30), ("e", 250), ("f", 1)],
                       inquiries_per_task=200) == [["a", "c"], ["d"], ["e"], ["f"]]
    assert task_groups([], inquiries_per_task=200) == []


def test_an_agency_whose_round_cannot_run_does_not_keep_the_others_from_being_asked(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def inquire_agency(agency_id: str, *, round_id: str) -> dict[str, object]:
        asked.append(agency_id)
        if agency_id == "bank_b":
            raise OSError("the landing zone's disk is full")
        return {"agency_id": agency_id, "round": round_id}

    monkeypatch.setattr(rounds, "inquire_agency", inquire_agency)
    assert inquire_agencies(["bank_a", "bank_c"], round_id="r-1") == [
        {"agency_id": "bank_a", "round": "r-1"}, {"agency_id": "bank_c", "round": "r-1"}]
    asked.clear()
    with pytest.raises(RoundError, match=r"1 of 3 agencies could not run: bank_b: OSError: the landing zone's disk"):
        inquire_agencies(["bank_a", "bank_b", "bank_c"], round_id="r-2")
    assert asked == ["bank_a", "bank_b", "bank_c"]
