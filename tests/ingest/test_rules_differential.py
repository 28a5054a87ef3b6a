"""The compiled rules give the GX suite's verdicts: the same valid rows, rejected rows and reasons, for every feed.

The corpus is generated from each contract: per column, values that keep and values that break each of its rules
(outside the allowed set, not matching the pattern, below the minimum, above the maximum, a wrong check digit,
null where not allowed) mixed at random, and rows repeated so primary keys collide. The test first proves the
corpus breaks and keeps every rule of every feed, so the equality says something.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pytest

from estelam.contracts import registry as contracts
from estelam.contracts.registry import Column, FeedContract
from estelam.core.identifiers import iban_check_digits, iran_national_code_check_digit
from estelam.ingest import rules
from estelam.ingest.conformance import conform
from estelam.ingest.validation import REASONS_COLUMN, Engine, validate

ROWS = 2_500
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _national_code(rng: random.Random, *, valid: bool) -> str:
    first = f"{rng.randrange(1, 10**9):09d}"
    check = iran_national_code_check_digit(first)
    return first + str(check if valid else (check + 1) % 10)


def _iban(rng: random.Random, *, valid: bool) -> str:
    bban = f"{rng.randrange(10**21, 10**22):022d}"[:22]
    check = iban_check_digits("IR", bban)
    return f"IR{check}{bban}" if valid else f"IR{(int(check) + 1) % 100:02d}{bban}"


def _strings(rng: random.Random, column: Column) -> list[str | None]:
    """Candidate values of a string column: the shapes the hub's feeds carry, right and wrong."""
    pool: list[str | None] = [
        _national_code(rng, valid=True), _national_code(rng, valid=True), _national_code(rng, valid=False),
        _iban(rng, valid=True), _iban(rng, valid=False), "IR12", f"1403-{rng.randrange(10**6):06d}", "1403-12",
        "12ب345-67", "12الف345-67", "12X345-67", "7", "42", "1234", "ABC-12", "abc-12", "FOOLAD", "foolad",
        "A" * 13, "", " ", "متن فارسی", "bank_melli", "x\ny", "14030000001",
        # the mapped kinds' shapes: a 16-digit Sayad cheque number (and one digit short), a member state's code
        f"{rng.randrange(10**15, 10**16)}", f"{rng.randrange(10**14, 10**15)}", "DE", "FR", "de", "DEU",
    ]
    pool += [str(v) for v in column.rules.get("allowed", [])] * 4
    pool += [f"{column.name}-{n}" for n in range(40)]  # many distinct keys, so duplicates are the exception
    return pool


def _value(rng: random.Random, column: Column, pool: list[Any]) -> Any:
    if rng.random() < 0.04:
        return None
    if column.type == "string":
        return rng.choice(pool)
    if column.type == "int64":
        return rng.choice(pool)
    if column.type == "bool":
        return rng.random() < 0.5
    if column.type == "date":
        return date(2026, 11, 1) + timedelta(days=rng.randrange(30))
    if column.type == "timestamp":
        return T0 + timedelta(seconds=rng.randrange(10**6))
    if column.type == "float64":
        return rng.random() * 100
    raise AssertionError(f"no generator for {column.type}")


def _ints(rng: random.Random, column: Column) -> list[int]:
    pool = [0, 1, -1, 7, 100, 10**9, rng.randrange(10**12), -(10**6)]
    for bound in ("min", "max"):
        if bound in column.rules:
            b = int(column.rules[bound])
            pool += [b - 1, b, b + 1] * 3
    pool += [int(v) for v in column.rules.get("allowed", []) if isinstance(v, int)] * 4
    return pool


def corpus(contract: FeedContract, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    pools = {c.name: _strings(rng, c) if c.type == "string" else _ints(rng, c) for c in contract.columns}
    rows = [{c.name: _value(rng, c, pools[c.name]) for c in contract.columns} for _ in range(ROWS)]
    for _ in range(ROWS // 20):  # repeated keys: the second one is rejected
        rows.append(dict(rng.choice(rows)))
    rng.shuffle(rows)
    return rows


FEEDS = sorted(contracts.feeds())


@pytest.mark.parametrize("feed", FEEDS)
def test_compiled_rules_give_the_gx_suites_verdicts(feed: str) -> None:
    contract = contracts.feed(feed)
    rows = corpus(contract, seed=len(feed))
    by_gx = validate(contract, rows, engine=Engine.GX)
    compiled = validate(contract, rows, engine=Engine.COMPILED)
    assert compiled.valid.equals(by_gx.valid)
    assert compiled.rejected.equals(by_gx.rejected), _first_difference(by_gx.rejected, compiled.rejected)

    # the corpus keeps and breaks every rule (a column's presence aside: conformance adds missing columns)
    table = conform(contract, rows).table
    for rule in rules.compile_rules(contract):
        if rule.reason.endswith(": present"):
            continue
        broken = rule.broken(table).to_pylist()
        assert any(broken) and not all(broken), f"{feed}: the corpus does not exercise {rule.reason!r}"
    assert by_gx.rejected_rows, feed


def _first_difference(expected: pa.Table, got: pa.Table) -> str:
    want, have = expected.to_pylist(), got.to_pylist()
    for a, b in zip(want, have, strict=False):
        if a != b:
            return f"GX: {a[REASONS_COLUMN]} compiled: {b[REASONS_COLUMN]} row {a}"
    return f"{len(want)} rows by GX, {len(have)} compiled"
