"""The court system, simulated: it drops case events and directives as JSON-lines files into the hub's inbox.

One file per day of events (``case_events-YYYY-MM-DD.jsonl``); the file name is the
batch id, so re-dropping a day replaces that day's batch instead of duplicating it.
Directives (``case_directives-YYYY-MM-DD.jsonl``) are a judge's orders on cases the hub froze.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
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
        "creditor_iban": event.creditor_iban,
        "decision_number": event.decision_number,
        "judge_name": event.judge_name,
        "creditor_email": event.creditor_email,
        "creditor_mobile": event.creditor_mobile,
        "creditor_language": event.creditor_language,
    }


def drop_case_events(world: World, inbox: Path) -> list[Path]:
    """Write the world's case events into ``inbox`` as one JSON-lines file per day."""
    return drop_events(world.case_events(), inbox)


def drop_events(events: Sequence[CaseEvent], inbox: Path) -> list[Path]:
    """Write ``events`` into ``inbox`` as one JSON-lines file per day of occurrence (a day's file replaced)."""
    by_day: dict[str, list[CaseEvent]] = defaultdict(list)
    for event in sorted(events, key=lambda e: (e.occurred_at, e.event_id)):
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


#: Who the simulated court names as the judge issuing its directives.
COURT_JUDGE = "judge-court-sim"
#: The directives that change what is held on a case (collections, releases, cancels, vehicles' restrictions):
#: the story leaves their cases to them. Confidentiality and re-inquiries change nothing held.
HOLD_DIRECTIVES = frozenset({"collect", "release", "cancel_order", "restrict_vehicle", "lift_vehicle_restriction"})


def court_directives(orders: Sequence[Mapping[str, object]], *, issued_at: datetime) -> list[dict[str, object]]:
    """Directives a court issues on cases the hub already froze (``orders``: the landed ``freeze_orders`` rows):
    one of every kind, each on a case that lets it act — collection (all, and an amount) of frozen accounts, a
    vehicle's restriction changed and another's lifted, a release, a cancel, confidentiality set and lifted,
    and the two re-inquiries."""
    freezes = sorted({(str(o["case_id"]), str(o["asset_kind"]), str(o["asset_ref"]), str(o["order_id"]),
                       int(str(o["amount_rial"]))) for o in orders if o["kind"] == "freeze"})
    if not freezes:
        return []
    used: set[str] = set()

    def pick(asset_kind: str | None = None) -> tuple[str, str, str, str, int] | None:
        fitting = [f for f in freezes if asset_kind is None or f[1] == asset_kind]
        fresh = [f for f in fitting if f[0] not in used]
        if not fitting:
            return None
        chosen = (fresh or fitting)[0]
        used.add(chosen[0])
        return chosen

    records: list[dict[str, object]] = []

    def add(directive: str, target: tuple[str, str, str, str, int] | None, **fields: object) -> None:
        if target is not None:
            # a millisecond apart, so they keep their order without reaching into the hub's day: a directive
            # stamped after the day's inquiry round would have its debtor asked again the next day
            at = issued_at + timedelta(milliseconds=len(records))
            records.append({"case_id": target[0], "directive": directive, "issued_by": COURT_JUDGE,
                            "issued_at": at.isoformat(), "note": f"court decision {len(records) + 1}", **fields})

    car, other_car = pick("vehicle"), pick("vehicle")
    if other_car is not None:  # lifted; with one car only, lifted before it is restricted again (a new type)
        add("lift_vehicle_restriction", other_car, asset_ref=other_car[2])
    if car is not None:
        add("restrict_vehicle", car, asset_ref=car[2], restriction_type="circulation")
    add("collect", pick("bank_account"))
    if (account := pick("bank_account")) is not None:
        add("collect", account, amount_rial=max(account[4] // 2, 1))
    if (released := pick()) is not None:
        add("release", released, asset_ref=released[2], amount_rial=max(released[4] // 4, 1))
    if (cancelled := pick()) is not None:
        add("cancel_order", cancelled, order_id=cancelled[3])
    if (secret := pick()) is not None:
        add("confidential", secret, authorised_users=[COURT_JUDGE, "clerk-1"])
        add("lift_confidentiality", secret)
    add("reinquire_now", pick())
    add("priority_reinquiry", pick())
    return records


def drop_directives(records: Sequence[Mapping[str, object]], inbox: Path, *, day: str) -> Path:
    """Write the court's directives of one day into ``inbox`` (``case_directives-YYYY-MM-DD.jsonl``)."""
    inbox.mkdir(parents=True, exist_ok=True)
    path = inbox / f"case_directives-{day}.jsonl"
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    tmp.replace(path)
    return path
