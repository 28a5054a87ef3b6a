"""The whole cycle under the Saudi profile (``ESTELAM_JURISDICTION=sa``), through real Airflow: the Saudi registry's
agencies, the Saudi world, a Saudi court's cases. The warehouse must hold Saudi ids that pass the Saudi checks,
SA IBANs at SAMA bank codes, amounts in halalas, and the judge's report must be Arabic with Umm al-Qura dates
and riyal amounts (HTML and PDF; the PDF is rendered to an image, so a person can look at it too)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from estelam.contracts.registry import load_agency_registry
from estelam.core.calendars import grouped, to_hijri
from estelam.core.identifiers import is_iban, person_key
from estelam.core.jurisdiction import load_profile
from simulators.demo import DemoResult, dag_sequence
from tests.conftest import E2E_DAYS
from tests.settings_support import override

pytestmark = pytest.mark.e2e

SA = load_profile("sa")
#: Smaller than the Iranian end-to-end run: the same code path, a Saudi world.
SA_PERSONS = 40
SA_CASES = 16


@pytest.fixture(scope="module")
def saudi_cycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoResult]:
    from estelam.reporting.asset_report import write_case_report
    from simulators.demo import running

    data = tmp_path_factory.mktemp("e2e-sa")
    with pytest.MonkeyPatch.context() as mp:
        override(mp, data_dir=data, jurisdiction="sa")
        with running(days=E2E_DAYS, persons=SA_PERSONS, cases=SA_CASES) as live:
            result = live.result
        result.report_path = str(write_case_report())
        result.data_dir = data  # type: ignore[attr-defined]
        result.bank_codes = {i.agency_id: i.iban_bank_code  # type: ignore[attr-defined]
                             for i in load_agency_registry().instances}
        yield result


def _query(data: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_every_dag_succeeds_under_the_saudi_profile(saudi_cycle: DemoResult) -> None:
    assert [name for name, _, _ in saudi_cycle.dag_states] == list(dag_sequence(E2E_DAYS))
    assert all(day.invariants_held for day in saudi_cycle.days), [d.invariants for d in saudi_cycle.days]
    assert saudi_cycle.judge_token == "demo-judge-sa" and saudi_cycle.judge_acts  # a Saudi judge acts
    assert all(state == "success" for _, state, _ in saudi_cycle.dag_states)
    for mart in ("financial_convictions", "asset_report", "freeze_plan"):
        assert saudi_cycle.summary[f"{mart} rows"] > 0, mart


def test_saudi_ids_pass_the_saudi_check(saudi_cycle: DemoResult) -> None:
    data = saudi_cycle.data_dir  # type: ignore[attr-defined]
    persons = _query(data, "select person_id, person_key, identifier_scheme from main.persons")
    assert len(persons) > 10
    for person_id, key, scheme in persons:
        assert person_key(str(person_id), SA.person_id_schemes) == key, person_id
        assert str(key).split(":")[0] in {"sa-nid", "sa-iqama", "sa-cr"} and str(scheme).startswith("saudi_")
    assert {str(s) for _, _, s in persons} >= {"saudi_national_id", "saudi_unified_number"}


def test_accounts_are_sa_ibans_at_their_banks_and_mistyped_ones_are_quarantined(saudi_cycle: DemoResult) -> None:
    data = saudi_cycle.data_dir  # type: ignore[attr-defined]
    codes = saudi_cycle.bank_codes  # type: ignore[attr-defined]
    accounts = _query(data, "select agency_id, asset_ref, value_rial from staging.stg_kinds__assets "
                      "where agency_kind = 'bank'")
    assert accounts
    for agency_id, iban, balance in accounts:
        assert re.fullmatch(SA.pattern("iban"), str(iban)) and is_iban(str(iban))
        assert str(iban)[4:6] == codes[agency_id]
        assert isinstance(balance, int) and balance % 100 == 0  # halalas of whole riyals
    quarantined = list((data / "quarantine" / "bank_accounts").glob("*/*.parquet"))
    if quarantined:
        with duckdb.connect() as con:
            reasons = {str(r) for (r,) in con.execute(
                "select distinct unnest(_reasons) from read_parquet(?)", [[str(p) for p in quarantined]]).fetchall()}
        assert "iban: check digit iban failed" in reasons


def test_collected_halalas_are_paid_out_to_the_creditors_sa_ibans(saudi_cycle: DemoResult) -> None:
    data = saudi_cycle.data_dir  # type: ignore[attr-defined]
    cases = {c: (iban, collected) for c, iban, collected in _query(
        data, "select case_id, creditor_iban, collected_rial from intermediate.int_cases where collected_rial > 0")}
    paid = {(case_id, iban): amount for (_, case_id, iban), amount in saudi_cycle.payouts.items()}
    assert paid == {(c, iban): collected for c, (iban, collected) in cases.items()}
    assert all(str(iban).startswith("SA") for _, iban in paid)
    assert all(agency == "bank_snb" for agency, _, _ in saudi_cycle.payouts)  # the court's account's bank


def test_the_judges_report_is_arabic_with_umm_al_qura_dates_and_riyals(saudi_cycle: DemoResult,
                                                                       tmp_path: Path) -> None:
    data = saudi_cycle.data_dir  # type: ignore[attr-defined]
    html_path = Path(saudi_cycle.report_path)
    html = html_path.read_text(encoding="utf-8")
    case_id = html_path.stem.removeprefix("asset_report-")
    (owed, filed_at), = _query(data, f"select amount_owed_rial, filed_at from intermediate.int_cases "
                                     f"where case_id = '{case_id}'")
    assert 'lang="ar-SA" dir="rtl"' in html
    assert "ريال سعودي" in html and "ریال" not in html  # riyals, and no Persian word for them
    assert grouped(int(str(owed)), digits="ar", minor_unit=2) in html  # halalas shown as riyals, Arabic-Indic
    hijri_year = to_hijri(filed_at.date())[0]  # type: ignore[attr-defined]
    assert str(hijri_year).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")) in html
    assert not re.search("[۰-۹]", html)  # no Persian digits in a Saudi report
    pdf = html_path.with_suffix(".pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: the PDF is not rendered to an image")
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True, capture_output=True)
    pages = list(tmp_path.glob("page*.png"))
    assert pages and pages[0].stat().st_size > 10_000  # a rendered page, not a blank one
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert re.search(r"[\u0600-\u06ff]{4}", text) and re.search("[٠-٩]", text)  # Arabic words and digits
