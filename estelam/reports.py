"""Per-case asset reports for enforcement judges: HTML, Persian (RTL), Solar Hijri dates.

The report reads only the warehouse (``asset_report`` mart, the case's events and
inquiry log). Each agency asked about the debtor is listed with its last answer,
so a judge sees where data is stale or an agency did not answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from estelam import settings
from estelam.calendars import persian_digits, rials, solar_hijri
from estelam.exceptions import EstelamError

#: An answer older than this is marked stale in the report.
STALE_AFTER = timedelta(days=7)

ASSET_KIND_FA = {"bank_account": "حساب بانکی", "security_holding": "سهام", "vehicle": "خودرو",
                 "property": "ملک"}
EVENT_FA = {"filed": "ثبت درخواست اجرا", "referred": "ارجاع", "notified": "ابلاغ اجراییه", "invoiced": "صدور صورتحساب",
            "paid": "پرداخت", "freeze_ordered": "دستور توقیف", "released": "رفع توقیف", "closed": "مختومه"}
STATUS_FA = {"answered": "پاسخ داده", "rejected": "پاسخ نامعتبر", "failed": "بی‌پاسخ",
             "deadline_missed": "بی‌پاسخ در مهلت مقرر", None: "استعلام نشده"}


class ReportError(EstelamError):
    """A report could not be produced (unknown case, empty warehouse)."""


@dataclass(frozen=True)
class CaseReport:
    case: dict[str, Any]
    assets: list[dict[str, Any]]
    events: list[dict[str, Any]]
    agencies: list[dict[str, Any]]
    generated_at: datetime


def _rows(con: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def default_case() -> str:
    """The open case with the most assets found: the most instructive one to show."""
    from estelam.warehouse import connect_read_only

    with connect_read_only() as con:
        row = con.execute(
            """
            select case_id from asset_report
            group by case_id, case_status
            order by case_status = 'open' desc, count(asset_ref) desc, max(frozen_rial) desc nulls last, case_id
            limit 1
            """
        ).fetchone()
    if row is None:
        raise ReportError("the warehouse has no cases yet: run the demo or the DAGs first")
    return str(row[0])


def load_case_report(case_id: str, *, now: datetime | None = None) -> CaseReport:
    from estelam.warehouse import connect_read_only

    with connect_read_only() as con:
        rows = _rows(con, "select * from asset_report where case_id = ? order by agency_id, asset_ref", [case_id])
        if not rows:
            raise ReportError(f"no case {case_id!r} in the warehouse")
        events = _rows(con, "select * from staging.stg_court__case_events where case_id = ? order by occurred_at",
                       [case_id])
        agencies = _rows(
            con,
            """
            select agency_id, agency_kind,
                   arg_max(status, requested_at) as status,
                   arg_max(reason, requested_at) as reason,
                   max(responded_at) filter (where status = 'answered') as last_answered_at
            from staging.stg_hub__inquiries where person_id = ?
            group by all order by agency_id
            """,
            [rows[0]["person_id"]],
        )
    now = now or datetime.now(UTC)
    for agency in agencies:
        answered = agency["last_answered_at"]
        agency["stale"] = answered is None or now - answered > STALE_AFTER
    assets = [r for r in rows if r["asset_ref"] is not None]
    return CaseReport(case=rows[0], assets=assets, events=events, agencies=agencies, generated_at=now)


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("estelam", "templates"), autoescape=select_autoescape(["html", "j2"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(rials=rials, solar_hijri=solar_hijri, fa=persian_digits,
                       asset_kind=lambda k: ASSET_KIND_FA.get(k, k or "—"),
                       event=lambda e: EVENT_FA.get(e, e), inquiry_status=lambda s: STATUS_FA.get(s, s),
                       percent=lambda r: "—" if r is None else persian_digits(f"{float(r) * 100:.1f}٪"))
    return env


def render_case_report(report: CaseReport) -> str:
    return _environment().get_template("asset_report.html.j2").render(report=report, stale_after=STALE_AFTER)


def write_case_report(case_id: str | None = None, out_dir: Path | None = None) -> Path:
    """Render one case's asset report as HTML under ``data/reports/``; returns its path."""
    case_id = case_id or default_case()
    out_dir = out_dir or settings.reports_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"asset_report-{case_id}.html"
    path.write_text(render_case_report(load_case_report(case_id)), encoding="utf-8")
    return path
