"""The dashboard of a Saudi deployment (``ESTELAM_JURISDICTION=sa``) in a real browser: it opens in Arabic, right to
left, with Arabic-Indic digits and Umm al-Qura dates, and money kept in halalas reads as riyals, while the CSV keeps
the halalas. The published snapshot is written here in the publication's own shape (Parquet files and a manifest
with each mart's disclosure rules from dbt), so no demo has to run. Screenshots: ``overview-sa.png`` and
``freezes-sa.png`` under ``.test-artifacts/dashboard/``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from estelam.core import settings
from estelam.core.calendars import hijri
from estelam.warehouse.disclosure import DisclosureRules
from estelam.warehouse.published import MANIFEST
from estelam.warehouse.publishing import Publication
from tests.dashboards.test_dashboard import _artifacts, _assert_no_error, _download_csv, _settle, browser  # noqa: F401
from tests.server_support import free_port, serving, streamlit_command

pytestmark = pytest.mark.e2e

PUBLISHED_AT = datetime(2024, 3, 10, 21, 30, tzinfo=UTC)  # 1 Ramadan 1445, 00:30 in Riyadh
FIRST_DAY = date(2024, 3, 8)
#: Halalas: 1,234,567.89 riyals frozen at Al Rajhi, 500.50 of them beyond the debt; 25 riyals idle at Muroor.
FREEZES = [
    {"agency_id": "bank_rajhi", "freeze_orders": 12, "release_orders": 5, "transfer_orders": 3, "payout_orders": 2,
     "cancel_orders": 0, "paid_out_rial": 250_000, "orders_acknowledged": 20, "orders_unacknowledged": 2,
     "ack_seconds_p50": 1.5, "ack_seconds_p95": 4.0, "frozen_rial": 123_456_789, "over_blocked_rial": 50_050,
     "idle_blocked_rial": 0, "idle_blocked_assets": 0},
    {"agency_id": "muroor", "freeze_orders": 7, "release_orders": 0, "transfer_orders": 0, "payout_orders": 0,
     "cancel_orders": 0, "paid_out_rial": 0, "orders_acknowledged": 7, "orders_unacknowledged": 0,
     "ack_seconds_p50": 3.0, "ack_seconds_p95": 9.0, "frozen_rial": 10_000_000, "over_blocked_rial": 0,
     "idle_blocked_rial": 2_500, "idle_blocked_assets": 6},
]


def _disclosure(mart: str) -> DisclosureRules:
    """The mart's disclosure rules as dbt declares them (what a real publication records)."""
    (path,) = (settings.PROJECT_ROOT / "dbt" / "models").rglob(f"{mart}.yml")
    (model,) = yaml.safe_load(path.read_text(encoding="utf-8"))["models"]
    return DisclosureRules.from_meta(model["config"]["meta"]["disclosure"])


def _inquiries() -> list[dict[str, object]]:
    return [{"agency_id": agency, "agency_kind": kind, "day": FIRST_DAY + timedelta(days=n), "inquiries_sent": 40 + n,
             "answered": 36, "rejected": 1, "failed": 3, "deadline_missed": 0, "attempts": 44, "assets_found": 20,
             "response_ms_avg": 120.0, "response_ms_p50": 100.0, "response_ms_p95": 300.0, "answered_late": 0}
            for n in range(3) for agency, kind in (("bank_rajhi", "bank"), ("muroor", "vehicle_registry"))]


@pytest.fixture(scope="module")
def saudi_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("dashboard-sa")
    published = data / "published"
    published.mkdir()
    marts = {"kpi_freezes": FREEZES, "kpi_inquiries_daily": _inquiries()}
    for mart, rows in marts.items():
        pq.write_table(pa.Table.from_pylist(rows), published / f"{mart}.parquet")
    publication = Publication(PUBLISHED_AT, {m: len(r) for m, r in marts.items()},
                              {mart: _disclosure(mart) for mart in marts})
    (published / MANIFEST).write_text(json.dumps(publication.as_dict()), encoding="utf-8")
    return data


@pytest.fixture(scope="module")
def saudi_dashboard(saudi_data: Path) -> Iterator[str]:
    """The dashboard of a Saudi deployment on loopback over the snapshot above; stopped at the end."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serving(streamlit_command(port), data_dir=saudi_data, log_path=_artifacts() / "streamlit-sa.log",
                 health_url=f"{url}/_stcore/health", healthy=lambda body: body == b"ok", what="dashboard",
                 env={"ESTELAM_JURISDICTION": "sa"}):
        yield url


def _direction(page) -> str:  # type: ignore[no-untyped-def]
    return str(page.evaluate("getComputedStyle(document.querySelector('.stMainBlockContainer')).direction"))


def test_a_saudi_deployment_opens_in_arabic_with_riyals(saudi_dashboard: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(saudi_dashboard)
    page.wait_for_selector("[data-testid='stMainBlockContainer'] h1", timeout=30_000)
    _settle(page)
    _assert_no_error(page, "overview (sa)")
    assert page.locator("h1").first.inner_text().strip() == "لوحة مؤشرات أداء التنفيذ"
    assert _direction(page) == "rtl"
    sidebar = page.get_by_test_id("stSidebar").inner_text()
    assert f"آخر نشر: {hijri(PUBLISHED_AT)}" in sidebar and "١٤٤٥/٠٩/٠١ ٠٠:٣٠" in sidebar
    assert "لا تُعرض الأعداد التي تقل عن ٥" in sidebar
    metrics = page.get_by_test_id("stMetric")
    headlines = [metrics.nth(i).inner_text() for i in range(metrics.count())]
    assert any("الحجز الزائد (ريال)" in h and "٥٠٠٫٥٠" in h for h in headlines), headlines
    assert any("الاستعلامات في الفترة" in h and "٢٤٦" in h for h in headlines), headlines  # (40 + 41 + 42) × 2
    page.screenshot(path=str(_artifacts() / "overview-sa.png"), full_page=True)

    page.goto(f"{saudi_dashboard}/freezes")
    page.get_by_role("heading", name="الحجوزات").first.wait_for(timeout=30_000)
    _settle(page)
    _assert_no_error(page, "freezes (sa)")
    metrics = page.get_by_test_id("stMetric")
    shown = [metrics.nth(i).inner_text() for i in range(metrics.count())]
    assert any("المحجوز زيادةً على الدين (ريال)" in m and "٥٠٠٫٥٠" in m for m in shown), shown
    assert any("المحجوز دون أي إجراء (ريال)" in m and "٢٥٫٠٠" in m for m in shown), shown
    rows = _download_csv(page)  # the CSV keeps the halalas and the codes
    assert {row["agency_id"]: row["frozen_rial"] for row in rows} == {"bank_rajhi": "123456789",
                                                                     "muroor": "10000000"}
    page.screenshot(path=str(_artifacts() / "freezes-sa.png"), full_page=True)

    page.get_by_text("English", exact=True).click()
    page.get_by_role("heading", name="Freezes").first.wait_for(timeout=30_000)
    _settle(page)
    assert _direction(page) == "ltr"
    english = page.get_by_test_id("stMetric").first.inner_text()
    assert "Blocked beyond the debt (riyal)" in english and "500.50" in english
    page.close()
