"""Every agency has an Arabic name written in Arabic (not Persian copied), and every Arabic text uses it: the
debtor's notice, the asset report, the portal; an agency without one is named in English, never in Persian."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from estelam.contracts.registry import load_agency_registry, load_receivers
from estelam.core.settings import PROJECT_ROOT
from estelam.outputs import texts
from estelam.reporting import asset_report
from tests.settings_support import override

#: Letters Persian writes and Arabic does not (Persian yeh and keheh, gaf, peh, tcheh, jeh).
PERSIAN_ONLY = re.compile("[یکگپچژ]")
ARABIC_LETTER = re.compile("[\u0621-\u064a]")


def test_every_agency_and_receiver_has_a_real_arabic_name() -> None:
    registry = load_agency_registry()
    named = [(i.agency_id, i.name_ar, i.name_fa) for i in registry.instances]
    named += [(r.agency_id, r.name_ar, r.name_fa) for r in load_receivers()]
    assert len(named) >= 33
    for agency_id, arabic, persian in named:
        assert arabic and ARABIC_LETTER.search(arabic), f"{agency_id} has no Arabic name"
        assert not PERSIAN_ONLY.search(arabic), f"{agency_id}: {arabic!r} is spelt in Persian"
        assert arabic != persian, agency_id
    assert registry.instance("bank_melli").display_name("ar") == "بنك ملي إيران"
    assert registry.instance("bank_melli").display_name("fa") == "بانک ملی ایران"


def test_instances_stay_the_last_section_of_the_registry() -> None:
    text = (PROJECT_ROOT / "contracts" / "agencies.yaml").read_text(encoding="utf-8")
    sections = re.findall(r"^([a-z_]+):", text, flags=re.MULTILINE)
    assert sections[-1] == "instances", sections


def _registry_without_arabic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project's contracts with bank_sina's Arabic name removed."""
    import shutil

    folder = tmp_path / "contracts"
    shutil.copytree(PROJECT_ROOT / "contracts", folder)
    registry = folder / "agencies.yaml"
    lines = registry.read_text(encoding="utf-8").splitlines()
    at = lines.index("  - agency_id: bank_sina")
    end = next(i for i in range(at + 1, len(lines)) if lines[i].startswith("  - "))
    kept = [line for i, line in enumerate(lines) if not (at < i < end and "name_ar:" in line)]
    assert len(kept) == len(lines) - 1
    registry.write_text("\n".join(kept) + "\n", encoding="utf-8")
    override(monkeypatch, contracts_dir=folder)
    texts._agency_names.cache_clear()


NOTICE = {"notification_id": "n1", "case_id": "1405-000001", "person_id": "x", "action": "freeze",
          "amount_rial": 1_500_000, "asset_kind": "bank_account", "asset_ref": "IR000000000000000000001234",
          "reason_code": "new_freeze"}


def test_the_arabic_notice_names_the_bank_in_arabic_or_else_in_english(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    texts._agency_names.cache_clear()
    arabic = texts.sentence(NOTICE | {"agency_id": "bank_melli"}, "ar")
    assert "بنك ملي إيران" in arabic and "بانک" not in arabic and "****1234" in arabic
    assert "بانک ملی ایران" in texts.sentence(NOTICE | {"agency_id": "bank_melli"}, "fa")
    _registry_without_arabic(tmp_path, monkeypatch)
    try:
        fallback = texts.sentence(NOTICE | {"agency_id": "bank_sina"}, "ar")
        assert "Sina Bank" in fallback and "بانک سینا" not in fallback
    finally:
        texts._agency_names.cache_clear()


def test_the_arabic_asset_report_names_agencies_in_arabic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = asset_report.agency_names()
    assert names["bank_mellat"] == {"fa": "بانک ملت", "ar": "بنك ملت", "en": "Bank Mellat"}
    now = datetime(2026, 11, 21, 21, 30, tzinfo=UTC)
    case = {"case_id": "1405-942892", "court_code": "TBZ-01", "person_id": "19516289464", "debtor_name": "د",
            "creditor_name": "ك", "case_status": "open", "filed_at": now, "amount_owed_rial": 10, "paid_rial": 0,
            "outstanding_rial": 10, "case_frozen_rial": 0, "coverage_ratio": 0, "last_event_type": "filed",
            "last_event_at": now}
    agencies = [{"agency_id": a, "agency_kind": "bank", "status": "deadline_missed", "reason": "no answer",
                 "last_answered_at": None, "deadlines_missed": 1, "stale": True, "name": names[a]}
                for a in ("bank_mellat", "bank_sina")]
    report = asset_report.CaseReport(case=case, assets=[], events=[], agencies=agencies, generated_at=now)
    html = asset_report.render_case_report(report, lang="ar")
    assert "بنك ملت" in html and "بنك سينا" in html and "بانک ملت" not in html
    _registry_without_arabic(tmp_path, monkeypatch)
    texts._agency_names.cache_clear()
    agencies[1]["name"] = asset_report.agency_names()["bank_sina"]
    assert agencies[1]["name"]["ar"] == "Sina Bank"
    html = asset_report.render_case_report(report, lang="ar")
    assert "Sina Bank" in html and "بانک سینا" not in html
