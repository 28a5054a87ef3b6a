"""Identifiers with check digits, and the normalisation of digits and Persian/Arabic script.

- Iranian national code (کد ملی): 10 digits, the last a mod-11 check digit.
- Iranian legal-person national id (شناسه ملی): 11 digits, mod-11 with a tens-digit offset.
- Saudi national id: 10 digits starting 1 (citizen) or 2 (resident), Luhn check.
- IBAN (ISO 13616): mod 97 == 1.
"""

from __future__ import annotations

import re
import string
import unicodedata

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


def is_person_id(code: str) -> bool:
    """A natural person's national code or a legal person's national id."""
    return is_iran_national_code(code) or is_iran_legal_id(code)


def is_saudi_national_id(code: str) -> bool:
    """A 10-digit Saudi id (1… citizen, 2… resident) passing the Luhn check."""
    if not re.fullmatch(r"[12][0-9]{9}", code):
        return False
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


CHECKS = {
    "person_id": is_person_id,
    "iran_national_code": is_iran_national_code,
    "iban": is_iban,
}
