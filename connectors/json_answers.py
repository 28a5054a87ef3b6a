"""Reading JSON documents: typed fields of an answer, ``Malformed`` when one is missing or ill-typed.

A reader checks an answer's shape (what it needs); value rules (ranges, check digits, plate patterns) are the data
contracts' job. Identifiers are normalised to Latin digits; names are kept exactly as the agency wrote them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from estelam.core.identifiers import latin_digits

_E = TypeVar("_E", bound=StrEnum)


class Malformed(ValueError):
    """A field of an answer is missing or of the wrong type."""


# --- reading answers ------------------------------------------------------------------------------


def as_object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{where} is not a JSON object")
    return value


def field_of(document: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in document:
        raise Malformed(f"{where}.{name} is missing")
    return document[name]


def text_of(document: Mapping[str, Any], name: str, where: str) -> str:
    value = field_of(document, name, where)
    if not isinstance(value, str):
        raise Malformed(f"{where}.{name} is not a string: {value!r}")
    return value


def integer_of(document: Mapping[str, Any], name: str, where: str) -> int:
    value = field_of(document, name, where)
    if not isinstance(value, int) or isinstance(value, bool):  # money is never a float, nor a bool
        raise Malformed(f"{where}.{name} is not an integer: {value!r}")
    return value


def moment_of(document: Mapping[str, Any], name: str, where: str) -> datetime:
    text = text_of(document, name, where)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Malformed(f"{where}.{name} is not an ISO 8601 time: {text!r}") from exc
    if moment.tzinfo is None:
        raise Malformed(f"{where}.{name} has no time zone: {text!r}")
    return moment.astimezone(UTC)


def choice_of(document: Mapping[str, Any], name: str, where: str, allowed: type[_E]) -> _E:
    text = text_of(document, name, where)
    try:
        return allowed(text)
    except ValueError as exc:
        raise Malformed(f"{where}.{name} is not one of {[str(v) for v in allowed]}: {text!r}") from exc


def list_of(document: Mapping[str, Any], name: str, where: str) -> list[Any]:
    value = field_of(document, name, where)
    if not isinstance(value, list):
        raise Malformed(f"{where}.{name} is not a list")
    return value


def identifier_of(document: Mapping[str, Any], name: str, where: str) -> str:
    """An identifier with Latin digits, whatever script the agency wrote it in."""
    return latin_digits(text_of(document, name, where))
