"""The depository's assets through the generated asset staging (``stg_kinds__assets``, from its mapping) are the
hand-written path's (``stg_depository__holdings`` as ``int_assets_latest`` reads it), row for row: the same asset
kind, reference (``<holder>:<symbol>``), value, owner name, detail (``<symbol> x <quantity>``), rank, not protected,
freezable — what moving the depository onto its mapping must keep. Both are run on DuckDB over the same landed rows
(``source`` resolved to in-memory tables), as in ``test_freeze_allocations_sql.py``."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from estelam.contracts import kind_models
from estelam.contracts import registry as contracts
from estelam.core.domain import AgencyKind
from tests.settings_support import override

ROOT = Path(__file__).resolve().parents[2]
HOLDINGS_SQL = ROOT / "dbt" / "models" / "staging" / "stg_depository__holdings.sql"
FIXTURE = ROOT / "tests" / "fixtures" / "depository" / "securities_depository.yaml"
AT = datetime(2026, 11, 30, 9, tzinfo=UTC)


def _sources_resolved(sql: str) -> str:
    return re.sub(r"\{\{\s*source\('landing',\s*'(\w+)'\)\s*\}\}", r"\1", sql)


def test_the_mapped_depository_stages_the_assets_the_hand_written_model_did(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "contracts"
    shutil.copytree(ROOT / "contracts", folder)
    shutil.copy(FIXTURE, folder / "kinds")
    shutil.copy(ROOT / "contracts" / "agencies" / "securities_depository.openapi.yaml", folder / "kinds")
    override(monkeypatch, contracts_dir=folder, data_dir=tmp_path / "data")
    mapping = contracts.load_agency_registry().kinds[AgencyKind("securities_depository")].mapping
    assert mapping is not None
    con = duckdb.connect()
    con.execute("""create table security_holdings (inquiry_id varchar, agency_id varchar, person_id varchar,
                   holder_name varchar, symbol varchar, quantity bigint, unit_price_rial bigint, value_rial bigint,
                   responded_at timestamptz, _batch_id varchar, _landed_at timestamptz)""")
    con.execute("create table inquiries (inquiry_id varchar)")
    rows = [("inq-1", "csdi", "0012345679", "علی رضایی", "IKCO1", 100, 2_500, 250_000, AT, "b1", AT),
            ("inq-1", "csdi", "0012345679", "علی رضایی", "FOLD1", 7, 10_000, 70_000, AT, "b1", AT),
            ("inq-2", "csdi", "1234567891", "Tehran Co", "IKCO1", 3, 2_500, 7_500, AT, "b1", AT),
            ("inq-2", "csdi", "1234567891", "Tehran Co", "IKCO1", 4, 2_500, 10_000, AT, "b2", AT.replace(hour=10)),
            ("inq-3", "csdi", "0012345679", "lost round", "KHODRO1", 1, 1, 1, AT, "b1", AT)]  # no inquiry log
    con.executemany("insert into security_holdings values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.executemany("insert into inquiries values (?)", [("inq-1",), ("inq-2",)])
    # the hand-written path: the staging model, then what int_assets_latest took of it (rank 2 from the var)
    hand = con.execute(f"""
        with holdings as ({_sources_resolved(HOLDINGS_SQL.read_text(encoding="utf-8"))})
        select inquiry_id, agency_id, person_id, asset_kind, asset_ref, value_rial, holder_name as owner_name,
            symbol || ' x ' || quantity as asset_detail, false as is_protected, null::bigint as protected_rial,
            2 as liquidity_rank, true as can_freeze
        from holdings order by all""").fetchall()
    mapped = con.execute(f"""
        with assets as ({_sources_resolved(kind_models._asset_select(mapping))})
        select inquiry_id, agency_id, person_id, asset_kind, asset_ref, value_rial, owner_name, asset_detail,
            is_protected, protected_rial, liquidity_rank, can_freeze
        from assets order by all""").fetchall()
    assert len(hand) == 3 and ("inq-2", "csdi", "1234567891", "security_holding", "1234567891:IKCO1", 10_000,
                               "Tehran Co", "IKCO1 x 4", False, None, 2, True) in hand
    assert mapped == hand
