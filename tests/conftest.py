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

from estelam.orchestration.in_process import configure_airflow  # noqa: E402

configure_airflow()


import pytest  # noqa: E402

from tests.settings_support import override  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_agency_breakers() -> None:
    """Breakers and rate limits are per agency for the whole process: each test starts with every circuit closed."""
    from connectors.shared_state import forget_in_process_state

    forget_in_process_state()


#: A small world for the shared end-to-end run: enough for every mart and the whole story, quick on two cores.
E2E_PERSONS = 60
E2E_CASES = 24
#: The shortest story (simulators.story.MIN_DAYS).
E2E_DAYS = 4


@pytest.fixture(scope="session")
def demo_cycle(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One whole demo cycle through real Airflow, shared by the end-to-end, portal and dashboard tests. Its
    agencies and channels keep running until the session ends (``result.live``), so a test can act as a judge and
    run the next reconciliation against the same simulators."""
    from contextlib import ExitStack

    from estelam.reporting.asset_report import write_case_report
    from simulators.demo import running

    data = tmp_path_factory.mktemp("e2e-data")
    with ExitStack() as stack:
        with pytest.MonkeyPatch.context() as mp:
            override(mp, data_dir=data)
            live = stack.enter_context(running(days=E2E_DAYS, persons=E2E_PERSONS, cases=E2E_CASES))
            result = live.result
            result.report_path = str(write_case_report())
        result.data_dir = data  # type: ignore[attr-defined]
        result.live = live  # type: ignore[attr-defined]
        yield result
