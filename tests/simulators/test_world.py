"""The synthetic world: deterministic, valid identifiers, messy spellings, scalable by derivation."""

from __future__ import annotations

from collections import Counter
from time import perf_counter
from typing import Any

import pytest

from estelam.contracts.registry import iban_account_holders, load_agency_registry
from estelam.core.domain import AgencyInstance, PersonKind
from estelam.core.identifiers import is_iban, is_iran_legal_id, is_iran_national_code, latin_digits, normalise_name
from simulators.world import (
    ARABIC_INDIC_DIGITS,
    PERSIAN_DIGITS,
    ZWNJ,
    World,
    bank_code_of,
    generate,
    render_digits,
    spell,
    spelling_of,
)
from tests.mapping_support import drawn_records

REGISTRY = load_agency_registry()
BANKS = iban_account_holders(REGISTRY.instances)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(REGISTRY.instances, n_persons=600, n_cases=40, dirty_share=0.0)


def _fingerprint(w: World) -> list[object]:
    return [list(w.persons), [w.owns_nothing(p.person_id) for p in w.persons],
            {i.agency_id: [drawn_records(w, i, p.person_id) for p in w.persons] for i in REGISTRY.instances[:8]},
            w.case_events()]


def _accounts(w: World, banks: list[AgencyInstance] = BANKS,
              persons: int | None = None) -> list[tuple[AgencyInstance, dict[str, Any]]]:
    """(bank, account) of the accounts the banks' generated simulators draw (simulators/world_data/bank.yaml)."""
    return [(bank, row) for bank in banks for p in list(w.persons)[:persons]
            for row in drawn_records(w, bank, p.person_id)]


def test_the_same_seed_gives_the_same_world_and_another_seed_another() -> None:
    one = generate(REGISTRY.instances, seed=7, n_persons=80, n_cases=10)
    assert _fingerprint(one) == _fingerprint(generate(REGISTRY.instances, seed=7, n_persons=80, n_cases=10))
    assert _fingerprint(one) != _fingerprint(generate(REGISTRY.instances, seed=8, n_persons=80, n_cases=10))


def test_person_ids_are_valid_unique_and_of_both_kinds(world: World) -> None:
    persons = list(world.persons)
    assert len({p.person_id for p in persons}) == len(persons) == 600
    for p in persons:
        valid = is_iran_national_code if p.kind is PersonKind.NATURAL else is_iran_legal_id
        assert valid(p.person_id), p
    kinds = Counter(p.kind for p in persons)
    assert kinds[PersonKind.LEGAL] > 30 and kinds[PersonKind.NATURAL] > 400


def test_a_person_is_found_by_id_in_any_digit_script_without_an_index(world: World) -> None:
    person = world.persons[417]
    assert world.person(person.person_id) == person
    assert world.index_of(render_digits(person.person_id, "persian")) == 417
    stranger = "1" + person.person_id[1:] if person.person_id[0] != "1" else "2" + person.person_id[1:]
    assert world.find(stranger) is None
    with pytest.raises(KeyError):
        world.person("0000000000")


def test_ibans_are_valid_and_carry_their_banks_code_from_the_registry(world: World) -> None:
    accounts = _accounts(world)
    assert accounts
    for bank, account in accounts:
        assert bank.iban_bank_code and bank_code_of(bank) == bank.iban_bank_code
        assert is_iban(str(account["iban"])), account
        assert str(account["iban"])[4:7] == bank.iban_bank_code
    assert len({b.iban_bank_code for b in BANKS}) == len(BANKS) == 30


def test_accounts_salary_pension_and_ordinary_with_balances(world: World) -> None:
    accounts = _accounts(world)
    assert {a["account_kind"] for _, a in accounts} == {"ordinary", "salary", "pension"}
    assert all(isinstance(a["balance_rial"], int) and a["balance_rial"] >= 0 for _, a in accounts)


def test_some_own_nothing_most_bank_with_few(world: World) -> None:
    assetless = {p.person_id for p in world.persons if world.owns_nothing(p.person_id)}
    assert 0 < len(assetless) < len(world.persons) // 5  # some persons own nothing anywhere
    holdings = {(str(account["person_id"]), bank.agency_id) for bank, account in _accounts(world)}
    banks_per_person = Counter(person for person, _ in holdings)
    assert not set(banks_per_person) & assetless  # a bank knows no one the world draws as owning nothing
    assert max(banks_per_person.values()) >= 4  # some bank with many institutions
    assert Counter(banks_per_person.values()).most_common(1)[0][0] <= 3


def test_every_bank_and_every_other_agency_holds_something(world: World) -> None:
    for instance in REGISTRY.instances:  # each drawn by its kind's world data (simulators/world_data/)
        assert any(drawn_records(world, instance, p.person_id) for p in world.persons), instance.agency_id


def test_plates_and_registry_plates_have_the_iranian_shapes(world: World) -> None:
    # the vehicle registry is a kind declared by its mapping: its generated simulator draws the vehicles
    police = REGISTRY.instance("traffic_police")
    vehicles = [row for p in world.persons for row in drawn_records(world, police, p.person_id)]
    assert vehicles
    for row in vehicles:
        digits, letter_and_rest = row["plate"][:2], row["plate"][2:]
        assert digits.isdigit() and letter_and_rest[-3] == "-", row["plate"]
        assert row["value_rial"] > 0 and row["model"]
    # the land registry is a kind declared by its mapping: its generated simulator draws the properties
    land = REGISTRY.instance("land_registry")
    properties = [row for p in world.persons for row in drawn_records(world, land, p.person_id)]
    assert properties
    for row in properties:
        assert str(row["registry_section"]).isdigit() and 1 <= int(row["registry_section"]) <= 30
        assert 1 <= row["main_plate"] <= 9_999 and 0 <= row["sub_plate"] <= 500
        assert 1 <= row["share_percent"] <= 100 and row["value_rial"] > 0


def test_agencies_spell_the_same_name_differently_but_it_normalises_to_one(world: World) -> None:
    habits = [spelling_of(i.agency_id) for i in REGISTRY.instances]
    assert {h.arabic_letters for h in habits} == {True, False}
    assert {h.joiner for h in habits} == {ZWNJ, " ", ""}
    assert {h.double_spaces for h in habits} == {True, False}
    assert {h.name_digits for h in habits} == {h.id_digits for h in habits} == {"latin", "persian", "arabic"}
    name = "شرکت نیک‌اندیشان ۱۴"
    spellings = {spell(name, i.agency_id) for i in REGISTRY.instances}
    assert len(spellings) >= 5
    assert any("ي" in s and "ك" in s for s in spellings)
    assert any(ZWNJ in s for s in spellings) and any("نیک اندیشان" in s or "نيك اندیشان" in s for s in spellings)
    assert any(ch in s for s in spellings for ch in ARABIC_INDIC_DIGITS)
    assert any(ch in s for s in spellings for ch in PERSIAN_DIGITS)
    assert any("14" in s for s in spellings)
    # the join gap (ZWNJ -> space vs nothing) is the one difference normalisation keeps apart
    assert len({normalise_name(s).replace(" ", "") for s in spellings}) == 1
    assert latin_digits(render_digits("0123456789", "arabic")) == "0123456789"


def test_names_at_agencies_are_the_agencys_spelling_of_the_person(world: World) -> None:
    accounts = _accounts(world, BANKS[:5], persons=200)
    assert accounts
    for bank, account in accounts:
        assert account["holder_name"] == spell(world.person(str(account["person_id"])).name, bank.agency_id)


def test_dirty_share_keeps_some_records_wrongly() -> None:
    dirty = generate(REGISTRY.instances, n_persons=300, dirty_share=0.3)
    accounts = _accounts(dirty)  # the banks' world data keep mistyped IBANs in the world's dirty share
    assert 0 < sum(not is_iban(str(a["iban"])) for _, a in accounts) < len(accounts)
    police = REGISTRY.instance("traffic_police")  # the vehicle registry's world data keeps its own wrong plates
    plates = [str(row["plate"]) for p in dirty.persons for row in drawn_records(dirty, police, p.person_id)]
    assert 0 < sum("B" in p for p in plates) < len(plates)
    clean = generate(REGISTRY.instances, n_persons=300, dirty_share=0.0)
    assert not any("B" in str(row["plate"]) for p in clean.persons for row in drawn_records(clean, police,
                                                                                             p.person_id))


def test_cases_have_distinct_numbers_and_two_different_parties(world: World) -> None:
    assert len({c.case_id for c in world.cases}) == len(world.cases) == 40
    for case in world.cases:
        assert case.creditor_name and case.debtor in world.persons
        assert [e.event_type for e in case.events][:4] == ["filed", "referred", "notified", "invoiced"]


def test_a_world_of_a_million_is_drawn_per_person_on_demand() -> None:
    started = perf_counter()
    big = generate(REGISTRY.instances, n_persons=1_000_000, n_cases=100)
    last = big.persons[-1]
    assets = drawn_records(big, REGISTRY.instance("bank_melli"), last.person_id)
    assert big.person(last.person_id) == last
    assert len(big.persons) == 1_000_000
    assert all(a["person_id"] == last.person_id for a in assets)
    assert perf_counter() - started < 5  # nothing is drawn for the 999,900 persons nobody asked about
