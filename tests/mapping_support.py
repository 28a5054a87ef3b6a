"""What the mapping tests share: finding the line a refusal must name; the records a generated simulator draws; a
copy of the contracts to break and the refusal it must meet; a mapped kind's generated simulator running; the
generic client of an instance by its mapping; the SOAP bodies a simulator was sent."""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from connectors.mapped import MappedAgencyClient
from estelam.core.domain import AgencyInstance
from estelam.core.kinds import MappingError, feed_column_types, join_asset_ref, mapping_at
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


def unprotected_assets(world: World, instance: AgencyInstance, *, at_least: int = 0) -> list[tuple[str, str, int]]:
    """(owner, asset reference, value) of every asset the generated simulator of ``instance`` holds that its
    mapping's ``protected_when`` leaves free (a bank's ordinary accounts), worth at least ``at_least``."""
    assets = mapping_at(Path(str(instance.mapping_file))).assets
    assert assets is not None
    rule = assets.protected_when
    return [(owner, ref, int(row.get(assets.value) or 0)) for owner, ref, row in drawn_assets(world, instance)
            if int(row.get(assets.value) or 0) >= at_least
            and (rule is None or str(row.get(rule.column)) not in rule.values)]


# --- what the mapped kinds' tests share ------------------------------------------------------------------------

PROJECT_CONTRACTS = Path(__file__).resolve().parents[1] / "contracts"


def copy_contracts(tmp_path: Path, monkeypatch: Any) -> Path:
    """A copy of the project's contracts (each mapped kind's mapping, its interface beside it), to change, in use."""
    from tests.settings_support import override

    folder = tmp_path / "contracts"
    shutil.copytree(PROJECT_CONTRACTS, folder)
    override(monkeypatch, contracts_dir=folder, data_dir=tmp_path / "data")
    return folder


def assert_refused_on_load(contracts_dir: Path, kind: str, old: str, new: str, field: str,
                           says: str) -> MappingError:
    """Change ``old`` to ``new`` in ``kind``'s mapping: the registry refuses it naming the file, a line and the field;
    the refusal (to check which line)."""
    from estelam.contracts import registry as contracts

    path = contracts_dir / "kinds" / f"{kind}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(MappingError) as refused:
        contracts.load_agency_registry()
    error = refused.value
    assert error.path == path and error.field == field, str(error)
    assert says in str(error), str(error)
    assert error.line > 0 and str(error).startswith(f"{path}:{error.line}: {field}: ")
    return error


@contextmanager
def simulated(world: World, instance: AgencyInstance, state: Any = None) -> Iterator[str]:
    """The generated simulator of ``instance`` (as the fleet runs it) answering from the world: its URL."""
    from simulators.agency_state import AgencyState
    from simulators.mapped_app import mapped_application
    from simulators.server import RunningServer

    app = mapped_application(state or AgencyState(instance, []), mapping_at(Path(str(instance.mapping_file))), world,
                             None)
    with RunningServer(app) as server:
        yield server.url


def by_reference(instance: AgencyInstance, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Records (the feed's columns) in the order of their asset references."""
    assets = mapping_at(Path(str(instance.mapping_file))).assets
    assert assets is not None
    return sorted((dict(r) for r in rows), key=lambda r: join_asset_ref(assets, r))
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
