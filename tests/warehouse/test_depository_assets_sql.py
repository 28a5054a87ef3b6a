"""The depository's assets through the generated asset staging (``stg_kinds__assets``, from its mapping) are what
the retired hand-written model (``stg_depository__holdings`` as ``int_assets_latest`` read it) gave, row for row: the
asset kind, reference (``<holder>:<symbol>``), value, owner name, detail (``<symbol> x <quantity>``), rank, not
protected, freezable; an answer counts once its inquiry's log has landed, and a row landed twice counts once (the
newest copy). Run on DuckDB over landed rows (``source`` resolved to in-memory tables, the deduplication macro
rendered), as in
``test_freeze_allocations_sql.py``."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from estelam.contracts import kind_models
from estelam.contracts import registry as contracts
from estelam.core.domain import AgencyKind
from tests.warehouse.sql_support import rendered

AT = datetime(2026, 11, 30, 9, tzinfo=UTC)


def test_the_mapped_depository_stages_the_assets_the_hand_written_model_did() -> None:
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
    # what the hand-written model gave (its staging, then int_assets_latest's branch; rank 2 from the var)
    hand = [("inq-1", "csdi", "0012345679", "security_holding", "0012345679:FOLD1", 70_000, "علی رضایی", "FOLD1 x 7",
             False, None, 2, True),
            ("inq-1", "csdi", "0012345679", "security_holding", "0012345679:IKCO1", 250_000, "علی رضایی",
             "IKCO1 x 100", False, None, 2, True),
            ("inq-2", "csdi", "1234567891", "security_holding", "1234567891:IKCO1", 10_000, "Tehran Co", "IKCO1 x 4",
             False, None, 2, True)]
    mapped = con.execute(f"""
        with assets as ({rendered(kind_models.render_assets([mapping]))})
        select inquiry_id, agency_id, person_id, asset_kind, asset_ref, value_rial, owner_name, asset_detail,
            is_protected, protected_rial, liquidity_rank, can_freeze
        from assets order by all""").fetchall()
    assert mapped == sorted(hand)
