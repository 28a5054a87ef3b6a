"""The published snapshot, as readers see it: the Parquet files and the manifest of the last publication.

Readers (the dashboard, the statisticians' API) import only this module: it never opens the warehouse.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from estelam.core import settings
from estelam.warehouse.disclosure import DisclosureRules

MANIFEST = "manifest.json"
#: Open statistics: CSV files anyone may download (suppressed, amounts rounded), under the published folder.
OPEN_FOLDER = "open"


def published_dir() -> Path:
    """Where the flagged marts are published (``<data>/published``)."""
    return settings.published_dir()


def read_manifest() -> dict[str, Any] | None:
    """What was last published (``published_at`` and ``rows`` per mart), or None before the first publication."""
    path = published_dir() / MANIFEST
    manifest: dict[str, Any] | None = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    return manifest


def disclosure_of(mart: str) -> DisclosureRules:
    """The disclosure rules the last publication recorded for ``mart`` (every numeric column a count when it
    recorded none: nothing leaves unsuppressed by omission)."""
    recorded = ((read_manifest() or {}).get("disclosure") or {}).get(mart)
    if recorded:
        return DisclosureRules.from_meta(recorded)
    return DisclosureRules(counts=(), size=(), dimensions=(), all_counts=True)
