"""The statisticians' KPI dashboard.

    make dashboard        # python -m streamlit run dashboards/app.py, on 127.0.0.1:8501

Reads only the published KPI snapshot (``data/published``), so it never blocks a warehouse build.
In the deployment profile's language by default (Persian for ``ir``, Arabic for ``sa``), Persian, Arabic or English
on the chooser; money in the profile's currency; small counts suppressed; every chart downloadable as CSV (the CSV
keeps codes, ISO dates and amounts in minor units).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st

from dashboards import alert_data, kpi_data
from dashboards.labels import (
    LANGUAGE_NAMES,
    LANGUAGES,
    RIGHT_TO_LEFT,
    cell,
    column_label,
    default_language,
    digits,
    instant_text,
    money,
    number,
    percent,
    readable,
    step_name,
    t,
)
from estelam.core.calendars import ARABIC_DECIMAL_SEPARATOR, ARABIC_THOUSANDS_SEPARATOR
from estelam.core.jurisdiction import Currency, current_profile

st.set_page_config(page_title="Estelam KPIs", page_icon="⚖️", layout="wide")


def lang() -> str:
    """The reader's language: their choice, else the deployment profile's."""
    return str(st.session_state.get("lang", default_language()))


def currency() -> Currency:
    """The currency the deployment's amounts are kept in (its minor unit) and shown in (its major unit)."""
    return current_profile().currency


def _rtl() -> None:
    if lang() in RIGHT_TO_LEFT:
        st.markdown(
            "<style>.stMainBlockContainer, section[data-testid='stSidebar'] {direction: rtl; text-align: right;}"
            # a chart's canvas inherits the page's direction, and Vega then draws a right-to-left label over its
            # legend symbol and cuts axis labels at the wrong end: charts keep their own left-to-right layout
            "[data-testid='stVegaLiteChart'] {direction: ltr;}"
            "</style>",
            unsafe_allow_html=True,
        )


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    """Agencies by their name and agency kinds by theirs, in the reader's language, and days in the reader's
    calendar (the CSV keeps the codes and ISO dates)."""
    shown = frame.copy()
    if "day" in shown.columns:  # the reader's calendar (fixed width, so a chart's axis sorts them in time)
        shown["day"] = [cell(day, lang()) for day in shown["day"]]
    if "agency_id" in shown.columns:
        shown["agency_id"] = [alert_data.agency_name(a, lang()) for a in shown["agency_id"]]
    if "agency_kind" in shown.columns:
        shown["agency_kind"] = [t(f"agency_kind_{k}", lang()) for k in shown["agency_kind"]]
    return shown


def _labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """Column names, agencies and agency kinds in the reader's language."""
    return _named(frame).rename(columns={c: column_label(c, lang(), currency()) for c in frame.columns})


def _download(frame: pd.DataFrame, name: str) -> None:
    st.download_button(t("download", lang()), frame.to_csv(index=False).encode("utf-8"),
                       file_name=f"{name}.csv", mime="text/csv", key=f"csv-{name}")


def _section(title_key: str, frame: pd.DataFrame, name: str, mart: str, filters: kpi_data.Filters,
             chart: Callable[[pd.DataFrame], object] | None = None) -> None:
    st.subheader(t(title_key, lang()))
    for dim in kpi_data.unsplit_dimensions(mart, kpi_data.load(mart), filters):
        st.caption(t("not_split", lang(), dim=t(dim, lang())))
    if frame.empty:
        st.info(t("no_data", lang()))
        return
    if chart is not None:
        chart(frame)
    st.dataframe(readable(_named(frame), lang(), currency()), hide_index=True, width="stretch")
    _download(frame, name)


def sidebar() -> kpi_data.Filters:
    with st.sidebar:
        st.radio(t("language", lang()), LANGUAGES, key="lang", horizontal=True,
                 index=LANGUAGES.index(default_language()), format_func=LANGUAGE_NAMES.__getitem__)
        st.header(t("filters", lang()))
        bounds = kpi_data.date_bounds()
        start = end = None
        if bounds:
            picked = st.date_input(t("date_range", lang()), value=bounds, key="dates")
            if isinstance(picked, tuple) and len(picked) == 2:
                start, end = picked
        kinds = st.multiselect(t("agency_kind", lang()), kpi_data.choices("agency_kind"), key="kinds",
                               format_func=lambda kind: t(f"agency_kind_{kind}", lang()),
                               placeholder=t("choose", lang()))
        agencies = st.multiselect(t("agency", lang()), kpi_data.choices("agency_id"), key="agencies",
                                  format_func=lambda agency: alert_data.agency_name(agency, lang()),
                                  placeholder=t("choose", lang()))
        courts = st.multiselect(t("court", lang()), kpi_data.choices("court_code"), key="courts",
                                placeholder=t("choose", lang()))
        st.caption(t("suppressed_note", lang(), k=number(kpi_data.suppress_below(), lang())))
        published = kpi_data.published_at()
        if published:
            st.caption(f"{t('published_at', lang())}: {instant_text(datetime.fromisoformat(published), lang())}")
    return kpi_data.Filters(start, end, tuple(agencies), tuple(kinds), tuple(courts))


def overview(filters: kpi_data.Filters) -> None:
    st.title(t("title", lang()))
    if kpi_data.published_at() is None:
        st.warning(t("not_published", lang()))
        return
    columns = st.columns(5)
    shows: dict[str, Callable[[Any], str]] = {
        "number": lambda value: number(value, lang()),
        "percent": lambda value: percent(value, lang()),
        "money": lambda value: money(value, lang(), currency()),
    }
    for column, headline in zip(columns, kpi_data.headlines(filters), strict=True):
        value = shows[headline.kind](headline.value)
        change = headline.change
        column.metric(column_label(headline.key, lang(), currency()), value,
                      None if change is None else f"{percent(change, lang())} {t('change', lang())}")
    volume = kpi_data.inquiries_by_day(filters)
    _section("volume_over_time", volume, "inquiries_by_day", "kpi_inquiries_daily", filters,
             lambda f: _bars(_labelled(f.groupby("day", as_index=False)["inquiries_sent"].sum()),
                             t("day", lang()), [t("inquiries_sent", lang())]))


def inquiries(filters: kpi_data.Filters) -> None:
    st.title(t("inquiries", lang()))
    volume = kpi_data.inquiries_by_day(filters)
    _section("volume_over_time", volume, "inquiry_volume", "kpi_inquiries_daily", filters,
             lambda f: _bars(_labelled(f), t("day", lang()), [t("inquiries_sent", lang())],
                             color=t("agency_kind", lang())))
    times = kpi_data.response_times(filters)
    _section("response_distribution", times, "response_times", "kpi_response_times", filters,
             lambda f: _bars(_labelled(f[["agency_id", "response_ms_p50", "response_ms_p95"]]),
                             t("agency_id", lang()), [t("response_ms_p50", lang()), t("response_ms_p95", lang())],
                             horizontal=True, stacked=False))


def _bars(frame: pd.DataFrame, category: str, values: list[str], *, color: str | None = None,
          horizontal: bool = False, stacked: bool = True, of_what: str | None = None) -> None:
    """A bar chart a reader can read, drawn by Vega-Lite itself (st.bar_chart cuts names at 180 pixels and turns
    day labels on their side): whole names, level labels, rows in the frame's order, the legend below. ``values``
    are the frame's measures (labelled columns); several are stacked, or side by side when not ``stacked``, their
    axis titled ``of_what`` (what they count)."""
    measure, amount = t("measure", lang()), of_what or t("value", lang())
    if color is None and len(values) > 1:
        frame = frame[[category, *values]].melt(id_vars=[category], var_name=measure, value_name=amount)
        color, value = measure, amount
    else:
        value = values[0]
    along, across = ("y", "x") if horizontal else ("x", "y")
    encoding: dict[str, Any] = {
        along: {"field": category, "type": "nominal", "sort": None,
                "axis": {"labelLimit": 400, "labelAngle": 0, "title": None if horizontal else category}},
        across: {"field": value, "type": "quantitative", "stack": "zero" if stacked else None,
                 "axis": _numbers_axis()},
    }
    if color is not None:
        encoding["color"] = {"field": color, "type": "nominal", "sort": None,
                             "legend": {"orient": "bottom", "title": None, "labelLimit": 400, "columns": 4}}
        if not stacked:
            encoding[f"{along}Offset"] = {"field": color, "sort": None}
    shown = frame.dropna(subset=[value])  # a suppressed count draws no bar, rather than a bar of 0
    st.vega_lite_chart(shown, {"mark": {"type": "bar", "tooltip": True}, "encoding": encoding},
                       use_container_width=True)


def _numbers_axis() -> dict[str, Any]:
    """A numbers axis written as the tables write numbers: the reader's digits and separators (Streamlit keeps
    Vega's own locale, so the labels are rewritten by a Vega expression)."""
    if lang() == "en":
        return {}
    expression = "format(datum.value, ',')"
    rewrites = [(",", ARABIC_THOUSANDS_SEPARATOR), ("[.]", ARABIC_DECIMAL_SEPARATOR),
                *((str(n), digits(n, lang())) for n in range(10))]
    for pattern, written in rewrites:
        expression = f"replace({expression}, regexp('{pattern}', 'g'), '{written}')"
    return {"labelExpr": expression}


def _offenders_chart(board: pd.DataFrame) -> None:
    """The agencies with unanswered or late requests (shown, not suppressed), in the board's ranking, worst first;
    the table below lists every agency."""
    shown = board[board["unanswered"].fillna(0) + board["late"].fillna(0) > 0]
    if shown.empty:
        st.info(t("no_data", lang()))
        return
    _bars(_labelled(shown[["agency_id", "unanswered", "late"]]), t("agency_id", lang()),
          [t("unanswered", lang()), t("late", lang())], horizontal=True, of_what=t("requests", lang()))


def compliance(filters: kpi_data.Filters) -> None:
    st.title(t("compliance", lang()))
    board = kpi_data.compliance_scoreboard(filters)
    _section("scoreboard", board, "compliance_scoreboard", "kpi_deadline_compliance", filters, _offenders_chart)


def freezes(filters: kpi_data.Filters) -> None:
    st.title(t("freezes", lang()))
    frame = kpi_data.freezes(filters)
    if not frame.empty:
        over = frame["over_blocked_rial"].sum()
        idle = frame["idle_blocked_rial"].sum()
        left, right = st.columns(2)
        left.metric(column_label("over_blocked_rial", lang(), currency()), money(over, lang(), currency()))
        right.metric(column_label("idle_blocked_rial", lang(), currency()), money(idle, lang(), currency()))
    _section("freezes", frame, "freezes", "kpi_freezes", filters,
             lambda f: _bars(_labelled(f[["agency_id", "ack_seconds_p50", "ack_seconds_p95"]]),
                             t("agency_id", lang()), [t("ack_seconds_p50", lang()), t("ack_seconds_p95", lang())],
                             horizontal=True, stacked=False))


def flow(filters: kpi_data.Filters) -> None:
    st.title(t("flow", lang()))
    steps = kpi_data.enforcement_steps(filters)
    if not steps.empty:
        # numbered, so the chart's axis (sorted by label) keeps the steps in order
        steps = steps.assign(step=[f"{number(n, lang())}. {step_name(s, lang())}"
                                   for n, s in zip(steps["step_no"], steps["step"], strict=True)])
    _section("flow", steps, "enforcement_steps", "kpi_enforcement_steps", filters,
             lambda f: _bars(_labelled(f[["step", "hours_p50", "hours_p95"]]), t("step", lang()),
                             [t("hours_p50", lang()), t("hours_p95", lang())], horizontal=True, stacked=False))
    notices = kpi_data.notifications(filters)
    _section("electronic_share", notices, "notifications", "kpi_notifications", filters,
             lambda f: st.line_chart(_labelled(f[["month", "electronic_share"]]), x=t("month", lang()),
                                     y=t("electronic_share", lang())))


def alerts(filters: kpi_data.Filters) -> None:
    st.title(t("alerts", lang()))
    st.caption(t("alerts_note", lang()))
    everything = alert_data.alerts()
    if everything.empty:
        st.info(t("no_alerts", lang()))
        return
    kinds = st.multiselect(t("alert_kind", lang()), sorted(everything["kind"].unique()), key="alert_kinds",
                           format_func=lambda kind: t(f"kind_{kind}", lang()), placeholder=t("choose", lang()))
    if filters.start or filters.end or filters.courts:
        st.caption(t("not_split", lang(), dim=t("date_range" if filters.start or filters.end else "court", lang())))
    shown = alert_data.alerts(kinds=kinds, agencies=filters.agencies)
    st.caption(t("alerts_count", lang(), n=number(len(shown), lang())))
    st.markdown(alert_data.table_html(shown, lang()), unsafe_allow_html=True)
    _download(alert_data.download_frame(shown), "alerts")


def main() -> None:
    filters = sidebar()
    _rtl()
    pages = [
        st.Page(lambda: overview(filters), title=t("overview", lang()), url_path="overview", default=True),
        st.Page(lambda: inquiries(filters), title=t("inquiries", lang()), url_path="inquiries"),
        st.Page(lambda: compliance(filters), title=t("compliance", lang()), url_path="compliance"),
        st.Page(lambda: freezes(filters), title=t("freezes", lang()), url_path="freezes"),
        st.Page(lambda: flow(filters), title=t("flow", lang()), url_path="flow"),
        st.Page(lambda: alerts(filters), title=t("alerts", lang()), url_path="alerts"),
    ]
    st.navigation(pages).run()


main()
