"""Reading REST agencies' JSON answers into domain objects, and writing their order bodies.

The client checks an answer's shape (what it needs to build domain objects); value rules
(ranges, check digits, plate patterns) are the data contracts' job. Identifiers are
normalised to Latin digits; names are kept exactly as the agency wrote them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from estelam.core.domain import FreezeOrder, Vehicle
from estelam.core.identifiers import latin_digits

#: What a vehicle restriction forbids when the order does not say: a change of owner.
DEFAULT_RESTRICTION_TYPE = "transfer"

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


def vehicle(item: Mapping[str, Any], where: str) -> Vehicle:
    return Vehicle(
        plate=identifier_of(item, "plate", where),
        owner_id=identifier_of(item, "ownerId", where),
        owner_name=text_of(item, "ownerName", where),
        model=text_of(item, "model", where),
        value_rial=integer_of(item, "valueRial", where),
    )


def owner_of(asset: Vehicle) -> str:
    return asset.owner_id


# --- writing orders -------------------------------------------------------------------------------


def vehicle_restriction(order: FreezeOrder) -> dict[str, Any]:
    return {**vehicle_release(order), "restrictionType": str(order.restriction_type or DEFAULT_RESTRICTION_TYPE)}


def vehicle_release(order: FreezeOrder) -> dict[str, Any]:
    return {"orderId": order.order_id, "caseId": order.case_id, "plate": order.asset_ref,
            "amountRial": order.amount_rial}
