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


def not_found(case_id: str) -> ReportError:
    """The one refusal a judge gets for a case they may not see, whether or not it exists."""
    return ReportError(f"no case {case_id!r} in the warehouse")


def hidden(case_id: str) -> AccessDenied:
    """A case exists but this judge may not see it: refused (and audited) as such, answered as a missing case."""
    refusal = AccessDenied(str(not_found(case_id)))
    refusal.status_code = 404
    return refusal


def case_header(case_id: str) -> CaseHeader:
    """The case's court and debtor from the warehouse (:class:`ReportError` when there is no such case)."""
    with connect_read_only() as con:
        row = con.execute("select court_code, person_id from asset_report where case_id = ? limit 1",
                          [case_id]).fetchone()
    if row is None:
        raise not_found(case_id)
    return CaseHeader(case_id, row[0], str(row[1]))


def check_case_access(principal: Principal, case: CaseHeader) -> None:
    """Allow a judge assigned to the case; a confidential case only to its named users (the landed directives).

    Any refusal is :func:`hidden`, whose answer (404, the missing case's message) says nothing of
    whether the case exists, is another court's or is confidential; the audit log keeps the reason.
    """
    if not principal.is_assigned(case.case_id, case.court_code):
        raise hidden(case.case_id)
    directives = standing_directives().get(case.case_id, NO_DIRECTIVES)
    if directives.confidential and principal.subject not in directives.authorised_users:
        raise hidden(case.case_id)
