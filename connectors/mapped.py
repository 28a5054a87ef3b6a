"""The generic agency client: any kind declared by a mapping file (``contracts/kinds/<kind>.yaml``), over SOAP or REST.

Nothing here knows a kind. The mapping names the single (and batch) inquiry operation of the kind's interface
file, how each request field is filled from the person asked, where the records are in the answer, how each feed
column is read from a record, how the agency says "unknown person" or "refused", and how it pages. The wire —
sending, WS-Security or the bearer token, TLS, the answer size limit, the message log, and the mapping of every
failure to the exception tree — is the SOAP and REST clients' own (``connectors.soap``, ``connectors.rest``).

Records come back as :class:`estelam.core.domain.FeedRecord` (the feed's columns, typed as its contract says);
a record that does not cast is that person's ``AgencyAnswerMalformed``, never landed half-read. A mapped kind holds
the orders its mapping's ``orders`` section declares (freeze, release, transfer, payout, cancel): the request filled
from the order (a composed asset reference split into its parts, a cancel's withdrawn order id, a freeze's
restriction type, a payout's creditor IBAN), the acknowledgement read from the paths the mapping names; an order
kind it does not declare raises ``OperationNotInContract`` and sends nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from connectors.base import BatchAnswers
from connectors.batch_answers import BatchMismatch, match_answers, unsendable, wire_ids
from connectors.credentials import FROM_REGISTRY, Credentials, FromRegistry, resolve_credentials
from connectors.json_answers import Malformed
from connectors.rest import MAX_ANSWER_BYTES, RestAgencyClient, RestOperation
from connectors.soap import SoapWire, _Unreadable
from connectors.xml_safety import MAX_DOCUMENT_BYTES
from estelam.core import clock
from estelam.core.domain import (
    Acknowledgement,
    AckStatus,
    AgencyInstance,
    FeedRecord,
    FreezeOrder,
    InquiryAnswer,
    OrderKind,
    Protocol,
)
from estelam.core.exceptions import AgencyAnswerMalformed, AgencyError, AgencyFault, OperationNotInContract
from estelam.core.identifiers import latin_digits
from estelam.core.kinds import (
    ASSET_REF_SEPARATOR,
    Interface,
    KindMapping,
    Operation,
    cast,
    feed_column_types,
    load_interface,
    mapping_at,
    order_fields,
    read_columns,
    request_fields,
    restriction_of,
    value_at,
    values_at,
)

#: Pages of one inquiry the client follows at most (an agency that never stops paging is malformed).
MAX_PAGES = 50
#: Persons per call when the kind has no batch operation: one, through the single inquiry.
SINGLE = 1


class _SoapWire(SoapWire):
    """The SOAP client's wire alone (no operation table): sends one operation, reads its response element."""

    def send(self, operation: Operation, fields: Mapping[str, Any], request_id: str) -> Any:
        with self._agency_call(operation.name, request_id):
            return self._call(operation.name, **fields)

    @contextmanager
    def reading(self, operation: str, request_id: str) -> Iterator[None]:
        with self._agency_call(operation, request_id):
            try:
                yield
            except (Malformed, ValueError, TypeError, KeyError) as exc:
                raise _Unreadable(str(exc)) from exc


class _RestWire(RestAgencyClient):
    """The REST client's wire alone (no route table): sends one operation of the OpenAPI file, decodes its JSON."""

    def send(self, operation: Operation, fields: Mapping[str, Any], request_id: str) -> Any:
        path = operation.path
        for name in operation.in_path:
            path = path.replace("{" + name + "}", quote(str(fields.get(name, "")), safe=""))
        query = {n: fields[n] for n in operation.in_query if fields.get(n) is not None}
        if query:
            path = f"{path}?{urlencode(query)}"
        body = {n: v for n, v in fields.items() if n not in operation.in_path and n not in operation.in_query}
        return self._send(operation.name, RestOperation(operation.method, operation.path, operation.name), path,
                          request_id, body if operation.method != "GET" else None)

    @contextmanager
    def reading(self, operation: str, request_id: str) -> Iterator[None]:
        try:
            yield
        except (Malformed, ValueError, TypeError, KeyError) as exc:
            raise AgencyAnswerMalformed(str(exc), agency_id=self.instance.agency_id, operation=operation,
                                        request_id=request_id) from exc


class MappedAgencyClient:
    """An ``AgencyClient`` for an instance of a kind declared by a mapping."""

    #: Its wires' pools bound every socket operation by the reply deadline of the call (``connectors.agency_http``):
    #: ``ResilientClient`` runs its attempts in the caller's thread.
    keeps_reply_deadline = True

    def __init__(self, instance: AgencyInstance, mapping: KindMapping, column_types: Mapping[str, str], *,
                 credentials: Credentials | FromRegistry | None = FROM_REGISTRY,
                 interface: Interface | None = None) -> None:
        self.instance = instance
        self.mapping = mapping
        self._types = dict(column_types)
        self._interface = interface or load_interface(mapping.interface, mapping.protocol, mapping.binding)
        if isinstance(credentials, FromRegistry):
            credentials = resolve_credentials(instance)
        self._wire: _SoapWire | _RestWire
        if mapping.protocol is Protocol.SOAP:
            self._wire = _SoapWire(instance, self._interface.binding or "", credentials=credentials,
                                   max_answer_bytes=MAX_DOCUMENT_BYTES)
        else:
            self._wire = _RestWire(instance, credentials=credentials, max_answer_bytes=MAX_ANSWER_BYTES)
        self.order_kinds: frozenset[OrderKind] = frozenset(OrderKind(k) for k in mapping.orders)
        self.max_batch_size = self._batch_limit()

    def _batch_limit(self) -> int:
        batch = self.mapping.batch
        if batch is None:
            return SINGLE
        operation = self._interface.operations[batch.operation]
        for name, source in batch.request.items():
            if source == "$person_ids":
                node = operation.request.children[name]
                limit = _declared_limit(self._interface, operation, name)
                return limit if limit is not None else (100 if node.repeated else SINGLE)
        return SINGLE

    # --- inquiries ---------------------------------------------------------------------------------

    def inquire(self, person_id: str, request_id: str) -> InquiryAnswer:
        """Ask what ``person_id``'s records at this agency are (following pages, if the kind pages)."""
        inquiry = self.mapping.inquiry
        operation = self._interface.operations[inquiry.operation]
        wire_id = latin_digits(person_id)
        records: list[FeedRecord] = []
        answered_at: datetime | None = None
        page: int | None = 1 if inquiry.paging else None
        for _ in range(MAX_PAGES):
            fields = request_fields(inquiry.request, person_id=wire_id, request_id=request_id, page=page)
            if inquiry.paging:
                fields[inquiry.paging.request] = page
            answer = self._wire.send(operation, fields, request_id)
            with self._wire.reading(operation.name, request_id):
                answered_at = answered_at or self._moment(answer, inquiry.answered_at)
                if self._unknown(answer):
                    return InquiryAnswer(self.instance.agency_id, person_id, request_id, (),
                                         answered_at or clock.now())
                records.extend(self._records(answer, inquiry.records, person_id))
                following = value_at(answer, inquiry.paging.next) if inquiry.paging else None
            if following is None:
                break
            page = int(following)
        else:
            raise AgencyAnswerMalformed(f"more than {MAX_PAGES} pages", agency_id=self.instance.agency_id,
                                        operation=operation.name, request_id=request_id)
        return InquiryAnswer(self.instance.agency_id, person_id, request_id, tuple(records),
                             answered_at or clock.now())

    def inquire_batch(self, person_ids: Sequence[str], request_id: str) -> BatchAnswers:
        """Ask about up to ``max_batch_size`` persons; see ``AgencyClient.inquire_batch``. A kind without a batch
        operation is asked person by person through its single inquiry."""
        batch = self.mapping.batch
        name = batch.operation if batch else self.mapping.inquiry.operation
        asked = wire_ids(person_ids)
        refused = unsendable(person_ids, agency_id=self.instance.agency_id, operation=name, request_id=request_id)
        if not asked:
            return dict(refused)
        if len(asked) > self.max_batch_size:
            raise AgencyError(f"{len(asked)} persons exceed the contract's batch limit of {self.max_batch_size}",
                              agency_id=self.instance.agency_id, operation=name, request_id=request_id)
        if batch is None:
            answered: dict[str, InquiryAnswer | AgencyError] = {}
            for person_id in person_ids:
                if person_id not in refused:
                    answered[person_id] = self.inquire(person_id, request_id)
            return {p: refused[p] if p in refused else answered[p] for p in person_ids}
        operation = self._interface.operations[batch.operation]
        answer = self._wire.send(operation, request_fields(batch.request, person_ids=asked, request_id=request_id),
                                 request_id)
        with self._wire.reading(operation.name, request_id):
            if batch.request_id and str(value_at(answer, batch.request_id)) != request_id:
                raise ValueError(f"answers request {value_at(answer, batch.request_id)!r} instead")
            responded_at = self._moment(answer, batch.answered_at) or clock.now()
            entries = values_at(answer, batch.persons)
            try:
                by_person = match_answers(person_ids, ((str(value_at(e, batch.person_id)), e) for e in entries))
            except BatchMismatch as exc:
                raise ValueError(str(exc)) from exc
            results = {p: self._entry(p, e, request_id, responded_at, operation.name) for p, e in by_person.items()}
        return {p: refused[p] if p in refused else results[p] for p in person_ids}

    def _entry(self, person_id: str, entry: Any, request_id: str, responded_at: datetime,
               operation: str) -> InquiryAnswer | AgencyError:
        batch = self.mapping.batch
        assert batch is not None
        where: dict[str, Any] = {"agency_id": self.instance.agency_id, "operation": operation,
                                 "request_id": request_id}
        if batch.refused and value_at(entry, batch.refused.path) is not None:
            return AgencyFault(f"refused for this person: {value_at(entry, batch.refused.code)}: "
                               f"{value_at(entry, batch.refused.message)}", **where)
        try:
            records = self._records(entry, batch.records, person_id)
        except _Foreign:
            raise
        except ValueError as exc:  # this person's record breaks the contract: that person alone
            return AgencyAnswerMalformed(f"the record for this person does not follow the contract: {exc}", **where)
        return InquiryAnswer(self.instance.agency_id, person_id, request_id, tuple(records), responded_at)

    def _records(self, answer: Any, dotted: str, person_id: str) -> list[FeedRecord]:
        rows = []
        for record in values_at(answer, dotted):
            values = read_columns(self.mapping, record, latin_digits(person_id), self._types)
            about = values.get("person_id")
            if about is not None:
                values["person_id"] = latin_digits(str(about))
                if values["person_id"] != latin_digits(person_id):  # never land a record under the wrong person
                    raise _Foreign(f"the answer for {person_id} includes a record of {values['person_id']}")
            rows.append(FeedRecord(latin_digits(person_id), _latin_references(self.mapping, values)))
        return rows

    def _unknown(self, answer: Any) -> bool:
        rule = self.mapping.inquiry.unknown_person
        if rule is None:
            return False
        found = value_at(answer, rule.path)
        if isinstance(rule.equals, bool) and not isinstance(found, bool) and found is not None:
            found = cast(found, "bool")
        return bool(found == rule.equals)

    @staticmethod
    def _moment(answer: Any, dotted: str | None) -> datetime | None:
        if not dotted:
            return None
        value = value_at(answer, dotted)
        if value is None:
            return None
        if not isinstance(value, datetime):  # a date alone (as VIES writes requestDate) is midnight UTC
            text = str(value)
            value = datetime.fromisoformat(text if "T" in text else f"{text[:10]}T00:00:00+00:00")
        return cast(value, "timestamp")  # type: ignore[no-any-return]

    # --- orders: the operations the mapping's ``orders`` section declares ----------------------------

    def _order(self, order: FreezeOrder, kind: OrderKind) -> Acknowledgement:
        """Send ``order`` through the mapping's operation for ``kind`` and read the acknowledgement as it says."""
        if order.kind is not kind:  # a caller's mistake: nothing is sent
            raise ValueError(f"order {order.order_id} is a {order.kind} order, not a {kind} order")
        spec = self.mapping.orders.get(str(kind))
        if spec is None:
            raise OperationNotInContract(
                f"this agency's mapping ({self.mapping.source.name}) has no {kind} operation",
                agency_id=self.instance.agency_id, operation=str(kind), request_id=order.order_id)
        operation = self._interface.operations[spec.operation]
        assets = self.mapping.assets
        parts = assets.asset_ref_parts if assets is not None else ()
        separator = assets.asset_ref_separator if assets is not None else ASSET_REF_SEPARATOR
        try:
            fields = order_fields(spec, order_id=order.order_id, case_id=order.case_id, asset_ref=order.asset_ref,
                                  amount_rial=order.amount_rial, issued_at=order.issued_at,
                                  agency_id=self.instance.agency_id, cancels=order.cancels, asset_ref_parts=parts,
                                  separator=separator, restriction=_restriction(order, kind, self.mapping))
        except ValueError as exc:  # the order cannot be said in this agency's terms; nothing is sent
            raise AgencyError(str(exc), agency_id=self.instance.agency_id, operation=str(kind),
                              request_id=order.order_id) from exc
        answer = self._wire.send(operation, fields, order.order_id)
        with self._wire.reading(operation.name, order.order_id):
            if spec.order_id and str(value_at(answer, spec.order_id)) != order.order_id:
                raise ValueError(f"acknowledges order {value_at(answer, spec.order_id)!r}, not {order.order_id!r}")
            said = value_at(answer, spec.status)
            status = spec.statuses.get(cast(said, "string"))
            if status is None:
                raise ValueError(f"{spec.status}: {said!r} is not a status the mapping knows "
                                 f"({sorted(spec.statuses)})")
            reason = value_at(answer, spec.reason) if spec.reason else None
            return Acknowledgement(
                order_id=order.order_id,
                agency_id=self.instance.agency_id,
                case_id=order.case_id,
                asset_ref=order.asset_ref,
                status=AckStatus(status),
                acknowledged_amount_rial=_amount(answer, spec.amount),
                frozen_total_rial=_amount(answer, spec.frozen_total),
                acknowledged_at=self._moment(answer, spec.acknowledged_at) or clock.now(),
                reason="" if reason is None else str(reason),
            )

    def freeze(self, order: FreezeOrder) -> Acknowledgement:
        return self._order(order, OrderKind.FREEZE)

    def release(self, order: FreezeOrder) -> Acknowledgement:
        return self._order(order, OrderKind.RELEASE)

    def transfer(self, order: FreezeOrder) -> Acknowledgement:
        return self._order(order, OrderKind.TRANSFER)

    def pay_out(self, order: FreezeOrder) -> Acknowledgement:
        return self._order(order, OrderKind.PAYOUT)  # without orders.payout: OperationNotInContract

    def cancel(self, order: FreezeOrder) -> Acknowledgement:
        return self._order(order, OrderKind.CANCEL)  # without orders.cancel: OperationNotInContract

    def close(self) -> None:
        self._wire.close()


def _latin_references(mapping: KindMapping, values: dict[str, Any]) -> dict[str, Any]:
    """An asset's reference is an identifier: its text columns with Latin digits, whatever script the agency wrote
    them in (a plate ``۱۲ب۳۴۵-۶۷`` is ordered as ``12ب345-67``)."""
    if mapping.assets is not None:
        for column in mapping.assets.ref_columns:
            if isinstance(values.get(column), str):
                values[column] = latin_digits(values[column])
    return values


def _restriction(order: FreezeOrder, kind: OrderKind, mapping: KindMapping) -> str | None:
    """The restriction type a freeze carries (``$restriction``): the order's, else the mapping's default (None for
    other orders and for kinds without ``contributes.assets.restrictions``)."""
    if kind is not OrderKind.FREEZE:
        return None
    asked = str(order.restriction_type) if order.restriction_type else None
    return restriction_of(mapping.assets, asked)


def _amount(answer: Any, dotted: str) -> int:
    value = value_at(answer, dotted)
    if value is None:
        raise ValueError(f"{dotted}: missing")
    amount = cast(value, "int64")
    if amount < 0:
        raise ValueError(f"{dotted}: {amount} is negative")
    return int(amount)


class _Foreign(ValueError):
    """A record of another person under the person asked: the whole answer is untrustworthy."""


@lru_cache(maxsize=64)
def _openapi_document(path: Path, mtime_ns: int) -> Any:
    """The OpenAPI file, parsed once per process and version (every client reads its batch limit from it)."""
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _declared_limit(interface: Interface, operation: Operation, field_name: str) -> int | None:
    """The batch field's declared limit: ``maxOccurs`` (WSDL) or ``maxItems`` (OpenAPI)."""
    if interface.protocol is Protocol.SOAP:
        from estelam.core.kinds import soap_document

        document = soap_document(interface.path)
        binding = document.bindings[interface.binding]
        element = binding._operations[operation.name].input.body
        for name, child in element.type.elements:
            if name == field_name and isinstance(child.max_occurs, int):
                return int(child.max_occurs)
        return None
    document = _openapi_document(interface.path, interface.path.stat().st_mtime_ns)
    try:
        schema = (document["paths"][operation.path][operation.method.lower()]["requestBody"]["content"]
                  ["application/json"]["schema"])
        while "$ref" in schema:
            target: Any = document
            for part in schema["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            schema = target
        return int(schema["properties"][field_name]["maxItems"])
    except (KeyError, TypeError, ValueError):
        return None


def mapped_client(instance: AgencyInstance, *,
                  credentials: Credentials | FromRegistry | None = FROM_REGISTRY) -> MappedAgencyClient:
    """The client of an instance whose kind is declared by a mapping (``instance.mapping_file``)."""
    if not instance.mapping_file:
        raise ValueError(f"{instance.agency_id}: kind {instance.kind} is not declared by a mapping")
    mapping = mapping_at(Path(instance.mapping_file))
    return MappedAgencyClient(instance, mapping, feed_column_types(mapping), credentials=credentials)


__all__ = ["MAX_PAGES", "MappedAgencyClient", "mapped_client"]
