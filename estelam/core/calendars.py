"""Show UTC instants in the reader's calendar: Solar Hijri (Iran) with Persian digits, Hijri Umm al-Qura
(Saudi Arabia) with Arabic-Indic digits, or Gregorian with Latin digits.

Storage is always UTC; this module only formats for people.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

TEHRAN = ZoneInfo("Asia/Tehran")
RIYADH = ZoneInfo("Asia/Riyadh")
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
ARABIC_INDIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
#: The Arabic thousands separator (U+066C), used with Persian and Arabic-Indic digits alike.
ARABIC_THOUSANDS_SEPARATOR = "٬"
#: The Arabic decimal separator (٫), in Persian and Arabic numbers alike.
ARABIC_DECIMAL_SEPARATOR = "\u066b"
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


def _calendar_text(instant_or_day: datetime | date | None, *, zone: ZoneInfo | None,
                   convert: Callable[[date], tuple[int, int, int]], digits: Callable[[object], str],
                   with_time: bool) -> str:
    """One formatter for every calendar: an instant is shown in ``zone``'s local time, a day as it is."""
    if instant_or_day is None:
        return "—"
    if isinstance(instant_or_day, datetime):
        local = instant_or_day.astimezone(zone)
        day, clock = local.date(), f" {local:%H:%M}" if with_time else ""
    else:
        day, clock = instant_or_day, ""
    y, m, d = convert(day)
    return digits(f"{y:04d}/{m:02d}/{d:02d}{clock}")


def solar_hijri(instant: datetime | None, *, with_time: bool = True) -> str:
    """A UTC instant as a Tehran-time Solar Hijri string with Persian digits, e.g. ۱۴۰۵/۰۸/۱۰ ۱۴:۳۰."""
    return _calendar_text(instant, zone=TEHRAN, convert=to_jalali, digits=persian_digits, with_time=with_time)


def solar_hijri_date(day: date | None) -> str:
    """A calendar day (no time, no zone shift) in Solar Hijri with Persian digits, e.g. ۱۴۰۵/۰۸/۳۰."""
    return _calendar_text(day, zone=None, convert=to_jalali, digits=persian_digits, with_time=False)


def rials(amount: int | None) -> str:
    """Rials grouped by thousands with Persian digits and the Persian thousands separator."""
    if amount is None:
        return "—"
    return persian_digits(f"{amount:,}".replace(",", "٬"))


def arabic_indic_digits(text: object) -> str:
    """Latin digits as Arabic-Indic digits (٠١٢…), as Saudi documents write them."""
    return str(text).translate(ARABIC_INDIC_DIGITS)


def to_hijri(day: date) -> tuple[int, int, int]:
    """Gregorian date -> (year, month, day) in the Hijri Umm al-Qura calendar (valid 1937-2076)."""
    from hijridate import Gregorian

    hijri_day = Gregorian(day.year, day.month, day.day).to_hijri()
    return hijri_day.year, hijri_day.month, hijri_day.day


def hijri(instant: datetime | None, *, with_time: bool = True) -> str:
    """A UTC instant as a Riyadh-time Umm al-Qura string with Arabic-Indic digits, e.g. ١٤٤٨/٠٦/١٢ ٠٣:٤٨."""
    return _calendar_text(instant, zone=RIYADH, convert=to_hijri, digits=arabic_indic_digits, with_time=with_time)


def hijri_date(day: date | None) -> str:
    """A calendar day (no time, no zone shift) in Umm al-Qura with Arabic-Indic digits."""
    return _calendar_text(day, zone=None, convert=to_hijri, digits=arabic_indic_digits, with_time=False)


def grouped(amount: int | None, *, digits: str = "fa", minor_unit: int = 0) -> str:
    """An integer amount grouped by thousands: ``fa`` Persian digits, ``ar`` Arabic-Indic (both with the
    Arabic separator ٬ and the decimal separator ٫), ``latin`` Latin digits with commas and a point.

    ``amount`` is in minor units with ``minor_unit`` decimal places (the profile's ``currency.minor_unit``): 0 for
    rials, 2 for the riyal's halalas, so ``123456`` halalas read ``1,234.56`` riyals (``١٬٢٣٤٫٥٦``)."""
    if amount is None:
        return "—"
    if minor_unit < 0:
        raise ValueError(f"minor_unit must be 0 or more, not {minor_unit}")
    major, minor = divmod(abs(amount), 10**minor_unit)
    fraction = f".{minor:0{minor_unit}d}" if minor_unit else ""
    latin = f"{'-' if amount < 0 else ''}{major:,}{fraction}"
    if digits == "latin":
        return latin
    text = latin.replace(",", ARABIC_THOUSANDS_SEPARATOR).replace(".", ARABIC_DECIMAL_SEPARATOR)
    if digits == "fa":
        return persian_digits(text)
    if digits == "ar":
        return arabic_indic_digits(text)
    raise ValueError(f"digits must be fa, ar or latin, not {digits!r}")


def utc_text(instant: datetime | None) -> str:
    """A UTC instant as ``YYYY-MM-DD HH:MM UTC`` (Latin digits): the stored truth under a local date."""
    if instant is None:
        return ""
    return f"{instant.astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M} UTC"
