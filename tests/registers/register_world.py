"""A small warehouse holding the registers the outputs read: ``fugitives``, ``central_bank_feed`` and the
convictions behind them (``intermediate.int_convictions``), with the marts' own column types.

A case event that takes someone off the register is written the way a rebuild would leave it: their
conviction apprehended or paid, their row gone from the mart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
ABSCONDED = datetime(2026, 10, 1, tzinfo=UTC)
#: person id -> (case id, court, outstanding rial)
FUGITIVES = {"0012345678": ("1405-000011", "THR-01", 5_000_000), "0023456789": ("1405-000012", "ISF-01", 700_000),
             "0034567890": ("1405-000013", "THR-02", 90_000)}


def build(data_dir: Path) -> Path:
    """The warehouse file in ``data_dir`` with the three fugitives on the register and in the feed."""
    path = data_dir / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute("""create table fugitives (person_id varchar not null, identifier_scheme varchar,
            person_kind varchar, person_name varchar, case_id varchar not null, court_code varchar,
            absconded_at timestamptz not null, fugitive_cases bigint, outstanding_rial bigint, as_of timestamptz)""")
        con.execute("create schema intermediate")
        con.execute("""create table intermediate.int_convictions (case_id varchar, person_id varchar,
            conviction_status varchar, is_listed boolean, is_absconding boolean, absconded_at timestamptz,
            apprehended_at timestamptz)""")
        con.execute("""create table central_bank_feed (person_id varchar, identifier_scheme varchar,
            person_kind varchar, status varchar, unpaid_cases bigint, satisfied_cases bigint,
            amount_owed_rial bigint, paid_rial bigint, outstanding_rial bigint, unpaid_since date,
            listed_until date, as_of timestamptz)""")
        for person_id, (case_id, court, owed) in FUGITIVES.items():
            con.execute("insert into fugitives values (?, 'iran_national_code', 'natural', 'X', ?, ?, ?, 1, ?, ?)",
                        [person_id, case_id, court, ABSCONDED, owed, AS_OF])
            con.execute("insert into intermediate.int_convictions values (?, ?, 'unpaid', true, true, ?, null)",
                        [case_id, person_id, ABSCONDED])
            con.execute("""insert into central_bank_feed values (?, 'iran_national_code', 'natural', 'listed', 1, 0,
                        ?, 0, ?, '2026-01-01', null, ?)""", [person_id, owed, owed, AS_OF])
    return path


def apprehend(data_dir: Path, person_id: str) -> None:
    """The police caught ``person_id``: the rebuilt warehouse no longer lists them."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute("update intermediate.int_convictions set is_absconding = false, apprehended_at = ? "
                    "where person_id = ?", [datetime(2026, 11, 2, tzinfo=UTC), person_id])
        con.execute("delete from fugitives where person_id = ?", [person_id])


def pay(data_dir: Path, person_id: str) -> None:
    """``person_id`` paid in full: satisfied, off the register, and the central bank's entry says so."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:
        con.execute("update intermediate.int_convictions set conviction_status = 'satisfied' where person_id = ?",
                    [person_id])
        con.execute("delete from fugitives where person_id = ?", [person_id])
        con.execute("update central_bank_feed set status = 'satisfied', paid_rial = amount_owed_rial, "
                    "outstanding_rial = 0, unpaid_cases = 0, satisfied_cases = 1 where person_id = ?", [person_id])
