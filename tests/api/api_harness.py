"""Shared pieces of the API tests: a copy of the demo's data directory, principals bound to its cases, a client.

The demo cycle's data directory is shared by other tests, so the API tests work on a copy: they land
acknowledgements and directives and write an audit log there.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from estelam.access.audit import AuditLog
from estelam.access.auth import TokenStore
from estelam.access.consent import ConsentStore
from estelam.api import ApiSettings

TOKENS = {
    "judge": "t-judge", "judge_named": "t-judge-named", "judge_other": "t-judge-other",
    "statistician": "t-statistician", "agency": "t-agency", "agency_other": "t-agency-other",
    "central_bank": "t-central-bank", "public": "t-public", "person": "t-person", "auditor": "t-auditor",
    "police": "t-police",
}
PUBLIC_SUBJECT = "business-7"
NAMED_JUDGE = "judge-named"
#: What the API reads of the demo: the warehouse and its feeds, and the record (message log, checkpoints, key).
COPIED = ("warehouse.duckdb", "landing", "published", "messages", "checkpoints", "keys", "audit")


@dataclass
class DemoFacts:
    """Cases, persons and agencies of the copied demo the tests are built around."""

    data_dir: Path
    case_id: str  # an open case in COURT, assigned to "judge"
    court: str
    person_id: str  # its debtor
    confidential_case_id: str  # another case in COURT, confidential, naming NAMED_JUDGE only
    agency_id: str  # an agency with orders
    other_agency_id: str
    inquiries: list[dict[str, Any]] = field(default_factory=list)

    def settings(self) -> ApiSettings:
        def inquire(person_id: str, *, case_id: str | None = None, **who: Any) -> dict[str, Any]:
            self.inquiries.append({"person_id": person_id, "case_id": case_id})
            return {"person_id": person_id, "case_id": case_id, "agencies": 0}

        tokens = TokenStore.from_config({"tokens": [
            {"token": TOKENS["judge"], "subject": "judge-a", "role": "judge", "courts": [self.court]},
            {"token": TOKENS["judge_named"], "subject": NAMED_JUDGE, "role": "judge", "courts": [self.court]},
            {"token": TOKENS["judge_other"], "subject": "judge-z", "role": "judge", "courts": ["ZZZ-99"]},
            {"token": TOKENS["statistician"], "subject": "stat-1", "role": "statistician"},
            {"token": TOKENS["agency"], "subject": f"agency-{self.agency_id}", "role": "agency",
             "agency_id": self.agency_id},
            {"token": TOKENS["agency_other"], "subject": f"agency-{self.other_agency_id}", "role": "agency",
             "agency_id": self.other_agency_id},
            {"token": TOKENS["central_bank"], "subject": "cbi", "role": "central_bank"},
            {"token": TOKENS["public"], "subject": PUBLIC_SUBJECT, "role": "public"},
            {"token": TOKENS["person"], "subject": "citizen-1", "role": "person", "person_id": self.person_id},
            {"token": TOKENS["auditor"], "subject": "inspector-1", "role": "auditor"},
            {"token": TOKENS["police"], "subject": "police-desk-1", "role": "police", "agency_id": "police"},
        ]})
        return ApiSettings(tokens=tokens, audit=AuditLog(self.data_dir / "audit" / "audit.jsonl"),
                           consents=ConsentStore(self.data_dir / "consents" / "consents.sqlite"), inquire=inquire)


def copy_demo(source: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name)
        elif (source / name).exists():
            shutil.copy2(source / name, target / name)
    return target


def demo_facts(data_dir: Path) -> DemoFacts:
    """Pick the cases and agencies; mark the confidential case (needs ESTELAM_DATA_DIR = data_dir)."""
    from estelam.cases.directives import Directive, mark_directive

    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        # the first case holds a freeze (its debtor's page shows it); the second is another case of the same court
        court, first, second = con.execute("""
            select court_code, min(case_id) filter (where frozen_rial > 0), max(case_id) from asset_report
            group by court_code
            having count(distinct case_id) >= 2 and min(case_id) filter (where frozen_rial > 0) < max(case_id)
            order by court_code limit 1
        """).fetchone()  # type: ignore[misc]
        person_id = con.execute("select any_value(person_id) from asset_report where case_id = ?",
                                [first]).fetchone()[0]  # type: ignore[index]
        agencies = [a for (a,) in con.execute(
            "select agency_id from staging.stg_hub__freeze_orders group by 1 order by count(*) desc, 1").fetchall()]
    mark_directive(second, Directive.CONFIDENTIAL, issued_by="judge-a", authorised_users=[NAMED_JUDGE],
                   issued_at=datetime.now(UTC))
    return DemoFacts(data_dir, first, court, person_id, second, agencies[0], agencies[1])


def auth(role: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"} if role else {}
