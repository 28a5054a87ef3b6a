"""A reconciliation cycle killed at each step boundary of the order ledger, then rerun on the same data and agencies:
every notification owed is delivered exactly once, no order row is repeated, and the hub's books agree with the
agencies'.

The crash is an exception raised at the boundary, in the process: every write of the ledger is atomic (a file moved
into place), so what a kill -9 there leaves behind is exactly what the exception leaves — the steps before it
done, the steps after it not.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from estelam.freeze import notifications, reconciliation
from estelam.freeze.ledger import ACKS_FEED, ORDERS_FEED, CaseFacts, ledger_state
from estelam.freeze.reconciliation import LandedLedger
from estelam.ingest.landing import read_landed
from tests.freeze.freeze_harness import T0, EnforcementWorld, account, holding
from tests.settings_support import override


class Crash(Exception):
    """The process died here."""


#: Where a cycle can die: before each write of the ledger's record step.
BOUNDARIES = ["before the order log", "before the acknowledgements", "before the notifications",
              "before the delivery"]


def _world(tmp_path: Path) -> EnforcementWorld:
    assets = [
        account("IR000000000000000000000002", "P1", 700),
        account("IR000000000000000000000003", "P1", 900),
        holding("P2", "FOOLAD", 10, 120),
        account("IR000000000000000000000004", "P3", 5_000),
    ]
    cases = {"C1": CaseFacts("C1", "P1", "natural", T0, 1_200, True),
             "C2": CaseFacts("C2", "P2", "natural", T0, 800, True),
             "C3": CaseFacts("C3", "P3", "legal", T0, 2_000, True)}
    return EnforcementWorld(assets, cases, {"P1": "natural", "P2": "natural", "P3": "legal"},
                            ledger=LandedLedger())  # type: ignore[arg-type]  # the landed logs, for real


def _arm(monkeypatch: pytest.MonkeyPatch, boundary: str) -> None:
    """Make the first write at ``boundary`` die (once)."""
    armed = {"on": True}
    land, deliver = reconciliation.land_audited, notifications.deliver
    feed_of = {"before the order log": ORDERS_FEED, "before the acknowledgements": ACKS_FEED,
               "before the notifications": notifications.FEED}

    def landing(feed: str, records: Any, **kwargs: Any) -> Any:
        if armed["on"] and feed_of.get(boundary) == feed:
            armed["on"] = False
            raise Crash(boundary)
        return land(feed, records, **kwargs)

    def delivering(rows: Any, **kwargs: Any) -> Any:
        if armed["on"] and boundary == "before the delivery" and rows:
            armed["on"] = False
            raise Crash(boundary)
        return deliver(rows, **kwargs)

    monkeypatch.setattr(reconciliation, "land_audited", landing)
    monkeypatch.setattr(notifications, "deliver", delivering)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_a_cycle_killed_at_a_step_boundary_is_made_whole_by_its_rerun(boundary: str, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=tmp_path)
    world = _world(tmp_path)
    with monkeypatch.context() as crashing:
        _arm(crashing, boundary)
        with pytest.raises(Crash):
            world.cycle("c1")
    world.cycle("c1")  # the rerun: same cycle, same data, same agencies
    world.clock.advance()
    world.cycle("c2")  # and the next day's

    acks = read_landed(ACKS_FEED)
    moved = {str(a["order_id"]) for a in acks if int(a["acknowledged_amount_rial"]) > 0}
    assert moved, "the world froze nothing: the test would prove nothing"
    delivered = Counter(str(n["notification_id"]) for n in notifications.delivered())
    assert set(delivered) == moved, "every acknowledgement that moved money is delivered to the debtor"
    assert set(delivered.values()) == {1}, f"a notification delivered twice: {delivered}"
    landed_notices = Counter(str(n["notification_id"]) for n in read_landed(notifications.FEED))
    assert set(landed_notices.values()) == {1}
    order_rows = Counter((str(o["order_id"]), str(o["cycle_id"])) for o in read_landed(ORDERS_FEED))
    assert set(order_rows.values()) == {1}, "an order row repeated"
    assert Counter(str(a["order_id"]) for a in acks).most_common(1)[0][1] == 1, "an acknowledgement landed twice"
    state = ledger_state(read_landed(ORDERS_FEED), acks)
    assert state.held == world.held_truth(), "the hub's books disagree with the agencies'"
    for case_id, case in world.cases.items():  # never frozen beyond a debt
        assert sum(v for (c, _, _), v in world.held_truth().items() if c == case_id) <= case.outstanding_rial


def test_an_acknowledgement_posted_to_the_api_is_notified_by_the_next_cycle(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Notifications derive from the acknowledgement log, whichever way an acknowledgement arrived."""
    override(monkeypatch, data_dir=tmp_path)
    world = _world(tmp_path)
    world.cycle("c1", {"bank_a": "lost"})  # bank_a applies its orders; its acknowledgements never come back
    before = {str(n["notification_id"]) for n in notifications.delivered()}
    lost = [o for o in read_landed(ORDERS_FEED) if o["agency_id"] == "bank_a"]
    assert lost and not {str(o["order_id"]) for o in lost} & before
    world.clock.advance()
    world.cycle("c2")  # resent under the same keys: the agency returns its stored acknowledgements
    after = Counter(str(n["notification_id"]) for n in notifications.delivered())
    assert {str(o["order_id"]) for o in lost} <= set(after) and set(after.values()) == {1}
