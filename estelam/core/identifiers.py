"""Identifiers with check digits, and the normalisation of digits and Persian/Arabic script.

- Iranian national code (کد ملی): 10 digits, the last a mod-11 check digit.
- Iranian legal-person national id (شناسه ملی): 11 digits, mod-11 with a tens-digit offset.
- Saudi national id: 10 digits starting 1 (citizen) or 2 (resident, the iqama), Luhn check.
- Saudi unified number of an establishment (replaced the commercial registration number in 2020):
  10 digits starting 7; no check digit is published, so only its shape is checked.
- IBAN (ISO 13616): mod 97 == 1.

Person ids carry their scheme: ``ir-nc:0012345679``, ``ir-nid:10100000001``, ``sa-nid:1100000007``,
``sa-iqama:2…``, ``sa-cr:7…`` (:data:`PERSON_ID_SCHEMES`). The same ten digits can be a valid Iranian code and a
valid Saudi id, so digits alone never say who a person is: a bare id is read by the deployment's jurisdiction
profile (its schemes, in order), an id written with its scheme is read as written. :func:`person_key` gives the
qualified key; :func:`local_person_id` the form the hub stores and the agencies are asked with (bare for the
deployment's own schemes, so the wire is unchanged; qualified for any other, so it never collides).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from estelam.core.domain import PersonKind
from estelam.core.jurisdiction import current_profile

_DIGITS = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")
#: One letter per sound, as records spell it many ways: Arabic yeh and alef maksura, and yeh with hamza (ئ, and
#: یٔ once its hamza mark is dropped) as Persian yeh; Arabic and swash kaf (ك, ڪ) as Persian kaf; teh marbuta and the
#: heh forms of other scripts (ة, ھ doachashmee, ە ae) as heh; hamza on waw as waw; hamza, madda-less and wasla alefs
#: as alef (آ is kept: it is a letter of its own in Persian names).
_PERSIAN_LETTERS = str.maketrans({"ي": "ی", "ى": "ی", "ئ": "ی", "ك": "ک", "ڪ": "ک", "ة": "ه", "ھ": "ه", "ە": "ه",
                                  "ؤ": "و", "إ": "ا", "أ": "ا", "ٱ": "ا"})
#: Tatweel (ـ, kashida) stretches a word for display: it is not a letter.
_TATWEEL = "\u0640"
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200c\u200d\u200e\u200f\u200b\ufeff"), " ")
_LEGAL_COEFFICIENTS = (29, 27, 23, 19, 17, 29, 27, 23, 19, 17)
#: ISO 13616 letters -> numbers (A=10 … Z=35), as one translation table: checks run per row.
_IBAN_LETTERS = str.maketrans({ch: str(i) for i, ch in enumerate(string.ascii_uppercase, start=10)})
_IBAN_SHAPE = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}")


def latin_digits(text: str) -> str:
    """Replace Persian and Arabic-Indic digits with Latin ones."""
    return text if text.isascii() else text.translate(_DIGITS)  # ASCII text has none: skip the table


def normalise_name(name: str) -> str:
    """Canonical form of a Persian/Arabic (or Latin) name for matching: one yeh, one kaf, one heh, no tatweel, no
    ZWNJ, no diacritics, Latin digits, Latin letters case-folded, single spaces."""
    text = unicodedata.normalize("NFKC", name).translate(_PERSIAN_LETTERS).translate(_ZERO_WIDTH)
    text = "".join(ch for ch in text if ch != _TATWEEL and unicodedata.category(ch) != "Mn")  # harakat, tashdid
    return " ".join(latin_digits(text).casefold().split())


def iran_national_code_check_digit(first_nine: str) -> int:
    total = sum(int(d) * (10 - i) for i, d in enumerate(first_nine))
    remainder = total % 11
    return remainder if remainder < 2 else 11 - remainder


def is_iran_national_code(code: str) -> bool:
    """A valid 10-digit Iranian national code (not all one digit)."""
    if not re.fullmatch(r"[0-9]{10}", code) or len(set(code)) == 1:
        return False
    return iran_national_code_check_digit(code[:9]) == int(code[9])


def iran_legal_id_check_digit(first_ten: str) -> int:
    offset = int(first_ten[9]) + 2
    total = sum((offset + int(d)) * c for d, c in zip(first_ten, _LEGAL_COEFFICIENTS, strict=True))
    remainder = total % 11
    return 0 if remainder == 10 else remainder


def is_iran_legal_id(code: str) -> bool:
    """A valid 11-digit national id of an Iranian legal person."""
    if not re.fullmatch(r"[0-9]{11}", code):
        return False
    return iran_legal_id_check_digit(code[:10]) == int(code[10])


def is_saudi_national_id(code: str) -> bool:
    """A 10-digit Saudi id (1… citizen, 2… resident) passing the Luhn check."""
    if not re.fullmatch(r"[12][0-9]{9}", code):
        return False
    return _luhn(code)


def is_saudi_citizen_id(code: str) -> bool:
    """A Saudi citizen's national id: 10 digits starting 1, Luhn check."""
    return code[:1] == "1" and is_saudi_national_id(code)


def is_saudi_iqama(code: str) -> bool:
    """A resident's iqama number: 10 digits starting 2, Luhn check."""
    return code[:1] == "2" and is_saudi_national_id(code)


def is_saudi_unified_number(code: str) -> bool:
    """An establishment's unified number (7 and nine digits); its shape only: no check digit is published."""
    return re.fullmatch(r"7[0-9]{9}", code) is not None


def _luhn(code: str) -> bool:
    total = 0
    for i, d in enumerate(code):
        n = int(d)
        if i % 2 == 0:
            n *= 2
            n = n - 9 if n > 9 else n
        total += n
    return total % 10 == 0


def iban_check_digits(country: str, bban: str) -> str:
    number = int((bban + country + "00").upper().translate(_IBAN_LETTERS))
    return f"{98 - number % 97:02d}"


def is_iban(iban: str) -> bool:
    """An IBAN whose ISO 13616 mod-97 check holds."""
    compact = iban.replace(" ", "").upper()
    if not _IBAN_SHAPE.fullmatch(compact):
        return False
    return int((compact[4:] + compact[:4]).translate(_IBAN_LETTERS)) % 97 == 1


# ---------------------------------------------------------------- person ids with their scheme

#: Between a scheme and the code in a qualified person id.
SCHEME_SEPARATOR = ":"
#: What an agency puts between digit groups of an identifier: spaces, hyphens, dots, slashes, bidi marks.
_ID_SEPARATORS = re.compile(r"[\s\-./\u200c\u200f\u200e]+")


@dataclass(frozen=True)
class PersonIdScheme:
    """One way of identifying a person, with its check."""

    prefix: str  # written before the code: "ir-nc:0012345679"
    name: str  # the warehouse's identifier_scheme
    kind: PersonKind
    check: Callable[[str], bool]
    #: Bare codes of this length range lost their leading zeros (spreadsheets, integer columns): pad back.
    padded_from: int | None = None
    length: int = 10

    def canonical(self, code: str) -> str | None:
        """``code`` (Latin digits, no separators) in this scheme's canonical form, or None if it fails the check."""
        if self.padded_from is not None and self.padded_from <= len(code) < self.length and code.isascii() \
                and code.isdigit():
            code = code.zfill(self.length)
        return code if self.check(code) else None


PERSON_ID_SCHEMES: dict[str, PersonIdScheme] = {scheme.prefix: scheme for scheme in (
    PersonIdScheme("ir-nc", "iran_national_code", PersonKind.NATURAL, is_iran_national_code, padded_from=8),
    PersonIdScheme("ir-nid", "iran_legal_id", PersonKind.LEGAL, is_iran_legal_id, length=11),
    PersonIdScheme("sa-nid", "saudi_national_id", PersonKind.NATURAL, is_saudi_citizen_id),
    PersonIdScheme("sa-iqama", "saudi_iqama", PersonKind.NATURAL, is_saudi_iqama),
    PersonIdScheme("sa-cr", "saudi_unified_number", PersonKind.LEGAL, is_saudi_unified_number),
)}
#: The schemes a bare id is read by when no profile is at hand (the hub's default, Iranian, profile).
DEFAULT_PERSON_ID_SCHEMES = ("ir-nc", "ir-nid")


def normalise_identifier(raw: str) -> str:
    """An identifier as digits in Latin script with no separators ("۰۰۱-۲۳۴ ۵۶۷۹" -> "0012345679")."""
    return _ID_SEPARATORS.sub("", latin_digits(raw.strip()))


def split_person_id(raw: str) -> tuple[str | None, str]:
    """(the scheme as written, lower-cased, or None for a bare id; the code, normalised)."""
    if SCHEME_SEPARATOR in raw:
        written, code = raw.split(SCHEME_SEPARATOR, 1)
        return written.strip(" ").lower(), normalise_identifier(code)
    return None, normalise_identifier(raw)


def person_key(raw: str, schemes: Sequence[str] = DEFAULT_PERSON_ID_SCHEMES) -> str | None:
    """The scheme-qualified key of a person id ("12345679" -> "ir-nc:0012345679"), or None if it is no valid id.

    A qualified id is checked by its own scheme, whatever the deployment; a bare id by ``schemes`` in order
    (the deployment profile's), the first whose check passes."""
    written, code = split_person_id(raw)
    if written is not None:
        scheme = PERSON_ID_SCHEMES.get(written)
        canonical = scheme.canonical(code) if scheme is not None else None
        return None if canonical is None else f"{written}{SCHEME_SEPARATOR}{canonical}"
    for prefix in schemes:
        canonical = PERSON_ID_SCHEMES[prefix].canonical(code)
        if canonical is not None:
            return f"{prefix}{SCHEME_SEPARATOR}{canonical}"
    return None


def scheme_of_key(key: str) -> PersonIdScheme:
    """The scheme of a qualified key made by :func:`person_key`."""
    return PERSON_ID_SCHEMES[key.split(SCHEME_SEPARATOR, 1)[0]]


def local_person_id(raw: str, schemes: Sequence[str] = DEFAULT_PERSON_ID_SCHEMES) -> str | None:
    """The form the hub keeps a person id in: bare canonical digits for ``schemes`` (the deployment's own, as
    its agencies know them), the qualified key for any other scheme; None if it is no valid id."""
    key = person_key(raw, schemes)
    if key is None:
        return None
    prefix, code = key.split(SCHEME_SEPARATOR, 1)
    return code if prefix in schemes else key


def is_person_id(code: str) -> bool:
    """A valid person id for the deployment: qualified by any scheme, or bare and valid in one of the
    jurisdiction profile's schemes (an Iranian code under ``ir``, a Saudi id or iqama under ``sa``)."""
    return person_key(code, current_profile().person_id_schemes) is not None


def check_digit_reason(column: str, scheme: str) -> str:
    """The quarantine reason of a value failing ``check_digit: scheme``; for person ids it names the profile's
    schemes, so a clerk sees why a Saudi id is refused by an Iranian deployment (and how to write it)."""
    if scheme == "person_id":
        profile = current_profile()
        return (f"{column}: check digit person_id failed ({profile.id} profile: "
                f"{', '.join(profile.person_id_schemes)}, or scheme:code)")
    return f"{column}: check digit {scheme} failed"


CHECKS = {
    "person_id": is_person_id,
    "iran_national_code": is_iran_national_code,
    "iban": is_iban,
}
