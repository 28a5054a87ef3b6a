"""The Saudi synthetic world: Saudi ids that pass the Saudi checks, SA IBANs at the registry's banks, Saudi plates,
halalas, Arabic names spelled the ways Arabic records spell them (and unified by the hub's name normaliser)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest

from estelam.contracts.registry import iban_account_holders, load_agency_registry
from estelam.core.domain import PersonKind
from estelam.core.identifiers import is_iban, normalise_name, person_key
from estelam.core.jurisdiction import load_profile
from simulators.world import World, generate
from simulators.world_sa import ArabicSpelling, SaudiWorld, arabic_spelling_of, luhn_digit, saudi_iban
from tests.mapping_support import drawn_records
from tests.settings_support import override

SA = load_profile("sa")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> World:
    override(monkeypatch, jurisdiction="sa")
    return generate(load_agency_registry().instances, n_persons=300, n_cases=40)


def _accounts(world: World) -> list[tuple[str, dict[str, Any]]]:
    """(bank, account) of the accounts the Saudi banks' generated simulators draw (world_data/bank.sa.yaml)."""
    return [(bank.agency_id, row) for bank in iban_account_holders(world.instances)
            for p in world.persons for row in drawn_records(world, bank, p.person_id)]


def test_the_profile_picks_the_saudi_world(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(world, SaudiWorld)
    override(monkeypatch, jurisdiction="ir")
    assert type(generate(load_agency_registry().instances, n_persons=10, n_cases=2)) is World
    with pytest.raises(ValueError, match="no synthetic world for jurisdiction 'xx'"):
        generate(load_agency_registry().instances, n_persons=10, n_cases=2, jurisdiction="xx")


def test_saudi_ids_pass_the_saudi_checks_and_find_their_person(world: World) -> None:
    schemes = Counter()
    for index, person in enumerate(world.persons):
        key = person_key(person.person_id, SA.person_id_schemes)
        assert key is not None, person.person_id
        scheme = key.split(":")[0]
        schemes[scheme] += 1
        assert (scheme == "sa-cr") == (person.kind is PersonKind.LEGAL)
        assert world.index_of(person.person_id) == index
        assert world.index_of(f"{scheme}:{person.person_id}") == index  # written with its scheme
    assert schemes["sa-nid"] > schemes["sa-iqama"] > 0 and schemes["sa-cr"] > 0
    assert world.index_of("1100000007") is None  # a valid Saudi id of no one in this world
    assert luhn_digit("110000000") == "7"


def test_accounts_are_sa_ibans_at_the_registrys_banks_in_halalas(world: World) -> None:
    codes = {i.agency_id: i.iban_bank_code for i in load_agency_registry().instances}
    accounts = _accounts(world)
    assert len(accounts) > 100
    valid = [(bank, a) for bank, a in accounts if is_iban(str(a["iban"]))]
    assert 0 < len(accounts) - len(valid) < len(accounts) * 0.1  # a few mistyped, as real registries have
    for bank, account in valid:
        assert re.fullmatch(SA.pattern("iban"), str(account["iban"])) and str(account["iban"])[4:6] == codes[bank]
        assert account["balance_rial"] % 100 == 0  # whole riyals, in halalas
    assert saudi_iban("80", 608010167519) == "SA0380000000608010167519"  # SARIE's published example


def test_plates_and_deeds_have_saudi_shapes(world: World) -> None:
    # plates: the vehicle registry's generated simulator draws them from its Saudi world data
    muroor = load_agency_registry().instance("muroor")
    vehicles = [row for p in world.persons for row in drawn_records(world, muroor, p.person_id)]
    assert vehicles
    assert all(v["value_rial"] % 100 == 0 for v in vehicles)  # whole riyals, in halalas
    plates = [str(v["plate"]) for v in vehicles]
    shaped = [p for p in plates if re.fullmatch(SA.pattern("plate"), p)]
    assert len(plates) > 50 and len(plates) - len(shaped) < len(plates) * 0.1
    assert any(re.fullmatch(r"[0-9]{1,4} [A-Z]{3}", p) for p in shaped)  # the Latin line, now and then
    # deeds: the land registry's generated simulator draws them from its Saudi world data (land_registry.sa.yaml)
    registry = load_agency_registry().instance("real_estate_registry")
    deeds = [row for p in world.persons for row in drawn_records(world, registry, p.person_id)]
    assert deeds
    assert all(100_000 <= d["main_plate"] <= 999_999 and 1 <= int(d["registry_section"]) <= 120 for d in deeds)
    assert all(d["value_rial"] % 100 == 0 for d in deeds)  # whole riyals, in halalas
    names = {d["owner_name"] for d in deeds}
    assert all(not re.search("[پچژگک]", name) for name in names)  # written in Arabic, not Persian


def test_cases_are_at_saudi_courts_with_saudi_contacts(world: World) -> None:
    filings = [e for e in world.case_events() if e.event_type == "filed"]
    assert {e.court_code[:3] for e in filings} <= {"RUH", "JED", "DMM", "MKH", "MED", "ABH"}
    assert all(e.case_id[:4] in {"1446", "1447", "1448"} for e in filings)
    assert all(e.creditor_iban and re.fullmatch(SA.pattern("iban"), e.creditor_iban) and is_iban(e.creditor_iban)
               for e in filings)
    mobiles = [m for e in filings for m in (e.debtor_mobile, e.creditor_mobile) if m]
    assert mobiles and all(re.fullmatch(SA.pattern("mobile"), m) for m in mobiles)
    assert {e.debtor_language for e in filings} <= {"ar", "en"}


def test_arabic_spellings_vary_and_normalise_to_one_name(world: World) -> None:
    canonical = "فاطمة إبراهيم أسامة مصطفى مؤمن عائشة ٧"
    every = ArabicSpelling(drop_hamza=True, taa_as_haa=True, maksura_as_yeh=True, tatweel=True,
                           double_spaces=True, name_digits="latin")
    spelled = every.name(canonical)
    assert "ة" not in spelled and "أ" not in spelled and "إ" not in spelled and "ى" not in spelled
    assert "\u0640" in spelled and "  " in spelled and "7" in spelled
    assert normalise_name(spelled) == normalise_name(canonical)
    assert len({arabic_spelling_of(i.agency_id) for i in world.instances}) > 3, "agencies do not all spell alike"
    # what the agencies answer: one person's name spelled several ways, one name once normalised
    names = Counter()
    for _, account in _accounts(world):
        names[account["person_id"], account["holder_name"]] += 1
    spellings: dict[str, set[str]] = {}
    for holder, name in names:
        spellings.setdefault(holder, set()).add(name)
    varied = [forms for forms in spellings.values() if len(forms) > 1]
    assert varied and all(len({normalise_name(n) for n in forms}) == 1 for forms in varied)


def test_the_saudi_demo_judge_sits_at_courts_the_saudi_world_files_at(world: World) -> None:
    from estelam.access.auth import DEMO_TOKENS, TokenStore

    judge = TokenStore.from_config(DEMO_TOKENS).authenticate("demo-judge-sa")
    courts = {e.court_code for e in world.case_events()}
    assert set(judge.courts) <= courts and str(judge.role) == "judge"
