"""Which cases a judge may see: their courts or named cases, and a confidential case only if named in it."""

from __future__ import annotations

from dataclasses import dataclass

from estelam.access.auth import Principal
from estelam.cases.directives import NO_DIRECTIVES, standing_directives
from estelam.core.exceptions import AccessDenied, ReportError
from estelam.warehouse.dbt_build import connect_read_only


@dataclass(frozen=True)
class CaseHeader:
    case_id: str
    court_code: str | None
    person_id: str


def case_header(case_id: str) -> CaseHeader:
    """The case's court and debtor from the warehouse (:class:`ReportError` when there is no such case)."""
    with connect_read_only() as con:
        row = con.execute("select court_code, person_id from asset_report where case_id = ? limit 1",
                          [case_id]).fetchone()
    if row is None:
        raise ReportError(f"no case {case_id!r} in the warehouse")
    return CaseHeader(case_id, row[0], str(row[1]))


def check_case_access(principal: Principal, case: CaseHeader) -> None:
    """Allow a judge assigned to the case; a confidential case only to its named users (the landed directives)."""
    if not principal.is_assigned(case.case_id, case.court_code):
        raise AccessDenied(f"case {case.case_id} is not assigned to {principal.subject}")
    directives = standing_directives().get(case.case_id, NO_DIRECTIVES)
    if directives.confidential and principal.subject not in directives.authorised_users:
        raise AccessDenied(f"case {case.case_id} is confidential and {principal.subject} is not named in it")
