"""Cases as the court and the judges direct them: directives (confidential, collect, vehicle restrictions, cancel,
release, re-inquiry) validated and landed in the ``case_directives`` feed, and folded into standing directives.

May import: core, contracts, ingest, access.
"""

from __future__ import annotations

from estelam.cases.directives import (
    NO_DIRECTIVES,
    CaseDirectives,
    Directive,
    case_directives,
    mark_directive,
    standing_directives,
    submit_directive,
)

__all__ = [
    "NO_DIRECTIVES",
    "CaseDirectives",
    "Directive",
    "case_directives",
    "mark_directive",
    "standing_directives",
    "submit_directive",
]
