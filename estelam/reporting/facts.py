"""The asset report's "facts about the person" sections: one per agency of a kind declared by a mapping file.

Nothing here knows a kind: the rows come from the ``person_facts`` mart (one row per labelled column of each record
of each agency's latest answer) and the section's title and each column's label, in Persian, Arabic and English,
from the kind's mapping (``contributes.facts`` in ``contracts/kinds/<kind>.yaml``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class FactSection:
    """What one agency said about the person in its latest answer, labelled as its kind's mapping says."""

    agency_id: str
    agency_kind: str
    title: Mapping[str, str]  # language -> the section's title
    name: Mapping[str, str]  # language -> the agency's name
    answered_at: datetime | None
    #: each record: (labels by language, value as text), in the mapping's order of labels
    records: list[list[tuple[Mapping[str, str], str]]] = field(default_factory=list)


def load_fact_sections(con: Any, person_id: str, names: Mapping[str, Mapping[str, str]]) -> list[FactSection]:
    """The sections for ``person_id``: every mapped fact kind's agency that answered about them (an empty section
    when it answered with no record)."""
    from estelam.contracts.registry import load_agency_registry

    kinds = {str(k): c.mapping for k, c in load_agency_registry().kinds.items()
             if c.mapping.facts is not None}
    if not kinds:
        return []
    exists = con.execute("select count(*) from information_schema.tables where table_name = 'person_facts'"
                         ).fetchone()
    if not exists or not exists[0]:  # a warehouse built before the mart existed
        return []
    rows = con.execute(
        "select agency_id, agency_kind, responded_at, record_no, column_name, value_text from person_facts "
        "where person_id = ? order by agency_id, record_no", [person_id]).fetchall()
    answered = con.execute(
        """select agency_id, agency_kind, max(responded_at) from staging.stg_hub__inquiries
           where person_id = ? and status = 'answered' group by all order by agency_id""", [person_id]).fetchall()
    values: dict[str, dict[int, dict[str, str]]] = {}
    for agency_id, _, _, record_no, column, value in rows:
        values.setdefault(agency_id, {}).setdefault(int(record_no), {})[column] = value
    sections = []
    for agency_id, agency_kind, at in answered:
        mapping = kinds.get(str(agency_kind))
        if mapping is None or mapping.facts is None:
            continue
        labels = mapping.facts.labels
        records = [[(labels[c], record[c]) for c in labels if record.get(c) is not None]
                   for _, record in sorted(values.get(agency_id, {}).items())]
        sections.append(FactSection(agency_id, str(agency_kind), mapping.facts.title, names.get(agency_id, {}), at,
                                    records))
    return sections


__all__ = ["FactSection", "load_fact_sections"]
