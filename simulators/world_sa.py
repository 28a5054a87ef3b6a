"""The Saudi synthetic world: the ``sa`` profile's persons, their assets at Saudi agencies, and a Saudi
enforcement court's cases (``simulators.world.generate(..., jurisdiction="sa")``).

Same machinery as the Iranian world (one random stream per person, ids a bijection of the person's index, so a
simulator finds a person without an index), Saudi data:
- natural persons carry a national id (``sa-nid``, 1…) or, for residents, an iqama (``sa-iqama``, 2…), both
  10 digits with a valid Luhn check; companies an establishment's unified number (``sa-cr``, 7…);
- Arabic names, spelled by each agency its own way as Arabic records really are (:class:`ArabicSpelling`):
  hamza forms dropped (أ/إ -> ا, ؤ -> و, ئ -> ي), taa marbuta written as haa (ة -> ه), alef maksura as yeh
  (ى -> ي), tatweel stretching words (محمـــد), double spaces, and digits in Arabic-Indic or Latin script;
- SA IBANs at the registry's banks (SAMA's 2-digit bank codes); the mapped kinds' records (Tadawul holdings
  at Edaa, deeds at the real-estate registry, Saudi plates at Muroor among them) drawn from their world data, the
  Saudi
  variant where there is one (``simulators/world_data/<kind>.sa.yaml``), names in the Saudi spelling;
- every amount in halalas (the profile's minor unit: 1 riyal = 100 halalas), integers;
- cases at Saudi enforcement courts, numbered by Hijri year, filed with the creditor's SA IBAN, Saudi mobiles
  (05 and eight digits) and Arabic as the parties' language.
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from functools import cache

from estelam.core.domain import PersonKind
from estelam.core.identifiers import iban_check_digits
from simulators.world import (
    CONTACT_EMAIL_SHARE,
    CONTACT_MOBILE_SHARE,
    LEGAL_SHARE,
    Person,
    World,
    _Contact,
    _CreditorContact,
    _Decision,
    _mistyped,
    bank_code_of,
    render_digits,
)

#: Share of natural persons who are residents (an iqama, 2…) rather than citizens (a national id, 1…).
RESIDENT_SHARE = 0.25
#: Share of parties who read notices in English (else Arabic).
ENGLISH_SHARE = 0.08
#: Saudi amounts are drawn on the Iranian world's scale shifted by this many powers of ten, in halalas:
#: a balance of 10**6..10**10.5 rials there is 10**4..10**8.5 halalas (100 riyals to 3.2 million) here.
HALALA_SHIFT = -2.0

FIRST_NAMES = ["محمد", "أحمد", "عبدالله", "فاطمة", "إبراهيم", "عائشة", "مصطفى", "نورة", "يحيى", "رقية",
               "أسامة", "هيفاء", "لؤي", "سارة", "عيسى", "مؤمن", "خديجة", "فيصل", "أمل", "حمزة",
               "عبدالرحمن", "إيمان", "سلمى", "موسى", "أروى", "تركي", "لمياء", "ماجد", "هدى", "سعود"]
LAST_NAMES = ["القحطاني", "الغامدي", "العتيبي", "الشهري", "الزهراني", "الدوسري", "الحربي", "المطيري",
              "السبيعي", "الأحمدي", "الأنصاري", "الهاشمي", "العنزي", "الشمري", "المالكي", "البقمي",
              "الأسمري", "الرشيدي", "الجهني", "باعشن", "الفيفي", "الإدريسي", "آل مرعي", "الخثعمي"]
COMPANY_WORDS = ["شركة", "مؤسسة", "مجموعة", "شركة مساهمة", "مصنع", "مكتب"]
#: Company names, some with digits: each agency writes those digits in its own script.
COMPANY_NAMES = ["الرياض للتجارة", "النخبة", "الجزيرة العربية", "الأفق ٢٠٣٠", "الواحة", "المدينة المنورة",
                 "الخليج", "البناء الحديث", "أجيال ٧", "الرؤية", "الصفوة للمقاولات", "نجد ١٤٤٥"]
#: Saudi enforcement courts (the court_code contract: three letters, two digits).
COURTS = ["RUH-01", "RUH-02", "JED-01", "DMM-01", "MKH-01", "MED-01", "ABH-01"]
JUDGES = ("عبدالعزيز القحطاني", "سلمان الغامدي", "خالد العتيبي", "ناصر الدوسري", "فهد الحربي", "بندر الشهري")

#: Saudi ids are 1/2/7, eight digits, and a Luhn digit: the eight digits are a bijection of the person's index.
_ID_SPACE = 10**8
_ID_MULTIPLIER = 3**16
_ID_INVERSE = pow(_ID_MULTIPLIER, -1, _ID_SPACE)


def luhn_digit(first_nine: str) -> str:
    """The digit that makes ``first_nine`` + it pass the Luhn check Saudi ids use."""
    return next(digit for digit in "0123456789" if _luhn_ok(first_nine + digit))


def _luhn_ok(code: str) -> bool:
    total = 0
    for i, d in enumerate(code):
        n = int(d) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def saudi_iban(bank_code: str, account: int) -> str:
    """An SA IBAN: SA, check digits, SAMA's 2-digit bank code and the 18-digit account."""
    bban = f"{bank_code}{account:018d}"
    return "SA" + iban_check_digits("SA", bban) + bban


# --- how each Saudi agency writes Arabic ----------------------------------------------------------

#: Hamza forms as clerks drop them: the seat without its hamza.
_BARE_HAMZA = str.maketrans("أإؤئ", "ااوي")


@dataclass(frozen=True)
class ArabicSpelling:
    """How one Saudi agency writes names: which of Arabic records' usual variations it has."""

    drop_hamza: bool  # أ, إ as bare alef; ؤ as waw; ئ as yeh
    taa_as_haa: bool  # ة written ه
    maksura_as_yeh: bool  # ى written ي
    tatweel: bool  # a kashida stretching the first long word (محمـــد)
    double_spaces: bool
    name_digits: str  # latin or arabic

    def name(self, canonical: str) -> str:
        """``canonical`` (hamza forms, taa marbuta, alef maksura, Arabic-Indic digits) as this agency writes it."""
        text = canonical
        if self.drop_hamza:
            text = text.translate(_BARE_HAMZA)
        if self.taa_as_haa:
            text = text.replace("ة", "ه")
        if self.maksura_as_yeh:
            text = text.replace("ى", "ي")
        if self.tatweel:
            words = text.split(" ")
            for i, word in enumerate(words):
                if len(word) >= 4 and not any(ch.isdigit() for ch in word):
                    words[i] = word[:2] + "\u0640" * 3 + word[2:]
                    break
            text = " ".join(words)
        if self.double_spaces:
            text = text.replace(" ", "  ")
        return render_digits(text, self.name_digits)


@cache
def arabic_spelling_of(agency_id: str) -> ArabicSpelling:
    """The fixed habits of one Saudi agency, derived from its id (stable across runs and machines)."""
    h = zlib.crc32(f"arabic:{agency_id}".encode())
    return ArabicSpelling(drop_hamza=h % 2 == 1, taa_as_haa=(h >> 3) % 3 == 0, maksura_as_yeh=(h >> 5) % 2 == 0,
                          tatweel=(h >> 7) % 4 == 0, double_spaces=(h >> 9) % 5 == 0,
                          name_digits=("arabic", "arabic", "latin")[(h >> 11) % 3])


def spell_arabic(name: str, agency_id: str) -> str:
    return arabic_spelling_of(agency_id).name(name)


# --- the world -----------------------------------------------------------------------------------


class SaudiWorld(World):
    """The Saudi world: Saudi ids, Arabic names and SA IBANs, amounts in halalas."""

    courts = COURTS
    case_year = 1446
    jurisdiction = "sa"

    # --- persons -------------------------------------------------------------------------------

    def _draw_person(self, index: int, rng: random.Random) -> Person:
        body = f"{(_ID_MULTIPLIER * index + self._id_offset) % _ID_SPACE:08d}"
        if rng.random() < LEGAL_SHARE:
            first = "7" + body
            name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_NAMES)}"
            return Person(first + luhn_digit(first), PersonKind.LEGAL, name)
        first = ("2" if rng.random() < RESIDENT_SHARE else "1") + body
        return Person(first + luhn_digit(first), PersonKind.NATURAL,
                      f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")

    def index_of(self, person_id: str) -> int | None:
        from estelam.core.identifiers import split_person_id

        _, digits = split_person_id(person_id)  # "sa-nid:1…" or bare, any digit script
        if len(digits) != 10 or not digits.isdigit() or digits[0] not in "127":
            return None
        index = (int(digits[1:9]) - self._id_offset % _ID_SPACE) * _ID_INVERSE % _ID_SPACE
        if index >= self.n_persons or self.person_at(index).person_id != digits:
            return None
        return index

    # --- IBANs ---------------------------------------------------------------------------------

    def iban_at(self, rng: random.Random, agency_id: str, person_id: str) -> str:
        """A Saudi IBAN at the SAMA bank code of ``agency_id``, mistyped when kept wrongly (see ``keeps_wrongly``)."""
        iban = saudi_iban(bank_code_of(self.instance_of(agency_id)), rng.randrange(10**18))
        return _mistyped(iban) if self.keeps_wrongly(rng, agency_id, person_id) else iban

    # --- cases ---------------------------------------------------------------------------------

    @staticmethod
    def _amount(rng: random.Random, low_exp: float, high_exp: float) -> int:
        """Halalas, log-uniform on the Iranian scale shifted by :data:`HALALA_SHIFT`, in whole riyals."""
        return int(10 ** (rng.uniform(low_exp, high_exp) + HALALA_SHIFT)) // 100 * 100

    @staticmethod
    def spell_name(name: str, agency_id: str) -> str:
        return spell_arabic(name, agency_id)

    def contact_of(self, person: Person) -> _Contact:
        rng = random.Random(zlib.crc32(f"contact:{person.person_id}".encode()))
        details: _Contact = {}
        if rng.random() < CONTACT_EMAIL_SHARE:
            details["debtor_email"] = f"p{person.person_id}@mail.example.sa"
        if rng.random() < CONTACT_MOBILE_SHARE:
            details["debtor_mobile"] = f"05{rng.randrange(10**8):08d}"
        details["debtor_language"] = "en" if rng.random() < ENGLISH_SHARE else "ar"
        return details

    def decision_of(self, case_id: str, creditor: Person) -> _Decision:
        rng = random.Random(zlib.crc32(f"decision:{case_id}:{creditor.person_id}".encode()))
        code = rng.choice(self._bank_codes[:6] or ["10"])
        return {"creditor_iban": saudi_iban(code, rng.randrange(10**18)),
                "decision_number": f"{case_id[:4]}-{rng.randrange(10**7, 10**8)}",
                "judge_name": rng.choice(JUDGES)}

    def creditor_contact_of(self, case_id: str) -> _CreditorContact:
        rng = random.Random(zlib.crc32(f"creditor-contact:{case_id}".encode()))
        details: _CreditorContact = {"creditor_language": "ar"}
        if rng.random() < CONTACT_EMAIL_SHARE:
            details["creditor_email"] = f"creditor-{case_id}@mail.example.sa"
        if rng.random() < CONTACT_MOBILE_SHARE:
            details["creditor_mobile"] = f"05{rng.randrange(10**8):08d}"
        return details


__all__ = ["ArabicSpelling", "SaudiWorld", "arabic_spelling_of", "luhn_digit", "saudi_iban", "spell_arabic"]
