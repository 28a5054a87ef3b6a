"""Enforcement judges: a case's asset report, and an on-demand inquiry about one debtor."""

from __future__ import annotations

import dataclasses
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field

from estelam.access.audit import AuditAction
from estelam.access.auth import Principal, Role
from estelam.api.cases import case_header, check_case_access
from estelam.api.dependencies import BODY_RESPONSES, SAFE_TEXT_PATTERN, Settings, require
from estelam.core.exceptions import AccessDenied
from estelam.reporting import asset_report as reports

router = APIRouter(tags=["judges"])
Judge = Annotated[Principal, Depends(require(Role.JUDGE))]

CASE_ID_PATTERN = r"^[0-9]{4}-[0-9]{6}$"
PERSON_ID_PATTERN = r"^[0-9]{10,11}$"
DEFAULT_REPORT_PURPOSE = "enforcement"
PURPOSE_MAX_LENGTH = 200


class ReportFormat(StrEnum):
    JSON = "json"
    HTML = "html"
    PDF = "pdf"


class Language(StrEnum):
    FA = "fa"
    EN = "en"


class Variant(StrEnum):
    IR = "ir"
    SA = "sa"


class InquiryRequest(BaseModel):
    case_id: str = Field(pattern=CASE_ID_PATTERN, description="The case the inquiry serves; assigned to the judge.")
    purpose: str = Field(default=DEFAULT_REPORT_PURPOSE, min_length=1, max_length=PURPOSE_MAX_LENGTH,
                         pattern=SAFE_TEXT_PATTERN)


def _render(report: reports.CaseReport, fmt: ReportFormat, lang: Language, variant: Variant) -> Response:
    if fmt is ReportFormat.JSON:
        return JSONResponse(jsonable_encoder(dataclasses.asdict(report)))
    if fmt is ReportFormat.HTML:
        return HTMLResponse(reports.render_case_report(report, lang=str(lang), variant=str(variant)))
    pdf = reports.render_case_report_pdf(report, lang=str(lang), variant=str(variant))
    filename = f"asset_report-{report.case['case_id']}.pdf"
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"'})


@router.get(
    "/cases/{case_id}/asset-report",
    summary="A case's asset report (JSON, HTML or PDF)",
    responses={200: {"content": {"application/json": {}, "text/html": {}, "application/pdf": {}}},
               401: {"description": "no or unknown token"}, 403: {"description": "not a judge"},
               404: {"description": "no such case, or not one this judge may see (the same answer)"}},
)
def asset_report(
    case_id: Annotated[str, Path(pattern=CASE_ID_PATTERN)],
    judge: Judge,
    settings: Settings,
    format: ReportFormat = ReportFormat.JSON,  # noqa: A002 (the query parameter's public name)
    lang: Language = Language.FA,
    variant: Variant = Variant.IR,
    purpose: Annotated[str, Query(min_length=1, max_length=PURPOSE_MAX_LENGTH,
                                  pattern=SAFE_TEXT_PATTERN)] = DEFAULT_REPORT_PURPOSE,
) -> Response:
    """The judge's report on one case: assets found, freezes, events, and every agency's last answer."""
    case = case_header(case_id)
    try:
        check_case_access(judge, case)
    except AccessDenied as refused:
        settings.audit.record(actor=judge.subject, role=judge.role, action=AuditAction.REPORT_VIEW,
                              purpose=purpose, outcome="refused", person_id=case.person_id, case_id=case_id,
                              detail={"reason": str(refused)})
        refused.audited = True
        raise
    response = _render(reports.load_case_report(case_id), format, lang, variant)
    settings.audit.record(actor=judge.subject, role=judge.role, action=AuditAction.REPORT_VIEW, purpose=purpose,
                          person_id=case.person_id, case_id=case_id, detail={"format": str(format), "lang": str(lang)})
    return response


@router.post(
    "/persons/{person_id}/inquiries",
    summary="Ask every agency about one debtor now, and land the answers",
    responses={**BODY_RESPONSES, 401: {"description": "no or unknown token"},
               403: {"description": "not a judge, or the case's debtor is someone else"},
               404: {"description": "no such case, or not one this judge may see (the same answer)"}},
)
def inquire(person_id: Annotated[str, Path(pattern=PERSON_ID_PATTERN)], body: InquiryRequest, judge: Judge,
            settings: Settings) -> dict[str, Any]:
    """On-demand inquiry for one debtor of one of the judge's cases, across all agencies."""
    case = case_header(body.case_id)
    try:
        check_case_access(judge, case)
        if case.person_id != person_id:
            raise AccessDenied(f"{person_id} is not the debtor of case {body.case_id}")
    except AccessDenied as refused:
        settings.audit.record(actor=judge.subject, role=judge.role, action=AuditAction.INQUIRY, purpose=body.purpose,
                              outcome="refused", person_id=person_id, case_id=body.case_id,
                              detail={"reason": str(refused)})
        refused.audited = True
        raise
    result = settings.inquire(person_id, case_id=body.case_id, requested_by=(judge.subject, str(judge.role)),
                              purpose=body.purpose)
    answer: dict[str, Any] = jsonable_encoder(result.as_dict() if hasattr(result, "as_dict") else result)
    settings.audit.record(actor=judge.subject, role=judge.role, action=AuditAction.INQUIRY, purpose=body.purpose,
                          person_id=person_id, case_id=body.case_id)
    return answer
