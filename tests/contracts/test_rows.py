"""The typed rows (estelam/contracts/rows.py) are generated from the feed contracts and agree with them."""

from __future__ import annotations

import typing
from datetime import date, datetime
from pathlib import Path
from types import NoneType, UnionType

import pytest

from estelam.contracts import registry as contracts
from estelam.contracts import row_types, rows
from estelam.core import settings
from tests.settings_support import override

EXPECTED_PYTHON = {"string": str, "int64": int, "bool": bool, "date": date, "timestamp": datetime}


def test_committed_rows_module_is_generated_from_the_contracts() -> None:
    committed = row_types.ROWS_FILE.read_text(encoding="utf-8")
    assert committed == row_types.render_rows(), f"contracts changed: run `{row_types.REGENERATE}`"
    assert committed.startswith("# GENERATED from contracts/feeds/*.yaml")


def test_every_feed_has_a_row_and_a_landed_row_typed_by_its_contract() -> None:
    assert set(typing.get_args(rows.FeedName)) == set(contracts.feeds())
    for name, contract in contracts.feeds().items():
        row = getattr(rows, row_types.class_name(name))
        landed = getattr(rows, "Landed" + row_types.class_name(name))
        hints = typing.get_type_hints(row)
        assert list(hints) == contract.column_names
        assert row.__required_keys__ == frozenset(contract.column_names)
        for column in contract.columns:
            expected = EXPECTED_PYTHON[column.type]
            if column.nullable:
                assert isinstance(hints[column.name], UnionType), column.name
                assert set(typing.get_args(hints[column.name])) == {expected, NoneType}, column.name
            else:
                assert hints[column.name] is expected, column.name
        assert typing.get_type_hints(landed) == hints | {"_batch_id": str, "_landed_at": datetime, "dt": date}


def test_a_contract_change_changes_the_rendered_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    for path in (settings.contracts_dir() / "feeds").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if path.stem == "freeze_orders":
            text = text.replace("{name: reason, type: string, nullable: true,", "{name: reason, type: string,")
        (feeds / path.name).write_text(text, encoding="utf-8")
    override(monkeypatch, contracts_dir=tmp_path)
    rendered = row_types.render_rows()
    orders = rendered[rendered.index("class FreezeOrdersRow"):rendered.index("class LandedFreezeOrdersRow")]
    assert "    reason: str\n" in orders and "reason: str | None" not in orders
    written = row_types.write_rows(tmp_path / "rows.py")
    assert written.read_text(encoding="utf-8") == rendered != row_types.ROWS_FILE.read_text(encoding="utf-8")
    namespace: dict[str, object] = {}
    exec(compile(rendered, "rows.py", "exec"), namespace)  # the generated text is a valid module
    assert "FreezeOrdersRow" in namespace
