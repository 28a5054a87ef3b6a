"""The court system's directives: ``case_directives-YYYY-MM-DD.jsonl`` files in the inbox, beside the case events.

Each line is one directive as the court issued it (``case_id``, ``directive``, ``issued_by``, ``issued_at`` and the
kind's fields: ``amount_rial``, ``restriction_type``, ``authorised_users``, ``order_id``, ``asset_ref``, ``note``).
Each goes through :func:`estelam.cases.directives.submit_directive` (source ``court``): validated, landed and
audited, or refused with its reason in the audit log. A directive's id is stable, so ingesting a file twice lands
each directive once. A line that is not a JSON object, or lacks a field, is refused and logged with its line number.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from estelam.cases.directives import (
    DIRECTIVES_FEED,
    CaseOnRecord,
    Directive,
    cases_on_record,
    submit_directive,
)
from estelam.core import settings
from estelam.core.domain import RestrictionType
from estelam.core.exceptions import DirectiveRejected
from estelam.core.log import event_fields
from estelam.ingest.landing import AuditedLanding

logger = logging.getLogger(__name__)

INBOX_PATTERN = "case_directives-*.jsonl"


@dataclass(frozen=True)
class DirectiveIngest:
    files: int
    landed: int
    refused: int

    def as_dict(self) -> dict[str, int]:
        return {"files": self.files, "directives_landed": self.landed, "directives_refused": self.refused}


def _submit(record: dict[str, object], landing: AuditedLanding | None = None,
            on_record: Mapping[str, CaseOnRecord] | None = None) -> str:
    """Submit one court record (raises :class:`DirectiveRejected` with the reason)."""
    try:
        kind = Directive(str(record["directive"]))
        issued_at = datetime.fromisoformat(str(record["issued_at"]))
        restriction = RestrictionType(str(record["restriction_type"])) if record.get("restriction_type") else None
        amount = record.get("amount_rial")
        if amount is not None and not isinstance(amount, int):
            raise DirectiveRejected(f"amount_rial {str(amount)[:30]!r} is not an integer")
        users = record.get("authorised_users") or []
        if isinstance(users, str):
            users = [u.strip() for u in users.split(",") if u.strip()]
        if not isinstance(users, list):
            raise DirectiveRejected("authorised_users is neither a list nor a comma-separated string")
        return submit_directive(
            str(record["case_id"]), kind, issued_by=str(record["issued_by"]), amount_rial=amount,
            restriction=restriction, authorised_users=[str(u) for u in users],
            order_id=str(record["order_id"]) if record.get("order_id") else None,
            asset_ref=str(record["asset_ref"]) if record.get("asset_ref") else None,
            note=str(record["note"]) if record.get("note") else None, issued_at=issued_at, source="court",
            role="court", landing=landing, on_record=on_record)
    except (KeyError, ValueError) as exc:  # a missing field, an unknown kind or type, a bad timestamp
        raise DirectiveRejected(f"not a directive record: {type(exc).__name__}: {str(exc)[:120]}") from exc


def ingest_directive_file(path: Path, landing: AuditedLanding | None = None) -> tuple[int, int]:
    """Submit every directive of one court file; (landed, refused). ``landing``: the drop's audited landing
    (one GX run audits every directive of the drop); without it, a landing audited when the file is done."""
    if landing is None:
        with AuditedLanding(DIRECTIVES_FEED) as own:
            return ingest_directive_file(path, own)
    landed = refused = 0
    # (line number, the parsed record or None, why it could not be parsed)
    lines: list[tuple[int, object, str | None]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                lines.append((number, json.loads(line), None))
            except json.JSONDecodeError as exc:
                lines.append((number, None, f"not JSON: {exc}"))
    # the file's cases in one scan of the court events (landing directives adds no court event)
    on_record = cases_on_record(str(r["case_id"]) for _, r, _ in lines if isinstance(r, dict) and "case_id" in r)
    for number, record, unreadable in lines:
        try:
            if unreadable is not None:
                raise DirectiveRejected(unreadable)
            if not isinstance(record, dict):
                raise DirectiveRejected("not a JSON object")
            _submit(record, landing, on_record)
            landed += 1
        except DirectiveRejected as exc:
            refused += 1
            logger.warning("court directive %s:%d refused: %s", path.name, number, exc,
                           extra=event_fields(file=path.name, line=number))
    return landed, refused


def ingest_directives(inbox: Path | None = None) -> DirectiveIngest:
    """Submit every court directive file in the inbox (``data/inbox`` by default)."""
    inbox = inbox or settings.inbox_dir()
    with AuditedLanding(DIRECTIVES_FEED) as landing:  # the compiled rules per directive, GX once for the drop
        counts = [ingest_directive_file(p, landing) for p in sorted(inbox.glob(INBOX_PATTERN))]
    summary = DirectiveIngest(len(counts), sum(c[0] for c in counts), sum(c[1] for c in counts))
    logger.info("court directives: %d files, %d landed, %d refused", summary.files, summary.landed, summary.refused)
    return summary
