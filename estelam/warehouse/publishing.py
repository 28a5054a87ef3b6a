"""Publish the KPI marts as a read-only snapshot of Parquet files for the dashboard.

DuckDB allows one writer, and a reader in another process blocks ``dbt build``.
So readers never open the warehouse: after each build, every ``kpi_*`` mart is
copied to ``data/published/<mart>.parquet`` (write to a temporary file, then an
atomic rename), with a manifest saying when and how many rows. Only KPI marts
are published: they hold no personal data.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from estelam.core import settings

KPI_PREFIX = "kpi_"
MANIFEST = "manifest.json"


def published_dir() -> Path:
    return settings.data_dir() / "published"


@dataclass(frozen=True)
class Publication:
    published_at: datetime
    rows: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {"published_at": self.published_at.isoformat(), "rows": self.rows}


def publish_kpis() -> Publication:
    """Copy every KPI mart of the warehouse to the published folder, atomically, file by file."""
    from estelam.warehouse.dbt_build import connect_read_only

    target = published_dir()
    target.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    with connect_read_only() as con:
        marts = [name for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'main' and starts_with(table_name, ?) order by table_name",
            [KPI_PREFIX],
        ).fetchall()]
        for mart in marts:
            final = target / f"{mart}.parquet"
            tmp = target / f".{mart}.parquet.tmp"
            con.execute(f"copy (select * from main.\"{mart}\") to '{tmp}' (format parquet)")
            os.replace(tmp, final)
            rows[mart] = int(con.execute(f'select count(*) from main."{mart}"').fetchone()[0])  # type: ignore[index]
    publication = Publication(datetime.now(UTC), rows)
    manifest_tmp = target / f".{MANIFEST}.tmp"
    manifest_tmp.write_text(json.dumps(publication.as_dict(), indent=2), encoding="utf-8")
    os.replace(manifest_tmp, target / MANIFEST)
    return publication


def read_manifest() -> dict[str, object] | None:
    """What was last published, or None before the first publication."""
    path = published_dir() / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
