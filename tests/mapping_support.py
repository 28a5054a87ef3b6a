"""What the mapping tests share: finding the line a refusal must name; the records a generated simulator draws."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from estelam.core.domain import AgencyInstance
from estelam.core.kinds import join_asset_ref, mapping_at
from simulators.mapped_app import kind_world, records_of
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
