"""The dashboard's Alerts page: alerts raised for real (delivered by a loopback SMTP server and webhook, one of them
failing) are listed with their kind, severity, time in the Solar Hijri calendar and in UTC, the agency by name, the
cases, and each channel's delivery state, in Persian (right to left) and English. Screenshots go to
``.test-artifacts/dashboard/alerts.png`` and ``alerts-en.png``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from connectors.resilience import BreakerState
from dashboards import alert_data
from estelam.core.calendars import solar_hijri
from estelam.core.settings import Settings
from estelam.outputs import alerts
from tests.dashboards.test_dashboard import _artifacts, _settle, browser  # noqa: F401
from tests.notifications.conftest import LOOPBACK, Mailbox, Webhook, free_port, operators, smtp_server, webhook  # noqa: F401
from tests.server_support import free_port as free_server_port
from tests.server_support import serving, streamlit_command
from tests.settings_support import override

pytestmark = pytest.mark.e2e

CASES = ["1405-000010", "1405-000011"]
PERSON = "0012345679"


def raise_every_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    """A round past its deadline with its breaker open, money frozen beyond a debt on two cases, a failed task; and
    one alert whose webhook is down (it ends failed with the reason)."""
    alerts.raise_alerts(alerts.round_alerts("bank_saderat", "r1", deadline_missed=3, sent=3,
                                            breaker=BreakerState.OPEN))
    alerts.raise_alerts(alerts.frozen_beyond_debt_alerts({PERSON: (1_300_000, 1_000_000)}, cycle_id="c1",
                                                         cases={PERSON: CASES}))
    with monkeypatch.context() as mp:
        override(mp, alert_webhook_url=f"http://{LOOPBACK}:{free_port()}/down")
        alerts.raise_alerts(alerts.round_alerts("csdi", "r2", deadline_missed=2, sent=5, breaker=None))


def test_the_snapshot_lists_each_alert_once_with_its_deliveries(
        operators: Settings, smtp_server: tuple[Mailbox, int], webhook: Webhook,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    raise_every_kind(monkeypatch)
    raise_every_kind(monkeypatch)  # raised again: nothing new
    assert alert_data.SNAPSHOT + ".parquet" == alerts.SNAPSHOT
    frame = alert_data.alerts()
    assert list(frame["alert_id"]).count("frozen_beyond_debt:" + frame["alert_id"][
        frame["kind"] == "frozen_beyond_debt"].iloc[0].split(":", 1)[1]) == 1
    assert sorted(frame["kind"]) == ["agency_deadline_missed", "agency_deadline_missed", "breaker_open",
                                     "frozen_beyond_debt"]
    frozen = frame[frame["kind"] == "frozen_beyond_debt"].iloc[0]
    assert frozen["case_id"] == ",".join(CASES) and frozen["email_state"] == frozen["webhook_state"] == "delivered"
    down = frame[frame["agency_id"] == "csdi"].iloc[0]
    assert down["email_state"] == "delivered" and down["webhook_state"] == "failed"
    assert "unreachable" in down["webhook_reason"] and down["webhook_attempts"] == operators.delivery_attempts
    html = alert_data.table_html(frame, "fa")
    assert "بانک صادرات ایران" in html and "bank_saderat missed" not in html and 'dir="rtl"' in html
    assert "۱۴۰۵-۰۰۰۰۱۰" in html and "UTC" in html
    assert "Bank Saderat Iran missed its reply deadline" in alert_data.table_html(frame, "en")


@pytest.fixture
def dashboard_on(operators: Settings) -> Iterator[str]:  # noqa: F811
    """The dashboard on loopback over this test's data directory; stopped at the end."""
    port = free_server_port()
    url = f"http://127.0.0.1:{port}"
    with serving(streamlit_command(port), data_dir=operators.data_dir, log_path=_artifacts() / "streamlit-alerts.log",
                 health_url=f"{url}/_stcore/health", healthy=lambda body: body == b"ok", what="dashboard"):
        yield url


def test_the_alerts_page_shows_alerts_in_persian_and_english(
        operators: Settings, smtp_server: tuple[Mailbox, int], webhook: Webhook,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch, dashboard_on: str, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    raise_every_kind(monkeypatch)
    today = solar_hijri(datetime.now(UTC), with_time=False)
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(f"{dashboard_on}/alerts")
    table = page.locator("table#alerts")
    table.wait_for(timeout=30_000)
    _settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert table.get_attribute("dir") == "rtl"
    text = table.inner_text()
    for expected in ("بانک صادرات ایران", "شرکت سپرده‌گذاری مرکزی", "توقیف مازاد بر بدهی", "قطع تماس با نهاد",
                     "بحرانی", "اخطار", "تحویل شد", "ناموفق", "۱۴۰۵-۰۰۰۰۱۰", "۱۴۰۵-۰۰۰۰۱۱", today, "UTC"):
        assert expected in text, expected
    assert "bank_saderat missed" not in text
    assert table.locator("tbody tr").count() == 4
    page.screenshot(path=str(_artifacts() / "alerts.png"), full_page=True)

    page.get_by_text("English", exact=True).click()
    page.get_by_role("heading", name="Alerts").wait_for(timeout=30_000)
    _settle(page)
    english = page.locator("table#alerts")
    assert english.get_attribute("dir") == "ltr"
    text = english.inner_text()
    for expected in ("Bank Saderat Iran", "Central Securities Depository of Iran", "Frozen beyond the debt",
                     "Delivered", "Failed", "1405-000010", "Tehran", "UTC"):
        assert expected in text, expected
    page.screenshot(path=str(_artifacts() / "alerts-en.png"), full_page=True)
    page.close()
