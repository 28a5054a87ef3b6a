"""Labels in Persian (default) and English, and numbers formatted for the reader."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pandas as pd

from estelam.core.calendars import persian_digits, solar_hijri, solar_hijri_date

FA, EN = "fa", "en"

LABELS: dict[str, tuple[str, str]] = {
    "title": ("داشبورد شاخص‌های اجرای احکام", "Enforcement KPI dashboard"),
    "language": ("زبان", "Language"),
    "page": ("صفحه", "Page"),
    "overview": ("نمای کلی", "Overview"),
    "inquiries": ("استعلام‌ها", "Inquiries"),
    "compliance": ("پایبندی به مهلت", "Compliance"),
    "freezes": ("توقیف‌ها", "Freezes"),
    "flow": ("روند اجرا", "Enforcement flow"),
    "filters": ("فیلترها", "Filters"),
    "date_range": ("بازه زمانی", "Date range"),
    "agency": ("نهاد", "Agency"),
    "agency_kind": ("نوع نهاد", "Agency kind"),
    "agency_kind_bank": ("بانک", "Bank"),
    "agency_kind_land_registry": ("ثبت اسناد و املاک", "Land registry"),
    "agency_kind_securities_depository": ("سپرده‌گذاری مرکزی اوراق بهادار", "Securities depository"),
    "agency_kind_vehicle_registry": ("راهور (ثبت خودرو)", "Vehicle registry"),
    "court": ("شعبه", "Court"),
    "download": ("دریافت CSV", "Download CSV"),
    "no_data": ("داده‌ای برای این فیلترها نیست.", "No data for these filters."),
    "not_published": ("هنوز شاخصی منتشر نشده است: ابتدا انبار داده را بسازید (make demo).",
                      "No KPIs published yet: build the warehouse first (make demo)."),
    "published_at": ("آخرین انتشار", "Last published"),
    "suppressed_note": ("اعداد کمتر از {k} برای حفظ حریم خصوصی نمایش داده نمی‌شوند.",
                        "Counts below {k} are suppressed to protect privacy."),
    "not_split": ("این نمودار بر اساس «{dim}» تفکیک نشده است.", "This chart is not split by {dim}."),
    "inquiries_sent": ("استعلام ارسالی", "Inquiries sent"),
    "answered": ("پاسخ داده", "Answered"),
    "rejected": ("پاسخ نامعتبر", "Rejected"),
    "failed": ("بی‌پاسخ", "Failed"),
    "deadline_missed": ("خارج از مهلت", "Deadline missed"),
    "answered_share": ("سهم پاسخ", "Answered share"),
    "assets_found": ("دارایی یافت‌شده", "Assets found"),
    "response_ms_p50": ("میانه زمان پاسخ (ms)", "Median response (ms)"),
    "response_ms_p95": ("صدک ۹۵ زمان پاسخ (ms)", "p95 response (ms)"),
    "day": ("روز", "Day"),
    "month": ("ماه", "Month"),
    "agency_id": ("نهاد", "Agency"),
    "volume_over_time": ("حجم استعلام در طول زمان", "Inquiry volume over time"),
    "response_distribution": ("توزیع زمان پاسخ هر نهاد", "Response time per agency"),
    "scoreboard": ("رتبه‌بندی نهادها بر اساس درخواست‌های بی‌پاسخ و دیرکرد",
                   "Agencies ranked by unanswered and late requests"),
    "request_kind": ("نوع درخواست", "Request kind"),
    "requests": ("درخواست", "Requests"),
    "on_time": ("به‌موقع", "On time"),
    "late": ("با تأخیر", "Late"),
    "unanswered": ("بی‌پاسخ", "Unanswered"),
    "pending": ("در انتظار", "Pending"),
    "compliance_share": ("سهم به‌موقع", "On-time share"),
    "freeze_orders": ("دستور توقیف", "Freeze orders"),
    "release_orders": ("دستور رفع توقیف", "Release orders"),
    "ack_seconds_p50": ("میانه زمان تأیید (ثانیه)", "Median time to acknowledge (s)"),
    "ack_seconds_p95": ("صدک ۹۵ زمان تأیید (ثانیه)", "p95 time to acknowledge (s)"),
    "frozen_rial": ("مبلغ توقیف‌شده (ریال)", "Frozen (rials)"),
    "over_blocked_rial": ("توقیف مازاد بر بدهی (ریال)", "Blocked beyond the debt (rials)"),
    "idle_blocked_rial": ("توقیف بدون اقدام (ریال)", "Blocked with no action (rials)"),
    "orders_acknowledged": ("دستور تأییدشده", "Orders acknowledged"),
    "orders_unacknowledged": ("دستور بی‌پاسخ", "Orders unacknowledged"),
    "idle_blocked_assets": ("دارایی توقیف‌شده بدون اقدام", "Assets blocked with no action"),
    "agency_kinds": ("انواع نهاد", "Agency kinds"),
    "inquiries_count": ("استعلام", "Inquiries"),
    "responses": ("پاسخ", "Responses"),
    "response_ms_avg": ("میانگین زمان پاسخ (ms)", "Mean response (ms)"),
    "response_ms_p99": ("صدک ۹۹ زمان پاسخ (ms)", "p99 response (ms)"),
    "response_ms_max": ("کندترین پاسخ (ms)", "Slowest response (ms)"),
    "reply_deadline_s": ("مهلت پاسخ (ثانیه)", "Reply deadline (s)"),
    "within_deadline_share": ("سهم پاسخ در مهلت", "Share within deadline"),
    "first_requested_at": ("نخستین استعلام", "First inquiry"),
    "last_requested_at": ("آخرین استعلام", "Last inquiry"),
    "oldest_unanswered_sent_at": ("قدیمی‌ترین درخواست بی‌پاسخ", "Oldest unanswered request"),
    "step_no": ("شماره مرحله", "Step no."),
    "automated": ("خودکار", "Automated"),
    "hours_avg": ("میانگین مدت (ساعت)", "Mean hours"),
    "electronic": ("الکترونیکی", "Electronic"),
    "paper": ("کاغذی", "Paper"),
    "filed_month": ("ماه ثبت", "Month filed"),
    "court_code": ("شعبه", "Court"),
    "answered_late": ("پاسخ دیرهنگام", "Answered late"),
    "attempts": ("تلاش", "Attempts"),
    "step": ("مرحله", "Step"),
    "cases_reached": ("پرونده‌ها", "Cases"),
    "automated_share": ("سهم خودکار", "Automated share"),
    "hours_p50": ("میانه مدت (ساعت)", "Median hours"),
    "hours_p95": ("صدک ۹۵ مدت (ساعت)", "p95 hours"),
    "electronic_share": ("سهم ابلاغ الکترونیکی", "Electronic notice share"),
    "notices": ("ابلاغ", "Notices"),
    "change": ("تغییر نسبت به دوره قبل", "change vs previous period"),
    "headline_inquiries": ("استعلام‌ها در دوره", "Inquiries in period"),
    "headline_answered_share": ("سهم پاسخ‌داده", "Answered share"),
    "headline_e_notice": ("ابلاغ الکترونیکی", "Served electronically"),
    "headline_over_blocked": ("توقیف مازاد", "Blocked beyond debt"),
    "headline_closed": ("پرونده‌های مختومه", "Requests closed"),
    # the Alerts page
    "alerts": ("هشدارها", "Alerts"),
    "no_alerts": ("هشداری ثبت نشده است.", "No alerts recorded."),
    "alerts_count": ("{n} هشدار، تازه‌ترین در بالا", "{n} alerts, newest first"),
    "alerts_note": ("هر هشدار یک بار ثبت و یک بار با رایانامه و وب‌هوک برای متصدیان فرستاده می‌شود.",
                    "Each alert is recorded once and sent to the operators once by e-mail and webhook."),
    "raised_at": ("زمان", "Raised"),
    "alert_kind": ("نوع هشدار", "Kind"),
    "choose": ("انتخاب کنید", "Choose"),
    "severity": ("شدت", "Severity"),
    "case": ("پرونده", "Case"),
    "email": ("رایانامه", "E-mail"),
    "webhook": ("وب‌هوک", "Webhook"),
    "alert_subject": ("شرح", "What happened"),
    "kind_task_failed": ("شکست یک کار زمان‌بندی‌شده", "Scheduled task failed"),
    "kind_agency_deadline_missed": ("گذشتن مهلت پاسخ نهاد", "Agency past its reply deadline"),
    "kind_breaker_open": ("قطع تماس با نهاد (مدارشکن باز)", "Circuit breaker open"),
    "kind_frozen_beyond_debt": ("توقیف مازاد بر بدهی", "Frozen beyond the debt"),
    "kind_audit_verification_failed": ("خدشه در یکپارچگی سوابق", "Audit verification failed"),
    "kind_anomaly": ("جست‌وجوی غیرعادی کاربر", "Unusual lookups"),
    "severity_critical": ("بحرانی", "Critical"),
    "severity_warning": ("اخطار", "Warning"),
    "severity_info": ("اطلاع", "Info"),
    "state_queued": ("در صف", "Queued"),
    "state_sent": ("فرستاده شد", "Sent"),
    "state_delivered": ("تحویل شد", "Delivered"),
    "state_failed": ("ناموفق", "Failed"),
}

STEP_NAMES: dict[str, tuple[str, str]] = {
    "referral": ("ارجاع", "Referral"),
    "notification": ("ابلاغ", "Notification"),
    "invoice": ("صورتحساب", "Invoice"),
    "execution": ("اجرا", "Execution"),
    "collection_and_payout": ("وصول و پرداخت", "Collection and payout"),
    "closure": ("مختومه", "Closure"),
    "whole_request": ("کل درخواست", "Whole request"),
}


def _mapped_kind_label(key: str) -> tuple[str, str] | None:
    """A kind declared by a mapping file (``contracts/kinds/``) is labelled by its mapping's title."""
    if not key.startswith("agency_kind_"):
        return None
    from estelam.core import settings
    from estelam.core.kinds import mappings_in

    try:
        for kind, mapping in mappings_in(settings.contracts_dir() / "kinds").items():
            if str(kind) == key.removeprefix("agency_kind_") and mapping.facts is not None:
                return mapping.facts.title["fa"], mapping.facts.title["en"]
    except Exception:  # noqa: BLE001 - a label must never break a page: the key is shown instead
        return None
    return None


def t(key: str, lang: str, **values: object) -> str:
    """The label for ``key`` in ``lang`` (the key itself when there is none)."""
    fa, en = LABELS.get(key) or _mapped_kind_label(key) or (key, key)
    text = fa if lang == FA else en
    return text.format(**values) if values else text


def number(value: float | int | None, lang: str, *, decimals: int = 0) -> str:
    """Grouped by thousands; Persian digits and separator in Persian."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:,.{decimals}f}"
    return persian_digits(text.replace(",", "٬").replace(".", "٫")) if lang == FA else text


def cell(value: object, lang: str) -> str:
    """One table cell for reading: numbers grouped (shares as percent), missing or suppressed as a dash."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return number(value, lang, decimals=0 if float(value).is_integer() else 2)
    if isinstance(value, datetime) and value.tzinfo is not None:  # an instant: shown in Tehran time
        return solar_hijri(value) if lang == FA else f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    if isinstance(value, date):  # a calendar day (DuckDB DATE arrives as a naive timestamp)
        day = value.date() if isinstance(value, datetime) else value
        return solar_hijri_date(day) if lang == FA else day.isoformat()
    return str(value)


def readable(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A table for reading (not for download): shares as percent, numbers and dates in the reader's form."""
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        if column.endswith("_share"):
            out[t(column, lang)] = [percent(None if pd.isna(v) else float(v), lang) for v in frame[column]]
        else:
            out[t(column, lang)] = [cell(v, lang) for v in frame[column]]
    return out


def percent(share: float | None, lang: str) -> str:
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "—"
    text = f"{share * 100:.1f}%"
    return persian_digits(text.replace(".", "٫").replace("%", "٪")) if lang == FA else text
