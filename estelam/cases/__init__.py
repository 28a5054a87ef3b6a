"""Cases as the court and the judges direct them: the standing directives (confidential, collect, vehicle
restriction) folded from the ``case_directives`` feed.

May import: core, contracts, ingest.
"""

from __future__ import annotations

from estelam.cases.directives import (
    NO_DIRECTIVES,
    CaseDirectives,
    Directive,
    case_directives,
    mark_directive,
    standing_directives,
)

__all__ = [
    "NO_DIRECTIVES",
    "CaseDirectives",
    "Directive",
    "case_directives",
    "mark_directive",
    "standing_directives",
]
