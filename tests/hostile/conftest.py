"""One hostile world per run of the suite: a data directory and two API processes sharing it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.hostile.harness import (
    AGENCY,
    ApiProcess,
    auth,
    build_warehouse,
    land_orders,
    rest_acknowledgements,
    start_api,
    write_tokens,
)
from tests.settings_support import override


@dataclass
class World:
    data_dir: Path
    tokens_file: Path
    log_dir: Path


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("hostile")
    data_dir = root / "data"
    data_dir.mkdir()
    (root / "logs").mkdir()
    build_warehouse(data_dir / "warehouse.duckdb")
    with pytest.MonkeyPatch.context() as mp:  # this process lands the probed orders into the servers' data dir
        override(mp, data_dir=data_dir)
        yield World(data_dir, write_tokens(root / "tokens.json"), root / "logs")


@pytest.fixture(scope="package")
def api_pair(world: World) -> Iterator[tuple[ApiProcess, ApiProcess]]:
    """Two API processes on one data directory, as two replicas behind a load balancer."""
    first = start_api(world.data_dir, world.tokens_file, world.log_dir, "api-1")
    try:
        second = start_api(world.data_dir, world.tokens_file, world.log_dir, "api-2")
    except BaseException:
        first.stop()
        raise
    try:
        _warm_up(first, second)
        yield first, second
    finally:
        first.stop()
        second.stop()


def _warm_up(*apis: ApiProcess) -> None:
    """Land one acknowledgement through each process: the first landing imports the validation stack (seconds)."""
    orders = [f"warm-up-{n}" for n in range(len(apis))]
    land_orders(orders, "hostile-warm-up")
    for api, order_id in zip(apis, orders, strict=True):
        response = httpx.post(f"{api.url}/agencies/{AGENCY}/acknowledgements", json=rest_acknowledgements([order_id]),
                              headers=auth("agency"), timeout=120)
        assert response.status_code == 201, response.text


@pytest.fixture
def api(api_pair: tuple[ApiProcess, ApiProcess]) -> ApiProcess:
    return api_pair[0]
