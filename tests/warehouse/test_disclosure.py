"""Disclosure control: one set of rules per published mart, applied wherever statistics leave the hub."""

from __future__ import annotations

from pathlib import Path

import yaml

from estelam.core.settings import DBT_PROJECT_DIR
from estelam.warehouse.disclosure import AMOUNT_ROUNDING, DisclosureRules, for_open_data, suppress

RULES = DisclosureRules(counts=("orders", "acknowledged"), size=("orders",), dimensions=("deadline_s",))


def test_small_counts_and_every_measure_of_a_small_row_are_hidden() -> None:
    rows = [
        {"agency_id": "a", "orders": 12, "acknowledged": 3, "frozen_rial": 7_654_321_000, "deadline_s": 20.0},
        {"agency_id": "b", "orders": 1, "acknowledged": 1, "frozen_rial": 123_456_789, "deadline_s": 30.0},
        {"agency_id": "c", "orders": 9, "acknowledged": 0, "frozen_rial": 0, "deadline_s": 30.0},
    ]
    shown = suppress(rows, RULES, 5)
    assert shown[0] == rows[0] | {"acknowledged": None}  # 3 of 12: the count hidden, the row kept
    assert shown[1] == {"agency_id": "b", "orders": None, "acknowledged": None, "frozen_rial": None,
                        "deadline_s": 30.0}  # one order: its amount would name it
    assert shown[2] == rows[2]  # zero reveals nobody


def test_open_data_rounds_amounts_and_shares() -> None:
    rows = [{"orders": 40, "acknowledged": 38, "frozen_rial": 7_654_321_000, "acknowledged_share": 0.95123}]
    (opened,) = for_open_data(rows, RULES, 5)
    assert opened["frozen_rial"] == 7_654_000_000 and opened["frozen_rial"] % AMOUNT_ROUNDING == 0
    assert opened["acknowledged_share"] == 0.951


def test_without_recorded_rules_every_number_counts() -> None:
    shown = suppress([{"x": 2, "y": 7}], DisclosureRules((), (), (), all_counts=True), 5)
    assert shown == [{"x": None, "y": 7}]


def _published_marts() -> dict[str, dict]:  # type: ignore[type-arg]
    marts = {}
    for path in sorted((DBT_PROJECT_DIR / "models" / "marts").rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            meta = (model.get("config") or {}).get("meta") or {}
            if meta.get("publish") is True:
                marts[model["name"]] = model
    return marts


def test_every_integer_column_of_a_published_mart_is_a_declared_count_a_dimension_or_an_amount() -> None:
    """A new count column must be declared, or it would leave the hub unsuppressed."""
    marts = _published_marts()
    assert len(marts) >= 6
    for name, model in marts.items():
        rules = DisclosureRules.from_meta(model["config"]["meta"].get("disclosure") or {})
        assert rules.counts and rules.size, f"{name} declares no disclosure rules"
        for column in model["columns"]:
            if column.get("data_type") not in ("bigint", "integer"):
                continue
            column_name = column["name"]
            assert (column_name in rules.counts or column_name in rules.dimensions
                    or column_name.endswith("_rial") or "_ms_" in column_name or column_name.endswith("_ms")), (
                f"{name}.{column_name}: an integer column that is neither a declared count, a dimension nor an "
                f"amount or duration ({Path('dbt/models/marts')})")
