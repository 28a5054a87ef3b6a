"""Check digits and normalisation against real-world spellings and known-good identifiers."""

import pytest

from estelam.core.identifiers import (
    iban_check_digits,
    is_iban,
    is_iran_legal_id,
    is_iran_national_code,
    is_person_id,
    is_saudi_national_id,
    latin_digits,
    normalise_name,
)


@pytest.mark.parametrize("code", ["0499370899", "0012345679", "0084575948"])
def test_valid_national_codes(code: str) -> None:
    assert is_iran_national_code(code)


@pytest.mark.parametrize("code", ["0499370898", "1111111111", "049937089", "04993708990", "04993708a9"])
def test_invalid_national_codes(code: str) -> None:
    assert not is_iran_national_code(code)


def test_legal_id_check_digit() -> None:
    assert is_iran_legal_id("14007650912")
    assert not is_iran_legal_id("14007650913")
    assert is_person_id("14007650912") and is_person_id("0499370899")


def test_iban_mod97() -> None:
    assert is_iban("IR062960000000100324200001")
    assert is_iban("GB82 WEST 1234 5698 7654 32")
    assert not is_iban("IR062960000000100324200002")
    bban = "0170000000100324200001"
    assert is_iban("IR" + iban_check_digits("IR", bban) + bban)


def test_saudi_national_id_luhn() -> None:
    assert is_saudi_national_id("1000000008")
    assert not is_saudi_national_id("1000000009")
    assert not is_saudi_national_id("3000000008")


def test_digits_of_three_systems_become_latin() -> None:
    assert latin_digits("۰۴۹۹٣٧٠899") == "0499370899"


@pytest.mark.parametrize(
    "spelling",
    ["علی کریمی\u200cنژاد", "علي كريمي نژاد", "علی  کریمی نژاد ", "عَلی کریمی\u200cنژاد"],
)
def test_name_spellings_normalise_to_one_form(spelling: str) -> None:
    assert normalise_name(spelling) == "علی کریمی نژاد"


@pytest.mark.parametrize(("spellings", "canonical"), [
    # tatweel (kashida) stretches a word for display only
    (["محمد", "محمـــد", "مـحـمـد"], "محمد"),
    # heh doachashmee and ae (Urdu/Kurdish keyboards) are heh; teh marbuta too
    (["فاطمه", "فاطمھ", "فاطمە", "فاطمة"], "فاطمه"),
    # swash kaf and Arabic kaf are the Persian kaf
    (["کاظم", "ڪاظم", "كاظم"], "کاظم"),
    # yeh with hamza, written as one letter or as yeh plus the hamza mark
    (["رئیسی", "ریٔیسی", "رييسي"], "رییسی"),
    # Latin transliterations match whatever their case
    (["Ali KARIMI", "ali karimi", "ALI Karimi"], "ali karimi"),
    # already unified before: alef variants, hamza on waw, Arabic-Indic digits
    (["إحسان", "أحسان", "ٱحسان"], "احسان"),
    (["مؤمن", "مومن"], "مومن"),
    (["پلاک ۱۲", "پلاک ١٢", "پلاک 12"], "پلاک 12"),
])
def test_spellings_found_against_hazm_and_parsivar_are_one_name(spellings: list[str], canonical: str) -> None:
    assert {normalise_name(s) for s in spellings} == {canonical}


def test_alef_with_madda_stays_a_letter_of_its_own() -> None:
    assert normalise_name("آرش") == "آرش" != normalise_name("ارش")
