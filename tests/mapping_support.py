"""What the mapping tests share: finding the line a refusal must name; the records a generated simulator draws; the
generic client of an instance by its mapping; the SOAP bodies a simulator was sent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from lxml import etree

from connectors.mapped import MappedAgencyClient
from estelam.core.domain import AgencyInstance
from estelam.core.kinds import feed_column_types, join_asset_ref, mapping_at
from simulators.mapped_app import kind_world, records_of
from simulators.server import Application, Request, Response, RunningServer
from simulators.world import World


def line_of(path: Path, text: str, *, after: str = "") -> int:
    """The 1-based line of the first line of ``path`` containing ``text`` (below the first line holding ``after``)."""
    started = not after
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        started = started or after in line
        if started and text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def drawn_records(world: World, instance: AgencyInstance, person_id: str) -> list[dict[str, Any]]:
    """The records the generated simulator of ``instance`` (a kind declared by a mapping) holds of the person, as
    its kind's world data draws them (the feed's columns)."""
    return records_of(world, kind_world(str(instance.kind), jurisdiction=world.jurisdiction), instance.agency_id,
                      person_id) or []


def drawn_assets(world: World, instance: AgencyInstance) -> list[tuple[str, str, dict[str, Any]]]:
    """(owner, asset reference, record) of every asset the generated simulator of ``instance`` holds."""
    assets = mapping_at(Path(str(instance.mapping_file))).assets
    assert assets is not None, f"{instance.kind} contributes no assets"
    return [(p.person_id, join_asset_ref(assets, row), row) for p in world.persons
            for row in drawn_records(world, instance, p.person_id)]


def mapped_client_of(instance: AgencyInstance, mapping_file: Path, *, endpoint: str) -> MappedAgencyClient:
    """The generic client of ``instance`` as its kind's mapping at ``mapping_file`` declares it, at ``endpoint``,
    sending no token (for a kind still served by built-in code beside its mapping, or any mapped kind)."""
    mapping = mapping_at(mapping_file)
    return MappedAgencyClient(replace(instance, endpoint=endpoint, mapping_file=str(mapping_file)), mapping,
                              feed_column_types(mapping), credentials=None)


@contextmanager
def recording(app: Application) -> Iterator[tuple[str, list[etree._Element]]]:
    """``app`` served behind a recorder of every SOAP request's body element: (url, the bodies sent so far)."""
    bodies: list[etree._Element] = []

    def recorder(request: Request) -> Response:
        if request.body:
            body = etree.fromstring(request.body).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
            bodies.extend(body if body is not None else [])
        return app(request)

    with RunningServer(recorder) as server:
        yield server.url, bodies


def body_fields(bodies: list[etree._Element]) -> list[tuple[str, dict[str, str | None]]]:
    """Each recorded SOAP body as (operation element, its children's local names -> text)."""
    return [(etree.QName(b).localname, {etree.QName(c).localname: c.text for c in b}) for b in bodies]
