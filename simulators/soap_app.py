"""A simulated SOAP agency (a bank) that honours its WSDL in ``contracts/agencies/``.

A small lxml handler, not a SOAP framework: it serves the contract's WSDL,
checks the WS-Security UsernameToken of every request (when it has credentials),
checks every request body against the WSDL's own XML Schema, answers from an
``AgencyState`` and writes SOAP 1.1 envelopes. Requests it will not process
get a ``soap:Client`` fault with HTTP 500, as SOAP 1.1 over HTTP requires; a
missing or wrong token gets ``soap:Client.Authentication``.

Identifiers in answers (holder and owner ids) are written in the agency's own
digit script (``world.spelling_of``), as real agencies do; names come as the
world spelled them for this agency.
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lxml import etree

from connectors.credentials import Credentials
from connectors.wire import AUTHENTICATION_FAULT, FAULT_CLIENT, FAULT_VERSION_MISMATCH, SOAP_ENV_NS, XML_CONTENT_TYPE
from connectors.xml_safety import UnsafeXml, parse_untrusted
from estelam.core import clock
from estelam.core.domain import Acknowledgement, AgencyKind, BankAccount, FreezeOrder, OrderKind
from estelam.core.identifiers import is_person_id
from simulators.agency_state import AgencyAsset, AgencyState
from simulators.server import Application, Request, Response
from simulators.world import spelling_of
from simulators.ws_security import AuthenticationFailed, UsernameTokenCheck

XSD_NS = "http://www.w3.org/2001/XMLSchema"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_PATH = "/soap"
#: The WSDL's soap:address; replaced by this server's own address when the WSDL is served.
PLACEHOLDER_ADDRESS = b"http://agency.invalid/soap"
#: A fault shows at most this many schema errors, each cut to ERROR_TEXT_LIMIT characters: a huge invalid
#: request must not become a huge fault (nor the memory to build it).
MAX_REPORTED_ERRORS = 5
ERROR_TEXT_LIMIT = 200
#: The per-person error code of a batch answer for a person id failing its check digit.
INVALID_PERSON_ID = "invalid_person_id"

_ENV = f"{{{SOAP_ENV_NS}}}"



def _default_namespace(ns: str) -> dict[Any, str]:
    """``ns`` as a new element's default namespace: lxml's ``None`` prefix (lxml-stubs allow only str keys)."""
    return {None: ns}

class SoapFault(Exception):
    """A request this agency refuses; becomes a SOAP 1.1 fault."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code  # FAULT_CLIENT (the caller's fault) or "Server"
        self.message = message


def _cut(text: str) -> str:
    return text if len(text) <= ERROR_TEXT_LIMIT else f"{text[:ERROR_TEXT_LIMIT]}..."


def _text(element: etree._Element, ns: str, name: str) -> str:
    return (element.findtext(f"{{{ns}}}{name}") or "").strip()


def _child(parent: etree._Element, ns: str, name: str, value: object) -> None:
    etree.SubElement(parent, f"{{{ns}}}{name}").text = str(value)


def _utc_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


Identifier = Callable[[str], str]  # an identifier as this agency writes it


def _write_account(parent: etree._Element, ns: str, asset: AgencyAsset, identifier: Identifier) -> None:
    assert isinstance(asset, BankAccount)
    row = etree.SubElement(parent, f"{{{ns}}}account")
    for name, value in (("iban", asset.iban), ("holderId", identifier(asset.holder_id)),
                        ("holderName", asset.holder_name),
                        ("accountKind", asset.account_kind.value), ("balanceRial", asset.balance_rial)):
        _child(row, ns, name, value)


def _iban_ref(order: etree._Element, ns: str) -> str:
    return _text(order, ns, "iban")


@dataclass(frozen=True)
class _Vocabulary:
    """The operation names of one agency kind, and how its assets and asset references are written."""

    inquire: str
    freeze: str
    release: str
    write_asset: Callable[[etree._Element, str, AgencyAsset, Identifier], None]
    asset_ref: Callable[[etree._Element, str], str]
    transfer: str | None = None  # moving frozen money to the court's account; only banks hold money
    payout: str | None = None  # paying collected money to the creditor; the bank of the court's account
    cancel: str | None = None  # cancelling an order the judge withdrew

    def operation_for(self, kind: OrderKind) -> str:
        """The operation name of an order of ``kind``."""
        name = {OrderKind.FREEZE: self.freeze, OrderKind.RELEASE: self.release, OrderKind.TRANSFER: self.transfer,
                OrderKind.PAYOUT: self.payout, OrderKind.CANCEL: self.cancel}[kind]
        if name is None:
            raise ValueError(f"no operation for {kind} orders")
        return name


VOCABULARIES: dict[AgencyKind, _Vocabulary] = {
    AgencyKind.BANK: _Vocabulary("InquireAccounts", "FreezeAccount", "ReleaseAccount", _write_account, _iban_ref,
                                 transfer="TransferToCourt", payout="PayOutToCreditor", cancel="CancelAccountOrder"),
}


def envelope(body_child: etree._Element) -> bytes:
    """A SOAP 1.1 envelope around one body element, serialised as UTF-8."""
    env = etree.Element(f"{_ENV}Envelope", nsmap={"soap": SOAP_ENV_NS})
    etree.SubElement(env, f"{_ENV}Body").append(body_child)
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def fault_response(code: str, message: str) -> Response:
    """A SOAP 1.1 fault (``soap:Client`` or ``soap:Server``) with HTTP 500."""
    fault = etree.Element(f"{_ENV}Fault", nsmap={"soap": SOAP_ENV_NS})
    etree.SubElement(fault, "faultcode").text = f"soap:{code}"
    etree.SubElement(fault, "faultstring").text = message
    return Response(500, envelope(fault), {"Content-Type": XML_CONTENT_TYPE})


class SoapAgency:
    """One simulated SOAP agency: the WSDL it serves, the schema it checks, the state it answers from."""

    def __init__(self, state: AgencyState, wsdl_path: Path, credentials: Credentials | None = None, *,
                 public_url: str | None = None) -> None:
        if state.instance.kind not in VOCABULARIES:
            raise ValueError(f"{state.instance.agency_id}: no SOAP vocabulary for kind {state.instance.kind}")
        self.state = state
        self.vocabulary = VOCABULARIES[state.instance.kind]
        self.identifier: Identifier = spelling_of(state.instance.agency_id).identifier
        self._token_check = UsernameTokenCheck(credentials) if credentials is not None else None
        #: The served WSDL's address: configured (default the registry's endpoint), never a request's Host header.
        self.public_url = public_url or state.instance.endpoint
        self.wsdl = wsdl_path.read_bytes()
        definitions = parse_untrusted(self.wsdl)
        self.namespace: str = definitions.get("targetNamespace", "")
        schema = definitions.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
        if schema is None or not self.namespace:
            raise ValueError(f"{wsdl_path}: no inline XML Schema or no targetNamespace")
        self._schema = etree.XMLSchema(copy.deepcopy(schema))
        self._schema_lock = threading.Lock()  # the schema's error log is shared state
        self._operations: dict[str, Callable[[etree._Element], etree._Element]] = {
            self.vocabulary.inquire: self._inquire,
            f"{self.vocabulary.inquire}Batch": self._inquire_batch,
            self.vocabulary.freeze: lambda el: self._order(el, OrderKind.FREEZE),
            self.vocabulary.release: lambda el: self._order(el, OrderKind.RELEASE),
        }
        for kind in (OrderKind.TRANSFER, OrderKind.PAYOUT, OrderKind.CANCEL):
            name = {OrderKind.TRANSFER: self.vocabulary.transfer, OrderKind.PAYOUT: self.vocabulary.payout,
                    OrderKind.CANCEL: self.vocabulary.cancel}[kind]
            if name is not None:
                self._operations[name] = functools.partial(self._order, kind=kind)

    def __call__(self, request: Request) -> Response:
        # The server's parse_qs drops the blank "wsdl" of "/soap?wsdl", so every GET of the endpoint gets the WSDL.
        if request.method == "GET" and (request.path == SOAP_PATH or "wsdl" in request.query
                                        or request.path.lower().endswith("wsdl")):
            return self._serve_wsdl()
        if request.path != SOAP_PATH:
            return Response(404, b"not found", {"Content-Type": "text/plain"})
        if request.method != "POST":
            return Response(405, b"POST a SOAP 1.1 envelope", {"Content-Type": "text/plain", "Allow": "POST"})
        try:
            operation = self._operation_element(request.body)
            answer = self._operations[etree.QName(operation).localname](operation)
        except AuthenticationFailed as refusal:
            return fault_response(AUTHENTICATION_FAULT, f"authentication failed: {refusal}")
        except SoapFault as fault:
            return fault_response(fault.code, fault.message)
        return Response(200, envelope(answer), {"Content-Type": XML_CONTENT_TYPE})

    def validate(self, element: etree._Element, limit: int | None = None) -> list[str]:
        """Schema errors of one body element (request or response), the first ``limit`` of them; empty when valid."""
        with self._schema_lock:
            if self._schema.validate(element):
                return []
            errors = self._schema.error_log  # lxml-stubs 0.5 do not declare _ErrorLog iterable; lxml's is
            found = [f"{_cut(e.message)} (line {e.line})" for e in errors]  # type: ignore[attr-defined]
            return found if limit is None else [*found[:limit], *([f"and {len(found) - limit} more"]
                                                                  if len(found) > limit else [])]

    def _serve_wsdl(self) -> Response:
        address = (self.public_url or "").rstrip("/")
        wsdl = self.wsdl.replace(PLACEHOLDER_ADDRESS, f"{address}{SOAP_PATH}".encode()) if address else self.wsdl
        return Response(200, wsdl, {"Content-Type": XML_CONTENT_TYPE})

    def _operation_element(self, body: bytes) -> etree._Element:
        try:
            root = parse_untrusted(body)
        except UnsafeXml as exc:  # a DOCTYPE, entities, or a document above the size limit
            raise SoapFault(FAULT_CLIENT, str(exc)) from exc
        except etree.XMLSyntaxError as exc:
            raise SoapFault(FAULT_CLIENT, _cut(f"not well-formed XML: {exc}")) from exc
        if root.tag != f"{_ENV}Envelope":
            raise SoapFault(FAULT_VERSION_MISMATCH if etree.QName(root).localname == "Envelope" else FAULT_CLIENT,
                            "expected a SOAP 1.1 Envelope")
        if self._token_check is not None:  # who is asking comes before what they ask
            self._token_check.verify(root)
        body_element = root.find(f"{_ENV}Body")
        children = [] if body_element is None else [c for c in body_element if isinstance(c.tag, str)]
        if len(children) != 1:
            raise SoapFault(FAULT_CLIENT, "the SOAP Body must hold exactly one operation element")
        operation = children[0]
        qname = etree.QName(operation)
        if qname.namespace != self.namespace or qname.localname not in self._operations:
            raise SoapFault(FAULT_CLIENT, f"unknown operation {operation.tag}")
        errors = self.validate(operation, limit=MAX_REPORTED_ERRORS)
        if errors:
            raise SoapFault(FAULT_CLIENT, f"{qname.localname} does not follow the contract: {'; '.join(errors)}")
        return operation

    def _inquire(self, request: etree._Element) -> etree._Element:
        ns = self.namespace
        person_id = _text(request, ns, "personId")
        if not is_person_id(person_id):
            raise SoapFault(FAULT_CLIENT, f"invalid personId {person_id!r}: check digit does not match")
        answer = etree.Element(f"{{{ns}}}{self.vocabulary.inquire}Response", nsmap=_default_namespace(ns))
        for asset in self.state.assets_of(person_id):
            self.vocabulary.write_asset(answer, ns, asset, self.identifier)
        _child(answer, ns, "answeredAt", _utc_text(clock.now()))
        return answer

    def _inquire_batch(self, request: etree._Element) -> etree._Element:
        """One answer per distinct person asked: their assets, or an error for that person alone."""
        ns = self.namespace
        answer = etree.Element(f"{{{ns}}}{self.vocabulary.inquire}BatchResponse", nsmap=_default_namespace(ns))
        _child(answer, ns, "requestId", _text(request, ns, "requestId"))
        asked = [(el.text or "").strip() for el in request.findall(f"{{{ns}}}personId")]
        for person_id in dict.fromkeys(asked):  # distinct, in the order asked
            person = etree.SubElement(answer, f"{{{ns}}}person")
            _child(person, ns, "personId", self.identifier(person_id))
            if not is_person_id(person_id):
                error = etree.SubElement(person, f"{{{ns}}}error")
                _child(error, ns, "code", INVALID_PERSON_ID)
                _child(error, ns, "message", f"invalid personId {person_id!r}: check digit does not match")
                continue
            for asset in self.state.assets_of(person_id):
                self.vocabulary.write_asset(person, ns, asset, self.identifier)
        _child(answer, ns, "answeredAt", _utc_text(clock.now()))
        return answer

    def _order(self, request: etree._Element, kind: OrderKind) -> etree._Element:
        ns = self.namespace
        now = clock.now()
        order = FreezeOrder(
            order_id=_text(request, ns, "orderId"),
            kind=kind,
            case_id=_text(request, ns, "caseId"),
            agency_id=self.state.instance.agency_id,
            asset_ref=self.vocabulary.asset_ref(request, ns),
            amount_rial=int(_text(request, ns, "amountRial")),
            issued_at=now,
            cancels=_text(request, ns, "cancelsOrderId") if kind is OrderKind.CANCEL else None,
        )
        if not order.order_id or not order.case_id:
            raise SoapFault(FAULT_CLIENT, "orderId and caseId must not be empty")
        ack = self.state.apply(order, now)
        return self._acknowledgement(f"{self.vocabulary.operation_for(kind)}Response", ack)

    def _acknowledgement(self, element_name: str, ack: Acknowledgement) -> etree._Element:
        ns = self.namespace
        answer = etree.Element(f"{{{ns}}}{element_name}", nsmap=_default_namespace(ns))
        _child(answer, ns, "orderId", ack.order_id)
        _child(answer, ns, "status", ack.status.value)
        _child(answer, ns, "acknowledgedAmountRial", ack.acknowledged_amount_rial)
        _child(answer, ns, "frozenTotalRial", ack.frozen_total_rial)
        _child(answer, ns, "acknowledgedAt", _utc_text(ack.acknowledged_at))
        if ack.reason:
            _child(answer, ns, "reason", ack.reason)
        return answer


def soap_application(state: AgencyState, wsdl_path: Path, credentials: Credentials | None = None, *,
                     public_url: str | None = None) -> Application:
    """The HTTP application of one simulated SOAP agency, for ``RunningServer``.

    With ``credentials``, every request must carry a valid WS-Security UsernameToken for them. The
    served WSDL's address is ``public_url`` (default: the agency's configured endpoint).
    """
    return SoapAgency(state, wsdl_path, credentials, public_url=public_url)
