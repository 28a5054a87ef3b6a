"""The audit log: a hash chain that finds a changed, inserted or removed entry; who looked; unusual lookups."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from estelam.access.audit import AuditAction, AuditLog, Outcome, unusual_lookups
from estelam.cli import app
from estelam.core.settings import PROJECT_ROOT


def _verify_exit_code(log: AuditLog) -> int:
    return CliRunner().invoke(app, ["audit", "verify", "--log", str(log.path)]).exit_code


def _log(tmp_path: Path, entries: int = 5) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(entries):
        log.record(actor=f"judge-{i % 2}", role="judge", action=AuditAction.REPORT_VIEW, purpose="enforcement",
                   person_id=f"000000000{i}", case_id=f"1403-00000{i}")
    return log


def _rewrite(log: AuditLog, line: int, change: dict[str, object]) -> None:
    lines = log.path.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[line - 1])
    entry.update(change)
    lines[line - 1] = json.dumps(entry, ensure_ascii=False, sort_keys=True)
    log.path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_an_untouched_log_verifies_and_entries_chain(tmp_path: Path) -> None:
    log = _log(tmp_path)
    entries = list(log.entries())
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    report = log.verify()
    assert report.ok and report.entries == 5 and report.head_hash == entries[-1].hash
    assert log.head() == (5, entries[-1].hash)
    assert _verify_exit_code(log) == 0


@pytest.mark.parametrize("change", [{"actor": "someone-else"}, {"purpose": "curiosity"}, {"person_id": "1111111111"}])
def test_changing_one_entry_is_found_at_that_entry(tmp_path: Path, change: dict[str, object]) -> None:
    log = _log(tmp_path)
    _rewrite(log, 3, change)
    report = log.verify()
    assert not report.ok
    assert report.first_broken_line == 3
    assert _verify_exit_code(log) == 1


def test_recomputing_the_changed_entrys_hash_breaks_the_next_link(tmp_path: Path) -> None:
    from estelam.access.audit import _entry_hash

    log = _log(tmp_path)
    lines = log.path.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[1])
    entry["actor"] = "someone-else"
    entry["hash"] = _entry_hash(entry)
    lines[1] = json.dumps(entry, sort_keys=True)
    log.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = log.verify()
    assert report.first_broken_line == 3 and "previous-hash" in report.problems[0]


def test_deleting_an_entry_is_found(tmp_path: Path) -> None:
    log = _log(tmp_path)
    lines = log.path.read_text(encoding="utf-8").splitlines()
    log.path.write_text("\n".join(lines[:2] + lines[3:]) + "\n", encoding="utf-8")
    assert log.verify().first_broken_line == 3


def test_the_command_line_exits_non_zero_on_tampering(tmp_path: Path) -> None:
    log = _log(tmp_path)
    command = [sys.executable, "-m", "estelam", "audit", "verify", "--log", str(log.path)]
    assert subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, check=False).returncode == 0
    _rewrite(log, 4, {"outcome": "refused"})
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "line 4" in done.stderr and "BROKEN" in done.stdout


def test_concurrent_appends_keep_one_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")

    def append(n: int) -> None:
        for _ in range(25):
            log.record(actor=f"user-{n}", role="public", action=AuditAction.REGISTRY_LOOKUP, purpose="loan")

    threads = [threading.Thread(target=append, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report = log.verify()
    assert report.ok and report.entries == 100


def test_who_looked_at_lists_lookups_of_that_person_only(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.record(actor="bank-x", role="public", action=AuditAction.REGISTRY_LOOKUP, purpose="loan",
               person_id="0012345679")
    log.record(actor="judge-1", role="judge", action=AuditAction.REPORT_VIEW, purpose="enforcement",
               outcome=Outcome.REFUSED, person_id="0012345679", case_id="1403-000001")
    log.record(actor="judge-1", role="judge", action=AuditAction.REPORT_VIEW, purpose="enforcement",
               person_id="9999999999", case_id="1403-000002")
    log.record(actor="citizen", role="person", action=AuditAction.CONSENT_ISSUED, purpose="loan",
               person_id="0012345679")
    seen = log.who_looked_at("0012345679")
    assert [(e.actor, e.action, e.outcome) for e in seen] == [
        ("bank-x", "registry_lookup", "allowed"), ("judge-1", "report_view", "refused")]


def test_one_user_looking_at_many_unrelated_persons_is_flagged(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(25):  # a nosy user: 25 persons in 25 minutes, no case
        log.record(actor="nosy", role="public", action=AuditAction.REGISTRY_LOOKUP, purpose="loan",
                   person_id=f"{i:010d}", at=start + timedelta(minutes=i))
    for i in range(25):  # a judge on one case with many co-debtors: related, not flagged
        log.record(actor="judge-1", role="judge", action=AuditAction.INQUIRY, purpose="enforcement",
                   person_id=f"{i:010d}", case_id="1403-000001", at=start + timedelta(minutes=i))
    for i in range(25):  # slow and steady: one a day
        log.record(actor="steady", role="public", action=AuditAction.REGISTRY_LOOKUP, purpose="loan",
                   person_id=f"{i:010d}", at=start + timedelta(days=i))
    flagged = log.unusual_lookups(threshold=20)
    assert [(a.actor, a.distinct_subjects) for a in flagged] == [("nosy", 21)]
    assert unusual_lookups(list(log.entries()), threshold=30) == []
