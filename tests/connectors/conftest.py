"""Fixtures the connector tests share; each module brings its own ``world``."""

import zlib
from collections.abc import Iterator

import pytest

from estelam.contracts.registry import load_agency_registry
from simulators.world import World
from tests.mapping_support import unprotected_assets


@pytest.fixture
def case_id(request: pytest.FixtureRequest) -> str:
    """A case of this test's own, so freezes of other tests never show in its assertions."""
    return f"1403-{zlib.crc32(request.node.nodeid.encode()):010d}"


@pytest.fixture(scope="module")
def drawn_accounts(world: World) -> Iterator[tuple[str, str, int]]:
    """Unfrozen ordinary accounts at bank_melli as its generated simulator draws them (contracts/kinds/bank.yaml's
    world data): (holder, IBAN, balance), at least 1,000,000 rials, each handed out once per module."""
    return iter(unprotected_assets(world, load_agency_registry().instance("bank_melli"), at_least=1_000_000))
