"""What a debtor reads, in their language (Persian by default, Arabic, English): what was done, how much, on
which asset (masked to its last 4 characters), at which agency (by its name), why, under which case."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path

from estelam.contracts.registry import load_agency_registry, registry_path
from estelam.core.calendars import grouped
from estelam.core.exceptions import ContractError
from estelam.core.jurisdiction import current_profile

LANGUAGES = ("fa", "ar", "en")
DEFAULT_LANGUAGE = "fa"
VISIBLE = 4

ACTION = {
    "fa": {"freeze": "توقیف", "release": "رفع توقیف", "transfer": "انتقال به حساب دادگستری",
           "payout": "پرداخت به محکوم‌له", "cancel": "لغو دستور توقیف"},
    "ar": {"freeze": "حجز", "release": "رفع الحجز عن", "transfer": "تحويل إلى حساب السلطة القضائية",
           "payout": "صرف للمحكوم له", "cancel": "إلغاء أمر الحجز"},
    "en": {"freeze": "Freeze", "release": "Release", "transfer": "Transfer to the judiciary's account",
           "payout": "Payout to the creditor", "cancel": "Cancellation of the freeze order"},
}
REASON = {
    "fa": {"new_freeze": "بدهی پرداخت‌نشده‌ی پرونده", "top_up": "تکمیل توقیف تا میزان بدهی",
           "excess": "مازاد بر بدهی", "debt_reduced": "کاهش بدهی پرونده",
           "asset_changed": "تغییر موجودی یا وضعیت دارایی", "case_paid": "پرداخت کامل بدهی",
           "case_closed": "مختومه شدن پرونده",
           "collection": "دستور وصول قاضی اجرا", "restriction_changed": "دستور قاضی اجرا به تغییر نوع توقیف",
           "judge_release": "دستور رفع توقیف قاضی اجرا", "order_cancelled": "لغو دستور به حکم قاضی اجرا",
           "payout": "پرداخت وجه وصول‌شده به محکوم‌له"},
    "ar": {"new_freeze": "دين غير مسدد في الملف", "top_up": "استكمال الحجز حتى مبلغ الدين",
           "excess": "زيادة على الدين", "debt_reduced": "انخفاض دين الملف",
           "asset_changed": "تغيّر رصيد الأصل أو وضعه", "case_paid": "سداد الدين بالكامل", "case_closed": "إغلاق الملف",
           "collection": "أمر التحصيل من قاضي التنفيذ", "restriction_changed": "أمر قاضي التنفيذ بتغيير نوع الحجز",
           "judge_release": "أمر قاضي التنفيذ برفع الحجز", "order_cancelled": "إلغاء الأمر بقرار قاضي التنفيذ",
           "payout": "صرف المبلغ المحصّل للمحكوم له"},
    "en": {"new_freeze": "an unpaid debt of the case", "top_up": "completing the freeze up to the debt",
           "excess": "an amount beyond the debt", "debt_reduced": "the case's debt reduced",
           "asset_changed": "a change in the asset's balance or status", "case_paid": "the debt paid in full",
           "case_closed": "the case closed",
           "collection": "the enforcement judge's collection order",
           "restriction_changed": "the enforcement judge's change of the restriction",
           "judge_release": "the enforcement judge's release order",
           "order_cancelled": "the enforcement judge's cancellation of the order",
           "payout": "paying the collected money to the creditor"},
}
ASSET = {
    "fa": {"bank_account": "حساب", "security_holding": "سهام", "vehicle": "خودروی پلاک", "property": "ملک"},
    "ar": {"bank_account": "الحساب", "security_holding": "الأسهم", "vehicle": "المركبة", "property": "العقار"},
    "en": {"bank_account": "account", "security_holding": "holding", "vehicle": "vehicle", "property": "property"},
}
SUBJECT = {
    "fa": "اطلاعیه‌ی اجرای احکام — پرونده‌ی {case}",
    "ar": "إشعار التنفيذ — الملف {case}",
    "en": "Enforcement notice — case {case}",
}
SENTENCE = {
    "fa": "{action} {amount} {currency} از {asset} نزد {agency}، به سبب {reason}، پرونده‌ی اجرایی {case}",
    "ar": "{action} {amount} {currency} من {asset} لدى {agency}، بسبب {reason}، ملف التنفيذ {case}",
    "en": "{action} of {amount} {currency} on {asset} at {agency}, because of {reason}, enforcement case {case}",
}
#: A payout moves money the other way: from the court's account (at the agency) to the creditor's account (the asset).
PAYOUT_SENTENCE = {
    "fa": "{amount} {currency} از حساب دادگستری نزد {agency} به {asset} محکوم‌له پرداخت شد، پرونده‌ی اجرایی {case}",
    "ar": "صُرف {amount} {currency} من حساب المحكمة لدى {agency} إلى {asset} للمحكوم له، ملف التنفيذ {case}",
    "en": "{amount} {currency} paid from the court's account at {agency} to the creditor's {asset}, "
          "enforcement case {case}",
}
#: What the creditor reads when collected money reaches them.
CREDITOR_PAYOUT_SENTENCE = {
    "fa": "{amount} {currency} وصول‌شده در پرونده‌ی اجرایی {case} از حساب دادگستری نزد {agency} به {asset} شما "
          "پرداخت شد",
    "ar": "صُرف لكم {amount} {currency} محصّلة في ملف التنفيذ {case} من حساب المحكمة لدى {agency} إلى {asset}",
    "en": "{amount} {currency} collected in enforcement case {case} were paid to your {asset} from the court's "
          "account at {agency}",
}


def mask(ref: str, visible: int = VISIBLE) -> str:
    """``ref`` with all but its last ``visible`` characters hidden: ``IR06…1234`` -> ``****1234``."""
    tail = ref[-visible:] if len(ref) > visible else ""
    return "*" * VISIBLE + tail


def mask_email(address: str) -> str:
    """``ali@example.ir`` -> ``a***@example.ir``."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def language_of(value: object) -> str:
    return str(value) if value in LANGUAGES else DEFAULT_LANGUAGE


@cache
def _agency_names(path: Path) -> dict[str, dict[str, str]]:
    try:
        registry = load_agency_registry(path)
    except ContractError:
        return {}
    return {inst.agency_id: {lang: inst.display_name(lang) for lang in LANGUAGES} for inst in registry.instances}


@cache
def _mapped_asset_labels(path: Path) -> dict[str, dict[str, str]]:
    """Asset kind -> language -> label, as the mapped kinds' ``contributes.assets.label`` give them."""
    try:
        registry = load_agency_registry(path)
    except ContractError:
        return {}
    return {kind.mapping.assets.asset_kind: dict(kind.mapping.assets.label) for kind in registry.kinds.values()
            if kind.mapping.assets is not None}


def asset_noun(asset_kind: str, language: str) -> str:
    """What a notice calls an asset of ``asset_kind``: the built-in kinds' word, a mapped kind's label, or the id."""
    known = ASSET[language].get(asset_kind)
    if known is not None:
        return known
    return _mapped_asset_labels(registry_path()).get(asset_kind, {}).get(language, asset_kind)


def agency_name(agency_id: str, language: str) -> str:
    """The agency's name in ``language`` as the registry spells it (its id if it is not registered)."""
    return _agency_names(registry_path()).get(agency_id, {}).get(language, agency_id)


def sentence(notice: Mapping[str, object], language: str = DEFAULT_LANGUAGE) -> str:
    """The notice of one ``debtor_notifications`` row in ``language``: never the raw asset reference."""
    language = language_of(language)
    currency = current_profile().currency  # amounts are in its minor unit: rials, or the riyal's halalas
    kind = str(notice["asset_kind"])
    template = (CREDITOR_PAYOUT_SENTENCE if notice.get("recipient") == "creditor"
                else PAYOUT_SENTENCE if notice["action"] == "payout" else SENTENCE)
    return template[language].format(
        action=ACTION[language].get(str(notice["action"]), str(notice["action"])),
        amount=grouped(int(str(notice["amount_rial"])), digits="latin", minor_unit=currency.minor_unit),
        currency=currency.name(language),
        asset=f"{asset_noun(kind, language)} {mask(str(notice['asset_ref']))}",
        agency=agency_name(str(notice["agency_id"]), language),
        reason=REASON[language].get(str(notice["reason_code"]), str(notice["reason_code"])),
        case=notice["case_id"],
    )


def subject(notice: Mapping[str, object], language: str = DEFAULT_LANGUAGE) -> str:
    return SUBJECT[language_of(language)].format(case=notice["case_id"])
