"""GX audits the compiled rules' verdicts: one GX run over many batches says what GX says of each batch alone.

The hot paths (case-event files, inquiry rounds) land each batch as the contract's compiled rules judge it and have
the GX suite audit all of a task's batches in one run (``landing.AuditedLanding``). These tests hold that audit to
per-batch GX on the generated corpus of ``test_rules_differential`` (every rule kind kept and broken), split into
uneven batches whose primary keys repeat within and across batches; and show that a compiled verdict GX disagrees
with is caught, re-landed as GX judged it, and raised.
"""

from __future__ import annotations

import random
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from estelam.contracts import registry as contracts
from estelam.contracts.registry import FeedContract
from estelam.core.exceptions import ValidationDisagreement
from estelam.ingest import rules
from estelam.ingest.conformance import conform
from estelam.ingest.landing import AuditedLanding, AuditQueue, batch_path
from estelam.ingest.validation import REASONS_COLUMN, Engine, audit, validate
from tests.ingest.test_rules_differential import FEEDS, corpus
from tests.settings_support import override

PARTITION = date(2026, 11, 2)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    override(monkeypatch, data_dir=tmp_path)
    return tmp_path


def mixed_corpus(contract: FeedContract, seed: int) -> list[dict[str, Any]]:
    """The differential corpus plus as many rows built only of values that keep their column's rules: in a feed
    with many rules nearly every corpus row breaks one, and valid rows must be judged too."""
    rows = corpus(contract, seed=seed)
    conformed = conform(contract, rows)
    reasons = [c + r for c, r in zip(conformed.reasons, rules.evaluate(contract, conformed.table), strict=True)]
    keeping: dict[str, list[object]] = {}
    for column in contract.column_names:
        broke = f"{column}: "
        keeping[column] = [row.get(column) for row, why in zip(rows, reasons, strict=True)
                           if not any(r.startswith(broke) for r in why)]
    rng = random.Random(seed)
    clean = [{c: rng.choice(keeping[c] or [None]) for c in contract.column_names} for _ in range(len(rows) // 2)]
    mixed = rows + clean
    rng.shuffle(mixed)
    return mixed


def batches_of(contract: FeedContract, seed: int, count: int = 5) -> list[list[dict[str, Any]]]:
    """The feed's mixed corpus cut into ``count`` batches of uneven sizes (one of them a single row)."""
    rows = mixed_corpus(contract, seed=seed)
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(2, len(rows) - 1), count - 2))
    bounds = [0, 1, *cuts, len(rows)]
    return [rows[a:b] for a, b in pairwise(bounds)]


def _key_values(contract: FeedContract, rows: list[dict[str, Any]]) -> set[tuple[object, ...]]:
    return {tuple(r.get(k) for k in contract.primary_key) for r in rows}


@pytest.mark.parametrize("feed", FEEDS)
def test_one_gx_run_over_many_batches_agrees_with_the_compiled_rules(feed: str) -> None:
    contract = contracts.feed(feed)
    batches = batches_of(contract, seed=len(feed) + 7)
    assert _key_values(contract, batches[1]) & _key_values(contract, batches[2]), "keys must repeat across batches"
    compiled = [validate(contract, b, engine=Engine.COMPILED) for b in batches]

    report = audit(contract, compiled)

    assert report.rows == sum(o.judged.candidates.num_rows for o in compiled if o.judged is not None)
    assert report.disagreements == [], report.first_disagreements()
    assert all(a is c for a, c in zip(report.outcomes, compiled, strict=True))
    assert sum(o.rejected_rows for o in compiled) and sum(o.valid_rows for o in compiled), feed


@pytest.mark.parametrize("feed", ["case_events", "inquiries", "bank_accounts", "vehicles"])
def test_the_audit_judges_each_batch_as_gx_alone_would(feed: str) -> None:
    """Per-batch GX is the reference: the audit's outcomes (forced through GX's verdicts) equal it batch by batch,
    the primary key judged within each batch."""
    contract = contracts.feed(feed)
    batches = batches_of(contract, seed=len(feed))
    compiled = [validate(contract, b, engine=Engine.COMPILED) for b in batches]
    by_gx = [validate(contract, b, engine=Engine.GX) for b in batches]

    report = audit(contract, compiled)

    for audited, alone in zip(report.outcomes, by_gx, strict=True):
        assert audited.valid.equals(alone.valid)
        assert audited.rejected.equals(alone.rejected)


def test_a_verdict_gx_disagrees_with_is_relanded_as_gx_judged_it_and_raised(
        monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    contract = contracts.feed("case_events")
    batches = batches_of(contract, seed=3, count=3)[1:]  # the single-row batch may keep every rule
    truthful = [validate(contract, b, engine=Engine.GX) for b in batches]
    forgotten = "event_type: allowed"

    def forgetful(contract: FeedContract, table: pa.Table) -> list[list[str]]:  # a compiled rule gone wrong
        return [[r for r in reasons if not r.startswith(forgotten)] for reasons in rules_evaluate(contract, table)]

    rules_evaluate = rules.evaluate
    monkeypatch.setattr(rules, "evaluate", forgetful)
    assert any(r.startswith(forgotten) for o in truthful for reasons in o.rejected.column(REASONS_COLUMN).to_pylist()
               for r in reasons), "the corpus must break the forgotten rule"

    with (pytest.raises(ValidationDisagreement, match=r"case_events.*landed again as GX judged them"),
          AuditedLanding("case_events") as landing):
        for number, batch in enumerate(batches):
            landing.land(batch, batch_id=f"audit-{number}", partition=PARTITION)

    for number, alone in enumerate(truthful):
        landed = pq.read_table(batch_path(data_dir / "landing", "case_events", PARTITION, f"audit-{number}"))
        assert landed.drop_columns(["_batch_id", "_landed_at"]).equals(alone.valid)
        quarantine = batch_path(data_dir / "quarantine", "case_events", PARTITION, f"audit-{number}")
        assert quarantine.exists() == bool(alone.rejected_rows)
        if alone.rejected_rows:
            reasons = pq.read_table(quarantine).column(REASONS_COLUMN).to_pylist()
            assert reasons == alone.rejected.column(REASONS_COLUMN).to_pylist()


def test_an_audit_runs_once_per_block_and_whenever_enough_rows_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    from estelam.ingest import landing as landing_module

    runs: list[int] = []
    real_audit = landing_module.audit

    def counting(contract: FeedContract, outcomes: list[object]) -> object:
        runs.append(len(outcomes))
        return real_audit(contract, outcomes)  # type: ignore[arg-type]

    monkeypatch.setattr(landing_module, "audit", counting)
    contract = contracts.feed("case_events")
    batches = batches_of(contract, seed=5, count=4)
    with AuditedLanding("case_events") as landing:
        for number, batch in enumerate(batches):
            landing.land(batch, batch_id=f"once-{number}", partition=PARTITION)
    assert runs == [4]
    assert landing.audited_rows > 0

    monkeypatch.setattr(landing_module, "AUDIT_EVERY_ROWS", len(batches[0]) + len(batches[1]))
    runs.clear()
    with AuditedLanding("case_events") as landing:
        for number, batch in enumerate(batches):
            landing.land(batch, batch_id=f"bounded-{number}", partition=PARTITION)
    assert len(runs) >= 2 and sum(runs) == 4


def test_with_validation_gx_every_batch_goes_through_gx_and_nothing_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, validation="gx")
    contract = contracts.feed("case_events")
    with AuditedLanding("case_events") as landing:
        assert landing.engine is Engine.GX
        result = landing.land(batches_of(contract, seed=9, count=3)[2], batch_id="gx-0", partition=PARTITION)
        assert landing.audit() is None
    assert result.rejected_rows and result.valid_rows


def test_leaving_the_block_with_an_error_does_not_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    from estelam.ingest import landing as landing_module

    monkeypatch.setattr(landing_module, "audit", lambda *_: pytest.fail("audited after an error"))
    with pytest.raises(RuntimeError, match="agency went away"), AuditedLanding("case_events") as landing:
        landing.land([{"event_id": "e-1"}], batch_id="err-0", partition=PARTITION)
        raise RuntimeError("agency went away")


def test_a_background_queue_audits_what_callers_landed_and_relands_a_disagreement(
        monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    """The on-demand path's queue: callers land and go; one background thread audits the batches together."""
    contract = contracts.feed("case_events")
    batch = batches_of(contract, seed=11, count=3)[2]
    queue = AuditQueue(interval_s=0.0)
    queue.landing("case_events").land(batch, batch_id="queued-0", partition=PARTITION)
    queue.poke()
    queue.join()
    assert queue.landing("case_events").audited_rows > 0 and queue.disagreements == 0
    assert queue.flush() == 0  # nothing waits any more

    rules_evaluate = rules.evaluate
    monkeypatch.setattr(rules, "evaluate", lambda c, t: [[r for r in reasons if not r.startswith("case_id: regex")]
                                                         for reasons in rules_evaluate(c, t)])
    wrong = queue.landing("case_events").land(batch, batch_id="queued-1", partition=PARTITION)
    queue.poke()
    queue.join()
    assert queue.disagreements == 1
    alone = validate(contract, batch, engine=Engine.GX)
    relanded = pq.read_table(batch_path(data_dir / "quarantine", "case_events", PARTITION, "queued-1"))
    assert relanded.column(REASONS_COLUMN).to_pylist() == alone.rejected.column(REASONS_COLUMN).to_pylist()
    assert "case_id: regex ^[0-9]{4}-[0-9]{6}$" in alone.reasons_summary()
    assert "case_id: regex ^[0-9]{4}-[0-9]{6}$" not in wrong.reasons


def test_spooled_batches_are_audited_later_in_one_gx_run_per_feed(monkeypatch: pytest.MonkeyPatch,
                                                                   data_dir: Path) -> None:
    """The inquiry DAG's way: each round lands its batches and spools them; its last task audits them all."""
    from estelam.ingest import landing as landing_module
    from estelam.ingest.landing import audit_spooled

    runs: list[tuple[str, int]] = []
    real_audit = landing_module.audit

    def counting(contract: FeedContract, outcomes: list[object]) -> object:
        runs.append((contract.feed, len(outcomes)))
        return real_audit(contract, outcomes)  # type: ignore[arg-type]

    monkeypatch.setattr(landing_module, "audit", counting)
    spool = data_dir / "spool"
    for task in range(3):  # three rounds, each landing two feeds
        with (AuditedLanding("inquiries", spool=spool) as log,
              AuditedLanding("bank_accounts", spool=spool) as answers):
            for feed, landing in (("inquiries", log), ("bank_accounts", answers)):
                for number, batch in enumerate(batches_of(contracts.feed(feed), seed=task, count=3)):
                    result = landing.land(batch, batch_id=f"round{task}-{number}", partition=PARTITION)
                    assert result.valid_rows + result.rejected_rows == len(batch)  # landed at once
    assert runs == []  # nothing audited by the rounds
    assert len(list((spool / "bank_accounts").glob("*.pickle"))) == 9

    audited = audit_spooled(spool)

    assert sorted(runs) == [("bank_accounts", 9), ("inquiries", 9)]
    assert {(a.feed, a.batches, a.agreed) for a in audited} == {("bank_accounts", 9, True), ("inquiries", 9, True)}
    assert not list(spool.rglob("*.pickle"))
    runs.clear()
    assert audit_spooled(spool) == [] and runs == []  # re-running audits nothing twice


def test_a_spooled_batch_gx_disagrees_with_is_relanded_and_raised(monkeypatch: pytest.MonkeyPatch,
                                                                   data_dir: Path) -> None:
    from estelam.ingest.landing import audit_spooled

    contract = contracts.feed("case_events")
    batch = batches_of(contract, seed=11, count=3)[2]
    spool = data_dir / "spool"
    rules_evaluate = rules.evaluate
    monkeypatch.setattr(rules, "evaluate", lambda c, t: [[r for r in reasons if not r.startswith("case_id: regex")]
                                                         for reasons in rules_evaluate(c, t)])
    with AuditedLanding("case_events", spool=spool) as landing:
        wrong = landing.land(batch, batch_id="spooled-1", partition=PARTITION)
    assert "case_id: regex ^[0-9]{4}-[0-9]{6}$" not in wrong.reasons

    with pytest.raises(ValidationDisagreement, match=r"case_events.*landed again as GX judged them"):
        audit_spooled(spool)

    alone = validate(contract, batch, engine=Engine.GX)
    relanded = pq.read_table(batch_path(data_dir / "quarantine", "case_events", PARTITION, "spooled-1"))
    assert relanded.column(REASONS_COLUMN).to_pylist() == alone.rejected.column(REASONS_COLUMN).to_pylist()
    assert not list(spool.rglob("*.pickle"))  # re-landed: done with
