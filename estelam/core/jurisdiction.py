"""The deployment's jurisdiction profile: which country's identifiers, money, calendar and language the hub speaks.

A deployment chooses one profile with the setting ``ESTELAM_JURISDICTION`` (``ir`` by default, or ``sa``); the
profile's data lives once in ``contracts/jurisdictions/<id>.yaml``, never in code. :func:`current_profile` is
the profile of the process's settings (so :func:`estelam.core.settings.use` switches it for the demo and tests).

Only what the kernel needs is typed here; the identifier checks the profile names are in
:mod:`estelam.core.identifiers` (``PERSON_ID_SCHEMES``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

from estelam.core import settings
from estelam.core.exceptions import ContractError

#: The folder of the profiles inside the contracts folder.
JURISDICTIONS_FOLDER = "jurisdictions"
#: The agency registry of a profile that names none.
DEFAULT_AGENCIES_FILE = "agencies.yaml"
DisplayCalendar = Literal["solar_hijri", "umm_al_qura", "gregorian"]
_CALENDARS: frozenset[str] = frozenset({"solar_hijri", "umm_al_qura", "gregorian"})


@dataclass(frozen=True)
class Currency:
    """The money amounts are kept in: an ISO 4217 code and integer minor units (never floats)."""

    code: str
    minor_unit: int  # decimal places of the minor unit: 0 for the rial, 2 for the riyal (halalas)
    names: dict[str, str]

    @property
    def minor_per_major(self) -> int:
        return int(10**self.minor_unit)

    def name(self, language: str) -> str:
        """The currency's name in ``language`` as the profile spells it (its ISO code when the profile has none)."""
        return self.names.get(language) or self.code


@dataclass(frozen=True)
class Calendar:
    """Display calendar and time zone for readers; storage is always UTC."""

    display: DisplayCalendar
    timezone: str


@dataclass(frozen=True)
class Profile:
    """One jurisdiction, as a deployment is configured for it."""

    id: str
    names: dict[str, str]
    #: Person-id schemes (``ir-nc``, ``sa-nid``, …) in the order a bare id is tried.
    person_id_schemes: tuple[str, ...]
    iban_country: str
    iban_length: int
    currency: Currency
    calendar: Calendar
    language: str
    languages: tuple[str, ...]
    digits: str
    #: The agency registry file, relative to the contracts folder (``agencies.yaml`` for ``ir``).
    agencies: str = DEFAULT_AGENCIES_FILE
    #: Digits of the bank code inside the profile's IBANs, right after the check digits (3 in Iran, 2 in Saudi).
    iban_bank_code_digits: int = 3
    #: The jurisdiction's shapes (``iban``, ``plate``, ``mobile``: unanchored regexes) a feed contract names with
    #: ``pattern: <name>`` instead of writing one country's regex.
    patterns: dict[str, str] = field(default_factory=dict)

    def pattern(self, name: str) -> str:
        """The anchored regex of the profile's pattern ``name``; ContractError when the profile has none."""
        if name not in self.patterns:
            raise ContractError(f"jurisdiction profile {self.id!r} has no pattern {name!r} "
                                f"(it has {', '.join(sorted(self.patterns)) or 'none'})")
        return f"^{self.patterns[name]}$"


def _required(data: dict[str, Any], key: str, where: Path) -> Any:
    if key not in data:
        raise ContractError(f"jurisdiction profile {where}: missing {key!r}")
    return data[key]


def _patterns(raw: Any, where: Path) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ContractError(f"jurisdiction profile {where}: patterns must be a mapping name -> regex")
    patterns = {str(name): str(regex) for name, regex in raw.items()}
    for name, regex in patterns.items():
        try:
            re.compile(regex)
        except re.error as exc:
            raise ContractError(f"jurisdiction profile {where}: pattern {name!r} is no regex: {exc}") from exc
    return patterns


def _parse(data: Any, where: Path) -> Profile:
    if not isinstance(data, dict):
        raise ContractError(f"jurisdiction profile {where}: not a mapping")
    currency = _required(data, "currency", where)
    calendar = _required(data, "calendar", where)
    schemes = tuple(str(s) for s in _required(data, "person_id_schemes", where))
    if not schemes:
        raise ContractError(f"jurisdiction profile {where}: no person_id_schemes")
    display = str(_required(calendar, "display", where))
    if display not in _CALENDARS:
        raise ContractError(f"jurisdiction profile {where}: unknown display calendar {display!r}")
    language = str(_required(data, "language", where))
    languages = tuple(str(lang) for lang in data.get("languages", [language]))
    if language not in languages:
        raise ContractError(f"jurisdiction profile {where}: language {language!r} not among {languages}")
    profile = Profile(
        id=str(_required(data, "id", where)),
        names={str(k): str(v) for k, v in _required(data, "name", where).items()},
        person_id_schemes=schemes,
        iban_country=str(_required(data, "iban_country", where)),
        iban_length=int(_required(data, "iban_length", where)),
        currency=Currency(
            code=str(_required(currency, "code", where)),
            minor_unit=int(_required(currency, "minor_unit", where)),
            names={str(k): str(v) for k, v in currency.get("name", {}).items()},
        ),
        calendar=Calendar(display=display, timezone=str(_required(calendar, "timezone", where))),  # type: ignore[arg-type]
        language=language,
        languages=languages,
        digits=str(data.get("digits", "latin")),
        agencies=str(data.get("agencies", DEFAULT_AGENCIES_FILE)),
        iban_bank_code_digits=int(data.get("iban_bank_code_digits", 3)),
        patterns=_patterns(data.get("patterns") or {}, where),
    )
    if profile.id != where.stem:
        raise ContractError(f"jurisdiction profile {where}: id {profile.id!r} differs from the file name")
    return profile


@cache
def _load(path: Path) -> Profile:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ContractError(f"no jurisdiction profile {path.stem!r} ({path} is missing)") from None
    return _parse(yaml.safe_load(text), path)


def profile_path(jurisdiction: str, contracts_dir: Path | None = None) -> Path:
    """Where the profile ``jurisdiction`` is kept: the contracts folder's own, else the one shipped with the hub
    (a deployment's registry folder may hold only its agencies)."""
    own = (contracts_dir or settings.contracts_dir()) / JURISDICTIONS_FOLDER / f"{jurisdiction}.yaml"
    shipped = settings.DEFAULT_CONTRACTS_DIR / JURISDICTIONS_FOLDER / f"{jurisdiction}.yaml"
    return own if own.is_file() or not shipped.is_file() else shipped


def load_profile(jurisdiction: str, contracts_dir: Path | None = None) -> Profile:
    """The profile ``jurisdiction`` (``ir``, ``sa``) from the contracts folder; read once per file."""
    return _load(profile_path(jurisdiction, contracts_dir).resolve())


def available(contracts_dir: Path | None = None) -> list[str]:
    """The jurisdictions the contracts folder has a profile for."""
    folders = ((contracts_dir or settings.contracts_dir()), settings.DEFAULT_CONTRACTS_DIR)
    return sorted({path.stem for folder in folders for path in (folder / JURISDICTIONS_FOLDER).glob("*.yaml")})


@cache
def _profile_of(contracts_dir: Path, jurisdiction: str) -> Profile:
    return load_profile(jurisdiction, contracts_dir)


def current_profile() -> Profile:
    """The profile of the process's settings (``ESTELAM_JURISDICTION``); cheap enough to call per value."""
    current = settings.current()
    return _profile_of(current.contracts_dir, current.jurisdiction)


__all__ = [
    "DEFAULT_AGENCIES_FILE",
    "JURISDICTIONS_FOLDER",
    "Calendar",
    "Currency",
    "DisplayCalendar",
    "Profile",
    "available",
    "current_profile",
    "load_profile",
    "profile_path",
]
