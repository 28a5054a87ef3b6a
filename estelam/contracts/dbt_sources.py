"""Generate the dbt sources file from the feed data contracts.

``dbt/models/staging/__sources.yml`` is written by :func:`write_sources` and
committed; a test asserts the committed file equals :func:`render_sources`, so
the contracts in ``contracts/feeds/`` stay the single source of truth for every
landed feed's columns, types, PII classes and cheap quality tests (one ``contract_rules`` test per feed,
and its primary key).

The sources live in the DuckDB schema ``landing``: one view per feed, created
at the start of every dbt invocation by the ``create_landing_views`` macro from
exactly these column definitions (see ``dbt/macros/landing.sql``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from estelam.contracts import registry as contracts
from estelam.contracts.registry import Column, FeedContract
from estelam.core import settings

#: The one dbt source; also the DuckDB schema holding one view per feed.
SOURCE_NAME = "landing"
SOURCES_FILE = Path("models") / "staging" / "__sources.yml"

#: Lineage columns the landing writer adds to every batch, after the contract's columns.
LINEAGE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("_batch_id", "varchar", "Lineage: the landed batch (file) this row came from."),
    ("_landed_at", "timestamp with time zone", "Lineage: when the batch was landed (UTC)."),
)

#: Duplicate primary keys in landing are tolerated (staging keeps the newest copy), so only warn.
PRIMARY_KEY_SEVERITY = "warn"

HEADER = (
    "# GENERATED from contracts/feeds/*.yaml by estelam.contracts.dbt_sources.write_sources(): do not edit by hand.\n"
    "# tests/test_dbt_sources.py fails when this file and the contracts disagree.\n"
)


def sources_path() -> Path:
    """Where the generated sources file lives inside the dbt project."""
    return settings.DBT_PROJECT_DIR / SOURCES_FILE


def _contract_rules_test(contract: FeedContract) -> dict[str, Any]:
    """The feed's column rules as one test (``dbt/macros/tests/contract_rules.sql``): one query per feed instead of
    a test node per column and rule, which cost a build ~50 ms each (about 260 nodes) for a few milliseconds of SQL."""
    not_null = [c.name for c in contract.columns if not c.nullable] + [name for name, _, _ in LINEAGE_COLUMNS]
    accepted = {c.name: [str(v) for v in c.rules["allowed"]] for c in contract.columns if c.rules.get("allowed")}
    return {"contract_rules": {"name": f"contract_rules_{contract.feed}",
                               "arguments": {"not_null": not_null, "accepted_values": accepted}}}


def _column(column: Column) -> dict[str, Any]:
    return {
        "name": column.name,
        "data_type": column.duckdb_type,
        "description": column.description,
        "config": {"meta": {"pii": column.pii}},
    }


def _primary_key_test(contract: FeedContract) -> dict[str, Any]:
    return {
        "unique_combination": {
            "arguments": {"columns": list(contract.primary_key)},
            "config": {"severity": PRIMARY_KEY_SEVERITY},
        }
    }


def _table(contract: FeedContract) -> dict[str, Any]:
    columns = [_column(c) for c in contract.columns]
    columns += [
        {
            "name": name,
            "data_type": dtype,
            "description": description,
            "config": {"meta": {"pii": "none"}},
        }
        for name, dtype, description in LINEAGE_COLUMNS
    ]
    return {
        "name": contract.feed,
        "description": contract.description,
        "config": {
            "meta": {
                "produced_by": contract.produced_by,
                "grain": contract.grain,
                "primary_key": list(contract.primary_key),
            }
        },
        "data_tests": [_contract_rules_test(contract), _primary_key_test(contract)],
        "columns": columns,
    }


def render_sources() -> str:
    """The text of ``__sources.yml`` for the current contracts."""
    document = {
        "version": 2,
        "sources": [
            {
                "name": SOURCE_NAME,
                "description": (
                    "Validated feeds in the landing zone (Parquet under $ESTELAM_DATA_DIR/landing/<feed>/dt=*/), "
                    "exposed as one view per feed in schema landing by the create_landing_views on-run-start hook; "
                    "a feed with no files yet is an empty view with the contract's columns."
                ),
                "schema": SOURCE_NAME,
                "tables": [_table(c) for _, c in sorted(contracts.feeds().items())],
            }
        ],
    }
    body = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)
    return HEADER + body


def write_sources(path: Path | None = None) -> Path:
    """Write the generated sources file (default: into the dbt project) and return its path."""
    path = path or sources_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_sources(), encoding="utf-8")
    return path
