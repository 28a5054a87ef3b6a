"""The message-log hook: every message a client puts on the wire, and every answer it reads, handed to a recorder.

The clients know the exact bytes (the SOAP envelope zeep posts, the JSON body httpx sends, the answer
as read); the hub knows why a call is made (the case, the persons, the declared purpose) and where the
record is kept. This module joins the two without the connectors knowing about the record:

- the caller opens an :func:`exchange` around a client call, naming the recorder, the purpose, the
  case and the persons; the :class:`Exchange` it yields collects the message id of every attempt;
- the client's transport, around each HTTP attempt, opens :func:`call_site` (agency, operation,
  request id) and hands both sides to :func:`record`, which builds one :class:`WireMessage` pair
  with a fresh message id and passes it to the exchange's recorder.

With no exchange open (a bare client in a test, a benchmark) nothing is recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from estelam.core import clock


class Direction(StrEnum):
    """Which way a message travelled, seen from the hub."""

    OUTBOUND = "outbound"  # the hub's request or order
    INBOUND = "inbound"  # the agency's answer, acknowledgement or fault


@dataclass(frozen=True)
class WireMessage:
    """One message as it was on the wire: the exact bytes and where they went."""

    message_id: str  # one id per exchange: the request and its answer share it
    agency_id: str
    operation: str
    direction: Direction
    request_id: str | None
    at: datetime
    body: bytes
    http_status: int | None = None
    error: str | None = None  # why no answer was read (timeout, refused connection)


class MessageRecorder(Protocol):
    """Where messages go: the hub's message log (``estelam.access.message_log``)."""

    def record_exchange(self, messages: Sequence[WireMessage], exchange: Exchange) -> None:
        """Keep the messages of one attempt (the request, and the answer if one was read)."""
        ...


@dataclass
class Exchange:
    """Why a client call is made, and the ids of the messages it produced (one per attempt, in order)."""

    recorder: MessageRecorder
    purpose: str
    case_ids: tuple[str, ...] = ()
    person_ids: tuple[str, ...] = ()
    message_ids: list[str] = field(default_factory=list)

    @property
    def message_id(self) -> str | None:
        """The message id of the last attempt: the one whose answer (or failure) the caller holds."""
        return self.message_ids[-1] if self.message_ids else None


@dataclass(frozen=True)
class CallSite:
    agency_id: str
    operation: str
    request_id: str | None


_exchange: ContextVar[Exchange | None] = ContextVar("estelam_exchange", default=None)
_call_site: ContextVar[CallSite | None] = ContextVar("estelam_call_site", default=None)


@contextmanager
def exchange(recorder: MessageRecorder, *, purpose: str, case_ids: Sequence[str] = (),
             person_ids: Sequence[str] = ()) -> Iterator[Exchange]:
    """Record every message of the client calls made inside the block, under this purpose."""
    current = Exchange(recorder, purpose, tuple(dict.fromkeys(case_ids)), tuple(dict.fromkeys(person_ids)))
    token = _exchange.set(current)
    try:
        yield current
    finally:
        _exchange.reset(token)


@contextmanager
def call_site(agency_id: str, operation: str, request_id: str | None) -> Iterator[None]:
    """Name the call a transport is about to make (set by the clients around each operation)."""
    token = _call_site.set(CallSite(agency_id, operation, request_id))
    try:
        yield
    finally:
        _call_site.reset(token)


def recording() -> bool:
    """Whether a recorder is listening (the transports skip building messages otherwise)."""
    return _exchange.get() is not None


def record(request: bytes, answer: bytes | None, *, sent_at: datetime, http_status: int | None = None,
           error: str | None = None, operation: str | None = None) -> str | None:
    """Hand one attempt's bytes to the open exchange's recorder; the new message id (``None`` if none listens)."""
    current = _exchange.get()
    site = _call_site.get()
    if current is None or site is None:
        return None
    message_id = uuid.uuid4().hex
    name = operation or site.operation
    messages = [WireMessage(message_id, site.agency_id, name, Direction.OUTBOUND, site.request_id, sent_at, request)]
    if answer is not None or error is not None:
        messages.append(WireMessage(message_id, site.agency_id, name, Direction.INBOUND, site.request_id,
                                    clock.now(), answer or b"", http_status, error))
    current.message_ids.append(message_id)
    current.recorder.record_exchange(messages, current)
    return message_id


__all__ = [
    "CallSite",
    "Direction",
    "Exchange",
    "MessageRecorder",
    "WireMessage",
    "call_site",
    "exchange",
    "record",
    "recording",
]
