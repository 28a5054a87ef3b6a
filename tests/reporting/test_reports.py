"""Asset reports for judges: languages, calendars, digits, stale and silent agencies, the PDF."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from estelam.core.settings import PROJECT_ROOT
from estelam.reporting.asset_report import (
    LABELS,
    CaseReport,
    ReportError,
    render_case_report,
    render_case_report_pdf,
)
from tests.settings_support import override

NOW = datetime(2026, 11, 21, 21, 30, tzinfo=UTC)  # 22 Nov in Tehran and Riyadh: ۱۴۰۵/۰۹/۰۱, ١٤٤٨/٠٦/١٢
FILED = datetime(2026, 9, 1, 5, 52, tzinfo=UTC)  # ۱۴۰۵/۰۶/۱۰ in Tehran
PERSIAN = re.compile(r"[۰-۹]")
ARABIC_INDIC = re.compile(r"[٠-٩]")
IBAN = "IR370160655303979604716063"


def _report() -> CaseReport:
    case = {
        "case_id": "1405-942892", "court_code": "TBZ-01", "person_id": "19516289464", "debtor_name": "گروه صنعتی کیمیا",
        "creditor_name": "بازرگانی کاوه", "case_status": "open", "filed_at": FILED, "amount_owed_rial": 182_640_000,
        "paid_rial": 0, "outstanding_rial": 182_640_000, "case_frozen_rial": 182_640_000,
        "coverage_ratio": Decimal("1.0"), "last_event_type": "invoiced", "last_event_at": FILED + timedelta(days=2),
        "decision_number": "1405-20481117", "judge_name": "زهرا احمدی", "collected_rial": 40_000_000,
        "paid_out_rial": 40_000_000, "owed_now_rial": 142_640_000,
    }
    fresh = {"agency_id": "bank_mellat", "asset_kind": "bank_account", "asset_ref": IBAN, "asset_detail": "ordinary",
             "value_rial": 7_222_390_000, "planned_freeze_rial": 182_640_000, "learned_at": NOW - timedelta(hours=1),
             "is_protected": False, "is_stale": False, "frozen_rial": 182_640_000, "last_ack_status": "done",
             "last_acknowledged_at": NOW - timedelta(minutes=30), "name": {"fa": "بانک ملت", "en": "Bank Mellat"}}
    stale = fresh | {"agency_id": "traffic_police", "asset_kind": "vehicle", "asset_ref": "12ب345-67",
                     "asset_detail": "Pride 131",
                     "value_rial": 4_000_000_000, "planned_freeze_rial": 0, "learned_at": NOW - timedelta(days=30),
                     "is_stale": True, "frozen_rial": 0, "last_ack_status": None, "last_acknowledged_at": None,
                     "name": {"fa": "پلیس راهور", "en": "Traffic police"}}
    agencies = [
        {"agency_id": "bank_mellat", "agency_kind": "bank", "status": "answered", "reason": None,
         "last_answered_at": NOW - timedelta(hours=1), "deadlines_missed": 0, "stale": False,
         "name": {"fa": "بانک ملت", "en": "Bank Mellat"}},
        {"agency_id": "land_registry", "agency_kind": "land_registry", "status": "deadline_missed",
         "reason": "land_registry.inquire_batch: no answer within 30 s", "last_answered_at": None,
         "deadlines_missed": 2, "stale": True, "name": {"fa": "سازمان ثبت", "en": "Land registry"}},
    ]
    timeline = [
        {"seq": 1, "event_type": "filed", "step": None, "occurred_at": FILED, "source": "court", "actor": "TBZ-01",
         "is_automated": True, "amount_rial": 182_640_000, "detail": None},
        {"seq": 2, "event_type": "freeze_order_sent", "step": "execution", "occurred_at": NOW - timedelta(hours=2),
         "source": "hub", "actor": "bank_mellat", "is_automated": True, "amount_rial": 182_640_000,
         "detail": "delivered"},
        {"seq": 3, "event_type": "order_acknowledged", "step": None, "occurred_at": NOW - timedelta(minutes=30),
         "source": "agency", "actor": "bank_mellat", "is_automated": True, "amount_rial": 182_640_000,
         "detail": "done"},
    ]
    return CaseReport(case=case, assets=[fresh, stale], events=[], agencies=agencies, generated_at=NOW,
                      timeline=timeline)


def _text(html: str) -> str:
    body = html.split("<body>", 1)[1]
    return re.sub(r"<[^>]+>", " ", body)


def test_persian_report_is_rtl_with_solar_hijri_tehran_time_and_persian_digits() -> None:
    html = render_case_report(_report())  # the first version's one-argument call
    assert '<html lang="fa-IR" dir="rtl">' in html
    text = _text(html)
    assert "۱۴۰۵/۰۶/۱۰ ۰۹:۲۲" in text  # 05:52 UTC is 09:22 in Tehran
    assert "۷٬۲۲۲٬۳۹۰٬۰۰۰" in text  # grouped with the Arabic separator
    assert "2026-09-01 05:52 UTC" in text  # UTC kept underneath
    assert 'datetime="2026-09-01T05:52:00+00:00"' in html
    assert IBAN in text  # identifiers keep their Latin form
    assert not ARABIC_INDIC.search(text)
    assert "ریال" in text and "بانک ملت" in text


def test_the_report_names_the_decision_and_its_judge_and_shows_what_was_collected_and_paid_out() -> None:
    persian = _text(render_case_report(_report()))
    assert "شماره اجراییه" in persian and "۱۴۰۵-۲۰۴۸۱۱۱۷" in persian and "زهرا احمدی" in persian
    assert "وصول‌شده به حساب دادگستری" in persian and "پرداخت‌شده به محکوم‌له" in persian
    assert "۱۴۲٬۶۴۰٬۰۰۰" in persian  # still owed: 182,640,000 owed less 40,000,000 collected
    english = _text(render_case_report(_report(), lang="en"))
    flat = " ".join(english.replace("\u2066", "").replace("\u2069", "").replace("&#39;", "'").split())
    assert "Decision number 1405-20481117 Enforcement judge" in flat
    assert "Collected to the court's account (IRR) 40,000,000 Paid out to the creditor (IRR) 40,000,000" in flat


def test_saudi_variant_uses_umm_al_qura_riyadh_time_and_arabic_indic_digits() -> None:
    html = render_case_report(_report(), lang="fa", variant="sa")
    assert 'lang="fa-SA" dir="rtl"' in html
    text = _text(html)
    assert "١٤٤٨/٠٦/١٢" in text  # 22 Nov 2026 (Riyadh) = 12 Jumada al-Akhirah 1448
    assert "١٤٤٨/٠٣/١٩ ٠٨:٥٢" in text  # filing: 05:52 UTC is 08:52 in Riyadh, 19 Rabi al-Awwal 1448
    # amounts are kept in the profile's minor unit: 7,222,390,000 halalas are 72,223,900.00 riyals
    assert "٧٢٬٢٢٣٬٩٠٠٫٠٠" in text and "ریال سعودی" in text and "٧٬٢٢٢٬٣٩٠٬٠٠٠" not in text
    assert not PERSIAN.search(text.replace("ریال سعودی", ""))  # no Persian digits in a Saudi report


def test_english_variant_is_ltr_with_latin_digits_and_the_local_calendar_in_brackets() -> None:
    ir = _text(render_case_report(_report(), lang="en"))
    assert "2026-09-01 09:22 (1405/06/10)" in ir and "7,222,390,000" in ir and "IRR" in ir
    assert not PERSIAN.search(ir.replace("گروه صنعتی کیمیا", "")) and not ARABIC_INDIC.search(ir)
    sa_html = render_case_report(_report(), lang="en", variant="sa")
    assert '<html lang="en-SA" dir="ltr">' in sa_html
    assert "2026-09-01 08:52 (1448/03/19)" in _text(sa_html) and "SAR" in sa_html


@pytest.mark.parametrize(("lang", "stale_words"), [("fa", "قدیمی"), ("en", "stale")])
def test_stale_data_and_silent_agencies_are_marked(lang: str, stale_words: str) -> None:
    html = render_case_report(_report(), lang=lang)
    assert html.count('class="stale"') >= 2  # the old vehicle, the silent land registry
    assert stale_words in _text(html)
    silent = "بی‌پاسخ در مهلت مقرر" if lang == "fa" else "no answer within the deadline"
    assert f"⚠ {silent}" in _text(html)


def test_freezes_and_acknowledgements_and_the_timeline_are_shown() -> None:
    text = _text(render_case_report(_report(), lang="en"))
    freezes = text.split("Freezes and acknowledgements", 1)[1].split("Agencies asked", 1)[0]
    assert "Bank Mellat" in freezes and "182,640,000" in freezes and "done" in freezes
    assert "Traffic police" not in freezes  # nothing frozen there
    timeline = text.split("Case timeline", 1)[1]
    assert timeline.index("enforcement filed") < timeline.index("freeze order sent") < timeline.index(
        "order acknowledged")
    assert "Signature" in text and "Court seal" in text


def test_unknown_language_or_variant_is_refused() -> None:
    with pytest.raises(ReportError, match="language"):
        render_case_report(_report(), lang="de")
    with pytest.raises(ReportError, match="variant"):
        render_case_report(_report(), variant="eg")


@pytest.mark.parametrize(("lang", "variant"), [("fa", "ir"), ("en", "sa")])
def test_pdf_embeds_a_persian_font_and_carries_the_text(lang: str, variant: str, tmp_path: Path) -> None:
    pdf = render_case_report_pdf(_report(), lang=lang, variant=variant)
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdffonts") is None or shutil.which("pdftotext") is None:
        assert b"Naskh" in pdf
        return
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Naskh" in fonts
    assert all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:])  # every font embedded
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert IBAN in text
    if lang == "fa":
        assert "۷٬۲۲۲٬۳۹۰٬۰۰۰" in text or "۰۰۰٬۳۹۰٬۲۲۲٬۷" in text  # extraction may reverse RTL runs
        assert re.search(r"[\u0600-\u06ff]{4}", text)  # Persian words, not boxes
    else:
        assert "72,223,900.00" in text and "Debtor's asset report" in text  # halalas as riyals


def test_the_demo_writes_the_pdf_beside_the_html(demo_cycle) -> None:  # type: ignore[no-untyped-def]
    html = Path(demo_cycle.report_path)
    assert html.is_file() and html.with_suffix(".pdf").read_bytes().startswith(b"%PDF")
    assert '<html lang="fa-IR" dir="rtl">' in html.read_text(encoding="utf-8")


def test_a_case_from_the_warehouse_has_its_timeline_and_every_agency(demo_cycle,  # type: ignore[no-untyped-def]
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from estelam.reporting.asset_report import default_case, load_case_report

    override(monkeypatch, data_dir=demo_cycle.data_dir)
    report = load_case_report(default_case())
    assert report.timeline and [e["seq"] for e in report.timeline] == sorted(e["seq"] for e in report.timeline)
    assert report.agencies and all("deadlines_missed" in a and "stale" in a for a in report.agencies)
    for lang, variant in (("fa", "ir"), ("en", "sa")):
        assert render_case_report(report, lang=lang, variant=variant).count("<tr") > len(report.timeline)
    with pytest.raises(ReportError, match="no case"):
        load_case_report("0000-000000")


@pytest.mark.parametrize(("lang", "ordinary", "found"), [("fa", "عادی", "شناسایی‌شده"), ("ar", "عادي", "المكتشف"),
                                                         ("en", "ordinary", "Found")])
def test_every_language_has_totals_next_steps_and_translated_account_kinds(lang: str, ordinary: str,
                                                                           found: str) -> None:
    html = render_case_report(_report(), lang=lang)
    assert f'dir="{"ltr" if lang == "en" else "rtl"}"' in html
    text = _text(html)
    assert found in text and ordinary in text
    if lang != "en":
        assert "ordinary" not in text  # the account kind is translated, not shown as stored
    totals = text.split(LABELS[lang]["totals"], 1)[1].split(LABELS[lang]["next_steps"], 1)[0]
    # found 11,222,390,000 (account and vehicle); frozen 182,640,000; available = the rest, nothing protected
    money = {"fa": "۱۱٬۲۲۲٬۳۹۰٬۰۰۰", "ar": "١١٬٢٢٢٬٣٩٠٬٠٠٠", "en": "11,222,390,000"}[lang]
    assert money in totals
    steps = text.split(LABELS[lang]["next_steps"], 1)[1].split(LABELS[lang]["assets"], 1)[0]
    # the land registry is silent, the vehicle freeze unacknowledged, the debt fully covered: collect
    assert LABELS[lang]["ns_collect"].split("{pct}", 1)[1][:12].strip() in steps
    assert LABELS[lang]["ns_reinquire"].split(":", 1)[0].split("}", 1)[1][:10].strip() in steps


def test_answered_agencies_are_one_line_and_only_exceptions_are_rows() -> None:
    report = _report()
    answered = report.agencies[0]
    report.agencies.extend(answered | {"agency_id": f"bank_{i}", "name": {}} for i in range(30))
    text = _text(render_case_report(report, lang="en"))
    agencies = text.split("Agencies asked", 1)[1].split("Case timeline", 1)[0]
    assert "31 agencies gave a valid, recent answer" in agencies
    assert "Land registry" in agencies and "bank_7" not in agencies


def test_case_numbers_and_ibans_are_isolated_left_to_right() -> None:
    html = render_case_report(_report(), lang="fa")
    assert "\u2066۱۴۰۵-۹۴۲۸۹۲\u2069" in html  # LRI ... PDI: one visual order in WeasyPrint and browsers
    assert f"\u2068{IBAN}\u2069" in html  # an asset id by its first strong character (an IBAN LTR, a plate RTL)


def test_next_steps_follow_the_case_state() -> None:
    report = _report()
    assert [key for key, _ in report.next_steps()] == ["ns_reinquire", "ns_collect"]
    paid = CaseReport(case=report.case | {"outstanding_rial": 0, "owed_now_rial": 0}, assets=report.assets,
                      events=[], agencies=report.agencies, generated_at=NOW)
    assert [key for key, _ in paid.next_steps()] == ["ns_release"]
    # what was collected to the court's account counts as paid: the freeze need only cover the rest
    collected = CaseReport(case=report.case | {"case_frozen_rial": 100_000_000, "collected_rial": 90_000_000,
                                               "owed_now_rial": 92_640_000}, assets=report.assets, events=[],
                           agencies=report.agencies, generated_at=NOW)
    assert [key for key, _ in collected.next_steps()] == ["ns_reinquire", "ns_collect"]
    short = CaseReport(case=report.case | {"case_frozen_rial": 100_000_000}, assets=report.assets, events=[],
                       agencies=report.agencies, generated_at=NOW)
    assert short.next_steps()[-1] == ("ns_freeze_pending", {"amount": 42_640_000})  # only what is missing
    uncovered = CaseReport(case=report.case | {"case_frozen_rial": 28_528_000},
                           assets=[a | {"is_protected": True} for a in report.assets], events=[],
                           agencies=[], generated_at=NOW)
    assert [key for key, _ in uncovered.next_steps()] == ["ns_ask", "ns_uncovered"]
    assert uncovered.totals.available_rial == 0 and uncovered.totals.protected_rial == 11_222_390_000


@pytest.mark.parametrize("lang", ["fa", "ar", "en"])
def test_pdf_pages_render_to_images(lang: str, tmp_path: Path) -> None:
    """Every language's PDF, rendered to PNG under .test-artifacts/report/ for people to look at."""
    pdf = render_case_report_pdf(_report(), lang=lang)
    path = tmp_path / f"report-{lang}.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is not installed: `make browser` installs poppler-utils")
    folder = Path(os.environ.get("ESTELAM_TEST_ARTIFACTS", PROJECT_ROOT / ".test-artifacts")) / "report"
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "70", str(path), str(folder / f"asset_report-{lang}")], check=True)
    pages = sorted(folder.glob(f"asset_report-{lang}*.png"))
    assert pages and all(p.stat().st_size > 10_000 for p in pages)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert LABELS[lang]["title"].split()[0] in text


def test_facts_about_the_debtor_are_a_section_per_agency_labelled_from_its_mapping() -> None:
    from dataclasses import replace as with_

    from estelam.contracts.registry import load_agency_registry
    from estelam.core.domain import AgencyKind
    from estelam.reporting.facts import FactSection

    mapping = load_agency_registry().kinds[AgencyKind("civil_registry")].mapping
    assert mapping is not None and mapping.facts is not None
    labels = mapping.facts.labels
    section = FactSection("civil_registry", "civil_registry", mapping.facts.title,
                          {"fa": "سازمان ثبت احوال کشور", "ar": "الأحوال", "en": "Civil registration"}, NOW,
                          [[(labels["vital_status"], "deceased"), (labels["address"], "تهران، خیابان آزادی")]])
    empty = FactSection("social_security", "social_security", {"fa": "تأمین", "ar": "الضمان", "en": "Social security"},
                        {}, NOW, [])
    report = with_(_report(), facts=[section, empty])
    english = _text(render_case_report(report, "en"))
    assert "Other facts about the debtor" in english and "Civil registry" in english
    assert "Alive or deceased" in english and "deceased" in english and "Nothing on record." in english
    persian = _text(render_case_report(report, "fa"))
    assert "وضعیت حیات" in persian and "تهران، خیابان آزادی" in persian and "سابقه‌ای ثبت نشده است." in persian
    assert "Other facts" not in _text(render_case_report(_report(), "en"))  # no mapped kind answered: no section
