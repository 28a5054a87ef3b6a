"""The warehouse: running dbt on DuckDB, short-lived read connections, publishing the flagged marts, the cycle
summary, and the DuckDB functions dbt's models call.

May import: core, contracts.
"""

from __future__ import annotations

from estelam.warehouse.dbt_build import build, connect_read_only
from estelam.warehouse.published import published_dir, read_manifest
from estelam.warehouse.publishing import marts_to_publish, publish_kpis
from estelam.warehouse.summary import cycle_summary

__all__ = [
    "build",
    "connect_read_only",
    "cycle_summary",
    "marts_to_publish",
    "publish_kpis",
    "published_dir",
    "read_manifest",
]
