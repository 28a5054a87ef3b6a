"""Amounts are integers in the jurisdiction profile's minor unit (rials in Iran, halalas in Saudi Arabia); what a
person reads is divided by 10**minor_unit and written the local way."""

from __future__ import annotations

import pytest

from estelam.core.calendars import grouped


def test_rials_have_no_fraction() -> None:
    assert grouped(7_222_390_000, digits="fa") == "۷٬۲۲۲٬۳۹۰٬۰۰۰"
    assert grouped(7_222_390_000, digits="latin") == "7,222,390,000"


def test_halalas_read_as_riyals_with_two_decimals() -> None:
    assert grouped(123_456, digits="latin", minor_unit=2) == "1,234.56"
    assert grouped(123_456, digits="ar", minor_unit=2) == "١٬٢٣٤٫٥٦"  # Arabic thousands and decimal separators
    assert grouped(5, digits="ar", minor_unit=2) == "٠٫٠٥"
    assert grouped(-150, digits="latin", minor_unit=2) == "-1.50"
    assert grouped(None, minor_unit=2) == "—"
    with pytest.raises(ValueError, match="minor_unit"):
        grouped(1, minor_unit=-1)
