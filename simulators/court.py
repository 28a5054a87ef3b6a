"""The court system, simulated: it drops case events as JSON-lines files into the hub's inbox.

One file per day of events (``case_events-YYYY-MM-DD.jsonl``); the file name is the
batch id, so re-dropping a day replaces that day's batch instead of duplicating it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from simulators.world import CaseEvent, World


def event_record(event: CaseEvent) -> dict[str, object]:
    """One event as the court system sends it on the wire."""
    return {
        "event_id": event.event_id,
        "case_id": event.case_id,
        "event_type": str(event.event_type),
        "occurred_at": event.occurred_at.isoformat(),
        "court_code": event.court_code,
        "debtor_id": event.debtor_id,
        "debtor_kind": str(event.debtor_kind),
        "debtor_name": event.debtor_name,
        "creditor_name": event.creditor_name,
        "amount_rial": event.amount_rial,
        "channel": event.channel,
        "automated": event.automated,
        "debtor_email": event.debtor_email,
        "debtor_mobile": event.debtor_mobile,
        "debtor_language": event.debtor_language,
    }


def drop_case_events(world: World, inbox: Path) -> list[Path]:
    """Write the world's case events into ``inbox`` as one JSON-lines file per day."""
    by_day: dict[str, list[CaseEvent]] = defaultdict(list)
    for event in world.case_events():
        by_day[event.occurred_at.date().isoformat()].append(event)
    inbox.mkdir(parents=True, exist_ok=True)
    written = []
    for day, events in sorted(by_day.items()):
        path = inbox / f"case_events-{day}.jsonl"
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(event_record(e), ensure_ascii=False) + "\n" for e in events),
                       encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written
