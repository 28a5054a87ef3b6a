"""What the Alerts page shows: the alerts snapshot, newest first, each agency by its name, each time in the
reader's calendar (Solar Hijri in Persian, Umm al-Qura in Arabic, the jurisdiction's own in English) with the
Gregorian instant beside it, each channel's delivery state.

The hub writes the snapshot (``data/published/alerts.parquet``) after every alert it raises
(``estelam.outputs.alerts.publish_snapshot``): one row per alert, its channels' latest states side by side. The
dashboard reads only that file, as it reads only the published KPI marts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from markupsafe import Markup

from dashboards.labels import EN, LANGUAGES, RIGHT_TO_LEFT, digits, instant_text, jurisdiction_time, t
from estelam.contracts.registry import load_agency_registry, load_receivers, registry_path
from estelam.core.calendars import utc_text
from estelam.core.exceptions import ContractError
from estelam.warehouse.published import published_dir

#: The snapshot's name in the published folder (``estelam.outputs.alerts.SNAPSHOT``).
SNAPSHOT = "alerts"
CHANNELS = ("email", "webhook")
SEVERITY_COLOURS = {"critical": "#b42318", "warning": "#b54708", "info": "#475467"}
STATE_COLOURS = {"delivered": "#067647", "sent": "#067647", "queued": "#b54708", "failed": "#b42318"}


def alerts(folder: Path | None = None, *, kinds: Sequence[str] = (), agencies: Sequence[str] = ()) -> pd.DataFrame:
    """Every alert recorded (newest first), of the chosen kinds and agencies when given."""
    path = (folder or published_dir()) / f"{SNAPSHOT}.parquet"
    if not path.is_file():
        return pd.DataFrame()
    frame = pq.read_table(path).to_pandas()  # not through DuckDB: its pandas bridge warns on a zoned timestamp
    if frame.empty:
        return frame
    if kinds:
        frame = frame[frame["kind"].isin(list(kinds))]
    if agencies:
        frame = frame[frame["agency_id"].isin(list(agencies))]
    return frame.sort_values(["raised_at", "alert_id"], ascending=[False, True]).reset_index(drop=True)


def _names() -> dict[str, dict[str, str]]:
    return _names_in(registry_path())


@cache
def _names_in(path: Path) -> dict[str, dict[str, str]]:
    """Every agency's and receiver's name per language, from the registry at ``path`` (the profile's)."""
    try:
        registry = load_agency_registry(path)
        receivers = load_receivers(path)
    except ContractError:
        return {}
    names = {i.agency_id: {lang: i.display_name(lang) for lang in LANGUAGES} for i in registry.instances}
    names |= {r.agency_id: {lang: r.display_name(lang) for lang in LANGUAGES} for r in receivers}
    return names


def agency_name(agency_id: object, lang: str) -> str:
    """The agency's name in ``lang`` as the registry spells it (its id when it is not registered)."""
    if agency_id is None or agency_id is pd.NA or (isinstance(agency_id, float) and pd.isna(agency_id)):
        return ""
    return _names().get(str(agency_id), {}).get(lang) or str(agency_id)


def raised_text(instant: datetime, lang: str) -> tuple[str, str]:
    """The reader's calendar (Solar Hijri in Tehran time for Persian, Umm al-Qura in Riyadh time for Arabic, the
    jurisdiction's calendar and zone for English), and the Gregorian instant (UTC) to show under it."""
    local = jurisdiction_time(instant) if lang == EN else instant_text(instant, lang)
    return local, utc_text(instant)


def _case_ids(value: object) -> list[str]:
    return [c for c in str(value).split(",") if c] if isinstance(value, str) else []


def _state(row: pd.Series, channel: str, lang: str) -> Markup:
    state = row.get(f"{channel}_state")
    if not isinstance(state, str):
        return Markup('<span class="muted">—</span>')
    attempts = row.get(f"{channel}_attempts")
    reason = row.get(f"{channel}_reason")
    tries = "" if attempts is None or pd.isna(attempts) or int(attempts) <= 1 else \
        f" ×{digits(int(attempts), lang)}"
    why = Markup('<div class="why" dir="auto">{}</div>').format(reason) if state == "failed" and \
        isinstance(reason, str) else ""
    return Markup('<span class="nowrap" style="color:{c}">{label}{tries}</span>{why}').format(
        c=STATE_COLOURS.get(state, "inherit"), label=t(f"state_{state}", lang), tries=tries, why=why)


def table_html(frame: pd.DataFrame, lang: str) -> Markup:
    """The alerts as an HTML table in the reader's direction (identifiers isolated left to right)."""
    head = ["raised_at", "alert_kind", "severity", "agency", "case", *CHANNELS]
    if lang == EN:  # the subject is written in English
        head.append("alert_subject")
    rows = []
    for _, row in frame.iterrows():
        cases = Markup("").join(  # one case a line, each read left to right
            Markup('<div class="nowrap"><bdi dir="ltr">{}</bdi></div>').format(digits(c, lang))
            for c in _case_ids(row["case_id"])) or Markup("—")
        local, utc = raised_text(row["raised_at"].to_pydatetime(), lang)
        severity = str(row["severity"])
        agency_id = row["agency_id"]
        agency = Markup("—") if not isinstance(agency_id, str) else Markup(
            '{name}<div class="muted"><bdi dir="ltr">{code}</bdi></div>').format(
            name=agency_name(agency_id, lang), code=agency_id)
        subject = str(row["subject"])
        if isinstance(agency_id, str):
            subject = subject.replace(agency_id, agency_name(agency_id, lang))
        cells = [
            Markup('<span class="nowrap">{local}</span><div class="muted nowrap" dir="ltr">{utc}</div>').format(
                local=local, utc=utc),
            Markup('<span title="{title}">{kind}</span>').format(title=subject, kind=t(f"kind_{row['kind']}", lang)),
            Markup('<span class="badge" style="background:{c}">{s}</span>').format(
                c=SEVERITY_COLOURS.get(severity, "#475467"), s=t(f"severity_{severity}", lang)),
            agency, cases, *(_state(row, channel, lang) for channel in CHANNELS),
        ]
        if lang == EN:
            cells.append(Markup('<span dir="auto">{}</span>').format(subject))
        rows.append(Markup("<tr>{}</tr>").format(Markup("").join(Markup("<td>{}</td>").format(c) for c in cells)))
    header = Markup("").join(Markup("<th>{}</th>").format(t(h, lang)) for h in head)
    direction = "rtl" if lang in RIGHT_TO_LEFT else "ltr"
    return Markup(
        '<style>table.alerts{{border-collapse:collapse;width:100%;font-size:0.92rem}}'
        'table.alerts th,table.alerts td{{border-bottom:1px solid #e4e7ec;padding:6px 8px;vertical-align:top;'
        'text-align:start}}table.alerts th{{background:#f2f4f7}}'
        'table.alerts .muted{{color:#667085;font-size:0.8rem}}table.alerts .nowrap{{white-space:nowrap}}'
        'table.alerts .why{{color:#b42318;font-size:0.78rem;'
        'max-width:22rem}}table.alerts .badge{{color:#fff;border-radius:4px;padding:1px 8px;white-space:nowrap}}'
        '</style><table class="alerts" id="alerts" dir="{d}"><thead><tr>{h}</tr></thead><tbody>{b}</tbody>'
        '</table>').format(d=direction, h=header, b=Markup("").join(rows))


def download_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The CSV download: the snapshot's columns as stored, with the agency's names (fa, ar, en) beside its id."""
    if frame.empty:
        return frame
    out = frame.copy()
    at = out.columns.get_loc("agency_id")
    for offset, lang in enumerate(LANGUAGES, start=1):
        out.insert(at + offset, f"agency_name_{lang}", [agency_name(a, lang) for a in out["agency_id"]])
    return out

