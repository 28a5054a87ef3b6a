"""The court's directive files: each line submitted as a directive (source court); a bad line refused and audited."""

from __future__ import annotations

import json
from pathlib import Path

from estelam.access.audit import AuditAction, AuditLog
from estelam.cases.court_drop import ingest_directives
from estelam.ingest.landing import read_landed
from tests.cases.test_submit_directive import AT, CASE, PLATE, landed  # noqa: F401 (the landed world fixture)


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
