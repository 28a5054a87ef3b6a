"""Generate the one staging model of every fact kind declared by a mapping (``contracts/kinds/*.yaml``).

``dbt/models/staging/stg_kinds__facts.sql`` is written by :func:`write_staging` and committed; a test asserts the
committed file equals :func:`render_staging`, so adding a fact kind is files only: its mapping, its interface, its
feed contract, and this regenerated model. The model reads each fact feed from the landing zone (an answer counts
once its inquiry's log row has landed, as every staging model has it), keeps the newest copy of each row, and
turns every column the mapping labels into one row ``(inquiry_id, agency_id, agency_kind, person_id, responded_at,
record_no, column_name, value_text)``: one shape for every kind, which the ``person_facts`` mart and the asset
report's "facts about the person" section read without knowing any kind.
"""

from __future__ import annotations

from pathlib import Path

from estelam.contracts.registry import feed as feed_contract
from estelam.contracts.registry import load_agency_registry
from estelam.core import settings
from estelam.core.kinds import KindMapping

STAGING_FILE = Path("models") / "staging" / "stg_kinds__facts.sql"
HEADER = (
    "-- GENERATED from contracts/kinds/*.yaml by estelam.contracts.kind_models.write_staging(): do not edit by hand.\n"
    "-- tests/contracts/test_kinds.py fails when this file and the mappings disagree.\n"
)
_EMPTY = """select
    null::varchar as inquiry_id, null::varchar as agency_id, null::varchar as agency_kind,
    null::varchar as person_id, null::timestamptz as responded_at, null::bigint as record_no,
    null::varchar as column_name, null::varchar as value_text
where false
"""


def fact_mappings() -> list[KindMapping]:
    """The mappings of the registry's fact kinds, by kind name."""
    kinds = load_agency_registry().kinds
    found = [k.mapping for k in kinds.values() if k.mapping is not None and k.mapping.facts is not None]
    return sorted(found, key=lambda m: str(m.kind))


def _select(mapping: KindMapping) -> str:
    assert mapping.facts is not None
    contract = feed_contract(mapping.feed)
    key = ", ".join(contract.primary_key)
    labelled = [c for c in mapping.facts.labels if c in contract.column_names]
    casts = ",\n            ".join(f"cast({c} as varchar) as {c}" for c in labelled)
    names = ", ".join(labelled)
    return f"""    -- {mapping.kind}: feed {mapping.feed}
    select inquiry_id, agency_id, '{mapping.kind}' as agency_kind, person_id, responded_at, record_no,
           column_name, value_text
    from (
        select
            inquiry_id, agency_id, person_id, responded_at,
            row_number() over (partition by inquiry_id order by {key}) as record_no,
            {casts}
        from {{{{ source('landing', '{mapping.feed}') }}}}
        where inquiry_id in (select inquiry_id from {{{{ source('landing', 'inquiries') }}}})
        qualify row_number() over (partition by {key} order by _landed_at desc, _batch_id desc) = 1
    ) unpivot (value_text for column_name in ({names}))"""


def render_staging() -> str:
    """The generated staging model's text."""
    mappings = fact_mappings()
    body = "\n\n    union all\n\n".join(_select(m) for m in mappings) if mappings else None
    if body is None:
        return HEADER + "\n" + _EMPTY
    return HEADER + "\nwith\n\nfacts as (\n\n" + body + "\n\n)\n\nselect * from facts\n"


def staging_path() -> Path:
    return settings.DBT_PROJECT_DIR / STAGING_FILE


def write_staging(path: Path | None = None) -> Path:
    """Write the generated staging model (default: into the dbt project)."""
    path = path or staging_path()
    path.write_text(render_staging(), encoding="utf-8")
    return path


__all__ = ["fact_mappings", "render_staging", "write_staging"]
