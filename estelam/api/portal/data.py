"""What the portal's pages read: the warehouse, read-only, as the API's endpoints do, filtered to the caller.

A judge reads the cases of their courts or named cases (a confidential case only when named in it); a
creditor reads the cases the court system records under their name; a debtor reads their own. Nothing
here writes; the pages audit what they show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from estelam.access.auth import Principal, Role
from estelam.api.cases import CaseHeader, check_case_access
from estelam.cases.directives import NO_DIRECTIVES, CaseDirectives, standing_directives
from estelam.core.exceptions import AccessDenied
from estelam.warehouse.dbt_build import connect_read_only

#: Coverage filters of the judge's list: (lower bound inclusive, upper bound exclusive) of the coverage ratio.
COVERAGE = {"none": (0.0, 1e-9), "partial": (1e-9, 1.0), "full": (1.0, float("inf"))}


def _rows(con: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


CASES_SQL = """
    select case_id, any_value(court_code) as court_code, any_value(person_id) as person_id,
           any_value(debtor_name) as debtor_name, any_value(creditor_name) as creditor_name,
           any_value(case_status) as case_status, any_value(filed_at) as filed_at,
           any_value(amount_owed_rial) as amount_owed_rial, any_value(paid_rial) as paid_rial,
           coalesce(any_value(owed_now_rial), any_value(outstanding_rial)) as outstanding_rial,
           coalesce(any_value(case_frozen_rial), 0) as frozen_rial,
           coalesce(any_value(coverage_ratio), 0) as coverage_ratio, any_value(last_event_type) as last_event_type,
           coalesce(any_value(collected_rial), 0) as collected, coalesce(any_value(paid_out_rial), 0) as paid_out,
           any_value(decision_number) as decision_number, any_value(judge_name) as judge_name,
           any_value(last_event_at) as last_event_at
    from asset_report
"""


@dataclass(frozen=True)
class CaseFilter:
    status: str = "all"  # all, open, closed
    coverage: str = "all"  # all, none, partial, full
    descending: bool = True  # by outstanding


def visible_to_judge(judge: Principal, case: dict[str, Any], directives: dict[str, CaseDirectives]) -> bool:
    if not judge.is_assigned(case["case_id"], case["court_code"]):
        return False
    standing = directives.get(case["case_id"], NO_DIRECTIVES)
    return not standing.confidential or judge.subject in standing.authorised_users


def judge_cases(judge: Principal, wanted: CaseFilter) -> list[dict[str, Any]]:
    """The judge's cases, filtered by status and coverage, by outstanding amount."""
    with connect_read_only() as con:
        cases = _rows(con, CASES_SQL + " group by case_id", [])
    directives = standing_directives()
    shown = [c for c in cases if visible_to_judge(judge, c, directives)]
    if wanted.status in ("open", "closed"):
        shown = [c for c in shown if c["case_status"] == wanted.status]
    if wanted.coverage in COVERAGE:
        low, high = COVERAGE[wanted.coverage]
        shown = [c for c in shown if low <= float(c["coverage_ratio"] or 0) < high]
    return sorted(shown, key=lambda c: (int(c["outstanding_rial"] or 0), c["case_id"]), reverse=wanted.descending)


def party_cases(principal: Principal) -> list[dict[str, Any]]:
    """A creditor's requests or a debtor's cases (their own only); none for any other role."""
    if principal.role is Role.CREDITOR and principal.creditor:
        where, value = "creditor_name", principal.creditor
    elif principal.role is Role.PERSON and principal.person_id:
        where, value = "person_id", principal.person_id
    else:
        return []
    with connect_read_only() as con:
        cases = _rows(con, CASES_SQL + f" where {where} = ? group by case_id order by case_id", [value])
    directives = standing_directives()
    return [c for c in cases if not directives.get(c["case_id"], NO_DIRECTIVES).confidential
            or principal.subject in directives[c["case_id"]].authorised_users]


def check_party_access(principal: Principal, case_id: str) -> dict[str, Any]:
    """The case, when ``principal`` is its creditor or debtor (and not shut out by confidentiality)."""
    for case in party_cases(principal):
        if case["case_id"] == case_id:
            return case
    raise AccessDenied(f"{principal.subject} is not a party to case {case_id}")


def check_judge_access(judge: Principal, header: CaseHeader) -> None:
    check_case_access(judge, header)


def timeline(case_ids: list[str], since: datetime | None = None) -> list[dict[str, Any]]:
    """The cases' timeline entries (oldest first), only those after ``since`` when given."""
    if not case_ids:
        return []
    marks = ",".join("?" for _ in case_ids)
    sql = f"select * from case_timeline where case_id in ({marks})"
    params: list[Any] = list(case_ids)
    if since is not None:
        sql += " and occurred_at > ?"
        params.append(since)
    with connect_read_only() as con:
        return _rows(con, sql + " order by occurred_at, case_id, seq", params)


def pending_orders(case_id: str) -> list[dict[str, Any]]:
    """The case's orders not yet acknowledged (latest sending of each), with their deadlines."""
    with connect_read_only() as con:
        return _rows(con, """
            select order_id, order_kind, agency_id, asset_kind, asset_ref, amount_rial, restriction_type,
                   deadline_at, order_status
            from staging.stg_hub__freeze_orders
            where case_id = ?
            qualify row_number() over (partition by order_id order by issued_at desc) = 1
                and order_status <> 'acknowledged'
            order by deadline_at, agency_id, order_id
        """, [case_id])


def frozen_assets_of(person_id: str) -> list[dict[str, Any]]:
    """A debtor's assets (frozen or protected) with the case and court they are held for."""
    with connect_read_only() as con:
        return _rows(con, """
            select case_id, court_code, agency_id, asset_kind, asset_ref, asset_detail, value_rial, frozen_rial,
                   is_protected, last_ack_status
            from asset_report
            where person_id = ? and asset_ref is not null and (coalesce(frozen_rial, 0) > 0 or is_protected)
            order by case_id, agency_id, asset_ref
        """, [person_id])
