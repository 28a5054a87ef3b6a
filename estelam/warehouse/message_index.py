"""The message log's index in the warehouse: landed as the ``message_log`` feed before every build.

The message log itself is a hash-chained store (files or PostgreSQL) the warehouse cannot read
directly; each build first lands the entries not landed yet as one batch named by their sequence
range (``messages-<first>-<last>``), so a rerun replaces that batch instead of duplicating it. No
body leaves the message log: the feed holds metadata, sizes and hashes only.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from estelam.access.message_log import LoggedMessage, MessageLog
from estelam.core import clock, settings
from estelam.ingest.landing import land_audited

logger = logging.getLogger(__name__)

FEED = "message_log"
BATCH_PATTERN = re.compile(r"messages-(\d{12})-(\d{12})\.parquet")


def landed_up_to() -> int:
    """The last message-log sequence number already landed (0: none)."""
    folder = settings.landing_dir() / FEED
    last = 0
    for path in folder.glob("dt=*/*.parquet") if folder.is_dir() else ():
        match = BATCH_PATTERN.fullmatch(path.name)
        if match:
            last = max(last, int(match.group(2)))
    return last


def _row(message: LoggedMessage) -> dict[str, object]:
    return {
        "seq": message.seq, "message_id": message.message_id, "direction": message.direction,
        "agency_id": message.agency_id, "operation": message.operation, "request_id": message.request_id,
        "message_at": datetime.fromisoformat(message.at), "size_bytes": message.size_bytes, "sha256": message.sha256,
        "body_kept": message.body is not None, "http_status": message.http_status, "error": message.error,
        "purpose": message.purpose, "case_ids": ",".join(message.case_ids) or None,
        "persons": len(message.person_ids),
    }


def land_message_index(messages: MessageLog | None = None) -> int:
    """Land the entries the warehouse has not seen yet; returns how many."""
    after = landed_up_to()
    rows = [_row(m) for m in (messages or MessageLog()).messages() if m.seq > after]
    if not rows:
        return 0
    batch_id = f"messages-{rows[0]['seq']:012d}-{rows[-1]['seq']:012d}"
    result = land_audited(FEED, rows, batch_id=batch_id, partition=clock.today())
    logger.info("message log: %d entries landed for the warehouse (%s)", result.valid_rows, batch_id)
    return len(rows)
