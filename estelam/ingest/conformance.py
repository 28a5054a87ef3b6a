"""Step 1 of validation: cast every value of a batch to its contract's column type.

A cell that cannot be cast (wrong type, a float for money, a timestamp without a time zone)
becomes null and its row collects the reason; unknown columns and the producer's ``_error``
key are reasons too. Arrow columns are cast in Arrow when that cannot change their meaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pyarrow as pa

from estelam.contracts.registry import FeedContract
from estelam.core.identifiers import latin_digits

#: A record carrying this key was unreadable to its producer; the value is the reason.
PRODUCER_ERROR_KEY = "_error"

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INTEGER = re.compile(r"[+-]?[0-9]+")
_BOOLEANS = {"true": True, "false": False}


def type_name(value: object) -> str:
    return type(value).__name__


def _to_string(value: object) -> tuple[object, str | None]:
    return (value, None) if isinstance(value, str) else (None, f"cannot cast {type_name(value)} to string")


def _to_int64(value: object) -> tuple[object, str | None]:
    if isinstance(value, bool):  # a bool is an int in Python, never in a contract
        return None, "cannot cast bool to int64"
    if isinstance(value, str):
        text = latin_digits(value.strip())
        if not _INTEGER.fullmatch(text):
            return None, "cannot cast str to int64"
        value = int(text)
    if not isinstance(value, int):
        return None, f"cannot cast {type_name(value)} to int64"
    if not INT64_MIN <= value <= INT64_MAX:
        return None, "out of int64 range"
    return value, None


def _to_bool(value: object) -> tuple[object, str | None]:
    if isinstance(value, bool):
        return value, None
    if isinstance(value, str) and value.strip().lower() in _BOOLEANS:
        return _BOOLEANS[value.strip().lower()], None
    return None, f"cannot cast {type_name(value)} to bool"


def _to_date(value: object) -> tuple[object, str | None]:
    if isinstance(value, datetime):
        return None, "cannot cast datetime to date"
    if isinstance(value, date):
        return value, None
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()), None
        except ValueError:
            return None, "cannot cast str to date"
    return None, f"cannot cast {type_name(value)} to date"


def _to_timestamp(value: object) -> tuple[object, str | None]:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return None, "cannot cast str to timestamp"
    if not isinstance(value, datetime):
        return None, f"cannot cast {type_name(value)} to timestamp"
    if value.tzinfo is None or value.utcoffset() is None:
        return None, "timestamp without time zone"
    return value.astimezone(UTC), None


_CONVERTERS: dict[str, Callable[[object], tuple[object, str | None]]] = {
    "string": _to_string,
    "int64": _to_int64,
    "bool": _to_bool,
    "date": _to_date,
    "timestamp": _to_timestamp,
}
#: Python types that need no conversion (a timestamp must also be aware), checked before the per-value path.
_NATIVE_TYPES: dict[str, frozenset[type]] = {
    "string": frozenset({str, type(None)}),
    "int64": frozenset({int, type(None)}),
    "bool": frozenset({bool, type(None)}),
    "date": frozenset({date, type(None)}),
    "timestamp": frozenset({datetime, type(None)}),
}


def _all_native(ctype: str, values: list[object]) -> bool:
    if not set(map(type, values)) <= _NATIVE_TYPES[ctype]:
        return False
    if ctype == "timestamp":
        return all(isinstance(v, datetime) and v.utcoffset() is not None for v in values if v is not None)
    return True


def _conform_values(ctype: str, arrow_type: pa.DataType, values: list[object]) -> tuple[pa.Array, dict[int, str]]:
    """Cast one column's values; bad cells become null and are reported by row."""
    if _all_native(ctype, values):
        try:
            return pa.array(values, type=arrow_type), {}
        except (OverflowError, pa.ArrowInvalid):
            pass  # an int beyond int64: the per-value path names the rows
    convert = _CONVERTERS[ctype]
    converted: list[object] = []
    errors: dict[int, str] = {}
    for i, value in enumerate(values):
        if value is None:
            converted.append(None)
            continue
        cast, error = convert(value)
        if error is not None:
            errors[i] = error
        converted.append(cast)
    return pa.array(converted, type=arrow_type), errors


def _conform_column(ctype: str, arrow_type: pa.DataType, source: pa.ChunkedArray) -> tuple[pa.Array, dict[int, str]]:
    """An Arrow column: cast in Arrow when that cannot change meaning, else value by value."""
    src = source.type
    lossless = (
        src == arrow_type
        or (pa.types.is_integer(src) and pa.types.is_integer(arrow_type))
        or (pa.types.is_timestamp(src) and src.tz is not None and pa.types.is_timestamp(arrow_type))
        or (pa.types.is_large_string(src) and pa.types.is_string(arrow_type))
    )
    if lossless:
        try:
            return source.cast(arrow_type).combine_chunks(), {}
        except pa.ArrowInvalid:
            pass  # e.g. uint64 beyond int64: the per-value path names the rows
    return _conform_values(ctype, arrow_type, source.to_pylist())


@dataclass
class Conformed:
    table: pa.Table  # every input row, bad cells null
    reasons: list[list[str]]  # per input row, conform reasons
    raw_rows: Callable[[Sequence[int]], list[Mapping[str, object]]]


def conform(contract: FeedContract, batch: Sequence[Mapping[str, object]] | pa.Table) -> Conformed:
    names = contract.column_names
    known = set(names)
    arrays: list[pa.Array] = []
    if isinstance(batch, pa.Table):
        n = batch.num_rows
        reasons: list[list[str]] = [[] for _ in range(n)]
        for extra in (c for c in batch.column_names if c not in known):
            column = batch.column(extra)
            for i, value in enumerate(column.to_pylist()):
                if value is not None:
                    reasons[i].append(str(value) if extra == PRODUCER_ERROR_KEY else f"unknown column {extra}")
        for col in contract.columns:
            if col.name in batch.column_names:
                array, errors = _conform_column(col.type, col.arrow_type, batch.column(col.name))
            else:
                array, errors = pa.nulls(n, type=col.arrow_type), {}
            arrays.append(array)
            for i, error in errors.items():
                reasons[i].append(f"{col.name}: {error}")

        def raw_rows(indices: Sequence[int]) -> list[Mapping[str, object]]:
            taken: list[Mapping[str, object]] = batch.take(pa.array(indices, type=pa.int64())).to_pylist()
            return taken

    else:
        records = batch if isinstance(batch, list) else list(batch)
        n = len(records)
        reasons = [[] for _ in range(n)]
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise TypeError(f"record {i} of feed {contract.feed!r} is a {type_name(record)}, not a mapping")
            if record.keys() <= known:
                continue
            for key, value in record.items():
                if key not in known and value is not None:
                    reasons[i].append(str(value) if key == PRODUCER_ERROR_KEY else f"unknown column {key}")
        for col in contract.columns:
            name = col.name
            array, errors = _conform_values(col.type, col.arrow_type, [r.get(name) for r in records])
            arrays.append(array)
            for i, error in errors.items():
                reasons[i].append(f"{name}: {error}")

        def raw_rows(indices: Sequence[int]) -> list[Mapping[str, object]]:
            return [records[i] for i in indices]

    table = pa.Table.from_arrays(arrays, schema=contract.arrow_schema())
    return Conformed(table, reasons, raw_rows)
