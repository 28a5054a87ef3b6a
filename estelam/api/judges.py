"""Enforcement judges: a case's asset report, an on-demand inquiry about one debtor, and directives on a case."""

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
from estelam.api.public import PERSON_ID_PATTERN, hub_person_id
from estelam.cases.directives import MAX_NOTE_CHARS, Directive, submit_directive
from estelam.core.domain import RestrictionType
from estelam.core.exceptions import AccessDenied, DirectiveRejected
from estelam.reporting import asset_report as reports

router = APIRouter(tags=["judges"])
Judge = Annotated[Principal, Depends(require(Role.JUDGE))]

CASE_ID_PATTERN = r"^[0-9]{4}-[0-9]{6}$"
DEFAULT_REPORT_PURPOSE = "enforcement"
PURPOSE_MAX_LENGTH = 200


class ReportFormat(StrEnum):
    JSON = "json"
    HTML = "html"
    PDF = "pdf"


class Language(StrEnum):
    FA = "fa"
    AR = "ar"
    EN = "en"


class Variant(StrEnum):
    IR = "ir"
    SA = "sa"


class InquiryRequest(BaseModel):
    case_id: str = Field(pattern=CASE_ID_PATTERN, description="The case the inquiry serves; assigned to the judge.")
    purpose: str = Field(default=DEFAULT_REPORT_PURPOSE, min_length=1, max_length=PURPOSE_MAX_LENGTH,
                         pattern=SAFE_TEXT_PATTERN)


class DirectiveRequest(BaseModel):
    """A judge's directive on a case (the ``case_directives`` contract says what each kind takes)."""

    kind: Directive
    amount_rial: int | None = Field(default=None, description="collect or release: rials (empty: all)")
    restriction_type: RestrictionType | None = Field(default=None, description="restrict_vehicle: what it forbids")
    authorised_users: list[Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]] = Field(
        default_factory=list, max_length=50, description="confidential: the user ids allowed to see the case")
    order_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                                 description="cancel_order: the order to cancel")
    asset_ref: str | None = Field(default=None, max_length=120, pattern=SAFE_TEXT_PATTERN,
                                  description="vehicle restrictions: the plate; release: the asset (empty: all)")
    note: str | None = Field(default=None, max_length=MAX_NOTE_CHARS, pattern=SAFE_TEXT_PATTERN)


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
        if hub_person_id(case.person_id) != hub_person_id(person_id):
            raise AccessDenied(f"{person_id} is not the debtor of case {body.case_id}")
    except AccessDenied as refused:
        settings.audit.record(actor=judge.subject, role=judge.role, action=AuditAction.INQUIRY, purpose=body.purpose,
                              outcome="refused", person_id=person_id, case_id=body.case_id,
                              detail={"reason": str(refused)})
        refused.audited = True
        raise
    person_id = case.person_id  # as the court wrote it: the code the agencies know
    result = settings.inquire(person_id, case_id=body.case_id, requested_by=(judge.subject, str(judge.role)),
                              purpose=body.purpose)
    answer: dict[str, Any] = jsonable_encoder(result.as_dict() if hasattr(result, "as_dict") else result)
    settings.audit.record(actor=judge.subject, role=judge.role, action=AuditAction.INQUIRY, purpose=body.purpose,
                          person_id=person_id, case_id=body.case_id)
    return answer


@router.post(
    "/cases/{case_id}/directives",
    status_code=201,
    summary="Direct something on a case: collect, restrict a vehicle, cancel an order, release, re-inquire, ...",
    responses={**BODY_RESPONSES, 401: {"description": "no or unknown token"}, 403: {"description": "not a judge"},
               404: {"description": "no such case, or not one this judge may see (the same answer)"},
               422: {"description": "the directive cannot be taken as given (the reason says why)"}},
)
def direct(case_id: Annotated[str, Path(pattern=CASE_ID_PATTERN)], body: DirectiveRequest, judge: Judge,
           settings: Settings) -> dict[str, Any]:
    """Validate, land and audit a judge's directive; the next reconciliation (or inquiry round) acts on it.

    ``reinquire_now`` also asks every agency about the case's debtor at once (the on-demand inquiry).
    """
    case = case_header(case_id)
    try:
        check_case_access(judge, case)
    except AccessDenied as refused:
        settings.audit.record(actor=judge.subject, role=judge.role, action=AuditAction.DIRECTIVE,
                              purpose=f"directive on case {case_id}", outcome="refused", person_id=case.person_id,
                              case_id=case_id, detail={"directive": str(body.kind), "reason": str(refused)})
        refused.audited = True
        raise
    try:
        directive_id = submit_directive(
            case_id, body.kind, issued_by=judge.subject, amount_rial=body.amount_rial,
            restriction=body.restriction_type, authorised_users=body.authorised_users, order_id=body.order_id,
            asset_ref=body.asset_ref, note=body.note, source="api", role=str(judge.role), audit=settings.audit)
    except DirectiveRejected as rejected:
        rejected.audited = True  # submit_directive wrote the refusal with its reason
        raise
    answer: dict[str, Any] = {"directive_id": directive_id, "case_id": case_id, "kind": str(body.kind)}
    if body.kind is Directive.REINQUIRE_NOW:
        result = settings.inquire(case.person_id, case_id=case_id, requested_by=(judge.subject, str(judge.role)),
                                  purpose=f"directive {directive_id} on case {case_id}")
        answer["inquiry"] = jsonable_encoder(result.as_dict() if hasattr(result, "as_dict") else result)
    return answer
