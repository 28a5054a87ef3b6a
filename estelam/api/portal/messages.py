"""The portal's message catalogue: every label of every page, in Persian (the default), Arabic and English.

Templates never hold words of their own: they ask ``t(key, **values)``. A test checks every language has
every key. Asset kinds, events and statuses come from the asset report's tables (estelam.reporting).
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("fa", "ar", "en")
DEFAULT_LANGUAGE: Final = "fa"
RTL: Final = frozenset({"fa", "ar"})
LANGUAGE_NAMES: Final = {"fa": "فارسی", "ar": "العربية", "en": "English"}

MESSAGES: Final[dict[str, dict[str, str]]] = {
    "fa": {
        "app": "سامانه استعلام و توقیف — درگاه پرونده", "sign_in": "ورود", "sign_out": "خروج",
        "token": "رمز دسترسی", "token_hint": "رمزی که دادگستری به شما داده است", "bad_token": "رمز دسترسی نادرست است.",
        "signed_in_as": "کاربر: {who} ({role})", "language": "زبان",
        "role_judge": "قاضی اجرا", "role_creditor": "محکوم‌له", "role_person": "محکوم‌علیه",
        "no_portal": "این نقش در درگاه صفحه‌ای ندارد.", "not_found": "پرونده‌ای با این شماره یافت نشد.",
        "refused": "درخواست پذیرفته نشد: {reason}", "csrf": "فرم منقضی یا نامعتبر است؛ صفحه را دوباره باز کنید.",
        "my_cases": "پرونده‌های من", "filter": "صافی", "status": "وضعیت", "coverage": "پوشش", "all": "همه",
        "open": "باز", "closed": "مختومه", "cov_none": "بدون توقیف", "cov_partial": "پوشش ناقص",
        "cov_full": "پوشش کامل", "sort": "مرتب‌سازی", "sort_desc": "بیشترین مانده", "sort_asc": "کمترین مانده",
        "apply": "اعمال", "case": "پرونده", "court": "شعبه", "debtor": "محکوم‌علیه", "creditor": "محکوم‌له",
        "owed": "محکوم‌به", "paid": "پرداخت‌شده", "outstanding": "مانده", "frozen": "توقیف‌شده",
        "found": "شناسایی‌شده", "available": "آزاد و قابل توقیف", "protected": "حمایت‌شده", "count": "تعداد",
        "total": "جمع", "no_cases": "پرونده‌ای نیست.", "currency": "ریال",
        "asset_report": "گزارش دارایی", "by_kind": "به تفکیک نوع دارایی", "by_agency": "به تفکیک نهاد",
        "kind": "نوع", "agency": "نهاد", "pdf": "نسخه چاپی (PDF)", "timeline": "روند پرونده", "date": "تاریخ",
        "event": "رویداد", "step": "مرحله", "source": "منبع", "amount": "مبلغ",
        "pending_orders": "دستورهای در انتظار تأیید", "deadline": "مهلت", "order_kind": "نوع دستور",
        "asset": "دارایی", "late": "گذشته از مهلت", "pending": "در مهلت", "no_pending": "دستور در انتظاری نیست.",
        "non_compliant": "نهادهای بی‌پاسخ یا دیرکرد", "all_compliant": "همه نهادها به‌موقع پاسخ داده‌اند.",
        "next_steps": "اقدامات بعدی",
        "actions": "دستورهای قاضی", "directive": "دستور", "issue": "صدور دستور", "confirm": "تأیید و صدور",
        "cancel": "انصراف", "confirm_title": "تأیید دستور",
        "confirm_text": "دستور «{kind}» برای پرونده {case} صادر شود؟",
        "directive_done": "دستور «{kind}» ثبت شد و در چرخه بعدی اجرا می‌شود.",
        "amount_all": "مبلغ (خالی = همه مانده)", "restriction": "نوع محدودیت خودرو",
        "users": "کاربران مجاز (با ویرگول)", "note": "توضیح", "order_id": "شناسه دستور", "asset_ref": "دارایی",
        "dir_collect": "وصول (انتقال به حساب دادگاه)", "dir_confidential": "محرمانه", "dir_lift_confidentiality":
        "رفع محرمانگی", "dir_restrict_circulation": "توقیف تردد خودرو", "dir_restrict_vehicle": "محدودیت یک خودرو",
        "dir_lift_vehicle_restriction": "رفع محدودیت خودرو",
        "dir_cancel_order": "لغو دستور", "dir_release": "رفع توقیف به دستور قاضی", "dir_reinquire_now": "استعلام فوری",
        "dir_priority_reinquiry": "استعلام مجدد با اولویت",
        "r_transfer": "منع نقل و انتقال", "r_circulation": "توقیف تردد", "r_seizure": "توقیف و تحویل",
        "my_requests": "درخواست‌های اجرای من", "aggregate": "جمع همه درخواست‌ها", "print": "نسخه چاپی",
        "requests": "درخواست‌ها", "collected": "وصول‌شده", "paid_out": "پرداخت‌شده به شما",
        "alerts": "رویدادهای تازه از آخرین بازدید", "no_alerts": "رویداد تازه‌ای نیست.",
        "request": "درخواست", "aggregate_report": "گزارش تجمیعی درخواست‌ها", "generated": "تهیه‌شده در",
        "my_freezes": "دارایی‌های توقیف‌شده من", "why": "به سبب", "case_court": "پرونده و شعبه",
        "still_owed": "بدهی باقی‌مانده", "how_to_pay": "نحوه پرداخت",
        "pay_text": "مبلغ مانده را به حساب سپرده دادگستری با شناسه پرداخت پرونده {case} واریز کنید"
                    " یا رسید پرداخت را به شعبه {court} ارائه دهید؛"
                    " پس از ثبت پرداخت، توقیف‌ها به همان اندازه رفع می‌شود.",
        "protected_note": "این دارایی‌ها حمایت‌شده‌اند و توقیف نمی‌شوند:", "nothing_frozen": "دارایی توقیف‌شده‌ای ندارید.",
        "who_looked": "چه کسانی اطلاعات مرا دیده‌اند", "who": "چه کسی", "role": "نقش", "action": "اقدام",
        "purpose": "هدف", "nobody_looked": "کسی اطلاعات شما را ندیده است.",
        "role_system": "سامانه", "act_inquiry": "استعلام", "act_report_view": "مشاهده گزارش دارایی",
        "act_registry_lookup": "جست‌وجو در سامانه ثبت", "act_order": "دستور به نهاد",
        "act_portal_view": "مشاهده در درگاه", "act_directive": "دستور قاضی",
        "role_public": "استعلام‌کننده با رضایت شما", "role_police": "پلیس یا مرزبانی", "role_auditor": "بازرس",
        "role_statistician": "آمارگر", "role_agency": "نهاد", "role_central_bank": "بانک مرکزی",
        "back": "بازگشت", "yes": "بله", "no": "خیر",
    },
    "ar": {
        "app": "منصة الاستعلام والحجز — بوابة الملفات", "sign_in": "تسجيل الدخول", "sign_out": "تسجيل الخروج",
        "token": "رمز الدخول", "token_hint": "الرمز الذي منحته لك المحكمة", "bad_token": "رمز الدخول غير صحيح.",
        "signed_in_as": "المستخدم: {who} ({role})", "language": "اللغة",
        "role_judge": "قاضي التنفيذ", "role_creditor": "طالب التنفيذ", "role_person": "المنفذ ضده",
        "no_portal": "لا صفحات لهذا الدور في البوابة.", "not_found": "لا يوجد ملف بهذا الرقم.",
        "refused": "رُفض الطلب: {reason}", "csrf": "النموذج منتهي أو غير صالح؛ أعد فتح الصفحة.",
        "my_cases": "ملفاتي", "filter": "تصفية", "status": "الحالة", "coverage": "التغطية", "all": "الكل",
        "open": "مفتوح", "closed": "مغلق", "cov_none": "بلا حجز", "cov_partial": "تغطية جزئية",
        "cov_full": "تغطية كاملة", "sort": "الترتيب", "sort_desc": "الأعلى متبقياً", "sort_asc": "الأقل متبقياً",
        "apply": "تطبيق", "case": "الملف", "court": "الدائرة", "debtor": "المنفذ ضده", "creditor": "طالب التنفيذ",
        "owed": "المحكوم به", "paid": "المسدد", "outstanding": "المتبقي", "frozen": "المحجوز",
        "found": "المكتشف", "available": "متاح للحجز", "protected": "محمي", "count": "العدد",
        "total": "المجموع", "no_cases": "لا توجد ملفات.", "currency": "ريال",
        "asset_report": "تقرير الأصول", "by_kind": "حسب نوع الأصل", "by_agency": "حسب الجهة",
        "kind": "النوع", "agency": "الجهة", "pdf": "نسخة للطباعة (PDF)", "timeline": "مسار الملف", "date": "التاريخ",
        "event": "الإجراء", "step": "المرحلة", "source": "المصدر", "amount": "المبلغ",
        "pending_orders": "أوامر بانتظار التأكيد", "deadline": "المهلة", "order_kind": "نوع الأمر",
        "asset": "الأصل", "late": "تجاوز المهلة", "pending": "ضمن المهلة", "no_pending": "لا أوامر معلقة.",
        "non_compliant": "جهات لم تُجب أو تأخرت", "all_compliant": "أجابت جميع الجهات في المهلة.",
        "next_steps": "الخطوات التالية",
        "actions": "أوامر القاضي", "directive": "الأمر", "issue": "إصدار الأمر", "confirm": "تأكيد وإصدار",
        "cancel": "إلغاء", "confirm_title": "تأكيد الأمر", "confirm_text": "هل يصدر الأمر «{kind}» في الملف {case}؟",
        "directive_done": "سُجل الأمر «{kind}» وسيُنفذ في الدورة التالية.",
        "amount_all": "المبلغ (فارغ = كامل المتبقي)", "restriction": "نوع قيد المركبة",
        "users": "المستخدمون المأذون لهم (بفواصل)", "note": "ملاحظة", "order_id": "معرّف الأمر", "asset_ref": "الأصل",
        "dir_collect": "التحصيل (التحويل إلى حساب المحكمة)", "dir_confidential": "سري", "dir_lift_confidentiality":
        "رفع السرية", "dir_restrict_circulation": "حجز سير المركبة", "dir_restrict_vehicle": "تقييد مركبة",
        "dir_lift_vehicle_restriction": "رفع قيد المركبة",
        "dir_cancel_order": "إلغاء أمر", "dir_release": "رفع الحجز بأمر القاضي", "dir_reinquire_now": "استعلام فوري",
        "dir_priority_reinquiry": "إعادة استعلام بأولوية",
        "r_transfer": "منع نقل الملكية", "r_circulation": "منع السير", "r_seizure": "حجز وتسليم",
        "my_requests": "طلبات التنفيذ الخاصة بي", "aggregate": "مجموع كل الطلبات", "print": "نسخة للطباعة",
        "requests": "الطلبات", "collected": "المحصّل", "paid_out": "المصروف لكم",
        "alerts": "أحداث جديدة منذ آخر زيارة", "no_alerts": "لا أحداث جديدة.",
        "request": "الطلب", "aggregate_report": "تقرير مجمع للطلبات", "generated": "أُعد في",
        "my_freezes": "أصولي المحجوزة", "why": "بسبب", "case_court": "الملف والدائرة",
        "still_owed": "الدين المتبقي", "how_to_pay": "طريقة السداد",
        "pay_text": "أودع المبلغ المتبقي في حساب أمانات المحكمة برقم سداد الملف {case} أو قدّم إيصال السداد إلى الدائرة"
                    " {court}؛ بعد تسجيل السداد يُرفع الحجز بقدره.",
        "protected_note": "هذه الأصول محمية ولا تُحجز:", "nothing_frozen": "لا توجد لديك أصول محجوزة.",
        "who_looked": "من اطلع على بياناتي", "who": "من", "role": "الدور", "action": "الإجراء",
        "purpose": "الغرض", "nobody_looked": "لم يطلع أحد على بياناتك.",
        "role_system": "المنصة", "act_inquiry": "استعلام", "act_report_view": "اطلاع على تقرير الأصول",
        "act_registry_lookup": "بحث في السجل", "act_order": "أمر إلى جهة", "act_portal_view": "اطلاع عبر البوابة",
        "act_directive": "أمر القاضي",
        "role_public": "مستعلم بموافقتك", "role_police": "الشرطة أو الجوازات", "role_auditor": "مدقق",
        "role_statistician": "إحصائي", "role_agency": "جهة", "role_central_bank": "البنك المركزي",
        "back": "رجوع", "yes": "نعم", "no": "لا",
    },
    "en": {
        "app": "Estelam — case portal", "sign_in": "Sign in", "sign_out": "Sign out",
        "token": "Access token", "token_hint": "the token the court issued to you", "bad_token": "Wrong access token.",
        "signed_in_as": "Signed in: {who} ({role})", "language": "Language",
        "role_judge": "enforcement judge", "role_creditor": "creditor", "role_person": "debtor",
        "no_portal": "This role has no pages in the portal.", "not_found": "No case with this number.",
        "refused": "Refused: {reason}", "csrf": "The form expired or is not valid; open the page again.",
        "my_cases": "My cases", "filter": "Filter", "status": "Status", "coverage": "Coverage", "all": "all",
        "open": "open", "closed": "closed", "cov_none": "nothing frozen", "cov_partial": "partly covered",
        "cov_full": "fully covered", "sort": "Sort", "sort_desc": "most outstanding", "sort_asc": "least outstanding",
        "apply": "Apply", "case": "Case", "court": "Branch", "debtor": "Debtor", "creditor": "Creditor",
        "owed": "Owed", "paid": "Paid", "outstanding": "Outstanding", "frozen": "Frozen",
        "found": "Found", "available": "Still available", "protected": "Protected", "count": "Count",
        "total": "Total", "no_cases": "No cases.", "currency": "IRR",
        "asset_report": "Asset report", "by_kind": "By kind of asset", "by_agency": "By agency",
        "kind": "Kind", "agency": "Agency", "pdf": "Printable (PDF)", "timeline": "Timeline", "date": "Date",
        "event": "Event", "step": "Step", "source": "Source", "amount": "Amount",
        "pending_orders": "Orders awaiting acknowledgement", "deadline": "Deadline", "order_kind": "Order",
        "asset": "Asset", "late": "past the deadline", "pending": "within the deadline",
        "no_pending": "No order is pending.",
        "non_compliant": "Agencies silent or late", "all_compliant": "Every agency answered in time.",
        "next_steps": "Next steps",
        "actions": "Judge's directives", "directive": "Directive", "issue": "Issue", "confirm": "Confirm and issue",
        "cancel": "Cancel", "confirm_title": "Confirm the directive", "confirm_text": "Issue “{kind}” on case {case}?",
        "directive_done": "Directive “{kind}” recorded; the next cycle acts on it.",
        "amount_all": "Amount (empty = all outstanding)", "restriction": "Vehicle restriction",
        "users": "Authorised users (comma separated)", "note": "Note", "order_id": "Order id", "asset_ref": "Asset",
        "dir_collect": "Collect (transfer to the court account)", "dir_confidential": "Confidential",
        "dir_lift_confidentiality": "Lift confidentiality", "dir_restrict_circulation": "Restrict vehicle circulation",
        "dir_restrict_vehicle": "Restrict one vehicle", "dir_lift_vehicle_restriction": "Lift a vehicle's restriction",
        "dir_cancel_order": "Cancel an order",
        "dir_release": "Release (judge-ordered)", "dir_reinquire_now": "Inquire now",
        "dir_priority_reinquiry": "Priority re-inquiry",
        "r_transfer": "no transfer of ownership", "r_circulation": "no circulation", "r_seizure": "seizure",
        "my_requests": "My enforcement requests", "aggregate": "All requests together", "print": "Printable",
        "requests": "Requests", "collected": "Collected", "paid_out": "Paid out to you",
        "alerts": "New since your last visit", "no_alerts": "Nothing new.",
        "request": "Request", "aggregate_report": "Aggregate report of requests", "generated": "Generated",
        "my_freezes": "What of mine is frozen", "why": "For", "case_court": "Case and branch",
        "still_owed": "Still owed", "how_to_pay": "How to pay",
        "pay_text": "Pay what is outstanding into the court's deposit account with the payment reference of case"
                    " {case}, or bring the receipt to branch {court};"
                    " once the payment is recorded, freezes are released by as much.",
        "protected_note": "These are protected and are not frozen:", "nothing_frozen": "Nothing of yours is frozen.",
        "who_looked": "Who looked at my data", "who": "Who", "role": "Role", "action": "Action",
        "purpose": "Purpose", "nobody_looked": "Nobody has looked at your data.",
        "role_system": "the hub", "act_inquiry": "inquiry", "act_report_view": "read the asset report",
        "act_registry_lookup": "registry lookup", "act_order": "order to an agency", "act_portal_view": "portal view",
        "act_directive": "judge's directive",
        "role_public": "a lookup with your consent", "role_police": "police or border control",
        "role_auditor": "auditor", "role_statistician": "statistician", "role_agency": "agency",
        "role_central_bank": "central bank",
        "back": "Back", "yes": "yes", "no": "no",
    },
}


def language(requested: str | None) -> str:
    """``requested`` when the portal speaks it, else Persian."""
    return requested if requested in LANGUAGES else DEFAULT_LANGUAGE


def translate(lang: str, key: str, **values: object) -> str:
    return MESSAGES[lang][key].format(**values)
