"""Disclosure control: what statistics may show of small numbers, declared once per mart and applied everywhere.

Each published KPI mart declares in its dbt ``meta.disclosure`` which columns count events (``counts``),
which sum to a row's size (``size``) and which numeric columns are dimensions (``dimensions``). Wherever a
mart leaves the hub — the statisticians' ``/kpis``, the open statistics, the dashboard — the same rules hold,
with ``k = ESTELAM_SUPPRESS_BELOW`` (5):

- a count from 1 to k - 1 is hidden (``None``); zero stays zero (it reveals nobody);
- every numeric measure of a row whose size is below k is hidden (an average or an amount over one or two
  orders would name them);
- open statistics also round every amount (``*_rial``) to ``AMOUNT_ROUNDING`` and every share to three places.

This module works on plain rows (``list[dict]``) and reads nothing: readers pass it what they read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Open statistics show money to the nearest million rials (or halalas): no single order's amount.
AMOUNT_ROUNDING = 1_000_000
SHARE_DECIMALS = 3


@dataclass(frozen=True)
class DisclosureRules:
    counts: tuple[str, ...]
    size: tuple[str, ...]
    dimensions: tuple[str, ...] = ()
    all_counts: bool = False  # no rules recorded: treat every numeric column as a count

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> DisclosureRules:
        def names(key: str) -> tuple[str, ...]:
            value = meta.get(key) or ()
            return (value,) if isinstance(value, str) else tuple(str(v) for v in value)

        return cls(counts=names("counts"), size=names("size"), dimensions=names("dimensions"))

    def as_dict(self) -> dict[str, list[str]]:
        return {"counts": list(self.counts), "size": list(self.size), "dimensions": list(self.dimensions)}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def suppress(rows: Sequence[Mapping[str, Any]], rules: DisclosureRules, threshold: int) -> list[dict[str, Any]]:
    """The rows with small counts, and every measure of small rows, hidden (``None``)."""
    shown: list[dict[str, Any]] = []
    for row in rows:
        out = dict(row)
        size = sum(int(row.get(c) or 0) for c in rules.size)
        if rules.size and size < threshold:
            for column, value in row.items():
                if _number(value) and column not in rules.dimensions:
                    out[column] = None
        for column in (list(row) if rules.all_counts else rules.counts):
            value = out.get(column)
            if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < threshold:
                out[column] = None
        shown.append(out)
    return shown


def for_open_data(rows: Sequence[Mapping[str, Any]], rules: DisclosureRules,
                  threshold: int) -> list[dict[str, Any]]:
    """Suppressed as :func:`suppress`, then amounts rounded to ``AMOUNT_ROUNDING`` and shares to three places."""
    opened = suppress(rows, rules, threshold)
    for row in opened:
        for column, value in row.items():
            if not _number(value):
                continue
            if column.endswith("_rial"):
                row[column] = round(value / AMOUNT_ROUNDING) * AMOUNT_ROUNDING
            elif column.endswith("_share"):
                row[column] = round(float(value), SHARE_DECIMALS)
    return opened


__all__ = ["AMOUNT_ROUNDING", "DisclosureRules", "for_open_data", "suppress"]
