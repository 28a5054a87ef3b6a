"""REST agency clients over httpx: the securities depository and the police vehicle registry.

What differs between REST agency kinds — paths, order bodies, how an asset is
read — lives in one table, ``ROUTES``; the client itself only sends, maps HTTP
outcomes to the exception tree and reads answers into domain objects:

- cannot connect, or timed out             -> ``AgencyUnavailable``
- HTTP status >= 400 (RFC 7807 problem)    -> ``AgencyFault`` with the status code and the problem's detail
- not JSON, or a field missing / ill-typed -> ``AgencyAnswerMalformed``

The client checks the answer's shape (what it needs to build domain objects);
value rules (ranges, check digits, plate patterns) are the data contracts' job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from connectors.base import DEFAULT_CONNECT_TIMEOUT_S
from estelam.domain import (
    Acknowledgement,
    AckStatus,
    AgencyInstance,
    AgencyKind,
    FreezeOrder,
    InquiryAnswer,
    SecurityHolding,
    Vehicle,
)
from estelam.exceptions import AgencyAnswerMalformed, AgencyError, AgencyFault, AgencyUnavailable, ContractError

REQUEST_ID_HEADER = "X-Request-Id"
#: What a vehicle restriction forbids when the order does not say: a change of owner.
DEFAULT_RESTRICTION_TYPE = "transfer"
#: How much of a non-JSON error body goes into an exception message.
MAX_ERROR_TEXT_CHARS = 300

_E = TypeVar("_E", bound=StrEnum)


class _Malformed(ValueError):
    """A field of an answer is missing or of the wrong type."""


# --- reading answers ------------------------------------------------------------------------------


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed(f"{where} is not a JSON object")
    return value


def _field(document: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in document:
        raise _Malformed(f"{where}.{name} is missing")
    return document[name]


def _text(document: Mapping[str, Any], name: str, where: str) -> str:
    value = _field(document, name, where)
    if not isinstance(value, str):
        raise _Malformed(f"{where}.{name} is not a string: {value!r}")
    return value


def _integer(document: Mapping[str, Any], name: str, where: str) -> int:
    value = _field(document, name, where)
    if not isinstance(value, int) or isinstance(value, bool):  # money is never a float, nor a bool
        raise _Malformed(f"{where}.{name} is not an integer: {value!r}")
    return value


def _moment(document: Mapping[str, Any], name: str, where: str) -> datetime:
    text = _text(document, name, where)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _Malformed(f"{where}.{name} is not an ISO 8601 time: {text!r}") from exc
    if moment.tzinfo is None:
        raise _Malformed(f"{where}.{name} has no time zone: {text!r}")
    return moment.astimezone(UTC)


def _choice(document: Mapping[str, Any], name: str, where: str, allowed: type[_E]) -> _E:
    text = _text(document, name, where)
    try:
        return allowed(text)
    except ValueError as exc:
        raise _Malformed(f"{where}.{name} is not one of {[str(v) for v in allowed]}: {text!r}") from exc


def _list(document: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = _field(document, name, where)
    if not isinstance(value, list):
        raise _Malformed(f"{where}.{name} is not a list")
    return value


def _holding(item: Mapping[str, Any], where: str) -> SecurityHolding:
    _integer(item, "valueRial", where)  # required by the contract; the domain recomputes it
    return SecurityHolding(
        holder_id=_text(item, "holderId", where),
        holder_name=_text(item, "holderName", where),
        symbol=_text(item, "symbol", where),
        quantity=_integer(item, "quantity", where),
        unit_price_rial=_integer(item, "unitPriceRial", where),
    )


def _vehicle(item: Mapping[str, Any], where: str) -> Vehicle:
    return Vehicle(
        plate=_text(item, "plate", where),
        owner_id=_text(item, "ownerId", where),
        owner_name=_text(item, "ownerName", where),
        model=_text(item, "model", where),
        value_rial=_integer(item, "valueRial", where),
    )


def _owner(asset: SecurityHolding | Vehicle) -> str:
    return asset.holder_id if isinstance(asset, SecurityHolding) else asset.owner_id


# --- writing orders -------------------------------------------------------------------------------


def _holding_order(order: FreezeOrder) -> dict[str, Any]:
    holder_id, sep, symbol = order.asset_ref.partition(":")
    if not (sep and holder_id and symbol):
        raise ValueError(f"asset_ref {order.asset_ref!r} is not of the form holderId:symbol")
    return {"orderId": order.order_id, "caseId": order.case_id, "holderId": holder_id, "symbol": symbol,
            "amountRial": order.amount_rial}


def _vehicle_restriction(order: FreezeOrder) -> dict[str, Any]:
    return {**_vehicle_release(order), "restrictionType": DEFAULT_RESTRICTION_TYPE}


def _vehicle_release(order: FreezeOrder) -> dict[str, Any]:
    return {"orderId": order.order_id, "caseId": order.case_id, "plate": order.asset_ref,
            "amountRial": order.amount_rial}


# --- the route table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestOperation:
    """One operation of an agency's OpenAPI file."""

    method: str
    path: str  # template, as written in the OpenAPI file
    operation_id: str


@dataclass(frozen=True)
class RestRoutes:
    """How to speak to one REST agency kind."""

    inquiry: RestOperation
    freeze: RestOperation
    release: RestOperation
    assets_field: str  # the list in an inquiry answer
    read_asset: Callable[[Mapping[str, Any], str], SecurityHolding | Vehicle]
    freeze_body: Callable[[FreezeOrder], dict[str, Any]]
    release_body: Callable[[FreezeOrder], dict[str, Any]]

    def operations(self) -> tuple[RestOperation, ...]:
        return (self.inquiry, self.freeze, self.release)


#: Every REST agency kind the hub speaks to, as its OpenAPI file in ``contracts/agencies/`` declares it.
ROUTES: dict[AgencyKind, RestRoutes] = {
    AgencyKind.SECURITIES_DEPOSITORY: RestRoutes(
        inquiry=RestOperation("GET", "/v1/holders/{personId}/holdings", "listHoldings"),
        freeze=RestOperation("POST", "/v1/blocks", "blockHolding"),
        release=RestOperation("POST", "/v1/releases", "releaseHolding"),
        assets_field="holdings",
        read_asset=_holding,
        freeze_body=_holding_order,
        release_body=_holding_order,
    ),
    AgencyKind.VEHICLE_REGISTRY: RestRoutes(
        inquiry=RestOperation("GET", "/v1/owners/{personId}/vehicles", "listVehicles"),
        freeze=RestOperation("POST", "/v1/restrictions", "restrictVehicle"),
        release=RestOperation("POST", "/v1/restrictions/release", "releaseRestriction"),
        assets_field="vehicles",
        read_asset=_vehicle,
        freeze_body=_vehicle_restriction,
        release_body=_vehicle_release,
    ),
}


# --- the client -----------------------------------------------------------------------------------


class RestAgencyClient:
    """An ``AgencyClient`` for one REST agency instance.

    ``http`` may be injected (a shared pool, a test transport); requests use absolute URLs
    built from ``instance.endpoint``, so an injected client needs no ``base_url``. A client
    created here is closed by ``close()``; an injected one is left to its owner.
    """

    def __init__(self, instance: AgencyInstance, *, http: httpx.Client | None = None) -> None:
        routes = ROUTES.get(instance.kind)
        if routes is None:
            raise ContractError(f"agency {instance.agency_id!r}: no REST routes for kind {instance.kind}")
        self.instance = instance
        self._routes = routes
        self._owns_http = http is None
        self._http = http or httpx.Client(
            base_url=instance.endpoint,
            timeout=httpx.Timeout(instance.timeout_s, connect=DEFAULT_CONNECT_TIMEOUT_S),
        )

    def inquire(self, person_id: str, request_id: str) -> InquiryAnswer:
        """Ask what assets ``person_id`` has at this agency."""
        operation = self._routes.inquiry
        path = operation.path.format(personId=quote(person_id, safe=""))
        document = self._send("inquire", operation, path, request_id)
        try:
            answer = _object(document, "answer")
            answered_for = _text(answer, "personId", "answer")
            if answered_for != person_id:
                raise _Malformed(f"answer is about person {answered_for!r}, not {person_id!r}")
            responded_at = _moment(answer, "answeredAt", "answer")
            field = self._routes.assets_field
            assets = tuple(
                self._routes.read_asset(_object(item, f"{field}[{i}]"), f"{field}[{i}]")
                for i, item in enumerate(_list(answer, field, "answer"))
            )
            strangers = sorted({_owner(a) for a in assets} - {person_id})
            if strangers:  # another person's assets must never be landed under this inquiry
                raise _Malformed(f"{field} include assets of other persons: {strangers}")
        except _Malformed as exc:
            raise self._malformed(exc, "inquire", request_id) from exc
        return InquiryAnswer(self.instance.agency_id, person_id, request_id, assets, responded_at)

    def freeze(self, order: FreezeOrder) -> Acknowledgement:
        """Block (restrict) an asset up to ``order.amount_rial`` for ``order.case_id``."""
        return self._order("freeze", self._routes.freeze, self._routes.freeze_body, order)

    def release(self, order: FreezeOrder) -> Acknowledgement:
        """Lift up to ``order.amount_rial`` of this case's block on the asset."""
        return self._order("release", self._routes.release, self._routes.release_body, order)

    def close(self) -> None:
        """Close the HTTP connection pool if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> RestAgencyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals --------------------------------------------------------------------------------

    def _order(
        self,
        name: str,
        operation: RestOperation,
        body_of: Callable[[FreezeOrder], dict[str, Any]],
        order: FreezeOrder,
    ) -> Acknowledgement:
        try:
            body = body_of(order)
        except ValueError as exc:  # the order cannot be said in this agency's terms; nothing was sent
            raise AgencyError(str(exc), agency_id=self.instance.agency_id, operation=name,
                              request_id=order.order_id) from exc
        document = self._send(name, operation, operation.path, order.order_id, body)
        try:
            ack = _object(document, "acknowledgement")
            order_id = _text(ack, "orderId", "acknowledgement")
            if order_id != order.order_id:
                raise _Malformed(f"acknowledgement is for order {order_id!r}, not {order.order_id!r}")
            reason = _text(ack, "reason", "acknowledgement") if "reason" in ack else ""
            return Acknowledgement(
                order_id=order_id,
                agency_id=self.instance.agency_id,
                case_id=order.case_id,
                asset_ref=order.asset_ref,
                status=_choice(ack, "status", "acknowledgement", AckStatus),
                acknowledged_amount_rial=_integer(ack, "acknowledgedAmountRial", "acknowledgement"),
                frozen_total_rial=_integer(ack, "frozenTotalRial", "acknowledgement"),
                acknowledged_at=_moment(ack, "acknowledgedAt", "acknowledgement"),
                reason=reason,
            )
        except _Malformed as exc:
            raise self._malformed(exc, name, order.order_id) from exc

    def _send(
        self,
        name: str,
        operation: RestOperation,
        path: str,
        request_id: str,
        body: dict[str, Any] | None = None,
    ) -> Any:
        """Send one request; the decoded JSON answer, or the matching ``AgencyError``."""
        context = {"agency_id": self.instance.agency_id, "operation": name, "request_id": request_id}
        headers = {REQUEST_ID_HEADER: request_id, "Accept": "application/json"}
        try:
            response = self._http.request(operation.method, self.instance.endpoint + path, headers=headers, json=body)
        except httpx.TransportError as exc:  # includes every timeout
            raise AgencyUnavailable(f"{type(exc).__name__}: {exc}", **context) from exc
        except httpx.DecodingError as exc:
            raise AgencyAnswerMalformed(f"answer cannot be decoded: {exc}", **context) from exc
        if response.status_code >= 400:
            raise AgencyFault(_fault_message(response), status_code=response.status_code, **context)
        if not response.is_success:
            raise AgencyAnswerMalformed(f"unexpected HTTP status {response.status_code}",
                                        status_code=response.status_code, **context)
        try:
            return json.loads(response.content)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise AgencyAnswerMalformed(f"answer is not JSON: {exc}", status_code=response.status_code,
                                        **context) from exc

    def _malformed(self, exc: _Malformed, name: str, request_id: str) -> AgencyAnswerMalformed:
        return AgencyAnswerMalformed(str(exc), agency_id=self.instance.agency_id, operation=name,
                                     request_id=request_id)


def _fault_message(response: httpx.Response) -> str:
    """The problem document's detail (or title), else the start of the body."""
    status = f"HTTP {response.status_code} {response.reason_phrase}"
    try:
        document = json.loads(response.content)
    except ValueError:
        document = None
    if isinstance(document, dict):
        detail = document.get("detail") or document.get("title")
        if isinstance(detail, str) and detail:
            return f"{status}: {detail}"
    text = response.text.strip()[:MAX_ERROR_TEXT_CHARS]
    return f"{status}: {text}" if text else status


__all__ = ["DEFAULT_RESTRICTION_TYPE", "ROUTES", "RestAgencyClient", "RestOperation", "RestRoutes"]
