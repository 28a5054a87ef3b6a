"""Publish the marts flagged for statisticians as a read-only snapshot of Parquet files.

DuckDB allows one writer, and a reader in another process blocks ``dbt build``.
So readers never open the warehouse: after each build, every mart whose dbt config
says ``meta: {publish: true}`` is copied to ``data/published/<mart>.parquet`` (write
to a temporary file, then an atomic rename), with a manifest saying when, how
many rows and each mart's disclosure rules; and its open-statistics file
``data/published/open/<mart>.csv`` is written with small counts suppressed and amounts
rounded (``estelam.warehouse.disclosure``). What a model declares decides, not its name; a test checks that no
published mart has a personal-data column.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from estelam.core import clock, settings
from estelam.warehouse.disclosure import DisclosureRules, for_open_data
from estelam.warehouse.published import MANIFEST, OPEN_FOLDER, published_dir

logger = logging.getLogger(__name__)

#: The dbt model config ``meta`` key that marks a mart for publication.
PUBLISH_META_KEY = "publish"
#: The meta key of a published mart's disclosure rules (see ``estelam.warehouse.disclosure``).
DISCLOSURE_META_KEY = "disclosure"



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


def disclosure_rules(manifest: Mapping[str, Any]) -> dict[str, DisclosureRules]:
    """Per published model of a dbt ``manifest.json``: its ``meta.disclosure`` rules."""
    found: dict[str, DisclosureRules] = {}
    for node in (manifest.get("nodes") or {}).values():
        meta = ((node.get("config") or {}).get("meta") or {})
        if node.get("resource_type") == "model" and meta.get(PUBLISH_META_KEY) is True:
            found[node["name"]] = DisclosureRules.from_meta(meta.get(DISCLOSURE_META_KEY) or {})
    return found


def marts_to_publish() -> tuple[str, ...]:
    """The flagged marts of the last dbt parse or build (its ``manifest.json`` under the data directory)."""
    from estelam.warehouse.dbt_build import dbt_manifest

    return published_models(dbt_manifest())


@dataclass(frozen=True)
class Publication:
    published_at: datetime
    rows: dict[str, int]
    disclosure: dict[str, DisclosureRules] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"published_at": self.published_at.isoformat(), "rows": self.rows,
                "disclosure": {mart: rules.as_dict() for mart, rules in self.disclosure.items()}}


def publish_kpis() -> Publication:
    """Copy every mart flagged for publication to the published folder, atomically, file by file."""
    from estelam.warehouse.dbt_build import connect_read_only, dbt_manifest

    target = published_dir()
    (target / OPEN_FOLDER).mkdir(parents=True, exist_ok=True)
    rules = disclosure_rules(dbt_manifest())
    threshold = settings.current().suppress_below
    rows: dict[str, int] = {}
    with connect_read_only() as con:
        for mart in sorted(rules):
            final = target / f"{mart}.parquet"
            tmp = target / f".{mart}.parquet.tmp"
            con.execute(f"copy (select * from main.\"{mart}\") to '{tmp}' (format parquet)")
            os.replace(tmp, final)
            table = pq.read_table(final)
            rows[mart] = table.num_rows
            _write_open_csv(target / OPEN_FOLDER / f"{mart}.csv", table.column_names,
                            for_open_data(table.to_pylist(), rules[mart], threshold))
    publication = Publication(clock.now(), rows, rules)
    manifest_tmp = target / f".{MANIFEST}.tmp"
    manifest_tmp.write_text(json.dumps(publication.as_dict(), indent=2), encoding="utf-8")
    os.replace(manifest_tmp, target / MANIFEST)
    logger.info("published %d marts to %s", len(rows), target)
    return publication


def _write_open_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """One open-statistics file, written whole then moved into place."""
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(temporary, path)
