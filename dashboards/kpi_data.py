"""What the dashboard shows: published KPI marts, filtered and with small counts suppressed.

Reads only ``data/published/*.parquet`` (see ``estelam.warehouse.publishing``), never the
warehouse, so an open dashboard cannot block ``dbt build``. Every table is
aggregated first and suppressed last: a count from 1 to ``threshold - 1`` is
hidden, and so is every measure of a row built on fewer than ``threshold`` events,
so no person can be singled out from what is shown or downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from estelam.core import settings
from estelam.warehouse.published import disclosure_of, published_dir, read_manifest

#: The published KPI marts the dashboard draws on; what counts and what sizes a row in each is declared once, in
#: the mart's dbt ``meta.disclosure``, and read back from the publication's manifest.
MARTS = ("kpi_inquiries_daily", "kpi_response_times", "kpi_deadline_compliance", "kpi_freezes",
         "kpi_enforcement_steps", "kpi_notifications")


def suppress_below() -> int:
    """Counts below this are not shown (``ESTELAM_SUPPRESS_BELOW``)."""
    return settings.current().suppress_below


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices; an empty list means everything."""

    start: date | None = None
    end: date | None = None
    agencies: Sequence[str] = field(default_factory=tuple)
    agency_kinds: Sequence[str] = field(default_factory=tuple)
    courts: Sequence[str] = field(default_factory=tuple)

    def previous_period(self) -> Filters | None:
        """The period of the same length just before this one, for period-over-period change."""
        if self.start is None or self.end is None:
            return None
        length = self.end - self.start + timedelta(days=1)
        return Filters(self.start - length, self.start - timedelta(days=1), self.agencies, self.agency_kinds,
                       self.courts)


def load(mart: str, folder: Path | None = None) -> pd.DataFrame:
    """One published mart as a DataFrame (empty when it was never published)."""
    path = (folder or published_dir()) / f"{mart}.parquet"
    if not path.is_file():
        return pd.DataFrame()
    with duckdb.connect() as con:
        return con.execute("select * from read_parquet(?)", [str(path)]).df()


def published_at() -> str | None:
    manifest = read_manifest()
    return str(manifest["published_at"]) if manifest else None


def _as_date(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, utc=True).dt.date


def apply_filters(frame: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Keep the rows the filters allow, on whichever of the filtered dimensions the mart has."""
    if frame.empty:
        return frame
    keep = pd.Series(True, index=frame.index)
    for column in ("day", "month", "filed_month"):
        if column in frame.columns:
            when = _as_date(frame[column])
            if filters.start is not None:
                # a month counts when any of its days is in the range
                first_day = filters.start.replace(day=1) if column != "day" else filters.start
                keep &= when >= first_day
            if filters.end is not None:
                keep &= when <= filters.end
            break
    for column, chosen in (("agency_id", filters.agencies), ("agency_kind", filters.agency_kinds),
                           ("court_code", filters.courts)):
        if chosen and column in frame.columns:
            keep &= frame[column].isin(list(chosen))
    return frame[keep]


def unsplit_dimensions(mart: str, frame: pd.DataFrame, filters: Filters) -> list[str]:
    """Filters the user set that this mart cannot honour (so the page can say so)."""
    missing = []
    if (filters.start or filters.end) and not {"day", "month", "filed_month"} & set(frame.columns):
        missing.append("date_range")
    for key, column, chosen in (("agency", "agency_id", filters.agencies),
                                ("agency_kind", "agency_kind", filters.agency_kinds),
                                ("court", "court_code", filters.courts)):
        if chosen and column not in frame.columns:
            missing.append(key)
    return missing


def suppress(frame: pd.DataFrame, mart: str, threshold: int | None = None) -> pd.DataFrame:
    """Hide small counts, and every measure of a row sized below the threshold."""
    threshold = suppress_below() if threshold is None else threshold
    if frame.empty:
        return frame
    out = frame.copy()
    rules = disclosure_of(mart)
    numeric = [c for c in out.columns
               if pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])]
    counts = numeric if rules.all_counts else [c for c in rules.counts if c in out.columns]
    measures = [c for c in numeric if c not in rules.dimensions]
    size_columns = [c for c in rules.size if c in out.columns]
    if size_columns:
        small_row = out[size_columns].sum(axis=1) < threshold
        for column in measures:
            out[column] = _nullable(out[column]).mask(small_row)
    for column in counts:
        out[column] = _nullable(out[column]).mask((out[column] > 0) & (out[column] < threshold))
    return out


def _nullable(column: pd.Series) -> pd.Series:
    """The column in a dtype that can hold a hidden value: whole numbers (counts, money in minor units) stay whole,
    so the CSV keeps ``123456789`` halalas rather than ``123456789.0``."""
    return column.astype("Int64" if pd.api.types.is_integer_dtype(column) else "Float64")


def inquiries_by_day(filters: Filters) -> pd.DataFrame:
    """Inquiry volume per day and agency kind, aggregated over the chosen agencies."""
    frame = apply_filters(load("kpi_inquiries_daily"), filters)
    if frame.empty:
        return frame
    grouped = frame.groupby(["day", "agency_kind"], as_index=False)[
        ["inquiries_sent", "answered", "rejected", "failed", "deadline_missed"]].sum()
    return suppress(grouped, "kpi_inquiries_daily")


def response_times(filters: Filters) -> pd.DataFrame:
    """Response-time percentiles per agency (tail against the deadline)."""
    frame = apply_filters(load("kpi_response_times"), filters)
    return suppress(frame, "kpi_response_times")


def compliance_scoreboard(filters: Filters) -> pd.DataFrame:
    """Agencies ranked by unanswered, then late requests (inquiries and orders together)."""
    frame = apply_filters(load("kpi_deadline_compliance"), filters)
    if frame.empty:
        return frame
    board = frame.groupby("agency_id", as_index=False)[["requests", "on_time", "late", "unanswered", "pending"]].sum()
    answered = board["on_time"] + board["late"] + board["unanswered"]
    board["compliance_share"] = (board["on_time"] / answered.where(answered > 0)).astype("Float64")
    board = board.sort_values(["unanswered", "late", "agency_id"], ascending=[False, False, True])
    return suppress(board, "kpi_deadline_compliance")


def freezes(filters: Filters) -> pd.DataFrame:
    frame = apply_filters(load("kpi_freezes"), filters)
    return suppress(frame, "kpi_freezes")


def enforcement_steps(filters: Filters) -> pd.DataFrame:
    """The six automated steps (and the whole request): cases, durations, automated share."""
    frame = apply_filters(load("kpi_enforcement_steps"), filters)
    if frame.empty:
        return frame
    weighted = frame.assign(
        p50_weight=frame["hours_p50"] * frame["cases_reached"],
        p95_weight=frame["hours_p95"] * frame["cases_reached"],
    )
    steps = weighted.groupby(["step_no", "step"], as_index=False)[
        ["cases_reached", "automated", "p50_weight", "p95_weight"]].sum()
    reached = steps["cases_reached"].where(steps["cases_reached"] > 0)
    # months are combined by a case-weighted mean of their percentiles: an approximation, said on the page
    steps["hours_p50"] = steps["p50_weight"] / reached
    steps["hours_p95"] = steps["p95_weight"] / reached
    steps["automated_share"] = (steps["automated"] / reached).astype("Float64")
    steps = steps.drop(columns=["p50_weight", "p95_weight"]).sort_values("step_no")
    return suppress(steps, "kpi_enforcement_steps")


def notifications(filters: Filters) -> pd.DataFrame:
    frame = apply_filters(load("kpi_notifications"), filters)
    if frame.empty:
        return frame
    monthly = frame.groupby("month", as_index=False)[["notices", "electronic", "paper"]].sum()
    monthly["electronic_share"] = (monthly["electronic"] / monthly["notices"].where(monthly["notices"] > 0)
                                   ).astype("Float64")
    return suppress(monthly, "kpi_notifications")


@dataclass(frozen=True)
class Headline:
    key: str
    value: float | None
    previous: float | None
    kind: str = "number"  # number | percent | money (minor units of the jurisdiction's currency)

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None or self.previous == 0:
            return None
        return (self.value - self.previous) / self.previous


def _total(frame: pd.DataFrame, column: str) -> float | None:
    if frame.empty or column not in frame.columns:
        return None
    return float(frame[column].sum())


def headlines(filters: Filters) -> list[Headline]:
    """The overview's headline figures for the period, with the previous period beside them."""
    threshold = suppress_below()

    def guarded(value: float | None) -> float | None:
        return None if value is not None and 0 < value < threshold else value

    def share(num: float | None, den: float | None) -> float | None:
        return None if not den or num is None or den < threshold else num / den

    previous = filters.previous_period()
    inq = apply_filters(load("kpi_inquiries_daily"), filters)
    inq_prev = apply_filters(load("kpi_inquiries_daily"), previous) if previous else pd.DataFrame()
    notes = apply_filters(load("kpi_notifications"), filters)
    notes_prev = apply_filters(load("kpi_notifications"), previous) if previous else pd.DataFrame()
    steps = apply_filters(load("kpi_enforcement_steps"), filters)
    steps_prev = apply_filters(load("kpi_enforcement_steps"), previous) if previous else pd.DataFrame()
    frozen = apply_filters(load("kpi_freezes"), filters)

    def closed(frame: pd.DataFrame) -> float | None:
        if frame.empty:
            return None
        return float(frame.loc[frame["step"] == "closure", "cases_reached"].sum())

    return [
        Headline("headline_inquiries", guarded(_total(inq, "inquiries_sent")),
                 guarded(_total(inq_prev, "inquiries_sent"))),
        Headline("headline_answered_share", share(_total(inq, "answered"), _total(inq, "inquiries_sent")),
                 share(_total(inq_prev, "answered"), _total(inq_prev, "inquiries_sent")), "percent"),
        Headline("headline_e_notice", share(_total(notes, "electronic"), _total(notes, "notices")),
                 share(_total(notes_prev, "electronic"), _total(notes_prev, "notices")), "percent"),
        Headline("headline_closed", guarded(closed(steps)), guarded(closed(steps_prev))),
        Headline("headline_over_blocked", _total(frozen, "over_blocked_rial"), None, "money"),
    ]


def choices(column: str) -> list[str]:
    """Every value a filter can take, from whichever published marts carry the column."""
    values: set[str] = set()
    for mart in MARTS:
        frame = load(mart)
        if column in frame.columns:
            values |= set(frame[column].dropna().astype(str))
    return sorted(values)


def date_bounds() -> tuple[date, date] | None:
    """The first and last day any published mart speaks of (cases are filed weeks before inquiries)."""
    days: list[date] = []
    for mart in MARTS:
        frame = load(mart)
        for column in ("day", "month", "filed_month"):
            if column in frame.columns and not frame.empty:
                when = _as_date(frame[column])
                days += [min(when), max(when)]
    return (min(days), max(days)) if days else None
