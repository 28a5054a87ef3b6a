"""Hash-chained, signed, append-only logs: the one mechanism under the audit log and the message log.

Each entry is a JSON object with ``seq`` (1, 2, …), ``prev_hash`` (the previous entry's hash; 64
zeros for the first) and ``hash``: SHA-256 of the entry's canonical JSON without ``hash``. Every
append writes its entries and then a signed :class:`~estelam.access.checkpoints.Checkpoint` of the
new length and head, kept apart from the entries.

Two stores, chosen by configuration, with the same behaviour:

- :class:`FileChainStore` (embedded default): JSON lines, appends serialised by ``flock`` and fsynced;
  checkpoints in a file of their own.
- :class:`PostgresChainStore` (``ESTELAM_RECORD_DATABASE``): rows in ``record_entries`` and
  ``record_checkpoints``; appends serialised by a transaction-scoped advisory lock per log, so API
  replicas and workers on several hosts extend one chain.

**Verification** (:func:`verify`), the steps an outside party runs with the hub's public key and the
checkpoints it was served:

1. every entry parses, numbers follow 1, 2, …, each links to the one before and its hash recomputes
   (an edited entry fails here);
2. every checkpoint's Ed25519 signature holds under the public key;
3. for every checkpoint, the log still has its N entries (else: cut tail, emptied or deleted log) and
   entry N's hash is the signed head (else: history rewritten — an entry changed, removed or inserted
   before N and the chain recomputed);
4. no entry lies beyond the latest checkpoint (else: appended without the hub's signature — a forgery,
   or a crash between writing and signing);
5. any check of the log's own (the message log re-hashes each stored body).

A line that does not parse (a torn write, garbage) never stops reads or writes: readers skip it,
the next append chains to the last good entry after ending the torn line, and verification names it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from estelam.access.checkpoints import Checkpoint, Signer, signature_holds
from estelam.core import clock
from estelam.core.exceptions import RecordError

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
#: How far back from the end of a file the last entry is looked for at first (grows if needed).
TAIL_CHUNK_BYTES = 8192
#: Verification lists at most this many problems of one kind in full.
MAX_LISTED_PROBLEMS = 20


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def entry_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of an entry without its own hash (its ``prev_hash`` included)."""
    return hashlib.sha256(canonical({k: v for k, v in fields.items() if k != "hash"})).hexdigest()


def chained(payloads: Sequence[dict[str, Any]], *, after_seq: int, after_hash: str) -> list[dict[str, Any]]:
    """``payloads`` (plain JSON values only) as entries continuing a chain whose last entry is
    (``after_seq``, ``after_hash``)."""
    entries: list[dict[str, Any]] = []
    seq, previous = after_seq, after_hash
    for payload in payloads:
        seq += 1
        fields = {k: v for k, v in payload.items() if k not in ("seq", "prev_hash", "hash")}
        fields |= {"seq": seq, "prev_hash": previous}
        fields["hash"] = previous = hashlib.sha256(canonical(fields)).hexdigest()
        entries.append(fields)
    return entries


@dataclass(frozen=True)
class StoredEntry:
    """One stored line or row: its entry, or why it is not one."""

    position: int  # line number in a file, seq in a table
    fields: dict[str, Any] | None
    problem: str | None = None


class ChainStore(Protocol):
    """Where one log's entries and checkpoints live."""

    log: str

    @property
    def location(self) -> str:
        """Where the entries are, for messages."""
        ...

    def append(self, payloads: Sequence[dict[str, Any]], signer: Signer) -> list[dict[str, Any]]:
        """Chain ``payloads`` after the last entry, store them, then store a signed checkpoint of the new head."""
        ...

    def stored(self) -> Iterator[StoredEntry]:
        """Every stored entry in order, unparseable ones included (with their problem)."""
        ...

    def checkpoints(self) -> list[Checkpoint | str]:
        """Every stored checkpoint in order (a string: one that cannot be read, and why)."""
        ...

    def exists(self) -> bool:
        """Whether the log's storage is there at all (a deleted file is not)."""
        ...


def _parse(line: bytes, position: int) -> StoredEntry:
    try:
        fields = json.loads(line)
        if not isinstance(fields, dict) or not {"seq", "prev_hash", "hash"} <= fields.keys():
            raise ValueError("missing seq, prev_hash or hash")
    except (ValueError, UnicodeDecodeError) as exc:
        return StoredEntry(position, None, f"not an entry ({str(exc)[:120]})")
    return StoredEntry(position, fields)


class FileChainStore:
    """A log as JSON lines, its checkpoints as JSON lines in a second file."""

    _locks: ClassVar[dict[Path, threading.Lock]] = {}
    _locks_guard = threading.Lock()

    def __init__(self, log: str, path: Path, checkpoint_path: Path) -> None:
        self.log = log
        self.path = path
        self.checkpoint_path = checkpoint_path

    @property
    def location(self) -> str:
        return str(self.path)

    def _lock(self) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(self.path.resolve(), threading.Lock())

    def append(self, payloads: Sequence[dict[str, Any]], signer: Signer) -> list[dict[str, Any]]:
        if not payloads:
            return []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
        with self._lock(), open(self.path, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)  # serialises processes; the thread lock serialises this one
            try:
                last_seq, last_hash, torn = self._last_entry(handle)
                entries = chained(payloads, after_seq=last_seq, after_hash=last_hash)
                data = b"".join(canonical(e) + b"\n" for e in entries)
                handle.seek(0, os.SEEK_END)
                handle.write((b"\n" if torn else b"") + data)
                handle.flush()
                os.fsync(handle.fileno())
                checkpoint = signer.sign(self.log, entries[-1]["seq"], entries[-1]["hash"],
                                         clock.now().isoformat())
                # Not fsynced: the entries are. Every append signs the whole head again, so a checkpoint lost to a
                # crash is superseded by the next write's; until then verify names the tail as unsigned.
                with open(self.checkpoint_path, "ab") as checkpoints:
                    checkpoints.write(canonical(checkpoint.as_dict()) + b"\n")
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return entries

    def _last_entry(self, handle: Any) -> tuple[int, str, bool]:
        """(seq, hash) of the last good entry, and whether the file ends in a torn (unterminated) line."""
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return 0, GENESIS_HASH, False
        handle.seek(size - 1)
        torn = handle.read(1) != b"\n"
        chunk = TAIL_CHUNK_BYTES
        while True:
            start = max(0, size - chunk)
            handle.seek(start)
            lines = handle.read(size - start).split(b"\n")
            complete = lines if start == 0 else lines[1:]  # the first piece may be a partial line
            damaged = False
            for line in reversed(complete):
                if not line.strip():
                    continue
                entry = _parse(line, 0)
                if entry.fields is None or not isinstance(entry.fields.get("seq"), int):
                    damaged = True
                    continue
                if damaged:
                    logger.error("%s: damaged line(s) at the end of the log; chaining to entry %s "
                                 "(estelam audit verify names them)", self.path, entry.fields["seq"])
                return int(entry.fields["seq"]), str(entry.fields["hash"]), torn
            if start == 0:
                logger.error("%s: no readable entry in the log; starting a new chain after the damage", self.path)
                return 0, GENESIS_HASH, torn
            chunk *= 2

    def stored(self) -> Iterator[StoredEntry]:
        if not self.path.is_file():
            return
        with open(self.path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    yield StoredEntry(number, None, "empty line")
                    continue
                yield _parse(line, number)

    def checkpoints(self) -> list[Checkpoint | str]:
        if not self.checkpoint_path.is_file():
            return []
        found: list[Checkpoint | str] = []
        with open(self.checkpoint_path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    found.append(_checkpoint(line, f"{self.checkpoint_path}:{number}"))
        return found

    def exists(self) -> bool:
        return self.path.is_file()


def _checkpoint(raw: bytes | str, where: str) -> Checkpoint | str:
    try:
        return Checkpoint.from_dict(json.loads(raw))
    except (ValueError, KeyError, TypeError) as exc:
        return f"{where}: not a checkpoint ({str(exc)[:120]})"


_SCHEMA = """
create table if not exists record_entries (
    log   text   not null,
    seq   bigint not null,
    entry text   not null,
    primary key (log, seq)
);
create table if not exists record_checkpoints (
    log        text   not null,
    entries    bigint not null,
    checkpoint text   not null,
    primary key (log, entries)
);
"""


class PostgresChainStore:
    """A log as rows of PostgreSQL: one chain however many processes and hosts append to it."""

    _local = threading.local()
    _ready: ClassVar[set[str]] = set()
    _ready_lock = threading.Lock()

    def __init__(self, log: str, dsn: str) -> None:
        self.log = log
        self.dsn = dsn

    @property
    def location(self) -> str:
        return f"postgresql record_entries (log {self.log!r})"

    def _connection(self) -> Any:
        import psycopg2

        connections: dict[str, Any] = getattr(self._local, "connections", None) or {}
        self._local.connections = connections
        connection = connections.get(self.dsn)
        if connection is None or connection.closed:
            try:
                connection = connections[self.dsn] = psycopg2.connect(self.dsn, connect_timeout=10)
            except psycopg2.Error as exc:
                raise RecordError(f"record database unreachable: {str(exc).strip()[:200]}") from exc
        with self._ready_lock:
            if self.dsn not in self._ready:
                with connection, connection.cursor() as cursor:
                    cursor.execute("select pg_advisory_xact_lock(hashtext('estelam record schema'))")
                    cursor.execute(_SCHEMA)
                self._ready.add(self.dsn)
        return connection

    def append(self, payloads: Sequence[dict[str, Any]], signer: Signer) -> list[dict[str, Any]]:
        if not payloads:
            return []
        connection = self._connection()
        with connection, connection.cursor() as cursor:  # one transaction: entries and checkpoint together
            cursor.execute("select pg_advisory_xact_lock(hashtext(%s))", (f"estelam record {self.log}",))
            cursor.execute("select seq, entry from record_entries where log = %s order by seq desc limit 1",
                           (self.log,))
            row = cursor.fetchone()
            last_seq, last_hash = (int(row[0]), str(json.loads(row[1])["hash"])) if row else (0, GENESIS_HASH)
            entries = chained(payloads, after_seq=last_seq, after_hash=last_hash)
            cursor.executemany("insert into record_entries (log, seq, entry) values (%s, %s, %s)",
                               [(self.log, e["seq"], canonical(e).decode()) for e in entries])
            checkpoint = signer.sign(self.log, entries[-1]["seq"], entries[-1]["hash"], clock.now().isoformat())
            cursor.execute("insert into record_checkpoints (log, entries, checkpoint) values (%s, %s, %s)",
                           (self.log, checkpoint.entries, canonical(checkpoint.as_dict()).decode()))
        return entries

    def stored(self) -> Iterator[StoredEntry]:
        connection = self._connection()
        with connection, connection.cursor(name=f"read_{self.log}") as cursor:  # server-side: streamed
            cursor.itersize = 5000
            cursor.execute("select seq, entry from record_entries where log = %s order by seq", (self.log,))
            for seq, entry in cursor:
                yield _parse(entry.encode(), int(seq))

    def checkpoints(self) -> list[Checkpoint | str]:
        connection = self._connection()
        with connection, connection.cursor() as cursor:
            cursor.execute("select entries, checkpoint from record_checkpoints where log = %s order by entries",
                           (self.log,))
            return [_checkpoint(text, f"record_checkpoints {self.log}#{entries}")
                    for entries, text in cursor.fetchall()]

    def exists(self) -> bool:
        return True  # a deleted table shows as a log with fewer entries than its checkpoints


@dataclass
class Verification:
    """What :func:`verify` found."""

    log: str
    location: str
    entries: int = 0
    head: str = GENESIS_HASH
    latest_checkpoint: Checkpoint | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store: ChainStore, public_key: Ed25519PublicKey, *, held: Sequence[Checkpoint] = (),
           check_entry: Callable[[dict[str, Any]], str | None] | None = None) -> Verification:
    """Check ``store`` against its own checkpoints and any ``held`` by an outside party (steps in the module doc)."""
    report = Verification(store.log, store.location)
    hashes: dict[int, str] = {}
    previous_hash, expected_seq, unreadable, own_problems = GENESIS_HASH, 1, 0, 0
    for stored in store.stored():
        if stored.fields is None:
            unreadable += 1
            report.problems.append(f"{store.location} line {stored.position}: {stored.problem}")
            continue
        fields = stored.fields
        seq = fields["seq"]
        label = f"entry {seq}"
        if seq != expected_seq:
            report.problems.append(f"{label}: sequence {seq} where {expected_seq} was expected "
                                   "(an entry removed or inserted)")
        if fields["prev_hash"] != previous_hash:
            report.problems.append(f"{label}: does not link to the entry before it")
        if entry_hash(fields) != fields["hash"]:
            report.problems.append(f"{label}: content does not match its hash (entry edited)")
        if check_entry is not None and own_problems < MAX_LISTED_PROBLEMS:
            problem = check_entry(fields)
            if problem:
                own_problems += 1
                report.problems.append(f"{label}: {problem}")
        if isinstance(seq, int):
            hashes[seq] = str(fields["hash"])
            expected_seq = seq + 1
        else:
            expected_seq += 1
        previous_hash = str(fields["hash"])
        report.entries += 1
    report.head = previous_hash
    last_seq = expected_seq - 1

    signed: list[Checkpoint] = []
    for checkpoint in [*store.checkpoints(), *held]:
        if isinstance(checkpoint, str):
            report.problems.append(checkpoint)
        elif checkpoint.log != store.log:
            report.problems.append(f"checkpoint of {checkpoint.at} is for log {checkpoint.log!r}, not {store.log!r}")
        elif not signature_holds(checkpoint, public_key):
            report.problems.append(f"checkpoint of {checkpoint.at} ({checkpoint.entries} entries): signature does "
                                   "not hold under the hub's public key (forged or altered checkpoint)")
        else:
            signed.append(checkpoint)
    signed.sort(key=lambda c: (c.entries, c.at))
    if signed:
        report.latest_checkpoint = signed[-1]
        latest = signed[-1]
        if latest.entries > last_seq:
            what = ("the log is missing" if not store.exists() else
                    "the log is empty" if report.entries == 0 else f"the log ends at entry {last_seq}")
            report.problems.append(f"{what}, but the checkpoint of {latest.at} signed {latest.entries} entries: "
                                   f"entries {last_seq + 1}–{latest.entries} were removed (tail cut or log emptied)")
        for checkpoint in signed:
            if checkpoint.entries <= last_seq and hashes.get(checkpoint.entries) != checkpoint.head:
                report.problems.append(f"entry {checkpoint.entries}: differs from what the checkpoint of "
                                       f"{checkpoint.at} signed (an entry at or before it was changed, removed or "
                                       "inserted and the chain recomputed)")
                break  # the first rewritten point; later checkpoints all follow from it
        if last_seq > latest.entries:
            report.problems.append(f"entries {latest.entries + 1}–{last_seq}: appended after the last signed "
                                   f"checkpoint ({latest.at}), covered by no signature (forged, or written by a "
                                   "process that died before signing)")
    elif report.entries:
        report.problems.append(f"no signed checkpoint covers the log's {report.entries} entries")
    return report


__all__ = [
    "GENESIS_HASH",
    "ChainStore",
    "FileChainStore",
    "PostgresChainStore",
    "StoredEntry",
    "Verification",
    "canonical",
    "chained",
    "entry_hash",
    "verify",
]
