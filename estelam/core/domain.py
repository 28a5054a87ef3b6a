"""Domain types shared by the hub, its connectors and the agency simulators.

Money is always an integer number of rials; time is always timezone-aware UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

_KIND_NAME = re.compile(r"[a-z][a-z0-9_]{1,62}")


class AgencyKind(str):
    """An agency kind's name: data, not code. The registry loads the kinds (``contracts/agencies.yaml`` and
    ``contracts/kinds/*.yaml``) and refuses an instance of a kind it did not load; this type only checks the name's
    shape. Equal names are one object, so ``kind is AgencyKind("bank")`` holds for a kind read from a file. No kind
    is named in code: what a kind does (a bank's accounts named by IBAN) its mapping says, and the registry asks it."""

    _interned: ClassVar[dict[str, AgencyKind]] = {}

    def __new__(cls, value: str) -> AgencyKind:
        known = cls._interned.get(value)
        if known is not None:
            return known
        if not isinstance(value, str) or not _KIND_NAME.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid AgencyKind name (lower-case letters, digits and _)")
        kind = super().__new__(cls, value)
        return cls._interned.setdefault(value, kind)

    def __repr__(self) -> str:
        return f"AgencyKind({str.__str__(self)!r})"

    def __str__(self) -> str:
        return str.__str__(self)

    @property
    def value(self) -> str:
        """The name, as ``StrEnum`` members had it."""
        return str.__str__(self)


class Protocol(StrEnum):
    SOAP = "soap"
    REST = "rest"


class PersonKind(StrEnum):
    NATURAL = "natural"
    LEGAL = "legal"


class OrderKind(StrEnum):
    FREEZE = "freeze"
    RELEASE = "release"
    TRANSFER = "transfer"  # move frozen money to the court's account (the judge ordered collection)
    #: pay collected money from the court's account to the creditor's account (asset_ref: the creditor's IBAN)
    PAYOUT = "payout"
    #: cancel an order the judge withdrew (``FreezeOrder.cancels``): undone if applied, refused if it arrives later
    CANCEL = "cancel"


class RestrictionType(StrEnum):
    """What a restriction forbids, as a judge directs it; a kind's mapping declares which its freezes carry
    (``contributes.assets.restrictions``: the vehicle registry's ``restrictionType``)."""

    TRANSFER = "transfer"  # no change of owner
    CIRCULATION = "circulation"  # off the road
    SEIZURE = "seizure"  # impounded


class AckStatus(StrEnum):
    DONE = "done"
    PARTIAL = "partial"
    REFUSED = "refused"
    UNKNOWN_ASSET = "unknown_asset"


class InquiryStatus(StrEnum):
    ANSWERED = "answered"
    FAILED = "failed"
    REJECTED = "rejected"
    DEADLINE_MISSED = "deadline_missed"  # no usable answer within the agency's reply deadline


class CaseEventType(StrEnum):
    FILED = "filed"
    REFERRED = "referred"
    NOTIFIED = "notified"
    INVOICED = "invoiced"
    PAID = "paid"
    FREEZE_ORDERED = "freeze_ordered"
    RELEASED = "released"
    CLOSED = "closed"
    #: the debtor proved a payment made outside the court: the registry drops the entry at once
    PAYMENT_PROVED = "payment_proved"
    #: the convict absconded / was caught: the register of fugitive convicts
    ABSCONDED = "absconded"
    APPREHENDED = "apprehended"


@dataclass(frozen=True)
class TlsOptions:
    """How a connector checks an agency's certificate and proves its own (paths to PEM files)."""

    ca_file: str | None = None  # trust these CAs instead of the system store
    client_cert: str | None = None  # the hub's certificate, for agencies that demand mutual TLS
    client_key: str | None = None  # its private key, when not inside ``client_cert``


#: What the message log keeps of an agency's messages: the bodies too, or only their metadata and hashes.
MessageLogMode = Literal["full", "metadata"]
MESSAGE_LOG_MODES: tuple[MessageLogMode, ...] = ("full", "metadata")


@dataclass(frozen=True)
class AgencyInstance:
    """One partner agency endpoint, as declared in ``contracts/agencies.yaml``."""

    agency_id: str
    kind: AgencyKind
    name: str
    protocol: Protocol
    contract: str  # path of the WSDL/OpenAPI file (the registry loader makes it absolute)
    endpoint: str  # base URL
    reply_deadline_s: float
    timeout_s: float
    name_fa: str = ""
    rate_limit_per_s: float | None = None  # calls per second the agency accepts from the hub; None: no limit
    credentials: str | None = None  # reference to the hub's secret at this agency: "env:NAME" or "file:PATH"
    demo_credentials: bool = False  # an absent secret falls back to the demo secret the simulators expect
    tls: TlsOptions | None = None
    iban_bank_code: str | None = None  # banks only: the 3-digit code inside every IBAN the bank issues
    message_log: MessageLogMode = "full"  # "metadata": the message log keeps this agency's hashes, not bodies
    name_ar: str = ""  # the name in Arabic (a notice in Arabic); the English name when empty
    mapping_file: str | None = None  # a kind declared by a mapping: its file (contracts/kinds/<kind>.yaml)

    def display_name(self, language: str) -> str:
        """The agency's name as a notice in ``language`` (fa, ar, en) names it."""
        if language == "en":
            return self.name
        if language == "ar":
            return self.name_ar or self.name  # a Persian name is not Arabic: English is read more widely
        return self.name_fa or self.name


@dataclass(frozen=True)
class FeedRecord:
    """One record of a kind declared by a mapping (``contracts/kinds/``): its feed's columns, as the mapping read
    them from the answer (the hub adds inquiry_id, agency_id and responded_at when it lands them)."""

    person_id: str
    values: Mapping[str, Any]


#: What an agency's answer lists: its kind's records, as its mapping reads them.
Asset = FeedRecord


@dataclass(frozen=True)
class InquiryAnswer:
    """What one agency said about one person."""

    agency_id: str
    person_id: str
    request_id: str
    assets: tuple[Asset, ...]
    responded_at: datetime


@dataclass(frozen=True)
class FreezeOrder:
    """An order to block (or lift a block on) one asset, up to an amount, for one case.

    ``order_id`` is the idempotency key: agencies apply an order id at most once.
    """

    order_id: str
    kind: OrderKind
    case_id: str
    agency_id: str
    asset_ref: str
    amount_rial: int
    issued_at: datetime
    restriction_type: RestrictionType | None = None  # a freeze on an asset of a kind declaring restrictions
    # (contributes.assets.restrictions: a vehicle): what the restriction forbids
    cancels: str | None = None  # cancel orders only: the id of the order cancelled


@dataclass(frozen=True)
class Acknowledgement:
    """An agency's answer to a freeze or release order."""

    order_id: str
    agency_id: str
    case_id: str
    asset_ref: str
    status: AckStatus
    acknowledged_amount_rial: int  # how much this order actually blocked or released
    frozen_total_rial: int  # what the agency holds frozen for (case, asset) after the order
    acknowledged_at: datetime
    reason: str = ""
    extra: dict[str, str] = field(default_factory=dict)
