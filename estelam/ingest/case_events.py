"""Take in the court system's case events: every inbox file becomes one validated, landed batch.

A file is a batch named after the file, so ingesting the same file twice replaces
its batch. A line that is not JSON is not dropped: it is quarantined with the parse
error as its reason. Each file is validated by the contract's compiled rules as it lands, and the
Great Expectations suite audits all files of one ingest in one run (``landing.AuditedLanding``).
The inbox keeps what it took (``.ingested.json``: each file's SHA-256 when landed and audited): a
file the court has not changed since is not validated and landed again, a file it re-sent with
other content is.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from estelam.core import clock, settings
from estelam.ingest.landing import AuditedLanding, LandingResult

logger = logging.getLogger(__name__)

FEED = "case_events"
INBOX_PATTERN = "case_events-*.jsonl"
#: What the hub took from the inbox: file name -> the SHA-256 of the content it landed.
INGESTED_LEDGER = ".ingested.json"
_DAY_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class IngestSummary:
    files: int
    events_landed: int
    events_quarantined: int
    files_unchanged: int = 0  # taken before with the same content: not landed again

    def as_dict(self) -> dict[str, int]:
        return {"files": self.files, "events_landed": self.events_landed,
                "events_quarantined": self.events_quarantined, "files_unchanged": self.files_unchanged}


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
    return date.fromisoformat(match.group(1)) if match else clock.today()


def ingest_file(path: Path, landing: AuditedLanding | None = None) -> LandingResult:
    """Land one inbox file; audited by GX now, or at the end of ``landing``'s block when one is given."""
    if landing is None:
        with AuditedLanding(FEED) as own:
            return ingest_file(path, own)
    return landing.land(read_inbox_file(path), batch_id=path.stem, partition=_partition_of(path))


def _read_ledger(path: Path) -> dict[str, str]:
    try:
        ledger = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: every file is taken again (re-landing a batch is safe)
    return {str(k): str(v) for k, v in ledger.items()} if isinstance(ledger, dict) else {}


def ingest_inbox(inbox: Path | None = None) -> IngestSummary:
    """Land every case-event file in the inbox (``data/inbox`` by default) that is new or changed since taken."""
    inbox = inbox or settings.inbox_dir()
    ledger_path = inbox / INGESTED_LEDGER
    ledger = _read_ledger(ledger_path)
    results: list[LandingResult] = []
    unchanged = 0
    taken: dict[str, str] = {}
    with AuditedLanding(FEED) as landing:  # one GX run for every file, not one per file
        for path in sorted(inbox.glob(INBOX_PATTERN)):
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if ledger.get(path.name) == digest and settings.landing_dir().joinpath(FEED).is_dir():
                unchanged += 1
                continue
            results.append(ingest_file(path, landing))
            taken[path.name] = digest
    if taken:  # noted once every file is landed and audited: a crash before re-takes them (re-landing is safe)
        tmp = ledger_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(ledger | taken, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(ledger_path)
    summary = IngestSummary(
        files=len(results),
        events_landed=sum(r.valid_rows for r in results),
        events_quarantined=sum(r.rejected_rows for r in results),
        files_unchanged=unchanged,
    )
    logger.info("case events: %d files, %d events landed, %d quarantined; %d files unchanged since taken",
                summary.files, summary.events_landed, summary.events_quarantined, summary.files_unchanged)
    return summary
