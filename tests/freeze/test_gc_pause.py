"""The plan, the replay and the diff pause the cyclic garbage collector while they run, and only then."""

from __future__ import annotations

import gc

import pytest

from estelam.freeze.ledger import ledger_state, plan_orders
from estelam.freeze.planner import plan_freezes, without_cyclic_gc


def test_the_collector_is_paused_inside_and_resumed_after_even_on_error() -> None:
    seen: list[bool] = []

    @without_cyclic_gc
    def inner() -> None:
        seen.append(gc.isenabled())

    @without_cyclic_gc
    def outer(fail: bool) -> None:
        inner()
        seen.append(gc.isenabled())  # the inner call returned: still paused for the outer one
        if fail:
            raise ValueError("boom")

    assert gc.isenabled()
    outer(False)
    assert seen == [False, False] and gc.isenabled()
    with pytest.raises(ValueError):
        outer(True)
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off() -> None:
    gc.disable()
    try:
        without_cyclic_gc(lambda: None)()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_plan_the_replay_and_the_diff_are_paused() -> None:
    for work in (plan_freezes, ledger_state, plan_orders):
        assert getattr(work, "__wrapped__", None) is not None, work.__name__
    assert ledger_state([], []).held == {}
    assert gc.isenabled()
