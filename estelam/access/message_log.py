"""The message log: every message the hub exchanges with an agency, time-stamped, hashed, sealed, kept.

Modelled on X-Road's message log. For every message — inquiry requests and answers (single and
batch), freeze, release and transfer orders and their acknowledgements, inbound acknowledgements
over SOAP and REST — one entry in a hash-chained, signed log (:mod:`estelam.access.chain`) holds:
message id (a request and its answer share it), agency, operation, direction, request id, the
purpose, case and person ids where known, time (UTC), size, SHA-256 of the exact bytes on the wire,
and where the body is kept. The body itself is stored gzip-compressed under
``<data>/messages/bodies/YYYY/MM/DD/`` unless the agency's registry entry says ``message_log: metadata``.

Bodies are personal data: only the roles :data:`BODY_READERS` read them (through the API), and they
are kept ``ESTELAM_MESSAGE_RETENTION_DAYS`` (:meth:`MessageLog.purge_expired` deletes older ones; the
entry and its hash stay, so the record of the exchange outlives the copy of its content).

:meth:`MessageLog.verify` runs the chain's checks and re-hashes every stored body.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from connectors.message_hook import Direction, Exchange, WireMessage
from estelam.access import checkpoints
from estelam.access.chain import ChainStore, FileChainStore, PostgresChainStore, Verification, verify
from estelam.access.checkpoints import Checkpoint
from estelam.contracts.registry import load_agency_registry
from estelam.core import clock, settings
from estelam.core.domain import MessageLogMode
from estelam.core.exceptions import RecordError

logger = logging.getLogger(__name__)

LOG_NAME = "messages"
ROOT = Path("messages")
INDEX_FILE = "index.jsonl"
CHECKPOINT_FILE = Path("checkpoints") / "messages.jsonl"
BODIES = "bodies"
#: Roles that may read a message's body (it holds persons' data as the agency sent it).
BODY_READERS = frozenset({"auditor"})


def default_root() -> Path:
    return settings.data_dir() / ROOT


@dataclass(frozen=True)
class LoggedMessage:
    """One entry of the message log, as read back."""

    seq: int
    message_id: str
    direction: str
    agency_id: str
    operation: str
    request_id: str | None
    at: str
    size_bytes: int
    sha256: str
    body: str | None  # path of the stored body relative to the log's root; None: metadata only or purged
    http_status: int | None
    error: str | None
    purpose: str
    case_ids: tuple[str, ...]
    person_ids: tuple[str, ...]
    retain_until: str

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> LoggedMessage:
        return cls(seq=int(fields["seq"]), message_id=str(fields["message_id"]), direction=str(fields["direction"]),
                   agency_id=str(fields["agency_id"]), operation=str(fields["operation"]),
                   request_id=fields.get("request_id"), at=str(fields["at"]), size_bytes=int(fields["size_bytes"]),
                   sha256=str(fields["sha256"]), body=fields.get("body"), http_status=fields.get("http_status"),
                   error=fields.get("error"), purpose=str(fields.get("purpose", "")),
                   case_ids=tuple(fields.get("case_ids") or ()), person_ids=tuple(fields.get("person_ids") or ()),
                   retain_until=str(fields.get("retain_until", "")))


class MessageLog:
    """The message log of one deployment; a ``connectors.message_hook.MessageRecorder``."""

    def __init__(self, root: Path | None = None, *, store: ChainStore | None = None,
                 modes: Mapping[str, MessageLogMode] | None = None) -> None:
        self.root = root or default_root()
        if store is None:
            database = settings.current().record_database
            if database and root is None:
                store = PostgresChainStore(LOG_NAME, database)
            else:
                checkpoint_path = (settings.data_dir() / CHECKPOINT_FILE if root is None
                                   else self.root / "checkpoints.jsonl")
                store = FileChainStore(LOG_NAME, self.root / INDEX_FILE, checkpoint_path)
        self.store = store
        self.modes = dict(modes or {})  # agency_id -> mode; absent: full
        self.retention = timedelta(days=settings.current().message_retention_days)

    # --- writing ------------------------------------------------------------------------------------

    def record_exchange(self, messages: Sequence[WireMessage], exchange: Exchange) -> None:
        """Keep one attempt's messages: bodies first (so an entry never names a body that is not there)."""
        payloads = [self._payload(message, exchange) for message in messages]
        self.store.append(payloads, checkpoints.signer())

    def record_inbound(self, *, agency_id: str, operation: str, request_id: str | None, body: bytes,
                       answer: bytes | None, http_status: int, purpose: str, case_ids: Sequence[str] = (),
                       person_ids: Sequence[str] = (), message_id: str) -> None:
        """Keep a message an agency sent the hub (an acknowledgement pushed over SOAP or REST) and the hub's reply."""
        now = clock.now()
        exchange = Exchange(self, purpose, tuple(case_ids), tuple(person_ids))
        messages = [WireMessage(message_id, agency_id, operation, Direction.INBOUND, request_id, now, body)]
        if answer is not None:
            messages.append(WireMessage(message_id, agency_id, operation, Direction.OUTBOUND, request_id, now, answer,
                                        http_status))
        self.record_exchange(messages, exchange)

    def _payload(self, message: WireMessage, exchange: Exchange) -> dict[str, Any]:
        digest = hashlib.sha256(message.body).hexdigest()
        body_path: str | None = None
        if self.modes.get(message.agency_id, "full") == "full":
            body_path = self._store_body(message, digest)
        return {
            "message_id": message.message_id, "direction": str(message.direction), "agency_id": message.agency_id,
            "operation": message.operation, "request_id": message.request_id, "at": message.at.isoformat(),
            "size_bytes": len(message.body), "sha256": digest, "body": body_path,
            "http_status": message.http_status, "error": message.error, "purpose": exchange.purpose,
            "case_ids": list(exchange.case_ids), "person_ids": list(exchange.person_ids),
            "retain_until": (message.at + self.retention).isoformat(),
        }

    def _store_body(self, message: WireMessage, digest: str) -> str:
        relative = Path(BODIES, message.at.strftime("%Y/%m/%d"), f"{message.message_id}.{message.direction}.gz")
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        # mtime=0: the same bytes always compress to the same file
        temporary.write_bytes(gzip.compress(message.body, compresslevel=6, mtime=0))
        os.replace(temporary, path)
        return relative.as_posix()

    # --- reading ------------------------------------------------------------------------------------

    def messages(self) -> Iterator[LoggedMessage]:
        """Every readable entry, oldest first (damaged lines are skipped; :meth:`verify` names them)."""
        for stored in self.store.stored():
            if stored.fields is not None:
                try:
                    yield LoggedMessage.from_fields(stored.fields)
                except (KeyError, TypeError, ValueError):
                    continue

    def body(self, message_id: str, direction: str) -> bytes:
        """The exact bytes of one message, checked against its recorded hash."""
        for message in self.messages():
            if message.message_id == message_id and message.direction == direction:
                if message.body is None:
                    raise RecordError(f"message {message_id} ({direction}): body not kept (metadata only or purged)")
                data = gzip.decompress((self.root / message.body).read_bytes())
                if hashlib.sha256(data).hexdigest() != message.sha256:
                    raise RecordError(f"message {message_id} ({direction}): stored body does not match its hash")
                return data
        raise RecordError(f"no message {message_id} ({direction}) in the message log")

    def _body_problem(self, fields: dict[str, Any]) -> str | None:
        relative = fields.get("body")
        if not relative:
            return None
        path = self.root / str(relative)
        if not path.is_file():
            retain_until = fields.get("retain_until")
            if retain_until and datetime.fromisoformat(str(retain_until)) <= clock.now():
                return None  # purged after its retention period, as it should be
            return f"stored body {relative} is missing"
        try:
            data = gzip.decompress(path.read_bytes())
        except (OSError, EOFError) as exc:
            return f"stored body {relative} cannot be read ({exc})"
        if hashlib.sha256(data).hexdigest() != fields.get("sha256"):
            return f"stored body {relative} does not match its recorded SHA-256 (body altered)"
        return None

    def verify(self, *, public_key: Ed25519PublicKey | None = None, held: Sequence[Checkpoint] = ()) -> Verification:
        """The chain's checks (see :mod:`estelam.access.chain`) and every stored body re-hashed."""
        return verify(self.store, public_key or checkpoints.signer().public_key, held=held,
                      check_entry=self._body_problem)

    def latest_checkpoint(self) -> Checkpoint | None:
        found = [c for c in self.store.checkpoints() if isinstance(c, Checkpoint)]
        return max(found, key=lambda c: c.entries) if found else None

    def purge_expired(self, *, now: datetime | None = None) -> int:
        """Delete the bodies past their retention; the entries and hashes stay. Returns how many were deleted."""
        now = now or clock.now()
        purged = 0
        for message in self.messages():
            if message.body and datetime.fromisoformat(message.retain_until) <= now:
                path = self.root / message.body
                if path.is_file():
                    path.unlink()
                    purged += 1
        if purged:
            logger.info("message log: %d bodies past their retention deleted", purged)
        return purged


def message_log_for_registry() -> MessageLog:
    """The deployment's message log, with each agency's ``message_log`` mode from the registry."""
    registry = load_agency_registry()
    return MessageLog(modes={i.agency_id: i.message_log for i in registry.instances})


__all__ = ["BODY_READERS", "LoggedMessage", "MessageLog", "message_log_for_registry"]
