"""Solar Hijri conversion against known dates, and formatting for judges."""

from datetime import UTC, date, datetime

import pytest

from estelam.calendars import rials, solar_hijri, to_jalali


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
    from estelam.calendars import solar_hijri_date

    assert solar_hijri_date(date(2026, 11, 21)) == "۱۴۰۵/۰۸/۳۰"
