"""Per-case asset reports for enforcement judges: HTML and PDF, printable and signable.

The report reads only the warehouse: the ``asset_report`` mart (assets, freezes and their
acknowledgements, staleness), the ``case_timeline`` mart (court events, the hub's orders, the
agencies' acknowledgements) and the inquiry log (each agency's last answer, deadlines missed), so a
judge sees where data is stale or an agency did not answer.

Two languages and two jurisdictions:

========  ========================================================================================
``fa``    Persian labels, right to left
``en``    English labels, left to right, Latin digits; Gregorian dates with the local calendar in
          brackets
``ir``    Solar Hijri, Tehran time, rials, Persian digits (۱۲۳)
``sa``    Hijri Umm al-Qura, Riyadh time, riyals, Arabic-Indic digits (١٢٣)
========  ========================================================================================

Every date keeps its stored UTC instant underneath, in small print, so the paper is unambiguous.
The PDF (WeasyPrint) embeds Noto Naskh Arabic from Debian's fonts-noto-core.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from estelam.core import settings
from estelam.core.calendars import (
    RIYADH,
    TEHRAN,
    arabic_indic_digits,
    grouped,
    hijri,
    persian_digits,
    solar_hijri,
    utc_text,
)
from estelam.core.exceptions import ReportError
from estelam.core.identifiers import latin_digits

#: An agency whose last valid answer is older than this is marked stale in the report.
STALE_AFTER = timedelta(days=7)
LANGUAGES = ("fa", "en")
#: The decimal separator of Persian and Arabic-Indic numbers (U+066B).
PERSIAN_DECIMAL_SEPARATOR = "٫"
VARIANTS = ("ir", "sa")
TEMPLATE = "asset_report.html.j2"
#: Debian's fonts-noto-core: a Naskh face that shapes Persian and Arabic, embedded in the PDF.
NOTO_NASKH_DIR = Path("/usr/share/fonts/truetype/noto")
NOTO_NASKH_REGULAR = NOTO_NASKH_DIR / "NotoNaskhArabic-Regular.ttf"
NOTO_NASKH_BOLD = NOTO_NASKH_DIR / "NotoNaskhArabic-Bold.ttf"

ASSET_KIND = {
    "fa": {"bank_account": "حساب بانکی", "security_holding": "سهام", "vehicle": "خودرو", "property": "ملک"},
    "en": {"bank_account": "bank account", "security_holding": "securities", "vehicle": "vehicle",
           "property": "real estate"},
}
EVENT = {
    "fa": {"filed": "ثبت درخواست اجرا", "referred": "ارجاع", "notified": "ابلاغ اجراییه", "invoiced": "صدور صورتحساب",
           "paid": "پرداخت", "freeze_ordered": "دستور توقیف", "released": "رفع توقیف", "closed": "مختومه",
           "freeze_order_sent": "ارسال دستور توقیف", "release_order_sent": "ارسال دستور رفع توقیف",
           "order_acknowledged": "تأیید اجرای دستور", "absconded": "متواری", "payment_proved": "اثبات پرداخت"},
    "en": {"filed": "enforcement filed", "referred": "referred", "notified": "writ served", "invoiced": "invoiced",
           "paid": "paid", "freeze_ordered": "freeze ordered", "released": "released", "closed": "closed",
           "freeze_order_sent": "freeze order sent", "release_order_sent": "release order sent",
           "order_acknowledged": "order acknowledged", "absconded": "absconded", "payment_proved": "payment proved"},
}
STEP = {
    "fa": {"referral": "ارجاع", "notification": "ابلاغ", "invoice": "صورتحساب", "execution": "اجرا",
           "collection_and_payout": "وصول و پرداخت", "closure": "مختومه"},
    "en": {"referral": "referral", "notification": "notification", "invoice": "invoice", "execution": "execution",
           "collection_and_payout": "collection and payout", "closure": "closure"},
}
SOURCE = {"fa": {"court": "دادگاه", "hub": "سامانه", "agency": "نهاد"},
          "en": {"court": "court", "hub": "hub", "agency": "agency"}}
STATUS = {
    "fa": {"answered": "پاسخ داده", "rejected": "پاسخ نامعتبر", "failed": "بی‌پاسخ",
           "deadline_missed": "بی‌پاسخ در مهلت مقرر", None: "استعلام نشده"},
    "en": {"answered": "answered", "rejected": "answer rejected", "failed": "no answer",
           "deadline_missed": "no answer within the deadline", None: "not asked"},
}
ACK = {"fa": {"done": "انجام شد", "partial": "جزئی", "failed": "ناموفق", "pending": "در انتظار", "late": "با تأخیر"},
       "en": {"done": "done", "partial": "partial", "failed": "failed", "pending": "pending", "late": "late"}}
DETAIL = {"fa": {"electronic": "الکترونیکی", "paper": "کاغذی", "delivered": "تحویل شد"},
          "en": {"electronic": "electronic", "paper": "paper", "delivered": "delivered"}}

LABELS: dict[str, dict[str, str]] = {
    "fa": {
        "title": "گزارش دارایی‌های محکوم‌علیه", "subtitle": "پرونده اجرایی",
        "generated": "تهیه‌شده در", "times_note": "زمان‌ها به وقت {zone} نمایش داده شده و به UTC ذخیره شده‌اند",
        "case": "پرونده", "case_id": "شماره پرونده", "court": "شعبه اجرا", "debtor": "محکوم‌علیه",
        "person_id": "شناسه/کد ملی", "creditor": "محکوم‌له", "status": "وضعیت", "open": "باز", "closed": "مختومه",
        "filed_at": "تاریخ ثبت", "owed": "محکوم‌به", "paid": "پرداخت‌شده", "outstanding": "مانده",
        "frozen_total": "توقیف‌شده", "coverage": "پوشش", "last_event": "آخرین رویداد",
        "assets": "دارایی‌های شناسایی‌شده", "agency": "نهاد", "kind": "نوع", "asset_ref": "شناسه دارایی",
        "detail": "جزئیات", "value": "ارزش", "frozen": "توقیف‌شده", "planned": "برنامه توقیف",
        "learned_at": "تاریخ اطلاع", "no_assets": "هیچ دارایی‌ای برای محکوم‌علیه یافت نشد.",
        "protected": "حمایت‌شده، غیرقابل توقیف", "stale": "اطلاعات قدیمی",
        "freezes": "توقیف‌ها و تأیید نهادها", "ack_status": "وضعیت تأیید", "acknowledged_at": "تاریخ تأیید",
        "no_freezes": "هنوز دارایی‌ای توقیف نشده است.", "not_acknowledged": "تأیید نشده",
        "agencies": "نهادهای استعلام‌شده", "last_status": "آخرین وضعیت", "last_answer": "آخرین پاسخ معتبر",
        "missed": "عدم پاسخ در مهلت", "reason": "توضیح", "no_agencies": "هنوز از هیچ نهادی استعلام نشده است.",
        "stale_or_silent": "قدیمی یا بی‌پاسخ",
        "timeline": "روند پرونده", "seq": "ردیف", "date": "تاریخ", "step": "مرحله", "event": "رویداد",
        "source": "منبع", "amount": "مبلغ", "automated": "خودکار", "yes": "بله", "no": "خیر",
        "legend": "علامت ⚠ یعنی اطلاعات قدیمی‌تر از {days} روز است یا نهاد پاسخ نداده است؛"
                  " پیش از تصمیم، استعلام تازه شود.",
        "judge": "قاضی اجرای احکام", "signature": "امضا", "seal": "مهر دادگاه",
        "page": "صفحه",
    },
    "en": {
        "title": "Debtor's asset report", "subtitle": "Enforcement case",
        "generated": "Generated", "times_note": "times shown in {zone} time; stored in UTC",
        "case": "Case", "case_id": "Case number", "court": "Enforcement branch", "debtor": "Debtor",
        "person_id": "National / company id", "creditor": "Creditor", "status": "Status", "open": "open",
        "closed": "closed", "filed_at": "Filed", "owed": "Amount owed", "paid": "Paid", "outstanding": "Outstanding",
        "frozen_total": "Frozen", "coverage": "coverage", "last_event": "Last event",
        "assets": "Assets found", "agency": "Agency", "kind": "Kind", "asset_ref": "Asset id", "detail": "Detail",
        "value": "Value", "frozen": "Frozen", "planned": "Planned freeze", "learned_at": "Learned",
        "no_assets": "No assets were found for the debtor.", "protected": "protected, cannot be frozen",
        "stale": "stale data",
        "freezes": "Freezes and acknowledgements", "ack_status": "Acknowledgement",
        "acknowledged_at": "Acknowledged", "no_freezes": "Nothing is frozen yet.",
        "not_acknowledged": "not acknowledged",
        "agencies": "Agencies asked", "last_status": "Last state", "last_answer": "Last valid answer",
        "missed": "Deadlines missed", "reason": "Reason", "no_agencies": "No agency has been asked yet.",
        "stale_or_silent": "stale or no answer",
        "timeline": "Case timeline", "seq": "#", "date": "Date", "step": "Step", "event": "Event",
        "source": "Source", "amount": "Amount", "automated": "Automated", "yes": "yes", "no": "no",
        "legend": "⚠ marks data older than {days} days or an agency that did not answer: ask again before deciding.",
        "judge": "Enforcement judge", "signature": "Signature", "seal": "Court seal",
        "page": "Page",
    },
}


@dataclass(frozen=True)
class Jurisdiction:
    """How a jurisdiction writes dates, times and money."""

    code: str
    zone: ZoneInfo
    zone_name: dict[str, str]  # by language
    currency: dict[str, str]  # by language
    digits: str  # for grouped(): "fa" or "ar"
    local_digits: Callable[[object], str]
    local_date: Callable[..., str]  # (instant, with_time=) -> local calendar text, local digits
    calendar_name: str  # for the page's lang tag region and the English brackets
    region: str


JURISDICTIONS = {
    "ir": Jurisdiction("ir", TEHRAN, {"fa": "تهران", "en": "Tehran"}, {"fa": "ریال", "en": "IRR"}, "fa",
                       persian_digits, solar_hijri, "Solar Hijri", "IR"),
    "sa": Jurisdiction("sa", RIYADH, {"fa": "ریاض", "en": "Riyadh"}, {"fa": "ریال سعودی", "en": "SAR"}, "ar",
                       arabic_indic_digits, hijri, "Hijri (Umm al-Qura)", "SA"),
}


@dataclass(frozen=True)
class CaseReport:
    """Everything one case's report shows, read from the warehouse at ``generated_at``."""

    case: dict[str, Any]
    assets: list[dict[str, Any]]
    events: list[dict[str, Any]]  # the court's events (staging), kept for callers of the first version
    agencies: list[dict[str, Any]]
    generated_at: datetime
    timeline: list[dict[str, Any]] = field(default_factory=list)  # the case_timeline mart

    @property
    def frozen_assets(self) -> list[dict[str, Any]]:
        """Assets with money or goods frozen, or an order sent, for the freezes section."""
        return [a for a in self.assets if (a.get("frozen_rial") or 0) > 0 or a.get("last_ack_status")]


def _rows(con: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def default_case() -> str:
    """The open case with the most assets found: the most instructive one to show."""
    from estelam.warehouse.dbt_build import connect_read_only

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


def _agency_names() -> dict[str, dict[str, str]]:
    from estelam.contracts.registry import load_agency_registry

    return {i.agency_id: {"fa": i.name_fa or i.name, "en": i.name} for i in load_agency_registry().instances}


def load_case_report(case_id: str, *, now: datetime | None = None) -> CaseReport:
    """Read one case's report from the warehouse; ``ReportError`` if the case is not there."""
    from estelam.warehouse.dbt_build import connect_read_only

    with connect_read_only() as con:
        rows = _rows(con, "select * from asset_report where case_id = ? order by agency_id, asset_ref", [case_id])
        if not rows:
            raise ReportError(f"no case {case_id!r} in the warehouse")
        events = _rows(con, "select * from staging.stg_court__case_events where case_id = ? order by occurred_at",
                       [case_id])
        timeline = _rows(con, "select * from case_timeline where case_id = ? order by seq", [case_id])
        agencies = _rows(
            con,
            """
            select agency_id, agency_kind,
                   arg_max(status, requested_at) as status,
                   arg_max(reason, requested_at) as reason,
                   max(requested_at) as last_asked_at,
                   max(responded_at) filter (where status = 'answered') as last_answered_at,
                   count(*) filter (where status = 'deadline_missed') as deadlines_missed,
                   count(*) as inquiries
            from staging.stg_hub__inquiries where person_id = ?
            group by all order by agency_id
            """,
            [rows[0]["person_id"]],
        )
    now = now or datetime.now(UTC)
    names = _agency_names()
    for agency in agencies:
        answered = agency["last_answered_at"]
        agency["stale"] = answered is None or now - answered > STALE_AFTER
        agency["name"] = names.get(agency["agency_id"], {})
    assets = [r for r in rows if r["asset_ref"] is not None]
    for asset in assets:
        asset["name"] = names.get(asset["agency_id"], {})
    return CaseReport(case=rows[0], assets=assets, events=events, agencies=agencies, generated_at=now,
                      timeline=timeline)


def _check(lang: str, variant: str) -> Jurisdiction:
    if lang not in LANGUAGES:
        raise ReportError(f"unknown report language {lang!r}: one of {', '.join(LANGUAGES)}")
    if variant not in VARIANTS:
        raise ReportError(f"unknown report variant {variant!r}: one of {', '.join(VARIANTS)}")
    return JURISDICTIONS[variant]


def _formatters(lang: str, where: Jurisdiction) -> dict[str, Callable[..., Any]]:
    """The template's filters for one language and jurisdiction."""
    latin = lang == "en"

    def num(value: object) -> str:
        return "—" if value is None else str(value) if latin else where.local_digits(value)

    def money(amount: int | None) -> str:
        return grouped(amount, digits="latin" if latin else where.digits)

    def when_text(instant: datetime | None, with_time: bool = True) -> str:
        if instant is None:
            return "—"
        if not latin:
            return str(where.local_date(instant, with_time=with_time))
        local = instant.astimezone(where.zone)
        text = f"{local:%Y-%m-%d %H:%M}" if with_time else f"{local:%Y-%m-%d}"
        local_calendar = latin_digits(where.local_date(instant, with_time=False))
        return f"{text} ({local_calendar})"

    def when(instant: datetime | None, with_time: bool = True) -> Markup:
        """A local date with its UTC instant underneath (title for screens, small print for paper)."""
        if instant is None:
            return Markup("—")
        utc = utc_text(instant)
        return Markup('<time datetime="{iso}" title="{utc}">{local}</time><span class="utc">{utc}</span>').format(
            iso=instant.astimezone(UTC).isoformat(), utc=utc, local=when_text(instant, with_time))

    def percent(ratio: object) -> str:
        if ratio is None:
            return "—"
        text = f"{float(str(ratio)) * 100:.1f}"
        return f"{text}%" if latin else num(text.replace(".", PERSIAN_DECIMAL_SEPARATOR)) + "٪"

    def agency(row: dict[str, Any]) -> Markup:
        name = row.get("name", {}).get(lang) or row["agency_id"]
        return Markup('{name}<span class="utc">{id}</span>').format(name=name, id=row["agency_id"])

    def lookup(table: dict[str, dict[Any, str]]) -> Callable[[Any], str]:
        return lambda key: "—" if key is None and None not in table[lang] else table[lang].get(key, str(key))

    return {"num": num, "money": money, "when": when, "when_text": when_text, "percent": percent,
            "agency": agency, "asset_kind": lookup(ASSET_KIND), "event": lookup(EVENT), "step": lookup(STEP),
            "source": lookup(SOURCE), "inquiry_status": lookup(STATUS), "ack": lookup(ACK),
            "detail": lookup({k: DETAIL[k] | ACK[k] for k in DETAIL}), "utc": utc_text}


def _environment() -> Environment:
    return Environment(loader=PackageLoader("estelam.reporting", "templates"),
                       autoescape=select_autoescape(["html", "j2"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_case_report(report: CaseReport, lang: str = "fa", variant: str = "ir") -> str:
    """The report as a standalone HTML page (``lang`` fa or en, ``variant`` ir or sa)."""
    where = _check(lang, variant)
    env = _environment()
    env.filters.update(_formatters(lang, where))
    labels = LABELS[lang]

    def label(key: str, **values: object) -> str:
        return labels[key].format(**values)

    return env.get_template(TEMPLATE).render(
        report=report, t=label, lang=lang, dir="rtl" if lang == "fa" else "ltr",
        lang_tag=f"{lang}-{where.region}", currency=where.currency[lang], zone=where.zone_name[lang],
        stale_days=escape(_days(lang, where)), font_regular=NOTO_NASKH_REGULAR.as_uri(),
        font_bold=NOTO_NASKH_BOLD.as_uri(), counter_style="decimal" if lang == "en" else (
            "persian" if where.digits == "fa" else "arabic-indic"),
    )


def _days(lang: str, where: Jurisdiction) -> str:
    days = str(STALE_AFTER.days)
    return days if lang == "en" else where.local_digits(days)


def render_case_report_pdf(report: CaseReport, lang: str = "fa", variant: str = "ir") -> bytes:
    """The report as a printable A4 PDF with Noto Naskh Arabic embedded."""
    from weasyprint import HTML

    html = render_case_report(report, lang=lang, variant=variant)
    pdf: bytes = HTML(string=html, base_url=str(NOTO_NASKH_DIR)).write_pdf()
    return pdf


def write_case_report(case_id: str | None = None, out_dir: Path | None = None) -> Path:
    """Render one case's asset report under ``data/reports/``: HTML (returned) and the PDF beside it."""
    case_id = case_id or default_case()
    out_dir = out_dir or settings.reports_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    report = load_case_report(case_id)
    path = out_dir / f"asset_report-{case_id}.html"
    path.write_text(render_case_report(report), encoding="utf-8")
    path.with_suffix(".pdf").write_bytes(render_case_report_pdf(report))
    return path
