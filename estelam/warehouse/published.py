"""The published snapshot, as readers see it: the Parquet files and the manifest of the last publication.

Readers (the dashboard, the statisticians' API) import only this module: it never opens the warehouse.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from estelam.core import settings

MANIFEST = "manifest.json"


def published_dir() -> Path:
    """Where the flagged marts are published (``<data>/published``)."""
    return settings.data_dir() / "published"


def read_manifest() -> dict[str, Any] | None:
    """What was last published (``published_at`` and ``rows`` per mart), or None before the first publication."""
    path = published_dir() / MANIFEST
    manifest: dict[str, Any] | None = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    return manifest
