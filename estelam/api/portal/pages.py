"""The case portal's pages: sign in, then a judge's cases and directives, a creditor's requests, a debtor's freezes.

Server-rendered HTML (Jinja2), Persian right to left by default, Arabic and English by a switch. Signing in
takes the same tokens as the API (:mod:`estelam.access.auth`) and sets a signed session cookie
(:mod:`estelam.api.portal.session`); every form carries the session's CSRF token and every POST checks it.
Every page view, sign-in and directive is written to the audit log. A page about a case someone may not
see answers exactly as for a case that does not exist.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from estelam.access.audit import AuditAction, AuditEntry, Outcome
from estelam.access.auth import Principal, Role, token_digest
from estelam.api.cases import CaseHeader, case_header
from estelam.api.dependencies import SAFE_TEXT_PATTERN
from estelam.api.portal import data, session
from estelam.api.portal.messages import LANGUAGE_NAMES, LANGUAGES, MESSAGES, RTL, language
from estelam.api.services import ApiSettings
from estelam.cases.directives import Directive, submit_directive
from estelam.core import clock
from estelam.core.domain import RestrictionType
from estelam.core.exceptions import AccessDenied, DirectiveRejected, EstelamError, NotAuthenticated, ReportError
from estelam.core.jurisdiction import current_profile
from estelam.outputs import alerts as hub_alerts
from estelam.reporting import asset_report as reports

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/portal", include_in_schema=False)

CASE_ID = re.compile(r"^[0-9]{4}-[0-9]{6}$")
SAFE_TEXT = re.compile(SAFE_TEXT_PATTERN)
PURPOSE = "portal"
#: Where each role lands after signing in; roles not named here have no portal pages.
HOME = {Role.JUDGE: "/portal/cases", Role.CREDITOR: "/portal/requests", Role.PERSON: "/portal/me"}
MAX_FIELD = 500
MAX_AMOUNT_RIAL = 10**18
#: The creditor's page lists at most this many new events, newest first (and says how many there are).
MAX_ALERTS = 10


class PortalError(Exception):
    """A page answered with a message instead of its content (status, catalogue key, values)."""

    def __init__(self, status: int, key: str, **values: object) -> None:
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


def _env() -> Environment:
    env = Environment(loader=PackageLoader("estelam.api.portal", "templates"), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    return env


_ENV = _env()


def _settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.api_settings
    return settings


def _key(request: Request) -> bytes:
    return _settings(request).portal_key


def _session(request: Request) -> session.Session:
    """The caller's session, or a fresh anonymous one (language from ``?lang=`` when given)."""
    current = session.load(request, _key(request)) or session.Session.fresh()
    wanted = request.query_params.get("lang")
    return current.with_lang(language(wanted)) if wanted in LANGUAGES else current


def _principal(request: Request, current: session.Session) -> Principal | None:
    if current.digest is None:
        return None
    try:
        return _settings(request).tokens.by_digest(current.digest)
    except NotAuthenticated:
        return None


def _render(request: Request, current: session.Session, template: str, *, status: int = 200,
            principal: Principal | None = None, **context: Any) -> HTMLResponse:
    lang = current.lang
    # the money is the profile's: its currency's name in the reader's language (rials, or riyals)
    messages = {**MESSAGES[lang], "currency": current_profile().currency.name(lang)}

    def t(key: str, **values: object) -> Markup:
        """A label with its values escaped (an isolated identifier, already markup, is kept as it is)."""
        return Markup(escape(messages.get(key, key))).format(**values)

    env = _ENV.overlay()
    env.filters.update(reports.formatters(lang))
    html = env.get_template(template).render(
        t=t, lang=lang, dir="rtl" if lang in RTL else "ltr", languages=LANGUAGE_NAMES, csrf=current.csrf,
        csrf_field=session.CSRF_FIELD, principal=principal, path=request.url.path,
        role_label=t(f"role_{principal.role}") if principal else "", **context)
    response = HTMLResponse(html, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "default-src 'self'; style-src 'self' 'unsafe-inline'; " \
                                                  "form-action 'self'; frame-ancestors 'none'"
    session.store(response, current, _key(request), secure=request.url.scheme == "https")
    return response


def _audit(request: Request, principal: Principal | None, action: AuditAction, *, outcome: Outcome = Outcome.ALLOWED,
           case_id: str | None = None, person_id: str | None = None, **detail: Any) -> None:
    try:
        _settings(request).audit.record(
            actor=principal.subject if principal else "anonymous", role=str(principal.role) if principal else
            "anonymous", action=action, purpose=PURPOSE, outcome=outcome, case_id=case_id, person_id=person_id,
            detail={"page": request.url.path[:200], "method": request.method, **detail})
    except EstelamError:
        logger.exception("portal %s %s could not be audited", request.method, request.url.path[:200])
        raise


def _signed_in(request: Request, *roles: Role) -> tuple[session.Session, Principal] | Response:
    """The session and principal of a signed-in caller in ``roles``; else a redirect to sign in, or a refusal."""
    current = _session(request)
    principal = _principal(request, current)
    if principal is None:
        target = "/portal/sign-in?" + urlencode({"next": request.url.path})
        return RedirectResponse(target, status_code=303)
    if principal.role not in roles:
        _audit(request, principal, AuditAction.PORTAL_VIEW, outcome=Outcome.REFUSED,
               reason=f"role {principal.role} has no access to this page")
        return _render(request, current, "message.html.j2", status=403, principal=principal, key="no_portal",
                       values={})
    return current, principal


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _csrf_ok(request: Request, current: session.Session, form: dict[str, str]) -> bool:
    """The form's CSRF token is the one of the session its cookie carries (a fresh session has none to match)."""
    stored = session.load(request, _key(request))
    return stored is not None and stored.csrf == current.csrf and \
        session.csrf_matches(stored, form.get(session.CSRF_FIELD))


def _refuse_csrf(request: Request, current: session.Session, principal: Principal | None) -> HTMLResponse:
    _audit(request, principal, AuditAction.REQUEST, outcome=Outcome.REFUSED, reason="missing or wrong CSRF token")
    return _render(request, current, "message.html.j2", status=403, principal=principal, key="csrf", values={})


def _safe_next(target: str | None, fallback: str) -> str:
    """Only a portal path of this site (no scheme, no host, no ``//``) is followed after sign-in."""
    if target and target.startswith("/portal") and "//" not in target and "\\" not in target:
        return target
    return fallback


# --- signing in and out ------------------------------------------------------------------------------------------


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    current = _session(request)
    principal = _principal(request, current)
    if principal is None:
        return RedirectResponse("/portal/sign-in", status_code=303)
    target = HOME.get(principal.role)
    if target is None:
        return _render(request, current, "message.html.j2", status=403, principal=principal, key="no_portal",
                       values={})
    return RedirectResponse(target, status_code=303)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str | None = None) -> Response:  # noqa: A002 (the query's name)
    current = _session(request)
    return _render(request, current, "sign_in.html.j2", next=_safe_next(next, ""), error=None)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    current = _session(request)
    form = await _form(request)
    if not _csrf_ok(request, current, form):
        return _refuse_csrf(request, current, None)
    token = form.get("token", "").strip()
    try:
        principal = _settings(request).tokens.authenticate(token or None)
    except NotAuthenticated as refused:
        _audit(request, None, AuditAction.SIGN_IN, outcome=Outcome.REFUSED, reason=str(refused))
        return _render(request, current, "sign_in.html.j2", status=401, next=_safe_next(form.get("next"), ""),
                       error="bad_token")
    _audit(request, principal, AuditAction.SIGN_IN)
    fresh = current.signed_in(token_digest(token))
    response = RedirectResponse(_safe_next(form.get("next"), HOME.get(principal.role, "/portal")), status_code=303)
    session.store(response, fresh, _key(request), secure=request.url.scheme == "https")
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    current = _session(request)
    form = await _form(request)
    principal = _principal(request, current)
    if not _csrf_ok(request, current, form):
        return _refuse_csrf(request, current, principal)
    _audit(request, principal, AuditAction.SIGN_IN, signed_out=True)
    response = RedirectResponse("/portal/sign-in", status_code=303)
    session.store(response, session.Session.fresh(current.lang), _key(request),
                  secure=request.url.scheme == "https")
    return response


# --- the judge -------------------------------------------------------------------------------------------------


@router.get("/cases", response_class=HTMLResponse)
def judge_cases(request: Request, status: str = "all", coverage: str = "all", sort: str = "desc") -> Response:
    signed = _signed_in(request, Role.JUDGE)
    if isinstance(signed, Response):
        return signed
    current, judge = signed
    wanted = data.CaseFilter(status=status if status in ("open", "closed") else "all",
                             coverage=coverage if coverage in data.COVERAGE else "all", descending=sort != "asc")
    cases = data.judge_cases(judge, wanted)
    _audit(request, judge, AuditAction.PORTAL_VIEW, cases=len(cases), status=wanted.status,
           coverage=wanted.coverage)
    return _render(request, current, "judge_cases.html.j2", principal=judge, cases=cases, wanted=wanted,
                   coverages=list(data.COVERAGE))


def _judge_case(request: Request, judge: Principal, case_id: str) -> CaseHeader:
    """The case's header when this judge may see it; else :class:`PortalError` 404, the same as a missing case."""
    if not CASE_ID.match(case_id):
        raise PortalError(404, "not_found")
    try:
        header = case_header(case_id)
    except ReportError:
        _audit(request, judge, AuditAction.REPORT_VIEW, outcome=Outcome.REFUSED, case_id=case_id,
               reason="no such case")
        raise PortalError(404, "not_found") from None
    try:
        data.check_judge_access(judge, header)
    except AccessDenied as refused:
        _audit(request, judge, AuditAction.REPORT_VIEW, outcome=Outcome.REFUSED, case_id=case_id,
               person_id=header.person_id, reason=str(refused))
        raise PortalError(404, "not_found") from None
    return header


def _judge_case_page(request: Request, current: session.Session, judge: Principal, case_id: str, *,
                     status: int = 200, notice: str | None = None, error: str | None = None) -> Response:
    header = _judge_case(request, judge, case_id)
    report = reports.load_case_report(case_id)
    orders = data.pending_orders(case_id)
    now = clock.now()
    late_agencies = sorted({o["agency_id"] for o in orders if o["deadline_at"] and o["deadline_at"] < now})
    names = {k: v.get(current.lang) or v.get("en") or k for k, v in reports.agency_names().items()}
    case_alerts = _case_alerts(case_id)
    _audit(request, judge, AuditAction.REPORT_VIEW, case_id=case_id, person_id=header.person_id, format="portal",
           alerts=len(case_alerts))
    return _render(request, current, "judge_case.html.j2", status=status, principal=judge, report=report,
                   by_kind=report.totals_by("asset_kind"), by_agency=report.totals_by("agency_id"),
                   totals=report.totals, orders=orders, now=now, late_agencies=late_agencies,
                   exceptions=report.agency_exceptions, next_steps=reports.next_steps_text(report, current.lang),
                   agency_names=names, case_alerts=case_alerts, directives=[str(d) for d in Directive],
                   restrictions=[str(r) for r in RestrictionType],
                   notice=notice, error=error)


def _case_alerts(case_id: str) -> list[dict[str, Any]]:
    """The operators' alerts that concern the case (money frozen beyond the debtor's debt, an agency late on the
    case's order), newest first, with what the page needs to say them in the reader's language."""
    shown = []
    for alert in hub_alerts.about_case(case_id):
        amounts = hub_alerts.frozen_amounts(alert["alert_id"])
        shown.append(alert | {"amounts": None if amounts is None else {
            "frozen": amounts[0], "owed": amounts[1], "excess": amounts[0] - amounts[1]}})
    return shown


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def judge_case(request: Request, case_id: str) -> Response:
    signed = _signed_in(request, Role.JUDGE)
    if isinstance(signed, Response):
        return signed
    current, judge = signed
    notice = request.query_params.get("done")
    return _judge_case_page(request, current, judge, case_id,
                            notice=notice if notice in {str(d) for d in Directive} else None)


@router.get("/cases/{case_id}/report.pdf")
def judge_case_pdf(request: Request, case_id: str) -> Response:
    signed = _signed_in(request, Role.JUDGE)
    if isinstance(signed, Response):
        return signed
    current, judge = signed
    header = _judge_case(request, judge, case_id)
    pdf = reports.render_case_report_pdf(reports.load_case_report(case_id), lang=current.lang)
    _audit(request, judge, AuditAction.REPORT_VIEW, case_id=case_id, person_id=header.person_id, format="pdf",
           lang=current.lang)
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="asset_report-{case_id}.pdf"',
                             "Cache-Control": "no-store"})


def _minor_units(amount: str) -> int:
    """An amount as a judge types it, in the profile's currency (``1250000`` rials, ``1250.50`` riyals), in the
    integer minor units every amount is kept in (:class:`ValueError` when it is not one)."""
    currency = current_profile().currency
    whole, _, fraction = amount.replace(",", "").partition(".")
    if not whole.isdecimal() or not (fraction == "" or (fraction.isdecimal() and len(fraction) <= currency.minor_unit)):
        decimals = f"with at most {currency.minor_unit} decimals" if currency.minor_unit else "a whole number"
        raise ValueError(f"the amount must be a positive number of {currency.name('en')}s, "
                         f"{decimals}")
    minor = int(whole) * currency.minor_per_major + int(fraction.ljust(currency.minor_unit, "0") or 0)
    if not 0 < minor < MAX_AMOUNT_RIAL:
        raise ValueError("the amount must be positive and below the largest amount the court records")
    return minor


def _directive_fields(form: dict[str, str]) -> dict[str, Any]:
    """The directive form, checked: kind, amount, restriction, users, order id, note (:class:`ValueError`)."""
    kind = form.get("kind", "")
    if kind not in {str(d) for d in Directive}:
        raise ValueError(f"unknown directive {kind[:40]!r}")
    fields: dict[str, Any] = {"kind": kind}
    amount = form.get("amount_rial", "").strip()
    if amount:
        fields["amount_rial"] = _minor_units(amount)
    restriction = form.get("restriction", "").strip()
    if restriction:
        if restriction not in {str(r) for r in RestrictionType}:
            raise ValueError(f"unknown restriction {restriction[:40]!r}")
        fields["restriction"] = restriction
    for name in ("authorised_users", "order_id", "asset_ref", "note"):
        value = form.get(name, "").strip()
        if value:
            if len(value) > MAX_FIELD or not SAFE_TEXT.match(value):
                raise ValueError(f"{name} has characters or a length the court cannot record")
            fields[name] = value
    return fields


def _submit(request: Request, case_id: str, fields: dict[str, Any], judge: Principal) -> str:
    """Land the directive through the directives backend, which validates it against the case and audits it."""
    users = tuple(u.strip() for u in str(fields.get("authorised_users", "")).split(",") if u.strip())
    restriction = fields.get("restriction")
    return submit_directive(case_id, Directive(fields["kind"]), issued_by=judge.subject,
                            amount_rial=fields.get("amount_rial"),
                            restriction=RestrictionType(restriction) if restriction else None,
                            authorised_users=users, order_id=fields.get("order_id"), asset_ref=fields.get("asset_ref"),
                            note=fields.get("note"), source="portal", role=str(judge.role),
                            audit=_settings(request).audit)


@router.post("/cases/{case_id}/directives", response_class=HTMLResponse)
async def judge_directive(request: Request, case_id: str) -> Response:
    """Step one shows what will be issued and asks to confirm; step two (``confirmed=yes``) issues it."""
    signed = _signed_in(request, Role.JUDGE)
    if isinstance(signed, Response):
        return signed
    current, judge = signed
    form = await _form(request)
    if not _csrf_ok(request, current, form):
        return _refuse_csrf(request, current, judge)
    header = _judge_case(request, judge, case_id)
    try:
        fields = _directive_fields(form)
    except ValueError as invalid:
        _audit(request, judge, AuditAction.DIRECTIVE, outcome=Outcome.REFUSED, case_id=case_id,
               person_id=header.person_id, reason=str(invalid))
        return _judge_case_page(request, current, judge, case_id, status=422, error=str(invalid))
    if form.get("confirmed") != "yes":
        return _render(request, current, "confirm.html.j2", principal=judge, case_id=case_id, fields=fields)
    try:
        _submit(request, case_id, fields, judge)  # audited there, landed or refused
    except DirectiveRejected as refused:
        return _judge_case_page(request, current, judge, case_id, status=422, error=str(refused))
    return RedirectResponse(f"/portal/cases/{case_id}?" + urlencode({"done": fields["kind"]}), status_code=303)


# --- the creditor ------------------------------------------------------------------------------------------------


def _last_visit(request: Request, principal: Principal, page: str) -> datetime | None:
    """When this principal last saw ``page`` (from the audit log), for the alerts of what is new since."""
    last: str | None = None
    for entry in _settings(request).audit.entries():
        if entry.actor == principal.subject and entry.action == AuditAction.PORTAL_VIEW and \
                entry.detail.get("page") == page and entry.outcome == Outcome.ALLOWED:
            last = entry.at
    return datetime.fromisoformat(last) if last else None


@router.get("/requests", response_class=HTMLResponse)
def creditor_requests(request: Request) -> Response:
    signed = _signed_in(request, Role.CREDITOR)
    if isinstance(signed, Response):
        return signed
    current, creditor = signed
    cases = data.party_cases(creditor)
    case_ids = [c["case_id"] for c in cases]
    entries = data.timeline(case_ids)
    since = _last_visit(request, creditor, request.url.path)
    alerts = [e for e in entries if since is None or e["occurred_at"] > since]
    _audit(request, creditor, AuditAction.PORTAL_VIEW, requests=len(cases))
    return _render(request, current, "creditor_requests.html.j2", principal=creditor, cases=cases,
                   aggregate=_aggregate(cases), alerts=alerts[::-1][:MAX_ALERTS], alert_count=len(alerts))


def _aggregate(cases: list[dict[str, Any]]) -> dict[str, int]:
    keys = ("amount_owed_rial", "paid_rial", "outstanding_rial", "frozen_rial", "collected", "paid_out")
    return {k: sum(int(c.get(k) or 0) for c in cases) for k in keys} | {"count": len(cases)}


@router.get("/requests/print", response_class=HTMLResponse)
def creditor_print(request: Request) -> Response:
    signed = _signed_in(request, Role.CREDITOR)
    if isinstance(signed, Response):
        return signed
    current, creditor = signed
    cases = data.party_cases(creditor)
    _audit(request, creditor, AuditAction.PORTAL_VIEW, requests=len(cases), printable=True)
    return _render(request, current, "creditor_print.html.j2", principal=creditor, cases=cases,
                   aggregate=_aggregate(cases), generated_at=clock.now())


@router.get("/requests/{case_id}", response_class=HTMLResponse)
def creditor_request(request: Request, case_id: str) -> Response:
    signed = _signed_in(request, Role.CREDITOR)
    if isinstance(signed, Response):
        return signed
    current, creditor = signed
    try:
        case = data.check_party_access(creditor, case_id)
    except AccessDenied as refused:
        _audit(request, creditor, AuditAction.PORTAL_VIEW, outcome=Outcome.REFUSED, case_id=case_id[:20],
               reason=str(refused))
        raise PortalError(404, "not_found") from None
    entries = data.timeline([case_id])
    since = _last_visit(request, creditor, request.url.path)
    _audit(request, creditor, AuditAction.PORTAL_VIEW, case_id=case_id, person_id=case["person_id"])
    return _render(request, current, "creditor_request.html.j2", principal=creditor, case=case, entries=entries,
                   since=since)


# --- the debtor --------------------------------------------------------------------------------------------------


@router.get("/me", response_class=HTMLResponse)
def debtor(request: Request) -> Response:
    signed = _signed_in(request, Role.PERSON)
    if isinstance(signed, Response):
        return signed
    current, person = signed
    assert person.person_id is not None  # a person token always names one (estelam.access.auth)
    cases = data.party_cases(person)
    visible = {c["case_id"] for c in cases}
    assets = [a for a in data.frozen_assets_of(person.person_id) if a["case_id"] in visible]
    looked = _looks(e for e in _settings(request).audit.who_looked_at(person.person_id)
                    if e.actor != person.subject and e.outcome == Outcome.ALLOWED)
    _audit(request, person, AuditAction.ACCESS_LOG_VIEW, person_id=person.person_id)
    return _render(request, current, "debtor.html.j2", principal=person, cases=cases,
                   frozen=[a for a in assets if not a["is_protected"]],
                   protected=[a for a in assets if a["is_protected"]], looked=looked)


def _looks(entries: Iterable[AuditEntry]) -> list[dict[str, Any]]:
    """Who looked, grouped by who, in which role, doing what, for what: how often and when last (newest first)."""
    groups: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for entry in entries:
        key = (entry.actor, entry.role, entry.action, entry.purpose)
        group = groups.setdefault(key, {"actor": entry.actor, "role": entry.role, "action": entry.action,
                                        "purpose": entry.purpose, "count": 0, "last_at": entry.at})
        group["count"] += 1
        group["last_at"] = max(group["last_at"], entry.at)
    for group in groups.values():
        group["last_at"] = datetime.fromisoformat(group["last_at"])
    return sorted(groups.values(), key=lambda g: g["last_at"], reverse=True)


def portal_error(request: Request, exc: Exception) -> Response:
    """A :class:`PortalError` as a page in the caller's language."""
    assert isinstance(exc, PortalError)
    current = _session(request)
    return _render(request, current, "message.html.j2", status=exc.status, principal=_principal(request, current),
                   key=exc.key, values=exc.values)
