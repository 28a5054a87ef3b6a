"""The register of fugitive convicts as a service to partner agencies (the police, border control).

REST (``contracts/agencies/fugitives.openapi.yaml``): ``GET /fugitives/{person_id}`` and ``GET /fugitives``.
SOAP (``contracts/agencies/fugitives.wsdl``): LookupFugitive and ListFugitives at ``POST /soap/fugitives``, the
WSDL at ``GET /soap/fugitives?wsdl``. Callers hold a ``police`` token and declare a purpose; every lookup is on
the audit log (a registry lookup of the person, or a feed export for a list) and its messages on the message log.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from lxml import etree

from connectors.wire import FAULT_CLIENT, SOAP_ENV_NS, XML_CONTENT_TYPE
from estelam.access.audit import AuditAction, Outcome
from estelam.access.auth import Principal, Role
from estelam.api.dependencies import (
    MAX_AUDITED_REASON,
    SAFE_TEXT_PATTERN,
    Settings,
    require,
)
from estelam.api.guard import FUGITIVES_SOAP_PATH
from estelam.api.public import PERSON_ID_PATTERN, PURPOSE_MAX_LENGTH, hub_person_id
from estelam.api.services import ApiSettings
from estelam.api.soap import SoapClientFault, authenticated_body, parse_document
from estelam.api.soap import bounded_fault as _fault
from estelam.core import settings as hub_settings
from estelam.core.exceptions import RequestRejected
from estelam.registers.fugitives import FugitiveEntry, entries, lookup

router = APIRouter(tags=["fugitives"])
soap_router = APIRouter(include_in_schema=False)
Police = Annotated[Principal, Depends(require(Role.POLICE))]
Purpose = Annotated[str, Query(min_length=1, max_length=PURPOSE_MAX_LENGTH, pattern=SAFE_TEXT_PATTERN,
                               description="Why the agency looks (printable text); on the audit log.")]
REGISTER = "fugitives"
WSDL_FILE = "agencies/fugitives.wsdl"
TNS = "urn:estelam:hub:fugitives:v1"
WSDL_PLACEHOLDER_ADDRESS = "http://127.0.0.1:8000/soap/fugitives"
_PERSON_ID = re.compile(PERSON_ID_PATTERN)
_SAFE_TEXT = re.compile(SAFE_TEXT_PATTERN)
ISO_DAY_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _audit_lookup(config: ApiSettings, caller: Principal, purpose: str, channel: str, entry: FugitiveEntry,
                  message_id: str) -> None:
    config.audit.record(actor=caller.subject, role=caller.role, action=AuditAction.REGISTRY_LOOKUP, purpose=purpose,
                        person_id=entry.person_id, case_id=entry.case_id,
                        detail={"register": REGISTER, "agency_id": caller.agency_id, "channel": channel,
                                "listed": entry.listed, "message_id": message_id})


def _audit_list(config: ApiSettings, caller: Principal, purpose: str, channel: str, since: date | None,
                found: int, message_id: str) -> None:
    config.audit.record(actor=caller.subject, role=caller.role, action=AuditAction.FEED_EXPORT, purpose=purpose,
                        detail={"register": REGISTER, "agency_id": caller.agency_id, "channel": channel,
                                "since": since.isoformat() if since else None, "entries": found,
                                "message_id": message_id})


def _record_rest(config: ApiSettings, caller: Principal, request: Request, answer: Any, purpose: str,
                 person_ids: Sequence[str] = ()) -> str:
    """The request line and the JSON answer on the message log; the message id."""
    message_id = uuid.uuid4().hex
    config.messages.record_inbound(
        agency_id=caller.agency_id or caller.subject, operation=f"GET {request.url.path}", request_id=None,
        body=f"GET {request.url.path}?{request.url.query}".encode(), answer=json.dumps(answer).encode(),
        http_status=200, purpose=purpose, person_ids=person_ids, message_id=message_id)
    return message_id


@router.get("/fugitives/{person_id}", summary="Is this person on the register of fugitive convicts?",
            responses={401: {"description": "no or unknown token"},
                       403: {"description": "not a police or border-control agency"},
                       422: {"description": "no purpose, or not a national code"}})
def lookup_fugitive(person_id: Annotated[str, Path(pattern=PERSON_ID_PATTERN)], purpose: Purpose, caller: Police,
                    settings: Settings, request: Request) -> dict[str, Any]:
    person_id = hub_person_id(person_id)
    entry = lookup(person_id)
    answer: dict[str, Any] = jsonable_encoder(entry.as_dict())
    message_id = _record_rest(settings, caller, request, answer, purpose, [person_id])
    _audit_lookup(settings, caller, purpose, "rest", entry, message_id)
    return answer


@router.get("/fugitives", summary="The register of fugitive convicts (all, or who absconded since a day)",
            responses={401: {"description": "no or unknown token"},
                       403: {"description": "not a police or border-control agency"},
                       422: {"description": "no purpose, or since is not a day"}})
def list_fugitives(purpose: Purpose, caller: Police, settings: Settings, request: Request,
                   since: Annotated[str | None, Query(pattern=ISO_DAY_PATTERN, json_schema_extra={"format": "date"},
                                                      description="Only who absconded on or after this day "
                                                                  "(YYYY-MM-DD).")] = None) -> dict[str, Any]:
    day = _day(since) if since else None
    found = entries(day)
    answer: dict[str, Any] = {"entries": jsonable_encoder([e.as_dict() for e in found])}
    message_id = _record_rest(settings, caller, request, answer, purpose)
    _audit_list(settings, caller, purpose, "rest", day, len(found), message_id)
    return answer


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise RequestRejected(f"since must be a calendar day (YYYY-MM-DD), not {text[:20]!r}") from exc


def _q(name: str) -> str:
    return f"{{{TNS}}}{name}"


def _text(parent: etree._Element, name: str) -> str | None:
    element = parent.find(_q(name))
    return element.text.strip() if element is not None and element.text is not None else None


def _purpose(request: etree._Element) -> str:
    purpose = _text(request, "purpose")
    if not purpose or len(purpose) > PURPOSE_MAX_LENGTH or not _SAFE_TEXT.match(purpose):
        raise SoapClientFault(f"purpose must be printable text of 1 to {PURPOSE_MAX_LENGTH} characters")
    return purpose


def read_request(document: bytes) -> etree._Element:
    """The body element of a SOAP 1.1 envelope in this service's namespace (:class:`SoapClientFault` if not one)."""
    root = parse_document(document)
    body = root.find(f"{{{SOAP_ENV_NS}}}Body") if root.tag == f"{{{SOAP_ENV_NS}}}Envelope" else None
    request = next(iter(body), None) if body is not None else None
    if request is None or etree.QName(request).namespace != TNS:
        raise SoapClientFault("expected a SOAP 1.1 envelope with a LookupFugitive or ListFugitives body")
    return request


def _add_entry(parent: etree._Element, entry: FugitiveEntry) -> None:
    element = etree.SubElement(parent, _q("entry"))
    values: list[tuple[str, object]] = [
        ("personId", entry.person_id), ("listed", "true" if entry.listed else "false"),
        ("since", entry.since.isoformat() if entry.since else None), ("caseId", entry.case_id),
        ("courtCode", entry.court_code), ("fugitiveCases", entry.fugitive_cases),
        ("outstandingRial", entry.outstanding_rial), ("reason", entry.reason),
        ("asOf", entry.as_of.isoformat() if entry.as_of else None)]
    for name, value in values:
        if value is not None:
            etree.SubElement(element, _q(name)).text = str(value)


def _answer(operation: str, found: Sequence[FugitiveEntry]) -> Response:
    envelope = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope", nsmap={"soap": SOAP_ENV_NS, "tns": TNS})
    answer = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Body"), _q(f"{operation}Response"))
    for entry in found:
        _add_entry(answer, entry)
    return Response(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"), media_type=XML_CONTENT_TYPE)


@soap_router.get(FUGITIVES_SOAP_PATH)
def wsdl(request: Request) -> Response:
    """The WSDL (``?wsdl``), its address the configured public URL."""
    if "wsdl" not in {key.lower() for key in request.query_params}:
        response = _fault(FAULT_CLIENT, f"POST a SOAP 1.1 envelope to {FUGITIVES_SOAP_PATH}", 405)
        response.headers["Allow"] = "POST"
        return response
    text = (hub_settings.contracts_dir() / WSDL_FILE).read_text(encoding="utf-8")
    address = hub_settings.current().api_public_url.rstrip("/") + FUGITIVES_SOAP_PATH
    return Response(text.replace(WSDL_PLACEHOLDER_ADDRESS, address), media_type=XML_CONTENT_TYPE)


@soap_router.post(FUGITIVES_SOAP_PATH)
async def soap_fugitives(request: Request, authorization: Annotated[str | None, Header()] = None) -> Response:
    """LookupFugitive or ListFugitives: the token is checked before the body is read (the guard's 401, then here
    the role's 403); parsing, the warehouse read and the record run off the event loop."""
    caller = await authenticated_body(request, authorization, Role.POLICE,
                                      "look up the register of fugitive convicts")
    if isinstance(caller, Response):
        return caller
    return await to_thread.run_sync(_serve, *caller)


def _serve(config: ApiSettings, principal: Principal, document: bytes) -> Response:
    """Parse, answer, record: the message log keeps the envelope and the answer, the audit log the lookup."""
    message_id = uuid.uuid4().hex
    operation, purpose, person_ids = "unknown", "", []
    try:
        request = read_request(document)
        operation = etree.QName(request).localname
        purpose = _purpose(request)
        if operation == "LookupFugitive":
            person_id = _text(request, "personId") or ""
            if not _PERSON_ID.match(person_id):
                raise SoapClientFault("personId must be a person id of 8 to 11 digits, bare or as scheme:digits")
            person_id = hub_person_id(person_id)
            person_ids = [person_id]
            entry = lookup(person_id)
            response = _answer(operation, [entry])
        elif operation == "ListFugitives":
            since_text = _text(request, "since")
            try:
                since = date.fromisoformat(since_text) if since_text else None
            except ValueError as exc:
                raise SoapClientFault(f"since must be a day (YYYY-MM-DD): {exc}") from exc
            found = entries(since)
            response = _answer(operation, found)
        else:
            raise SoapClientFault(f"unknown operation {operation}")
    except SoapClientFault as refused:
        response = _fault(FAULT_CLIENT, str(refused))
        config.messages.record_inbound(
            agency_id=principal.agency_id or principal.subject, operation=operation, request_id=None, body=document,
            answer=bytes(response.body), http_status=response.status_code, purpose=purpose, message_id=message_id)
        config.audit.record(actor=principal.subject, role=principal.role, action=AuditAction.REGISTRY_LOOKUP,
                            purpose=purpose, outcome=Outcome.REFUSED,
                            detail={"register": REGISTER, "agency_id": principal.agency_id, "channel": "soap",
                                    "reason": str(refused)[:MAX_AUDITED_REASON], "message_id": message_id})
        return response
    config.messages.record_inbound(
        agency_id=principal.agency_id or principal.subject, operation=operation, request_id=None, body=document,
        answer=bytes(response.body), http_status=response.status_code, purpose=purpose, person_ids=person_ids,
        message_id=message_id)
    if operation == "LookupFugitive":
        _audit_lookup(config, principal, purpose, "soap", entry, message_id)
    else:
        _audit_list(config, principal, purpose, "soap", since, len(found), message_id)
    return response
