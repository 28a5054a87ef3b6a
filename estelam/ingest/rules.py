"""A feed's contract rules compiled to vectorised checks: the GX suite's row verdicts without GX's fixed cost.

Great Expectations stays the authority: the suites are built from the contracts (:func:`validation.suite_for`)
and validate every batch the DAGs land. Its fixed cost (a validator, metric graph and result objects per batch:
0.1–0.25 s even for one row) does not belong on a judge's on-demand inquiry, so that path evaluates the same
rules compiled here from the same contract, with pyarrow.compute and one Python call per *distinct* value where
a rule is Python (regular expressions as GX's pandas engine applies them, check digits). ``tests/ingest/
test_rules_differential.py`` holds the two equal, row by row and reason by reason, on a generated corpus that
breaks every rule kind of every feed.

The semantics are GX's (1.x, pandas engine) as the suite uses them:

- every rule but "not null" ignores null values;
- ``regex`` is a search (``re.search``, as pandas' ``str.contains``), not a full match;
- ``min``/``max`` are inclusive bounds;
- a duplicated primary key rejects the repeats, the first row is kept (single-column keys ignore nulls; compound
  keys ignore rows whose key is all null, and compare nulls as equal);
- a row's reasons come in the suite's order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from estelam.contracts.registry import FeedContract
from estelam.core.exceptions import ContractError
from estelam.core.identifiers import CHECKS, check_digit_reason
from estelam.core.jurisdiction import current_profile

#: Evaluates one rule on a conformed table: a boolean array, True where the row breaks the rule.
Check = Callable[[pa.Table], pa.Array]


@dataclass(frozen=True)
class CompiledRule:
    """One expectation of the suite: the reason a breaking row gets, and how to find those rows."""

    reason: str
    broken: Check


def _per_distinct(column: pa.ChunkedArray, verdict: Callable[[object], bool]) -> pa.Array:
    """Rows whose non-null value fails ``verdict``, calling it once per distinct value (one person, many rows)."""
    values = column.to_pylist()
    known = {v: verdict(v) for v in set(values) if v is not None}
    return pa.array([v is not None and not known[v] for v in values], type=pa.bool_())


def _missing(name: str) -> Check:
    return lambda table: pa.array([name not in table.column_names] * table.num_rows, type=pa.bool_())


def _not_null(name: str) -> Check:
    return lambda table: pc.is_null(table.column(name)).combine_chunks()


def _allowed(name: str, allowed: Sequence[object]) -> Check:
    def broken(table: pa.Table) -> pa.Array:
        column = table.column(name)
        inside = pc.is_in(column, value_set=pa.array(allowed, type=column.type))
        return pc.and_(pc.is_valid(column), pc.invert(inside)).combine_chunks()
    return broken


def _regex(name: str, pattern: str) -> Check:
    search = re.compile(pattern).search
    return lambda table: _per_distinct(table.column(name), lambda v: search(str(v)) is not None)


def _bound(name: str, bound: object, *, lower: bool) -> Check:
    def broken(table: pa.Table) -> pa.Array:
        column = table.column(name)
        scalar = pa.scalar(bound, type=column.type)
        outside = pc.less(column, scalar) if lower else pc.greater(column, scalar)
        return pc.fill_null(outside, False).combine_chunks()
    return broken


def _check_digit(name: str, scheme: str) -> Check:
    check = CHECKS[scheme]
    return lambda table: _per_distinct(table.column(name), lambda v: bool(check(str(v))))


def _duplicate_key(key: Sequence[str]) -> Check:
    def broken(table: pa.Table) -> pa.Array:
        columns = [table.column(name).to_pylist() for name in key]
        seen: set[tuple[object, ...]] = set()
        repeats = []
        for values in zip(*columns, strict=True):
            if all(v is None for v in values) or (len(key) == 1 and values[0] is None):
                repeats.append(False)
                continue
            repeats.append(values in seen)
            seen.add(values)
        return pa.array(repeats, type=pa.bool_())
    return broken


_compiled: dict[str, tuple[FeedContract, str, tuple[CompiledRule, ...]]] = {}


def compile_rules(contract: FeedContract) -> tuple[CompiledRule, ...]:
    """The contract's rules, in the order and with the reasons of :func:`validation.suite_for` (compiled once per
    process, contract and jurisdiction: a person id's reason names the profile)."""
    jurisdiction = current_profile().id
    cached = _compiled.get(contract.feed)
    if cached is not None and cached[0] == contract and cached[1] == jurisdiction:
        return cached[2]
    rules = _compile(contract)
    _compiled[contract.feed] = (contract, jurisdiction, rules)
    return rules


def _compile(contract: FeedContract) -> tuple[CompiledRule, ...]:
    rules: list[CompiledRule] = []
    for col in contract.columns:
        name, spec = col.name, col.rules
        rules.append(CompiledRule(f"{name}: present", _missing(name)))
        if not col.nullable:
            rules.append(CompiledRule(f"{name}: not null", _not_null(name)))
        if "allowed" in spec:
            allowed = list(spec["allowed"])
            rules.append(CompiledRule(f"{name}: allowed {', '.join(map(str, allowed))}", _allowed(name, allowed)))
        if "regex" in spec:
            pattern = str(spec["regex"])
            rules.append(CompiledRule(f"{name}: regex {pattern}", _regex(name, pattern)))
        if "min" in spec:
            rules.append(CompiledRule(f"{name}: min {spec['min']}", _bound(name, spec["min"], lower=True)))
        if "max" in spec:
            rules.append(CompiledRule(f"{name}: max {spec['max']}", _bound(name, spec["max"], lower=False)))
        if "check_digit" in spec:
            scheme = str(spec["check_digit"])
            if scheme not in CHECKS:
                raise ContractError(f"feed {contract.feed!r}: no check for check_digit {scheme!r}")
            rules.append(CompiledRule(check_digit_reason(name, scheme), _check_digit(name, scheme)))
    key = list(contract.primary_key)
    rules.append(CompiledRule(f"{', '.join(key)}: duplicate primary key", _duplicate_key(key)))
    return tuple(rules)


def evaluate(contract: FeedContract, table: pa.Table) -> list[list[str]]:
    """Per conformed row, the rules it breaks (in suite order): what the GX suite would say of it."""
    reasons: list[list[str]] = [[] for _ in range(table.num_rows)]
    if table.num_rows == 0:
        return reasons
    for rule in compile_rules(contract):
        try:
            broken = rule.broken(table)
        except (pa.ArrowException, KeyError, TypeError, ValueError) as error:
            raise ContractError(f"feed {contract.feed!r}: could not evaluate {rule.reason!r}: {error}") from error
        for i in pc.indices_nonzero(broken).to_pylist():
            reasons[i].append(rule.reason)
    return reasons


__all__ = ["CompiledRule", "compile_rules", "evaluate"]
