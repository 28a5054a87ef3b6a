"""The case portal in headless Chromium: a judge signs in, reads a case and issues a directive through the
confirmation step; another court's judge gets no access; a creditor sees their requests; the debtor sees the
freeze; a wrong token fails. One server (uvicorn, loopback) for the module; screenshots of every page go to
``.test-artifacts/portal/`` (``ESTELAM_TEST_ARTIFACTS``) for people to look at.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from estelam.cases.directives import DIRECTIVES_FEED
from estelam.core import settings
from estelam.core.calendars import persian_digits
from estelam.ingest.landing import read_landed
from tests.api.api_harness import copy_demo, demo_facts
from tests.portal.portal_harness import MISSING_CASE, TOKENS, PortalFacts, portal_facts
from tests.server_support import free_port, serving
from tests.settings_support import override

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: A page (a directive landed and the case page read again) may take a while on a shared two-core machine.
PAGE_TIMEOUT_MS = 90_000


def _artifacts() -> Path:
    folder = Path(os.environ.get("ESTELAM_TEST_ARTIFACTS", settings.PROJECT_ROOT / ".test-artifacts")) / "portal"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def facts(demo_cycle: Any, tmp_path_factory: pytest.TempPathFactory) -> PortalFacts:
    data = copy_demo(demo_cycle.data_dir, tmp_path_factory.mktemp("portal-browser-data"))
    with pytest.MonkeyPatch.context() as mp:
        override(mp, data_dir=data)
        return portal_facts(demo_facts(data))


@pytest.fixture(scope="module")
def portal(facts: PortalFacts) -> Iterator[str]:
    """The API app (with the portal) under uvicorn on loopback over the copied demo; stopped at the end."""
    port = free_port()
    tokens = facts.write_tokens(facts.data_dir / "portal-tokens.json")
    url = f"http://127.0.0.1:{port}"
    with serving([sys.executable, "-m", "uvicorn", "--factory", "estelam.api:create_app", "--host", "127.0.0.1",
                  "--port", str(port), "--log-level", "warning"], data_dir=facts.data_dir,
                 env={"ESTELAM_API_TOKENS": str(tokens)}, log_path=_artifacts() / "uvicorn.log",
                 health_url=f"{url}/health", what="the portal", poll_s=0.3):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: `make browser` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _signed_in(browser: Any, portal: str, role: str) -> Any:
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    page.goto(f"{portal}/portal/sign-in")
    page.fill("input[name=token]", TOKENS[role])
    page.click("#sign-in button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(_artifacts() / f"{name}.png"), full_page=True)


def test_a_wrong_token_does_not_sign_in(browser: Any, portal: str) -> None:
    page = browser.new_page()
    page.goto(f"{portal}/portal/cases")
    assert "/portal/sign-in" in page.url  # not signed in: sent to the sign-in page
    page.fill("input[name=token]", "not-a-token")
    page.click("#sign-in button[type=submit]")
    assert page.locator("#error").is_visible()
    _shot(page, "sign-in-refused")
    page.goto(f"{portal}/portal/sign-in?lang=en")
    _shot(page, "sign-in-en")
    page.close()


def test_a_judge_reads_a_case_and_issues_a_directive_after_confirming(browser: Any, portal: str,
                                                                      facts: PortalFacts,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=facts.data_dir)
    case_id = facts.demo.case_id
    page = _signed_in(browser, portal, "judge")
    assert page.url.endswith("/portal/cases")
    assert page.locator(f"#cases tr[data-case='{case_id}']").count() == 1
    assert page.locator(f"#cases tr[data-case='{facts.demo.confidential_case_id}']").count() == 0
    _shot(page, "judge-cases")
    page.select_option("#filters select[name=status]", "open")
    page.select_option("#filters select[name=sort]", "asc")
    page.click("#filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "status=open" in page.url
    _shot(page, "judge-cases-open")

    page.click(f"#cases tr[data-case='{case_id}'] a")
    page.wait_for_load_state("networkidle")
    assert page.locator("#totals-kind").is_visible() and page.locator("#timeline tr").count() > 1
    assert page.locator("#next-steps li").count() >= 1
    assert page.locator("#pdf").get_attribute("href") == f"/portal/cases/{case_id}/report.pdf"  # the HTTP tests read it
    _shot(page, "judge-case")

    before = len(read_landed(DIRECTIVES_FEED))
    page.select_option("#directive select[name=kind]", "collect")
    page.fill("#directive input[name=note]", "انتقال به حساب دادگستری")
    page.click("#directive button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#confirm").is_visible()
    _shot(page, "judge-directive-confirm")
    assert len(read_landed(DIRECTIVES_FEED)) == before  # not before the judge confirms
    page.click("#confirm button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#notice").is_visible()
    assert len(read_landed(DIRECTIVES_FEED)) == before + 1
    _shot(page, "judge-case-after-directive")
    page.goto(f"{portal}/portal/cases/{case_id}?lang=ar")
    _shot(page, "judge-case-ar")
    page.goto(f"{portal}/portal/cases/{case_id}?lang=en")
    _shot(page, "judge-case-en")
    page.close()


def test_a_post_without_the_csrf_token_is_refused(browser: Any, portal: str, facts: PortalFacts) -> None:
    page = _signed_in(browser, portal, "judge")
    page.goto(f"{portal}/portal/cases/{facts.demo.case_id}")
    page.evaluate("() => document.querySelector('#directive input[name=csrf_token]').remove()")
    page.click("#directive button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#message").is_visible()
    _shot(page, "csrf-refused")
    page.close()


def test_a_judge_of_another_court_gets_no_access(browser: Any, portal: str, facts: PortalFacts) -> None:
    page = _signed_in(browser, portal, "judge_other")
    assert page.locator(f"#cases tr[data-case='{facts.demo.case_id}']").count() == 0
    hidden = page.goto(f"{portal}/portal/cases/{facts.demo.case_id}")
    hidden_text = page.locator("main").inner_text()
    _shot(page, "judge-other-court")
    missing = page.goto(f"{portal}/portal/cases/{MISSING_CASE}")
    assert hidden is not None and missing is not None and hidden.status == missing.status == 404
    assert page.locator("main").inner_text() == hidden_text
    page.close()


def test_a_creditor_sees_their_requests(browser: Any, portal: str, facts: PortalFacts) -> None:
    page = _signed_in(browser, portal, "creditor")
    assert page.url.endswith("/portal/requests")
    assert page.locator("#requests").inner_text().count(facts.other_case_id) == 0
    assert page.locator("#aggregate").is_visible()
    _shot(page, "creditor-requests")
    page.click(f"#requests a[href='/portal/requests/{facts.demo.case_id}']")
    page.wait_for_load_state("networkidle")
    assert page.locator("#timeline tr").count() > 1 and page.locator("#money").is_visible()
    _shot(page, "creditor-request")
    page.goto(f"{portal}/portal/requests/print")
    _shot(page, "creditor-print")
    page.close()


def test_the_debtors_page_shows_the_freeze(browser: Any, portal: str, facts: PortalFacts) -> None:
    page = _signed_in(browser, portal, "person")
    assert page.url.endswith("/portal/me")
    frozen = page.locator("#frozen")
    assert frozen.is_visible() and persian_digits(facts.demo.case_id) in frozen.inner_text()
    assert page.locator("#who-looked").is_visible()  # the judge above looked at this debtor's case
    _shot(page, "debtor")
    page.goto(f"{portal}/portal/me?lang=en")
    _shot(page, "debtor-en")
    page.close()


def test_a_judge_sees_the_alerts_about_the_case(browser: Any, portal: str, facts: PortalFacts,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Alerts raised about the case (money frozen beyond the debt, a bank late on the case's order) are on its page,
    in Persian and Arabic; another court's judge sees none of it."""
    from estelam.outputs import alerts

    override(monkeypatch, data_dir=facts.data_dir)
    d = facts.demo
    alerts.raise_alerts([
        *alerts.frozen_beyond_debt_alerts({d.person_id: (1_300_000, 1_000_000)}, cycle_id="c-browser",
                                          cases={d.person_id: [d.case_id]}),
        alerts.Alert("agency_deadline_missed", f"bank_melli:order:{d.case_id}", "warning",
                     "bank_melli missed its deadline", "a freeze order unanswered", case_id=d.case_id,
                     agency_id="bank_melli")])
    page = _signed_in(browser, portal, "judge")
    expected = {"fa": ("توقیف مازاد بر بدهی", "بانک ملی ایران"), "ar": ("حجز يتجاوز الدين", "بنك ملي إيران"),
                "en": ("Frozen beyond the debt", "Bank Melli Iran")}
    for lang, words in expected.items():
        page.goto(f"{portal}/portal/cases/{d.case_id}?lang={lang}")
        listed = page.locator("#case-alerts")
        assert listed.locator("li").count() == 2
        text = listed.inner_text()
        assert all(word in text for word in words), (lang, text)
        _shot(page, f"judge-case-alerts-{lang}")
        listed.screenshot(path=str(_artifacts() / f"judge-case-alerts-{lang}-list.png"))
    page.close()
    other = _signed_in(browser, portal, "judge_other")
    other.goto(f"{portal}/portal/cases/{d.case_id}")
    assert other.locator("#case-alerts").count() == 0 and "مازاد" not in other.locator("main").inner_text()
    other.close()
