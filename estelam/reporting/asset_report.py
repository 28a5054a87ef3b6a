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

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from estelam.core import clock, settings
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
from estelam.core.jurisdiction import current_profile, load_profile
from estelam.core.kinds import AssetContribution
from estelam.reporting.facts import FactSection, load_fact_sections

#: An agency whose last valid answer is older than this is marked stale in the report.
STALE_AFTER = timedelta(days=7)
LANGUAGES = ("fa", "ar", "en")
#: Languages written right to left.
RTL_LANGUAGES = frozenset({"fa", "ar"})
#: The decimal separator of Persian and Arabic-Indic numbers (U+066B).
PERSIAN_DECIMAL_SEPARATOR = "٫"
VARIANTS = ("ir", "sa")
TEMPLATE = "asset_report.html.j2"
#: Debian's fonts-noto-core: a Naskh face that shapes Persian and Arabic, embedded in the PDF.
NOTO_NASKH_DIR = Path("/usr/share/fonts/truetype/noto")
NOTO_NASKH_REGULAR = NOTO_NASKH_DIR / "NotoNaskhArabic-Regular.ttf"
NOTO_NASKH_BOLD = NOTO_NASKH_DIR / "NotoNaskhArabic-Bold.ttf"

def asset_kind_labels(contributions: Sequence[AssetContribution]) -> dict[str, dict[Any, str]]:
    """Language -> asset kind -> label, as each kind's mapping in ``contracts/kinds/`` gives it
    (``contributes.assets.label``)."""
    labels: dict[str, dict[Any, str]] = {lang: {} for lang in LANGUAGES}
    for assets in contributions:
        for lang in LANGUAGES:
            labels[lang].setdefault(assets.asset_kind, assets.label[lang])
    return labels


def detail_labels(contributions: Sequence[AssetContribution]) -> dict[str, dict[str, dict[str, str]]]:
    """Language -> asset kind -> detail value -> what readers see (``contributes.assets.detail_labels``: a bank
    account's kind)."""
    labels: dict[str, dict[str, dict[str, str]]] = {lang: {} for lang in LANGUAGES}
    for assets in contributions:
        for value, texts in assets.detail_labels.items():
            for lang in LANGUAGES:
                labels[lang].setdefault(assets.asset_kind, {})[value] = texts[lang]
    return labels


def _asset_contributions() -> list[AssetContribution]:
    """What each kind of the registry contributes as assets (its mapping's ``contributes.assets``)."""
    from estelam.contracts.registry import load_agency_registry

    return [kind.mapping.assets for kind in load_agency_registry().kinds.values()
            if kind.mapping.assets is not None]


EVENT = {
    "fa": {"filed": "ثبت درخواست اجرا", "referred": "ارجاع", "notified": "ابلاغ اجراییه", "invoiced": "صدور صورتحساب",
           "paid": "پرداخت", "freeze_ordered": "دستور توقیف", "released": "رفع توقیف", "closed": "مختومه",
           "freeze_order_sent": "ارسال دستور توقیف", "release_order_sent": "ارسال دستور رفع توقیف",
           "order_acknowledged": "تأیید اجرای دستور", "absconded": "متواری", "payment_proved": "اثبات پرداخت",
           "apprehended": "دستگیری", "transfer_order_sent": "ارسال دستور انتقال به حساب دادگستری",
           "payout_order_sent": "ارسال دستور پرداخت به محکوم‌له", "cancel_order_sent": "ارسال دستور لغو"},
    "ar": {"filed": "تقديم طلب التنفيذ", "referred": "إحالة", "notified": "تبليغ السند التنفيذي",
           "invoiced": "إصدار فاتورة", "paid": "سداد", "freeze_ordered": "أمر الحجز", "released": "رفع الحجز",
           "closed": "مغلق",
           "freeze_order_sent": "إرسال أمر الحجز", "release_order_sent": "إرسال أمر رفع الحجز",
           "order_acknowledged": "تأكيد تنفيذ الأمر", "absconded": "متوارٍ", "payment_proved": "إثبات السداد",
           "apprehended": "القبض عليه", "transfer_order_sent": "إرسال أمر التحويل إلى حساب المحكمة",
           "payout_order_sent": "إرسال أمر الصرف للمحكوم له", "cancel_order_sent": "إرسال أمر الإلغاء"},
    "en": {"filed": "enforcement filed", "referred": "referred", "notified": "writ served", "invoiced": "invoiced",
           "paid": "paid", "freeze_ordered": "freeze ordered", "released": "released", "closed": "closed",
           "freeze_order_sent": "freeze order sent", "release_order_sent": "release order sent",
           "order_acknowledged": "order acknowledged", "absconded": "absconded", "payment_proved": "payment proved",
           "apprehended": "apprehended", "transfer_order_sent": "transfer to the court's account ordered",
           "payout_order_sent": "payout to the creditor ordered", "cancel_order_sent": "cancel order sent"},
}
STEP = {
    "fa": {"referral": "ارجاع", "notification": "ابلاغ", "invoice": "صورتحساب", "execution": "اجرا",
           "collection_and_payout": "وصول و پرداخت", "closure": "مختومه"},
    "ar": {"referral": "إحالة", "notification": "تبليغ", "invoice": "فاتورة", "execution": "تنفيذ",
           "collection_and_payout": "تحصيل وصرف", "closure": "إغلاق"},
    "en": {"referral": "referral", "notification": "notification", "invoice": "invoice", "execution": "execution",
           "collection_and_payout": "collection and payout", "closure": "closure"},
}
SOURCE = {"fa": {"court": "دادگاه", "hub": "سامانه", "agency": "نهاد"},
          "ar": {"court": "المحكمة", "hub": "المنصة", "agency": "جهة"},
          "en": {"court": "court", "hub": "hub", "agency": "agency"}}
STATUS = {
    "fa": {"answered": "پاسخ داده", "rejected": "پاسخ نامعتبر", "failed": "بی‌پاسخ",
           "deadline_missed": "بی‌پاسخ در مهلت مقرر", None: "استعلام نشده"},
    "ar": {"answered": "تمت الإجابة", "rejected": "إجابة مرفوضة", "failed": "لا إجابة",
           "deadline_missed": "لا إجابة في المهلة", None: "لم يُستعلم"},
    "en": {"answered": "answered", "rejected": "answer rejected", "failed": "no answer",
           "deadline_missed": "no answer within the deadline", None: "not asked"},
}
ACK = {"fa": {"done": "انجام شد", "partial": "جزئی", "failed": "ناموفق", "pending": "در انتظار", "late": "با تأخیر"},
       "ar": {"done": "تم", "partial": "جزئي", "failed": "فشل", "pending": "قيد الانتظار", "late": "متأخر"},
       "en": {"done": "done", "partial": "partial", "failed": "failed", "pending": "pending", "late": "late"}}
DETAIL = {"fa": {"electronic": "الکترونیکی", "paper": "کاغذی", "delivered": "تحویل شد"},
          "ar": {"electronic": "إلكتروني", "paper": "ورقي", "delivered": "تم التسليم"},
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
        "facts": "اطلاعات دیگر درباره بدهکار", "no_records": "سابقه‌ای ثبت نشده است.",
        "stale_or_silent": "قدیمی یا بی‌پاسخ",
        "timeline": "روند پرونده", "seq": "ردیف", "date": "تاریخ", "step": "مرحله", "event": "رویداد",
        "source": "منبع", "amount": "مبلغ", "automated": "خودکار", "yes": "بله", "no": "خیر",
        "legend": "علامت ⚠ یعنی اطلاعات قدیمی‌تر از {days} روز است یا نهاد پاسخ نداده است؛"
                  " پیش از تصمیم، استعلام تازه شود.",
        "judge": "قاضی اجرای احکام", "signature": "امضا", "seal": "مهر دادگاه",
        "page": "صفحه",
        "decision": "شماره اجراییه",
        "collected": "وصول‌شده به حساب دادگستری", "paid_out": "پرداخت‌شده به محکوم‌له",
        "totals": "جمع‌بندی دارایی‌ها", "found": "شناسایی‌شده", "available": "آزاد و قابل توقیف",
        "protected_total": "حمایت‌شده", "total": "جمع", "count": "تعداد",
        "next_steps": "اقدامات بعدی", "answered_summary": "{n} نهاد پاسخ معتبر و تازه داده‌اند (آخرین پاسخ {date}).",
        "exceptions": "نهادهای نیازمند پیگیری", "no_exceptions": "همه نهادها به‌موقع پاسخ داده‌اند.",
        "ns_ask": "از هیچ نهادی استعلام نشده است: استعلام از همه نهادها.",
        "ns_reinquire": "{n} نهاد پاسخ نداده یا پاسخش قدیمی است: استعلام دوباره پیش از تصمیم.",
        "ns_follow_up": "{n} توقیف هنوز از سوی نهاد تأیید نشده است: پیگیری نهادهای زیر.",
        "ns_collect": "توقیف‌ها {pct} مانده را پوشش می‌دهند: دستور وصول (انتقال به حساب دادگاه) و پرداخت به محکوم‌له.",
        "ns_uncovered": "توقیف‌ها فقط {pct} مانده را پوشش می‌دهند و دارایی آزاد دیگری یافت نشده است: "
                        "استعلام دوره‌ای ادامه دارد؛ ابلاغ به محکوم‌علیه برای معرفی اموال.",
        "ns_freeze_pending": "{amount} دارایی آزاد باقی است: توقیف آن در چرخه بعدی ارسال می‌شود.",
        "ns_release": "مانده بدهی صفر است: رفع توقیف همه دارایی‌ها و مختومه کردن پرونده.",
        "ns_closed": "پرونده مختومه است: فقط رفع توقیف دارایی‌های باقی‌مانده.",
        "ns_none": "اقدام فوری لازم نیست.",
    },
    "ar": {
        "title": "تقرير أصول المنفذ ضده", "subtitle": "ملف التنفيذ",
        "generated": "أُعد في", "times_note": "الأوقات بتوقيت {zone} ومحفوظة بالتوقيت العالمي UTC",
        "case": "الملف", "case_id": "رقم الملف", "court": "دائرة التنفيذ", "debtor": "المنفذ ضده",
        "person_id": "رقم الهوية / السجل", "creditor": "طالب التنفيذ", "status": "الحالة", "open": "مفتوح",
        "closed": "مغلق", "filed_at": "تاريخ التقديم", "owed": "المبلغ المحكوم به", "paid": "المسدد",
        "outstanding": "المتبقي", "frozen_total": "المحجوز", "coverage": "التغطية", "last_event": "آخر إجراء",
        "assets": "الأصول المكتشفة", "agency": "الجهة", "kind": "النوع", "asset_ref": "معرّف الأصل",
        "detail": "التفاصيل", "value": "القيمة", "frozen": "المحجوز", "planned": "الحجز المخطط",
        "learned_at": "تاريخ العلم", "no_assets": "لم يُعثر على أصول للمنفذ ضده.",
        "protected": "محمي، لا يجوز حجزه", "stale": "بيانات قديمة",
        "freezes": "الحجوزات وتأكيدات الجهات", "ack_status": "حالة التأكيد", "acknowledged_at": "تاريخ التأكيد",
        "no_freezes": "لم يُحجز أي أصل بعد.", "not_acknowledged": "غير مؤكد",
        "agencies": "الجهات المستعلم منها", "last_status": "آخر حالة", "last_answer": "آخر إجابة صحيحة",
        "missed": "مهل فائتة", "reason": "السبب", "no_agencies": "لم يُستعلم من أي جهة بعد.",
        "facts": "معلومات أخرى عن المدين", "no_records": "لا يوجد سجل.",
        "stale_or_silent": "قديمة أو بلا إجابة",
        "timeline": "مسار الملف", "seq": "م", "date": "التاريخ", "step": "المرحلة", "event": "الإجراء",
        "source": "المصدر", "amount": "المبلغ", "automated": "آلي", "yes": "نعم", "no": "لا",
        "legend": "العلامة ⚠ تعني بيانات أقدم من {days} أيام أو جهة لم تُجب؛ يُعاد الاستعلام قبل اتخاذ القرار.",
        "judge": "قاضي التنفيذ", "signature": "التوقيع", "seal": "ختم المحكمة",
        "page": "صفحة",
        "decision": "رقم السند التنفيذي",
        "collected": "المحصّل إلى حساب المحكمة", "paid_out": "المصروف للمحكوم له",
        "totals": "ملخص الأصول", "found": "المكتشف", "available": "متاح للحجز",
        "protected_total": "محمي", "total": "المجموع", "count": "العدد",
        "next_steps": "الخطوات التالية", "answered_summary": "أجابت {n} جهة إجابة صحيحة وحديثة (آخر إجابة {date}).",
        "exceptions": "جهات تحتاج متابعة", "no_exceptions": "أجابت جميع الجهات في المهلة.",
        "ns_ask": "لم يُستعلم من أي جهة: الاستعلام من جميع الجهات.",
        "ns_reinquire": "{n} جهة لم تُجب أو إجابتها قديمة: إعادة الاستعلام قبل القرار.",
        "ns_follow_up": "{n} حجز لم تؤكده الجهة بعد: متابعة الجهات أدناه.",
        "ns_collect": "الحجوزات تغطي {pct} من المتبقي: الأمر بالتحصيل (التحويل إلى حساب المحكمة) والصرف لطالب التنفيذ.",
        "ns_uncovered": "الحجوزات تغطي {pct} فقط من المتبقي ولا أصول متاحة أخرى: يستمر "
                        "الاستعلام الدوري؛ تكليف المنفذ ضده بالإفصاح عن أمواله.",
        "ns_freeze_pending": "يبقى {amount} من الأصول المتاحة: يُرسل حجزها في الدورة التالية.",
        "ns_release": "لا دين متبقٍ: رفع الحجز عن جميع الأصول وإغلاق الملف.",
        "ns_closed": "الملف مغلق: رفع الحجز عن الأصول المتبقية فقط.",
        "ns_none": "لا يلزم إجراء عاجل.",
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
        "facts": "Other facts about the debtor", "no_records": "Nothing on record.",
        "stale_or_silent": "stale or no answer",
        "timeline": "Case timeline", "seq": "#", "date": "Date", "step": "Step", "event": "Event",
        "source": "Source", "amount": "Amount", "automated": "Automated", "yes": "yes", "no": "no",
        "legend": "⚠ marks data older than {days} days or an agency that did not answer: ask again before deciding.",
        "judge": "Enforcement judge", "signature": "Signature", "seal": "Court seal",
        "page": "Page",
        "decision": "Decision number",
        "collected": "Collected to the court's account", "paid_out": "Paid out to the creditor",
        "totals": "Assets in sum", "found": "Found", "available": "Still available",
        "protected_total": "Protected", "total": "Total", "count": "Count",
        "next_steps": "Next steps", "answered_summary": "{n} agencies gave a valid, recent answer (latest {date}).",
        "exceptions": "Agencies to follow up", "no_exceptions": "Every agency answered in time.",
        "ns_ask": "No agency has been asked: ask every agency.",
        "ns_reinquire": "{n} agencies did not answer or answered long ago: ask again before deciding.",
        "ns_follow_up": "{n} freezes are not acknowledged yet: follow up the agencies below.",
        "ns_collect": "Freezes cover {pct} of what is outstanding: order collection "
                      "(transfer to the court account) and payout to the creditor.",
        "ns_uncovered": "Freezes cover only {pct} of what is outstanding and nothing else is available: "
                        "periodic inquiry goes on; summon the debtor to declare assets.",
        "ns_freeze_pending": "{amount} of available assets remain: their freeze goes out in the next cycle.",
        "ns_release": "Nothing is outstanding: release every freeze and close the case.",
        "ns_closed": "The case is closed: only releases of what is still frozen remain.",
        "ns_none": "No action is needed now.",
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
    "ir": Jurisdiction("ir", TEHRAN, {"fa": "تهران", "ar": "طهران", "en": "Tehran"},
                       {"fa": "ریال", "ar": "ريال إيراني", "en": "IRR"}, "fa",
                       persian_digits, solar_hijri, "Solar Hijri", "IR"),
    "sa": Jurisdiction("sa", RIYADH, {"fa": "ریاض", "ar": "الرياض", "en": "Riyadh"},
                       {"fa": "ریال سعودی", "ar": "ريال سعودي", "en": "SAR"}, "ar",
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
    facts: list[FactSection] = field(default_factory=list)  # facts about the debtor from the mapped fact kinds

    @property
    def frozen_assets(self) -> list[dict[str, Any]]:
        """Assets with money or goods frozen, or an order sent, for the freezes section."""
        return [a for a in self.assets if (a.get("frozen_rial") or 0) > 0 or a.get("last_ack_status")]

    def totals_by(self, key: str) -> list[AssetTotals]:
        """Found, frozen, still available and protected value per ``key`` (``asset_kind`` or ``agency_id``)."""
        groups: dict[str, AssetTotals] = {}
        for asset in self.assets:
            group = str(asset.get(key))
            groups[group] = groups.get(group, AssetTotals(group)).plus(asset)
        return [groups[k] for k in sorted(groups)]

    @property
    def totals(self) -> AssetTotals:
        """Every asset in one sum."""
        total = AssetTotals("total")
        for asset in self.assets:
            total = total.plus(asset)
        return total

    @property
    def answered_agencies(self) -> list[dict[str, Any]]:
        """Agencies whose last answer is valid and recent: one line in the report."""
        return [a for a in self.agencies if a.get("status") == "answered" and not a.get("stale")
                and not a.get("deadlines_missed")]

    @property
    def agency_exceptions(self) -> list[dict[str, Any]]:
        """Agencies that did not answer, answered long ago, were rejected or missed a deadline: listed one by one."""
        answered = {a["agency_id"] for a in self.answered_agencies}
        return [a for a in self.agencies if a["agency_id"] not in answered]

    @property
    def unacknowledged(self) -> list[dict[str, Any]]:
        """Frozen or ordered assets whose agency has not confirmed the freeze."""
        return [a for a in self.frozen_assets if a.get("last_ack_status") != "done"]

    def next_steps(self) -> list[tuple[str, dict[str, Any]]]:
        """What the judge should do next, from the case's state: (label key, values) pairs, most urgent first."""
        case = self.case
        # still owed once money collected to the court's account counts as paid
        owed_now = case.get("owed_now_rial")
        outstanding = int((case.get("outstanding_rial") if owed_now is None else owed_now) or 0)
        if case.get("case_status") != "open":
            return [("ns_closed", {})] if any((a.get("frozen_rial") or 0) > 0 for a in self.assets) else []
        if outstanding <= 0:
            return [("ns_release", {})]
        steps: list[tuple[str, dict[str, Any]]] = []
        if not self.agencies:
            steps.append(("ns_ask", {}))
        elif self.agency_exceptions:
            steps.append(("ns_reinquire", {"n": len(self.agency_exceptions)}))
        if self.unacknowledged:
            steps.append(("ns_follow_up", {"n": len(self.unacknowledged)}))
        frozen = int(case.get("case_frozen_rial") or 0)
        coverage = frozen / outstanding
        available = self.totals.available_rial
        if coverage >= 1:
            steps.append(("ns_collect", {"pct": coverage}))
        elif available > 0:
            steps.append(("ns_freeze_pending", {"amount": min(available, outstanding - frozen)}))
        else:
            steps.append(("ns_uncovered", {"pct": coverage}))
        return steps


@dataclass(frozen=True)
class AssetTotals:
    """One group's sum: how many assets, found (their value), frozen, still available to freeze, protected."""

    key: str
    count: int = 0
    found_rial: int = 0
    frozen_rial: int = 0
    available_rial: int = 0
    protected_rial: int = 0

    def plus(self, asset: dict[str, Any]) -> AssetTotals:
        value = int(asset.get("value_rial") or 0)
        frozen = int(asset.get("frozen_rial") or 0)
        protected = bool(asset.get("is_protected"))
        return AssetTotals(self.key, self.count + 1, self.found_rial + value, self.frozen_rial + frozen,
                           self.available_rial + (0 if protected else max(value - frozen, 0)),
                           self.protected_rial + (value if protected else 0))


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


def agency_names() -> dict[str, dict[str, str]]:
    """Every registered agency's name by language (Arabic: its Arabic name, else its English one)."""
    from estelam.contracts.registry import load_agency_registry

    return {i.agency_id: {lang: i.display_name(lang) for lang in LANGUAGES} for i in load_agency_registry().instances}


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
        names = agency_names()
        facts = load_fact_sections(con, rows[0]["person_id"], names)
    now = now or clock.now()
    for agency in agencies:
        answered = agency["last_answered_at"]
        agency["stale"] = answered is None or now - answered > STALE_AFTER
        agency["name"] = names.get(agency["agency_id"], {})
    assets = [r for r in rows if r["asset_ref"] is not None]
    for asset in assets:
        asset["name"] = names.get(asset["agency_id"], {})
    return CaseReport(case=rows[0], assets=assets, events=events, agencies=agencies, generated_at=now,
                      timeline=timeline, facts=facts)


def _check(lang: str, variant: str) -> Jurisdiction:
    if lang not in LANGUAGES:
        raise ReportError(f"unknown report language {lang!r}: one of {', '.join(LANGUAGES)}")
    if variant not in VARIANTS:
        raise ReportError(f"unknown report variant {variant!r}: one of {', '.join(VARIANTS)}")
    return JURISDICTIONS[variant]


#: First strong isolate ... pop directional isolate: WeasyPrint ignores CSS ``unicode-bidi: isolate`` but honours
#: these characters, so a case number or an IBAN reads in one order inside right-to-left text.
LRI, FSI, PDI = "\u2066", "\u2068", "\u2069"


def isolate(text: object, ltr: bool = True) -> Markup:
    """``text`` (escaped) between Unicode isolates: left to right (LRI) or by its first strong character (FSI)."""
    if text is None:
        return Markup("—")
    return Markup('<span class="iso" dir="{d}">{start}{text}{end}</span>').format(
        d="ltr" if ltr else "auto", start=LRI if ltr else FSI, text=str(text), end=PDI)


def _formatters(lang: str, where: Jurisdiction) -> dict[str, Callable[..., Any]]:
    """The template's filters for one language and jurisdiction."""
    latin = lang == "en"
    # Arabic is written with Arabic-Indic digits (١٢٣) whichever calendar the jurisdiction keeps.
    arabic = str.maketrans("۰۱۲۳۴۵۶۷۸۹", "٠١٢٣٤٥٦٧٨٩") if lang == "ar" else {}

    def num(value: object) -> str:
        return "—" if value is None else str(value) if latin else where.local_digits(value).translate(arabic)

    minor_unit = load_profile(where.code).currency.minor_unit  # amounts are kept in minor units: halalas in sa

    def money(amount: int | None) -> str:
        return grouped(amount, digits="latin" if latin else "ar" if lang == "ar" else where.digits,
                       minor_unit=minor_unit)

    def when_text(instant: datetime | None, with_time: bool = True) -> str:
        if instant is None:
            return "—"
        if not latin:
            return str(where.local_date(instant, with_time=with_time)).translate(arabic)
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
        names = row.get("name", {})
        name = names.get(lang) or names.get("en") or row["agency_id"]
        return Markup('{name}<span class="utc">{id}</span>').format(name=name, id=isolate(row["agency_id"]))

    def lookup(table: dict[str, dict[Any, str]]) -> Callable[[Any], str]:
        return lambda key: "—" if key is None and None not in table[lang] else table[lang].get(key, str(key))

    contributions = _asset_contributions()  # the registry read once for both label tables
    details = detail_labels(contributions)[lang]

    def detail(asset: dict[str, Any]) -> Markup:
        text = asset.get("asset_detail")
        known = details.get(str(asset.get("asset_kind")), {})
        if text in known:
            return Markup(escape(known[text]))
        return isolate(text, ltr=False) if text else Markup("—")

    def ident(value: object) -> Markup:
        """An identifier (case number, national id, IBAN, plate): isolated left to right, local digits."""
        return isolate(None if value is None else value if latin else where.local_digits(value).translate(arabic))

    return {"num": num, "money": money, "ltr": isolate, "ident": ident, "asset_detail": detail,
             "when": when, "when_text": when_text, "percent": percent,
            "agency": agency, "asset_kind": lookup(asset_kind_labels(contributions)), "event": lookup(EVENT),
            "step": lookup(STEP),
            "source": lookup(SOURCE), "inquiry_status": lookup(STATUS), "ack": lookup(ACK),
            "detail": lookup({k: DETAIL[k] | ACK[k] for k in DETAIL}), "utc": utc_text}


def _environment() -> Environment:
    return Environment(loader=PackageLoader("estelam.reporting", "templates"),
                       autoescape=select_autoescape(["html", "j2"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_case_report(report: CaseReport, lang: str = "fa", variant: str = "ir") -> str:
    """The report as a standalone HTML page (``lang`` fa, ar or en, ``variant`` ir or sa)."""
    where = _check(lang, variant)
    env = _environment()
    env.filters.update(_formatters(lang, where))
    labels = LABELS[lang]

    def label(key: str, **values: object) -> str:
        return labels[key].format(**values)

    def next_step(step: tuple[str, dict[str, Any]]) -> str:
        return _next_step_text(step, lang, where)

    return env.get_template(TEMPLATE).render(
        report=report, t=label, next_step=next_step, lang=lang, dir="rtl" if lang in RTL_LANGUAGES else "ltr",
        lang_tag=f"{lang}-{where.region}", currency=where.currency[lang], zone=where.zone_name[lang],
        stale_days=escape(_days(lang, where)), font_regular=NOTO_NASKH_REGULAR.as_uri(),
        font_bold=NOTO_NASKH_BOLD.as_uri(), counter_style="decimal" if lang == "en" else (
            "persian" if where.digits == "fa" and lang == "fa" else "arabic-indic"),
    )


def _next_step_text(step: tuple[str, dict[str, Any]], lang: str, where: Jurisdiction) -> str:
    key, values = step
    filters = _formatters(lang, where)
    shown = {name: filters["percent"](value) if name == "pct" else
             f"{filters['money'](value)} {where.currency[lang]}" if name == "amount" else filters["num"](value)
             for name, value in values.items()}
    return LABELS[lang][key].format(**shown)


def next_steps_text(report: CaseReport, lang: str = "fa", variant: str = "ir") -> list[str]:
    """The report's next steps as sentences in ``lang`` (the portal's case page shows them too)."""
    where = _check(lang, variant)
    return [_next_step_text(step, lang, where) for step in report.next_steps()] or [LABELS[lang]["ns_none"]]


def formatters(lang: str = "fa", variant: str | None = None) -> dict[str, Callable[..., Any]]:
    """The report's template filters (money, dates, identifiers, kinds, events...) for other pages to share;
    ``variant`` is the deployment's jurisdiction profile when None."""
    return _formatters(lang, _check(lang, variant or _profile_variant()))


def _profile_variant() -> str:
    profile = current_profile()
    return profile.id if profile.id in JURISDICTIONS else "ir"


def _days(lang: str, where: Jurisdiction) -> str:
    days = str(STALE_AFTER.days)
    return days if lang == "en" else where.local_digits(days)


class _BrowserOnlyCss(logging.Filter):
    """WeasyPrint warns that it ignores ``unicode-bidi``: the report keeps the property for browsers, and the PDF
    gets its one reading order from the Unicode isolates in the text itself, so the warning says nothing new."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Ignored `unicode-bidi")


_WEASYPRINT_LOG = logging.getLogger("weasyprint")
_BROWSER_ONLY_CSS = _BrowserOnlyCss()


def render_case_report_pdf(report: CaseReport, lang: str = "fa", variant: str = "ir") -> bytes:
    """The report as a printable A4 PDF with Noto Naskh Arabic embedded."""
    from weasyprint import HTML

    if _BROWSER_ONLY_CSS not in _WEASYPRINT_LOG.filters:
        _WEASYPRINT_LOG.addFilter(_BROWSER_ONLY_CSS)
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
    profile = current_profile()  # the deployment's language and jurisdiction (Arabic, Umm al-Qura, riyals for sa)
    lang, variant = profile.language, _profile_variant()
    path.write_text(render_case_report(report, lang=lang, variant=variant), encoding="utf-8")
    path.with_suffix(".pdf").write_bytes(render_case_report_pdf(report, lang=lang, variant=variant))
    return path
