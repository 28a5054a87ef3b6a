"""What the API is built from: who may call it, where it audits, where consents live, how it inquires."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from estelam.access.audit import AuditLog
from estelam.access.auth import TokenStore
from estelam.access.consent import ConsentStore
from estelam.access.message_log import MessageLog

#: inquire(person_id, case_id=..., requested_by=(actor, role), purpose=...) -> an object with ``as_dict()``
#: (estelam.inquiry.on_demand.inquire_person).
Inquirer = Callable[..., Any]


def _on_demand_inquirer(person_id: str, *, case_id: str | None = None, requested_by: tuple[str, str] | None = None,
                        purpose: str | None = None) -> Any:
    from estelam.inquiry.on_demand import inquire_person  # imported on use: it brings the connectors

    return inquire_person(person_id, case_id=case_id, requested_by=requested_by, purpose=purpose)


@dataclass
class ApiSettings:
    """The API's collaborators; tests pass their own, deployments take :meth:`from_environment`."""

    tokens: TokenStore = field(default_factory=TokenStore.from_environment)
    audit: AuditLog = field(default_factory=AuditLog)
    consents: ConsentStore = field(default_factory=ConsentStore)
    messages: MessageLog = field(default_factory=MessageLog)
    inquire: Inquirer = _on_demand_inquirer
    #: Signs the portal's session cookies; a new key per process unless given (sessions end with a restart).
    portal_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    @classmethod
    def from_environment(cls) -> ApiSettings:
        return cls()
