"""The case portal over plain HTTP: every page against every role, sign-in, CSRF, directives, languages, audit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from estelam.access.audit import LOOKING_ACTIONS, SYSTEM_ROLE, AuditLog
from estelam.access.auth import Role
from estelam.api import create_app
from estelam.api.portal.data import COVERAGE
from estelam.api.portal.messages import LANGUAGES, MESSAGES
from estelam.api.portal.session import COOKIE
from estelam.cases.directives import DIRECTIVES_FEED, Directive
from estelam.core.domain import RestrictionType
from estelam.ingest.landing import read_landed
from tests.api.api_harness import copy_demo, demo_facts
from tests.portal.portal_harness import MISSING_CASE, ROLES, PortalFacts, csrf_of, portal_facts, sign_in
from tests.settings_support import override

TEMPLATES = Path(__file__).resolve().parents[2] / "estelam" / "api" / "portal" / "templates"


@pytest.fixture(scope="module")
def facts(demo_cycle: Any, tmp_path_factory: pytest.TempPathFactory) -> PortalFacts:
    data = copy_demo(demo_cycle.data_dir, tmp_path_factory.mktemp("portal-data"))
    with pytest.MonkeyPatch.context() as mp:
        override(mp, data_dir=data)
        return portal_facts(demo_facts(data))


@pytest.fixture
def app(facts: PortalFacts, monkeypatch: pytest.MonkeyPatch) -> Any:
    override(monkeypatch, data_dir=facts.data_dir)
    return create_app(facts.settings())


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


def _pages(facts: PortalFacts) -> dict[str, dict[str | None, int]]:
    """page -> role -> expected status (303 = sent to sign in; roles not named: 403)."""
    d = facts.demo
    judges = {"judge": 200, "judge_named": 200, "judge_other": 200}
    case = {"judge": 200, "judge_named": 200, "judge_other": 404}
    return {
        "/portal/cases": judges,
        f"/portal/cases/{d.case_id}": case,
        f"/portal/cases/{d.case_id}/report.pdf": case,
        f"/portal/cases/{d.confidential_case_id}": {"judge": 404, "judge_named": 200, "judge_other": 404},
        f"/portal/cases/{MISSING_CASE}": {"judge": 404, "judge_named": 404, "judge_other": 404},
        "/portal/requests": {"creditor": 200, "creditor_other": 200},
        "/portal/requests/print": {"creditor": 200, "creditor_other": 200},
        f"/portal/requests/{d.case_id}": {"creditor": 200, "creditor_other": 404},
        f"/portal/requests/{facts.other_case_id}": {"creditor": 404, "creditor_other": 200},
        "/portal/me": {"person": 200},
    }


PAGE_KEYS = ["cases", "case", "case_pdf", "confidential_case", "missing_case", "requests", "requests_print",
             "request", "other_request", "me"]


@pytest.mark.parametrize("page", PAGE_KEYS)
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app: Any, facts: PortalFacts, page: str, role: str | None) -> None:
    path, by_role = list(_pages(facts).items())[PAGE_KEYS.index(page)]
    expected = 303 if role is None else by_role.get(role, 403)
    with TestClient(app) as client:
        sign_in(client, role)
        answer = client.get(path, follow_redirects=False)
    assert answer.status_code == expected, (path, role, answer.text[:300])
    if expected == 303:
        assert answer.headers["location"].startswith("/portal/sign-in")


def test_a_hidden_case_reads_exactly_like_a_missing_one(app: Any, facts: PortalFacts) -> None:
    with TestClient(app) as client:
        sign_in(client, "judge_other")
        hidden = client.get(f"/portal/cases/{facts.demo.case_id}")
        missing = client.get(f"/portal/cases/{MISSING_CASE}")
    body = re.compile(r'<main>.*</main>', re.S)
    assert hidden.status_code == missing.status_code == 404
    assert body.search(hidden.text).group(0) == body.search(missing.text).group(0)  # type: ignore[union-attr]


def test_a_wrong_token_does_not_sign_in_and_is_audited(client: TestClient, facts: PortalFacts) -> None:
    page = client.get("/portal/sign-in")
    answer = client.post("/portal/sign-in", data={"token": "not-a-token", "csrf_token": csrf_of(page.text)})
    assert answer.status_code == 401 and 'id="error"' in answer.text
    assert client.get("/portal/cases", follow_redirects=False).status_code == 303
    last = list(facts.audit().entries())[-1]
    assert (last.action, last.outcome, last.actor) == ("sign_in", "refused", "anonymous")


def test_posts_without_the_sessions_csrf_token_are_refused(app: Any, facts: PortalFacts) -> None:
    case_id = facts.demo.case_id
    before = len(read_landed(DIRECTIVES_FEED))
    with TestClient(app) as client, TestClient(app) as other:
        sign_in(client, "judge")
        sign_in(other, "judge")
        page = client.get(f"/portal/cases/{case_id}")
        form = {"kind": "collect", "confirmed": "yes"}
        assert client.post(f"/portal/cases/{case_id}/directives", data=form).status_code == 403
        stolen = csrf_of(other.get(f"/portal/cases/{case_id}").text)  # another session's token
        assert client.post(f"/portal/cases/{case_id}/directives",
                           data=form | {"csrf_token": stolen}).status_code == 403
        assert csrf_of(page.text) != stolen
        fresh = TestClient(app)
        login = fresh.post("/portal/sign-in", data={"token": "p-judge", "csrf_token": "forged"})
        assert login.status_code == 403
    assert len(read_landed(DIRECTIVES_FEED)) == before


def test_a_directive_is_confirmed_before_it_lands_and_is_audited(client: TestClient, facts: PortalFacts) -> None:
    case_id = facts.demo.case_id
    sign_in(client, "judge")
    page = client.get(f"/portal/cases/{case_id}")
    before = len(read_landed(DIRECTIVES_FEED))
    confirm = client.post(f"/portal/cases/{case_id}/directives",
                          data={"csrf_token": csrf_of(page.text), "kind": "collect", "note": "all of it"})
    assert confirm.status_code == 200 and 'id="confirm"' in confirm.text
    assert "&lt;span" not in confirm.text  # the isolated case number is markup, not escaped text
    assert len(read_landed(DIRECTIVES_FEED)) == before  # nothing yet: the judge has not confirmed
    done = client.post(f"/portal/cases/{case_id}/directives", follow_redirects=False,
                       data={"csrf_token": csrf_of(confirm.text), "kind": "collect", "note": "all of it",
                             "confirmed": "yes"})
    assert done.status_code == 303 and done.headers["location"].endswith("done=collect")
    landed = [r for r in read_landed(DIRECTIVES_FEED) if r["case_id"] == case_id and r["directive"] == "collect"]
    assert len(read_landed(DIRECTIVES_FEED)) == before + 1 and landed
    assert landed[-1]["issued_by"] == "judge-a"
    entry = [e for e in facts.audit().entries() if e.action == "directive"][-1]
    assert (entry.actor, entry.case_id, entry.detail["directive"]) == ("judge-a", case_id, "collect")
    assert 'id="notice"' in client.get(done.headers["location"]).text


def test_a_bad_directive_is_refused_with_a_reason(client: TestClient, facts: PortalFacts) -> None:
    case_id = facts.demo.case_id
    sign_in(client, "judge")
    token = csrf_of(client.get(f"/portal/cases/{case_id}").text)
    for form in ({"kind": "explode"}, {"kind": "collect", "amount_rial": "-5"},
                 {"kind": "confidential", "authorised_users": "a\u202eb"}):
        answer = client.post(f"/portal/cases/{case_id}/directives", data=form | {"csrf_token": token})
        assert answer.status_code == 422 and 'id="error"' in answer.text, form


def test_another_courts_judge_cannot_direct(app: Any, facts: PortalFacts) -> None:
    before = len(read_landed(DIRECTIVES_FEED))
    with TestClient(app) as client:
        sign_in(client, "judge_other")
        token = csrf_of(client.get("/portal/cases").text)
        answer = client.post(f"/portal/cases/{facts.demo.case_id}/directives",
                             data={"csrf_token": token, "kind": "collect", "confirmed": "yes"})
    assert answer.status_code == 404
    assert len(read_landed(DIRECTIVES_FEED)) == before


def test_every_page_view_is_audited_and_the_debtor_sees_who_looked(app: Any, facts: PortalFacts) -> None:
    before = len(list(facts.audit().entries()))
    with TestClient(app) as judge, TestClient(app) as debtor:
        sign_in(judge, "judge")
        judge.get(f"/portal/cases/{facts.demo.case_id}")
        sign_in(debtor, "person")
        page = debtor.get("/portal/me")
    entries = list(facts.audit().entries())[before:]
    assert [e.action for e in entries] == ["sign_in", "report_view", "sign_in", "access_log_view"]
    assert entries[1].person_id == facts.demo.person_id
    looked = page.text.split('id="who-looked"', 1)[1]
    assert "judge-a" in looked
    assert 'id="frozen"' in page.text or "nothing_frozen" not in page.text


def test_the_session_cookie_is_signed_httponly_lax_and_expires(client: TestClient) -> None:
    page = client.get("/portal/sign-in")
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=" in cookie and "Path=/portal" in cookie
    sign_in(client, "judge")
    value = client.cookies[COOKIE]
    client.cookies.set(COOKIE, value[:-1] + ("0" if value[-1] != "0" else "1"), path="/portal")
    assert client.get("/portal/cases", follow_redirects=False).status_code == 303  # a forged cookie is no session


def test_sign_out_ends_the_session(client: TestClient) -> None:
    sign_in(client, "creditor")
    page = client.get("/portal/requests")
    answer = client.post("/portal/sign-out", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert answer.status_code == 303
    assert client.get("/portal/requests", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(("lang", "direction", "word"), [("fa", "rtl", "پرونده‌های من"), ("ar", "rtl", "ملفاتي"),
                                                         ("en", "ltr", "My cases")])
def test_persian_by_default_arabic_and_english_by_the_switch(client: TestClient, lang: str, direction: str,
                                                             word: str) -> None:
    sign_in(client, "judge")
    page = client.get("/portal/cases" + ("" if lang == "fa" else f"?lang={lang}"))
    assert f'<html lang="{lang}" dir="{direction}">' in page.text and word in page.text
    if lang != "fa":  # the choice is kept in the session
        assert f'<html lang="{lang}"' in client.get("/portal/cases").text


def test_every_label_a_template_asks_for_is_in_every_language() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.j2"):
        used |= set(re.findall(r'\bt\("([a-z_]+)"\s*[,)]', template.read_text(encoding="utf-8")))
    assert used, "no labels found"
    used |= {f"dir_{d}" for d in Directive} | {f"r_{r}" for r in RestrictionType}  # built as "dir_" ~ kind
    used |= {f"cov_{c}" for c in COVERAGE} | {f"role_{r}" for r in [*Role, SYSTEM_ROLE]}
    used |= {f"act_{a}" for a in LOOKING_ACTIONS}  # who looked at my data
    for lang in LANGUAGES:
        assert not used - set(MESSAGES[lang]), lang
        assert set(MESSAGES[lang]) == set(MESSAGES["fa"]), lang


def test_the_creditor_sees_only_their_requests_and_new_events_once(facts: PortalFacts, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=facts.data_dir)
    settings = facts.settings()
    settings.audit = AuditLog(tmp_path / "audit.jsonl")  # a creditor who never visited before
    with TestClient(create_app(settings)) as client:
        sign_in(client, "creditor")
        first = client.get("/portal/requests")
        second = client.get("/portal/requests")
    assert facts.demo.case_id in first.text and facts.other_case_id not in first.text
    assert '<ul id="alerts">' in first.text  # the first visit: everything is new
    assert '<p id="alerts">' in second.text  # nothing happened since


def test_the_apis_asset_report_speaks_arabic_too(client: TestClient, facts: PortalFacts) -> None:
    answer = client.get(f"/cases/{facts.demo.case_id}/asset-report", params={"format": "html", "lang": "ar"},
                        headers={"Authorization": "Bearer p-judge"})
    assert answer.status_code == 200 and '<html lang="ar-IR" dir="rtl">' in answer.text
    assert "تقرير أصول المنفذ ضده" in answer.text


def test_portal_forms_are_bounded_like_every_body(client: TestClient) -> None:
    """The portal signs in by form, not bearer token, but its bodies keep the front door's size limit."""
    answer = client.post("/portal/sign-in", content=b"token=" + b"x" * 100_000,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413


def test_alerts_about_a_case_are_on_its_page_for_its_judges_only(app: Any, facts: PortalFacts) -> None:
    """Money frozen beyond the debtor's debt, and an agency late on the case's order, raised as alerts (landed and
    delivered, here to the log) appear on the case's page in every language; another court's judge gets the same
    404 as for a missing case, and an alert about another case stays off this page."""
    from estelam.outputs import alerts

    d = facts.demo
    alerts.raise_alerts([
        *alerts.frozen_beyond_debt_alerts({d.person_id: (1_300_000, 1_000_000)}, cycle_id="c-portal",
                                          cases={d.person_id: [d.case_id]}),
        alerts.Alert("agency_deadline_missed", f"bank_melli:order:{d.case_id}", "warning",
                     "bank_melli missed its deadline", "a freeze order unanswered", case_id=d.case_id,
                     agency_id="bank_melli"),
        *alerts.frozen_beyond_debt_alerts({"other-person": (9_000, 1_000)}, cycle_id="c-portal",
                                          cases={"other-person": [facts.other_case_id]}),
    ])
    expected = {
        "fa": ["توقیف مازاد بر بدهی", "۱٬۳۰۰٬۰۰۰", "۳۰۰٬۰۰۰", "بانک ملی ایران در مهلت"],
        "ar": ["حجز يتجاوز الدين", "١٬٣٠٠٬٠٠٠", "٣٠٠٬٠٠٠", "لم تُجب بنك ملي إيران"],
        "en": ["Frozen beyond the debt", "1,300,000", "300,000",
               "Bank Melli Iran did not answer"],
    }
    with TestClient(app) as client:
        sign_in(client, "judge")
        for lang, words in expected.items():
            page = client.get(f"/portal/cases/{d.case_id}?lang={lang}")
            assert page.status_code == 200
            assert f"<h2>{MESSAGES[lang]['case_alerts']}</h2>" in page.text
            listed = page.text.split('<ul id="case-alerts">', 1)[1].split("</ul>", 1)[0]
            assert listed.count("<li") == 2, listed  # this case's two alerts, not the other case's
            for word in words:
                assert word in listed, (lang, word)
            assert "9,000" not in listed and "٩٬٠٠٠" not in listed and "۹٬۰۰۰" not in listed
        assert "بانک ملی" not in client.get(f"/portal/cases/{d.case_id}?lang=ar").text.split(
            '<ul id="case-alerts">', 1)[1].split("</ul>", 1)[0], "the Arabic page names the bank in Arabic"
    with TestClient(app) as other:
        sign_in(other, "judge_other")
        refused = other.get(f"/portal/cases/{d.case_id}?lang=en")
        assert refused.status_code == 404
        assert "Frozen beyond the debt" not in refused.text and "case-alerts" not in refused.text
        missing = other.get(f"/portal/cases/{MISSING_CASE}?lang=en")
        assert refused.text.replace(d.case_id, "") == missing.text.replace(MISSING_CASE, "")


@pytest.mark.parametrize(("jurisdiction", "typed", "kept"), [
    ("ir", "1250000", 1_250_000), ("ir", "1,250,000", 1_250_000),
    ("sa", "1250", 125_000), ("sa", "1250.5", 125_050), ("sa", "1250.50", 125_050), ("sa", "١٢٥٠", 125_000),
])
def test_a_judge_types_an_amount_in_the_profiles_currency(monkeypatch: pytest.MonkeyPatch, jurisdiction: str,
                                                           typed: str, kept: int) -> None:
    from estelam.api.portal.pages import _directive_fields

    override(monkeypatch, jurisdiction=jurisdiction)
    assert _directive_fields({"kind": "collect", "amount_rial": typed})["amount_rial"] == kept


@pytest.mark.parametrize(("jurisdiction", "typed"), [("ir", "12.5"), ("sa", "12.505"), ("sa", "-3"), ("sa", "0"),
                                                     ("sa", "²"), ("ir", "1e9"), ("sa", "1.2.3"), ("ir", "")])
def test_an_amount_the_currency_cannot_hold_is_refused(monkeypatch: pytest.MonkeyPatch, jurisdiction: str,
                                                        typed: str) -> None:
    from estelam.api.portal.pages import _minor_units

    override(monkeypatch, jurisdiction=jurisdiction)
    with pytest.raises(ValueError, match="amount must be"):
        _minor_units(typed)
