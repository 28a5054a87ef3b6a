"""A judge's standing directives on a case, folded from the ``case_directives`` feed.

Directives arrive as landed rows (from the court system's drop or a judge through the API); the
freeze reconciliation reads each case's standing directives when it plans.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from estelam.contracts.rows import CaseDirectivesRow
from estelam.core.domain import RestrictionType
from estelam.core.keys import stable_id
from estelam.ingest.landing import read_landed, validate_and_land

DIRECTIVES_FEED: Final = "case_directives"
#: The restriction a vehicle freeze asks for unless the judge directed otherwise.
DEFAULT_RESTRICTION = RestrictionType.TRANSFER


class Directive(StrEnum):
    """What a judge may direct about a case's freezes (the ``case_directives`` feed)."""

    CONFIDENTIAL = "confidential"
    LIFT_CONFIDENTIALITY = "lift_confidentiality"
    COLLECT = "collect"
    RESTRICT_CIRCULATION = "restrict_circulation"


@dataclass(frozen=True)
class CaseDirectives:
    """The judge's standing directives for one case."""

    confidential: bool = False
    authorised_users: tuple[str, ...] = ()
    collect: bool = False
    restriction_type: RestrictionType = DEFAULT_RESTRICTION


NO_DIRECTIVES = CaseDirectives()


def case_directives(records: Iterable[CaseDirectivesRow]) -> dict[str, CaseDirectives]:
    """Fold the directive log (oldest first by ``issued_at``) into each case's standing directives."""
    state: dict[str, CaseDirectives] = {}
    for row in sorted(records, key=lambda r: (r["issued_at"], str(r["directive_id"]))):
        case_id = str(row["case_id"])
        now = state.get(case_id, NO_DIRECTIVES)
        directive = Directive(str(row["directive"]))
        if directive is Directive.CONFIDENTIAL:
            users = tuple(sorted({u.strip() for u in str(row.get("authorised_users") or "").split(",") if u.strip()}))
            now = CaseDirectives(True, users, now.collect, now.restriction_type)
        elif directive is Directive.LIFT_CONFIDENTIALITY:
            now = CaseDirectives(False, (), now.collect, now.restriction_type)
        elif directive is Directive.COLLECT:
            now = CaseDirectives(now.confidential, now.authorised_users, True, RestrictionType.SEIZURE)
        elif now.restriction_type is not RestrictionType.SEIZURE:
            now = CaseDirectives(now.confidential, now.authorised_users, now.collect, RestrictionType.CIRCULATION)
        state[case_id] = now
    return state


def standing_directives() -> dict[str, CaseDirectives]:
    """Every case's standing directives from the landed ``case_directives`` feed."""
    return case_directives(read_landed(DIRECTIVES_FEED))


def mark_directive(case_id: str, directive: Directive, *, issued_by: str, authorised_users: Sequence[str] = (),
                   issued_at: datetime | None = None) -> None:
    """Record a judge's directive on a case (confidential, collect, ...) as a landed ``case_directives`` row."""
    issued_at = issued_at or datetime.now(UTC)
    row: CaseDirectivesRow = {
        "directive_id": stable_id(case_id, directive, issued_at.isoformat()), "case_id": case_id,
        "directive": str(directive), "authorised_users": ",".join(authorised_users) or None,
        "issued_by": issued_by, "issued_at": issued_at,
    }
    validate_and_land(DIRECTIVES_FEED, [row], batch_id=row["directive_id"], partition=issued_at.date())
