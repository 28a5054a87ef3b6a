"""The court's directive files: each line submitted as a directive (source court); a bad line refused and audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from estelam.access.audit import AuditAction, AuditLog
from estelam.cases import directives
from estelam.cases.court_drop import ingest_directives
from estelam.ingest.landing import read_landed
from tests.cases.test_submit_directive import AT, CASE, CLOSED, PLATE, landed  # noqa: F401 (the landed world)


def test_a_court_file_lands_its_directives_once_and_refuses_bad_lines(tmp_path: Path, landed: AuditLog) -> None:  # noqa: F811
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    good = [
        {"case_id": CASE, "directive": "restrict_vehicle", "asset_ref": PLATE, "restriction_type": "seizure",
         "issued_by": "judge-9", "issued_at": AT.isoformat()},
        {"case_id": CASE, "directive": "confidential", "authorised_users": "judge-9, clerk-2",
         "issued_by": "judge-9", "issued_at": AT.isoformat()},
    ]
    bad = [{"case_id": CASE, "directive": "collect", "amount_rial": -1, "issued_by": "judge-9",
            "issued_at": AT.isoformat()},
           {"case_id": CASE, "directive": "teleport", "issued_by": "judge-9", "issued_at": AT.isoformat()}]
    lines = [json.dumps(r, ensure_ascii=False) for r in good + bad] + ["{not json"]
    (inbox / "case_directives-2026-11-02.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = ingest_directives(inbox)
    assert (summary.landed, summary.refused) == (2, 3)
    assert ingest_directives(inbox).landed == 2  # a re-run submits again and lands nothing new
    rows = read_landed("case_directives")
    assert sorted(r["directive"] for r in rows) == ["confidential", "restrict_vehicle"]
    assert {r["source"] for r in rows} == {"court"}
    refused = [e for e in landed.entries() if e.action == AuditAction.DIRECTIVE and e.outcome == "refused"]
    assert any("positive" in e.detail["reason"] for e in refused)


def test_a_drop_looks_its_cases_up_in_one_scan_of_the_court_events(tmp_path: Path, landed: AuditLog,  # noqa: F811
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A drop of many directives read every court event once per directive (~0.3 s each on the demo's landing);
    now once per file, with the same verdicts: the open case's land, the closed and the unknown case's are refused."""
    scans: list[str] = []
    query = directives._query

    def counted(feed: str, sql: str, params: list[object]) -> list[tuple[object, ...]]:
        scans.append(feed)
        return query(feed, sql, params)

    monkeypatch.setattr(directives, "_query", counted)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    records = [{"case_id": case_id, "directive": "collect", "amount_rial": 100 + n, "issued_by": "judge-9",
                "issued_at": AT.isoformat()}
               for n in range(30) for case_id in (CASE, CLOSED, "1405-999999")]
    (inbox / "case_directives-2026-11-02.jsonl").write_text(
        "\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    summary = ingest_directives(inbox)
    assert (summary.landed, summary.refused) == (30, 60)
    assert scans.count("case_events") == 1
    refused = [e.detail["reason"] for e in landed.entries() if e.outcome == "refused"]
    assert sum("closed" in reason for reason in refused) == 30
    assert sum("unknown case" in reason for reason in refused) == 30
