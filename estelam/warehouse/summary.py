"""The end-of-cycle summary: what came in, what was asked, what was frozen, and whether agencies agree."""

from __future__ import annotations

from pathlib import Path

import duckdb

from estelam.core import settings

MARTS = ("financial_convictions", "asset_report", "freeze_plan", "kpi_inquiries_daily")


def _scan(folder: Path) -> str | None:
    return str(folder / "*" / "*.parquet") if any(folder.glob("*/*.parquet")) else None


def _count(con: duckdb.DuckDBPyConnection, sql: str, pattern: str | None) -> int:
    if pattern is None:
        return 0
    row = con.execute(sql.replace("$files", "read_parquet(?, union_by_name = true)"), [pattern]).fetchone()
    return int(row[0] or 0) if row else 0


def landing_counts() -> dict[str, int]:
    """Counts straight from the landing zone and quarantine (the floor: no warehouse involved)."""
    landing, quarantine = settings.landing_dir(), settings.quarantine_dir()
    with duckdb.connect() as con:
        inquiries = _scan(landing / "inquiries")
        return {
            "cases": _count(con, "select count(distinct case_id) from $files", _scan(landing / "case_events")),
            "case events landed": _count(con, "select count(*) from $files", _scan(landing / "case_events")),
            "inquiries sent": _count(con, "select count(*) from $files", inquiries),
            "inquiries answered": _count(con, "select count(*) from $files where status = 'answered'", inquiries),
            "inquiries rejected (quarantined)":
                _count(con, "select count(*) from $files where status = 'rejected'", inquiries),
            "inquiries failed": _count(con, "select count(*) from $files where status = 'failed'", inquiries),
            "inquiries past their deadline":
                _count(con, "select count(*) from $files where status = 'deadline_missed'", inquiries),
            "rows in quarantine": sum(
                _count(con, "select count(*) from $files", _scan(feed)) for feed in quarantine.glob("*")
            ) if quarantine.exists() else 0,
            "freeze orders sent": _count(con, "select count(*) from $files where kind = 'freeze'",
                                         _scan(landing / "freeze_orders")),
            "release orders sent": _count(con, "select count(*) from $files where kind = 'release'",
                                          _scan(landing / "freeze_orders")),
            "transfer orders sent (collection)": _count(con, "select count(*) from $files where kind = 'transfer'",
                                                        _scan(landing / "freeze_orders")),
            "payout orders sent (to creditors)": _count(con, "select count(*) from $files where kind = 'payout'",
                                                        _scan(landing / "freeze_orders")),
            "cancel orders sent": _count(con, "select count(*) from $files where kind = 'cancel'",
                                         _scan(landing / "freeze_orders")),
            "orders acknowledged": _count(con, "select count(*) from $files",
                                          _scan(landing / "freeze_acknowledgements")),
            "rials collected to the court": _count(
                con, "select coalesce(sum(acknowledged_amount_rial), 0) from $files where order_kind = 'transfer'",
                _scan(landing / "freeze_acknowledgements")),
            "rials paid out to creditors": _count(
                con, "select coalesce(sum(acknowledged_amount_rial), 0) from $files where order_kind = 'payout'",
                _scan(landing / "freeze_acknowledgements")),
        }


def mart_counts() -> dict[str, int]:
    from estelam.warehouse import dbt_build as warehouse

    return {f"{mart} rows": rows for mart, rows in warehouse.mart_counts(MARTS).items()}


def cycle_summary(held_freezes: dict[tuple[str, str, str], int]) -> dict[str, int]:
    """Landing counts, mart sizes, and what the agencies themselves hold frozen."""
    summary = landing_counts() | mart_counts()
    summary["assets frozen at agencies"] = len(held_freezes)
    summary["rials frozen at agencies"] = sum(held_freezes.values())
    return summary
