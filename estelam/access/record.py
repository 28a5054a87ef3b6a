"""The hub's record of its own exchanges: the audit log and the message log together, as callers use them.

The inquiry rounds, the on-demand path and reconciliation open :meth:`Record.exchange` around each
agency call: the messages go to the message log under the declared purpose, and the caller writes
one audit entry per person asked or order sent (:meth:`Record.audit_many`), carrying the message id.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from connectors import message_hook
from estelam.access.audit import SYSTEM_ROLE, AuditLog, AuditRecord
from estelam.access.message_log import MessageLog
from estelam.core.domain import AgencyInstance, MessageLogMode

#: Who the audit log names for what the hub does on its own schedule (the DAGs).
SYSTEM_ACTOR = "estelam-hub"
#: A purpose names at most this many cases; beyond, it counts them.
MAX_NAMED_CASES = 3


def enforcement_purpose(case_ids: Sequence[str | None]) -> str:
    """The declared purpose of an inquiry or order made for cases: "enforcement of case N" (or of cases …)."""
    cases = sorted({c for c in case_ids if c})
    if not cases:
        return "enforcement: debtor without an open case"
    if len(cases) > MAX_NAMED_CASES:  # a batch call's many cases: the entry's case_ids name them all
        return f"enforcement of {len(cases)} cases"
    return f"enforcement of case {cases[0]}" if len(cases) == 1 else f"enforcement of cases {', '.join(cases)}"


@dataclass
class Record:
    """Where the hub writes what it asked, ordered and was told."""

    audit: AuditLog = field(default_factory=AuditLog)
    messages: MessageLog = field(default_factory=MessageLog)

    @classmethod
    def for_agencies(cls, instances: Sequence[AgencyInstance] | Mapping[str, MessageLogMode]) -> Record:
        """The deployment's record, keeping bodies or metadata per agency as the registry says."""
        modes = (dict(instances) if isinstance(instances, Mapping)
                 else {i.agency_id: i.message_log for i in instances})
        return cls(audit=AuditLog(), messages=MessageLog(modes=modes))

    @contextmanager
    def exchange(self, *, purpose: str, case_ids: Sequence[str | None] = (),
                 person_ids: Sequence[str] = ()) -> Iterator[message_hook.Exchange]:
        """Record the messages of the agency calls made inside the block."""
        with message_hook.exchange(self.messages, purpose=purpose, case_ids=[c for c in case_ids if c],
                                   person_ids=person_ids) as current:
            yield current

    def audit_many(self, records: Sequence[AuditRecord]) -> None:
        if records:
            self.audit.record_many(records)


__all__ = ["SYSTEM_ACTOR", "SYSTEM_ROLE", "Record", "enforcement_purpose"]
