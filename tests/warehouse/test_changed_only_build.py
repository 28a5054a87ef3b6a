"""The scheduled build builds only what changed (``build(changed_only=True)``): the feeds with new batches and
everything downstream, plus the models that read the clock; the warehouse it leaves is the one a whole build of
the same files gives, mart for mart. A failed build forgets what it read, so the next one is whole."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from estelam.core import clock
from estelam.core.exceptions import WarehouseError
from estelam.warehouse import dbt_build as warehouse
from tests.settings_support import override
from tests.warehouse.test_warehouse import Landed, land, land_freezes, land_world

ROOT = Path(__file__).resolve().parents[2]


def test_every_model_reading_the_clock_is_tagged_so_every_build_builds_it() -> None:
    models = list((ROOT / "dbt" / "models").rglob("*.sql"))
    tagged = {path.stem for path in models if f"tags=['{warehouse.CLOCK_TAG}']" in path.read_text(encoding="utf-8")}
    reading = {path.stem for path in models if "as_of()" in path.read_text(encoding="utf-8")}
    assert reading and tagged == reading


def _marts() -> dict[str, list[tuple[Any, ...]]]:
    """Every published mart's rows, without the moment of the build (``as_of``)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    with warehouse.connect_read_only() as connection:
        for mart in warehouse.MARTS:
            columns = [c for (c, *_) in connection.execute(f'describe "{mart}"').fetchall() if c != "as_of"]
            listed = ", ".join(f'"{c}"' for c in columns)
            rows[mart] = connection.execute(f'select {listed} from "{mart}" order by all').fetchall()
    return rows


def _landed_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Landed, datetime]:
    """The data directory with the test world's answers landed (no freezes yet), and a moment three days on."""
    data = tmp_path / "data"
    override(monkeypatch, data_dir=data, warehouse=data / "warehouse.duckdb")
    landed = land_world(data, with_freezes=False)
    return data, landed, landed.world.anchor + timedelta(days=3)


def test_a_changed_only_build_builds_what_new_batches_touch_and_equals_a_whole_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, landed, at = _landed_world(tmp_path, monkeypatch)
    with clock.simulated(at):
        first = warehouse.build(unit_tests=False, changed_only=True)
        assert first.selected is None  # nothing recorded yet: everything
        unchanged = warehouse.build(unit_tests=False, changed_only=True)
        assert unchanged.selected == f"tag:{warehouse.CLOCK_TAG}+"
        assert 0 < unchanged.models < first.models

        land_freezes(data, landed, at - timedelta(hours=1))
        changed = warehouse.build(unit_tests=False, changed_only=True)
        selected = set((changed.selected or "").split())
        assert {"source:landing.freeze_orders+", "source:landing.freeze_acknowledgements+",
                "source:landing.notification_deliveries+"} <= selected
        assert "source:landing.bank_accounts+" not in selected and "source:landing.case_events+" not in selected
        after_changes = _marts()

    whole_data = tmp_path / "whole"
    shutil.copytree(data / "landing", whole_data / "landing")
    override(monkeypatch, data_dir=whole_data, warehouse=whole_data / "warehouse.duckdb")
    with clock.simulated(at):
        assert warehouse.build(unit_tests=False).selected is None
        assert _marts() == after_changes
        assert any(after_changes["freeze_plan"]) and any(after_changes["kpi_freezes"])

        # a build that fails forgets what it read: the next one builds everything
        assert (whole_data / warehouse.BUILD_INPUTS_FILE).is_file()
        land(whole_data, "case_events", [
            {"event_id": "bad-1", "case_id": "1403-999999", "event_type": "teleported",
             "occurred_at": datetime(2026, 11, 1, tzinfo=UTC), "court_code": "THR-01", "debtor_id": "0000000000",
             "debtor_kind": "natural", "debtor_name": "x", "creditor_name": "y", "amount_rial": None, "channel": None,
             "automated": True}], "court-bad", at)
        with pytest.raises(WarehouseError, match="contract_rules_case_events"):
            warehouse.build(unit_tests=False, changed_only=True)
        assert not (whole_data / warehouse.BUILD_INPUTS_FILE).exists()


def test_the_selection_of_models_lineage_within_a_changed_selection() -> None:
    assert warehouse.lineage_selection(["a", "b"], None) == "+a +b"
    assert warehouse.lineage_selection(["a"], "source:landing.x+ tag:clock+") == "source:landing.x+,+a tag:clock+,+a"


def test_a_build_only_for_the_inquiry_targets_builds_their_lineage_and_leaves_the_rest_to_the_next_build(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from estelam.inquiry.rounds import TARGETS_READ

    data, landed, at = _landed_world(tmp_path, monkeypatch)
    with clock.simulated(at):
        whole = warehouse.build(unit_tests=False, changed_only=True)
        record = (data / warehouse.BUILD_INPUTS_FILE).read_text(encoding="utf-8")
        land_freezes(data, landed, at - timedelta(hours=1))

        narrow = warehouse.build(unit_tests=False, changed_only=True, only_for=TARGETS_READ)
        assert narrow.selected is not None
        assert "source:landing.freeze_acknowledgements+,+inquiry_targets" in narrow.selected.split()
        assert 0 < narrow.models < whole.models / 3 and narrow.tests_failed == 0
        # it records nothing: the next build still builds everything the freezes touched
        assert (data / warehouse.BUILD_INPUTS_FILE).read_text(encoding="utf-8") == record
        after = warehouse.build(unit_tests=False, changed_only=True)
        assert "source:landing.freeze_orders+" in (after.selected or "").split()
        assert after.models > narrow.models
