"""Validate a batch against its feed's data contract with Great Expectations.

Three steps, none of which stops the batch on a bad row:

1. **Conform**: every value is cast to the contract's type (``string``, ``int64``,
   ``bool``, ``date``, ``timestamp`` in UTC). A row with a value that cannot be cast
   (wrong type, a float for money, a timestamp without a time zone, an unknown
   column) is rejected with its cast reasons; its other rules are not evaluated.
   A missing key is a null. A record may carry the reserved key ``_error``
   (a producer could not read it): it is rejected with that text as its reason.
2. **Expect**: the conformed rows run through a GX suite built only from the
   contract (:func:`suite_for`), on an Arrow-backed pandas frame (GX on DuckDB's
   SQL path reports every expectation as failed).
3. **Split**: GX's ``unexpected_index_list`` (result format ``COMPLETE``) names the
   failing rows of each expectation; a row may collect several reasons. For a
   duplicated primary key the first row is kept and the repeats are rejected.

Step 2 has two engines giving the same verdicts (``tests/ingest/test_rules_differential.py``): the GX suite, and
the same rules compiled to Arrow checks (:mod:`estelam.ingest.rules`) with none of GX's fixed cost per batch. The hot
paths (case-event files, inquiry rounds, on-demand inquiries) validate each batch with the compiled rules and have GX
audit all of a task's batches in one run (:func:`audit`, ``landing.AuditedLanding``): GX stays the authority, its
verdict wins where the two differ, and it is paid once per task instead of once per batch.

Reasons read ``"<column>: <rule>"``, e.g. ``"balance_rial: min 0"`` or
``"person_id: check digit person_id failed"``; they carry no values, so they can
be counted and shown without leaking personal data.

The rejected table keeps every contract column **as a string** (the raw value as
received, since it may not fit the contract's type), plus ``_reasons``
(``list<string>``) and ``_input_row`` (the row's position in the batch).
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from estelam.contracts.registry import FeedContract, feeds
from estelam.core.exceptions import ContractError
from estelam.core.identifiers import CHECKS, check_digit_reason
from estelam.core.jurisdiction import current_profile
from estelam.ingest import rules
from estelam.ingest.conformance import Conformed, conform

if TYPE_CHECKING:
    import great_expectations as gx
    import pandas as pd

#: Prefix of the derived boolean columns holding a check-digit verdict.
CHECK_COLUMN_PREFIX = "__check__"
#: Rejected-table columns added after the contract's.
REASONS_COLUMN = "_reasons"
INPUT_ROW_COLUMN = "_input_row"
#: GX must name every failing row, not a sample of them.
RESULT_FORMAT: dict[str, Any] = {"result_format": "COMPLETE"}
#: Names inside the process-wide ephemeral GX context.
GX_DATASOURCE = "estelam"
GX_BATCH_DEFINITION = "whole_batch"
#: Keys of every expectation's ``meta``.
META_RULE = "contract_rule"
META_COLUMN = "contract_column"
META_KIND = "contract_rule_kind"
#: Column naming each row's batch while one GX run audits several batches (never a contract column: leading ``__``).
_BATCH_NUMBER = "__batch_number__"



@dataclass(frozen=True)
class ValidationOutcome:
    """A validated batch: the rows that keep the contract, and the rejected rows with reasons."""

    feed: str
    valid: pa.Table
    rejected: pa.Table
    input_rows: int
    gx_success: bool
    gx_statistics: dict[str, Any] = field(default_factory=dict)
    #: What the compiled rules judged (the conformed batch and their per-row reasons): what :func:`audit` checks.
    judged: Judged | None = field(default=None, repr=False, compare=False)

    @property
    def valid_rows(self) -> int:
        return int(self.valid.num_rows)

    @property
    def rejected_rows(self) -> int:
        return int(self.rejected.num_rows)

    def reasons_summary(self) -> Counter[str]:
        """How many rejected rows each reason accounts for (a row may count under several)."""
        counts: Counter[str] = Counter()
        for reasons in self.rejected.column(REASONS_COLUMN).to_pylist():
            counts.update(reasons)
        return counts


@dataclass(frozen=True)
class Judged:
    """A batch as the compiled rules judged it: its conformed rows, the castable ones and their rule reasons."""

    conformed: Conformed
    castable: list[int]  # input rows that conformed to the contract's types
    candidates: pa.Table  # those rows, conformed
    rule_reasons: list[list[str]]  # per candidate, the rules it breaks (suite order)


# ---------------------------------------------------------------- the suite


def check_column(column: str) -> str:
    """Name of the derived column holding ``column``'s check-digit verdict."""
    return f"{CHECK_COLUMN_PREFIX}{column}"


def _without_capture_groups(regex: str) -> str:
    """The same pattern with ``(`` made ``(?:``: pandas warns on capture groups in ``str.contains``,
    and GX turns that warning (an error under ``-W error``) into a silently failed expectation."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(regex):
        ch = regex[i]
        if ch == "\\":
            out.append(regex[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(" and not regex.startswith("?", i + 1):
            out.append("(?:")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def suite_for(contract: FeedContract) -> gx.ExpectationSuite:
    """The GX suite of a feed, built only from its data contract.

    Each expectation's ``meta`` names the contract rule it enforces (``contract_rule``),
    which is the reason a failing row gets. Check digits are expected on derived
    boolean columns (:func:`check_column`) that :func:`validate` computes.
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    def meta(column: str, kind: str, rule: str) -> dict[str, str]:
        return {META_RULE: rule, META_COLUMN: column, META_KIND: kind}

    expectations: list[gxe.Expectation] = []
    for col in contract.columns:
        name = col.name
        expectations.append(gxe.ExpectColumnToExist(column=name, meta=meta(name, "present", f"{name}: present")))
        if not col.nullable:
            expectations.append(
                gxe.ExpectColumnValuesToNotBeNull(column=name, meta=meta(name, "not_null", f"{name}: not null"))
            )
        rules = col.rules
        if "allowed" in rules:
            allowed = list(rules["allowed"])
            expectations.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=name, value_set=allowed,
                    meta=meta(name, "allowed", f"{name}: allowed {', '.join(map(str, allowed))}"),
                )
            )
        if "regex" in rules:
            pattern = str(rules["regex"])
            expectations.append(
                gxe.ExpectColumnValuesToMatchRegex(
                    column=name, regex=_without_capture_groups(pattern),
                    meta=meta(name, "regex", f"{name}: regex {pattern}"),
                )
            )
        # min and max are separate expectations so a reason says which bound broke
        if "min" in rules:
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=name, min_value=rules["min"], meta=meta(name, "min", f"{name}: min {rules['min']}")
                )
            )
        if "max" in rules:
            expectations.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column=name, max_value=rules["max"], meta=meta(name, "max", f"{name}: max {rules['max']}")
                )
            )
        if "check_digit" in rules:
            scheme = rules["check_digit"]
            if scheme not in CHECKS:
                raise ContractError(f"feed {contract.feed!r}: no check for check_digit {scheme!r}")
            expectations.append(
                gxe.ExpectColumnValuesToBeInSet(
                    column=check_column(name), value_set=[True],
                    meta=meta(name, "check_digit", check_digit_reason(name, scheme)),
                )
            )
    key = list(contract.primary_key)
    key_meta = meta(", ".join(key), "primary_key", f"{', '.join(key)}: duplicate primary key")
    if len(key) == 1:
        expectations.append(gxe.ExpectColumnValuesToBeUnique(column=key[0], meta=key_meta))
    else:
        expectations.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=key, meta=key_meta))
    return gx.ExpectationSuite(name=contract.feed, expectations=expectations, meta={"feed": contract.feed})


# ---------------------------------------------------------------- the GX context, once per process


@dataclass
class _FeedRunner:
    contract: FeedContract
    jurisdiction: str  # a person id's reason names the profile
    suite: gx.ExpectationSuite
    batch_definition: Any


_lock = threading.Lock()
_context: Any = None
_runners: dict[str, _FeedRunner] = {}


def _gx_context() -> Any:
    """The process-wide ephemeral GX context: in memory, no analytics, no progress bars."""
    global _context
    if _context is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # read by GX before any context exists
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            progress_bars=ProgressBarsConfig(globally=False),
            analytics_enabled=False,
        )
        context = gx.get_context(mode="ephemeral", project_config=config)
        context.data_sources.add_pandas(GX_DATASOURCE)
        _context = context
    return _context


def _runner_for(contract: FeedContract) -> _FeedRunner:
    """The cached suite and batch definition of a feed; rebuilt if its contract or the jurisdiction changed."""
    jurisdiction = current_profile().id
    runner = _runners.get(contract.feed)
    if runner is not None and runner.contract == contract and runner.jurisdiction == jurisdiction:
        return runner
    context = _gx_context()
    datasource = context.data_sources.get(GX_DATASOURCE)
    if runner is None:
        asset = datasource.add_dataframe_asset(contract.feed)
        batch_definition = asset.add_batch_definition_whole_dataframe(GX_BATCH_DEFINITION)
    else:
        batch_definition = runner.batch_definition
        context.suites.delete(runner.suite.name)
    suite = context.suites.add(suite_for(contract))
    runner = _FeedRunner(contract, jurisdiction, suite, batch_definition)
    _runners[contract.feed] = runner
    return runner


def prepare_gx(contracts: Iterable[FeedContract] | None = None, *, run_once: bool = True) -> None:
    """Build the process-wide GX context and the suite of each of ``contracts`` (every feed when None), and run
    each suite once on one row (unless not ``run_once``), so that no validation after it pays GX's one-time costs.

    A long-lived process calls it at start; an Airflow Celery worker calls it before it forks its pool
    (``estelam.cli.worker``), so every task process starts with it done.
    """
    for contract in contracts if contracts is not None else feeds().values():
        with _lock:
            _runner_for(contract)
        if run_once:
            validate(contract, [dict.fromkeys(contract.column_names)], engine=Engine.GX)


# ---------------------------------------------------------------- step 2: expect


def _frame_for_gx(contract: FeedContract, table: pa.Table) -> pd.DataFrame:
    """The Arrow-backed pandas frame GX validates, with the derived check-digit columns."""
    import pandas as pd

    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    for col in contract.columns:
        scheme = col.rules.get("check_digit")
        if scheme is None:
            continue
        check = CHECKS[scheme]
        values = table.column(col.name).to_pylist()
        known = {v: check(v) for v in set(values) if v is not None}  # one person, many accounts
        verdicts = [None if v is None else known[v] for v in values]
        frame[check_column(col.name)] = pd.Series(pa.array(verdicts, type=pa.bool_()), dtype=pd.ArrowDtype(pa.bool_()))
    return frame


def _gx_error(exception_info: Mapping[str, Any] | None) -> str | None:
    """The message of an exception GX caught while evaluating an expectation, if any.

    GX reports it either at the top level or per failed metric, and then marks the
    expectation failed with no failing rows: read naively, every row looks bad.
    """
    if not exception_info:
        return None
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message"))
    for detail in exception_info.values():
        if isinstance(detail, Mapping) and detail.get("raised_exception"):
            return str(detail.get("exception_message"))
    return None



def _meta_of(meta: dict[str, Any] | None) -> dict[str, Any]:
    """The meta every expectation of ours carries (rule, column, kind: set by the suite builder)."""
    if meta is None:
        raise ContractError("a GX expectation without Estelam's meta: the suite was not built from a contract")
    return meta


def _expect(contract: FeedContract, table: pa.Table,
            batches: Sequence[int] | None = None) -> tuple[list[list[str]], bool, dict[str, Any]]:
    """Run the feed's suite; per conformed row, the rules it broke (in suite order).

    ``batches`` (one number per row) makes one GX run judge several batches: every rule is judged per row, so
    only the primary key needs them (a key repeated within its batch breaks it, not one repeated across)."""
    reasons: list[list[str]] = [[] for _ in range(table.num_rows)]
    if table.num_rows == 0:
        return reasons, True, {}
    from great_expectations.validator.v1_validator import Validator as V1Validator

    frame = _frame_for_gx(contract, table)
    with _lock:  # one GX context per process; its stores are not made for concurrent writers
        runner = _runner_for(contract)
        # What ValidationDefinition.run does, minus keeping every result in the context's store
        # (a leak in a long-lived worker) and unlike Batch.validate, fingerprinting the frame once
        validator = V1Validator(
            batch_definition=runner.batch_definition,
            batch_parameters={"dataframe": frame},
            result_format=RESULT_FORMAT,
        )
        result = validator.validate_expectation_suite(runner.suite)
    order = {_meta_of(e.meta)[META_RULE]: i for i, e in enumerate(runner.suite.expectations)}
    hits: list[list[tuple[int, str]]] = [[] for _ in range(table.num_rows)]
    for expectation in result.results:
        config = expectation.expectation_config
        meta = _meta_of(config.meta if config is not None else None)
        rule = meta[META_RULE]
        error = _gx_error(expectation.exception_info)
        if error is not None:
            raise ContractError(f"feed {contract.feed!r}: GX could not evaluate {rule!r}: {error}")
        if expectation.success:
            continue
        rows: Iterable[int]
        if "unexpected_index_list" in expectation.result:
            rows = expectation.result["unexpected_index_list"]
            if meta[META_KIND] == "primary_key":
                # GX flags every row of a duplicated key; the first one (of its batch) is kept
                keys = frame[list(contract.primary_key)]
                if batches is not None:
                    keys = keys.assign(**{_BATCH_NUMBER: list(batches)})
                repeats = keys.duplicated(keep="first")
                rows = [i for i in rows if repeats.iat[i]]
        else:
            rows = range(table.num_rows)  # a table-level rule (a missing column) fails every row
        for i in rows:
            hits[int(i)].append((order[rule], rule))
    for i, row_hits in enumerate(hits):
        reasons[i] = [rule for _, rule in sorted(row_hits)]
    statistics = dict(result.statistics)
    return reasons, bool(result.success), statistics


# ---------------------------------------------------------------- step 3: split


def rejected_schema(contract: FeedContract) -> pa.Schema:
    """Schema of a rejected table: contract columns as strings, then reasons and input row."""
    return pa.schema(
        [pa.field(name, pa.string()) for name in contract.column_names]
        + [pa.field(REASONS_COLUMN, pa.list_(pa.string()), nullable=False),
           pa.field(INPUT_ROW_COLUMN, pa.int64(), nullable=False)],
        metadata={"estelam.feed": contract.feed, "estelam.part": "rejected"},
    )


def _as_text(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):  # also datetime
        return value.isoformat()
    return str(value)


def _rejected_table(contract: FeedContract, conformed: Conformed, rows: list[int],
                    reasons: list[list[str]]) -> pa.Table:
    raw = conformed.raw_rows(rows)
    columns: list[pa.Array] = [
        pa.array([_as_text(r.get(name)) for r in raw], type=pa.string()) for name in contract.column_names
    ]
    columns.append(pa.array(reasons, type=pa.list_(pa.string())))
    columns.append(pa.array(rows, type=pa.int64()))
    return pa.Table.from_arrays(columns, schema=rejected_schema(contract))


class Engine(StrEnum):
    """What evaluates the contract's rules: the GX suite (the authority; every batch the DAGs land), or the same
    rules compiled to vectorised checks (:mod:`estelam.ingest.rules`; the on-demand path, with no fixed cost)."""

    GX = "gx"
    COMPILED = "compiled"


def validate(contract: FeedContract, records: Sequence[Mapping[str, object]] | pa.Table, *,
             engine: Engine = Engine.GX) -> ValidationOutcome:
    """Split a batch into rows that keep ``contract`` and rejected rows with their reasons.

    ``valid`` has exactly ``contract.arrow_schema()``; ``rejected`` has
    :func:`rejected_schema`. Every input row ends up in exactly one of them. Both engines give the same rows and
    reasons (a differential test holds them equal); a compiled outcome keeps what :func:`audit` needs.
    """
    conformed = conform(contract, records)
    n = conformed.table.num_rows
    castable = [i for i in range(n) if not conformed.reasons[i]]
    candidates = conformed.table.take(pa.array(castable, type=pa.int64()))
    if engine is Engine.GX:
        rule_reasons, gx_success, statistics = _expect(contract, candidates)
        return _outcome(contract, conformed, castable, rule_reasons, gx_success=gx_success, statistics=statistics)
    rule_reasons = rules.evaluate(contract, candidates)
    judged = Judged(conformed, castable, candidates, rule_reasons)
    return _outcome(contract, conformed, castable, rule_reasons, gx_success=not any(rule_reasons),
                    statistics={"engine": str(Engine.COMPILED)}, judged=judged)


def _outcome(contract: FeedContract, conformed: Conformed, castable: Sequence[int], rule_reasons: list[list[str]],
             *, gx_success: bool, statistics: dict[str, Any], judged: Judged | None = None) -> ValidationOutcome:
    n = conformed.table.num_rows
    reasons = [list(r) for r in conformed.reasons]
    for position, i in enumerate(castable):
        reasons[i] = reasons[i] + rule_reasons[position]
    valid_rows = [i for i in range(n) if not reasons[i]]
    rejected_rows = [i for i in range(n) if reasons[i]]
    valid = conformed.table.take(pa.array(valid_rows, type=pa.int64()))
    rejected = _rejected_table(contract, conformed, rejected_rows, [reasons[i] for i in rejected_rows])
    return ValidationOutcome(
        feed=contract.feed,
        valid=valid,
        rejected=rejected,
        input_rows=n,
        gx_success=gx_success,
        gx_statistics=statistics,
        judged=judged,
    )


# ---------------------------------------------------------------- GX audits the compiled verdicts


@dataclass(frozen=True)
class Disagreement:
    """A row the compiled rules and the GX suite judged differently (reasons only: no values, no personal data)."""

    batch: int  # position of the batch in the audited sequence
    input_row: int
    compiled: tuple[str, ...]
    gx: tuple[str, ...]


@dataclass(frozen=True)
class AuditReport:
    """One GX run over several compiled batches: the outcomes as GX judges them, and where it disagreed."""

    feed: str
    rows: int
    outcomes: list[ValidationOutcome]  # per audited batch; the compiled outcome itself where GX agrees
    disagreements: list[Disagreement]
    gx_statistics: dict[str, Any] = field(default_factory=dict)

    def first_disagreements(self, limit: int = 3) -> str:
        return "; ".join(
            f"batch {d.batch} row {d.input_row}: only compiled {[r for r in d.compiled if r not in d.gx]}, "
            f"only GX {[r for r in d.gx if r not in d.compiled]}" for d in self.disagreements[:limit])


def audit(contract: FeedContract, outcomes: Sequence[ValidationOutcome]) -> AuditReport:
    """Have the GX suite judge, in one run, every batch the compiled rules judged: GX's fixed cost is paid once
    for all of them instead of once per batch. GX is the authority: where it disagrees, its verdict is the batch's
    outcome (and the disagreement is reported). Outcomes validated by GX itself need no audit and are kept."""
    judged: list[tuple[int, Judged]] = [(b, o.judged) for b, o in enumerate(outcomes) if o.judged is not None]
    audited = list(outcomes)
    rows = sum(j.candidates.num_rows for _, j in judged)
    if not rows:
        return AuditReport(contract.feed, 0, audited, [])
    candidates = pa.concat_tables([j.candidates for _, j in judged])
    batch_numbers = [b for b, j in judged for _ in range(j.candidates.num_rows)]
    gx_reasons, _, statistics = _expect(contract, candidates, batches=batch_numbers)
    disagreements: list[Disagreement] = []
    offset = 0
    for b, j in judged:
        size = j.candidates.num_rows
        by_gx = gx_reasons[offset:offset + size]
        offset += size
        differing = [p for p in range(size) if by_gx[p] != j.rule_reasons[p]]
        if not differing:
            continue
        disagreements.extend(Disagreement(b, j.castable[p], tuple(j.rule_reasons[p]), tuple(by_gx[p]))
                             for p in differing)
        audited[b] = _outcome(contract, j.conformed, j.castable, by_gx, gx_success=not any(by_gx),
                              statistics=statistics)
    return AuditReport(contract.feed, candidates.num_rows, audited, disagreements, dict(statistics))
