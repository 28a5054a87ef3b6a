"""REST agency clients over httpx: the police vehicle registry (the kinds declared by a mapping have the generic
client, ``connectors.mapped``).

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
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import yaml

from connectors import message_hook
from connectors.base import DEFAULT_CONNECT_TIMEOUT_S, FREEZE_AND_RELEASE, BatchAnswers
from connectors.batch_answers import BatchMismatch, match_answers, unsendable, wire_ids
from connectors.credentials import FROM_REGISTRY, Credentials, FromRegistry, resolve_credentials
from connectors.json_answers import (
    Malformed,
    as_object,
    choice_of,
    identifier_of,
    integer_of,
    list_of,
    moment_of,
    owner_of,
    text_of,
    vehicle,
    vehicle_release,
    vehicle_restriction,
)
from connectors.wire import REQUEST_ID_HEADER
from connectors.xml_safety import MAX_DOCUMENT_BYTES
from estelam.core import clock
from estelam.core.domain import (
    Acknowledgement,
    AckStatus,
    AgencyInstance,
    AgencyKind,
    FreezeOrder,
    InquiryAnswer,
    OrderKind,
    TlsOptions,
    Vehicle,
)
from estelam.core.exceptions import (
    AgencyAnswerMalformed,
    AgencyCallSite,
    AgencyError,
    AgencyFault,
    AgencyUnavailable,
    ContractError,
    OperationNotInContract,
)
from estelam.core.identifiers import latin_digits

#: How much of a non-JSON error body goes into an exception message.
MAX_ERROR_TEXT_CHARS = 300
#: The largest answer the client reads (JSON or not): the same limit as for XML documents.
MAX_ANSWER_BYTES = MAX_DOCUMENT_BYTES

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
    read_asset: Callable[[Mapping[str, Any], str], Vehicle]
    freeze_body: Callable[[FreezeOrder], dict[str, Any]]
    release_body: Callable[[FreezeOrder], dict[str, Any]]
    cancel: RestOperation  # cancels an order the judge withdrew: the release body plus cancelsOrderId

    def operations(self) -> tuple[RestOperation, ...]:
        return (self.inquiry, self.batch, self.freeze, self.release, self.cancel)


#: Every REST agency kind the hub speaks to, as its OpenAPI file in ``contracts/agencies/`` declares it.
ROUTES: dict[AgencyKind, RestRoutes] = {
    AgencyKind.VEHICLE_REGISTRY: RestRoutes(
        inquiry=RestOperation("GET", "/v1/owners/{personId}/vehicles", "listVehicles"),
        batch=RestOperation("POST", "/v1/vehicles:query", "queryVehicles"),
        freeze=RestOperation("POST", "/v1/restrictions", "restrictVehicle"),
        release=RestOperation("POST", "/v1/restrictions/release", "releaseRestriction"),
        assets_field="vehicles",
        read_asset=vehicle,
        freeze_body=vehicle_restriction,
        release_body=vehicle_release,
        cancel=RestOperation("POST", "/v1/restrictions/cancel", "cancelRestriction"),
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


class _ForeignAssets(Malformed):
    """An answer lists another person's assets under the person asked about."""


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
        self.max_batch_size = declared_batch_size(Path(instance.contract), routes.batch)
        # no REST agency holds money: none has a transfer or payout operation
        self.order_kinds = FREEZE_AND_RELEASE | {OrderKind.CANCEL}

    def inquire(self, person_id: str, request_id: str) -> InquiryAnswer:
        """Ask what assets ``person_id`` has at this agency."""
        operation = self._routes.inquiry
        path = operation.path.format(personId=quote(latin_digits(person_id), safe=""))
        document = self._send("inquire", operation, path, request_id)
        try:
            answer = as_object(document, "answer")
            answered_for = identifier_of(answer, "personId", "answer")
            if answered_for != latin_digits(person_id):
                raise Malformed(f"answer is about person {answered_for!r}, not {person_id!r}")
            responded_at = moment_of(answer, "answeredAt", "answer")
            assets = self._assets(answer, person_id, "answer")
        except Malformed as exc:
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
            answer = as_object(document, "answer")
            answered_request = text_of(answer, "requestId", "answer")
            if answered_request != request_id:
                raise Malformed(f"answer is for request {answered_request!r}, not {request_id!r}")
            responded_at = moment_of(answer, "answeredAt", "answer")
            entries = [as_object(item, f"answers[{i}]") for i, item in enumerate(list_of(answer, "answers", "answer"))]
            try:
                by_person = match_answers(person_ids, ((text_of(e, "personId", f"answers[{i}]"), (i, e))
                                                       for i, e in enumerate(entries)))
            except BatchMismatch as exc:
                raise Malformed(str(exc)) from exc
            answered = {person_id: self._batch_entry(person_id, entry, f"answers[{i}]", request_id, responded_at)
                        for person_id, (i, entry) in by_person.items()}
        except Malformed as exc:
            raise self._malformed(exc, "inquire_batch", request_id) from exc
        return {p: refused[p] if p in refused else answered[p] for p in person_ids}

    def freeze(self, order: FreezeOrder) -> Acknowledgement:
        """Block (restrict) an asset up to ``order.amount_rial`` for ``order.case_id``."""
        return self._order("freeze", self._routes.freeze, self._routes.freeze_body, order)

    def release(self, order: FreezeOrder) -> Acknowledgement:
        """Lift up to ``order.amount_rial`` of this case's block on the asset."""
        return self._order("release", self._routes.release, self._routes.release_body, order)

    def transfer(self, order: FreezeOrder) -> Acknowledgement:
        """No REST agency's contract has a transfer operation: ``OperationNotInContract``, nothing is sent."""
        raise OperationNotInContract(f"this agency's contract ({self.instance.contract}) has no transfer operation",
                                     agency_id=self.instance.agency_id, operation="transfer",
                                     request_id=order.order_id)

    def pay_out(self, order: FreezeOrder) -> Acknowledgement:
        """No REST agency's contract has a payout operation: ``OperationNotInContract``, nothing is sent."""
        raise OperationNotInContract(f"this agency's contract ({self.instance.contract}) has no payout operation",
                                     agency_id=self.instance.agency_id, operation="payout",
                                     request_id=order.order_id)

    def cancel(self, order: FreezeOrder) -> Acknowledgement:
        """Cancel the order ``order.cancels`` on the asset (undone if applied, refused if it arrives later)."""
        return self._order("cancel", self._routes.cancel, self._cancel_body, order)

    def _cancel_body(self, order: FreezeOrder) -> dict[str, Any]:
        if not order.cancels:
            raise ValueError(f"cancel order {order.order_id} names no order to cancel")
        return {**self._routes.release_body(order), "cancelsOrderId": order.cancels}

    def close(self) -> None:
        """Close the HTTP connection pool if this client created it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> RestAgencyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- internals --------------------------------------------------------------------------------

    def _assets(self, answer: Mapping[str, Any], person_id: str, where: str) -> tuple[Vehicle, ...]:
        field = self._routes.assets_field
        assets = tuple(
            self._routes.read_asset(as_object(item, f"{where}.{field}[{i}]"), f"{where}.{field}[{i}]")
            for i, item in enumerate(list_of(answer, field, where))
        )
        strangers = sorted({owner_of(a) for a in assets} - {latin_digits(person_id)})
        if strangers:  # another person's assets must never be landed under this inquiry
            raise _ForeignAssets(f"{where}.{field} include assets of other persons: {strangers}")
        return assets

    def _batch_entry(self, person_id: str, entry: Mapping[str, Any], where: str, request_id: str,
                     responded_at: datetime) -> InquiryAnswer | AgencyFault | AgencyAnswerMalformed:
        if "error" in entry:
            if entry.get(self._routes.assets_field):
                raise Malformed(f"{where} has both assets and an error")
            error = as_object(entry["error"], f"{where}.error")
            return AgencyFault(f"refused for this person: {text_of(error, 'code', f'{where}.error')}: "
                               f"{text_of(error, 'detail', f'{where}.error')}",
                               agency_id=self.instance.agency_id, operation="inquire_batch", request_id=request_id)
        try:
            assets = self._assets(entry, person_id, where)
        except _ForeignAssets:
            raise  # another person's assets under this person's answer: the whole batch is untrustworthy
        except Malformed as exc:
            return AgencyAnswerMalformed(f"the record for this person does not follow the contract: {exc}",
                                         agency_id=self.instance.agency_id, operation="inquire_batch",
                                         request_id=request_id)  # that person alone, not the batch
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
            ack = as_object(document, "acknowledgement")
            order_id = text_of(ack, "orderId", "acknowledgement")
            if order_id != order.order_id:
                raise Malformed(f"acknowledgement is for order {order_id!r}, not {order.order_id!r}")
            reason = text_of(ack, "reason", "acknowledgement") if "reason" in ack else ""
            return Acknowledgement(
                order_id=order_id,
                agency_id=self.instance.agency_id,
                case_id=order.case_id,
                asset_ref=order.asset_ref,
                status=choice_of(ack, "status", "acknowledgement", AckStatus),
                acknowledged_amount_rial=integer_of(ack, "acknowledgedAmountRial", "acknowledgement"),
                frozen_total_rial=integer_of(ack, "frozenTotalRial", "acknowledgement"),
                acknowledged_at=moment_of(ack, "acknowledgedAt", "acknowledgement"),
                reason=reason,
            )
        except Malformed as exc:
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
        context: AgencyCallSite = {"agency_id": self.instance.agency_id, "operation": name, "request_id": request_id}
        headers = {REQUEST_ID_HEADER: request_id, "Accept": "application/json", **self._authorization}
        # the bytes sent are the bytes the message log keeps: the body is encoded here, not inside httpx
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode() if body is not None else b""
        if body is not None:
            headers["Content-Type"] = "application/json"
        sent_at = clock.now()
        with message_hook.call_site(self.instance.agency_id, name, request_id):
            try:
                with self._http.stream(operation.method, self.instance.endpoint + path, headers=headers,
                                       content=payload if body is not None else None) as response:
                    content = self._bounded_read(response, context)
            except (httpx.TransportError, httpx.DecodingError, AgencyError) as exc:
                message_hook.record(_request_line(operation.method, path, payload), None, sent_at=sent_at,
                                    error=f"{type(exc).__name__}: {exc}"[:500])
                raise self._call_failed(exc, context) from exc
            message_hook.record(_request_line(operation.method, path, payload), content, sent_at=sent_at,
                                http_status=response.status_code)
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

    @staticmethod
    def _call_failed(exc: Exception, context: AgencyCallSite) -> AgencyError:
        """The ``AgencyError`` for a call that got no readable answer."""
        if isinstance(exc, AgencyError):
            return exc
        if isinstance(exc, httpx.ConnectError) and _certificate_refused(exc):
            return AgencyFault(f"TLS handshake refused: {exc}", **context)  # does not heal on a retry
        if isinstance(exc, httpx.DecodingError):
            return AgencyAnswerMalformed(f"answer cannot be decoded: {exc}", **context)
        return AgencyUnavailable(f"{type(exc).__name__}: {exc}", **context)  # includes every timeout

    def _bounded_read(self, response: httpx.Response, context: AgencyCallSite) -> bytes:
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

    def _malformed(self, exc: Malformed, name: str, request_id: str) -> AgencyAnswerMalformed:
        return AgencyAnswerMalformed(str(exc), agency_id=self.instance.agency_id, operation=name,
                                     request_id=request_id)


def _request_line(method: str, path: str, payload: bytes) -> bytes:
    """What the message log keeps of a REST request: its method and path (a person's id may travel there), then
    the body as sent."""
    return f"{method} {path}\n".encode() + payload


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


__all__ = ["MAX_ANSWER_BYTES", "ROUTES", "RestAgencyClient", "RestOperation", "RestRoutes",
           "declared_batch_size", "tls_context"]
