"""The public and data subjects: consent codes, consent-checked registry lookups, who looked at my data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from estelam.access.audit import AuditAction, Outcome
from estelam.access.auth import Principal, Role
from estelam.access.consent import DEFAULT_TTL, MAX_TTL
from estelam.api.dependencies import BODY_RESPONSES, SAFE_TEXT_PATTERN, Settings, require
from estelam.core.exceptions import ConsentRefused
from estelam.core.identifiers import local_person_id
from estelam.core.jurisdiction import current_profile
from estelam.warehouse.dbt_build import connect_read_only

router = APIRouter(tags=["registry"])
Person = Annotated[Principal, Depends(require(Role.PERSON))]
PublicCaller = Annotated[Principal, Depends(require(Role.PUBLIC))]
#: A person id in a path: the bare code (8 to 11 digits: an Iranian code may have lost its leading zeros) or the
#: code written with its scheme ("sa-nid:1100000007"); :func:`hub_person_id` reads it by the deployment's profile.
PERSON_ID_PATTERN = r"^(?:[a-z]{2}-[a-z]{2,5}:)?[0-9]{8,11}$"
PURPOSE_MAX_LENGTH = 200
SUBJECT_MAX_LENGTH = 200
CODE_MAX_LENGTH = 100

def hub_person_id(raw: str) -> str:
    """A person id from a caller in the form the warehouse keeps it (identifiers.local_person_id under the
    deployment's profile: "12345679" and "ir-nc:0012345679" are "0012345679" in Iran; "sa-nid:…" stays
    qualified there); an id no scheme accepts is looked up as given (and found in no register)."""
    return local_person_id(raw, current_profile().person_id_schemes) or raw


#: What a registry lookup shows: whether the person is listed, and the amounts; no names.
REGISTRY_COLUMNS = ("status", "unpaid_cases", "satisfied_cases", "outstanding_rial", "unpaid_since",
                    "listed_until", "as_of")


class ConsentRequest(BaseModel):
    requester: str = Field(min_length=1, max_length=SUBJECT_MAX_LENGTH, pattern=SAFE_TEXT_PATTERN,
                           description="Who may use the code (the requester's user id).")
    purpose: str = Field(min_length=1, max_length=PURPOSE_MAX_LENGTH, pattern=SAFE_TEXT_PATTERN,
                         description="What for; the lookup must say the same (printable text: no control "
                                     "characters, line breaks or bidirectional overrides).")
    ttl_seconds: int = Field(default=int(DEFAULT_TTL.total_seconds()), ge=1, le=int(MAX_TTL.total_seconds()))


class ConsentIssued(BaseModel):
    code: str
    person_id: str
    requester: str
    purpose: str
    expires_at: datetime


@router.post("/consents", status_code=201, response_model=ConsentIssued,
             summary="A data subject lets one requester look them up once, for one purpose",
             responses={**BODY_RESPONSES, 401: {"description": "no or unknown token"},
                        403: {"description": "not a data subject"}})
def issue_consent(body: ConsentRequest, person: Person, settings: Settings) -> ConsentIssued:
    assert person.person_id is not None  # guaranteed for the person role by the token store
    consent = settings.consents.issue(person.person_id, requester=body.requester, purpose=body.purpose,
                                      ttl=timedelta(seconds=body.ttl_seconds))
    settings.audit.record(actor=person.subject, role=person.role, action=AuditAction.CONSENT_ISSUED,
                          purpose=body.purpose, person_id=person.person_id,
                          detail={"requester": body.requester, "expires_at": consent.expires_at.isoformat()})
    return ConsentIssued(code=consent.code, person_id=consent.person_id, requester=consent.requester,
                         purpose=consent.purpose, expires_at=consent.expires_at)


@router.get("/registry/{person_id}", summary="Financial-convictions registry lookup, with the person's consent",
            responses={401: {"description": "no or unknown token"},
                       403: {"description": "not a public requester, or the consent does not hold"}})
def registry_lookup(
    person_id: Annotated[str, Path(pattern=PERSON_ID_PATTERN)],
    consent: Annotated[str, Query(min_length=1, max_length=CODE_MAX_LENGTH, description="The consent code.")],
    purpose: Annotated[str, Query(min_length=1, max_length=PURPOSE_MAX_LENGTH, pattern=SAFE_TEXT_PATTERN)],
    requester: PublicCaller,
    settings: Settings,
) -> dict[str, Any]:
    """Whether ``person_id`` has unpaid financial convictions; spends the consent code."""
    person_id = hub_person_id(person_id)
    try:
        settings.consents.spend(consent, person_id=person_id, requester=requester.subject, purpose=purpose)
    except ConsentRefused as refused:
        settings.audit.record(actor=requester.subject, role=requester.role, action=AuditAction.REGISTRY_LOOKUP,
                              purpose=purpose, outcome=Outcome.REFUSED, person_id=person_id,
                              detail={"reason": str(refused)})
        refused.audited = True
        raise
    with connect_read_only() as con:
        row = con.execute(f"select {', '.join(REGISTRY_COLUMNS)} from financial_convictions where person_id = ?",
                          [person_id]).fetchone()
    settings.audit.record(actor=requester.subject, role=requester.role, action=AuditAction.REGISTRY_LOOKUP,
                          purpose=purpose, person_id=person_id, detail={"listed": row is not None})
    entry = dict(zip(REGISTRY_COLUMNS, row, strict=True)) if row else {}
    answer: dict[str, Any] = jsonable_encoder({"person_id": person_id, "listed": row is not None, **entry})
    return answer


@router.get("/me/access-log", summary="Who looked at my data: every inquiry, order, report view and registry lookup",
            responses={401: {"description": "no or unknown token"}, 403: {"description": "not a data subject"}})
def access_log(person: Person, settings: Settings) -> list[dict[str, Any]]:
    assert person.person_id is not None
    return [{"at": e.at, "actor": e.actor, "role": e.role, "action": e.action, "purpose": e.purpose,
             "outcome": e.outcome, "case_id": e.case_id, "agency_id": e.detail.get("agency_id")}
            for e in settings.audit.who_looked_at(person.person_id)]
