"""Shared pieces of the portal tests: a copy of the demo, principals of every portal role bound to its cases."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from fastapi.testclient import TestClient

from estelam.access.audit import AuditLog
from estelam.access.auth import TokenStore
from estelam.access.consent import ConsentStore
from estelam.api import ApiSettings
from tests.api.api_harness import NAMED_JUDGE, DemoFacts

TOKENS = {
    "judge": "p-judge", "judge_named": "p-judge-named", "judge_other": "p-judge-other", "creditor": "p-creditor",
    "creditor_other": "p-creditor-other", "person": "p-person", "statistician": "p-statistician",
    "agency": "p-agency", "auditor": "p-auditor",
}
ROLES = [None, *TOKENS]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MISSING_CASE = "9999-999999"


@dataclass
class PortalFacts:
    demo: DemoFacts
    creditor: str  # the creditor of demo.case_id
    other_creditor: str  # a creditor with no part in demo.case_id
    other_case_id: str  # a case of other_creditor

    @property
    def data_dir(self) -> Path:
        return self.demo.data_dir

    def token_config(self) -> dict[str, Any]:
        d = self.demo
        return {"tokens": [
            {"token": TOKENS["judge"], "subject": "judge-a", "role": "judge", "courts": [d.court]},
            {"token": TOKENS["judge_named"], "subject": NAMED_JUDGE, "role": "judge", "courts": [d.court]},
            {"token": TOKENS["judge_other"], "subject": "judge-z", "role": "judge", "courts": ["ZZZ-99"]},
            {"token": TOKENS["creditor"], "subject": "creditor-1", "role": "creditor", "creditor": self.creditor},
            {"token": TOKENS["creditor_other"], "subject": "creditor-2", "role": "creditor",
             "creditor": self.other_creditor},
            {"token": TOKENS["person"], "subject": "citizen-1", "role": "person", "person_id": d.person_id},
            {"token": TOKENS["statistician"], "subject": "stat-1", "role": "statistician"},
            {"token": TOKENS["agency"], "subject": f"agency-{d.agency_id}", "role": "agency", "agency_id": d.agency_id},
            {"token": TOKENS["auditor"], "subject": "inspector-1", "role": "auditor"},
        ]}

    def write_tokens(self, path: Path) -> Path:
        path.write_text(json.dumps(self.token_config()), encoding="utf-8")
        return path

    def settings(self) -> ApiSettings:
        return ApiSettings(tokens=TokenStore.from_config(self.token_config()),
                           audit=AuditLog(self.data_dir / "audit" / "audit.jsonl"),
                           consents=ConsentStore(self.data_dir / "consents" / "consents.sqlite"))

    def audit(self) -> AuditLog:
        return AuditLog(self.data_dir / "audit" / "audit.jsonl")


def portal_facts(demo: DemoFacts) -> PortalFacts:
    with duckdb.connect(str(demo.data_dir / "warehouse.duckdb"), read_only=True) as con:
        creditor = con.execute("select any_value(creditor_name) from asset_report where case_id = ?",
                               [demo.case_id]).fetchone()[0]  # type: ignore[index]
        other_case, other = con.execute(
            "select case_id, creditor_name from asset_report where creditor_name <> ? and case_id <> ? "
            "order by case_id limit 1", [creditor, demo.case_id]).fetchone()  # type: ignore[misc]
    return PortalFacts(demo, str(creditor), str(other), str(other_case))


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, role: str | None) -> None:
    """Sign ``client`` in through the form (no-op for None: stays anonymous)."""
    if role is None:
        return
    page = client.get("/portal/sign-in")
    answer = client.post("/portal/sign-in", data={"token": TOKENS[role], "csrf_token": csrf_of(page.text)},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text[:500]
