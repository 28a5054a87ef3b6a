"""The register of fugitive convicts, as the lookup service and the police push read it from the warehouse.

One entry per person on the ``fugitives`` mart: since when (the latest absconding), the case and court of that
absconding, on how many cases, what is still owed. A person who left the register is ``listed`` false; why they
left (:func:`removal_reasons`) comes from their convictions: apprehended, paid, or the listing expired.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import duckdb

from estelam.warehouse.dbt_build import connect_read_only

COLUMNS = ("person_id", "absconded_at", "case_id", "court_code", "fugitive_cases", "outstanding_rial", "as_of")
MART = "fugitives"


class RemovalReason(StrEnum):
    APPREHENDED = "apprehended"
    PAID = "paid"
    EXPIRED = "expired"


@dataclass(frozen=True)
class FugitiveEntry:
    """What a partner agency learns of one person."""

    person_id: str
    listed: bool
    since: datetime | None = None
    case_id: str | None = None
    court_code: str | None = None
    fugitive_cases: int | None = None
    outstanding_rial: int | None = None
    reason: str | None = None
    as_of: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _reason(cases: int) -> str:
    return f"absconded on {cases} unsatisfied listed financial conviction{'s' if cases != 1 else ''}"


def _entry(row: Sequence[Any]) -> FugitiveEntry:
    person_id, since, case_id, court, cases, owed, as_of = row
    return FugitiveEntry(person_id=str(person_id), listed=True, since=since, case_id=case_id, court_code=court,
                         fugitive_cases=int(cases), outstanding_rial=int(owed) if owed is not None else None,
                         reason=_reason(int(cases)), as_of=as_of)


def _select(since: date | None = None) -> str:
    where = " where absconded_at >= ?" if since else ""
    return f"select {', '.join(COLUMNS)} from {MART}{where} order by person_id"


def lookup(person_id: str) -> FugitiveEntry:
    """The entry of ``person_id`` (``listed`` false when not on the register)."""
    with connect_read_only() as con:
        row = con.execute(f"select {', '.join(COLUMNS)} from {MART} where person_id = ?", [person_id]).fetchone()
    return _entry(row) if row else FugitiveEntry(person_id=person_id, listed=False)


def entries(since: date | None = None) -> list[FugitiveEntry]:
    """Everyone on the register (or who absconded on or after ``since``), by person id."""
    with connect_read_only() as con:
        rows = con.execute(_select(since), [since] if since else []).fetchall()
    return [_entry(row) for row in rows]


#: Why a person is no longer on the register: every absconding conviction satisfied -> paid; caught after the
#: absconding -> apprehended; otherwise the listing ran out (or was withdrawn) -> expired.
REMOVAL_SQL = """
    select person_id,
           case when bool_and(conviction_status = 'satisfied') then 'paid'
                when bool_or(apprehended_at is not null and apprehended_at >= absconded_at) then 'apprehended'
                else 'expired' end
    from intermediate.int_convictions
    where absconded_at is not null and person_id in (select unnest(?::varchar[]))
    group by person_id
"""


def removal_reasons(person_ids: Sequence[str]) -> dict[str, RemovalReason]:
    """Why each of ``person_ids`` (no longer on the register) left it; ``expired`` when the warehouse cannot say."""
    if not person_ids:
        return {}
    found: dict[str, RemovalReason] = {}
    with connect_read_only() as con:
        try:
            found = {str(p): RemovalReason(r) for p, r in con.execute(REMOVAL_SQL, [list(person_ids)]).fetchall()}
        except duckdb.CatalogException:  # a warehouse without the intermediate models: no reason known
            found = {}
    return {p: found.get(p, RemovalReason.EXPIRED) for p in person_ids}
