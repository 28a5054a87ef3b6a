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


def _by_key(con: duckdb.DuckDBPyConnection, sql: str, pattern: str | None) -> dict[str, int]:
    """``sql`` (``key, value`` rows over ``$files``) as a dict; empty when nothing is landed."""
    if pattern is None:
        return {}
    rows = con.execute(sql.replace("$files", "read_parquet(?, union_by_name = true)"), [pattern]).fetchall()
    return {str(key): int(value or 0) for key, value in rows}


def _orders_and_money(con: duckdb.DuckDBPyConnection, landing: Path) -> dict[str, int]:
    """Orders sent by kind, acknowledgements, and the money collected and paid out: one scan of each log."""
    sent = _by_key(con, "select kind, count(*) from $files group by kind", _scan(landing / "freeze_orders"))
    acks = _by_key(con, "select coalesce(order_kind, ''), count(*) from $files group by 1",
                   _scan(landing / "freeze_acknowledgements"))
    moved = _by_key(con, "select order_kind, sum(acknowledged_amount_rial) from $files "
                         "where order_kind in ('transfer', 'payout') group by order_kind",
                    _scan(landing / "freeze_acknowledgements"))
    return {
        "freeze orders sent": sent.get("freeze", 0),
        "release orders sent": sent.get("release", 0),
        "transfer orders sent (collection)": sent.get("transfer", 0),
        "payout orders sent (to creditors)": sent.get("payout", 0),
        "cancel orders sent": sent.get("cancel", 0),
        "orders acknowledged": sum(acks.values()),
        "rials collected to the court": moved.get("transfer", 0),
        "rials paid out to creditors": moved.get("payout", 0),
    }


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
            **_orders_and_money(con, landing),
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
