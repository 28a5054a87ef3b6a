"""Case events from the court system: landed per file, nothing lost, re-runs replace."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from estelam.contracts.registry import load_agency_registry
from estelam.ingest.case_events import ingest_inbox
from simulators.court import drop_case_events, event_record
from simulators.world import generate
from tests.settings_support import override


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    override(monkeypatch, data_dir=tmp_path)
    return tmp_path


def _rows(folder: Path) -> list[dict]:
    return [row for f in sorted(folder.glob("*/*.parquet")) for row in pq.read_table(f).to_pylist()]


def test_every_event_is_landed_once_and_a_rerun_replaces(data_dir: Path) -> None:
    world = generate(load_agency_registry().instances, n_persons=20, n_cases=6)
    files = drop_case_events(world, data_dir / "inbox")
    first = ingest_inbox()
    again = ingest_inbox()  # nothing changed: nothing validated or landed again
    assert (again.files, again.files_unchanged, again.events_landed) == (0, first.files, 0)
    resent = files[0].read_text(encoding="utf-8").splitlines()[:1]  # the court re-sends a day with one event
    files[0].write_text(resent[0] + "\n", encoding="utf-8")
    third = ingest_inbox()
    assert (third.files, third.files_unchanged, third.events_landed) == (1, first.files - 1, 1)
    landed = _rows(data_dir / "landing" / "case_events")
    kept = {json.loads(resent[0])["event_id"]} | {e.event_id for e in world.case_events()
                                                   if e.occurred_at.date() != world.case_events()[0].occurred_at.date()}
    assert sorted(r["event_id"] for r in landed) == sorted(kept)  # the re-sent day's batch was replaced


def test_a_broken_line_and_a_bad_event_are_quarantined_with_reasons(data_dir: Path) -> None:
    world = generate(load_agency_registry().instances, n_persons=10, n_cases=1)
    good = event_record(world.case_events()[0])
    bad_id = good | {"event_id": "X-1", "debtor_id": "0499370898"}  # wrong check digit
    inbox = data_dir / "inbox"
    inbox.mkdir()
    (inbox / "case_events-2026-10-01.jsonl").write_text(
        "\n".join([json.dumps(good, ensure_ascii=False), "{not json", json.dumps(bad_id, ensure_ascii=False)]) + "\n",
        encoding="utf-8",
    )
    summary = ingest_inbox()
    assert (summary.events_landed, summary.events_quarantined) == (1, 2)
    reasons = {r["event_id"]: " ".join(r["_reasons"]) for r in _rows(data_dir / "quarantine" / "case_events")}
    assert "not JSON" in reasons["case_events-2026-10-01.jsonl:2"]
    assert "check digit" in reasons["X-1"]
