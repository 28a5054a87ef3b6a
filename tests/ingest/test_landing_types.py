"""``read_landed`` is typed per feed by the generated rows, and what it reads back has those types."""

from __future__ import annotations

import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import NoneType

import pytest

from estelam.cases.directives import Directive, mark_directive
from estelam.contracts import registry as contracts
from estelam.contracts import row_types, rows
from estelam.ingest import landing
from tests.settings_support import override


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    override(monkeypatch, data_dir=tmp_path)
    return tmp_path


def test_read_landed_has_one_overload_per_feed_with_its_landed_row() -> None:
    by_feed: dict[str, object] = {}
    fallback = []
    for overload in typing.get_overloads(landing.read_landed):
        hints = typing.get_type_hints(overload, globalns=vars(landing))
        (feed,) = typing.get_args(hints["feed"]) or (None,)
        if feed is None:
            fallback.append(hints["return"])
        else:
            by_feed[feed] = hints["return"]
    # the feeds of kinds declared by mapping files are read through the untyped fallback: adding a kind is files only
    mapped = {k.answer_feed for k in contracts.load_agency_registry().kinds.values() if k.mapping is not None}
    assert set(by_feed) == set(contracts.feeds()) - mapped
    for feed, returned in by_feed.items():
        assert returned == list[getattr(rows, "Landed" + row_types.class_name(feed))], feed
    assert len(fallback) == 1  # any other string: untyped rows


def test_landed_rows_have_the_types_their_row_declares() -> None:
    issued_at = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    mark_directive("1405-000001", Directive.CONFIDENTIAL, issued_by="judge-1", authorised_users=["u1", "u2"],
                   issued_at=issued_at)
    mark_directive("1405-000002", Directive.COLLECT, issued_by="judge-1", issued_at=issued_at)
    landed = landing.read_landed("case_directives")
    hints = typing.get_type_hints(rows.LandedCaseDirectivesRow)
    assert len(landed) == 2
    for row in landed:
        assert set(row) == set(hints)
        for name, declared in hints.items():
            allowed = typing.get_args(declared) or (declared,)
            assert isinstance(row[name], allowed), (name, row[name], declared)
    by_case = {row["case_id"][-1]: row for row in landed}
    assert by_case["1"]["authorised_users"] == "u1,u2" and by_case["2"]["authorised_users"] is None
    assert NoneType in typing.get_args(hints["authorised_users"])
    assert by_case["1"]["issued_at"] == issued_at and isinstance(by_case["1"]["_landed_at"], datetime)
    assert by_case["1"]["issued_at"].utcoffset() == timedelta(0)  # timestamps come back aware, in UTC
    assert by_case["1"]["dt"] == issued_at.date()  # the partition folder, read back as a date


def test_nothing_landed_reads_as_no_rows() -> None:
    assert landing.read_landed("freeze_orders") == []
