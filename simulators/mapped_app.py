"""Simulated agencies of the kinds declared by mapping files, generated from the interface file, the mapping and the
kind's world data (``simulators/world_data/<kind>.yaml``; a jurisdiction's world reads ``<kind>.<jurisdiction>.yaml``
when there is one: a jurisdiction's own codes, prices and minor unit). Nothing here knows a kind.

The world data says which persons the agency knows and how each feed column of their records is drawn::

    kind: population_register
    known_share: 0.97            # persons the agency has records of; the others are "unknown person"
                                 # (or by person kind: {natural: 0.3, legal: 0.5})
    holders_only: false          # true: a person the world draws as owning nothing anywhere is unknown here
    records: [1, 1]              # records per known person (at least, at most)
    columns:                     # feed column -> how it is drawn
      full_name: {person: name}                          # the person's name, as this agency spells it (the
                                                         #   world's spelling: Persian habits, Saudi ones)
      vital_status: {choice: [alive, deceased], weights: [96, 4]}
      death_date: {date: ["2010-01-01", "2026-10-01"], only_if: {vital_status: deceased}}
      monthly_salary_rial: {int: [120000000, 900000000], step: 1000000}
      balance_rial: {int: [1000000, 30000000000], step: 10000, log: true}   # log-uniform: as many per decade
      protected_rial: {fraction_of: monthly_salary_rial, share: 0.75}
      value_rial: {product_of: [quantity, unit_price_rial]}   # integer columns drawn before it, multiplied
      symbol: {choice: [IKCO1, FOLD1], unique: true}         # unique: no two of the person's records share it
      postal_code: {digits: 10}
      address: {template: "{city}، {street}", city: [تهران, اصفهان], street: [خیابان آزادی, خیابان انقلاب]}
      plate: {template: ["{n} {a}", "{n} {l}"], weights: [9, 1], n: [1, 9999], a: [ا, ب], l: [A, B]}
                                                         # one of several templates, by their weights
      iban: {template: "{bank}{n}", bank: [IR01], n: [1, 99], dirty: {bank: [XX01]}}
                                                         # dirty: parts drawn instead for the world's dirty_share
                                                         #   of records (a registry's own wrong records)
      known_ids: {person: id}
      note: {value: text}
      iban: {iban: bank_code}     # an IBAN of the world's form at the agency's bank code (agencies.yaml
                                  #   iban_bank_code), its check digits broken in the world's dirty share

Each person's records come from their own random stream (the world's seed, the kind, the person), so answers are
the same on every call and no index is built: the simulators answer as fast as the built-in ones.

The answer is the mapping read backwards: each column's value goes to its path in a record, the records to the
records path, "unknown person" to its path, request fields the answer repeats (``requestId``, VIES's
``countryCode``) are echoed, ``answered_at`` is now, and any other required element gets a neutral value of its
type. SOAP requests are checked against the WSDL's inline schema; REST requests against the OpenAPI file (by
``simulators.rest_app``, which serves them).

The orders of the mapping's ``orders`` section are the mapping read backwards too: the order is read from the
request (a composed asset reference joined from its parts, a freeze's restriction type), applied to the agency's ledger
(``simulators.agency_state``: blocks, releases, cancels, idempotent order ids) over the assets the world's records
make (``contributes.assets``: reference, value, ``protected_when``), and the acknowledgement written at the
mapping's paths, the hub's status as the first agency value the mapping's ``statuses`` maps to it.
"""

from __future__ import annotations

import copy
import functools
import math
import random
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

from connectors.credentials import Credentials
from connectors.wire import AUTHENTICATION_FAULT, FAULT_CLIENT, SOAP_ENV_NS, XML_CONTENT_TYPE
from connectors.xml_safety import UnsafeXml, parse_untrusted
from estelam.core import clock
from estelam.core.domain import FreezeOrder, OrderKind, PersonKind, Protocol, RestrictionType
from estelam.core.exceptions import ContractError
from estelam.core.identifiers import is_person_id, latin_digits
from estelam.core.kinds import (
    ASSET_REF_PART,
    RESTRICTION_SOURCE,
    AssetContribution,
    Interface,
    KindMapping,
    Node,
    Operation,
    OrderOperation,
    join_asset_ref,
    load_interface,
)
from estelam.freeze.planner import INDIVISIBLE_KINDS
from simulators.agency_state import AgencyState, MappedAsset
from simulators.rest_app import Handler, _Call, _json, problem, rest_application
from simulators.server import Application, Request, Response
from simulators.world import World, spelling_of
from simulators.ws_security import AuthenticationFailed, UsernameTokenCheck

#: Where the world data of the mapped kinds lives.
WORLD_DATA_DIR = Path(__file__).resolve().parent / "world_data"
#: Records per page when the kind pages.
PAGE_SIZE = 2
#: Draws of one record before it is left out because its ``unique`` columns repeat an earlier record's.
UNIQUE_ATTEMPTS = 8
#: A refused person's code in a batch answer.
INVALID_PERSON_ID = "invalid_person_id"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
SOAP_PATH = "/soap"
#: A WSDL's soap:address; replaced by the simulator's own address (the agency's configured endpoint) when served.
PLACEHOLDER_ADDRESS = b"http://agency.invalid/soap"
#: A fault shows at most this many schema errors, each cut to ERROR_TEXT_LIMIT characters: a huge invalid request
#: must not become a huge fault (nor the memory to build it).
MAX_REPORTED_ERRORS = 5
ERROR_TEXT_LIMIT = 200

Drawn = dict[str, Any]


# --- the world's records of a mapped kind --------------------------------------------------------------


@dataclass(frozen=True)
class KindWorld:
    """How the world's records of one mapped kind are drawn (``world_data/<kind>.yaml``)."""

    kind: str
    known_share: Mapping[str, float]  # person kind (natural, legal) -> share of them the agency knows
    records: tuple[int, int]
    columns: Mapping[str, Mapping[str, Any]]
    source: Path
    holders_only: bool = False


def load_kind_world(path: Path) -> KindWorld:
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        low, high = (int(n) for n in spec.get("records", [1, 1]))
        share = spec.get("known_share", 1.0)
        shares = ({str(k): float(share[str(k)]) for k in PersonKind} if isinstance(share, dict)
                  else dict.fromkeys((str(k) for k in PersonKind), float(share)))
        return KindWorld(str(spec["kind"]), shares, (low, high), dict(spec.get("columns") or {}), path,
                         bool(spec.get("holders_only", False)))
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
        raise ContractError(f"{path}: not valid world data: {exc}") from exc


@cache
def kind_world(kind: str, folder: Path = WORLD_DATA_DIR, jurisdiction: str | None = None) -> KindWorld:
    """The world data of ``kind``: the jurisdiction's own (``<kind>.<jurisdiction>.yaml``) when there is one, else
    the kind's (``<kind>.yaml``)."""
    path = folder / f"{kind}.yaml"
    own = folder / f"{kind}.{jurisdiction}.yaml" if jurisdiction else None
    if own is not None and own.is_file():
        path = own
    if not path.is_file():
        raise ContractError(f"kind {kind!r} has no world data at {path}")
    return load_kind_world(path)


def _draw(spec: Mapping[str, Any], rng: random.Random, row: Drawn, person: Any, agency_id: str, world: World) -> Any:
    only_if = spec.get("only_if")
    if only_if and any(row.get(k) != v for k, v in only_if.items()):
        return None
    if "value" in spec:
        return spec["value"]
    if "person" in spec:
        what = spec["person"]
        if what == "name":
            return world.spell_name(person.name, agency_id)
        if what == "id":
            return person.person_id
        return str(getattr(person, str(what)))
    if "choice" in spec:
        options = list(spec["choice"])
        return rng.choices(options, weights=spec.get("weights") or [1] * len(options))[0]
    if "int" in spec:
        low, high = (int(n) for n in spec["int"])
        step = int(spec.get("step", 1))
        if spec.get("log"):
            return _log_uniform(rng, low, high, step)
        return rng.randrange(low, high + 1, step)
    if "date" in spec:
        start, end = (date.fromisoformat(str(d)) for d in spec["date"])
        return start + timedelta(days=rng.randrange((end - start).days + 1))
    if "digits" in spec:
        return "".join(rng.choice("0123456789") for _ in range(int(spec["digits"])))
    if "product_of" in spec:
        factors: list[Any] = [row.get(str(column)) for column in spec["product_of"]]
        if any(f is None for f in factors):
            return None
        product = 1
        for factor in factors:
            product *= int(factor)
        return product
    if "fraction_of" in spec:
        base = row.get(str(spec["fraction_of"]))
        return None if base is None else int(int(base) * float(spec["share"]))
    if "iban" in spec:
        return world.iban_at(rng, agency_id, person.person_id)
    if "template" in spec:  # each named part: a [low, high] pair of integers draws a number, a list a choice
        parts = {k: _part(v, rng) for k, v in spec.items() if k not in ("template", "weights") and isinstance(v, list)}
        wrong = spec.get("dirty")
        if isinstance(wrong, Mapping) and world.keeps_wrongly(rng, agency_id, person.person_id):  # kept wrongly
            parts.update({str(k): _part(list(v), rng) for k, v in wrong.items()})
        return _template(spec, rng).format(**parts)
    raise ContractError(f"unknown column generator {dict(spec)!r}")


def _template(spec: Mapping[str, Any], rng: random.Random) -> str:
    """The template: one, or one of a list drawn by its ``weights`` (a plate's usual line, now and then another)."""
    templates = spec["template"]
    if not isinstance(templates, list):
        return str(templates)
    return str(rng.choices(templates, weights=spec.get("weights") or [1] * len(templates))[0])


def _log_uniform(rng: random.Random, low: int, high: int, step: int) -> int:
    """An integer log-uniform between ``low`` and ``high`` (both above 0), rounded down to a multiple of ``step``:
    as many small balances as large ones, decade by decade (``{int: [low, high], step: s, log: true}``)."""
    drawn = int(math.exp(rng.uniform(math.log(low), math.log(high))))
    return max(low, drawn // step * step)


def _part(options: list[Any], rng: random.Random) -> Any:
    if len(options) == 2 and all(isinstance(x, int) for x in options):
        return rng.randint(options[0], options[1])
    return rng.choice(options)


def records_of(world: World, data: KindWorld, agency_id: str, person_id: str) -> list[Drawn] | None:
    """The records ``agency_id`` (of ``data.kind``) has of ``person_id``; None when it does not know the person."""
    person = world.find(person_id)
    if person is None:
        return None
    rng = random.Random(zlib.crc32(f"{world.seed}:{data.kind}:{agency_id}:{person.person_id}".encode()))
    if rng.random() >= data.known_share[str(person.kind)] or (data.holders_only and world.owns_nothing(person_id)):
        return None
    rows: list[Drawn] = []
    unique = [column for column, spec in data.columns.items() if spec.get("unique")]
    for _ in range(rng.randint(*data.records)):
        for _attempt in range(UNIQUE_ATTEMPTS):
            row: Drawn = {"person_id": person.person_id}
            for column, spec in data.columns.items():
                row[column] = _draw(spec, rng, row, person, agency_id, world)
            if not any(row[c] == earlier[c] for c in unique for earlier in rows):
                rows.append(row)
                break  # a record whose unique columns repeat an earlier one is drawn again, then left out
    return rows


# --- the answer: the mapping read backwards ----------------------------------------------------------


def _neutral(leaf: str | None) -> Any:
    now = clock.now()
    return {"int": 0, "number": 0, "bool": False, "date": now.date(), "datetime": now}.get(leaf or "", "")


def _put(target: dict[str, Any], node: Node, dotted: str, value: Any) -> None:
    """Set ``value`` at ``dotted`` below ``target`` (shaped as ``node``), creating records on the way."""
    parts = dotted.split(".")
    here, current = target, node
    for part in parts[:-1]:
        current = current.children[part]
        here = here.setdefault(part, {})
    leaf = current.children[parts[-1]]
    if leaf.repeated and isinstance(value, str):
        value = [v for v in value.split(", ") if v]
    here[parts[-1]] = value


def _fill(target: dict[str, Any], node: Node) -> dict[str, Any]:
    """Give every required element the answer still lacks a neutral value of its type (recursively)."""
    for name, child in node.children.items():
        if name in target:
            if child.leaf is None and isinstance(target[name], dict):
                _fill(target[name], child)
            elif child.leaf is None and isinstance(target[name], list):
                for item in target[name]:
                    if isinstance(item, dict):
                        _fill(item, child)
            continue
        if not child.required or child.repeated:
            continue
        target[name] = _neutral(child.leaf) if child.leaf is not None else _fill({}, child)
    return target


def _record(mapping: KindMapping, node: Node, row: Drawn, spell_id: Callable[[str], str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for column, source in mapping.columns.items():
        if source == "$person_id" or source.startswith("=") or row.get(column) is None:
            continue
        value = row[column]
        if column == "person_id":
            value = spell_id(str(value))
        _put(record, node, source, value)
    return record


def _place_records(answer: dict[str, Any], node: Node, dotted: str, records: list[dict[str, Any]]) -> None:
    if dotted in ("", "."):
        if records:
            answer.update(records[0])
        return
    target, _ = node.resolve(dotted)
    if target.repeated:
        _put(answer, node, dotted, records)
    elif records:  # one record where the interface allows one
        _put(answer, node, dotted, records[0])


def _restriction_asked(assets: AssetContribution, said: Any) -> RestrictionType | tuple[int, str] | None:
    """The restriction type a freeze's request carries (``$restriction``), else the mapping's default; (422, why)
    for a type the kind does not declare. None for a kind without restrictions."""
    if not assets.restrictions:
        return None
    restriction = str(said) if said not in (None, "") else str(assets.restriction_default)
    if restriction not in assets.restrictions or restriction not in {str(r) for r in RestrictionType}:
        return 422, f"unknown restriction type {restriction!r} (one of {list(assets.restrictions)})"
    return RestrictionType(restriction)


@dataclass
class MappedAgency:
    """Answers the inquiries of one instance of a mapped kind from the world."""

    state: AgencyState
    mapping: KindMapping
    interface: Interface
    world: World
    data: KindWorld

    _holding: bool = field(default=False, init=False)
    _holding_lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.spell_id = spelling_of(self.state.instance.agency_id).identifier

    # --- orders ----------------------------------------------------------------------------------------

    def _hold(self, person_id: str, rows: list[Drawn] | None) -> None:
        """Give the ledger the assets the person's records make (each asset once; a kind of facts holds none)."""
        assets = self.mapping.assets
        if assets is None or not rows:
            return
        rule = assets.protected_when
        whole = assets.asset_kind in INDIVISIBLE_KINDS
        self.state.hold([MappedAsset(join_asset_ref(assets, row), person_id,
                                     int(row.get(assets.value) or 0),
                                     rule is not None and str(row.get(rule.column)) in rule.values, whole,
                                     assets.restrictions)
                         for row in rows])

    def _hold_every_asset(self) -> None:
        """The ledger learns each person's assets when it answers about them; an order on an asset no answer named
        (the simulator restarted) has every person's drawn, once."""
        with self._holding_lock:
            if self._holding:
                return
            for person in self.world.persons:
                self._hold(person.person_id, records_of(self.world, self.data, self.state.instance.agency_id,
                                                        person.person_id))
            self._holding = True

    def order(self, kind: str, fields: Mapping[str, Any]) -> dict[str, Any] | tuple[int, str]:
        """Apply the order the request says (``orders.<kind>``); its acknowledgement as the mapping reads it."""
        spec = self.mapping.orders[kind]
        assets = self.mapping.assets
        assert assets is not None  # only an asset kind takes orders (the registry checks it)
        named = {source: name for name, source in spec.request.items()}

        def given(source: str) -> Any:
            return fields.get(named[source]) if source in named else None

        if "$asset_ref" in named:
            ref = str(given("$asset_ref"))
        else:
            ref = assets.asset_ref_separator.join(str(given(ASSET_REF_PART + part)) for part in assets.asset_ref_parts)
        order_id, amount = given("$order_id"), given("$amount_rial")
        if not order_id or amount is None:
            return 422, "the order has no order id or amount"
        restriction = _restriction_asked(assets, given(RESTRICTION_SOURCE))
        if isinstance(restriction, tuple):
            return restriction
        if kind != "payout" and not self.state.knows(ref):  # a payout names the creditor's IBAN, at any bank
            self._hold_every_asset()
        ack = self.state.apply(FreezeOrder(str(order_id), OrderKind(kind), str(given("$case_id") or ""),
                                           self.state.instance.agency_id, ref, int(amount), clock.now(),
                                           restriction_type=restriction, cancels=given("$cancels")))
        return self._acknowledgement(spec, ack.status, ack.acknowledged_amount_rial, ack.frozen_total_rial,
                                     str(order_id), ack.reason, ack.acknowledged_at)

    def _acknowledgement(self, spec: OrderOperation, status: str, amount: int, frozen_total: int, order_id: str,
                         reason: str, at: datetime | None = None) -> dict[str, Any]:
        """The acknowledgement at the mapping's paths; ``at`` when the order was applied (a repeated order id gets
        the first acknowledgement unchanged)."""
        response = self.interface.operations[spec.operation].response
        said: dict[str, str] = {}
        for value, hub in spec.statuses.items():
            said.setdefault(hub, value)
        nearest = {"partial": "done", "unknown_asset": "refused"}  # when the agency has no word of its own
        value = said.get(str(status)) or said.get(nearest.get(str(status), "")) or str(status)
        leaf, _ = response.resolve(spec.status)
        answer: dict[str, Any] = {}
        _put(answer, response, spec.status,
             int(value) if leaf.leaf == "int" else value.lower() == "true" if leaf.leaf == "bool" else value)
        _put(answer, response, spec.amount, amount)
        _put(answer, response, spec.frozen_total, frozen_total)
        if spec.order_id:
            _put(answer, response, spec.order_id, order_id)
        if spec.acknowledged_at:
            node, _ = response.resolve(spec.acknowledged_at)
            now = at or clock.now()
            _put(answer, response, spec.acknowledged_at, now.date() if node.leaf == "date" else now)
        if spec.reason and reason:
            _put(answer, response, spec.reason, reason)
        return _fill(answer, response)

    def _person_field(self, request: Mapping[str, str], source: str) -> str | None:
        return next((name for name, s in request.items() if s == source), None)

    def single(self, fields: Mapping[str, Any]) -> dict[str, Any] | tuple[int, str]:
        """The single inquiry's answer, or (status, detail) when refused."""
        inquiry = self.mapping.inquiry
        operation = self.interface.operations[inquiry.operation]
        person_field = self._person_field(inquiry.request, "$person_id")
        person_id = latin_digits(str(fields.get(person_field or "", "")))
        if not is_person_id(person_id):  # the field named as the interface names it: what the caller sent wrong
            return 400, f"invalid {person_field or 'person id'} {person_id!r}: check digit does not match"
        rows = records_of(self.world, self.data, self.state.instance.agency_id, person_id)
        self._hold(person_id, rows)
        answer: dict[str, Any] = {}
        response = operation.response
        record_node, _ = response.resolve(inquiry.records)
        records = [_record(self.mapping, record_node, r, self.spell_id) for r in rows or []]
        if inquiry.paging:
            page = max(1, int(fields.get(inquiry.paging.request) or 1))
            start = (page - 1) * PAGE_SIZE
            if start + PAGE_SIZE < len(records):
                _put(answer, response, inquiry.paging.next, page + 1)
            records = records[start:start + PAGE_SIZE]
        rule = inquiry.unknown_person
        if rule is not None:
            flag = rule.equals if rows is None else rule.otherwise
            if flag is None and rows is not None and isinstance(rule.equals, bool):
                flag = not rule.equals
            if flag is not None:
                _put(answer, response, rule.path, flag)
        _place_records(answer, response, inquiry.records, records)
        self._finish(answer, response, fields, inquiry.answered_at)
        return answer

    def batch(self, fields: Mapping[str, Any]) -> dict[str, Any] | tuple[int, str]:
        batch = self.mapping.batch
        assert batch is not None
        operation = self.interface.operations[batch.operation]
        response = operation.response
        entry_node, _ = response.resolve(batch.persons)
        record_node, _ = entry_node.resolve(batch.records)
        asked = fields.get(self._person_field(batch.request, "$person_ids") or "") or []
        entries = []
        for person_id in dict.fromkeys(latin_digits(str(p)) for p in (asked if isinstance(asked, list) else [asked])):
            entry: dict[str, Any] = {}
            _put(entry, entry_node, batch.person_id, self.spell_id(person_id))
            if not is_person_id(person_id):
                if batch.refused is None:
                    field_name = self._person_field(batch.request, '$person_ids') or 'person id'
                    return 400, f"invalid {field_name} {person_id!r}: check digit does not match"
                _put(entry, entry_node, batch.refused.code, INVALID_PERSON_ID)
                _put(entry, entry_node, batch.refused.message, f"invalid person id {person_id!r}")
            else:
                rows = records_of(self.world, self.data, self.state.instance.agency_id, person_id) or []
                self._hold(person_id, rows)
                records = [_record(self.mapping, record_node, r, self.spell_id) for r in rows]
                if records:
                    _place_records(entry, entry_node, batch.records, records)
            entries.append(_fill(entry, entry_node) if batch.refused is None or is_person_id(person_id) else entry)
        answer: dict[str, Any] = {}
        _put(answer, response, batch.persons, entries)
        self._finish(answer, response, fields, batch.answered_at)
        return answer

    @staticmethod
    def _finish(answer: dict[str, Any], response: Node, fields: Mapping[str, Any], answered_at: str | None) -> None:
        for name, value in fields.items():  # what the answer repeats of the request (requestId, countryCode...)
            child = response.children.get(name)
            if child is not None and child.leaf is not None and not child.repeated and name not in answer:
                answer[name] = value
        if answered_at:
            now = clock.now()
            leaf, _ = response.resolve(answered_at)
            _put(answer, response, answered_at, now.date() if leaf.leaf == "date" else now)
        _fill(answer, response)


# --- SOAP ---------------------------------------------------------------------------------------------

_ENV = f"{{{SOAP_ENV_NS}}}"


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


def _cut(text: str) -> str:
    return text if len(text) <= ERROR_TEXT_LIMIT else f"{text[:ERROR_TEXT_LIMIT]}..."



def _wire_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _render(parent: etree._Element | None, node: Node, value: Any) -> etree._Element:
    tag = f"{{{node.namespace}}}{node.name}" if node.namespace else node.name
    element = etree.Element(tag) if parent is None else etree.SubElement(parent, tag)
    if node.leaf is not None:
        element.text = _wire_text(value)
        return element
    for name, child in node.children.items():  # the schema's order
        if name not in value or value[name] is None:
            continue
        items = value[name] if child.repeated and isinstance(value[name], list) else [value[name]]
        for item in items:
            _render(element, child, item)
    return element


def _read(element: etree._Element, node: Node) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for child in element.iterchildren(etree.Element):
        name = etree.QName(child).localname
        sub = node.children.get(name)
        if sub is None:
            continue
        value: Any = _read(child, sub) if sub.leaf is None else (child.text or "").strip()
        if sub.repeated:
            record.setdefault(name, []).append(value)
        else:
            record[name] = value
    return record


def _inline_schema(definitions: etree._Element, schema: etree._Element) -> etree.XMLSchema:
    """The WSDL's inline schema on its own, with every namespace prefix in scope in the WSDL (QName attribute values
    such as VIES's ``type="tns1:companyTypeCode"`` use prefixes declared on ``wsdl:definitions``)."""
    namespaces = {k: v for k, v in {**definitions.nsmap, **schema.nsmap}.items() if k is not None}
    standalone = etree.Element(schema.tag, attrib={str(k): str(v) for k, v in schema.attrib.items()},
                               nsmap=namespaces)
    for child in schema:
        standalone.append(copy.deepcopy(child))
    return etree.XMLSchema(standalone)


class MappedSoapAgency:
    """The generated SOAP simulator of one agency: the WSDL it serves (at its own address), the WS-Security token
    it checks, the WSDL's inline schema every request must follow, the mapping read backwards for the answer."""

    def __init__(self, agency: MappedAgency, credentials: Credentials | None, *,
                 public_url: str | None = None) -> None:
        self.agency = agency
        path = agency.interface.path
        self.wsdl = path.read_bytes()
        #: The served WSDL's address: configured (default the registry's endpoint), never a request's Host header.
        self.public_url = public_url or agency.state.instance.endpoint
        self._token_check = UsernameTokenCheck(credentials) if credentials is not None else None
        definitions = parse_untrusted(self.wsdl)
        schema = definitions.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
        self._schema = _inline_schema(definitions, schema) if schema is not None else None
        self._lock = threading.Lock()  # the schema's error log is shared state
        mapping = agency.mapping
        self._handlers: dict[str, tuple[Operation, Callable[[Mapping[str, Any]], Any]]] = {}
        operations = agency.interface.operations
        self._declared = {(op.request.namespace or "", op.request.name) for op in operations.values()}
        self._handlers[operations[mapping.inquiry.operation].request.name] = (
            operations[mapping.inquiry.operation], agency.single)
        if mapping.batch is not None:
            self._handlers[operations[mapping.batch.operation].request.name] = (
                operations[mapping.batch.operation], agency.batch)
        for kind, order in mapping.orders.items():
            self._handlers[operations[order.operation].request.name] = (
                operations[order.operation], functools.partial(agency.order, kind))

    def validate(self, element: etree._Element, limit: int | None = None) -> list[str]:
        """Schema errors of one body element (request or response), the first ``limit`` of them; empty when valid."""
        if self._schema is None:
            return []
        with self._lock:
            if self._schema.validate(element):
                return []
            errors = self._schema.error_log  # lxml-stubs do not declare _ErrorLog iterable; lxml's is
            found = [f"{_cut(e.message)} (line {e.line})" for e in errors]  # type: ignore[attr-defined]
        if limit is None or len(found) <= limit:
            return found
        return [*found[:limit], f"and {len(found) - limit} more"]

    def _serve_wsdl(self) -> Response:
        address = (self.public_url or "").rstrip("/")
        wsdl = self.wsdl.replace(PLACEHOLDER_ADDRESS, f"{address}{SOAP_PATH}".encode()) if address else self.wsdl
        return Response(200, wsdl, {"Content-Type": XML_CONTENT_TYPE})

    def __call__(self, request: Request) -> Response:
        if request.method == "GET":
            return self._serve_wsdl()
        if request.path != SOAP_PATH or request.method != "POST":
            return Response(404, b"not found", {"Content-Type": "text/plain"})
        try:
            root = parse_untrusted(request.body)
        except UnsafeXml as exc:  # a DOCTYPE, entities, or a document above the size limit
            return fault_response(FAULT_CLIENT, _cut(str(exc)))
        except etree.XMLSyntaxError as exc:
            return fault_response(FAULT_CLIENT, _cut(f"not well-formed XML: {exc}"))
        if self._token_check is not None:  # who is asking comes before what they ask
            try:
                self._token_check.verify(root)
            except AuthenticationFailed as refusal:
                return fault_response(AUTHENTICATION_FAULT, f"authentication failed: {refusal}")
        body = root.find(f"{_ENV}Body")
        children = [] if body is None else [c for c in body if isinstance(c.tag, str)]
        if len(children) != 1:
            return fault_response(FAULT_CLIENT, "the SOAP Body must hold exactly one operation element")
        element = children[0]
        qname = etree.QName(element)
        handler = self._handlers.get(qname.localname)
        if handler is None or (handler[0].request.namespace or "") != (qname.namespace or ""):
            if (qname.namespace or "", qname.localname) in self._declared:
                return fault_response(FAULT_CLIENT, f"operation {element.tag} is not served by this simulator")
            return fault_response(FAULT_CLIENT, f"unknown operation {element.tag}: not in this agency's WSDL")
        errors = self.validate(element, limit=MAX_REPORTED_ERRORS)
        if errors:
            return fault_response(FAULT_CLIENT,
                                  f"{qname.localname} does not follow the contract: {'; '.join(errors)}")
        operation, answer_of = handler
        answer = answer_of(_read(element, operation.request))
        if isinstance(answer, tuple):
            return fault_response(FAULT_CLIENT, answer[1])
        return Response(200, envelope(_render(None, operation.response, answer)), {"Content-Type": XML_CONTENT_TYPE})


# --- REST ---------------------------------------------------------------------------------------------


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, datetime | date):
        return _wire_text(value)
    return value


def _rest_handlers(agency: MappedAgency) -> dict[str, Handler]:
    def serving(answer_of: Callable[[Mapping[str, Any]], Any]) -> Handler:
        def handle(state: AgencyState, call: _Call) -> Response:
            fields: dict[str, Any] = {**call.query, **call.path_params, **(call.body or {})}
            answer = answer_of(fields)
            if isinstance(answer, tuple):
                return problem(answer[0], answer[1])
            return _json(200, _json_ready(answer))
        return handle

    def not_served(state: AgencyState, call: _Call) -> Response:
        return problem(501, "this operation is not served by the simulator")

    handlers: dict[str, Handler] = dict.fromkeys(agency.interface.operations, not_served)
    handlers[agency.mapping.inquiry.operation] = serving(agency.single)
    if agency.mapping.batch is not None:
        handlers[agency.mapping.batch.operation] = serving(agency.batch)
    for kind, order in agency.mapping.orders.items():
        handlers[order.operation] = serving(functools.partial(agency.order, kind))
    return handlers


def mapped_application(state: AgencyState, mapping: KindMapping, world: World, credentials: Credentials | None, *,
                       world_data: KindWorld | None = None, public_url: str | None = None) -> Application:
    """The simulator of ``state.instance``, a kind declared by ``mapping``, answering from ``world``; a SOAP one's
    served WSDL names ``public_url`` (default: the agency's configured endpoint) as its address."""
    interface = load_interface(mapping.interface, mapping.protocol, mapping.binding)
    data = world_data or kind_world(str(mapping.kind), jurisdiction=world.jurisdiction)
    agency = MappedAgency(state, mapping, interface, world, data)
    if mapping.protocol is Protocol.SOAP:
        return MappedSoapAgency(agency, credentials, public_url=public_url)
    return rest_application(state, mapping.interface, credentials, handlers=_rest_handlers(agency))


__all__ = ["SOAP_PATH", "KindWorld", "MappedAgency", "MappedSoapAgency", "envelope", "fault_response", "kind_world",
           "load_kind_world", "mapped_application", "records_of"]
