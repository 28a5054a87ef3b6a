"""The audit worker: with ``validation = "background"`` what lands is judged by the compiled rules and landed at once,
and a long-lived process has Great Expectations audit it (``estelam.ingest.audit_worker``).

Held here: a landing is spooled, not audited, in the process that lands; one pass of the worker audits every spool
folder with one GX run per feed and records it; GX's disagreement is landed again as GX judged it and recorded
while the other feeds are still audited; a batch landed again while its older input was being audited is audited
again; and the worker as a real child process drains what is spooled, stops by its PID, and a dead worker is
reported instead of waited for.
"""

from __future__ import annotations

import json
import os
import signal
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from estelam.contracts import registry as contracts
from estelam.contracts.registry import FeedContract
from estelam.core import settings
from estelam.core.exceptions import LandingError
from estelam.ingest import audit_worker, rules
from estelam.ingest import landing as landing_module
from estelam.ingest.audit_worker import AuditWorkerProcess
from estelam.ingest.landing import AuditedLanding, batch_path, land_audited
from estelam.ingest.validation import REASONS_COLUMN, Engine, validate
from tests.ingest.test_audit import batches_of
from tests.settings_support import override

PARTITION = date(2026, 11, 2)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    override(monkeypatch, data_dir=tmp_path, validation="background")
    return tmp_path


def counting_gx_runs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    runs: list[tuple[str, int]] = []
    real_audit = landing_module.audit

    def counting(contract: FeedContract, outcomes: list[Any]) -> Any:
        runs.append((contract.feed, len(outcomes)))
        return real_audit(contract, outcomes)

    monkeypatch.setattr(landing_module, "audit", counting)
    return runs


def test_a_background_landing_lands_at_once_and_the_worker_audits_it_later(monkeypatch: pytest.MonkeyPatch,
                                                                          data_dir: Path) -> None:
    runs = counting_gx_runs(monkeypatch)
    for feed in ("inquiries", "bank_accounts"):
        for number, batch in enumerate(batches_of(contracts.feed(feed), seed=5, count=3)):
            result = land_audited(feed, batch, batch_id=f"b-{number}", partition=PARTITION)
            assert result.valid_rows + result.rejected_rows == len(batch)  # landed (and quarantined) at once
    with AuditedLanding("inquiries", spool=data_dir / "audit_spool" / "inquiry_rounds") as rounds:
        rounds.land(batches_of(contracts.feed("inquiries"), seed=6, count=2)[0], batch_id="round-1",
                    partition=PARTITION)
    assert runs == []  # GX ran nowhere in the landing process
    assert audit_worker.spooled_batches() == 7

    entries = audit_worker.audit_pass()

    assert sorted(runs) == [("bank_accounts", 3), ("inquiries", 1), ("inquiries", 3)]  # one run per feed and folder
    assert {(e.purpose, e.feed, e.batches, e.agreed) for e in entries} == {
        ("background", "bank_accounts", 3, True), ("background", "inquiries", 3, True),
        ("inquiry_rounds", "inquiries", 1, True)}
    assert audit_worker.spooled_batches() == 0
    assert audit_worker.audit_record() == entries  # on the record
    runs.clear()
    assert audit_worker.audit_pass() == [] and runs == []  # nothing audited twice


def test_a_disagreement_is_landed_again_as_gx_judged_it_recorded_and_the_pass_goes_on(
        monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    contract = contracts.feed("case_events")
    batch = batches_of(contract, seed=11, count=3)[2]
    rules_evaluate = rules.evaluate
    monkeypatch.setattr(rules, "evaluate", lambda c, t: [
        [r for r in reasons if not (c.feed == "case_events" and r.startswith("case_id: regex"))]
        for reasons in rules_evaluate(c, t)])
    wrong = land_audited("case_events", batch, batch_id="wrong-1", partition=PARTITION)
    assert "case_id: regex ^[0-9]{4}-[0-9]{6}$" not in wrong.reasons
    land_audited("inquiries", batches_of(contracts.feed("inquiries"), seed=2, count=2)[1], batch_id="fine-1",
                 partition=PARTITION)

    entries = audit_worker.audit_pass()  # does not raise: the worker has no caller to raise to

    verdicts = {e.feed: e for e in entries}
    assert verdicts["inquiries"].agreed
    assert not verdicts["case_events"].agreed
    assert "landed again as GX judged them" in verdicts["case_events"].disagreement
    alone = validate(contract, batch, engine=Engine.GX)
    relanded = pq.read_table(batch_path(data_dir / "quarantine", "case_events", PARTITION, "wrong-1"))
    assert relanded.column(REASONS_COLUMN).to_pylist() == alone.rejected.column(REASONS_COLUMN).to_pylist()
    recorded = [json.loads(line) for line in (data_dir / "audit_spool" / audit_worker.RECORD_NAME).read_text(
        encoding="utf-8").splitlines()]
    assert [r["agreed"] for r in recorded if r["feed"] == "case_events"] == [False]
    assert audit_worker.spooled_batches() == 0


def test_a_batch_landed_again_while_its_older_input_is_audited_is_audited_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    contract = contracts.feed("inquiries")
    first, second = batches_of(contract, seed=4, count=2)
    land_audited("inquiries", first, batch_id="again-1", partition=PARTITION)
    real_audit = landing_module.audit

    def landing_again_meanwhile(contract: FeedContract, outcomes: list[Any]) -> Any:
        land_audited("inquiries", second, batch_id="again-1", partition=PARTITION)  # the producer re-runs
        monkeypatch.setattr(landing_module, "audit", real_audit)
        return real_audit(contract, outcomes)

    monkeypatch.setattr(landing_module, "audit", landing_again_meanwhile)
    audit_worker.audit_pass()
    assert audit_worker.spooled_batches() == 1, "the newer input is kept for the next pass"
    audit_worker.audit_pass()
    assert audit_worker.spooled_batches() == 0


def test_the_worker_process_audits_what_is_spooled_drains_and_stops(data_dir: Path) -> None:
    with AuditWorkerProcess(warm_up=False) as worker:
        for number, batch in enumerate(batches_of(contracts.feed("case_events"), seed=8, count=4)):
            land_audited("case_events", batch, batch_id=f"child-{number}", partition=PARTITION)
        worker.drain(timeout_s=300)
        assert audit_worker.spooled_batches() == 0
        pid = worker.pid
    assert pid is not None
    with pytest.raises(ProcessLookupError):  # stopped by its PID when the block ended
        os.kill(pid, 0)
    audited = audit_worker.audit_record()
    assert sum(e.batches for e in audited if e.feed == "case_events") == 4
    assert all(e.agreed for e in audited)


def test_a_dead_worker_is_reported_not_waited_for(data_dir: Path) -> None:
    with AuditWorkerProcess(warm_up=False) as worker:
        assert worker.pid is not None
        os.kill(worker.pid, signal.SIGKILL)
        land_audited("inquiries", batches_of(contracts.feed("inquiries"), seed=1, count=2)[0], batch_id="late-1",
                     partition=PARTITION)
        with pytest.raises(LandingError, match="audit worker is not running"):
            worker.drain(timeout_s=60)


def test_the_settings_reach_a_child_process_through_its_environment(data_dir: Path) -> None:
    environment = settings.current().environment()
    assert environment["ESTELAM_DATA_DIR"] == str(data_dir)
    assert environment["ESTELAM_VALIDATION"] == "background"
    read_back = _settings_from(environment)
    assert read_back.data_dir == data_dir and read_back.validation == "background"
    assert read_back.jurisdiction == settings.current().jurisdiction


def _settings_from(environment: dict[str, str]) -> settings.Settings:
    saved = dict(os.environ)
    try:
        os.environ.update(environment)
        return settings.Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)



def test_the_health_check_fails_when_a_batch_waits_too_long_and_once_audits_what_waits() -> None:
    from typer.testing import CliRunner

    from estelam.cli.commands import app

    runner = CliRunner()
    assert audit_worker.oldest_wait_s() is None
    assert runner.invoke(app, ["audit-worker", "--check"]).exit_code == 0  # nothing waits
    land_audited("inquiries", batches_of(contracts.feed("inquiries"), seed=9, count=2)[0], batch_id="wait-1",
                 partition=PARTITION)
    waited = audit_worker.oldest_wait_s()
    assert waited is not None and waited >= 0
    assert runner.invoke(app, ["audit-worker", "--check", "--stale-after", "3600"]).exit_code == 0
    stale = runner.invoke(app, ["audit-worker", "--check", "--stale-after", "-1"])
    assert stale.exit_code == 1 and "1 batches wait for their audit" in stale.output

    once = runner.invoke(app, ["audit-worker", "--once"])

    assert once.exit_code == 0 and "background/inquiries: 1 batches" in once.output and "agreed" in once.output
    assert audit_worker.spooled_batches() == 0
