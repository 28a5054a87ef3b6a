"""Solar Hijri conversion against known dates, and formatting for judges."""

from datetime import UTC, date, datetime

import pytest

from estelam.core.calendars import (
    arabic_indic_digits,
    grouped,
    hijri,
    rials,
    solar_hijri,
    to_hijri,
    to_jalali,
    utc_text,
)


@pytest.mark.parametrize(
    ("gregorian", "jalali"),
    [
        (date(2025, 3, 21), (1404, 1, 1)),  # Nowruz 1404
        (date(2025, 3, 20), (1403, 12, 30)),  # last day of leap year 1403
        (date(2024, 3, 20), (1403, 1, 1)),
        (date(2026, 3, 21), (1405, 1, 1)),
        (date(2026, 9, 22), (1405, 6, 31)),
        (date(2026, 9, 23), (1405, 7, 1)),
        (date(2000, 1, 1), (1378, 10, 11)),
        (date(2026, 11, 21), (1405, 8, 30)),
    ],
)
def test_to_jalali(gregorian: date, jalali: tuple[int, int, int]) -> None:
    assert to_jalali(gregorian) == jalali


def test_solar_hijri_shows_tehran_time_with_persian_digits() -> None:
    # 20:00 UTC is 23:30 in Tehran, the same Solar Hijri day.
    assert solar_hijri(datetime(2026, 11, 21, 20, 0, tzinfo=UTC)) == "۱۴۰۵/۰۸/۳۰ ۲۳:۳۰"
    # 21:00 UTC is already the next day in Tehran.
    assert solar_hijri(datetime(2026, 11, 21, 21, 0, tzinfo=UTC), with_time=False) == "۱۴۰۵/۰۹/۰۱"


def test_rials_grouped_with_persian_digits() -> None:
    assert rials(1234567890) == "۱٬۲۳۴٬۵۶۷٬۸۹۰"
    assert rials(None) == "—"


def test_a_calendar_day_is_not_shifted_by_time_zone() -> None:
    from estelam.core.calendars import solar_hijri_date

    assert solar_hijri_date(date(2026, 11, 21)) == "۱۴۰۵/۰۸/۳۰"


@pytest.mark.parametrize(
    ("gregorian", "hijri_ymd"),
    [
        (date(2026, 2, 18), (1447, 9, 1)),  # 1 Ramadan 1447 (Umm al-Qura)
        (date(2025, 6, 26), (1447, 1, 1)),  # 1 Muharram 1447
    ],
)
def test_to_hijri_umm_al_qura(gregorian: date, hijri_ymd: tuple[int, int, int]) -> None:
    assert to_hijri(gregorian) == hijri_ymd


def test_hijri_shows_riyadh_time_with_arabic_indic_digits() -> None:
    # 21:30 UTC is 00:30 the next day in Riyadh (UTC+3): 22 November 2026 = 12 Jumada al-Akhirah 1448.
    assert hijri(datetime(2026, 11, 21, 21, 30, tzinfo=UTC)) == "١٤٤٨/٠٦/١٢ ٠٠:٣٠"
    assert hijri(None) == "—"
    assert arabic_indic_digits("2026") == "٢٠٢٦"


def test_grouped_amounts_use_each_readers_digits() -> None:
    assert grouped(1234567, digits="fa") == "۱٬۲۳۴٬۵۶۷" == rials(1234567)
    assert grouped(1234567, digits="ar") == "١٬٢٣٤٬٥٦٧"
    assert grouped(1234567, digits="latin") == "1,234,567"
    assert grouped(None) == "—"
    with pytest.raises(ValueError, match="digits"):
        grouped(1, digits="roman")


def test_utc_text_keeps_the_stored_instant() -> None:
    assert utc_text(datetime(2026, 11, 21, 21, 30, tzinfo=UTC)) == "2026-11-21 21:30 UTC"
    assert utc_text(None) == ""
