"""Matching a batch inquiry's answer to the persons asked, the same way for every wire protocol.

A batch answer must answer every distinct person asked exactly once and nobody else;
otherwise the whole answer is unreadable (the client raises ``AgencyAnswerMalformed``),
because a person silently left out would have no final state in the inquiry log.
Person ids go on the wire with Latin digits and are matched with Latin digits,
whatever script the agency wrote them back in. An id that is not 10 or 11 digits
at all is never sent (the agency would refuse the whole batch for one such id): it
gets its own ``AgencyError`` and the others are asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TypeVar

from estelam.core.exceptions import AgencyError
from estelam.core.identifiers import latin_digits

#: What every agency contract accepts as a person id on the wire (check digits are the agency's to judge).
WIRE_PERSON_ID = re.compile(r"[0-9]{10,11}")

_T = TypeVar("_T")


class BatchMismatch(ValueError):
    """The answer does not answer exactly the persons asked."""


def wire_ids(person_ids: Sequence[str]) -> list[str]:
    """The distinct person ids to send, with Latin digits, in the order asked (unsendable ones left out)."""
    return list(dict.fromkeys(w for w in map(latin_digits, person_ids) if WIRE_PERSON_ID.fullmatch(w)))


def unsendable(person_ids: Sequence[str], *, agency_id: str, operation: str,
               request_id: str) -> dict[str, AgencyError]:
    """An ``AgencyError`` for each person id no agency contract accepts; these are not sent."""
    return {p: AgencyError(f"person id {p!r} is not 10 or 11 digits; not sent", agency_id=agency_id,
                           operation=operation, request_id=request_id)
            for p in person_ids if not WIRE_PERSON_ID.fullmatch(latin_digits(p))}


def match_answers(person_ids: Sequence[str], answered: Iterable[tuple[str, _T]]) -> dict[str, _T]:
    """``{person id as asked: its entry}`` from ``(person id as the agency wrote it, entry)`` pairs.

    Raises ``BatchMismatch`` when a person is answered twice, a stranger is answered, or an
    asked person is left out.
    """
    by_wire: dict[str, _T] = {}
    for written, entry in answered:
        wire = latin_digits(written)
        if wire in by_wire:
            raise BatchMismatch(f"the answer answers person {wire} twice")
        by_wire[wire] = entry
    asked = set(wire_ids(person_ids))
    person_ids = [p for p in person_ids if latin_digits(p) in asked]
    strangers = sorted(set(by_wire) - asked)
    if strangers:
        raise BatchMismatch(f"the answer answers persons who were not asked: {strangers[:5]}")
    missing = sorted(asked - set(by_wire))
    if missing:
        raise BatchMismatch(f"the answer leaves out {len(missing)} of {len(asked)} persons asked: {missing[:5]}")
    return {person_id: by_wire[latin_digits(person_id)] for person_id in person_ids}
