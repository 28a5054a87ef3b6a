"""Who may see what, and the record of it: bearer tokens and roles, consent codes, and the record — the audit
log and the message log, hash-chained with signed checkpoints (``chain``, ``checkpoints``, ``audit``,
``message_log``, ``record``).

May import: core, contracts (the registry's message-log modes), connectors (the message-log hook's types).
"""

from __future__ import annotations

from estelam.access.audit import AuditAction, AuditLog, Outcome, unusual_lookups
from estelam.access.auth import Principal, Role, TokenStore, bearer_token
from estelam.access.consent import DEFAULT_TTL, MAX_TTL, ConsentStore
from estelam.access.message_log import MessageLog
from estelam.access.record import Record

__all__ = [
    "DEFAULT_TTL",
    "MAX_TTL",
    "AuditAction",
    "AuditLog",
    "ConsentStore",
    "MessageLog",
    "Outcome",
    "Principal",
    "Record",
    "Role",
    "TokenStore",
    "bearer_token",
    "unusual_lookups",
]
