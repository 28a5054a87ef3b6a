"""The figures a benchmark prints last: one JSON object on one line, so runs can be compared between commits.

Every benchmark's last line of output is ``emit(...)``'s: its name, its headline figures (each next to the
floor measured in the same run, where there is one) and whatever else it measured, with the load average
(the machine may be shared: a figure means little without it) and the peak resident memory of the process.
``estelam bench all`` reads that line from each benchmark and prints one table.
"""

from __future__ import annotations

import json
import os
import resource
from typing import Any


def headline(what: str, value: float, unit: str, floor: float | None = None) -> dict[str, Any]:
    """One figure, and its ratio to the floor (value / floor: above 1 is slower for times, faster for rates)."""
    shown = round(value, 4)
    floor_shown = None if floor is None else round(floor, 4)
    # the ratio of the figures as printed, so a reader (or a test) recomputing it from them gets the same
    return {"what": what, "value": shown, "unit": unit, "floor": floor_shown,
            "ratio": None if not floor_shown else round(shown / floor_shown, 2)}


def peak_rss_mb() -> float:
    """The most resident memory this process (or the largest child it waited for) held, in MiB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) / 1024, 1)  # Linux reports KiB


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def emit(benchmark: str, headlines: list[dict[str, Any]], **figures: Any) -> dict[str, Any]:
    """Print the benchmark's figures as one JSON line (its last line of output) and return them."""
    record = {"benchmark": benchmark, "headline": headlines, **figures,
              "peak_rss_mb": peak_rss_mb(), "load_average": load_average()}
    print(json.dumps(record, ensure_ascii=False, default=str), flush=True)
    return record
