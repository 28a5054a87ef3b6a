"""Faults a real agency shows, injected into any simulator application, deterministically from a seed.

``with_faults(app, profile, protocol=...)`` wraps a SOAP or REST simulator application. Each request
suffers at most one fault, drawn among the kinds that can apply to it with the rates of its
``FaultProfile``; the draw depends only on the seed, the request (its request or order id, else its
bytes) and how many times that same request was seen before, so a run is reproducible and a retry
gets a fresh draw.

===============  ======================================================================================
fault            what the hub sees
===============  ======================================================================================
latency          the answer comes late (uniform in ``latency_s``)
timeout          nothing before ``hold_s`` (longer than the client's timeout), then HTTP 504
server_error     HTTP 503
soap_fault       a ``soap:Server`` fault with HTTP 500 (SOAP agencies only)
malformed        HTTP 200 with half a body: XML or JSON that does not parse
contract_breach  a readable answer with one asset breaking its data contract (broken IBAN check digits,
                 a negative balance or value, a share above 100 %, a plate without its dash, a symbol
                 in lower case, a negative quantity): the wire parsers accept it, validation quarantines it
duplicate        the same asset twice in one answer (validation keeps the first, quarantines the repeat)
unknown_enum     an enum field (account kind, acknowledgement status) with a value outside the contract;
                 the hub's readers cannot map it to a domain value and reject the answer as malformed
late_ack         an order is applied, but its acknowledgement comes after ``hold_s`` (the hub times out;
                 a resend with the same order id gets the stored acknowledgement at once)
partial_ack      a freeze blocks only part of the amount asked (the balance is lower) and says ``partial``
backlog          an order is not taken now: HTTP 503 (the agency's order desk is behind), every delivery
                 while the fault lasts; inquiries are answered. The hub resends it each cycle, and the
                 acknowledgement that finally comes is late by the days the backlog lasted
===============  ======================================================================================

``late_ack`` and ``partial_ack`` apply to the first delivery of an order only. Every fault applied is
appended to ``FaultyApplication.journal`` (which asset was corrupted, for whom), so tests can tell a
deliberately corrupted asset from a lost one. ``everywhere(instances, share)`` builds per-instance
profiles with a realistic mix of faults adding up to ``share`` of requests.
"""

from __future__ import annotations

import copy
import hashlib
import json
import random
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from lxml import etree

from connectors.wire import SOAP_ENV_NS, XML_CONTENT_TYPE
from connectors.xml_safety import UnsafeXml, parse_untrusted
from estelam.core.domain import AgencyInstance, Protocol
from simulators.answer_records import (
    BREACHES,
    OWNER_FIELDS,
    UNKNOWN_ENUMS,
    JsonRecord,
    Record,
    XmlRecord,
    asset_ref_of,
    owner_of,
)
from simulators.server import Application, Request, Response

#: Added latency when the ``latency`` fault fires: a uniform range, in seconds.
DEFAULT_LATENCY_S = (0.05, 0.25)
#: How long ``timeout`` and ``late_ack`` hold a request: past the registry's default 5 s client timeout.
DEFAULT_HOLD_S = 8.0
#: Share of a freeze a ``partial_ack`` blocks.
PARTIAL_ACK_SHARE = 0.5
#: The realistic mix of ``everywhere``: relative weights of the faults that apply to inquiries;
#: the order-only faults take the weight of the answer-only ones, so orders see the same share.
DEFAULT_MIX: Mapping[str, float] = {
    "latency": 3, "timeout": 2, "server_error": 2, "soap_fault": 1, "malformed": 1,
    "contract_breach": 3, "duplicate": 1, "unknown_enum": 1,
}


class Fault(StrEnum):
    LATENCY = "latency"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    SOAP_FAULT = "soap_fault"
    MALFORMED = "malformed"
    CONTRACT_BREACH = "contract_breach"
    DUPLICATE = "duplicate"
    UNKNOWN_ENUM = "unknown_enum"
    LATE_ACK = "late_ack"
    PARTIAL_ACK = "partial_ack"
    BACKLOG = "backlog"


#: The order of the draw (fixed, so a seed means the same thing in every run).
FAULT_ORDER = tuple(Fault)
#: Faults of an answer's content: they need a successful answer with assets (or an acknowledgement).
ANSWER_FAULTS = frozenset({Fault.CONTRACT_BREACH, Fault.DUPLICATE})
ORDER_FAULTS = frozenset({Fault.LATE_ACK, Fault.PARTIAL_ACK, Fault.BACKLOG})


@dataclass(frozen=True)
class FaultProfile:
    """How one simulated agency misbehaves: the share of requests each fault hits, and its timings."""

    rates: Mapping[Fault, float] = field(default_factory=dict)
    latency_s: tuple[float, float] = DEFAULT_LATENCY_S
    hold_s: float = DEFAULT_HOLD_S
    seed: int = 0

    def __post_init__(self) -> None:
        rates = {Fault(k): float(v) for k, v in self.rates.items()}
        if any(v < 0 for v in rates.values()):
            raise ValueError(f"fault rates must not be negative: {rates}")
        for kinds in (set(FAULT_ORDER) - ORDER_FAULTS, set(FAULT_ORDER) - ANSWER_FAULTS):
            if sum(rates.get(k, 0.0) for k in kinds) > 1.0 + 1e-9:
                raise ValueError(f"fault rates applying to one request add up to more than 1: {rates}")
        low, high = self.latency_s
        if not 0 <= low <= high or self.hold_s < 0:
            raise ValueError(f"invalid timings: latency {self.latency_s}, hold {self.hold_s}")
        object.__setattr__(self, "rates", rates)

    @property
    def total_rate(self) -> float:
        """The share of inquiry requests that suffer a fault (when every fault can apply)."""
        return sum(v for k, v in self.rates.items() if k not in ORDER_FAULTS)


@dataclass(frozen=True)
class InjectedFault:
    """One fault the simulator applied: to which request, and for content faults which asset of whom."""

    fault: Fault
    agency_id: str
    operation: str
    request_id: str | None
    person_id: str | None = None
    asset_ref: str | None = None  # the asset as the agency holds it
    sent_ref: str | None = None  # its reference as the corrupted answer wrote it (a broken IBAN, a plate)
    detail: str = ""


def profile_for(protocol: Protocol, share: float, *, seed: int = 0, latency_s: tuple[float, float] = DEFAULT_LATENCY_S,
                hold_s: float = DEFAULT_HOLD_S, mix: Mapping[str, float] = DEFAULT_MIX) -> FaultProfile:
    """A profile in which ``share`` of inquiries and of orders suffer a fault, spread by ``mix``."""
    weights = {Fault(k): float(v) for k, v in mix.items()}
    if protocol is not Protocol.SOAP:  # a REST agency fails with HTTP statuses, not SOAP faults
        weights[Fault.SERVER_ERROR] = weights.get(Fault.SERVER_ERROR, 0.0) + weights.pop(Fault.SOAP_FAULT, 0.0)
    total = sum(weights.values())
    rates = {k: share * v / total for k, v in weights.items()} if total else {}
    answer_only = sum(rates.get(k, 0.0) for k in ANSWER_FAULTS)
    rates[Fault.LATE_ACK] = answer_only / 2
    rates[Fault.PARTIAL_ACK] = answer_only / 2
    return FaultProfile(rates=rates, latency_s=latency_s, hold_s=hold_s, seed=seed)


def everywhere(instances: Iterable[AgencyInstance], share: float, *, seed: int = 0,
               latency_s: tuple[float, float] = DEFAULT_LATENCY_S,
               hold_s: float = DEFAULT_HOLD_S) -> dict[str, FaultProfile]:
    """Profiles for every instance (agency_id -> profile): ``share`` of requests faulty, a seed per instance."""
    return {
        i.agency_id: profile_for(i.protocol, share, seed=seed ^ zlib.crc32(i.agency_id.encode()),
                                 latency_s=latency_s, hold_s=hold_s)
        for i in instances
    }


# --- the wrapper ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    """What the wrapper learnt about one request before passing it on."""

    operation: str
    request_id: str | None
    is_order: bool
    is_release: bool
    xml: etree._Element | None
    body: dict[str, Any] | None


class FaultyApplication:
    """A simulator application with faults injected by a ``FaultProfile``; see the module docstring."""

    def __init__(self, app: Application, profile: FaultProfile, *, protocol: Protocol, agency_id: str = "") -> None:
        self.app = app
        self.profile = profile
        self.protocol = protocol
        self.agency_id = agency_id
        self.journal: list[InjectedFault] = []
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Stop holding requests: everything held is answered now, nothing new is held."""
        self._stopping.set()

    @property
    def requests(self) -> int:
        """Requests that went through the draw (every request but fetches of the contract)."""
        with self._lock:
            return sum(self._seen.values())

    def faults(self, kind: Fault | None = None) -> list[InjectedFault]:
        """The faults applied so far (of one kind, if given)."""
        with self._lock:
            return [f for f in self.journal if kind is None or f.fault is kind]

    def __call__(self, request: Request) -> Response:
        if self._fetches_contract(request):
            return self.app(request)
        seen = self._read(request)
        # A resend carries the same request or order id, while its bytes may differ (a WS-Security nonce)
        identity = (f"{request.method} {request.path} {seen.operation} {seen.request_id}".encode()
                    if seen.request_id else b"\0".join((request.method.encode(), request.path.encode(), request.body)))
        digest = hashlib.sha256(identity).hexdigest()
        with self._lock:
            occurrence = self._seen[digest]
            self._seen[digest] += 1
        rng = random.Random(f"{self.profile.seed}:{digest}:{occurrence}")
        fault = self._draw(rng, seen, first_delivery=occurrence == 0)
        if fault is None:
            return self.app(request)
        return self._inject(fault, rng, request, seen)

    # --- choosing ---------------------------------------------------------------------------------

    def _fetches_contract(self, request: Request) -> bool:
        if request.method != "GET":
            return False
        return self.protocol is Protocol.SOAP or request.path.endswith((".yaml", ".json", "wsdl"))

    def _draw(self, rng: random.Random, seen: _Seen, *, first_delivery: bool) -> Fault | None:
        applicable = [f for f in FAULT_ORDER if self._applies(f, seen, first_delivery)]
        point = rng.random()
        cumulative = 0.0
        for fault in applicable:
            cumulative += self.profile.rates.get(fault, 0.0)
            if point < cumulative:
                return fault
        return None

    def _applies(self, fault: Fault, seen: _Seen, first_delivery: bool) -> bool:
        if fault is Fault.SOAP_FAULT:
            return self.protocol is Protocol.SOAP
        if fault in ANSWER_FAULTS:
            return not seen.is_order
        if fault is Fault.LATE_ACK:
            return seen.is_order and first_delivery
        if fault is Fault.PARTIAL_ACK:
            return seen.is_order and first_delivery and not seen.is_release
        if fault is Fault.BACKLOG:
            return seen.is_order
        return True

    def _read(self, request: Request) -> _Seen:
        """The operation, request id and kind of a request, read as far as it can be (never failing)."""
        if self.protocol is Protocol.SOAP:
            try:
                root = parse_untrusted(request.body)
            except (UnsafeXml, etree.XMLSyntaxError):
                return _Seen("unreadable", None, False, False, None, None)
            body = root.find(f"{{{SOAP_ENV_NS}}}Body")
            operation = next((c for c in (body if body is not None else []) if isinstance(c.tag, str)), None)
            if operation is None:
                return _Seen("unreadable", None, False, False, root, None)
            record = XmlRecord(operation)
            name = etree.QName(operation).localname
            is_order = record.has("orderId")
            return _Seen(name, record.get("orderId") or record.get("requestId"), is_order,
                         "release" in name.lower(), root, None)
        document: Any = None
        if request.body:
            try:
                document = json.loads(request.body)
            except (UnicodeDecodeError, json.JSONDecodeError):
                document = None
        json_body = document if isinstance(document, dict) else None
        is_order = json_body is not None and "orderId" in json_body
        request_id = (json_body or {}).get("orderId") or request.headers.get("x-request-id") or None
        return _Seen(f"{request.method} {request.path}", request_id, is_order, "release" in request.path.lower(),
                     None, json_body)

    # --- injecting --------------------------------------------------------------------------------

    def _note(self, fault: Fault, seen: _Seen, **details: Any) -> None:
        entry = InjectedFault(fault, self.agency_id, seen.operation, seen.request_id, **details)
        with self._lock:
            self.journal.append(entry)

    def _hold(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _inject(self, fault: Fault, rng: random.Random, request: Request, seen: _Seen) -> Response:
        if fault is Fault.LATENCY:
            delay = rng.uniform(*self.profile.latency_s)
            self._hold(delay)
            self._note(fault, seen, detail=f"{delay:.3f} s")
            return self.app(request)
        if fault is Fault.TIMEOUT:
            self._note(fault, seen, detail=f"held {self.profile.hold_s:g} s")
            self._hold(self.profile.hold_s)
            return Response(504, b"gateway timeout", {"Content-Type": "text/plain"})
        if fault is Fault.SERVER_ERROR:
            self._note(fault, seen)
            return Response(503, b"service unavailable: simulated outage",
                            {"Content-Type": "text/plain", "Retry-After": "1"})
        if fault is Fault.BACKLOG:
            self._note(fault, seen)
            return Response(503, b"orders are not taken now: the order desk is behind",
                            {"Content-Type": "text/plain", "Retry-After": "86400"})
        if fault is Fault.SOAP_FAULT:
            self._note(fault, seen)
            return _soap_server_fault("simulated outage: the agency's back end did not answer")
        if fault is Fault.LATE_ACK:
            response = self.app(request)  # the order is applied now; only its acknowledgement is late
            self._note(fault, seen, detail=f"acknowledged after {self.profile.hold_s:g} s")
            self._hold(self.profile.hold_s)
            return response
        if fault is Fault.PARTIAL_ACK:
            return self._partial(request, seen)
        response = self.app(request)
        if response.status != 200:
            return response  # the agency refused on its own; nothing to corrupt
        if fault is Fault.MALFORMED:
            self._note(fault, seen, detail="body cut in half")
            return replace(response, body=response.body[: len(response.body) // 2])
        return self._corrupt(fault, rng, response, seen)

    def _corrupt(self, fault: Fault, rng: random.Random, response: Response, seen: _Seen) -> Response:
        """Change the content of a good answer: breach, duplicate or unknown enum (when it has something to change)."""
        document, records, serialise = self._records(response)
        if document is None:
            return response
        if fault is Fault.UNKNOWN_ENUM:
            candidates = [(r, name) for r in records for name in UNKNOWN_ENUMS if r.has(name)]
            if not candidates:
                return response
            record, name = candidates[rng.randrange(len(candidates))]
            record.set(name, UNKNOWN_ENUMS[name])
            self._note(fault, seen, person_id=owner_of(record), asset_ref=_asset_ref_or_none(record),
                       detail=f"{name} = {UNKNOWN_ENUMS[name]!r}")
            return replace(response, body=serialise())
        assets = [r for r in records if owner_of(r) is not None]
        if not assets:
            return response
        chosen = assets[rng.randrange(len(assets))]
        person_id, ref = owner_of(chosen), asset_ref_of(chosen)
        if fault is Fault.DUPLICATE:
            if not _duplicate(chosen):
                return response
            self._note(fault, seen, person_id=person_id, asset_ref=ref, detail="asset sent twice")
            return replace(response, body=serialise())
        breaches = [b for b in BREACHES if chosen.has(b[0]) and (b[1] is None or not chosen.has(b[1]))]
        name, _, change, what = breaches[rng.randrange(len(breaches))]
        chosen.set(name, change(chosen))
        self._note(fault, seen, person_id=person_id, asset_ref=ref, sent_ref=asset_ref_of(chosen), detail=what)
        return replace(response, body=serialise())

    def _records(self, response: Response) -> tuple[Any, list[Record], Callable[[], bytes]]:
        """The answer's document, its records (assets, acknowledgements) and how to write it back."""
        if self.protocol is Protocol.SOAP:
            try:
                root = etree.fromstring(response.body)  # the simulator's own answer: trusted
            except etree.XMLSyntaxError:
                return None, [], lambda: response.body
            elements = [e for e in root.iter() if isinstance(e.tag, str)
                        and any(XmlRecord(e).has(f) for f in (*OWNER_FIELDS, *UNKNOWN_ENUMS))]
            return root, [XmlRecord(e) for e in elements], lambda: etree.tostring(
                root, xml_declaration=True, encoding="utf-8")
        try:
            document = json.loads(response.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None, [], lambda: response.body
        records: list[Record] = []

        def walk(node: Any, siblings: list[Any] | None) -> None:
            if isinstance(node, dict):
                if any(k in node for k in (*OWNER_FIELDS, *UNKNOWN_ENUMS)):
                    records.append(JsonRecord(node, siblings))
                for value in node.values():
                    walk(value, None)
            elif isinstance(node, list):
                for item in node:
                    walk(item, node)

        walk(document, None)
        return document, records, lambda: json.dumps(document, ensure_ascii=False).encode("utf-8")

    def _partial(self, request: Request, seen: _Seen) -> Response:
        """Block only part of a freeze, as a bank does when the balance is lower than asked."""
        if seen.xml is not None:
            orders = [e for e in seen.xml.iter() if isinstance(e.tag, str) and XmlRecord(e).has("amountRial")]
            if not orders:
                return self.app(request)
            order: Record = XmlRecord(orders[0])
            asked = order.number("amountRial")
            order.set("amountRial", max(int(asked * PARTIAL_ACK_SHARE), 1))
            body = etree.tostring(seen.xml, xml_declaration=True, encoding="utf-8")
        elif seen.body is not None and isinstance(seen.body.get("amountRial"), int):
            asked = seen.body["amountRial"]
            changed = dict(seen.body, amountRial=max(int(asked * PARTIAL_ACK_SHARE), 1))
            body = json.dumps(changed, ensure_ascii=False).encode("utf-8")
        else:
            return self.app(request)
        response = self.app(replace(request, body=body))
        if response.status != 200:
            return response
        document, records, serialise = self._records(response)
        acks = [r for r in records if r.has("status") and r.has("acknowledgedAmountRial")]
        if document is None or not acks or acks[0].get("status") != "done":
            return response
        blocked = acks[0].number("acknowledgedAmountRial")
        acks[0].set("status", "partial")
        acks[0].set("reason", f"only {blocked} rials available: the balance is lower than asked")
        self._note(Fault.PARTIAL_ACK, seen, detail=f"blocked {blocked} of {asked} rials")
        return replace(response, body=serialise())


def _asset_ref_or_none(record: Record) -> str | None:
    return asset_ref_of(record) if owner_of(record) is not None else None


def _duplicate(record: Record) -> bool:
    """Send the record twice, right after itself; False when it is not in a list."""
    if isinstance(record, XmlRecord):
        record.element.addnext(copy.deepcopy(record.element))
        return True
    assert isinstance(record, JsonRecord)
    if record.siblings is None:
        return False
    at = next(i for i, item in enumerate(record.siblings) if item is record.document)
    record.siblings.insert(at + 1, copy.deepcopy(record.document))
    return True


def _soap_server_fault(message: str) -> Response:
    fault = etree.Element(f"{{{SOAP_ENV_NS}}}Fault", nsmap={"soap": SOAP_ENV_NS})
    etree.SubElement(fault, "faultcode").text = "soap:Server"
    etree.SubElement(fault, "faultstring").text = message
    envelope = etree.Element(f"{{{SOAP_ENV_NS}}}Envelope", nsmap={"soap": SOAP_ENV_NS})
    etree.SubElement(envelope, f"{{{SOAP_ENV_NS}}}Body").append(fault)
    return Response(500, etree.tostring(envelope, xml_declaration=True, encoding="utf-8"),
                    {"Content-Type": XML_CONTENT_TYPE})


def with_faults(app: Application, profile: FaultProfile | None, *, protocol: Protocol,
                agency_id: str = "") -> Application:
    """``app`` with ``profile``'s faults injected (``app`` itself when there is no profile)."""
    if profile is None:
        return app
    return FaultyApplication(app, profile, protocol=protocol, agency_id=agency_id)


__all__ = [
    "DEFAULT_HOLD_S",
    "DEFAULT_LATENCY_S",
    "Fault",
    "FaultProfile",
    "FaultyApplication",
    "InjectedFault",
    "everywhere",
    "profile_for",
    "with_faults",
]
