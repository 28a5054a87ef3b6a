"""Show UTC instants in the reader's calendar: Solar Hijri (Iran) with Persian digits.

Storage is always UTC; this module only formats for people.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

TEHRAN = ZoneInfo("Asia/Tehran")
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_BREAKS = (-61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210, 1635, 2060, 2097, 2192, 2262, 2324, 2394,
           2456, 3178)


def _jalali_leap_info(jy: int) -> tuple[int, int]:
    """(leap, gregorian year's day of March on which Farvardin 1 falls) for Jalali year ``jy``."""
    gy = jy + 621
    leap_j = -14
    jp = _BREAKS[0]
    jump = 0
    for jm in _BREAKS[1:]:
        jump = jm - jp
        if jy < jm:
            break
        leap_j += jump // 33 * 8 + (jump % 33) // 4
        jp = jm
    n = jy - jp
    leap_j += n // 33 * 8 + ((n % 33) + 3) // 4
    if jump % 33 == 4 and jump - n == 4:
        leap_j += 1
    leap_g = gy // 4 - (gy // 100 + 1) * 3 // 4 - 150
    march = 20 + leap_j - leap_g
    if jump - n < 6:
        n = n - jump + (jump + 4) // 33 * 33
    leap = ((n + 1) % 33 - 1) % 4
    if leap == -1:
        leap = 4
    return leap, march


def to_jalali(day: date) -> tuple[int, int, int]:
    """Gregorian date -> (year, month, day) in the Solar Hijri calendar."""
    jy = day.year - 621
    _, march = _jalali_leap_info(jy)
    farvardin_1 = date(day.year, 3, march)
    offset = (day - farvardin_1).days
    if offset < 0:
        jy -= 1
        _, march = _jalali_leap_info(jy)
        offset = (day - date(day.year - 1, 3, march)).days
    if offset < 186:
        return jy, offset // 31 + 1, offset % 31 + 1
    offset -= 186
    return jy, min(offset // 30 + 7, 12), offset - min(offset // 30, 5) * 30 + 1


def persian_digits(text: object) -> str:
    return str(text).translate(PERSIAN_DIGITS)


def solar_hijri(instant: datetime | None, *, with_time: bool = True) -> str:
    """A UTC instant as a Tehran-time Solar Hijri string with Persian digits, e.g. ۱۴۰۵/۰۸/۱۰ ۱۴:۳۰."""
    if instant is None:
        return "—"
    local = instant.astimezone(TEHRAN)
    y, m, d = to_jalali(local.date())
    text = f"{y:04d}/{m:02d}/{d:02d}"
    if with_time:
        text += f" {local:%H:%M}"
    return persian_digits(text)


def solar_hijri_date(day: date | None) -> str:
    """A calendar day (no time, no zone shift) in Solar Hijri with Persian digits, e.g. ۱۴۰۵/۰۸/۳۰."""
    if day is None:
        return "—"
    y, m, d = to_jalali(day)
    return persian_digits(f"{y:04d}/{m:02d}/{d:02d}")


def rials(amount: int | None) -> str:
    """Rials grouped by thousands with Persian digits and the Persian thousands separator."""
    if amount is None:
        return "—"
    return persian_digits(f"{amount:,}".replace(",", "٬"))
