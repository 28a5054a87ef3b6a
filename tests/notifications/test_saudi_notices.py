"""A Saudi deployment's notices name the riyal and show halalas as riyals, and name Saudi agencies in Arabic."""

from __future__ import annotations

import pytest

from estelam.outputs import texts
from tests.settings_support import override

NOTICE = {"action": "payout", "amount_rial": 22_134_350, "asset_kind": "bank_account",
          "asset_ref": "SA0380000000608010167519", "agency_id": "bank_snb", "reason_code": "payout",
          "case_id": "1447-001403"}


def test_a_saudi_payout_notice_is_in_riyals(monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, jurisdiction="sa")
    assert texts.sentence(NOTICE, "en") == ("221,343.50 riyal paid from the court's account at The Saudi National "
                                            "Bank to the creditor's account ****7519, enforcement case 1447-001403")
    arabic = texts.sentence(NOTICE, "ar")
    assert "221,343.50 ريال" in arabic and "البنك الأهلي السعودي" in arabic and "SA038" not in arabic


def test_an_iranian_notice_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, jurisdiction="ir")
    notice = NOTICE | {"agency_id": "bank_melli", "amount_rial": 221_343_300}
    assert texts.sentence(notice, "en").startswith("221,343,300 rial paid from the court's account at Bank Melli Iran")
