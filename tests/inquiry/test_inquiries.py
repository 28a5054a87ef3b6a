"""An inquiry round ends every inquiry in one recorded state: answered, rejected or failed."""

from dataclasses import replace
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from estelam.contracts.registry import load_agency_registry
from estelam.inquiry.rounds import InquiryTarget, run_round
from simulators.server import RunningServer
from simulators.world import generate
from tests.mapping_support import drawn_records, simulated
from tests.settings_support import override


def _log(data: Path) -> dict[str, dict]:
    rows = [r for f in (data / "landing" / "inquiries").glob("*/*.parquet") for r in pq.read_table(f).to_pylist()]
    return {r["person_id"]: r for r in rows}


def test_answers_rejections_and_failures_are_all_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=tmp_path)
    registry = load_agency_registry()
    bank = registry.instance("bank_saderat")
    world = generate(registry.instances, n_persons=120, dirty_share=0.2)
    from estelam.core.identifiers import is_iban

    # the accounts the bank's generated simulator draws (its world data mistypes a few IBANs in the dirty share)
    accounts = {p.person_id: drawn_records(world, bank, p.person_id) for p in world.persons}
    dirty_owner = next(p for p, rows in accounts.items() if any(not is_iban(r["iban"]) for r in rows))
    clean_owner = next(p for p, rows in accounts.items() if rows and all(is_iban(r["iban"]) for r in rows))
    targets = [InquiryTarget(clean_owner, "1403-000001"), InquiryTarget(dirty_owner, "1403-000002")]
    with simulated(world, bank) as url:
        summary = run_round(replace(bank, endpoint=url), targets, round_id="r1", today=date(2026, 11, 1))
    assert (summary.answered, summary.rejected, summary.failed) == (1, 1, 0)
    log = _log(tmp_path)
    assert log[clean_owner]["status"] == "answered"
    assert log[dirty_owner]["status"] == "rejected" and "iban" in log[dirty_owner]["reason"]

    # A retry of the same round replaces its batches: now the agency is gone (it never answers), so both end
    # deadline_missed, with reasons: silence is not a failure of the agency's answer but a missed deadline.
    summary = run_round(replace(bank, endpoint=url), targets, round_id="r1", today=date(2026, 11, 1))
    assert (summary.answered, summary.failed, summary.deadline_missed) == (0, 0, 2)
    log = _log(tmp_path)
    assert len(log) == 2 and {r["status"] for r in log.values()} == {"deadline_missed"}
    assert all(r["reason"] and "bank_saderat" in r["reason"] for r in log.values())


def test_an_agencys_huge_fault_is_kept_bounded_in_the_inquiry_log(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A 7.3 MB fault text once landed whole in the inquiries feed: the reason keeps a bounded part of it."""
    import json

    from estelam.core.exceptions import MAX_AGENCY_MESSAGE_CHARS
    from simulators.server import Response

    override(monkeypatch, data_dir=tmp_path)
    fault = json.dumps({"detail": "x" * 7_300_000}).encode()
    depository = load_agency_registry().instance("csdi")
    with RunningServer(lambda request: Response(400, fault, {"Content-Type": "application/json"})) as server:
        summary = run_round(replace(depository, endpoint=server.url), [InquiryTarget("0012345679", "1403-000001")],
                            round_id="huge", today=date(2026, 11, 1))
    assert summary.failed == 1
    (row,) = _log(tmp_path).values()
    assert row["status"] == "failed" and MAX_AGENCY_MESSAGE_CHARS <= len(row["reason"]) < MAX_AGENCY_MESSAGE_CHARS + 300
