"""One asset or acknowledgement record of an agency's answer, read and changed the same way in XML and JSON.

The fault injector corrupts answers through these records, so a contract breach looks the same
whatever wire format the agency speaks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from estelam.core.identifiers import is_iban, latin_digits

#: Fields whose presence marks an asset record in an answer (SOAP element or JSON object).
OWNER_FIELDS = ("holderId", "ownerId")


class Record:
    """One asset or acknowledgement of an answer, whatever its wire format."""

    def get(self, name: str) -> str | None:
        raise NotImplementedError

    def set(self, name: str, value: str | int) -> None:
        raise NotImplementedError

    def has(self, name: str) -> bool:
        return self.get(name) is not None

    def number(self, name: str) -> int:
        return int(self.get(name) or 0)


class XmlRecord(Record):
    def __init__(self, element: etree._Element) -> None:
        self.element = element

    def _child(self, name: str) -> etree._Element | None:
        return next((c for c in self.element if isinstance(c.tag, str) and etree.QName(c).localname == name), None)

    def get(self, name: str) -> str | None:
        child = self._child(name)
        return None if child is None else (child.text or "")

    def set(self, name: str, value: str | int) -> None:
        child = self._child(name)
        if child is None:  # only "reason" is ever added: it is the last element of an acknowledgement
            child = etree.SubElement(self.element, etree.QName(etree.QName(self.element).namespace, name).text)
        child.text = str(value)


class JsonRecord(Record):
    def __init__(self, document: dict[str, Any], siblings: list[Any] | None = None) -> None:
        self.document = document
        self.siblings = siblings  # the list holding it, if any

    def get(self, name: str) -> str | None:
        value = self.document.get(name)
        return None if value is None else str(value)

    def set(self, name: str, value: str | int) -> None:
        self.document[name] = value


def asset_ref_of(record: Record) -> str:
    """The asset's reference, spelled as the hub's orders spell it."""
    if record.has("iban"):
        return latin_digits(str(record.get("iban")))
    if record.has("plate"):
        return latin_digits(str(record.get("plate")))
    if record.has("registrySection"):
        section = latin_digits(str(record.get("registrySection")))
        return f"{section}/{record.number('mainPlate')}/{record.number('subPlate')}"
    return f"{owner_of(record)}:{record.get('symbol')}"


def owner_of(record: Record) -> str | None:
    """The asset's owner in Latin digits (agencies may write ids in Persian or Arabic-Indic digits)."""
    owner = next((record.get(f) for f in OWNER_FIELDS if record.has(f)), None)
    return None if owner is None else latin_digits(owner)


def broken_iban(written: str) -> str:
    iban = latin_digits(written)
    for step in range(1, 100):  # the first other pair of check digits that fails the mod-97 check
        candidate = f"{iban[:2]}{(int(iban[2:4]) + step) % 100:02d}{iban[4:]}"
        if not is_iban(candidate):
            return candidate
    raise AssertionError("unreachable: only one pair of check digits is valid")


#: Contract breaches: (field that must be present, field that must be absent, change, description).
BREACHES: tuple[tuple[str, str | None, Callable[[Record], str | int], str], ...] = (
    ("iban", None, lambda r: broken_iban(str(r.get("iban"))), "IBAN check digits broken"),
    ("balanceRial", None, lambda r: -abs(r.number("balanceRial")) - 1, "negative balance"),
    ("sharePercent", None, lambda r: r.number("sharePercent") + 100, "share above 100 %"),
    ("valueRial", "quantity", lambda r: -abs(r.number("valueRial")) - 1, "negative value"),
    ("plate", None, lambda r: str(r.get("plate")).replace("-", ""), "plate without its region dash"),
    ("symbol", None, lambda r: str(r.get("symbol")).lower(), "symbol in lower case"),
    ("quantity", None, lambda r: -abs(r.number("quantity")) - 1, "negative quantity"),
)
#: Values no contract allows, for the enum fields of answers.
UNKNOWN_ENUMS = {"accountKind": "blocked_by_bank", "status": "queued"}
