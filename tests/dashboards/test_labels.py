"""The dashboard's words, numbers, money and dates in Persian, Arabic and English, without a browser: every label in
every language (Arabic in Arabic letters, not Persian ones), Arabic-Indic digits with the Arabic separators, Umm
al-Qura dates in Riyadh time, amounts kept in minor units shown in the profile's major unit with its currency's
name, and the deployment profile's language first."""

from __future__ import annotations

import dataclasses
import re
import string
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import yaml

from dashboards import alert_data, kpi_data
from dashboards.labels import (
    AR,
    EN,
    FA,
    LABELS,
    LANGUAGE_NAMES,
    LANGUAGES,
    STEP_NAMES,
    cell,
    column_label,
    day_text,
    default_language,
    digits,
    instant_text,
    jurisdiction_time,
    money,
    number,
    percent,
    readable,
    step_name,
    t,
)
from estelam.core import settings
from estelam.core.jurisdiction import load_profile
from estelam.outputs.alerts import KINDS, SNAPSHOT_SCHEMA
from tests.settings_support import override

IR, SA = load_profile("ir"), load_profile("sa")
DBT_MODELS = settings.PROJECT_ROOT / "dbt" / "models"
#: Letters Persian has and Arabic does not (Persian yeh and kaf included): none may appear in an Arabic label.
PERSIAN_ONLY = set("پچژگکی")
ARABIC_INDIC = set("٠١٢٣٤٥٦٧٨٩")
#: 1 Ramadan 1445 and 1 Muharram 1446 in the Umm al-Qura calendar, as the Saudi calendar published them.
RAMADAN_1445 = date(2024, 3, 11)
MUHARRAM_1446 = date(2024, 7, 7)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _mart_columns(mart: str) -> list[str]:
    (path,) = DBT_MODELS.rglob(f"{mart}.yml")
    (model,) = yaml.safe_load(path.read_text(encoding="utf-8"))["models"]
    return [column["name"] for column in model["columns"]]


@pytest.mark.parametrize("table", [LABELS, STEP_NAMES], ids=["labels", "steps"])
def test_every_label_is_in_every_language_with_the_same_placeholders(table: dict[str, tuple[str, ...]]) -> None:
    for key, label in table.items():
        assert len(label) == len(LANGUAGES) and all(text.strip() for text in label), key
        assert len({frozenset(_placeholders(text)) for text in label}) == 1, (key, label)


def test_arabic_labels_are_written_in_arabic_letters() -> None:
    for key, label in [*LABELS.items(), *STEP_NAMES.items()]:
        arabic = label.ar
        assert re.search("[\u0621-\u064a]", arabic), (key, arabic)
        assert not PERSIAN_ONLY & set(arabic), (key, arabic)
        assert "\u200c" not in arabic, (key, arabic)  # the zero-width non-joiner is Persian spelling
        assert not re.search("[0-9۰-۹]", arabic.replace("CSV", "")), (key, arabic)  # Arabic-Indic digits only
        assert arabic != label.fa, key
    assert t("freezes", AR) == "الحجوزات" and t("release_orders", AR) == "أوامر رفع الحجز"
    assert t("agency", AR) == "الجهة" and t("payout_orders", AR) == "أوامر الصرف لطالب التنفيذ"


def test_every_published_column_step_agency_kind_and_alert_has_a_label() -> None:
    for mart in kpi_data.MARTS:
        for column in _mart_columns(mart):
            assert column in LABELS, (mart, column)
    steps = pd.read_csv(next(settings.PROJECT_ROOT.joinpath("dbt").rglob("enforcement_steps.csv")))
    assert set(steps["step"]) | {"whole_request"} <= set(STEP_NAMES)
    for profile in (IR, SA):
        registry = yaml.safe_load((settings.DEFAULT_CONTRACTS_DIR / profile.agencies).read_text(encoding="utf-8"))
        for instance in registry["instances"]:  # a kind declared by a mapping is labelled by its mapping's title
            label = t(f"agency_kind_{instance['kind']}", AR)
            assert label != f"agency_kind_{instance['kind']}", (profile.id, instance["kind"])
    for kind in KINDS:
        assert f"kind_{kind}" in LABELS, kind
    assert {f"state_{s}" for s in ("queued", "sent", "delivered", "failed")} <= set(LABELS)


def test_unknown_keys_fall_back_and_unknown_languages_are_refused() -> None:
    assert t("no_such_key", AR) == "no_such_key" and step_name("no_such_step", AR) == "no_such_step"
    with pytest.raises(ValueError, match="speaks fa, ar, en, not 'de'"):
        t("title", "de")
    with pytest.raises(ValueError, match="not 'de'"):
        number(1, "de")
    assert [LANGUAGE_NAMES[lang] for lang in LANGUAGES] == ["فارسی", "العربية", "English"]


def test_numbers_and_percents_in_each_language() -> None:
    assert number(1234567.5, AR, decimals=1) == "١٬٢٣٤٬٥٦٧٫٥"
    assert number(1234567.5, FA, decimals=1) == "۱٬۲۳۴٬۵۶۷٫۵"
    assert number(1234567.5, EN, decimals=1) == "1,234,567.5"
    assert percent(0.4531, AR) == "٤٥٫٣٪" and percent(0.4531, FA) == "۴۵٫۳٪" and percent(0.4531, EN) == "45.3%"
    assert number(None, AR) == percent(float("nan"), AR) == cell(pd.NA, AR) == "—"
    assert cell(42, AR) == "٤٢" and cell(3.25, AR) == "٣٫٢٥"
    assert [cell(v, AR) for v in pd.Series([1234, None], dtype="Int64")] == ["١٬٢٣٤", "—"]  # a masked count column
    assert digits("RUH-01", AR) == "RUH-٠١" and digits("1405-000010", FA) == "۱۴۰۵-۰۰۰۰۱۰"


def test_arabic_dates_are_umm_al_qura_in_riyadh_time() -> None:
    assert day_text(RAMADAN_1445, AR) == "١٤٤٥/٠٩/٠١" and day_text(MUHARRAM_1446, AR) == "١٤٤٦/٠١/٠١"
    assert day_text(RAMADAN_1445, FA) == "۱۴۰۲/۱۲/۲۱" and day_text(RAMADAN_1445, EN) == "2024-03-11"
    # 21:30 UTC on 10 March is 00:30 on 11 March in Riyadh (UTC+3): already 1 Ramadan there
    evening = datetime(2024, 3, 10, 21, 30, tzinfo=UTC)
    assert instant_text(evening, AR) == "١٤٤٥/٠٩/٠١ ٠٠:٣٠"
    assert instant_text(evening, EN) == "2024-03-10 21:30 UTC"
    assert cell(evening, AR) == "١٤٤٥/٠٩/٠١ ٠٠:٣٠"
    assert cell(pd.Timestamp(MUHARRAM_1446), AR) == "١٤٤٦/٠١/٠١"  # a DuckDB DATE: a day, no zone shift
    assert jurisdiction_time(evening, SA) == "1445/09/01 00:30 Riyadh"
    assert jurisdiction_time(evening, IR) == "1402/12/21 01:00 Tehran"


def test_money_is_shown_in_the_major_unit_of_the_profiles_currency() -> None:
    assert money(123456, AR, SA.currency) == "١٬٢٣٤٫٥٦"  # halalas as riyals
    assert money(123456, EN, SA.currency) == "1,234.56"
    assert money(5, AR, SA.currency) == "٠٫٠٥" and money(-250, EN, SA.currency) == "-2.50"
    assert money(123456, FA, IR.currency) == "۱۲۳٬۴۵۶"  # rials have no minor unit
    assert money(123456.0, AR, SA.currency) == "١٬٢٣٤٫٥٦"  # a masked column arrives as whole floats
    assert money(None, AR, SA.currency) == money(pd.NA, AR, SA.currency) == "—"
    for bad in (1234.5, True, "1234"):
        with pytest.raises(ValueError, match="whole number of minor units"):
            money(bad, AR, SA.currency)


def test_a_money_column_is_divided_and_named_in_the_currency_the_csv_keeps_integers() -> None:
    frozen = pd.DataFrame({"agency_id": ["bank_rajhi"], "freeze_orders": [12], "frozen_rial": [123456789],
                           "ack_seconds_p50": [1.5]})
    shown = readable(frozen, AR, SA.currency)
    assert list(shown.columns) == ["الجهة", "أوامر الحجز", "المبلغ المحجوز (ريال)", "وسيط زمن التأكيد (ثانية)"]
    assert shown.iloc[0].tolist() == ["bank_rajhi", "١٢", "١٬٢٣٤٬٥٦٧٫٨٩", "١٫٥٠"]
    assert readable(frozen, EN, SA.currency)["Frozen (riyal)"].tolist() == ["1,234,567.89"]
    assert readable(frozen, FA, IR.currency)["مبلغ توقیف‌شده (ریال)"].tolist() == ["۱۲۳٬۴۵۶٬۷۸۹"]
    assert frozen.to_csv(index=False).splitlines()[1] == "bank_rajhi,12,123456789,1.5"  # what the download holds
    assert column_label("headline_over_blocked", AR, SA.currency) == "الحجز الزائد (ريال)"
    assert column_label("idle_blocked_rial", EN, IR.currency) == "Blocked with no action (rial)"


def test_the_deployment_profile_sets_the_first_language_and_the_currency(monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_language(IR) == FA and default_language(SA) == AR
    assert default_language() == FA  # the default deployment is Iranian
    override(monkeypatch, jurisdiction="sa")
    assert default_language() == AR
    assert t("frozen_rial", EN) == "Frozen (riyal)" and t("frozen_rial", AR) == "المبلغ المحجوز (ريال)"
    assert readable(pd.DataFrame({"paid_out_rial": [100]}), AR).iloc[0, 0] == "١٫٠٠"
    with pytest.raises(ValueError, match="language 'tr' has no dashboard labels"):
        default_language(dataclasses.replace(SA, language="tr", languages=("tr",)))


def _snapshot(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Alerts shaped as the published snapshot is (its schema), without raising them."""
    blank = dict.fromkeys(SNAPSHOT_SCHEMA.names)
    return pa.Table.from_pylist([blank | row for row in rows], schema=SNAPSHOT_SCHEMA).to_pandas()


def test_the_alerts_table_in_arabic_under_the_saudi_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, jurisdiction="sa")
    raised = datetime(2024, 3, 10, 21, 30, tzinfo=UTC)
    frame = _snapshot([{"alert_id": "agency_deadline_missed:r1", "kind": "agency_deadline_missed",
                        "severity": "warning", "subject": "bank_rajhi missed its reply deadline", "detail": "",
                        "case_id": "RUH-1445-000010", "agency_id": "bank_rajhi", "raised_at": raised,
                        "email_state": "delivered", "email_attempts": 1, "webhook_state": "failed",
                        "webhook_attempts": 3, "webhook_reason": "unreachable"}])
    html = str(alert_data.table_html(frame, AR))
    assert 'dir="rtl"' in html and "مصرف الراجحي" in html and "تجاوز الجهة مهلة الإجابة" in html
    assert "١٤٤٥/٠٩/٠١ ٠٠:٣٠" in html and "2024-03-10 21:30 UTC" in html  # Umm al-Qura, the UTC instant under it
    assert "RUH-١٤٤٥-٠٠٠٠١٠" in html and "سُلِّم" in html and "أخفق ×٣" in html
    # the English subject is its kind's hover title only, not a column of its own as for English readers
    assert html.count("missed its reply deadline") == 1 and "الوصف" not in html
    english = str(alert_data.table_html(frame, EN))
    assert 'dir="ltr"' in english and "Al Rajhi Bank missed its reply deadline" in english
    assert "1445/09/01 00:30 Riyadh" in english
    download = alert_data.download_frame(frame)
    names = ["agency_id", "agency_name_fa", "agency_name_ar", "agency_name_en"]
    assert list(download.columns[list(download.columns).index("agency_id"):][:4]) == names
    assert download.loc[0, "agency_name_ar"] == "مصرف الراجحي"


@pytest.mark.parametrize(("jurisdiction", "first"), [("ir", FA), ("sa", AR)])
def test_the_app_starts_in_the_profiles_language_and_offers_all_three(
        jurisdiction: str, first: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.testing.v1 import AppTest

    override(monkeypatch, jurisdiction=jurisdiction, data_dir=tmp_path)  # nothing published there
    app = AppTest.from_file(str(settings.PROJECT_ROOT / "dashboards" / "app.py"), default_timeout=30).run()
    assert not app.exception
    (chooser,) = app.sidebar.radio
    assert chooser.options == [LANGUAGE_NAMES[lang] for lang in LANGUAGES] and chooser.value == first
    assert app.title[0].value == t("title", first) and app.warning[0].value == t("not_published", first)
    chooser.set_value(AR).run()
    assert app.title[0].value == "لوحة مؤشرات أداء التنفيذ"
    assert any("direction: rtl" in block.value for block in app.markdown)
    chooser.set_value(EN).run()
    assert app.title[0].value == "Enforcement KPI dashboard"
    assert not any("direction: rtl" in block.value for block in app.markdown)
