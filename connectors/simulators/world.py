"""A deterministic synthetic world: persons, their assets at every agency, and enforcement cases.

The same seed always gives the same world, so simulators, the court system's
event drops and tests agree on who owns what. Each agency spells names its
own way (Arabic or Persian yeh and kaf, zero-width non-joiner or space), as
real agencies do.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from estelam.domain import (
    AccountKind,
    AgencyInstance,
    AgencyKind,
    BankAccount,
    CaseEventType,
    PersonKind,
    Property,
    SecurityHolding,
    Vehicle,
)
from estelam.identifiers import iban_check_digits, iran_legal_id_check_digit, iran_national_code_check_digit

DEFAULT_SEED = 1403
DEFAULT_PERSONS = 120
DEFAULT_CASES = 48
#: The world's "today": fixed so that a seed always yields the same dates.
DEFAULT_ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
#: Share of asset records an agency keeps wrongly (a mistyped IBAN, a plate in Latin letters):
#: real registries have such errors, and the hub must quarantine them, not lose or trust them.
DEFAULT_DIRTY_SHARE = 0.03

FIRST_NAMES = ["علی", "محمد", "زهرا", "فاطمه", "حسین", "مریم", "رضا", "سکینه", "مهدی", "کبری",
               "یاسر", "نرگس", "کاظم", "لیلا", "یوسف", "شکوفه", "عبدالله", "کیمیا", "مصطفی", "ریحانه"]
LAST_NAMES = ["کریمی", "رضایی", "محمدی", "حسینی", "کاظمی", "یزدانی", "کیانی", "شکیبا", "نیک‌نژاد",
              "میرکریمی", "ملک‌زاده", "یگانه", "بیگی", "کامکار", "زنگنه", "پاک‌نیت", "کوهی", "نیکی"]
COMPANY_WORDS = ["شرکت", "صنایع", "بازرگانی", "تولیدی"]
COMPANY_NAMES = ["کیان پارس", "یکتا", "نیک‌اندیشان", "پیک ایران", "کاوه", "کوثر", "یاران"]
SYMBOLS = ["FOOLAD", "KHODRO", "SHEPNA", "VABEMELLAT", "FAMELI", "SHASTA", "VATEJARAT", "KACHAD"]
VEHICLE_MODELS = ["Peugeot 206", "Saipa Pride", "IKCO Samand", "Peugeot Pars", "Kia Cerato", "Toyota Corolla"]
PLATE_LETTERS = ["ب", "ج", "د", "س", "ص", "ط", "ق", "ل", "م", "ن", "و", "ه", "ی"]
BANK_CODES = {"bank_melli": "017", "bank_mellat": "012", "bank_saderat": "019"}
COURTS = ["THR-01", "THR-02", "ISF-01", "MHD-01", "TBZ-01"]


@dataclass(frozen=True)
class Person:
    person_id: str
    kind: PersonKind
    name: str  # canonical Persian spelling


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


@dataclass(frozen=True)
class Case:
    case_id: str
    debtor: Person
    creditor_name: str
    court_code: str
    amount_owed_rial: int
    events: tuple[CaseEvent, ...]


@dataclass
class World:
    seed: int
    anchor: datetime
    persons: list[Person]
    cases: list[Case]
    bank_accounts: dict[str, list[BankAccount]] = field(default_factory=dict)  # by agency_id
    holdings: dict[str, list[SecurityHolding]] = field(default_factory=dict)
    vehicles: dict[str, list[Vehicle]] = field(default_factory=dict)
    properties: dict[str, list[Property]] = field(default_factory=dict)

    def person(self, person_id: str) -> Person:
        for p in self.persons:
            if p.person_id == person_id:
                return p
        raise KeyError(person_id)

    def assets_at(self, agency_id: str) -> list[BankAccount | SecurityHolding | Vehicle | Property]:
        return [
            *self.bank_accounts.get(agency_id, []),
            *self.holdings.get(agency_id, []),
            *self.vehicles.get(agency_id, []),
            *self.properties.get(agency_id, []),
        ]

    def case_events(self) -> list[CaseEvent]:
        return sorted((e for c in self.cases for e in c.events), key=lambda e: (e.occurred_at, e.event_id))


def spell(name: str, agency_id: str) -> str:
    """The name as one agency writes it: some use Arabic yeh/kaf, some drop the ZWNJ."""
    style = sum(map(ord, agency_id)) % 3
    if style == 1:
        return name.replace("ی", "ي").replace("ک", "ك")
    if style == 2:
        return name.replace("\u200c", " ")
    return name


def _national_code(rng: random.Random) -> str:
    while True:
        first = f"{rng.randrange(10**9):09d}"
        code = first + str(iran_national_code_check_digit(first))
        if len(set(code)) > 1:
            return code


def _legal_id(rng: random.Random) -> str:
    first = "1" + f"{rng.randrange(10**9):09d}"
    return first + str(iran_legal_id_check_digit(first))


def _iban(rng: random.Random, bank_code: str) -> str:
    bban = bank_code.rjust(3, "0") + "0" + f"{rng.randrange(10**18):018d}"
    return "IR" + iban_check_digits("IR", bban) + bban


def _rial(rng: random.Random, low_exp: float, high_exp: float) -> int:
    """A round amount in rials, log-uniform between 10**low_exp and 10**high_exp."""
    return int(10 ** rng.uniform(low_exp, high_exp)) // 10_000 * 10_000


def generate(
    instances: list[AgencyInstance] | tuple[AgencyInstance, ...],
    *,
    seed: int = DEFAULT_SEED,
    n_persons: int = DEFAULT_PERSONS,
    n_cases: int = DEFAULT_CASES,
    anchor: datetime = DEFAULT_ANCHOR,
    dirty_share: float = DEFAULT_DIRTY_SHARE,
) -> World:
    """Build the world for the given agency instances. Deterministic in all arguments."""
    rng = random.Random(seed)
    persons: list[Person] = []
    for _ in range(n_persons):
        if rng.random() < 0.15:
            name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_NAMES)}"
            persons.append(Person(_legal_id(rng), PersonKind.LEGAL, name))
        else:
            persons.append(Person(_national_code(rng), PersonKind.NATURAL,
                                  f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"))

    by_kind: dict[AgencyKind, list[AgencyInstance]] = {}
    for inst in instances:
        by_kind.setdefault(inst.kind, []).append(inst)
    world = World(seed=seed, anchor=anchor, persons=persons, cases=[])

    for person in persons:
        for bank in by_kind.get(AgencyKind.BANK, []):
            for _ in range(rng.choice([0, 0, 1, 1, 2])):
                kind = rng.choices(list(AccountKind), weights=[75, 15, 10])[0]
                if person.kind is PersonKind.LEGAL:
                    kind = AccountKind.ORDINARY
                code = BANK_CODES.get(bank.agency_id, f"{sum(map(ord, bank.agency_id)) % 1000:03d}")
                iban = _iban(rng, code)
                if rng.random() < dirty_share:  # a mistyped IBAN: the check digits no longer hold
                    iban = iban[:-1] + str((int(iban[-1]) + 1) % 10)
                world.bank_accounts.setdefault(bank.agency_id, []).append(
                    BankAccount(iban, person.person_id, spell(person.name, bank.agency_id),
                                kind, _rial(rng, 6, 10.5)))
        for depo in by_kind.get(AgencyKind.SECURITIES_DEPOSITORY, []):
            if rng.random() < 0.3:
                for symbol in rng.sample(SYMBOLS, rng.randint(1, 3)):
                    world.holdings.setdefault(depo.agency_id, []).append(
                        SecurityHolding(person.person_id, spell(person.name, depo.agency_id), symbol,
                                        rng.randint(100, 200_000), rng.randint(2_000, 90_000)))
        for registry in by_kind.get(AgencyKind.VEHICLE_REGISTRY, []):
            if rng.random() < 0.4:
                for _ in range(rng.randint(1, 2)):
                    letter = "B" if rng.random() < dirty_share else rng.choice(PLATE_LETTERS)  # Latin: invalid
                    plate = f"{rng.randint(10, 99)}{letter}{rng.randint(100, 999)}-{rng.randint(10, 99)}"
                    world.vehicles.setdefault(registry.agency_id, []).append(
                        Vehicle(plate, person.person_id, spell(person.name, registry.agency_id),
                                rng.choice(VEHICLE_MODELS), _rial(rng, 9, 10.7)))
        for land in by_kind.get(AgencyKind.LAND_REGISTRY, []):
            if rng.random() < 0.25:
                for _ in range(rng.randint(1, 2)):
                    share = rng.choice([100, 100, 50, 33, 25])
                    world.properties.setdefault(land.agency_id, []).append(
                        Property(str(rng.randint(1, 30)), rng.randint(1, 9999), rng.randint(0, 500),
                                 person.person_id, spell(person.name, land.agency_id), share,
                                 _rial(rng, 10, 11.5) * share // 100))

    world.cases = [_case(rng, world, i) for i in range(n_cases)]
    return world


def _case(rng: random.Random, world: World, index: int) -> Case:
    debtor = rng.choice(world.persons)
    creditor = rng.choice([p for p in world.persons if p.person_id != debtor.person_id])
    case_id = f"{1403 + index % 3}-{rng.randrange(10**6):06d}"
    court = rng.choice(COURTS)
    owed = _rial(rng, 8, 10.8)
    at = world.anchor - timedelta(days=rng.randint(5, 60), minutes=rng.randint(0, 1440))
    events: list[CaseEvent] = []

    def add(event_type: CaseEventType, delay_h: float, **extra: object) -> None:
        nonlocal at
        at = at + timedelta(hours=delay_h)
        events.append(CaseEvent(
            event_id=f"{case_id}-{len(events) + 1:02d}", case_id=case_id, event_type=event_type,
            occurred_at=at, court_code=court, debtor_id=debtor.person_id, debtor_kind=debtor.kind,
            debtor_name=debtor.name, creditor_name=creditor.name, **extra))  # type: ignore[arg-type]

    add(CaseEventType.FILED, 0, amount_rial=owed, automated=True)
    add(CaseEventType.REFERRED, rng.uniform(0.1, 4), automated=rng.random() < 0.9)
    add(CaseEventType.NOTIFIED, rng.uniform(2, 48), channel="electronic" if rng.random() < 0.94 else "paper",
        automated=True)
    add(CaseEventType.INVOICED, rng.uniform(1, 24), automated=True)
    outcome = rng.random()
    if outcome < 0.2:  # paid in full and closed
        add(CaseEventType.PAID, rng.uniform(24, 240), amount_rial=owed, automated=True)
        add(CaseEventType.CLOSED, rng.uniform(1, 48), automated=rng.random() < 0.8)
    elif outcome < 0.45:  # partly paid
        add(CaseEventType.PAID, rng.uniform(24, 240), amount_rial=owed * rng.randint(10, 60) // 100,
            automated=True)
    return Case(case_id, debtor, creditor.name, court, owed, tuple(events))
