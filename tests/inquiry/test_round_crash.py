"""An inquiry round killed between landing a bank's answers and landing the round's inquiry log, then run again:
the warehouse counts no answer without its inquiry log row and no asset twice, and nothing landed is deleted."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import duckdb
import pytest

from estelam.contracts.registry import load_agency_registry
from estelam.ingest.landing import read_landed
from estelam.inquiry import rounds
from estelam.inquiry.rounds import InquiryTarget, run_round
from estelam.warehouse.dbt_build import build
from simulators.world import generate
from tests.mapping_support import drawn_records, simulated
from tests.settings_support import override


class Crash(Exception):
    """The task's process died here."""


def test_a_round_killed_before_its_inquiry_log_leaves_no_orphan_answer(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=tmp_path)
    registry = load_agency_registry()
    bank = registry.instance("bank_melli")
    world = generate(registry.instances, n_persons=120, dirty_share=0.0)  # some hold accounts at the bank
    owners = sorted(p.person_id for p in world.persons if drawn_records(world, bank, p.person_id))
    targets = [InquiryTarget(person, f"1403-{n:06d}") for n, person in enumerate(owners)]
    with simulated(world, bank) as url:  # the bank's generated simulator
        agency = replace(bank, endpoint=url)
        with monkeypatch.context() as dying:
            def die(*args: object, **kwargs: object) -> None:
                raise Crash("killed after the answers landed, before the inquiry log")

            dying.setattr(rounds, "land_inquiry_log", die)
            with pytest.raises(Crash):
                run_round(agency, targets, round_id="run-1", today=date(2026, 11, 1))
        orphans = {str(r["inquiry_id"]) for r in read_landed("bank_accounts")}
        assert orphans and not read_landed("inquiries")  # the answers landed, their log did not
        run_round(agency, targets, round_id="run-2", today=date(2026, 11, 1))  # the next run asks again

    build(select="path:models/staging")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        counted = con.execute("select inquiry_id, person_id, asset_ref from staging.stg_kinds__assets "
                              "where agency_kind = 'bank'").fetchall()
        logged = {i for (i,) in con.execute("select inquiry_id from staging.stg_hub__inquiries").fetchall()}
    assert counted and {i for i, _, _ in counted} <= logged, "an answer counted without its inquiry log row"
    assert not {i for i, _, _ in counted} & orphans, "the dead round's answers were counted"
    assets = [(person, iban) for _, person, iban in counted]
    assert len(assets) == len(set(assets)), "an asset counted twice"
    assert orphans <= {str(r["inquiry_id"]) for r in read_landed("bank_accounts")}  # nothing landed is deleted
