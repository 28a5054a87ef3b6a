"""Publish the marts flagged for statisticians as a read-only snapshot of Parquet files.

DuckDB allows one writer, and a reader in another process blocks ``dbt build``.
So readers never open the warehouse: after each build, every mart whose dbt config
says ``meta: {publish: true}`` is copied to ``data/published/<mart>.parquet`` (write
to a temporary file, then an atomic rename), with a manifest saying when and how
many rows. What a model declares decides, not its name; a test checks that no
published mart has a personal-data column.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from estelam.warehouse.published import MANIFEST, published_dir

logger = logging.getLogger(__name__)

#: The dbt model config ``meta`` key that marks a mart for publication.
PUBLISH_META_KEY = "publish"


def published_models(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    """Sorted names of the models of a dbt ``manifest.json`` whose config meta has ``publish: true``.

    Only ``true`` itself counts (not a truthy string); disabled models are not in ``nodes``.
    """
    names = {
        node["name"]
        for node in (manifest.get("nodes") or {}).values()
        if node.get("resource_type") == "model"
        and ((node.get("config") or {}).get("meta") or {}).get(PUBLISH_META_KEY) is True
    }
    return tuple(sorted(names))


def marts_to_publish() -> tuple[str, ...]:
    """The flagged marts of the last dbt parse or build (its ``manifest.json`` under the data directory)."""
    from estelam.warehouse.dbt_build import dbt_manifest

    return published_models(dbt_manifest())


@dataclass(frozen=True)
class Publication:
    published_at: datetime
    rows: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {"published_at": self.published_at.isoformat(), "rows": self.rows}


def publish_kpis() -> Publication:
    """Copy every mart flagged for publication to the published folder, atomically, file by file."""
    from estelam.warehouse.dbt_build import connect_read_only

    target = published_dir()
    target.mkdir(parents=True, exist_ok=True)
    rows: dict[str, int] = {}
    with connect_read_only() as con:
        for mart in marts_to_publish():
            final = target / f"{mart}.parquet"
            tmp = target / f".{mart}.parquet.tmp"
            con.execute(f"copy (select * from main.\"{mart}\") to '{tmp}' (format parquet)")
            os.replace(tmp, final)
            ((count,),) = con.execute(f'select count(*) from main."{mart}"').fetchall()
            rows[mart] = int(count)
    publication = Publication(datetime.now(UTC), rows)
    manifest_tmp = target / f".{MANIFEST}.tmp"
    manifest_tmp.write_text(json.dumps(publication.as_dict(), indent=2), encoding="utf-8")
    os.replace(manifest_tmp, target / MANIFEST)
    logger.info("published %d marts to %s", len(rows), target)
    return publication
