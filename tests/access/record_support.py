"""The two record stores behind one test interface, and the tampering an attacker with write access could do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from estelam.access.audit import AuditLog
from estelam.access.chain import ChainStore, FileChainStore, PostgresChainStore, canonical, entry_hash
from estelam.access.message_log import MessageLog
from tests.postgres_support import dsn

BACKENDS = ["file", "postgres"]


@dataclass
class Backend:
    """Makes stores of one kind, and rewrites what they hold behind the hub's back."""

    kind: str
    root: Path
    database: str | None = None

    def store(self, log: str) -> ChainStore:
        if self.database is not None:
            return PostgresChainStore(log, dsn(self.database))
        if log == "messages":  # laid out as MessageLog(root) lays itself out
            return FileChainStore(log, self.root / "messages" / "index.jsonl",
                                  self.root / "messages" / "checkpoints.jsonl")
        # as AuditLog(path) lays itself out, so the command line finds the same checkpoints
        return FileChainStore(log, self.root / f"{log}.jsonl", self.root / f"{log}.checkpoints.jsonl")

    def audit_log(self) -> AuditLog:
        return AuditLog(store=self.store("audit"))

    def message_log(self) -> MessageLog:
        return MessageLog(self.root / "messages", store=self.store("messages"))

    # --- tampering --------------------------------------------------------------------------------

    def entries(self, log: str) -> list[dict[str, Any]]:
        return [s.fields for s in self.store(log).stored() if s.fields is not None]

    def rewrite(self, log: str, entries: list[dict[str, Any]]) -> None:
        """Replace the log's entries with ``entries`` exactly as given (no re-hashing)."""
        store = self.store(log)
        if isinstance(store, FileChainStore):
            store.path.write_bytes(b"".join(canonical(e) + b"\n" for e in entries))
            return
        assert isinstance(store, PostgresChainStore)
        connection = store._connection()
        with connection, connection.cursor() as cursor:
            cursor.execute("delete from record_entries where log = %s", (log,))
            cursor.executemany("insert into record_entries (log, seq, entry) values (%s, %s, %s)",
                               [(log, e["seq"], canonical(e).decode()) for e in entries])

    def delete_log(self, log: str) -> None:
        store = self.store(log)
        if isinstance(store, FileChainStore):
            store.path.unlink()
        else:
            self.rewrite(log, [])

    def rechain(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """What an attacker who knows the format does after a change: renumber and recompute every hash."""
        previous, out = "0" * 64, []
        for seq, entry in enumerate(entries, start=1):
            fields = {k: v for k, v in entry.items() if k != "hash"} | {"seq": seq, "prev_hash": previous}
            fields["hash"] = previous = entry_hash(fields)
            out.append(json.loads(canonical(fields)))
        return out
