"""Take in the court system's case events: every inbox file becomes one validated, landed batch.

A file is a batch named after the file, so ingesting the same file twice replaces
its batch. A line that is not JSON is not dropped: it is quarantined with the parse
error as its reason. Each file is validated by the contract's compiled rules as it lands, and the
Great Expectations suite audits all files of one ingest in one run (``landing.AuditedLanding``).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from estelam.core import settings
from estelam.ingest.landing import AuditedLanding, LandingResult

logger = logging.getLogger(__name__)

FEED = "case_events"
INBOX_PATTERN = "case_events-*.jsonl"
_DAY_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class IngestSummary:
    files: int
    events_landed: int
    events_quarantined: int

    def as_dict(self) -> dict[str, int]:
        return {"files": self.files, "events_landed": self.events_landed,
                "events_quarantined": self.events_quarantined}


def read_inbox_file(path: Path) -> list[dict[str, object]]:
    """The records of one inbox file; an unreadable line becomes a record carrying its parse error."""
    records: list[dict[str, object]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            record = {"event_id": f"{path.name}:{number}", "_error": f"line {number} is not JSON: {exc.msg}"}
        if not isinstance(record, dict):
            record = {"event_id": f"{path.name}:{number}", "_error": f"line {number} is not a JSON object"}
        records.append(record)
    return records


def _partition_of(path: Path) -> date:
    match = _DAY_IN_NAME.search(path.name)
    return date.fromisoformat(match.group(1)) if match else datetime.now(UTC).date()


def ingest_file(path: Path, landing: AuditedLanding | None = None) -> LandingResult:
    """Land one inbox file; audited by GX now, or at the end of ``landing``'s block when one is given."""
    if landing is None:
        with AuditedLanding(FEED) as own:
            return ingest_file(path, own)
    return landing.land(read_inbox_file(path), batch_id=path.stem, partition=_partition_of(path))


def ingest_inbox(inbox: Path | None = None) -> IngestSummary:
    """Land every case-event file in the inbox (``data/inbox`` by default)."""
    inbox = inbox or settings.inbox_dir()
    with AuditedLanding(FEED) as landing:  # one GX run for every file, not one per file
        results = [ingest_file(p, landing) for p in sorted(inbox.glob(INBOX_PATTERN))]
    summary = IngestSummary(
        files=len(results),
        events_landed=sum(r.valid_rows for r in results),
        events_quarantined=sum(r.rejected_rows for r in results),
    )
    logger.info("case events: %d files, %d events landed, %d quarantined", summary.files, summary.events_landed,
                summary.events_quarantined)
    return summary
