"""A deterministic synthetic world: persons, whether they own anything, and enforcement cases.

The same seed always gives the same world, so simulators, the court system's
event drops and tests agree on who owns what. What each agency holds of a person is drawn by the agency kind's
generated simulator (``simulators.mapped_app``, from ``simulators/world_data/<kind>.yaml``), from a stream of its
own; the world gives it the person, the agency's spelling, IBANs at a bank's own code (``World.iban_at``) and the
records kept wrongly (``World.keeps_wrongly``).

It scales from tens to millions of persons because nothing is drawn ahead of
need: person ``i`` (identity, name, whether they own nothing) comes from
its own random stream, seeded by ``(seed, i)``, and its national code is a
bijection of ``i``, so a simulator can find a person by id without an index
(``World.person``, ``World.owns_nothing``).

Real data is messy, and so is this world:
- each agency spells names its own way (``Spelling``): Arabic or Persian yeh and kaf,
  the zero-width non-joiner kept, turned into a space or dropped, double spaces,
  and digits inside names in Persian, Arabic-Indic or Latin script;
- some agencies write identifiers with Persian or Arabic-Indic digits on the wire
  (the simulators render them; connectors normalise them back at the edge);
- a few records are kept wrongly (``dirty_share``): a mistyped IBAN (the mapped kinds' world data keep their
  own wrong records: a plate in Latin letters);
- some persons own nothing anywhere.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TypedDict, Unpack, overload

from estelam.contracts.registry import iban_account_holders
from estelam.core.domain import AgencyInstance, CaseEventType, PersonKind
from estelam.core.identifiers import (
    iban_check_digits,
    iran_legal_id_check_digit,
    iran_national_code_check_digit,
    latin_digits,
)

DEFAULT_SEED = 1403
DEFAULT_PERSONS = 120
DEFAULT_CASES = 48
#: The world's "today": fixed so that a seed always yields the same dates.
DEFAULT_ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
#: Share of asset records an agency keeps wrongly (a mistyped IBAN; a mapped kind's, such as a plate in Latin
#: letters, its world data's):
#: real registries have such errors, and the hub must quarantine them, not lose or trust them.
DEFAULT_DIRTY_SHARE = 0.03

#: Share of legal persons (companies) among persons.
LEGAL_SHARE = 0.15
#: Share of persons who own nothing anywhere: debtors like these exist, and the hub must say so.
ASSETLESS_SHARE = 0.05

FIRST_NAMES = ["علی", "محمد", "زهرا", "فاطمه", "حسین", "مریم", "رضا", "سکینه", "مهدی", "کبری",
               "یاسر", "نرگس", "کاظم", "لیلا", "یوسف", "شکوفه", "عبدالله", "کیمیا", "مصطفی", "ریحانه",
               "امیرحسین", "محمدعلی", "یگانه", "کوثر", "یحیی", "ملیکا", "اکبر", "نیکو", "یعقوب", "کیوان"]
LAST_NAMES = ["کریمی", "رضایی", "محمدی", "حسینی", "کاظمی", "یزدانی", "کیانی", "شکیبا", "نیک‌نژاد",
              "میرکریمی", "ملک‌زاده", "یگانه", "بیگی", "کامکار", "زنگنه", "پاک‌نیت", "کوهی", "نیکی",
              "علی‌پور", "کاشانی", "یزدی", "شریفی‌کیا", "مهدی‌زاده", "بیک‌محمدی", "کرمانی", "یکتا"]
COMPANY_WORDS = ["شرکت", "صنایع", "بازرگانی", "تولیدی", "شرکت تعاونی", "گروه صنعتی"]
#: Company names, some with digits: each agency writes those digits in its own script.
COMPANY_NAMES = ["کیان پارس", "یکتا", "نیک‌اندیشان", "پیک ایران", "کاوه", "کوثر", "یاران", "پارس ۲۰۰۰",
                 "کیمیا ۱۴", "نوین ۹۸", "سپهر ۳", "یکتاسازان ۱۴۰۲"]
COURTS = ["THR-01", "THR-02", "ISF-01", "MHD-01", "TBZ-01", "SHZ-01", "AHZ-01"]

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
DIGIT_SETS = {"latin": "0123456789", "persian": PERSIAN_DIGITS, "arabic": ARABIC_INDIC_DIGITS}
ZWNJ = "\u200c"

#: National codes are a bijection of the person's index: x -> (A*x + B) mod 10**9, A coprime with 10.
_ID_SPACE = 10**9
_ID_MULTIPLIER = 3**18
_ID_INVERSE = pow(_ID_MULTIPLIER, -1, _ID_SPACE)
#: Case numbers likewise (per year prefix): unique for up to a million cases.
_CASE_SPACE = 10**6
_CASE_MULTIPLIER = 7**7
#: Random streams: (seed, purpose, index) -> one stream each, so nothing depends on draw order elsewhere.
_PERSON_STREAM, _CASE_STREAM = 0, 1


# --- how each agency writes things ---------------------------------------------------------------


@dataclass(frozen=True)
class Spelling:
    """How one agency writes names and identifiers."""

    arabic_letters: bool  # ي and ك instead of the Persian ی and ک
    joiner: str  # what it writes for the zero-width non-joiner: ZWNJ, a space, or nothing
    double_spaces: bool  # two spaces between words
    name_digits: str  # digit script inside names: latin, persian or arabic
    id_digits: str  # digit script of identifiers (person ids, plates) on the wire

    def name(self, canonical: str) -> str:
        """``canonical`` (Persian letters, ZWNJ, Persian digits) as this agency writes it."""
        text = canonical.replace(ZWNJ, self.joiner)
        if self.arabic_letters:
            text = text.replace("ی", "ي").replace("ک", "ك")
        if self.double_spaces:
            text = text.replace(" ", "  ")
        return render_digits(text, self.name_digits)

    def identifier(self, text: str) -> str:
        """An identifier (digits in any script) as this agency writes it on the wire."""
        return render_digits(text, self.id_digits)


def render_digits(text: str, script: str) -> str:
    """``text`` with every digit (Latin, Persian or Arabic-Indic) written in ``script``."""
    return latin_digits(text).translate(str.maketrans("0123456789", DIGIT_SETS[script]))


@cache
def spelling_of(agency_id: str) -> Spelling:
    """The fixed spelling habits of one agency, derived from its id (stable across runs and machines)."""
    h = zlib.crc32(agency_id.encode("utf-8"))
    return Spelling(
        arabic_letters=h % 3 == 1,
        joiner=(ZWNJ, " ", "")[(h >> 4) % 3],
        double_spaces=(h >> 8) % 5 == 0,
        name_digits=("persian", "persian", "arabic", "latin")[(h >> 12) % 4],
        id_digits=("latin", "latin", "latin", "persian", "persian", "arabic")[(h >> 16) % 6],
    )


def spell(name: str, agency_id: str) -> str:
    """The name as one agency writes it."""
    return spelling_of(agency_id).name(name)


# --- persons and cases ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    person_id: str
    kind: PersonKind
    name: str  # canonical Persian spelling (Persian yeh and kaf, ZWNJ, Persian digits)


@dataclass(frozen=True)
class CaseEvent:
    event_id: str
    case_id: str
    event_type: CaseEventType
    occurred_at: datetime
    court_code: str
    debtor_id: str
    debtor_kind: PersonKind
    debtor_name: str
    creditor_name: str
    amount_rial: int | None = None
    channel: str | None = None
    automated: bool = True
    debtor_email: str | None = None
    debtor_mobile: str | None = None
    debtor_language: str | None = None
    creditor_iban: str | None = None
    decision_number: str | None = None
    judge_name: str | None = None
    creditor_email: str | None = None
    creditor_mobile: str | None = None
    creditor_language: str | None = None


class _EventDetails(TypedDict, total=False):
    """The fields of a ``CaseEvent`` that depend on its type."""

    amount_rial: int | None
    channel: str | None
    automated: bool
    debtor_email: str | None
    debtor_mobile: str | None
    debtor_language: str | None
    creditor_iban: str | None
    decision_number: str | None
    judge_name: str | None
    creditor_email: str | None
    creditor_mobile: str | None
    creditor_language: str | None


class _CreditorContact(TypedDict, total=False):
    """The creditor's contact details a filing carries (for notices of collection and payout)."""

    creditor_email: str | None
    creditor_mobile: str | None
    creditor_language: str | None


class _Decision(TypedDict, total=False):
    """The enforcement decision a filing rests on, and where the creditor is paid."""

    creditor_iban: str | None
    decision_number: str | None
    judge_name: str | None


class _Contact(TypedDict, total=False):
    """The debtor's contact details a filing carries."""

    debtor_email: str | None
    debtor_mobile: str | None
    debtor_language: str | None


#: Share of debtors with an e-mail address, with a mobile number, and who read Arabic or English (else Persian).
CONTACT_EMAIL_SHARE = 0.7
CONTACT_MOBILE_SHARE = 0.9
CONTACT_LANGUAGES = (("ar", 0.05), ("en", 0.05))


def contact_of(person: Person) -> _Contact:
    """The debtor's contact details the court registered (derived from the person alone: stable per person,
    without consuming the world's random streams)."""
    digest = zlib.crc32(f"contact:{person.person_id}".encode())
    rng = random.Random(digest)
    details: _Contact = {}
    if rng.random() < CONTACT_EMAIL_SHARE:
        details["debtor_email"] = f"p{person.person_id}@mail.example.ir"
    if rng.random() < CONTACT_MOBILE_SHARE:
        details["debtor_mobile"] = f"09{rng.randrange(10**9):09d}"
    draw, language = rng.random(), "fa"
    for code, share in CONTACT_LANGUAGES:
        if draw < share:
            language = code
            break
        draw -= share
    details["debtor_language"] = language
    return details


#: Judges of the simulated enforcement branches (names as the court system writes them).
JUDGES = ("محمدرضا کریمی", "زهرا احمدی", "علی موسوی", "فاطمه رضایی", "حسین صادقی", "مریم جعفری")
#: Banks a creditor's account may be at (IBAN bank codes of the registry's first banks).
CREDITOR_BANK_CODES = ("017", "012", "019", "018", "015", "016")


def decision_of(case_id: str, creditor: Person) -> _Decision:
    """The filing's decision number, its judge and the creditor's account: derived from the case and the
    creditor alone (stable, without consuming the world's random streams)."""
    rng = random.Random(zlib.crc32(f"decision:{case_id}:{creditor.person_id}".encode()))
    bban = rng.choice(CREDITOR_BANK_CODES) + "0" + f"{rng.randrange(10**18):018d}"
    return {"creditor_iban": "IR" + iban_check_digits("IR", bban) + bban,
            "decision_number": f"{case_id[:4]}-{rng.randrange(10**7, 10**8)}",
            "judge_name": rng.choice(JUDGES)}


def creditor_contact_of(case_id: str) -> _CreditorContact:
    """The creditor's contact details the court registered with the filing (derived from the case alone)."""
    rng = random.Random(zlib.crc32(f"creditor-contact:{case_id}".encode()))
    details: _CreditorContact = {"creditor_language": "fa"}
    if rng.random() < CONTACT_EMAIL_SHARE:
        details["creditor_email"] = f"creditor-{case_id}@mail.example.ir"
    if rng.random() < CONTACT_MOBILE_SHARE:
        details["creditor_mobile"] = f"09{rng.randrange(10**9):09d}"
    return details


def freeze_decision_delay_h(case_id: str) -> float:
    """Hours from the invoice to the judge's freeze decision (the debtor's time to pay, then the judge's desk):
    derived from the case alone, so the world's random streams stay as they were."""
    return random.Random(zlib.crc32(f"freeze_ordered:{case_id}".encode())).uniform(24, 240)


@dataclass(frozen=True)
class Case:
    case_id: str
    debtor: Person
    creditor_name: str
    court_code: str
    amount_owed_rial: int
    events: tuple[CaseEvent, ...]


def _stream(seed: int, purpose: int, index: int) -> random.Random:
    return random.Random((seed << 34) | (purpose << 32) | index)


def _id_offset(seed: int) -> int:
    return zlib.crc32(f"persons:{seed}".encode()) % _ID_SPACE


def _rial(rng: random.Random, low_exp: float, high_exp: float) -> int:
    """A round amount in rials, log-uniform between 10**low_exp and 10**high_exp."""
    return int(10 ** rng.uniform(low_exp, high_exp)) // 10_000 * 10_000


def _iban(rng: random.Random, bank_code: str) -> str:
    bban = bank_code + "0" + f"{rng.randrange(10**18):018d}"
    return "IR" + iban_check_digits("IR", bban) + bban


def _mistyped(iban: str) -> str:
    """``iban`` with its last digit mistyped: the check digits no longer hold."""
    return iban[:-1] + str((int(iban[-1]) + 1) % 10)


def bank_code_of(instance: AgencyInstance) -> str:
    """The 3-digit IBAN bank code of a bank: from the registry, else a stable stand-in in 9xx."""
    if instance.iban_bank_code:
        return instance.iban_bank_code
    return f"9{zlib.crc32(instance.agency_id.encode()) % 100:02d}"  # codes 9xx are not issued to real banks


class _Persons(Sequence[Person]):
    """The world's persons as a sequence computed on demand: a million cost nothing until read."""

    def __init__(self, world: World) -> None:
        self._world = world

    def __len__(self) -> int:
        return self._world.n_persons

    @overload
    def __getitem__(self, index: int) -> Person: ...
    @overload
    def __getitem__(self, index: slice) -> list[Person]: ...
    def __getitem__(self, index: int | slice) -> Person | list[Person]:
        if isinstance(index, slice):
            return [self._world.person_at(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._world.person_at(index)

    def __iter__(self) -> Iterator[Person]:
        return (self._world.person_at(i) for i in range(len(self)))

    def __contains__(self, item: object) -> bool:
        return isinstance(item, Person) and self._world.find(item.person_id) == item


class World:
    """Persons and enforcement cases at the given agency instances; all from one seed.

    This is the Iranian world; a jurisdiction's world (``simulators.world_sa.SaudiWorld``) overrides the drawing
    of persons and IBANs and the per-case hooks below (courts, case years, amounts, contacts, decisions)."""

    #: The courts cases are filed at, the first year of case numbers, the jurisdiction profile the world is of.
    courts: Sequence[str] = COURTS
    case_year = 1403
    jurisdiction = "ir"

    def __init__(self, instances: Sequence[AgencyInstance], *, seed: int, n_persons: int, n_cases: int,
                 anchor: datetime, dirty_share: float) -> None:
        if n_persons < 2 or n_persons > _ID_SPACE:
            raise ValueError(f"a world needs between 2 and {_ID_SPACE} persons, not {n_persons}")
        self.seed = seed
        self.anchor = anchor
        self.n_persons = n_persons
        self.dirty_share = dirty_share
        #: (agency, person) pairs whose records the agency keeps wrongly whatever the draw (a story's careless clerk)
        self.kept_wrongly: set[tuple[str, str]] = set()
        self.instances = tuple(instances)
        self._id_offset = _id_offset(seed)
        self._banks = iban_account_holders(self.instances)
        self._bank_codes = [bank_code_of(b) for b in self._banks]
        self.persons: Sequence[Person] = _Persons(self)
        self.cases = [self._case(i) for i in range(n_cases)]

    # --- persons, one at a time --------------------------------------------------------------

    def person_at(self, index: int) -> Person:
        """Person number ``index`` (0-based)."""
        return self._draw_person(index, _stream(self.seed, _PERSON_STREAM, index))

    def index_of(self, person_id: str) -> int | None:
        """The index of the person with this id (any digit script), or None if the world has no such person."""
        digits = latin_digits(person_id)
        if len(digits) == 10 and digits.isdigit():
            body = int(digits[:9])
        elif len(digits) == 11 and digits.isdigit() and digits[0] == "1":
            body = int(digits[1:10])
        else:
            return None
        index = (body - self._id_offset) * _ID_INVERSE % _ID_SPACE
        if index >= self.n_persons or self.person_at(index).person_id != digits:
            return None
        return index

    def find(self, person_id: str) -> Person | None:
        index = self.index_of(person_id)
        return None if index is None else self.person_at(index)

    def person(self, person_id: str) -> Person:
        """The person with this id; ``KeyError`` when the world has none. O(1)."""
        found = self.find(person_id)
        if found is None:
            raise KeyError(person_id)
        return found

    def owns_nothing(self, person_id: str) -> bool:
        """Whether the world draws this person as owning nothing at any agency (``ASSETLESS_SHARE``). O(1)."""
        index = self.index_of(person_id)
        if index is None:
            return True
        rng = _stream(self.seed, _PERSON_STREAM, index)
        self._draw_person(index, rng)  # the person's stream, continued: its next draw says it
        return rng.random() < ASSETLESS_SHARE

    # --- cases --------------------------------------------------------------------------------

    def case_events(self) -> list[CaseEvent]:
        return sorted((e for c in self.cases for e in c.events), key=lambda e: (e.occurred_at, e.event_id))

    # --- drawing -----------------------------------------------------------------------------

    def _draw_person(self, index: int, rng: random.Random) -> Person:
        body = (_ID_MULTIPLIER * index + self._id_offset) % _ID_SPACE
        first = f"{body:09d}"
        code = first + str(iran_national_code_check_digit(first))
        if rng.random() < LEGAL_SHARE or len(set(code)) == 1:  # an all-one-digit code is never issued
            legal = "1" + first
            name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_NAMES)}"
            return Person(legal + str(iran_legal_id_check_digit(legal)), PersonKind.LEGAL, name)
        return Person(code, PersonKind.NATURAL, f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}")

    # --- per-jurisdiction hooks of a case (the Iranian ones here) ------------------------------

    def keeps_wrongly(self, rng: random.Random, agency_id: str, person_id: str) -> bool:
        """Whether this record ``agency_id`` keeps of ``person_id`` is kept wrongly: drawn in the world's dirty
        share, or always for a pair in :attr:`kept_wrongly` (the draw is made either way: the stream is the same)."""
        drawn = rng.random() < self.dirty_share
        return drawn or (agency_id, person_id) in self.kept_wrongly

    def iban_at(self, rng: random.Random, agency_id: str, person_id: str) -> str:
        """An IBAN at the bank code of ``agency_id`` (a generated bank simulator's world data: ``{iban:
        bank_code}``) for a record of ``person_id``, mistyped when kept wrongly: its check digits no longer hold."""
        iban = _iban(rng, bank_code_of(self.instance_of(agency_id)))
        return _mistyped(iban) if self.keeps_wrongly(rng, agency_id, person_id) else iban

    def instance_of(self, agency_id: str) -> AgencyInstance:
        """The world's agency instance of this id."""
        return next(i for i in self.instances if i.agency_id == agency_id)

    @staticmethod
    def _amount(rng: random.Random, low_exp: float, high_exp: float) -> int:
        """A round amount in the profile's minor unit, log-uniform on the Iranian scale 10**low..10**high rials."""
        return _rial(rng, low_exp, high_exp)

    @staticmethod
    def spell_name(name: str, agency_id: str) -> str:
        """A person's name as the agency writes it (the generated simulators' ``{person: name}``)."""
        return spell(name, agency_id)

    def contact_of(self, person: Person) -> _Contact:
        """The debtor's contact details the court registered."""
        return contact_of(person)

    def decision_of(self, case_id: str, creditor: Person) -> _Decision:
        """The filing's decision number, its judge and the creditor's account."""
        return decision_of(case_id, creditor)

    def creditor_contact_of(self, case_id: str) -> _CreditorContact:
        """The creditor's contact details the filing carries."""
        return creditor_contact_of(case_id)

    def _case(self, index: int) -> Case:
        rng = _stream(self.seed, _CASE_STREAM, index)
        debtor = self.person_at(rng.randrange(self.n_persons))
        creditor = debtor
        while creditor.person_id == debtor.person_id:
            creditor = self.person_at(rng.randrange(self.n_persons))
        number = (_CASE_MULTIPLIER * index + self.seed) % _CASE_SPACE
        case_id = f"{self.case_year + index % 3}-{number:06d}"
        court = rng.choice(self.courts)
        owed = self._amount(rng, 8, 10.8)
        at = self.anchor - timedelta(days=rng.randint(5, 60), minutes=rng.randint(0, 1440))
        events: list[CaseEvent] = []

        def add(event_type: CaseEventType, delay_h: float, **extra: Unpack[_EventDetails]) -> None:
            nonlocal at
            at = at + timedelta(hours=delay_h)
            events.append(CaseEvent(
                event_id=f"{case_id}-{len(events) + 1:02d}", case_id=case_id, event_type=event_type,
                occurred_at=at, court_code=court, debtor_id=debtor.person_id, debtor_kind=debtor.kind,
                debtor_name=debtor.name, creditor_name=creditor.name, **extra))

        add(CaseEventType.FILED, 0, amount_rial=owed, automated=True, **self.contact_of(debtor),
            **self.decision_of(case_id, creditor), **self.creditor_contact_of(case_id))
        add(CaseEventType.REFERRED, rng.uniform(0.1, 4), automated=rng.random() < 0.9)
        add(CaseEventType.NOTIFIED, rng.uniform(2, 48), channel="electronic" if rng.random() < 0.94 else "paper",
            automated=True)
        add(CaseEventType.INVOICED, rng.uniform(1, 24), automated=True)
        outcome = rng.random()
        decision = self.decision_of(case_id, creditor)
        if outcome >= 0.2:  # not paid at once: the judge orders the debtor's assets frozen (the execution step)
            add(CaseEventType.FREEZE_ORDERED, freeze_decision_delay_h(case_id), automated=False,
                decision_number=decision["decision_number"], judge_name=decision["judge_name"])
        if outcome < 0.2:  # paid in full and closed
            add(CaseEventType.PAID, rng.uniform(24, 240), amount_rial=owed, automated=True)
            add(CaseEventType.CLOSED, rng.uniform(1, 48), automated=rng.random() < 0.8)
        elif outcome < 0.45:  # partly paid
            add(CaseEventType.PAID, rng.uniform(24, 240), amount_rial=owed * rng.randint(10, 60) // 100,
                automated=True)
        # registry and police events: drawn last, so the case's other events stay as they were
        if outcome < 0.2 and rng.random() < 0.5:
            add(CaseEventType.PAYMENT_PROVED, rng.uniform(1, 72), automated=False)
        elif outcome >= 0.45 and rng.random() < 0.15:
            add(CaseEventType.ABSCONDED, rng.uniform(24, 480), automated=False)
            if rng.random() < 0.3:
                add(CaseEventType.APPREHENDED, rng.uniform(24, 240), automated=False)
        return Case(case_id, debtor, creditor.name, court, owed, tuple(events))


def generate(
    instances: list[AgencyInstance] | tuple[AgencyInstance, ...],
    *,
    seed: int = DEFAULT_SEED,
    n_persons: int = DEFAULT_PERSONS,
    n_cases: int = DEFAULT_CASES,
    anchor: datetime = DEFAULT_ANCHOR,
    dirty_share: float = DEFAULT_DIRTY_SHARE,
    jurisdiction: str | None = None,
) -> World:
    """The world for the given agency instances. Deterministic in all arguments; O(n_cases) until read.

    ``jurisdiction`` (a profile id; the settings' profile when None) picks whose world: ``ir`` or ``sa``."""
    if jurisdiction is None:
        from estelam.core.jurisdiction import current_profile

        jurisdiction = current_profile().id
    world_class: type[World] = World
    if jurisdiction == "sa":
        from simulators.world_sa import SaudiWorld

        world_class = SaudiWorld
    elif jurisdiction != World.jurisdiction:
        raise ValueError(f"no synthetic world for jurisdiction {jurisdiction!r} (ir, sa)")
    return world_class(instances, seed=seed, n_persons=n_persons, n_cases=n_cases, anchor=anchor,
                       dirty_share=dirty_share)
