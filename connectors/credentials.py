"""The hub's secrets at each agency, resolved from the registry's credentials reference.

``contracts/agencies.yaml`` never holds a secret, only where it lives:

- ``env:ESTELAM_CRED_BANK_MELLI``  the value of that environment variable;
- ``file:/run/secrets/bank_melli`` the first line of that file (paths in the registry are
  relative to the registry's folder; the loader makes them absolute).

What the secret says depends on the wire: a SOAP agency's is ``username:password`` (the
WS-Security UsernameToken), a REST agency's is its bearer token.

When the registry allows demo credentials (``demo_credentials: true`` in its defaults or on the
instance; the embedded registry does) an absent variable or file resolves to a per-agency demo secret, the same one
the simulators expect, so ``make demo`` needs no setup; otherwise an absent secret is a
``ContractError`` that names the variable or file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from estelam.core.domain import AgencyInstance, Protocol
from estelam.core.exceptions import ContractError

#: The hub's user name at every agency when a SOAP secret gives only a password.
DEFAULT_USERNAME = "estelam-hub"
#: Demo secrets are derived from the agency id: known to the demo's simulators, worthless elsewhere.
DEMO_SECRET_PREFIX = "demo-secret-"


@dataclass(frozen=True)
class Credentials:
    """What the hub shows one agency: a user name and password (SOAP) or a bearer token (REST)."""

    username: str
    secret: str  # the password, or the bearer token

    def __repr__(self) -> str:  # secrets stay out of logs and tracebacks
        return f"Credentials(username={self.username!r}, secret=<{len(self.secret)} chars>)"


class FromRegistry:
    """Marker: take the credentials from the registry's reference (the clients' default)."""


FROM_REGISTRY = FromRegistry()


def demo_credentials(instance: AgencyInstance) -> Credentials:
    """The demo secret of ``instance``: what simulators and the hub agree on when nothing is configured."""
    return Credentials(DEFAULT_USERNAME, f"{DEMO_SECRET_PREFIX}{instance.agency_id}")


def _read_secret(reference: str) -> str | None:
    """The secret a reference points to, or None when its variable or file does not exist."""
    scheme, _, target = reference.partition(":")
    if scheme == "env":
        return os.environ.get(target)
    if scheme == "file":
        path = Path(target)
        if not path.is_file():
            return None
        lines = path.read_text(encoding="utf-8").splitlines()
        return lines[0].strip() if lines else ""
    raise ContractError(f"credentials reference {reference!r} must be 'env:VARIABLE' or 'file:PATH'")


def _parse(instance: AgencyInstance, secret: str) -> Credentials:
    if not secret:
        raise ContractError(f"agency {instance.agency_id!r}: the secret at {instance.credentials} is empty")
    if instance.protocol is Protocol.SOAP:
        username, sep, password = secret.partition(":")
        return Credentials(username, password) if sep and username else Credentials(DEFAULT_USERNAME, secret)
    return Credentials(DEFAULT_USERNAME, secret)


def resolve_credentials(instance: AgencyInstance) -> Credentials | None:
    """The hub's credentials for ``instance``; None when the registry declares none (an open agency)."""
    if instance.credentials is None:
        return None
    secret = _read_secret(instance.credentials)
    if secret is None:
        if instance.demo_credentials:
            return demo_credentials(instance)
        raise ContractError(f"agency {instance.agency_id!r}: no secret at {instance.credentials} "
                            "(set it, or allow demo credentials in the registry)")
    return _parse(instance, secret)


def resolve_bearer_secret(agency_id: str, reference: str | None, *, demo_allowed: bool) -> str | None:
    """The bearer token the hub presents to an agency it pushes to (``contracts/agencies.yaml`` receivers); the
    agency's demo secret when the reference resolves to nothing and the registry allows demo credentials."""
    if reference is None:
        return None
    secret = _read_secret(reference)
    if secret is None:
        if demo_allowed:
            return f"{DEMO_SECRET_PREFIX}{agency_id}"
        raise ContractError(f"agency {agency_id!r}: no secret at {reference} "
                            "(set it, or allow demo credentials in the registry)")
    if not secret:
        raise ContractError(f"agency {agency_id!r}: the secret at {reference} is empty")
    return secret


__all__ = ["DEFAULT_USERNAME", "FROM_REGISTRY", "Credentials", "FromRegistry", "demo_credentials",
           "resolve_bearer_secret", "resolve_credentials"]
