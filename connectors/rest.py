"""REST agency clients over httpx: the securities depository and the police vehicle registry.

What differs between REST agency kinds — paths, order bodies, how an asset is
read — lives in one table, ``ROUTES``; the client itself only sends, maps HTTP
outcomes to the exception tree and reads answers into domain objects:

- cannot connect, or timed out             -> ``AgencyUnavailable``
- the agency's certificate is not trusted  -> ``AgencyFault`` (a retry would not change it)
- HTTP status >= 400 (RFC 7807 problem)    -> ``AgencyFault`` with the status code and the problem's detail
  (401: the agency refused the hub's bearer token)
- not JSON, too large, or a field missing / ill-typed -> ``AgencyAnswerMalformed``

Every call carries ``Authorization: Bearer <token>`` when the registry names credentials
for the instance; TLS trust and the client certificate come from the instance's ``tls``.
The client checks the answer's shape (what it needs to build domain objects);
value rules (ranges, check digits, plate patterns) are the data contracts' job.
Identifiers in answers (person ids, plates) are normalised to Latin digits; names are
kept exactly as the agency wrote them.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import yaml

from connectors.base import DEFAULT_CONNECT_TIMEOUT_S, BatchAnswers
from connectors.batch_answers import BatchMismatch, match_answers, unsendable, wire_ids
from connectors.credentials import FROM_REGISTRY, Credentials, FromRegistry, resolve_credentials
from connectors.xml_safety import MAX_DOCUMENT_BYTES
from estelam.core import settings
from estelam.core.domain import (
    Acknowledgement,
    AckStatus,
    AgencyInstance,
    AgencyKind,
    FreezeOrder,
    InquiryAnswer,
    SecurityHolding,
    TlsOptions,
    Vehicle,
)
from estelam.core.exceptions import AgencyAnswerMalformed, AgencyError, AgencyFault, AgencyUnavailable, ContractError
from estelam.core.identifiers import latin_digits

REQUEST_ID_HEADER = "X-Request-Id"
#: What a vehicle restriction forbids when the order does not say: a change of owner.
DEFAULT_RESTRICTION_TYPE = "transfer"
#: How much of a non-JSON error body goes into an exception message.
MAX_ERROR_TEXT_CHARS = 300
#: The largest answer the client reads (JSON or not): the same limit as for XML documents.
MAX_ANSWER_BYTES = MAX_DOCUMENT_BYTES

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


def _identifier(document: Mapping[str, Any], name: str, where: str) -> str:
    """An identifier with Latin digits, whatever script the agency wrote it in."""
    return latin_digits(_text(document, name, where))


def _holding(item: Mapping[str, Any], where: str) -> SecurityHolding:
    _integer(item, "valueRial", where)  # required by the contract; the domain recomputes it
    return SecurityHolding(
        holder_id=_identifier(item, "holderId", where),
        holder_name=_text(item, "holderName", where),
        symbol=_text(item, "symbol", where),
        quantity=_integer(item, "quantity", where),
        unit_price_rial=_integer(item, "unitPriceRial", where),
    )


def _vehicle(item: Mapping[str, Any], where: str) -> Vehicle:
    return Vehicle(
        plate=_identifier(item, "plate", where),
        owner_id=_identifier(item, "ownerId", where),
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
    return {**_vehicle_release(order), "restrictionType": str(order.restriction_type or DEFAULT_RESTRICTION_TYPE)}


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
    batch: RestOperation  # the batch inquiry: {requestId, personIds} -> {requestId, answeredAt, answers}
    freeze: RestOperation
    release: RestOperation
    assets_field: str  # the list in an inquiry answer
    read_asset: Callable[[Mapping[str, Any], str], SecurityHolding | Vehicle]
    freeze_body: Callable[[FreezeOrder], dict[str, Any]]
    release_body: Callable[[FreezeOrder], dict[str, Any]]

    def operations(self) -> tuple[RestOperation, ...]:
        return (self.inquiry, self.batch, self.freeze, self.release)


#: Every REST agency kind the hub speaks to, as its OpenAPI file in ``contracts/agencies/`` declares it.
ROUTES: dict[AgencyKind, RestRoutes] = {
    AgencyKind.SECURITIES_DEPOSITORY: RestRoutes(
        inquiry=RestOperation("GET", "/v1/holders/{personId}/holdings", "listHoldings"),
        batch=RestOperation("POST", "/v1/holdings:query", "queryHoldings"),
        freeze=RestOperation("POST", "/v1/blocks", "blockHolding"),
        release=RestOperation("POST", "/v1/releases", "releaseHolding"),
        assets_field="holdings",
        read_asset=_holding,
        freeze_body=_holding_order,
        release_body=_holding_order,
    ),
    AgencyKind.VEHICLE_REGISTRY: RestRoutes(
        inquiry=RestOperation("GET", "/v1/owners/{personId}/vehicles", "listVehicles"),
        batch=RestOperation("POST", "/v1/vehicles:query", "queryVehicles"),
        freeze=RestOperation("POST", "/v1/restrictions", "restrictVehicle"),
        release=RestOperation("POST", "/v1/restrictions/release", "releaseRestriction"),
        assets_field="vehicles",
        read_asset=_vehicle,
        freeze_body=_vehicle_restriction,
        release_body=_vehicle_release,
    ),
}


# --- the contract's batch limit, TLS -------------------------------------------------------------

_batch_limits: dict[tuple[Path, int, str], int] = {}
_batch_limits_lock = threading.Lock()


def declared_batch_size(openapi_path: Path, operation: RestOperation) -> int:
    """``maxItems`` of ``personIds`` in the batch operation's request body, as the OpenAPI file declares it."""
    key = (openapi_path.resolve(), openapi_path.stat().st_mtime_ns, operation.path)
    with _batch_limits_lock:
        if key in _batch_limits:
            return _batch_limits[key]
    document = yaml.safe_load(openapi_path.read_text(encoding="utf-8"))
    try:
        schema = (document["paths"][operation.path][operation.method.lower()]["requestBody"]["content"]
                  ["application/json"]["schema"])
        while "$ref" in schema:  # local references only, as the agency contracts use
            target: Any = document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            schema = target
        limit = int(schema["properties"]["personIds"]["maxItems"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ContractError(f"{openapi_path}: {operation.operation_id} declares no personIds.maxItems") from exc
    with _batch_limits_lock:
        _batch_limits[key] = limit
    return limit


def tls_context(tls: TlsOptions | None) -> ssl.SSLContext | bool:
    """What httpx should verify with: the system store, or the instance's CA file and client certificate."""
    if tls is None:
        return True
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.client_cert:
        context.load_cert_chain(tls.client_cert, tls.client_key)
    return context


def _certificate_refused(exc: BaseException) -> bool:
    """Whether a connection failed because a certificate was not trusted (not a passing outage)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


# --- the client -----------------------------------------------------------------------------------


class RestAgencyClient:
    """An ``AgencyClient`` for one REST agency instance.

    ``http`` may be injected (a shared pool, a test transport); requests use absolute URLs
    built from ``instance.endpoint``, so an injected client needs no ``base_url``. A client
    created here is closed by ``close()``; an injected one is left to its owner.
    ``credentials`` default to what the registry's reference resolves to; ``None`` sends no token.
    """

    def __init__(self, instance: AgencyInstance, *, http: httpx.Client | None = None,
                 credentials: Credentials | FromRegistry | None = FROM_REGISTRY,
                 max_answer_bytes: int = MAX_ANSWER_BYTES) -> None:
        routes = ROUTES.get(instance.kind)
        if routes is None:
            raise ContractError(f"agency {instance.agency_id!r}: no REST routes for kind {instance.kind}")
        self.instance = instance
        self._routes = routes
        self._owns_http = http is None
        self._http = http or httpx.Client(
            base_url=instance.endpoint,
            timeout=httpx.Timeout(instance.timeout_s, connect=DEFAULT_CONNECT_TIMEOUT_S),
            verify=tls_context(instance.tls),
        )
        if isinstance(credentials, FromRegistry):
            credentials = resolve_credentials(instance)
        self._authorization = {"Authorization": f"Bearer {credentials.secret}"} if credentials else {}
        self._max_answer_bytes = max_answer_bytes
        self.max_batch_size = declared_batch_size(settings.contracts_dir() / instance.contract, routes.batch)

    def inquire(self, person_id: str, request_id: str) -> InquiryAnswer:
        """Ask what assets ``person_id`` has at this agency."""
        operation = self._routes.inquiry
        path = operation.path.format(personId=quote(latin_digits(person_id), safe=""))
        document = self._send("inquire", operation, path, request_id)
        try:
            answer = _object(document, "answer")
            answered_for = _identifier(answer, "personId", "answer")
            if answered_for != latin_digits(person_id):
                raise _Malformed(f"answer is about person {answered_for!r}, not {person_id!r}")
            responded_at = _moment(answer, "answeredAt", "answer")
            assets = self._assets(answer, person_id, "answer")
        except _Malformed as exc:
            raise self._malformed(exc, "inquire", request_id) from exc
        return InquiryAnswer(self.instance.agency_id, person_id, request_id, assets, responded_at)

    def inquire_batch(self, person_ids: Sequence[str], request_id: str) -> BatchAnswers:
        """Ask about up to ``max_batch_size`` persons in one call; see ``AgencyClient.inquire_batch``."""
        operation = self._routes.batch
        asked = wire_ids(person_ids)
        refused = unsendable(person_ids, agency_id=self.instance.agency_id, operation="inquire_batch",
                             request_id=request_id)
        if not asked:
            return dict(refused)
        if len(asked) > self.max_batch_size:  # the agency would refuse it whole; nothing is sent
            raise AgencyError(f"{len(asked)} persons exceed the contract's batch limit of {self.max_batch_size}",
                              agency_id=self.instance.agency_id, operation="inquire_batch", request_id=request_id)
        document = self._send("inquire_batch", operation, operation.path, request_id,
                              {"requestId": request_id, "personIds": asked})
        try:
            answer = _object(document, "answer")
            answered_request = _text(answer, "requestId", "answer")
            if answered_request != request_id:
                raise _Malformed(f"answer is for request {answered_request!r}, not {request_id!r}")
            responded_at = _moment(answer, "answeredAt", "answer")
            entries = [_object(item, f"answers[{i}]") for i, item in enumerate(_list(answer, "answers", "answer"))]
            try:
                by_person = match_answers(person_ids, ((_text(e, "personId", f"answers[{i}]"), (i, e))
                                                       for i, e in enumerate(entries)))
            except BatchMismatch as exc:
                raise _Malformed(str(exc)) from exc
            answered = {person_id: self._batch_entry(person_id, entry, f"answers[{i}]", request_id, responded_at)
                        for person_id, (i, entry) in by_person.items()}
        except _Malformed as exc:
            raise self._malformed(exc, "inquire_batch", request_id) from exc
        return {p: refused[p] if p in refused else answered[p] for p in person_ids}

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

    def _assets(self, answer: Mapping[str, Any], person_id: str, where: str) -> tuple[SecurityHolding | Vehicle, ...]:
        field = self._routes.assets_field
        assets = tuple(
            self._routes.read_asset(_object(item, f"{where}.{field}[{i}]"), f"{where}.{field}[{i}]")
            for i, item in enumerate(_list(answer, field, where))
        )
        strangers = sorted({_owner(a) for a in assets} - {latin_digits(person_id)})
        if strangers:  # another person's assets must never be landed under this inquiry
            raise _Malformed(f"{where}.{field} include assets of other persons: {strangers}")
        return assets

    def _batch_entry(self, person_id: str, entry: Mapping[str, Any], where: str, request_id: str,
                     responded_at: datetime) -> InquiryAnswer | AgencyFault:
        if "error" in entry:
            if entry.get(self._routes.assets_field):
                raise _Malformed(f"{where} has both assets and an error")
            error = _object(entry["error"], f"{where}.error")
            return AgencyFault(f"refused for this person: {_text(error, 'code', f'{where}.error')}: "
                               f"{_text(error, 'detail', f'{where}.error')}",
                               agency_id=self.instance.agency_id, operation="inquire_batch", request_id=request_id)
        assets = self._assets(entry, person_id, where)
        return InquiryAnswer(self.instance.agency_id, person_id, request_id, assets, responded_at)

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
        headers = {REQUEST_ID_HEADER: request_id, "Accept": "application/json", **self._authorization}
        try:
            with self._http.stream(operation.method, self.instance.endpoint + path, headers=headers,
                                   json=body) as response:
                content = self._bounded_read(response, context)
        except httpx.ConnectError as exc:
            if _certificate_refused(exc):  # an untrusted certificate does not heal on a retry
                raise AgencyFault(f"TLS handshake refused: {exc}", **context) from exc
            raise AgencyUnavailable(f"{type(exc).__name__}: {exc}", **context) from exc
        except httpx.TransportError as exc:  # includes every timeout
            raise AgencyUnavailable(f"{type(exc).__name__}: {exc}", **context) from exc
        except httpx.DecodingError as exc:
            raise AgencyAnswerMalformed(f"answer cannot be decoded: {exc}", **context) from exc
        if response.status_code >= 400:
            raise AgencyFault(_fault_message(response, content), status_code=response.status_code, **context)
        if not response.is_success:
            raise AgencyAnswerMalformed(f"unexpected HTTP status {response.status_code}",
                                        status_code=response.status_code, **context)
        try:
            return json.loads(content)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise AgencyAnswerMalformed(f"answer is not JSON: {exc}", status_code=response.status_code,
                                        **context) from exc

    def _bounded_read(self, response: httpx.Response, context: dict[str, Any]) -> bytes:
        """The answer's body, refused unread past ``max_answer_bytes`` (declared or actual)."""
        limit = self._max_answer_bytes
        declared = int(response.headers.get("Content-Length") or 0)
        if declared > limit:
            raise AgencyAnswerMalformed(f"answer of {declared} bytes exceeds the limit of {limit} bytes",
                                        status_code=response.status_code, **context)
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > limit:
                raise AgencyAnswerMalformed(f"answer exceeds the limit of {limit} bytes",
                                            status_code=response.status_code, **context)
        return bytes(body)

    def _malformed(self, exc: _Malformed, name: str, request_id: str) -> AgencyAnswerMalformed:
        return AgencyAnswerMalformed(str(exc), agency_id=self.instance.agency_id, operation=name,
                                     request_id=request_id)


def _fault_message(response: httpx.Response, content: bytes) -> str:
    """The problem document's detail (or title), else the start of the body."""
    status = f"HTTP {response.status_code} {response.reason_phrase}"
    try:
        document = json.loads(content)
    except ValueError:
        document = None
    if isinstance(document, dict):
        detail = document.get("detail") or document.get("title")
        if isinstance(detail, str) and detail:
            return f"{status}: {detail}"
    text = content.decode(response.encoding or "utf-8", errors="replace").strip()[:MAX_ERROR_TEXT_CHARS]
    return f"{status}: {text}" if text else status


__all__ = ["DEFAULT_RESTRICTION_TYPE", "MAX_ANSWER_BYTES", "ROUTES", "RestAgencyClient", "RestOperation", "RestRoutes",
           "declared_batch_size", "tls_context"]
