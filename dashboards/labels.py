"""Labels in Persian, Arabic and English, and numbers, money and dates formatted for the reader.

Persian reads Persian digits and Solar Hijri dates (Tehran time); Arabic reads Arabic-Indic digits and Umm al-Qura
dates (Riyadh time); both use the Arabic separators (٬ ٫ ٪) and run right to left. English reads Latin digits and
Gregorian dates in UTC. Money is kept in the jurisdiction's minor unit and shown in its major unit.
"""

from __future__ import annotations

import math
import numbers
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pandas as pd

from estelam.core.calendars import (
    ARABIC_DECIMAL_SEPARATOR,
    ARABIC_THOUSANDS_SEPARATOR,
    arabic_indic_digits,
    grouped,
    hijri,
    hijri_date,
    persian_digits,
    solar_hijri,
    solar_hijri_date,
)
from estelam.core.identifiers import latin_digits
from estelam.core.jurisdiction import Currency, Profile, current_profile

FA, AR, EN = "fa", "ar", "en"
#: The languages the dashboard speaks, in the order the language chooser offers them.
LANGUAGES = (FA, AR, EN)
#: Each language by its own name, for the chooser.
LANGUAGE_NAMES = {FA: "فارسی", AR: "العربية", EN: "English"}
RIGHT_TO_LEFT = frozenset({FA, AR})
#: Columns holding money end with this; their values are integers in the jurisdiction's minor unit.
MONEY_SUFFIX = "_rial"
_PERCENT_SIGN = "٪"


class Label(NamedTuple):
    """One text in each language."""

    fa: str
    ar: str
    en: str


LABELS: dict[str, Label] = {
    "title": Label("داشبورد شاخص‌های اجرای احکام", "لوحة مؤشرات أداء التنفيذ", "Enforcement KPI dashboard"),
    "language": Label("زبان", "اللغة", "Language"),
    "page": Label("صفحه", "الصفحة", "Page"),
    "overview": Label("نمای کلی", "نظرة عامة", "Overview"),
    "inquiries": Label("استعلام‌ها", "الاستعلامات", "Inquiries"),
    "compliance": Label("پایبندی به مهلت", "الالتزام بالمهل", "Compliance"),
    "freezes": Label("توقیف‌ها", "الحجوزات", "Freezes"),
    "flow": Label("روند اجرا", "مسار التنفيذ", "Enforcement flow"),
    "filters": Label("فیلترها", "عوامل التصفية", "Filters"),
    "date_range": Label("بازه زمانی", "الفترة الزمنية", "Date range"),
    "agency": Label("نهاد", "الجهة", "Agency"),
    "agency_kind": Label("نوع نهاد", "نوع الجهة", "Agency kind"),
    "agency_kind_bank": Label("بانک", "بنك", "Bank"),
    "agency_kind_land_registry": Label("ثبت اسناد و املاک", "السجل العقاري", "Land registry"),
    "agency_kind_securities_depository": Label("سپرده‌گذاری مرکزی اوراق بهادار", "مركز إيداع الأوراق المالية",
                                               "Securities depository"),
    "agency_kind_vehicle_registry": Label("راهور (ثبت خودرو)", "المرور (سجل المركبات)", "Vehicle registry"),
    "court": Label("شعبه", "دائرة التنفيذ", "Court"),
    "download": Label("دریافت CSV", "تنزيل CSV", "Download CSV"),
    "no_data": Label("داده‌ای برای این فیلترها نیست.", "لا توجد بيانات لعوامل التصفية هذه.",
                     "No data for these filters."),
    "not_published": Label("هنوز شاخصی منتشر نشده است: ابتدا انبار داده را بسازید (make demo).",
                           "لم تُنشر أي مؤشرات بعد: ابنِ مستودع البيانات أولاً (make demo).",
                           "No KPIs published yet: build the warehouse first (make demo)."),
    "published_at": Label("آخرین انتشار", "آخر نشر", "Last published"),
    "suppressed_note": Label("اعداد کمتر از {k} برای حفظ حریم خصوصی نمایش داده نمی‌شوند.",
                             "لا تُعرض الأعداد التي تقل عن {k} حمايةً للخصوصية.",
                             "Counts below {k} are suppressed to protect privacy."),
    "not_split": Label("این نمودار بر اساس «{dim}» تفکیک نشده است.", "هذا الرسم غير مفصّل حسب «{dim}».",
                       "This chart is not split by {dim}."),
    "inquiries_sent": Label("استعلام ارسالی", "الاستعلامات المرسلة", "Inquiries sent"),
    "answered": Label("پاسخ داده", "المُجاب عنها", "Answered"),
    "rejected": Label("پاسخ نامعتبر", "إجابات غير صالحة", "Rejected"),
    "failed": Label("بی‌پاسخ", "بلا إجابة", "Failed"),
    "deadline_missed": Label("خارج از مهلت", "خارج المهلة", "Deadline missed"),
    "answered_share": Label("سهم پاسخ", "نسبة الإجابة", "Answered share"),
    "assets_found": Label("دارایی یافت‌شده", "الأصول المكتشفة", "Assets found"),
    "response_ms_p50": Label("میانه زمان پاسخ (ms)", "وسيط زمن الإجابة (ملّي ثانية)", "Median response (ms)"),
    "response_ms_p95": Label("صدک ۹۵ زمان پاسخ (ms)", "المئين ٩٥ لزمن الإجابة (ملّي ثانية)", "p95 response (ms)"),
    "day": Label("روز", "اليوم", "Day"),
    "month": Label("ماه", "الشهر", "Month"),
    "agency_id": Label("نهاد", "الجهة", "Agency"),
    "volume_over_time": Label("حجم استعلام در طول زمان", "حجم الاستعلامات عبر الزمن", "Inquiry volume over time"),
    "response_distribution": Label("توزیع زمان پاسخ هر نهاد", "زمن الإجابة لكل جهة", "Response time per agency"),
    "scoreboard": Label("رتبه‌بندی نهادها بر اساس درخواست‌های بی‌پاسخ و دیرکرد",
                        "ترتيب الجهات حسب الطلبات التي لم يُجب عنها والمتأخرة",
                        "Agencies ranked by unanswered and late requests"),
    "request_kind": Label("نوع درخواست", "نوع الطلب", "Request kind"),
    "requests": Label("درخواست", "الطلبات", "Requests"),
    "measure": Label("شاخص", "المؤشر", "Measure"),
    "value": Label("مقدار", "القيمة", "Value"),
    "on_time": Label("به‌موقع", "في المهلة", "On time"),
    "late": Label("با تأخیر", "متأخرة", "Late"),
    "unanswered": Label("بی‌پاسخ", "بلا إجابة", "Unanswered"),
    "pending": Label("در انتظار", "قيد الانتظار", "Pending"),
    "compliance_share": Label("سهم به‌موقع", "نسبة الالتزام بالمهلة", "On-time share"),
    "freeze_orders": Label("دستور توقیف", "أوامر الحجز", "Freeze orders"),
    "release_orders": Label("دستور رفع توقیف", "أوامر رفع الحجز", "Release orders"),
    "transfer_orders": Label("دستور انتقال به حساب دادگستری", "أوامر التحويل إلى حساب المحكمة", "Transfer orders"),
    "payout_orders": Label("دستور پرداخت به محکوم‌له", "أوامر الصرف لطالب التنفيذ", "Payout orders"),
    "cancel_orders": Label("دستور لغو", "أوامر الإلغاء", "Cancel orders"),
    "ack_seconds_p50": Label("میانه زمان تأیید (ثانیه)", "وسيط زمن التأكيد (ثانية)", "Median time to acknowledge (s)"),
    "ack_seconds_p95": Label("صدک ۹۵ زمان تأیید (ثانیه)", "المئين ٩٥ لزمن التأكيد (ثانية)",
                             "p95 time to acknowledge (s)"),
    # money: {currency} is the jurisdiction's currency in the reader's language (the amounts are in its major unit)
    "paid_out_rial": Label("پرداخت‌شده به محکوم‌له ({currency})", "المصروف لطالب التنفيذ ({currency})",
                           "Paid out to creditors ({currency})"),
    "frozen_rial": Label("مبلغ توقیف‌شده ({currency})", "المبلغ المحجوز ({currency})", "Frozen ({currency})"),
    "over_blocked_rial": Label("توقیف مازاد بر بدهی ({currency})", "المحجوز زيادةً على الدين ({currency})",
                               "Blocked beyond the debt ({currency})"),
    "idle_blocked_rial": Label("توقیف بدون اقدام ({currency})", "المحجوز دون أي إجراء ({currency})",
                               "Blocked with no action ({currency})"),
    "orders_acknowledged": Label("دستور تأییدشده", "الأوامر المؤكَّدة", "Orders acknowledged"),
    "orders_unacknowledged": Label("دستور بی‌پاسخ", "الأوامر غير المؤكَّدة", "Orders unacknowledged"),
    "idle_blocked_assets": Label("دارایی توقیف‌شده بدون اقدام", "الأصول المحجوزة دون أي إجراء",
                                 "Assets blocked with no action"),
    "agency_kinds": Label("انواع نهاد", "أنواع الجهات", "Agency kinds"),
    "inquiries_count": Label("استعلام", "الاستعلامات", "Inquiries"),
    "responses": Label("پاسخ", "الإجابات", "Responses"),
    "response_ms_avg": Label("میانگین زمان پاسخ (ms)", "متوسط زمن الإجابة (ملّي ثانية)", "Mean response (ms)"),
    "response_ms_p99": Label("صدک ۹۹ زمان پاسخ (ms)", "المئين ٩٩ لزمن الإجابة (ملّي ثانية)", "p99 response (ms)"),
    "response_ms_max": Label("کندترین پاسخ (ms)", "أبطأ إجابة (ملّي ثانية)", "Slowest response (ms)"),
    "reply_deadline_s": Label("مهلت پاسخ (ثانیه)", "مهلة الإجابة (ثانية)", "Reply deadline (s)"),
    "within_deadline_share": Label("سهم پاسخ در مهلت", "نسبة الإجابة في المهلة", "Share within deadline"),
    "first_requested_at": Label("نخستین استعلام", "أول استعلام", "First inquiry"),
    "last_requested_at": Label("آخرین استعلام", "آخر استعلام", "Last inquiry"),
    "oldest_unanswered_sent_at": Label("قدیمی‌ترین درخواست بی‌پاسخ", "أقدم طلب بلا إجابة", "Oldest unanswered request"),
    "step_no": Label("شماره مرحله", "رقم المرحلة", "Step no."),
    "automated": Label("خودکار", "آلي", "Automated"),
    "hours_avg": Label("میانگین مدت (ساعت)", "متوسط المدة (ساعة)", "Mean hours"),
    "electronic": Label("الکترونیکی", "إلكتروني", "Electronic"),
    "paper": Label("کاغذی", "ورقي", "Paper"),
    "filed_month": Label("ماه ثبت", "شهر التقديم", "Month filed"),
    "court_code": Label("شعبه", "دائرة التنفيذ", "Court"),
    "answered_late": Label("پاسخ دیرهنگام", "إجابات متأخرة", "Answered late"),
    "attempts": Label("تلاش", "المحاولات", "Attempts"),
    "step": Label("مرحله", "المرحلة", "Step"),
    "cases_reached": Label("پرونده‌ها", "الملفات", "Cases"),
    "automated_share": Label("سهم خودکار", "نسبة الإنجاز الآلي", "Automated share"),
    "hours_p50": Label("میانه مدت (ساعت)", "وسيط المدة (ساعة)", "Median hours"),
    "hours_p95": Label("صدک ۹۵ مدت (ساعت)", "المئين ٩٥ للمدة (ساعة)", "p95 hours"),
    "electronic_share": Label("سهم ابلاغ الکترونیکی", "نسبة التبليغ الإلكتروني", "Electronic notice share"),
    "notices": Label("ابلاغ", "التبليغات", "Notices"),
    "change": Label("تغییر نسبت به دوره قبل", "التغيّر عن الفترة السابقة", "change vs previous period"),
    "headline_inquiries": Label("استعلام‌ها در دوره", "الاستعلامات في الفترة", "Inquiries in period"),
    "headline_answered_share": Label("سهم پاسخ‌داده", "نسبة المُجاب عنها", "Answered share"),
    "headline_e_notice": Label("ابلاغ الکترونیکی", "التبليغ الإلكتروني", "Served electronically"),
    "headline_over_blocked": Label("توقیف مازاد ({currency})", "الحجز الزائد ({currency})",
                                   "Blocked beyond debt ({currency})"),
    "headline_closed": Label("پرونده‌های مختومه", "طلبات التنفيذ المغلقة", "Requests closed"),
    # the Alerts page
    "alerts": Label("هشدارها", "التنبيهات", "Alerts"),
    "no_alerts": Label("هشداری ثبت نشده است.", "لم يُسجَّل أي تنبيه.", "No alerts recorded."),
    "alerts_count": Label("{n} هشدار، تازه‌ترین در بالا", "{n} تنبيه، الأحدث أولاً", "{n} alerts, newest first"),
    "alerts_note": Label("هر هشدار یک بار ثبت و یک بار با رایانامه و وب‌هوک برای متصدیان فرستاده می‌شود.",
                         "يُسجَّل كل تنبيه مرة واحدة ويُرسَل إلى المشغّلين مرة واحدة بالبريد الإلكتروني وخطاف الويب.",
                         "Each alert is recorded once and sent to the operators once by e-mail and webhook."),
    "raised_at": Label("زمان", "الوقت", "Raised"),
    "alert_kind": Label("نوع هشدار", "نوع التنبيه", "Kind"),
    "choose": Label("انتخاب کنید", "اختر", "Choose"),
    "severity": Label("شدت", "الخطورة", "Severity"),
    "case": Label("پرونده", "الملف", "Case"),
    "email": Label("رایانامه", "البريد الإلكتروني", "E-mail"),
    "webhook": Label("وب‌هوک", "خطاف الويب", "Webhook"),
    "alert_subject": Label("شرح", "الوصف", "What happened"),
    "kind_task_failed": Label("شکست یک کار زمان‌بندی‌شده", "إخفاق مهمة مجدولة", "Scheduled task failed"),
    "kind_agency_deadline_missed": Label("گذشتن مهلت پاسخ نهاد", "تجاوز الجهة مهلة الإجابة",
                                         "Agency past its reply deadline"),
    "kind_breaker_open": Label("قطع تماس با نهاد (مدارشکن باز)", "انقطاع الاتصال بالجهة (قاطع الدائرة مفتوح)",
                               "Circuit breaker open"),
    "kind_frozen_beyond_debt": Label("توقیف مازاد بر بدهی", "حجز يتجاوز الدين", "Frozen beyond the debt"),
    "kind_audit_verification_failed": Label("خدشه در یکپارچگی سوابق", "إخفاق التحقق من سلامة السجلات",
                                            "Audit verification failed"),
    "kind_anomaly": Label("جست‌وجوی غیرعادی کاربر", "استعلامات غير معتادة من مستخدم", "Unusual lookups"),
    "severity_critical": Label("بحرانی", "حرج", "Critical"),
    "severity_warning": Label("اخطار", "تحذير", "Warning"),
    "severity_info": Label("اطلاع", "للعلم", "Info"),
    "state_queued": Label("در صف", "في قائمة الانتظار", "Queued"),
    "state_sent": Label("فرستاده شد", "أُرسل", "Sent"),
    "state_delivered": Label("تحویل شد", "سُلِّم", "Delivered"),
    "state_failed": Label("ناموفق", "أخفق", "Failed"),
}

#: The steps of an enforcement request (``kpi_enforcement_steps.step``) in each language.
STEP_NAMES: dict[str, Label] = {
    "referral": Label("ارجاع", "الإحالة", "Referral"),
    "notification": Label("ابلاغ", "التبليغ", "Notification"),
    "invoice": Label("صورتحساب", "إصدار الفاتورة", "Invoice"),
    "execution": Label("اجرا", "إجراءات التنفيذ", "Execution"),
    "collection_and_payout": Label("وصول و پرداخت", "التحصيل والصرف", "Collection and payout"),
    "closure": Label("مختومه", "الإغلاق", "Closure"),
    "whole_request": Label("کل درخواست", "الطلب كاملاً", "Whole request"),
}


def _mapped_kind_label(key: str) -> Label | None:
    """A kind declared by a mapping file (``contracts/kinds/``) is labelled by its mapping's title."""
    if not key.startswith("agency_kind_"):
        return None
    from estelam.core import settings
    from estelam.core.kinds import mappings_in

    try:
        for kind, mapping in mappings_in(settings.contracts_dir() / "kinds").items():
            if str(kind) == key.removeprefix("agency_kind_") and mapping.facts is not None:
                title = mapping.facts.title
                return Label(title["fa"], title.get("ar") or title["en"], title["en"])
    except Exception:  # noqa: BLE001 - a label must never break a page: the key is shown instead
        return None
    return None


def check_language(lang: str) -> str:
    """``lang`` when the dashboard speaks it; ValueError naming the languages it does speak otherwise."""
    if lang not in LANGUAGES:
        raise ValueError(f"the dashboard speaks {', '.join(LANGUAGES)}, not {lang!r}")
    return lang


def default_language(profile: Profile | None = None) -> str:
    """The language a reader sees first: the deployment profile's (``fa`` for ``ir``, ``ar`` for ``sa``)."""
    language = (profile or current_profile()).language
    if language not in LANGUAGES:
        raise ValueError(f"the jurisdiction profile's language {language!r} has no dashboard labels "
                         f"(the dashboard speaks {', '.join(LANGUAGES)})")
    return language


def _text(label: Label, lang: str) -> str:
    return str(getattr(label, check_language(lang)))


def currency_name(currency: Currency, lang: str) -> str:
    """The currency's name in ``lang`` as the profile spells it (its ISO code when the profile has none)."""
    return currency.name(check_language(lang))


def t(key: str, lang: str, **values: object) -> str:
    """The label for ``key`` in ``lang`` (the key itself when there is none). A label naming ``{currency}`` gets
    the deployment's currency unless ``currency`` is given."""
    label = LABELS.get(key) or _mapped_kind_label(key)
    text = key if label is None else _text(label, lang)
    if "{currency}" in text and "currency" not in values:
        values["currency"] = currency_name(current_profile().currency, lang)
    return text.format(**values) if values else text


def step_name(step: str, lang: str) -> str:
    """An enforcement step (``kpi_enforcement_steps.step``) by its name in ``lang`` (its code when unknown)."""
    label = STEP_NAMES.get(step)
    return step if label is None else _text(label, lang)


def digits(text: object, lang: str) -> str:
    """Latin digits as the reader writes them: Persian in Persian, Arabic-Indic in Arabic, Latin in English."""
    if check_language(lang) == FA:
        return persian_digits(text)
    return arabic_indic_digits(text) if lang == AR else str(text)


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def number(value: float | int | None, lang: str, *, decimals: int = 0) -> str:
    """Grouped by thousands; in Persian and Arabic with the reader's digits and the Arabic separators (٬ ٫)."""
    if _missing(value):
        return "—"
    text = f"{value:,.{decimals}f}"
    if check_language(lang) == EN:
        return text
    return digits(text.replace(",", ARABIC_THOUSANDS_SEPARATOR).replace(".", ARABIC_DECIMAL_SEPARATOR), lang)


def percent(share: float | None, lang: str) -> str:
    """A share (0.453) as a percent with one decimal (45.3%, or ٤٥٫٣٪ in Arabic)."""
    if share is None or _missing(share):
        return "—"
    text = f"{share * 100:.1f}%"
    if check_language(lang) == EN:
        return text
    return digits(text.replace(".", ARABIC_DECIMAL_SEPARATOR).replace("%", _PERCENT_SIGN), lang)


def minor_units(value: object) -> int | None:
    """An amount in minor units as an integer (None when missing). Published amounts are integers; a table that
    masked some of them arrives as floats, which must still be whole: anything else is a ValueError."""
    if _missing(value):
        return None
    if isinstance(value, bool):  # a flag, not an amount
        raise ValueError(f"an amount must be a whole number of minor units, not {value!r}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float | Decimal) and float(value).is_integer():
        return int(value)
    raise ValueError(f"an amount must be a whole number of minor units, not {value!r}")


def money(amount: object, lang: str, currency: Currency | None = None) -> str:
    """An amount kept in the currency's minor unit, shown in its major unit (halalas as riyals: 123456 reads
    ١٬٢٣٤٫٥٦ in Arabic, 1,234.56 in English); the currency's name goes in the label, not here."""
    currency = currency or current_profile().currency
    style = {FA: "fa", AR: "ar", EN: "latin"}[check_language(lang)]
    return grouped(minor_units(amount), digits=style, minor_unit=currency.minor_unit)


def instant_text(instant: datetime, lang: str) -> str:
    """An instant in the reader's calendar: Solar Hijri in Tehran time (Persian), Umm al-Qura in Riyadh time
    (Arabic), or Gregorian in UTC (English)."""
    if check_language(lang) == FA:
        return solar_hijri(instant)
    return hijri(instant) if lang == AR else f"{instant.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def day_text(day: date, lang: str) -> str:
    """A calendar day in the reader's calendar (Solar Hijri, Umm al-Qura or ISO Gregorian), with no zone shift."""
    if check_language(lang) == FA:
        return solar_hijri_date(day)
    return hijri_date(day) if lang == AR else day.isoformat()


def jurisdiction_time(instant: datetime, profile: Profile | None = None) -> str:
    """An instant in the jurisdiction's own calendar and time zone with Latin digits and the zone's city, for an
    English reader (``1405/09/09 22:00 Tehran``, ``1448/06/09 21:30 Riyadh``)."""
    profile = profile or current_profile()
    city = profile.calendar.timezone.rsplit("/", 1)[-1].replace("_", " ")
    if profile.calendar.display == "solar_hijri":
        return f"{latin_digits(solar_hijri(instant))} {city}"
    if profile.calendar.display == "umm_al_qura":
        return f"{latin_digits(hijri(instant))} {city}"
    return f"{instant.astimezone(ZoneInfo(profile.calendar.timezone)):%Y/%m/%d %H:%M} {city}"


def cell(value: object, lang: str) -> str:
    """One table cell for reading: numbers grouped (shares as percent), missing or suppressed as a dash."""
    if _missing(value):
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, numbers.Real):  # numpy's integers too (a nullable integer column yields them)
        return number(float(value), lang, decimals=0 if float(value).is_integer() else 2)
    if isinstance(value, datetime) and value.tzinfo is not None:  # an instant
        return instant_text(value, lang)
    if isinstance(value, date):  # a calendar day (DuckDB DATE arrives as a naive timestamp)
        return day_text(value.date() if isinstance(value, datetime) else value, lang)
    return str(value)


def is_money(column: str) -> bool:
    """Whether ``column`` holds money (an integer in the jurisdiction's minor unit)."""
    return column.endswith(MONEY_SUFFIX)


def column_label(column: str, lang: str, currency: Currency | None = None) -> str:
    """A column's heading in ``lang``; a money column's names the currency its amounts are shown in."""
    if currency is None:
        return t(column, lang)
    return t(column, lang, currency=currency_name(currency, lang))


def readable(frame: pd.DataFrame, lang: str, currency: Currency | None = None) -> pd.DataFrame:
    """A table for reading (not for download): shares as percent, money in the currency's major unit, numbers and
    dates in the reader's form, headings in the reader's language."""
    currency = currency or current_profile().currency
    out = pd.DataFrame(index=frame.index)
    for column in frame.columns:
        if column.endswith("_share"):
            shown = [percent(None if pd.isna(v) else float(v), lang) for v in frame[column]]
        elif is_money(column):
            shown = [money(v, lang, currency) for v in frame[column]]
        else:
            shown = [cell(v, lang) for v in frame[column]]
        out[column_label(column, lang, currency)] = shown
    return out
