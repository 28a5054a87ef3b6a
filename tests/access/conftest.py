"""Every record test runs against both stores: the embedded files and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.access.record_support import BACKENDS, Backend
from tests.postgres_support import throwaway_database


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "file":
        yield Backend("file", tmp_path)
        return
    with throwaway_database() as database:
        yield Backend("postgres", tmp_path, database)
