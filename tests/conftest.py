"""Test-wide setup: Airflow and the data directory live in a temporary folder, never in the project.

Airflow reads its configuration when first imported, so this runs before any test module.
"""

import os
import tempfile
from pathlib import Path

_SESSION_DIR = Path(tempfile.mkdtemp(prefix="estelam-tests-"))
os.environ["AIRFLOW_HOME"] = str(_SESSION_DIR / "airflow")
os.environ.setdefault("ESTELAM_DATA_DIR", str(_SESSION_DIR / "data"))
os.environ.pop("ESTELAM_ENDPOINTS_FILE", None)
os.environ.pop("ESTELAM_WAREHOUSE", None)

from estelam.orchestration import configure_airflow  # noqa: E402

configure_airflow()
