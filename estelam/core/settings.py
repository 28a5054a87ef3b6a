"""Where things are: the project's folders and the data directory, from the environment.

Every path has an embedded default so the demo runs with no configuration;
deployments override them with environment variables.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]

DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_CONTRACTS_DIR = PROJECT_ROOT / "contracts"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
DAGS_DIR = PROJECT_ROOT / "dags"

#: JSON file mapping agency_id -> base URL; written by the simulator fleet, read by connectors.
ENDPOINTS_FILE_ENV = "ESTELAM_ENDPOINTS_FILE"


def data_dir() -> Path:
    """Root of landing, quarantine, warehouse and reports (``ESTELAM_DATA_DIR``)."""
    return Path(os.environ.get("ESTELAM_DATA_DIR", DEFAULT_DATA_DIR)).resolve()


def contracts_dir() -> Path:
    """Folder of agency and feed contracts (``ESTELAM_CONTRACTS_DIR``)."""
    return Path(os.environ.get("ESTELAM_CONTRACTS_DIR", DEFAULT_CONTRACTS_DIR)).resolve()


def landing_dir() -> Path:
    return data_dir() / "landing"


def quarantine_dir() -> Path:
    return data_dir() / "quarantine"


def warehouse_path() -> Path:
    """The single DuckDB file dbt writes (``ESTELAM_WAREHOUSE``)."""
    return Path(os.environ.get("ESTELAM_WAREHOUSE", data_dir() / "warehouse.duckdb")).resolve()


def reports_dir() -> Path:
    return data_dir() / "reports"


def inbox_dir() -> Path:
    """Where the court system drops case-event files."""
    return data_dir() / "inbox"
