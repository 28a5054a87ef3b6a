"""Clients for SOAP agencies (banks, the land registry), built with zeep from their WSDL in ``contracts/``.

The WSDL is always read from the local contract file, never fetched from the
agency, and the service is bound to the instance's own endpoint. zeep runs
with strict, hardened settings: no DTDs, no entities, no external references.
Every failure leaves as an ``AgencyError`` subclass:

- could not connect, or timed out            -> ``AgencyUnavailable``
- the agency answered with a SOAP fault       -> ``AgencyFault`` (status 500, the fault string as message)
- the agency answered with another HTTP error -> ``AgencyFault`` (its status code)
- the answer is not XML, is hostile XML, or does not follow the contract -> ``AgencyAnswerMalformed``
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from lxml import etree
from zeep import Client, Settings
from zeep import exceptions as zeep_errors
from zeep.proxy import ServiceProxy
from zeep.transports import Transport
from zeep.wsdl import Document

from connectors.base import DEFAULT_CONNECT_TIMEOUT_S
from estelam import settings
from estelam.domain import (
    AccountKind,
    Acknowledgement,
    AckStatus,
    AgencyInstance,
    AgencyKind,
    Asset,
    BankAccount,
    FreezeOrder,
    InquiryAnswer,
    OrderKind,
    Property,
)
from estelam.exceptions import AgencyAnswerMalformed, AgencyError, AgencyFault, AgencyUnavailable

#: Where every SOAP agency listens, below its base URL.
SOAP_PATH = "/soap"
#: Reading the local WSDL file; it never leaves the machine.
DEFAULT_WSDL_LOAD_TIMEOUT_S = 10.0
#: The status zeep reports for SOAP faults: SOAP 1.1 over HTTP sends every fault with HTTP 500.
SOAP_FAULT_STATUS = 500

#: zeep's parser settings: strict, and refusing DTDs, entities and external references in any answer.
HARDENED_SETTINGS = Settings(
    strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True
)

#: zeep errors meaning "the answer cannot be read against the contract".
_MALFORMED_ERRORS: tuple[type[Exception], ...] = (
    zeep_errors.XMLSyntaxError,
    zeep_errors.XMLParseError,
    zeep_errors.UnexpectedElementError,
    zeep_errors.ValidationError,
    zeep_errors.DTDForbidden,
    zeep_errors.EntitiesForbidden,
    zeep_errors.ExternalReferenceForbidden,
    etree.XMLSyntaxError,
)


class _Unreadable(ValueError):
    """An answer field is missing or has a value outside the contract."""


def _field(value: Any, name: str) -> Any:
    field_value = getattr(value, name, None)
    if field_value is None:
        raise _Unreadable(f"answer has no readable {name}")
    return field_value


def _rial(value: Any, name: str) -> int:
    amount = _field(value, name)
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise _Unreadable(f"{name} is not an integer number of rials: {amount!r}")
    return amount


def _utc(value: Any, name: str) -> datetime:
    at = _field(value, name)
    if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
        raise _Unreadable(f"{name} is not a timestamp with a time zone: {at!r}")
    return at.astimezone(UTC)


def _bank_account(row: Any) -> BankAccount:
    try:
        kind = AccountKind(_field(row, "accountKind"))
    except ValueError as exc:
        raise _Unreadable(f"accountKind {row.accountKind!r} is not in the contract") from exc
    return BankAccount(iban=str(_field(row, "iban")), holder_id=str(_field(row, "holderId")),
                       holder_name=str(_field(row, "holderName")), account_kind=kind,
                       balance_rial=_rial(row, "balanceRial"))


def _property(row: Any) -> Property:
    return Property(registry_section=str(_field(row, "registrySection")), main_plate=_rial(row, "mainPlate"),
                    sub_plate=_rial(row, "subPlate"), owner_id=str(_field(row, "ownerId")),
                    owner_name=str(_field(row, "ownerName")), share_percent=_rial(row, "sharePercent"),
                    value_rial=_rial(row, "valueRial"))


def _iban_fields(asset_ref: str) -> dict[str, object]:
    return {"iban": asset_ref}


def _plate_fields(asset_ref: str) -> dict[str, object]:
    section, main, sub = asset_ref.split("/")  # Property.asset_ref: "section/main/sub"
    return {"registrySection": section, "mainPlate": int(main), "subPlate": int(sub)}


@dataclass(frozen=True)
class SoapOperations:
    """How one agency kind's WSDL names things: binding, operations, the repeated asset element."""

    binding: str  # QName of the binding in the WSDL
    inquire: str
    freeze: str
    release: str
    asset_element: str  # the repeated element of the inquiry answer
    read_asset: Callable[[Any], Asset]
    order_fields: Callable[[str], dict[str, object]]  # asset_ref -> request fields naming the asset


#: The one table of SOAP agency kinds.
OPERATIONS: dict[AgencyKind, SoapOperations] = {
    AgencyKind.BANK: SoapOperations(
        "{urn:estelam:agency:bank:v1}BankSoapBinding", "InquireAccounts", "FreezeAccount", "ReleaseAccount",
        "account", _bank_account, _iban_fields),
    AgencyKind.LAND_REGISTRY: SoapOperations(
        "{urn:estelam:agency:land_registry:v1}LandRegistrySoapBinding", "InquireProperties", "FreezeProperty",
        "ReleaseProperty", "property", _property, _plate_fields),
}

_documents: dict[tuple[Path, int], Document] = {}
_documents_lock = threading.Lock()


def wsdl_document(path: Path) -> Document:
    """The parsed WSDL at ``path``, parsed once per process (and again if the file changes).

    Sharing is safe: after parsing, a zeep ``Document`` is only read; each client
    sends through its own transport and parses answers with its own settings.
    """
    key = (path.resolve(), path.stat().st_mtime_ns)
    with _documents_lock:
        document = _documents.get(key)
        if document is None:
            loader = Transport(timeout=DEFAULT_WSDL_LOAD_TIMEOUT_S, cache=None)
            document = Document(str(key[0]), loader, settings=HARDENED_SETTINGS)
            _documents[key] = document
        return document


class SoapAgencyClient:
    """A SOAP agency instance (bank or land registry), reached through zeep."""

    def __init__(self, instance: AgencyInstance, *, session: requests.Session | None = None) -> None:
        if instance.kind not in OPERATIONS:
            raise ValueError(f"{instance.agency_id}: kind {instance.kind} has no SOAP operations")
        self.instance = instance
        self.operations = OPERATIONS[instance.kind]
        self._own_session = session is None
        self._session = session or requests.Session()
        transport = Transport(session=self._session, timeout=DEFAULT_WSDL_LOAD_TIMEOUT_S,
                              operation_timeout=(DEFAULT_CONNECT_TIMEOUT_S, instance.timeout_s))
        self._client = Client(wsdl_document(settings.contracts_dir() / instance.contract),
                              transport=transport, settings=HARDENED_SETTINGS)
        self._service: ServiceProxy = self._client.create_service(self.operations.binding,
                                                                  f"{instance.endpoint}{SOAP_PATH}")

    def inquire(self, person_id: str, request_id: str) -> InquiryAnswer:
        """Ask what assets ``person_id`` holds at this agency."""
        operation = self.operations.inquire
        with self._agency_call(operation, request_id):
            answer = self._service[operation](personId=person_id, requestId=request_id)
            rows = getattr(answer, self.operations.asset_element, None) or []
            assets = tuple(self.operations.read_asset(row) for row in rows)
            responded_at = _utc(answer, "answeredAt")
        return InquiryAnswer(self.instance.agency_id, person_id, request_id, assets, responded_at)

    def freeze(self, order: FreezeOrder) -> Acknowledgement:
        """Block the order's asset up to ``order.amount_rial`` for ``order.case_id``."""
        return self._send(order, OrderKind.FREEZE)

    def release(self, order: FreezeOrder) -> Acknowledgement:
        """Lift up to ``order.amount_rial`` of the case's block on the order's asset."""
        return self._send(order, OrderKind.RELEASE)

    def close(self) -> None:
        """Close the HTTP session, if this client opened it."""
        if self._own_session:
            self._session.close()

    def _send(self, order: FreezeOrder, kind: OrderKind) -> Acknowledgement:
        operation = self.operations.freeze if kind is OrderKind.FREEZE else self.operations.release
        if order.kind is not kind:
            raise ValueError(f"order {order.order_id} is a {order.kind} order, not a {kind} order")
        try:
            asset_fields = self.operations.order_fields(order.asset_ref)
        except ValueError as exc:
            raise AgencyError(f"asset_ref {order.asset_ref!r} cannot be named in this agency's contract",
                              agency_id=self.instance.agency_id, operation=operation,
                              request_id=order.order_id) from exc
        with self._agency_call(operation, order.order_id):
            answer = self._service[operation](orderId=order.order_id, caseId=order.case_id,
                                              amountRial=order.amount_rial, **asset_fields)
            answered_order = str(_field(answer, "orderId"))
            if answered_order != order.order_id:
                raise _Unreadable(f"acknowledges order {answered_order!r} instead")
            try:
                status = AckStatus(_field(answer, "status"))
            except ValueError as exc:
                raise _Unreadable(f"status {answer.status!r} is not in the contract") from exc
            return Acknowledgement(
                order_id=order.order_id, agency_id=self.instance.agency_id, case_id=order.case_id,
                asset_ref=order.asset_ref, status=status,
                acknowledged_amount_rial=_rial(answer, "acknowledgedAmountRial"),
                frozen_total_rial=_rial(answer, "frozenTotalRial"),
                acknowledged_at=_utc(answer, "acknowledgedAt"),
                reason=answer.reason or "",
            )

    @contextmanager
    def _agency_call(self, operation: str, request_id: str) -> Iterator[None]:
        """Turn every failure of one call into the matching ``AgencyError``."""
        where: dict[str, Any] = {"agency_id": self.instance.agency_id, "operation": operation,
                                 "request_id": request_id}
        try:
            yield
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise AgencyUnavailable(f"no answer from {self.instance.endpoint}: {exc}", **where) from exc
        except zeep_errors.Fault as exc:
            raise AgencyFault(exc.message or "SOAP fault without a fault string",
                              status_code=SOAP_FAULT_STATUS, **where) from exc
        except zeep_errors.TransportError as exc:
            if exc.status_code == 200:  # zeep reports "answered 200 with something that is not XML" this way
                raise AgencyAnswerMalformed(f"answer is not XML: {exc.message[:200]}", **where) from exc
            raise AgencyFault(f"HTTP {exc.status_code}", status_code=exc.status_code, **where) from exc
        except _MALFORMED_ERRORS as exc:
            raise AgencyAnswerMalformed(f"answer does not follow the contract: {exc}", **where) from exc
        except _Unreadable as exc:
            raise AgencyAnswerMalformed(str(exc), **where) from exc
