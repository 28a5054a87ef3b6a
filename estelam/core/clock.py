"""The hub's clock: what time it is for every record the hub writes and every rule that depends on time.

A deployment runs on the system clock (UTC). A replay or the demo's simulated days move it with
:func:`simulated`: from then on every reading advances in real time from the moment given, so the
records written (orders issued, answers and acknowledgements received, landed batches, deliveries), the
agencies' simulators in the same process and the warehouse's ``as_of`` (the ``hub_now()`` function on
dbt's connection) all read one moved clock. The clock is process-wide, not per thread: the simulators'
servers and Airflow's in-process tasks run on threads of their own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

_lock = threading.Lock()
_offset = timedelta(0)


def now() -> datetime:
    """The hub's current time (timezone-aware, UTC)."""
    return datetime.now(UTC) + _offset


def today() -> date:
    """The hub's current day (UTC)."""
    return now().date()


def is_simulated() -> bool:
    """Whether the clock has been moved away from the system clock."""
    return _offset != timedelta(0)


def move_to(at: datetime) -> None:
    """Set the clock to ``at`` (timezone-aware); it advances in real time from there."""
    global _offset
    if at.tzinfo is None:
        raise ValueError(f"the hub's clock is set to a timezone-aware moment, not {at!r}")
    with _lock:
        _offset = at - datetime.now(UTC)


def reset() -> None:
    """Back to the system clock."""
    global _offset
    with _lock:
        _offset = timedelta(0)


@contextmanager
def simulated(at: datetime) -> Iterator[None]:
    """The clock set to ``at`` inside the block (and advancing), back to where it was after it."""
    global _offset
    with _lock:
        previous = _offset
    move_to(at)
    try:
        yield
    finally:
        with _lock:
            _offset = previous
