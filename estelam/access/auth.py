"""Who is calling the serving API: bearer tokens, roles and principals.

Each token names one principal with one role:

- ``judge``: sees the cases of their courts (``courts``) or named cases (``cases``); a confidential
  case only when their ``subject`` is among the case's authorised users;
- ``statistician``: published KPI aggregates only, never personal data;
- ``agency``: its own orders and acknowledgements (``agency_id``);
- ``central_bank``: the registry feed for credit scoring;
- ``police``: a partner agency the judiciary serves the register of fugitive convicts (the police, border
  control; ``agency_id`` names it): looks people up on that register, with a declared purpose;
- ``public``: a registry lookup, only with a consent code the person looked up issued to them;
- ``person``: a data subject (``person_id``): issues consent codes, reads who looked at their data; in the
  portal, a debtor sees what is frozen of theirs and why;
- ``creditor``: a party who asked for enforcement (``creditor``, the name the court system gives them): in
  the portal, their requests, what was collected and paid out, and alerts.

Tokens are kept as SHA-256 digests and compared in constant time. The store comes from a JSON file
named by ``ESTELAM_API_TOKENS`` (``{"tokens": [{"token_sha256" or "token", "subject", "role", ...}]}``);
without it, embedded demo tokens (documented in the README) serve the demo and nothing else.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from estelam.core import settings
from estelam.core.exceptions import ContractError, NotAuthenticated

TOKENS_FILE_ENV = "ESTELAM_API_TOKENS"
BEARER_PREFIX = "bearer "


class Role(StrEnum):
    JUDGE = "judge"
    STATISTICIAN = "statistician"
    AGENCY = "agency"
    CENTRAL_BANK = "central_bank"
    PUBLIC = "public"
    PERSON = "person"
    POLICE = "police"  # the police or border control: the fugitive-convicts register
    AUDITOR = "auditor"  # reads the record: message bodies (an inspectorate, the data protection officer)
    CREDITOR = "creditor"  # a party who asked for enforcement: follows their requests in the portal


@dataclass(frozen=True)
class Principal:
    """A caller the hub knows: who (``subject``), in which role, and what they are bound to."""

    subject: str
    role: Role
    courts: frozenset[str] = field(default_factory=frozenset)
    cases: frozenset[str] = field(default_factory=frozenset)
    agency_id: str | None = None
    person_id: str | None = None
    creditor: str | None = None  # the creditor's name as the court system records it (role creditor)

    def is_assigned(self, case_id: str, court_code: str | None) -> bool:
        """Whether this judge is assigned the case, by name or through its court."""
        return self.role is Role.JUDGE and (case_id in self.cases or (court_code is not None
                                                                      and court_code in self.courts))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _principal(entry: Mapping[str, Any]) -> Principal:
    try:
        role = Role(str(entry["role"]))
        subject = str(entry["subject"])
    except (KeyError, ValueError) as exc:
        raise ContractError(f"token entry {entry.get('subject')!r}: needs a subject and a known role ({exc})") from exc
    principal = Principal(subject=subject, role=role, courts=frozenset(entry.get("courts", ())),
                          cases=frozenset(entry.get("cases", ())), agency_id=entry.get("agency_id"),
                          person_id=entry.get("person_id"), creditor=entry.get("creditor"))
    if role in (Role.AGENCY, Role.POLICE) and not principal.agency_id:
        raise ContractError(f"agency token {subject!r} has no agency_id")
    if role is Role.PERSON and not principal.person_id:
        raise ContractError(f"person token {subject!r} has no person_id")
    if role is Role.CREDITOR and not principal.creditor:
        raise ContractError(f"creditor token {subject!r} has no creditor")
    return principal


class TokenStore:
    """Bearer token digests -> principals; lookups compare every digest in constant time."""

    def __init__(self, entries: Iterable[tuple[str, Principal]]) -> None:
        self._entries = [(digest.encode("ascii"), principal) for digest, principal in entries]

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> TokenStore:
        """From ``{"tokens": [...]}``; each entry has ``token_sha256`` (preferred) or ``token``."""
        entries = []
        for entry in raw.get("tokens", ()):
            digest = entry.get("token_sha256") or (token_digest(entry["token"]) if entry.get("token") else None)
            if not digest:
                raise ContractError(f"token entry {entry.get('subject')!r} has neither token_sha256 nor token")
            entries.append((str(digest).lower(), _principal(entry)))
        return cls(entries)

    @classmethod
    def from_file(cls, path: Path) -> TokenStore:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ContractError(f"cannot read the API token file {path}: {exc}") from exc
        return cls.from_config(raw)

    @classmethod
    def from_environment(cls) -> TokenStore:
        """The file the settings name (``ESTELAM_API_TOKENS``), else the embedded demo tokens."""
        path = settings.current().api_tokens
        return cls.from_file(path) if path else cls.from_config(DEMO_TOKENS)

    def by_digest(self, digest: str) -> Principal:
        """The principal whose token has this SHA-256 digest (a portal session keeps the digest, never the token)."""
        presented = digest.encode("ascii", errors="replace")
        found: Principal | None = None
        for known, principal in self._entries:
            if hmac.compare_digest(known, presented):
                found = principal
        if found is None:
            raise NotAuthenticated("the session's token is no longer valid")
        return found

    def authenticate(self, token: str | None) -> Principal:
        """The principal holding ``token``; :class:`NotAuthenticated` when there is none or it is unknown."""
        if not token:
            raise NotAuthenticated("a bearer token is required")
        presented = token_digest(token).encode("ascii")
        found: Principal | None = None
        for digest, principal in self._entries:  # no early exit: the time taken does not say which entry matched
            if hmac.compare_digest(digest, presented):
                found = principal
        if found is None:
            raise NotAuthenticated("unknown token")
        return found


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if authorization and authorization[: len(BEARER_PREFIX)].lower() == BEARER_PREFIX:
        return authorization[len(BEARER_PREFIX):].strip() or None
    return None


#: Demo principals (plain tokens, for the demo and its README only; deployments use ESTELAM_API_TOKENS).
DEMO_TOKENS: dict[str, list[dict[str, Any]]] = {"tokens": [
    {"token": "demo-judge", "subject": "judge-thr-01", "role": "judge", "courts": ["THR-01", "THR-02"]},
    # a judge of Saudi enforcement courts, for `estelam demo --jurisdiction sa`
    {"token": "demo-judge-sa", "subject": "judge-ruh-01", "role": "judge", "courts": ["RUH-01", "RUH-02", "JED-01"]},
    {"token": "demo-statistician", "subject": "statistician-1", "role": "statistician"},
    {"token": "demo-agency-bank-melli", "subject": "agency-bank-melli", "role": "agency", "agency_id": "bank_melli"},
    {"token": "demo-central-bank", "subject": "central-bank", "role": "central_bank"},
    {"token": "demo-public", "subject": "business-1", "role": "public"},
    {"token": "demo-person", "subject": "person-demo", "role": "person", "person_id": "0000000000"},
    {"token": "demo-auditor", "subject": "inspector-1", "role": "auditor"},
    {"token": "demo-police", "subject": "police-fugitives-desk", "role": "police", "agency_id": "police"},
    {"token": "demo-border-control", "subject": "border-control-desk", "role": "police",
     "agency_id": "border_control"},
]}
