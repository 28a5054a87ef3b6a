"""Who may see what, and the record of it: bearer tokens and roles, consent codes, the hash-chained audit log.

May import: core.
"""

from __future__ import annotations

from estelam.access.audit import AuditAction, AuditLog, Outcome, unusual_lookups
from estelam.access.auth import Principal, Role, TokenStore, bearer_token
from estelam.access.consent import DEFAULT_TTL, MAX_TTL, ConsentStore

__all__ = [
    "DEFAULT_TTL",
    "MAX_TTL",
    "AuditAction",
    "AuditLog",
    "ConsentStore",
    "Outcome",
    "Principal",
    "Role",
    "TokenStore",
    "bearer_token",
    "unusual_lookups",
]
