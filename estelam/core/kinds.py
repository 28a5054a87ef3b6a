"""Agency kinds as data: the mapping format of ``contracts/kinds/<kind>.yaml`` and the interface it is checked against.

A kind is its interface file (a WSDL or an OpenAPI document, as the agency publishes it), a mapping file, and the
data contract of the feed its answers land in. The generic clients (``connectors.mapped``), the generated
simulators (``simulators.mapped_app``) and the registry's checks are all driven by what this module reads.

The mapping file (every path is a dotted path of element or property names; ``.`` is the node itself)::

    kind: population_register            # the name instances use in agencies.yaml (= the file's name)
    protocol: soap                       # soap | rest
    interface: population_register.wsdl  # relative to the mapping file
    binding: "{urn:...}RegisterSoapBinding"   # SOAP, optional when the WSDL has one binding
    feed: register_records               # contracts/feeds/<feed>.yaml: where answers land
    inquiry:                             # the single inquiry (required)
      operation: InquireRecord           # SOAP operation / OpenAPI operationId
      request: {personId: $person_id, requestId: $request_id, countryCode: "=IR"}
      records: record                    # where the records are in the answer ("." : the answer is one record)
      answered_at: answeredAt            # optional: when the agency answered (else: when the answer arrived)
      unknown_person: {path: found, equals: false}   # optional: how the agency says "no such person"
      paging: {request: page, next: nextPage}        # optional: page number field; path of the next page's number
    batch:                               # optional: the batch inquiry
      operation: InquireRecordBatch
      request: {personId: $person_ids, requestId: $request_id}
      persons: person                    # the per-person entries of the answer
      person_id: personId                # in an entry: whom it answers
      records: record                    # in an entry: the records
      refused: {path: error, code: error.code, message: error.message}   # in an entry: the agency refused them
      answered_at: answeredAt
    columns:                             # feed column -> a path in a record, $person_id, or =literal
      person_id: personId
      full_name: fullName
    contributes:                         # facts about a person (a report section) or assets
      facts:
        title: {fa: ..., ar: ..., en: ...}
        labels: {full_name: {fa: ..., ar: ..., en: ...}}
      assets:                            # each record is an asset (int_assets_latest: the asset report, the plan)
        asset_kind: salary               # a name of its own (a built-in kind's only when it is that kind's mapping)
        asset_ref: employer_id           # column: the asset's reference in orders, or columns composing it:
                                         #   [person_id, symbol] -> "<person_id>:<symbol>" (ASSET_REF_SEPARATOR)
        asset_ref_separator: "/"         # optional: what joins a composed reference's parts (default ":"), so a
                                         #   kind moving onto a mapping keeps the references its orders name
        value: garnishable_rial          # int64 column: what may be frozen of it (minor units)
        liquidity_rank: 5                # the freeze plan's order: 1 bank accounts ... 4 properties
        protected: protected_rial        # optional int64 column: the share the law protects (outside value)
        protected_when: {column: kind, in: [escrow]}   # optional: the law protects the whole asset when ...
        detail: employer_name            # optional columns shown to readers (detail also a template of
                                         #   columns: "{symbol} x {quantity}")
        owner_name: holder_name
        label: {fa: ..., ar: ..., en: ...}             # the asset kind's name in each language
        detail_labels:                   # optional, a one-column detail only: its values as readers see them
          escrow: {fa: ..., ar: ..., en: ...}
        restrictions: [transfer, circulation, seizure]  # optional: the restriction types a freeze may carry
                                         #   (the hub's RestrictionType values), weakest first; the agency keeps
                                         #   the strongest a case asked for unless a judge changes it
        restriction_default: transfer    # optional: what a freeze asks for when the order names no type (the
                                         #   first of restrictions when not given)
        iban_accounts: true              # optional: the assets are accounts named by their IBAN (asset_ref one
                                         #   column): the kind's instances name the bank code of their IBANs
                                         #   (iban_bank_code in agencies.yaml) and the court's account
                                         #   (court_account) is held at one of them, which pays creditors out
    orders:                              # optional, an asset kind only: the operations that act on its assets
      freeze:                            # freeze (required when orders are declared), release, transfer,
                                         #   payout, cancel
        operation: blockWallet           # SOAP operation / OpenAPI operationId
        request: {walletId: $asset_ref, orderRef: $order_id, courtCase: $case_id, rialAmount: $amount_rial}
        order_id: orderRef               # optional: the acknowledgement's echo of the order id (checked)
        status: outcome                  # the acknowledgement's status ...
        statuses: {BLOCKED: done, PARTLY_BLOCKED: partial, DECLINED: refused, NO_SUCH_WALLET: unknown_asset}
        amount: result.movedRial         # integer: what this order blocked (released, transferred)
        frozen_total: result.heldRial    # integer: what stays frozen for the case on the asset
        acknowledged_at: at              # optional
        reason: note                     # optional

Request sources: ``$person_id`` (the person asked, Latin digits), ``$person_ids`` (batch: every person asked),
``$request_id``, ``$page`` (paging), ``=text`` (a literal); an order's: ``$order_id``, ``$case_id``,
``$asset_ref``, ``$asset_ref.<column>`` (one part of a composed reference), ``$amount_rial``, ``$issued_at``,
``$agency_id``, ``=text``, a cancel's ``$cancels`` (the order it withdraws; required there, refused
elsewhere), and a freeze's ``$restriction`` (the restriction type the order carries, else
``restriction_default``; only in ``orders.freeze`` of a kind declaring ``contributes.assets.restrictions``, and
such a kind's freeze must send it). A payout's ``$asset_ref`` is the creditor's IBAN (at any bank: not an asset this
agency holds), so only a kind whose ``contributes.assets`` says ``iban_accounts`` declares ``orders.payout``. A kind
that declares ``orders.freeze`` has its assets planned by the freeze plan and its orders sent by
``connectors.mapped``; without it they are reported, never planned. The columns ``inquiry_id``, ``agency_id`` and
``responded_at`` are the hub's own and are never mapped.

Errors name the file, the line and the field; the registry adds the checks against the feed contract's types.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from estelam.core.domain import AgencyKind, Protocol, RestrictionType
from estelam.core.exceptions import ContractError

#: Columns every answer feed has and the hub fills itself.
HUB_COLUMNS = frozenset({"inquiry_id", "agency_id", "responded_at"})
#: Where request values come from.
REQUEST_SOURCES = frozenset({"$person_id", "$person_ids", "$request_id", "$page"})
#: Leaf types of an interface, as this module names them.
LEAF_TYPES = frozenset({"string", "int", "number", "bool", "date", "datetime"})
#: Which interface leaf types cast to which contract column types (money never comes from a float).
CASTABLE: dict[str, frozenset[str]] = {
    "string": frozenset(LEAF_TYPES),
    "int64": frozenset({"int"}),
    "bool": frozenset({"bool"}),
    "date": frozenset({"date"}),
    "timestamp": frozenset({"datetime"}),
}
LANGUAGES = ("fa", "ar", "en")


# --- YAML with line numbers ---------------------------------------------------------------------


class Located(dict[str, Any]):
    """A YAML mapping that remembers the line (1-based) of each key."""

    lines: dict[str, int]
    line: int


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_located(loader: _LineLoader, node: yaml.MappingNode) -> Located:
    mapping = Located()
    mapping.lines = {}
    mapping.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        mapping[str(key)] = loader.construct_object(value_node, deep=True)
        mapping.lines[str(key)] = key_node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_located)


def load_located(path: Path) -> Any:
    """``path``'s YAML, every mapping a :class:`Located`."""
    if not path.is_file():
        raise ContractError(f"{path}: file not found")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML: {exc}") from exc


def line_of(mapping: Any, key: str) -> int:
    """The line of ``key`` in a :class:`Located` mapping (of the mapping itself when the key is absent)."""
    if isinstance(mapping, Located):
        return mapping.lines.get(key, mapping.line)
    return 0


class MappingError(ContractError):
    """A mapping file that does not fit its interface or its feed: names the file, the line and the field."""

    def __init__(self, path: Path, line: int, field_name: str, message: str) -> None:
        super().__init__(f"{path}:{line}: {field_name}: {message}")
        self.path = path
        self.line = line
        self.field = field_name


# --- the mapping -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnknownPerson:
    """How an answer says "no such person": the value at ``path`` equals ``equals``."""

    path: str
    equals: Any
    otherwise: Any = None  # what a known person's answer carries there (the simulators write it)


@dataclass(frozen=True)
class Paging:
    request: str  # the request field carrying the page number (1-based)
    next: str  # the answer's path to the next page's number; absent or null on the last page


@dataclass(frozen=True)
class Refusal:
    """How a batch entry says the agency refused that person."""

    path: str
    code: str
    message: str


@dataclass(frozen=True)
class Inquiry:
    operation: str
    request: Mapping[str, str]
    records: str
    answered_at: str | None = None
    unknown_person: UnknownPerson | None = None
    paging: Paging | None = None
    line: int = 0


@dataclass(frozen=True)
class BatchInquiry:
    operation: str
    request: Mapping[str, str]
    persons: str
    person_id: str
    records: str
    refused: Refusal | None = None
    answered_at: str | None = None
    request_id: str | None = None  # the answer's echo of the request id, checked when given
    line: int = 0


#: Order kinds a mapping may declare, and where each order request's fields come from.
ORDER_KINDS = ("freeze", "release", "transfer", "payout", "cancel")
ORDER_SOURCES = frozenset({"$order_id", "$case_id", "$asset_ref", "$amount_rial", "$issued_at", "$agency_id",
                           "$cancels", "$restriction"})
#: ``$restriction``: the restriction type a freeze carries (``contributes.assets.restrictions``).
RESTRICTION_SOURCE = "$restriction"
#: ``$asset_ref.<column>``: one part of a composed asset reference (``contributes.assets.asset_ref`` a list).
ASSET_REF_PART = "$asset_ref."
#: What joins the parts of a composed asset reference (``person_id`` and ``symbol`` -> ``0012345678:IKCO``).
ASSET_REF_SEPARATOR = ":"
#: The hub's acknowledgement statuses (``estelam.core.domain.AckStatus``).
ACK_STATUSES = frozenset({"done", "partial", "refused", "unknown_asset"})


@dataclass(frozen=True)
class OrderOperation:
    """One order operation: how its request is filled from an order and how its acknowledgement is read.

    ``status`` is the acknowledgement's path holding the agency's status, ``statuses`` maps the agency's values to
    the hub's (done, partial, refused, unknown_asset; a value not listed is a malformed acknowledgement);
    ``amount`` and ``frozen_total`` are integer paths (what the order blocked or released, what stays frozen for
    the case on the asset), ``order_id`` the acknowledgement's echo of the order id (checked when given),
    ``acknowledged_at`` and ``reason`` optional paths.
    """

    kind: str
    operation: str
    request: Mapping[str, str]
    status: str
    statuses: Mapping[str, str]
    amount: str
    frozen_total: str
    order_id: str | None = None
    acknowledged_at: str | None = None
    reason: str | None = None
    line: int = 0
    lines: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Facts:
    """What a fact kind adds to the asset report: a section titled in each language, each column labelled."""

    title: Mapping[str, str]
    labels: Mapping[str, Mapping[str, str]]  # column -> language -> label


@dataclass(frozen=True)
class ProtectedWhen:
    """The law protects the whole asset (it is never planned for a freeze) when ``column`` holds one of ``values``."""

    column: str
    values: tuple[str, ...]


#: A column in a ``detail`` template: ``{column}``.
_TEMPLATE_FIELD = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True)
class AssetContribution:
    """What an asset kind adds: each record is an asset of the warehouse's ``int_assets_latest``.

    ``asset_ref`` names the asset in orders, ``value`` what may be frozen of it (an integer column, minor units),
    ``liquidity_rank`` where it stands in the freeze plan's order (1 bank accounts ... 4 properties), ``protected``
    an integer column holding the share the law protects (shown beside the value, already outside it),
    ``protected_when`` the rule protecting the whole asset, ``detail`` and ``owner_name`` columns shown to readers,
    ``label`` the asset's kind in each language, ``detail_labels`` what readers see for a detail column's values in
    each language (a bank account's kind: ``salary`` -> "حقوق").
    """

    asset_kind: str
    asset_ref: str  # the column naming the asset, or (composed) the parts' columns joined by the separator
    value: str
    liquidity_rank: int
    label: Mapping[str, str]
    protected: str | None = None
    protected_when: ProtectedWhen | None = None
    detail: str | None = None
    owner_name: str | None = None
    line: int = 0
    lines: Mapping[str, int] = field(default_factory=dict)  # field -> line in the mapping file
    asset_ref_parts: tuple[str, ...] = ()  # a composed reference: its columns, in order (``[person_id, symbol]``)
    asset_ref_separator: str = ASSET_REF_SEPARATOR  # what joins a composed reference's parts
    restrictions: tuple[str, ...] = ()  # the restriction types a freeze may carry, weakest first (none: no types)
    restriction_default: str | None = None  # what a freeze asks for when the order names no type
    iban_accounts: bool = False  # accounts named by IBAN: instances name their bank code, the court's account is here
    detail_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # detail value -> language -> text

    @property
    def detail_parts(self) -> tuple[tuple[str, bool], ...]:
        """``detail`` as (text, is_column) parts: one column, or a template of columns (``{symbol} x {quantity}``)."""
        if self.detail is None:
            return ()
        if "{" not in self.detail:
            return ((self.detail, True),)
        pieces = _TEMPLATE_FIELD.split(self.detail)  # text, column, text, column, ..., text
        return tuple((piece, i % 2 == 1) for i, piece in enumerate(pieces) if piece or i % 2 == 1)

    @property
    def ref_columns(self) -> tuple[str, ...]:
        """The columns whose values make the asset reference (one, or the composed reference's parts)."""
        return self.asset_ref_parts or (self.asset_ref,)


@dataclass(frozen=True)
class KindMapping:
    kind: AgencyKind
    protocol: Protocol
    interface: Path
    feed: str
    inquiry: Inquiry
    columns: Mapping[str, str]
    source: Path
    binding: str | None = None
    batch: BatchInquiry | None = None
    facts: Facts | None = None
    assets: AssetContribution | None = None
    orders: Mapping[str, OrderOperation] = field(default_factory=dict)  # freeze / release / transfer
    lines: Mapping[str, int] = field(default_factory=dict)  # column -> line in the mapping file
    top_lines: Mapping[str, int] = field(default_factory=dict)  # top-level field -> line in the mapping file

    @property
    def relative_interface(self) -> str:
        return str(self.interface)


def _text(spec: Any, key: str, path: Path, *, where: str, required: bool = True) -> str | None:
    value = spec.get(key) if isinstance(spec, Mapping) else None
    if value is None:
        if required:
            raise MappingError(path, line_of(spec, key), f"{where}{key}", "is required")
        return None
    if not isinstance(value, str | int | float | bool):
        raise MappingError(path, line_of(spec, key), f"{where}{key}", f"must be a text, got {value!r}")
    return str(value)


def _section(spec: Any, key: str, path: Path, *, required: bool) -> Located | None:
    value = spec.get(key)
    if value is None:
        if required:
            raise MappingError(path, line_of(spec, key), key, "is required")
        return None
    if not isinstance(value, Located):
        raise MappingError(path, line_of(spec, key), key, f"must be a mapping, got {value!r}")
    return value


def _request(spec: Located, path: Path, where: str, sources: frozenset[str] = REQUEST_SOURCES) -> dict[str, str]:
    raw = spec.get("request") or {}
    if not isinstance(raw, Mapping):
        raise MappingError(path, line_of(spec, "request"), f"{where}.request", "must be a mapping")
    request: dict[str, str] = {}
    for name, source in raw.items():
        text = str(source)
        if not (text in sources or text.startswith("=")):
            raise MappingError(path, line_of(raw, name), f"{where}.request.{name}",
                               f"{text!r} is not one of {sorted(sources)} or =literal")
        request[str(name)] = text
    return request


def _labels(raw: Any, path: Path, where: str) -> dict[str, str]:
    if not isinstance(raw, Mapping) or set(raw) != set(LANGUAGES):
        raise MappingError(path, line_of(raw, "en"), where, f"needs exactly the languages {list(LANGUAGES)}")
    return {lang: str(raw[lang]) for lang in LANGUAGES}


#: Asset kinds of the built-in agencies, each with the agency kind it belongs to: a mapped kind's assets must be of
#: a kind of its own (a built-in kind moving onto a mapping keeps its asset kind).
BUILT_IN_ASSET_KINDS: Mapping[str, str] = {"bank_account": "bank", "vehicle": "vehicle_registry",
                                           "property": "land_registry"}
_ASSET_FIELDS = frozenset({"asset_kind", "asset_ref", "asset_ref_separator", "value", "liquidity_rank", "label",
                           "protected", "protected_when", "detail", "owner_name", "restrictions",
                           "restriction_default", "iban_accounts", "detail_labels"})


def _assets(spec: Any, columns: Mapping[str, str], path: Path, line: int, kind: str = "") -> AssetContribution:
    """``contributes.assets``: every named column must be one the mapping fills."""
    where = "contributes.assets"
    if not isinstance(spec, Located):
        raise MappingError(path, line, where, f"must be a mapping, got {spec!r}")
    for key in spec:
        if key not in _ASSET_FIELDS:
            raise MappingError(path, line_of(spec, key), f"{where}.{key}",
                               f"unknown field (expected one of {sorted(_ASSET_FIELDS)})")
    asset_kind = _text(spec, "asset_kind", path, where=f"{where}.") or ""
    owner = BUILT_IN_ASSET_KINDS.get(asset_kind)
    if (owner is not None and owner != kind) or not asset_kind.replace("_", "").isalnum():
        raise MappingError(path, line_of(spec, "asset_kind"), f"{where}.asset_kind",
                           f"{asset_kind!r} must be a name of its own (lower-case letters, digits and _), "
                           f"not one of {sorted(BUILT_IN_ASSET_KINDS)} (each its built-in kind's own)")
    rank = spec.get("liquidity_rank")
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise MappingError(path, line_of(spec, "liquidity_rank"), f"{where}.liquidity_rank",
                           f"must be a whole number from 1 (most liquid), got {rank!r}")
    rule = spec.get("protected_when")
    protected_when = None
    if rule is not None:
        values = rule.get("in") if isinstance(rule, Mapping) else None
        if not isinstance(rule, Located) or not isinstance(values, list) or not values:
            raise MappingError(path, line_of(spec, "protected_when"), f"{where}.protected_when",
                               "must be {column: <column>, in: [<value>, ...]}")
        protected_when = ProtectedWhen(_text(rule, "column", path, where=f"{where}.protected_when.") or "",
                                       tuple(str(v) for v in values))
    raw_ref = spec.get("asset_ref")
    parts: tuple[str, ...] = ()
    if isinstance(raw_ref, list):  # a reference composed of columns: [person_id, symbol] -> "<person>:<symbol>"
        parts = tuple(str(p) for p in raw_ref)
        if len(parts) < 2 or len(set(parts)) != len(parts):
            raise MappingError(path, line_of(spec, "asset_ref"), f"{where}.asset_ref",
                               f"a composed reference needs two or more distinct columns, got {raw_ref!r}")
    separator = _separator(spec, path, where, composed=bool(parts))
    restrictions, restriction_default = _restrictions(spec, path, where)
    iban_accounts = _iban_accounts(spec, path, where, composed=bool(parts))
    assets = AssetContribution(
        asset_kind=asset_kind,
        asset_ref=separator.join(parts) if parts else _text(spec, "asset_ref", path, where=f"{where}.") or "",
        asset_ref_parts=parts,
        asset_ref_separator=separator,
        value=_text(spec, "value", path, where=f"{where}.") or "",
        liquidity_rank=rank,
        label=_labels(spec.get("label"), path, f"{where}.label"),
        protected=_text(spec, "protected", path, where=f"{where}.", required=False),
        protected_when=protected_when,
        detail=_detail(spec, path, where),
        owner_name=_text(spec, "owner_name", path, where=f"{where}.", required=False),
        line=line,
        lines=dict(spec.lines),
        restrictions=restrictions,
        restriction_default=restriction_default,
        iban_accounts=iban_accounts,
        detail_labels=_detail_labels(spec, path, where),
    )
    if assets.detail_labels and (assets.detail is None or len(assets.detail_parts) != 1):
        raise MappingError(path, line_of(spec, "detail_labels"), f"{where}.detail_labels",
                           "labels the values of a detail that is one column (detail: <column>)")
    for role, named in asset_columns(assets).items():
        if named not in columns and named != "person_id":
            target = spec.get("protected_when") if role == "protected_when" else spec
            key = "column" if role == "protected_when" else role.split(".")[0]
            raise MappingError(path, line_of(target, key), f"{where}.{role}",
                               f"names {named!r}, a column the mapping does not fill")
    return assets


def _detail_labels(spec: Located, path: Path, where: str) -> dict[str, dict[str, str]]:
    """``detail_labels``: each value of the detail column -> its text in every language."""
    raw = spec.get("detail_labels")
    if raw is None:
        return {}
    if not isinstance(raw, Mapping) or not raw:
        raise MappingError(path, line_of(spec, "detail_labels"), f"{where}.detail_labels",
                           "must map each value of the detail column to {fa: ..., ar: ..., en: ...}")
    return {str(value): _labels(texts, path, f"{where}.detail_labels.{value}") for value, texts in raw.items()}


def _separator(spec: Located, path: Path, where: str, *, composed: bool) -> str:
    """``asset_ref_separator``: one or more characters, none a letter, digit or space; a composed reference's only."""
    separator = _text(spec, "asset_ref_separator", path, where=f"{where}.", required=False)
    if separator is None:
        return ASSET_REF_SEPARATOR
    if not composed:
        raise MappingError(path, line_of(spec, "asset_ref_separator"), f"{where}.asset_ref_separator",
                           "only a composed reference (asset_ref a list of columns) has a separator")
    if not separator or any(c.isalnum() or c.isspace() or c in "{}" for c in separator):
        raise MappingError(path, line_of(spec, "asset_ref_separator"), f"{where}.asset_ref_separator",
                           f"{separator!r}: a separator is punctuation (no letter, digit, space or brace)")
    return separator


def _restrictions(spec: Located, path: Path, where: str) -> tuple[tuple[str, ...], str | None]:
    """``restrictions`` (the restriction types a freeze may carry, weakest first: distinct values of the hub's
    ``RestrictionType``, the types its judges direct) and ``restriction_default`` (one of them; the first when not
    given). Neither: the kind's freezes carry no type."""
    raw = spec.get("restrictions")
    default = _text(spec, "restriction_default", path, where=f"{where}.", required=False)
    if raw is None:
        if default is not None:
            raise MappingError(path, line_of(spec, "restriction_default"), f"{where}.restriction_default",
                               "names a default of no restrictions (contributes.assets.restrictions)")
        return (), None
    known = [str(r) for r in RestrictionType]
    if not isinstance(raw, list) or not raw or len(set(map(str, raw))) != len(raw):
        raise MappingError(path, line_of(spec, "restrictions"), f"{where}.restrictions",
                           f"must be a list of distinct restriction types (weakest first), got {raw!r}")
    unknown = [str(r) for r in raw if str(r) not in known]
    if unknown:
        raise MappingError(path, line_of(spec, "restrictions"), f"{where}.restrictions",
                           f"{unknown} are not restriction types the hub orders (one of {known})")
    types = tuple(str(r) for r in raw)
    if default is not None and default not in types:
        raise MappingError(path, line_of(spec, "restriction_default"), f"{where}.restriction_default",
                           f"{default!r} is not one of restrictions {list(types)}")
    return types, default or types[0]


def _check_restriction_sources(path: Path, assets: AssetContribution | None, orders: Mapping[str, OrderOperation],
                               section: Any) -> None:
    """``$restriction`` goes in a freeze's request only, of a kind declaring ``contributes.assets.restrictions``; and
    a kind declaring restrictions sends its freezes' type (else a judge's restriction would never reach the agency)."""
    declared = assets is not None and bool(assets.restrictions)
    for kind, order in orders.items():
        raw_request = section[kind].get("request") if isinstance(section, Mapping) else None
        for name, source in order.request.items():
            if source != RESTRICTION_SOURCE:
                continue
            line = line_of(raw_request, name) or order.line
            if not declared:
                raise MappingError(path, line, f"orders.{kind}.request.{name}",
                                   "$restriction: the kind declares no restriction types "
                                   "(contributes.assets.restrictions)")
            if kind != "freeze":
                raise MappingError(path, line, f"orders.{kind}.request.{name}",
                                   "$restriction is the restriction type a freeze carries: only orders.freeze "
                                   "sends it")
    freeze = orders.get("freeze")
    if declared and freeze is not None and RESTRICTION_SOURCE not in freeze.request.values():
        raise MappingError(path, line_of(section.get("freeze"), "request") if isinstance(section, Mapping)
                           else freeze.line, "orders.freeze.request",
                           "the kind declares restrictions (contributes.assets.restrictions): a freeze sends its "
                           "type in one field ($restriction)")


def _iban_accounts(spec: Located, path: Path, where: str, *, composed: bool) -> bool:
    """``iban_accounts``: true or false (default); an account is named by its IBAN alone, never a composed
    reference."""
    value = spec.get("iban_accounts", False)
    if not isinstance(value, bool):
        raise MappingError(path, line_of(spec, "iban_accounts"), f"{where}.iban_accounts",
                           f"must be true or false, got {value!r}")
    if value and composed:
        raise MappingError(path, line_of(spec, "iban_accounts"), f"{where}.iban_accounts",
                           "an account is named by its IBAN: asset_ref must be one column, not a composed reference")
    return value


def _detail(spec: Located, path: Path, where: str) -> str | None:
    """``detail``: a column, or a template naming columns in braces (``"{symbol} x {quantity}"``)."""
    detail = _text(spec, "detail", path, where=f"{where}.", required=False)
    if detail is not None and "{" in detail:
        stripped = _TEMPLATE_FIELD.sub("", detail)
        if "{" in stripped or "}" in stripped or not _TEMPLATE_FIELD.search(detail):
            raise MappingError(path, line_of(spec, "detail"), f"{where}.detail",
                               f"{detail!r}: a template names columns as {{column}} (lower-case letters, digits, _)")
    return detail


def asset_columns(assets: AssetContribution) -> dict[str, str]:
    """Role (``asset_ref``, ``value``, ...) -> the feed column it names, for the roles the mapping fills."""
    refs = {f"asset_ref.{part}": part for part in assets.asset_ref_parts} or {"asset_ref": assets.asset_ref}
    named = {**refs, "value": assets.value, "protected": assets.protected,
             "protected_when": assets.protected_when.column if assets.protected_when else None,
             "owner_name": assets.owner_name}
    details = [text for text, is_column in assets.detail_parts if is_column]
    if assets.detail is not None and "{" in assets.detail:
        named.update({f"detail.{column}": column for column in details})
    elif details:
        named["detail"] = details[0]
    return {role: column for role, column in named.items() if column is not None}


_ORDER_FIELDS = frozenset({"operation", "request", "status", "statuses", "amount", "frozen_total", "order_id",
                           "acknowledged_at", "reason"})


def _orders(spec: Located, path: Path, assets: AssetContribution | None) -> dict[str, OrderOperation]:
    """``orders``: freeze / release / transfer / cancel, each its operation, request and acknowledgement.

    A request field is filled from the order (``ORDER_SOURCES``), a literal (``=text``), or one part of a composed
    asset reference (``$asset_ref.<column>``, the column one of ``contributes.assets.asset_ref``'s); ``$cancels``
    (the order a cancel withdraws) is a cancel's alone, and a cancel must send it.
    """
    parts = assets.asset_ref_parts if assets is not None else ()
    sources = ORDER_SOURCES | {ASSET_REF_PART + part for part in parts}
    section = _section(spec, "orders", path, required=False)
    if section is None:
        return {}
    orders: dict[str, OrderOperation] = {}
    for kind, raw in section.items():
        where = f"orders.{kind}"
        if kind not in ORDER_KINDS:
            raise MappingError(path, line_of(section, kind), where,
                               f"unknown order kind (expected {list(ORDER_KINDS)})")
        if not isinstance(raw, Located):
            raise MappingError(path, line_of(section, kind), where, f"must be a mapping, got {raw!r}")
        for key in raw:
            if key not in _ORDER_FIELDS:
                raise MappingError(path, line_of(raw, key), f"{where}.{key}",
                                   f"unknown field (expected one of {sorted(_ORDER_FIELDS)})")
        statuses_raw = raw.get("statuses")
        statuses: dict[str, str] = {status: status for status in ACK_STATUSES}
        if statuses_raw is not None:
            if not isinstance(statuses_raw, Located) or not statuses_raw:
                raise MappingError(path, line_of(raw, "statuses"), f"{where}.statuses",
                                   "must map the agency's values to the hub's statuses")
            statuses = {}
            for value, status in statuses_raw.items():
                if str(status) not in ACK_STATUSES:
                    raise MappingError(path, line_of(statuses_raw, value), f"{where}.statuses.{value}",
                                       f"{status!r} is not one of {sorted(ACK_STATUSES)}")
                statuses[str(value)] = str(status)
        raw_request = raw.get("request")
        for name, source in (raw_request.items() if isinstance(raw_request, Mapping) else ()):
            if str(source).startswith(ASSET_REF_PART) and str(source) not in sources:
                raise MappingError(path, line_of(raw_request, name), f"{where}.request.{name}",
                                   f"{source!r}: contributes.assets.asset_ref is not composed of that column "
                                   f"(its parts: {list(parts)})")
        request = _request(raw, path, where, sources)
        if "$order_id" not in request.values():
            raise MappingError(path, line_of(raw, "request"), f"{where}.request",
                               "no field is $order_id (agencies apply an order id at most once)")
        if (kind == "cancel") != ("$cancels" in request.values()):
            raise MappingError(path, line_of(raw, "request"), f"{where}.request",
                               "a cancel names the order it withdraws in one field ($cancels)" if kind == "cancel"
                               else "$cancels is the order a cancel withdraws: only orders.cancel sends it")
        orders[str(kind)] = OrderOperation(
            kind=str(kind),
            operation=_text(raw, "operation", path, where=f"{where}.") or "",
            request=request,
            status=_text(raw, "status", path, where=f"{where}.") or "",
            statuses=statuses,
            amount=_text(raw, "amount", path, where=f"{where}.") or "",
            frozen_total=_text(raw, "frozen_total", path, where=f"{where}.") or "",
            order_id=_text(raw, "order_id", path, where=f"{where}.", required=False),
            acknowledged_at=_text(raw, "acknowledged_at", path, where=f"{where}.", required=False),
            reason=_text(raw, "reason", path, where=f"{where}.", required=False),
            line=raw.line,
            lines=dict(raw.lines),
        )
    return orders


def parse_mapping(path: Path) -> KindMapping:
    """The mapping file at ``path``, its own shape checked (not yet against its interface or feed)."""
    spec = load_located(path)
    if not isinstance(spec, Located):
        raise MappingError(path, 1, "kind", "the file must be a mapping")
    known = {"kind", "protocol", "interface", "binding", "feed", "inquiry", "batch", "columns", "contributes",
             "orders"}
    for key in spec:
        if key not in known:
            raise MappingError(path, line_of(spec, key), key, f"unknown field (expected one of {sorted(known)})")
    name = _text(spec, "kind", path, where="") or ""
    try:
        kind = AgencyKind(name)
    except ValueError as exc:
        raise MappingError(path, line_of(spec, "kind"), "kind", str(exc)) from None
    if name != path.stem:
        raise MappingError(path, line_of(spec, "kind"), "kind", f"{name!r} must equal the file name {path.stem!r}")
    try:
        protocol = Protocol(_text(spec, "protocol", path, where="") or "")
    except ValueError:
        raise MappingError(path, line_of(spec, "protocol"), "protocol",
                           f"must be one of {[p.value for p in Protocol]}") from None
    interface = path.parent / (_text(spec, "interface", path, where="") or "")
    if not interface.is_file():
        raise MappingError(path, line_of(spec, "interface"), "interface", f"file {interface} not found")
    inquiry_spec = _section(spec, "inquiry", path, required=True)
    assert inquiry_spec is not None
    unknown = inquiry_spec.get("unknown_person")
    paging = inquiry_spec.get("paging")
    inquiry = Inquiry(
        operation=_text(inquiry_spec, "operation", path, where="inquiry.") or "",
        request=_request(inquiry_spec, path, "inquiry"),
        records=_text(inquiry_spec, "records", path, where="inquiry.") or ".",
        answered_at=_text(inquiry_spec, "answered_at", path, where="inquiry.", required=False),
        unknown_person=UnknownPerson(
            _text(unknown, "path", path, where="inquiry.unknown_person.") or "", unknown.get("equals"),
            unknown.get("otherwise")) if isinstance(unknown, Mapping) else None,
        paging=Paging(_text(paging, "request", path, where="inquiry.paging.") or "",
                      _text(paging, "next", path, where="inquiry.paging.") or "")
        if isinstance(paging, Mapping) else None,
        line=inquiry_spec.line,
    )
    batch_spec = _section(spec, "batch", path, required=False)
    batch = None
    if batch_spec is not None:
        refused = batch_spec.get("refused")
        batch = BatchInquiry(
            operation=_text(batch_spec, "operation", path, where="batch.") or "",
            request=_request(batch_spec, path, "batch"),
            persons=_text(batch_spec, "persons", path, where="batch.") or "",
            person_id=_text(batch_spec, "person_id", path, where="batch.") or "",
            records=_text(batch_spec, "records", path, where="batch.") or ".",
            refused=Refusal(_text(refused, "path", path, where="batch.refused.") or "",
                            _text(refused, "code", path, where="batch.refused.") or "",
                            _text(refused, "message", path, where="batch.refused.") or "")
            if isinstance(refused, Mapping) else None,
            answered_at=_text(batch_spec, "answered_at", path, where="batch.", required=False),
            request_id=_text(batch_spec, "request_id", path, where="batch.", required=False),
            line=batch_spec.line,
        )
        if "$person_ids" not in batch.request.values():
            raise MappingError(path, line_of(batch_spec, "request"), "batch.request", "no field is $person_ids")
    columns_spec = _section(spec, "columns", path, required=True)
    assert columns_spec is not None
    columns: dict[str, str] = {}
    for column, source in columns_spec.items():
        if column in HUB_COLUMNS:
            raise MappingError(path, line_of(columns_spec, column), f"columns.{column}",
                               "is filled by the hub, not mapped")
        columns[column] = str(source)
    contributes = _section(spec, "contributes", path, required=True)
    assert contributes is not None
    facts = assets = None
    if "facts" in contributes:
        facts_spec = contributes["facts"]
        labels_spec = facts_spec.get("labels") if isinstance(facts_spec, Mapping) else None
        if not isinstance(labels_spec, Mapping):
            raise MappingError(path, line_of(contributes, "facts"), "contributes.facts.labels", "is required")
        facts = Facts(_labels(facts_spec.get("title"), path, "contributes.facts.title"),
                      {str(c): _labels(v, path, f"contributes.facts.labels.{c}") for c, v in labels_spec.items()})
        for column in facts.labels:
            if column not in columns and column != "person_id":
                raise MappingError(path, line_of(labels_spec, column), f"contributes.facts.labels.{column}",
                                   "labels a column the mapping does not fill")
    if "assets" in contributes:
        assets = _assets(contributes["assets"], columns, path, line_of(contributes, "assets"), name)
    if facts is None and assets is None:
        raise MappingError(path, line_of(spec, "contributes"), "contributes", "declares neither facts nor assets")
    orders = _orders(spec, path, assets)
    _check_restriction_sources(path, assets, orders, spec.get("orders"))
    if orders and assets is None:
        raise MappingError(path, line_of(spec, "orders"), "orders",
                           "only a kind that contributes assets takes orders (contributes.assets)")
    if orders and "freeze" not in orders:
        raise MappingError(path, line_of(spec, "orders"), "orders.freeze",
                           "is required when the mapping declares orders")
    if "payout" in orders and not (assets is not None and assets.iban_accounts):
        raise MappingError(path, line_of(spec.get("orders"), "payout"), "orders.payout",
                           "pays a creditor's IBAN out of the court's account: only a kind whose "
                           "contributes.assets says iban_accounts: true holds it")
    return KindMapping(kind=kind, protocol=protocol, interface=interface, feed=_text(spec, "feed", path, where="")
                       or "", inquiry=inquiry, columns=columns, source=path,
                       binding=_text(spec, "binding", path, where="", required=False), batch=batch, facts=facts,
                       assets=assets, orders=orders, lines=dict(columns_spec.lines), top_lines=dict(spec.lines))


# --- the interface, as a tree of named nodes ----------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One element (SOAP) or property (JSON) of a message: a leaf of a type, or a record of children."""

    name: str
    repeated: bool = False
    leaf: str | None = None  # one of LEAF_TYPES; None for a record
    children: Mapping[str, Node] = field(default_factory=dict)
    required: bool = True
    namespace: str | None = None  # SOAP: the element's namespace

    def resolve(self, dotted: str) -> tuple[Node, bool]:
        """The node at ``dotted`` below this one, and whether a repeated node lies on the way (itself excluded)."""
        node, crossed = self, False
        if dotted in ("", "."):
            return node, False
        parts = dotted.split(".")
        for number, part in enumerate(parts):
            if number and node.repeated:
                crossed = True
            child = node.children.get(part)
            if child is None:
                raise KeyError(f"{part!r} is not in {node.name!r} (it has {sorted(node.children)})")
            node = child
        return node, crossed


@dataclass(frozen=True)
class Operation:
    name: str
    request: Node
    response: Node
    method: str = "POST"  # REST
    path: str = ""  # REST path template
    in_path: frozenset[str] = frozenset()  # REST: request fields in the path
    in_query: frozenset[str] = frozenset()  # REST: request fields in the query


@dataclass(frozen=True)
class Interface:
    path: Path
    protocol: Protocol
    operations: Mapping[str, Operation]
    binding: str | None = None


_XSD_LEAVES = {
    "string": "string", "normalizedString": "string", "token": "string", "anyURI": "string",
    "long": "int", "int": "int", "integer": "int", "short": "int", "nonNegativeInteger": "int",
    "positiveInteger": "int", "unsignedInt": "int", "unsignedLong": "int",
    "decimal": "number", "double": "number", "float": "number", "boolean": "bool",
    "date": "date", "dateTime": "datetime",
}


def _xsd_leaf(xsd_type: Any) -> str:
    seen = xsd_type
    while seen is not None:
        qname = getattr(seen, "qname", None)
        local = getattr(qname, "localname", None)
        if qname is not None and "XMLSchema" in (getattr(qname, "namespace", "") or "") and local in _XSD_LEAVES:
            return _XSD_LEAVES[local]
        base = getattr(seen, "base_class", None)
        seen = base if base is not None and base is not type(seen) else None
        if seen is not None and not hasattr(seen, "qname"):
            seen = None
    # zeep's builtins: the class name tells (String, Long, Boolean, Date, DateTime...)
    for klass in type(xsd_type).__mro__:
        lowered = klass.__name__[0].lower() + klass.__name__[1:]
        if lowered in _XSD_LEAVES:
            return _XSD_LEAVES[lowered]
    return "string"


def _soap_node(element: Any) -> Node:
    from lxml import etree
    from zeep.xsd.types.complex import ComplexType

    max_occurs = element.max_occurs
    repeated = max_occurs == "unbounded" or int(max_occurs) > 1
    qname = etree.QName(element.qname)
    required = int(element.min_occurs or 0) > 0
    if isinstance(element.type, ComplexType):
        children = {child.name: _soap_node(child) for _, child in element.type.elements}
        return Node(element.name, repeated, None, children, required, qname.namespace)
    return Node(element.name, repeated, _xsd_leaf(element.type), {}, required, qname.namespace)


_interfaces: dict[tuple[Path, int, str | None], Interface] = {}
_interfaces_lock = threading.Lock()


def load_interface(path: Path, protocol: Protocol, binding: str | None = None) -> Interface:
    """The operations ``path`` declares (parsed once per file version); ``ContractError`` when it cannot be read."""
    key = (path.resolve(), path.stat().st_mtime_ns, binding)
    with _interfaces_lock:
        known = _interfaces.get(key)
    if known is not None:
        return known
    interface = _soap_interface(path, binding) if protocol is Protocol.SOAP else _openapi_interface(path)
    with _interfaces_lock:
        _interfaces[key] = interface
    return interface


def soap_document(path: Path) -> Any:
    """zeep's parsed WSDL, read from the local file with the hardened settings (no network, no DTD)."""
    from zeep import Settings
    from zeep.transports import Transport
    from zeep.wsdl import Document

    settings = Settings(strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True,
                        forbid_external=True)
    return Document(str(path.resolve()), Transport(timeout=10, cache=None), settings=settings)  # type: ignore[arg-type]


def _soap_interface(path: Path, binding_name: str | None) -> Interface:
    try:
        document = soap_document(path)
    except Exception as exc:  # zeep raises many kinds; every one means "not a WSDL we can read"
        raise ContractError(f"{path}: not a readable WSDL: {exc}") from exc
    bindings = document.bindings
    if binding_name is None:
        if len(bindings) != 1:
            raise ContractError(f"{path}: {len(bindings)} bindings; the mapping must name one ({sorted(bindings)})")
        binding_name = next(iter(bindings))
    binding = bindings.get(binding_name)
    if binding is None:
        raise ContractError(f"{path}: no binding {binding_name!r} (it has {sorted(bindings)})")
    operations: dict[str, Operation] = {}
    for name, operation in binding._operations.items():
        try:
            request, response = _soap_node(operation.input.body), _soap_node(operation.output.body)
        except (AttributeError, TypeError, ValueError):
            continue  # an operation this module cannot describe (rpc style, attachments): not mappable
        operations[name] = Operation(name, request, response)
    return Interface(path, Protocol.SOAP, operations, binding_name)


def _ref(document: Any, schema: Any) -> Any:
    seen = 0
    while isinstance(schema, Mapping) and "$ref" in schema:
        target: Any = document
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        schema = target
        seen += 1
        if seen > 32:
            raise ContractError("a $ref cycle")
    return schema


def _json_node(document: Any, name: str, schema: Any, *, required: bool = True, depth: int = 0) -> Node:
    schema = _ref(document, schema)
    if depth > 16 or not isinstance(schema, Mapping):
        return Node(name, leaf="string", required=required)
    kind = schema.get("type")
    if kind == "array":
        item = _json_node(document, name, schema.get("items") or {}, required=required, depth=depth + 1)
        return Node(name, True, item.leaf, item.children, required)
    if kind == "object" or "properties" in schema:
        needed = set(schema.get("required") or [])
        children = {str(k): _json_node(document, str(k), v, required=k in needed, depth=depth + 1)
                    for k, v in (schema.get("properties") or {}).items()}
        return Node(name, False, None, children, required)
    fmt = schema.get("format")
    leaf = {"integer": "int", "number": "number", "boolean": "bool"}.get(str(kind), "string")
    if kind == "string" and fmt == "date":
        leaf = "date"
    elif kind == "string" and fmt == "date-time":
        leaf = "datetime"
    return Node(name, leaf=leaf, required=required)


def _openapi_interface(path: Path) -> Interface:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        paths = document["paths"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ContractError(f"{path}: not a readable OpenAPI document: {exc}") from exc
    operations: dict[str, Operation] = {}
    for template, item in (paths or {}).items():
        for method, spec in (item or {}).items():
            if method not in ("get", "post", "put") or not isinstance(spec, Mapping) or "operationId" not in spec:
                continue
            params = [_ref(document, p) for p in spec.get("parameters") or []]
            in_path = frozenset(str(p["name"]) for p in params if p.get("in") == "path")
            in_query = frozenset(str(p["name"]) for p in params if p.get("in") == "query")
            children = {str(p["name"]): _json_node(document, str(p["name"]), p.get("schema") or {},
                                                   required=bool(p.get("required"))) for p in params
                        if p.get("in") in ("path", "query")}
            body = (((spec.get("requestBody") or {}).get("content") or {}).get("application/json") or {})
            if body.get("schema"):
                children.update(_json_node(document, "body", body["schema"]).children)
            responses = spec.get("responses") or {}
            answer = responses.get(200) or responses.get("200") or {}
            content = ((_ref(document, answer).get("content") or {}).get("application/json") or {})
            response = _json_node(document, "answer", content.get("schema") or {})
            operations[str(spec["operationId"])] = Operation(
                str(spec["operationId"]), Node("request", children=children), response, method.upper(),
                str(template), in_path, in_query)
    return Interface(path, Protocol.REST, operations)


# --- checking a mapping against its interface ----------------------------------------------------------


def _check_request(mapping: KindMapping, operation: Operation, request: Mapping[str, str], where: str,
                   line: int) -> None:
    path = mapping.source
    for name, source in request.items():
        node = operation.request.children.get(name)
        if node is None:
            raise MappingError(path, line, f"{where}.request.{name}",
                               f"{operation.name} has no request field {name!r} "
                               f"(it has {sorted(operation.request.children)})")
        if source == "$person_ids" and not node.repeated:
            raise MappingError(path, line, f"{where}.request.{name}", "takes one value, not the list of persons")
    missing = [n for n, node in operation.request.children.items()
               if node.required and n not in request and node.leaf is not None]
    if missing:
        raise MappingError(path, line, f"{where}.request",
                           f"{operation.name} requires {missing}, which the mapping does not fill")


def _operation(mapping: KindMapping, interface: Interface, name: str, where: str, line: int) -> Operation:
    operation = interface.operations.get(name)
    if operation is None:
        raise MappingError(mapping.source, line, f"{where}.operation",
                           f"{interface.path.name} has no operation {name!r} (it has {sorted(interface.operations)})")
    return operation


def _resolve(mapping: KindMapping, node: Node, dotted: str, where: str, line: int) -> tuple[Node, bool]:
    try:
        return node.resolve(dotted)
    except KeyError as exc:
        raise MappingError(mapping.source, line, where, f"path {dotted!r} does not resolve: {exc.args[0]}") from None


def record_node(mapping: KindMapping, interface: Interface) -> Node:
    """The node of one record in the single inquiry's answer (the columns' paths start there)."""
    response = interface.operations[mapping.inquiry.operation].response
    node, _ = response.resolve(mapping.inquiry.records)
    return node


def check_mapping(mapping: KindMapping, column_types: Mapping[str, str], nullable: frozenset[str],
                  interface: Interface | None = None) -> Interface:
    """Refuse a mapping that does not fit its interface or its feed (``column_types``: column -> contract type).

    Checks: the operations exist; every request field exists and every required one is filled; every answer path
    resolves; every column's interface type casts to the contract's column type; every column the contract requires
    is filled.
    """
    interface = interface or load_interface(mapping.interface, mapping.protocol, mapping.binding)
    path = mapping.source
    inquiry = mapping.inquiry
    single = _operation(mapping, interface, inquiry.operation, "inquiry", inquiry.line)
    _check_request(mapping, single, inquiry.request, "inquiry", inquiry.line)
    record, _ = _resolve(mapping, single.response, inquiry.records, "inquiry.records", inquiry.line)
    for label, dotted in (("answered_at", inquiry.answered_at),
                          ("unknown_person.path", inquiry.unknown_person.path if inquiry.unknown_person else None),
                          ("paging.next", inquiry.paging.next if inquiry.paging else None)):
        if dotted:
            _resolve(mapping, single.response, dotted, f"inquiry.{label}", inquiry.line)
    if inquiry.paging and inquiry.paging.request not in single.request.children:
        raise MappingError(path, inquiry.line, "inquiry.paging.request",
                           f"{single.name} has no request field {inquiry.paging.request!r}")
    if mapping.batch is not None:
        batch = mapping.batch
        operation = _operation(mapping, interface, batch.operation, "batch", batch.line)
        _check_request(mapping, operation, batch.request, "batch", batch.line)
        entry, _ = _resolve(mapping, operation.response, batch.persons, "batch.persons", batch.line)
        _resolve(mapping, entry, batch.person_id, "batch.person_id", batch.line)
        batch_record, _ = _resolve(mapping, entry, batch.records, "batch.records", batch.line)
        if batch.refused:
            for label, dotted in (("path", batch.refused.path), ("code", batch.refused.code),
                                  ("message", batch.refused.message)):
                _resolve(mapping, entry, dotted, f"batch.refused.{label}", batch.line)
        for label, dotted in (("answered_at", batch.answered_at), ("request_id", batch.request_id)):
            if dotted:
                _resolve(mapping, operation.response, dotted, f"batch.{label}", batch.line)
        if set(batch_record.children) != set(record.children) or batch_record.leaf != record.leaf:
            raise MappingError(path, batch.line, "batch.records",
                               "the batch answer's records differ from the single answer's")
    for column, source in mapping.columns.items():
        line = mapping.lines.get(column, 0)
        if column not in column_types:
            raise MappingError(path, line, f"columns.{column}", f"feed {mapping.feed!r} has no column {column!r}")
        target = column_types[column]
        if source == "$person_id" or source.startswith("="):
            if source.startswith("=") and target not in ("string",):
                _cast_literal(mapping, column, source[1:], target, line)
            continue
        node, crossed = _resolve(mapping, record, source, f"columns.{column}", line)
        if node.leaf is None:
            raise MappingError(path, line, f"columns.{column}", f"path {source!r} is a record, not a value")
        if (node.repeated or crossed) and target != "string":
            raise MappingError(path, line, f"columns.{column}",
                               f"path {source!r} repeats; only a string column can hold its values joined")
        if node.leaf not in CASTABLE.get(target, frozenset()):
            raise MappingError(path, line, f"columns.{column}",
                               f"{interface.path.name} types {source!r} as {node.leaf}, which does not cast to the "
                               f"contract's {target}")
    for order in mapping.orders.values():
        _check_order(mapping, interface, order)
    if mapping.assets is not None:
        for role in ("value", "protected"):
            amount = asset_columns(mapping.assets).get(role)
            if amount is not None and column_types.get(amount) != "int64":
                raise MappingError(path, mapping.assets.lines.get(role, mapping.assets.line),
                                   f"contributes.assets.{role}",
                                   f"names {amount!r}, typed {column_types.get(amount)} in feed {mapping.feed!r}: "
                                   f"an amount must be an int64 column (minor units)")
    needed = sorted(c for c in column_types if c not in HUB_COLUMNS and c not in nullable and c not in mapping.columns)
    if needed:
        raise MappingError(path, mapping.top_lines.get("columns", 0), "columns",
                           f"feed {mapping.feed!r} requires {needed}, which the mapping does not fill")
    return interface


#: The interface leaf types an acknowledgement's fields may have.
_ACK_LEAVES: dict[str, frozenset[str]] = {
    "amount": frozenset({"int"}), "frozen_total": frozenset({"int"}), "status": frozenset({"string", "int", "bool"}),
    "order_id": frozenset({"string"}), "acknowledged_at": frozenset({"datetime", "date", "string"}),
    "reason": frozenset({"string"}),
}


def _check_order(mapping: KindMapping, interface: Interface, order: OrderOperation) -> None:
    """An order operation must exist, its request fit, and each acknowledgement path resolve to a value of its
    type (amounts are integers)."""
    where = f"orders.{order.kind}"
    operation = _operation(mapping, interface, order.operation, where, order.lines.get("operation", order.line))
    _check_request(mapping, operation, order.request, where, order.lines.get("request", order.line))
    for role, dotted in (("status", order.status), ("amount", order.amount), ("frozen_total", order.frozen_total),
                         ("order_id", order.order_id), ("acknowledged_at", order.acknowledged_at),
                         ("reason", order.reason)):
        if dotted is None:
            continue
        line = order.lines.get(role, order.line)
        node, crossed = _resolve(mapping, operation.response, dotted, f"{where}.{role}", line)
        if node.leaf is None or node.repeated or crossed:
            raise MappingError(mapping.source, line, f"{where}.{role}", f"path {dotted!r} is not one value")
        if node.leaf not in _ACK_LEAVES[role]:
            raise MappingError(mapping.source, line, f"{where}.{role}",
                               f"{interface.path.name} types {dotted!r} as {node.leaf}, not "
                               f"{' or '.join(sorted(_ACK_LEAVES[role]))}")


def order_fields(order: OrderOperation, *, order_id: str, case_id: str, asset_ref: str, amount_rial: int,
                 issued_at: datetime, agency_id: str, cancels: str | None = None,
                 asset_ref_parts: Sequence[str] = (), separator: str = ASSET_REF_SEPARATOR,
                 restriction: str | None = None) -> dict[str, Any]:
    """The order request's fields filled from an order; ``ValueError`` when the order cannot be said in the
    agency's terms (a composed reference without its parts, a cancel naming no order). ``separator`` joins a
    composed reference's parts (``contributes.assets.asset_ref_separator``); ``restriction`` is the type a freeze
    carries (``restriction_of``)."""
    values: dict[str, Any] = {"$order_id": order_id, "$case_id": case_id, "$asset_ref": asset_ref,
                              "$amount_rial": amount_rial, "$issued_at": issued_at.isoformat(),
                              "$agency_id": agency_id, "$cancels": cancels, RESTRICTION_SOURCE: restriction}
    wanted = set(order.request.values())
    if "$cancels" in wanted and not cancels:
        raise ValueError(f"{order.kind} order {order_id} names no order to cancel")
    if asset_ref_parts and any(s.startswith(ASSET_REF_PART) for s in wanted):
        split = asset_ref.split(separator, len(asset_ref_parts) - 1)
        if len(split) != len(asset_ref_parts) or not all(split):
            raise ValueError(f"asset_ref {asset_ref!r} is not of the form {separator.join(asset_ref_parts)}")
        values.update({ASSET_REF_PART + part: value for part, value in zip(asset_ref_parts, split, strict=True)})
    return {name: values[source] if source in values else source[1:] for name, source in order.request.items()}


def restriction_of(assets: AssetContribution | None, asked: str | None) -> str | None:
    """The restriction type a freeze of this kind carries: the one the order asks for, else the mapping's default;
    ``ValueError`` for a type the kind does not declare. None for a kind without restrictions."""
    if assets is None or not assets.restrictions:
        return None
    restriction = str(asked) if asked else assets.restriction_default
    if restriction not in assets.restrictions:
        raise ValueError(f"restriction {restriction!r} is not one of the kind's {list(assets.restrictions)}")
    return restriction


def join_asset_ref(assets: AssetContribution, record: Mapping[str, Any]) -> str:
    """The asset reference of a record (its feed's columns): its column, or a composed reference's parts joined
    (``split_asset_ref`` reads it back)."""
    return assets.asset_ref_separator.join(str(record.get(column)) for column in assets.ref_columns)


def split_asset_ref(assets: AssetContribution, asset_ref: str) -> dict[str, str] | None:
    """A composed asset reference's parts by column (None when it is not of the composed form)."""
    if not assets.asset_ref_parts:
        return {assets.asset_ref: asset_ref}
    split = asset_ref.split(assets.asset_ref_separator, len(assets.asset_ref_parts) - 1)
    if len(split) != len(assets.asset_ref_parts) or not all(split):
        return None
    return dict(zip(assets.asset_ref_parts, split, strict=True))


def _cast_literal(mapping: KindMapping, column: str, text: str, target: str, line: int) -> None:
    try:
        cast(text, target)
    except (TypeError, ValueError) as exc:
        raise MappingError(mapping.source, line, f"columns.{column}",
                           f"literal {text!r} does not cast to {target}: {exc}") from None


# --- reading values ------------------------------------------------------------------------------


def values_at(record: Any, dotted: str) -> list[Any]:
    """Every value at ``dotted`` below ``record`` (dicts and lists of dicts, as answers are read)."""
    if type(record) is dict and dotted and "." not in dotted:  # a record's own field: most paths of most mappings
        value = record.get(dotted)
        return [] if value is None else list(value) if type(value) is list else [value]
    current: list[Any] = [record]
    if dotted in ("", "."):
        return [v for v in current if v is not None]
    for part in dotted.split("."):
        following: list[Any] = []
        for item in current:
            items = item if isinstance(item, list) else [item]
            for one in items:
                if isinstance(one, Mapping) and one.get(part) is not None:
                    value = one[part]
                    following.extend(value if isinstance(value, list) else [value])
        current = following
    return current


def value_at(record: Any, dotted: str) -> Any:
    """The one value at ``dotted`` (None when absent)."""
    found = values_at(record, dotted)
    return found[0] if found else None


def cast(value: Any, target: str) -> Any:
    """``value`` (as an interface gave it: text from JSON, typed from XML) as the contract type ``target``."""
    if value is None:
        return None
    if target == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime | date):
            return value.isoformat()
        return str(value)
    if target == "int64":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"{value!r} is not an integer")
        return int(value)
    if target == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(f"{value!r} is not a boolean")
    if target == "date":
        if isinstance(value, datetime):
            raise ValueError(f"{value!r} is a moment, not a date")
        if isinstance(value, date):
            return value
        return date.fromisoformat(str(value))
    if target == "timestamp":
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone")
        return moment.astimezone(UTC)
    raise ValueError(f"unknown contract type {target!r}")


def read_columns(mapping: KindMapping, record: Any, person_id: str, column_types: Mapping[str, str]) -> dict[str, Any]:
    """One answer record as the feed's columns (``ValueError`` naming the column when one does not cast)."""
    row: dict[str, Any] = {}
    for column, source in mapping.columns.items():
        target = column_types.get(column, "string")
        if source == "$person_id":
            value: Any = person_id
        elif source.startswith("="):
            value = source[1:]
        else:
            found = values_at(record, source)
            value = ", ".join(str(cast(v, "string")) for v in found) if len(found) > 1 else (
                found[0] if found else None)
        if type(value) is str and target == "string":  # most columns: already what the contract holds
            row[column] = value
            continue
        try:
            row[column] = cast(value, target)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{column}: {exc}") from None
    return row


def request_fields(request: Mapping[str, str], *, person_id: str | None = None,
                   person_ids: Sequence[str] = (), request_id: str = "", page: int | None = None) -> dict[str, Any]:
    """The request's fields filled from the person(s) asked."""
    fields: dict[str, Any] = {}
    for name, source in request.items():
        if source == "$person_id":
            fields[name] = person_id
        elif source == "$person_ids":
            fields[name] = list(person_ids)
        elif source == "$request_id":
            fields[name] = request_id
        elif source == "$page":
            fields[name] = page if page is not None else 1
        else:
            fields[name] = source[1:]
    return fields


# --- every kind's mapping ------------------------------------------------------------------------------


@cache
def _mappings_in(folder: Path, stamp: tuple[tuple[str, int], ...]) -> dict[AgencyKind, KindMapping]:
    mappings: dict[AgencyKind, KindMapping] = {}
    for name, _ in stamp:
        mapping = parse_mapping(folder / name)
        mappings[mapping.kind] = mapping
    return mappings


def mappings_in(folder: Path) -> dict[AgencyKind, KindMapping]:
    """Every ``<kind>.yaml`` of ``folder`` (parsed once per version of the files)."""
    if not folder.is_dir():
        return {}
    stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml"))
                  if not p.name.endswith(".openapi.yaml"))  # interface files live beside their mappings
    return _mappings_in(folder.resolve(), stamp)


def mapping_at(path: Path) -> KindMapping:
    """The mapping file at ``path`` (parsed once per version of the file)."""
    return mappings_in(path.parent)[AgencyKind(path.stem)]


def feed_column_types(mapping: KindMapping) -> dict[str, str]:
    """The contract type of each column of the mapping's feed (``<contracts>/feeds/<feed>.yaml``, the contracts
    folder being the one holding ``kinds/``)."""
    path = mapping.source.parent.parent / "feeds" / f"{mapping.feed}.yaml"
    spec = _feed_spec(path, path.stat().st_mtime_ns if path.is_file() else 0)
    return {str(c["name"]): str(c["type"]) for c in spec.get("columns") or []}


@cache
def _feed_spec(path: Path, stamp: int) -> Any:
    if not stamp:
        raise ContractError(f"{path}: the feed contract of a mapped kind is missing")
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def iter_labels(mapping: KindMapping) -> Iterator[tuple[str, Mapping[str, str]]]:
    if mapping.facts is not None:
        yield from mapping.facts.labels.items()


__all__ = ["ACK_STATUSES", "ASSET_REF_PART", "ASSET_REF_SEPARATOR", "BUILT_IN_ASSET_KINDS", "CASTABLE", "HUB_COLUMNS",
           "ORDER_KINDS", "RESTRICTION_SOURCE", "AssetContribution",
           "Interface", "KindMapping", "MappingError", "Node", "Operation", "OrderOperation", "ProtectedWhen",
           "asset_columns", "cast", "check_mapping", "join_asset_ref", "load_interface", "load_located", "mappings_in",
           "order_fields", "parse_mapping", "read_columns", "request_fields", "restriction_of", "split_asset_ref",
           "value_at",
           "values_at"]
