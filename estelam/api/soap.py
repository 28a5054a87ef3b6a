"""The SOAP twin of the acknowledgement endpoint, for agencies that only speak SOAP.

A small lxml handler: the request is parsed with :func:`connectors.xml_safety.parse_untrusted` (no
DOCTYPE, no entities, size-capped), read against ``contracts/agencies/hub_acknowledgements.wsdl``'s
elements, and landed by the same function as the REST endpoint. Not in the OpenAPI document: its
contract is the WSDL, served at ``GET /soap/acknowledgements?wsdl``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from lxml import etree
from pydantic import ValidationError

from connectors.wire import (
    AUTHENTICATION_FAULT,
    FAULT_CLIENT,
    FAULT_VERSION_MISMATCH,
    SOAP_ENV_NS,
    XML_CONTENT_TYPE,
)
from connectors.xml_safety import UnsafeXml, parse_untrusted
from estelam.access.audit import AuditAction, Outcome
from estelam.access.auth import Principal, Role, bearer_token
from estelam.api.agencies import AGENCY_PURPOSE, AcknowledgementIn
from estelam.api.dependencies import MAX_AUDITED_REASON, api_settings, audit_refusal, bounded
from estelam.api.guard import SOAP_PATH, BodyTooLarge, soap_fault
from estelam.api.services import ApiSettings
from estelam.core import settings
from estelam.core.exceptions import AccessDenied, AccessError, RequestRejected
from estelam.freeze.acknowledgements import PostedAcknowledgement, land_acknowledgements

router = APIRouter(include_in_schema=False)

WSDL_FILE = "agencies/hub_acknowledgements.wsdl"
TNS = "urn:estelam:hub:acknowledgements:v1"
WSDL_PLACEHOLDER_ADDRESS = "http://127.0.0.1:8000/soap/acknowledgements"
#: The route answering other methods (left out of ``OPTIONS``' Allow).
NOT_ALLOWED_ROUTE = "soap_method_not_allowed"
#: SOAP 1.1 answers faults with HTTP 500; authentication faults keep their HTTP status (401, 403).
FAULT_STATUS = 500
#: SOAP batches parsed and landed at once per process; more wait their turn off the event loop. Parsing and
#: validating 500 acknowledgements is Python work holding the GIL: a few at a time keeps the CPU for others.
SOAP_WORKERS = 2
#: A fault never echoes more of the request than this many characters.
FAULT_TEXT_LIMIT = 500


class SoapClientFault(ValueError):
    """The request is not a message the hub's SOAP services can read (a ``soap:Client`` fault by default)."""

    def __init__(self, message: str, code: str = FAULT_CLIENT) -> None:
        super().__init__(message)
        self.code = code


def _q(name: str) -> str:
    return f"{{{TNS}}}{name}"


def _fault(code: str, message: str, status: int = FAULT_STATUS) -> Response:
    return soap_fault(code, bounded(message, FAULT_TEXT_LIMIT), status)


bounded_fault = _fault


async def authenticated_body(request: Request, authorization: str | None, role: Role, action: str
                             ) -> tuple[ApiSettings, Principal, bytes] | Response:
    """The caller's settings, principal and body, or the fault to answer: the token is checked (and a refusal
    audited) before the body is read, and the body is bounded by the guard while it streams."""
    config = api_settings(request)
    try:
        principal = config.tokens.authenticate(bearer_token(authorization))
        request.state.principal = principal
        if principal.role is not role:
            raise AccessDenied(f"role {principal.role} may not {action}")
    except AccessError as refused:
        await to_thread.run_sync(audit_refusal, request, refused)
        return _fault(AUTHENTICATION_FAULT, str(refused), refused.status_code)
    try:
        return config, principal, await request.body()
    except BodyTooLarge as too_large:
        return _fault(FAULT_CLIENT, str(too_large.detail), too_large.status_code)


def _text(parent: etree._Element, name: str, *, required: bool = True) -> str | None:
    element = parent.find(_q(name))
    if element is None or element.text is None:
        if required:
            raise SoapClientFault(f"{name} is missing")
        return None
    return element.text.strip()


def parse_document(document: bytes) -> etree._Element:
    """The root of an untrusted XML document (no DTDs, entities or network; bounded depth), or a client fault."""
    try:
        return parse_untrusted(document)
    except etree.XMLSyntaxError as exc:
        raise SoapClientFault(f"not well-formed XML: {exc}") from exc
    except UnsafeXml as exc:
        raise SoapClientFault(str(exc)) from exc


def read_request(document: bytes) -> tuple[str, list[PostedAcknowledgement]]:
    """The agency id and acknowledgements of an AcknowledgeOrders envelope (:class:`SoapClientFault` if not one)."""
    root = parse_document(document)
    if etree.QName(root).localname == "Envelope" and root.tag != f"{{{SOAP_ENV_NS}}}Envelope":
        raise SoapClientFault("this endpoint speaks SOAP 1.1 only (envelope namespace "
                              f"{SOAP_ENV_NS})", FAULT_VERSION_MISMATCH)
    body = root.find(f"{{{SOAP_ENV_NS}}}Body") if root.tag == f"{{{SOAP_ENV_NS}}}Envelope" else None
    request = body.find(_q("AcknowledgeOrders")) if body is not None else None
    if request is None:
        raise SoapClientFault("expected a SOAP 1.1 envelope with an AcknowledgeOrders body")
    agency_id = _text(request, "agencyId")
    posted: list[PostedAcknowledgement] = []
    for element in request.findall(_q("acknowledgement")):
        try:  # the texts are validated (and the amounts parsed) by the model, as a JSON body would be
            ack = AcknowledgementIn.model_validate({
                "order_id": _text(element, "orderId"), "status": _text(element, "status"),
                "acknowledged_amount_rial": _text(element, "acknowledgedAmountRial"),
                "frozen_total_rial": _text(element, "frozenTotalRial"),
                "acknowledged_at": datetime.fromisoformat(_text(element, "acknowledgedAt") or ""),
                "reason": _text(element, "reason", required=False),
            })
        except (ValidationError, ValueError) as exc:
            raise SoapClientFault(f"acknowledgement {len(posted) + 1}: {exc}") from exc
        posted.append(PostedAcknowledgement(**ack.model_dump()))
    return str(agency_id), posted


def _response(batch_id: str, accepted: int, quarantined: int) -> Response:
    envelope = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope", nsmap={"soap": SOAP_ENV_NS, "tns": TNS})
    answer = etree.SubElement(etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Body"), _q("AcknowledgeOrdersResponse"))
    for name, value in (("batchId", batch_id), ("accepted", accepted), ("quarantined", quarantined)):
        etree.SubElement(answer, _q(name)).text = str(value)
    return Response(etree.tostring(envelope, xml_declaration=True, encoding="utf-8"), media_type=XML_CONTENT_TYPE)


@router.get(SOAP_PATH)
def wsdl(request: Request) -> Response:
    """The WSDL (``?wsdl``), its address the configured public URL, never the request's Host header."""
    if "wsdl" not in {key.lower() for key in request.query_params}:
        return _not_allowed()
    text = (settings.contracts_dir() / WSDL_FILE).read_text(encoding="utf-8")
    address = settings.current().api_public_url.rstrip("/") + SOAP_PATH
    return Response(text.replace(WSDL_PLACEHOLDER_ADDRESS, address), media_type=XML_CONTENT_TYPE)


def _not_allowed() -> Response:
    response = _fault(FAULT_CLIENT, f"POST a SOAP 1.1 envelope to {SOAP_PATH} (GET {SOAP_PATH}?wsdl for its "
                                    "contract)", 405)
    response.headers["Allow"] = "POST"
    return response


@router.api_route(SOAP_PATH, methods=["PUT", "PATCH", "DELETE"], name=NOT_ALLOWED_ROUTE)
def not_allowed() -> Response:
    """Any other method: a SOAP fault with 405, not FastAPI's JSON."""
    return _not_allowed()


@router.post(SOAP_PATH)
async def acknowledge_orders(request: Request,
                             authorization: Annotated[str | None, Header()] = None) -> Response:
    """AcknowledgeOrders: land the agency's acknowledgements, answer how many were accepted.

    Only the body is read on the event loop (bounded by the guard while it streams); parsing, the
    order-log queries and the landing run in the thread pool, so one agency's batch never stalls
    other callers.
    """
    caller = await authenticated_body(request, authorization, Role.AGENCY, "acknowledge orders")
    if isinstance(caller, Response):
        return caller
    config, principal, document = caller
    return await to_thread.run_sync(_acknowledge, config, principal, document, limiter=_soap_workers(request))


def _soap_workers(request: Request) -> CapacityLimiter:
    """The application's SOAP worker slots (made on first use, inside the event loop that uses them)."""
    limiter: CapacityLimiter | None = getattr(request.app.state, "soap_workers", None)
    if limiter is None:
        limiter = request.app.state.soap_workers = CapacityLimiter(SOAP_WORKERS)
    return limiter


def _acknowledge(config: ApiSettings, principal: Principal, document: bytes) -> Response:
    """The blocking part of AcknowledgeOrders (parse, check, land, record): run in a worker thread.

    The envelope as received and the hub's answer go to the message log; a refusal goes to the audit log with
    its reason, an acceptance with its receipt."""
    agency_id = principal.agency_id or "unknown"
    refusal: str | None = None
    receipt = None
    try:
        agency_id, posted = read_request(document)
        if principal.agency_id != agency_id:
            refusal = f"{principal.subject} speaks for {principal.agency_id}, not {agency_id}"
            response = _fault(AUTHENTICATION_FAULT, refusal, AccessDenied.status_code)
        else:
            receipt = land_acknowledgements(agency_id, posted)
            response = _response(receipt.batch_id, receipt.accepted, receipt.quarantined)
    except SoapClientFault as exc:
        refusal, response = str(exc), _fault(exc.code, str(exc))
    except RequestRejected as exc:
        refusal, response = str(exc), _fault(FAULT_CLIENT, str(exc))
    config.messages.record_inbound(
        agency_id=principal.agency_id or agency_id, operation="AcknowledgeOrders",
        request_id=receipt.batch_id if receipt else None, body=document, answer=bytes(response.body),
        http_status=response.status_code, purpose=AGENCY_PURPOSE, message_id=uuid.uuid4().hex)
    if refusal is not None:
        config.audit.record(actor=principal.subject, role=principal.role, action=AuditAction.ACKNOWLEDGEMENT,
                            purpose=AGENCY_PURPOSE, outcome=Outcome.REFUSED,
                            detail={"agency_id": agency_id, "channel": "soap", "status": response.status_code,
                                    "reason": refusal[:MAX_AUDITED_REASON]})
    else:
        assert receipt is not None
        config.audit.record(actor=principal.subject, role=principal.role, action=AuditAction.ACKNOWLEDGEMENT,
                            purpose=AGENCY_PURPOSE, detail={"agency_id": agency_id, "channel": "soap",
                                                            **receipt.as_dict()})
    return response
