"""The audit log as its readers use it: the chain, the command line, who looked, unusual lookups (tampering on
both stores: test_record.py)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from estelam.access.audit import AuditAction, AuditLog, Outcome, unusual_lookups
from estelam.cli import app
from estelam.core import settings
from estelam.core.settings import PROJECT_ROOT


def _log(tmp_path: Path, entries: int = 5) -> AuditLog:
    log = AuditLog(tmp_path / "audit.jsonl")
    for i in range(entries):
        log.record(actor=f"judge-{i % 2}", role="judge", action=AuditAction.REPORT_VIEW, purpose="enforcement",
                   person_id=f"000000000{i}", case_id=f"1403-00000{i}")
    return log


def test_entries_chain_and_the_head_is_the_latest_signed_checkpoint(tmp_path: Path) -> None:
    log = _log(tmp_path)
    entries = list(log.entries())
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert log.head() == (5, entries[-1].hash)


def test_the_command_line_in_its_own_process_exits_non_zero_on_tampering(tmp_path: Path) -> None:
    log = _log(tmp_path)
    assert log.path is not None
    command = [sys.executable, "-m", "estelam", "audit", "verify", "--log", str(log.path)]
    env = os.environ | {"ESTELAM_DATA_DIR": str(settings.data_dir())}  # the same signing key
    assert subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, check=False, env=env).returncode == 0
    lines = log.path.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[3])
    entry["outcome"] = "refused"
    lines[3] = json.dumps(entry, ensure_ascii=False, sort_keys=True)
    log.path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 1
    assert "entry 4: content does not match its hash" in done.stderr and "BROKEN" in done.stdout


def test_purpose_with_control_characters_prints_as_one_line(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.record(actor="bank-x", role="public", action=AuditAction.REGISTRY_LOOKUP, purpose="loan\nforged line\u202e",
               person_id="0012345679")
    result = CliRunner().invoke(app, ["audit", "who-looked-at", "0012345679", "--log", str(log.path)])
    assert result.output.count("\n") == 1 and "loan\\u000aforged line\\u202e" in result.output


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


def test_the_hubs_own_rounds_are_not_flagged_as_unusual(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(30):  # a scheduled round asks about 30 debtors of 30 cases in minutes: by design
        log.record(actor="estelam-hub", role="system", action=AuditAction.INQUIRY, purpose=f"enforcement of case {i}",
                   person_id=f"{i:010d}", case_id=f"1403-{i:06d}", at=start + timedelta(seconds=i))
    assert log.unusual_lookups(threshold=20) == []
