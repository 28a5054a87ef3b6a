"""The land registry, a kind declared by its mapping (contracts/kinds/land_registry.yaml) over its WSDL: the mapping
format's addition it needs — a composed reference joined by a separator of its own (``asset_ref_separator: /``), so
a property is still named ``<section>/<main plate>/<sub plate>`` as every order and ledger named it — and the generic
client sending the order bodies the WSDL declares (those of the hand-written client the mapping replaced). What it
does as every registry moved onto a mapping does (landing what its world data draws, refusing an order after its
cancel): in test_vehicle_registry_mapping, for both; its order steps against the generated simulator, restricting a
property whole (the built-in asset kind ``property``, which the freeze plan takes whole): in test_mapped_order_steps,
with the depository's and the vehicle registry's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from connectors import wire_client_for
from estelam.contracts import kind_models
from estelam.contracts import registry as contracts
from estelam.core.domain import AgencyInstance, AgencyKind, FreezeOrder, OrderKind
from estelam.core.kinds import mapping_at, split_asset_ref
from estelam.freeze.planner import INDIVISIBLE_KINDS, LIQUIDITY_RANK
from simulators.agency_state import AgencyState
from simulators.mapped_app import mapped_application
from simulators.world import World, generate
from tests.mapping_support import (
    PROJECT_CONTRACTS,
    assert_refused_on_load,
    body_fields,
    copy_contracts,
    drawn_assets,
    recording,
)

MAPPING = PROJECT_CONTRACTS / "kinds" / "land_registry.yaml"
PROJECT = contracts.load_agency_registry()
NS = "urn:estelam:agency:land_registry:v1"
CASE = "1403-000123"
AT = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(PROJECT.instances)


def _instance() -> AgencyInstance:
    return contracts.load_agency_registry().instance("land_registry")


@pytest.fixture
def recorded(world: World) -> Iterator[tuple[str, list[etree._Element]]]:
    """The generated simulator behind a recorder of every request body it is sent."""
    app = mapped_application(AgencyState(PROJECT.instance("land_registry"), []), mapping_at(MAPPING), world, None)
    with recording(app) as served:
        yield served


def _order(kind: OrderKind, ref: str, amount: int, order_id: str, cancels: str | None = None) -> FreezeOrder:
    return FreezeOrder(order_id, kind, CASE, "land_registry", ref, amount, AT, cancels=cancels)


def test_the_mapping_loads_against_the_wsdl_and_the_feed() -> None:
    kind = PROJECT.kinds[AgencyKind("land_registry")]
    assert kind.mapping is not None and kind.mapping.assets is not None
    assets = kind.mapping.assets
    assert (assets.asset_kind, assets.asset_ref, assets.asset_ref_separator) == (
        "property", "registry_section/main_plate/sub_plate", "/")
    assert assets.liquidity_rank == LIQUIDITY_RANK["property"] and "property" in INDIVISIBLE_KINDS
    assert set(kind.mapping.orders) == {"freeze", "release", "cancel"}  # a property is never transferred
    assert kind.answer_feed == "properties"
    assert _instance().mapping_file == str(MAPPING)
    assert kind.contract == str(PROJECT_CONTRACTS / "kinds" / "land_registry.wsdl")
    assert split_asset_ref(assets, "11/7/1") == {"registry_section": "11", "main_plate": "7", "sub_plate": "1"}
    assert split_asset_ref(assets, "11:7:1") is None


def test_the_generated_asset_staging_keeps_the_plate_reference_and_detail() -> None:
    text = kind_models.render_assets()
    section = text[text.index("-- land_registry: feed properties"):].split("union all")[0]
    assert ("cast(registry_section as varchar) || '/' || cast(main_plate as varchar) || '/' || "
            "cast(sub_plate as varchar) as asset_ref") in section
    assert "cast(share_percent as varchar) || '% share' as asset_detail" in section
    assert "'property' as asset_kind" in section and "true as can_freeze" in section
    assert "cast(owner_name as varchar) as owner_name" in section  # identity evidence (int_person_records)


def test_orders_send_the_wsdl_s_bodies(world: World, recorded: tuple[str, list[etree._Element]]) -> None:
    url, bodies = recorded
    _, ref, row = drawn_assets(world, _instance())[0]
    client = wire_client_for(replace(_instance(), endpoint=url), credentials=None)
    client.freeze(_order(OrderKind.FREEZE, ref, 100, "o-1"))
    client.release(_order(OrderKind.RELEASE, ref, 50, "o-2"))
    client.cancel(_order(OrderKind.CANCEL, ref, 100, "o-3", cancels="o-1"))
    client.close()
    plate = {"registrySection": str(row["registry_section"]), "mainPlate": str(row["main_plate"]),
             "subPlate": str(row["sub_plate"])}
    # the bodies the hand-written client sent, element for element
    assert body_fields(bodies) == [
        ("FreezeProperty", {"orderId": "o-1", "caseId": CASE, **plate, "amountRial": "100"}),
        ("ReleaseProperty", {"orderId": "o-2", "caseId": CASE, **plate, "amountRial": "50"}),
        ("CancelPropertyOrder", {"orderId": "o-3", "caseId": CASE, "cancelsOrderId": "o-1", **plate,
                                 "amountRial": "100"}),
    ]
    assert all(etree.QName(b).namespace == NS for b in bodies)


# --- guard rails of the addition ------------------------------------------------------------------------------


@pytest.mark.parametrize(("old", "new", "field", "says"), [
    ("asset_ref_separator: /", "asset_ref_separator: x", "contributes.assets.asset_ref_separator",
     "a separator is punctuation"),
    ("asset_ref_separator: /", 'asset_ref_separator: " "', "contributes.assets.asset_ref_separator",
     "a separator is punctuation"),
    ("asset_ref: [registry_section, main_plate, sub_plate]", "asset_ref: main_plate",
     "contributes.assets.asset_ref_separator", "only a composed reference"),
    ("asset_kind: property", "asset_kind: vehicle", "contributes.assets.asset_kind", "built-in kind's own"),
])
def test_a_separator_that_does_not_fit_is_refused_naming_file_line_and_field(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str, field: str, says: str) -> None:
    assert_refused_on_load(copy_contracts(tmp_path, monkeypatch), "land_registry", old, new, field, says)
