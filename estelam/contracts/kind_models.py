"""Generate the one staging model of every fact kind declared by a mapping (``contracts/kinds/*.yaml``).

``dbt/models/staging/stg_kinds__facts.sql`` is written by :func:`write_staging` and committed; a test asserts the
committed file equals :func:`render_staging`, so adding a fact kind is files only: its mapping, its interface, its
feed contract, and this regenerated model. The model reads each fact feed from the landing zone (an answer counts
once its inquiry's log row has landed, as every staging model has it), keeps the newest copy of each row, and
turns every column the mapping labels into one row ``(inquiry_id, agency_id, agency_kind, person_id, responded_at,
record_no, column_name, value_text)``: one shape for every kind, which the ``person_facts`` mart and the asset
report's "facts about the person" section read without knowing any kind.

``dbt/models/staging/stg_kinds__assets.sql`` is its twin for the kinds that contribute assets: one row per asset
``(inquiry_id, agency_id, agency_kind, person_id, responded_at, asset_kind, asset_ref, value_rial, protected_rial,
is_protected, liquidity_rank, owner_name, asset_detail, can_freeze)``, the columns named by the mapping's
``contributes.assets``; ``int_assets_latest`` (and so the freeze plan and the asset report) reads it beside the
built-in kinds' staging models. ``can_freeze`` is whether the kind's mapping declares a freeze order operation:
the freeze plan takes only assets it can order frozen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from estelam.contracts.registry import feed as feed_contract
from estelam.contracts.registry import load_agency_registry
from estelam.core import settings
from estelam.core.kinds import AssetContribution, KindMapping

STAGING_FILE = Path("models") / "staging" / "stg_kinds__facts.sql"
ASSETS_FILE = Path("models") / "staging" / "stg_kinds__assets.sql"
HEADER = (
    "-- GENERATED from contracts/kinds/*.yaml by estelam.contracts.kind_models.write_staging(): do not edit by hand.\n"
    "-- tests/contracts/test_kinds.py fails when this file and the mappings disagree.\n"
)
ASSETS_HEADER = HEADER.replace(
    "-- tests/", "-- The assets of the kinds whose mapping declares contributes.assets.\n-- tests/")
_EMPTY = """select
    null::varchar as inquiry_id, null::varchar as agency_id, null::varchar as agency_kind,
    null::varchar as person_id, null::timestamptz as responded_at, null::bigint as record_no,
    null::varchar as column_name, null::varchar as value_text
where false
"""
_NO_ASSETS = """select
    null::varchar as inquiry_id, null::varchar as agency_id, null::varchar as agency_kind,
    null::varchar as person_id, null::timestamptz as responded_at, null::varchar as asset_kind,
    null::varchar as asset_ref, null::bigint as value_rial, null::bigint as protected_rial,
    null::boolean as is_protected, null::integer as liquidity_rank, null::varchar as owner_name,
    null::varchar as asset_detail, null::boolean as can_freeze
where false
"""

#: The rows of every kind whose inquiry's log row has landed (an answer counts once it has): one semi join over all
#: the kinds' rows, not one per kind, each of which read the inquiries' ids anew.
_ANSWERED = """select * from {cte}
where inquiry_id in (select inquiry_id from {{{{ source('landing', 'inquiries') }}}})
"""


def fact_mappings() -> list[KindMapping]:
    """The mappings of the registry's fact kinds, by kind name."""
    kinds = load_agency_registry().kinds
    found = [k.mapping for k in kinds.values() if k.mapping.facts is not None]
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
        from {{{{ latest_copies(source('landing', '{mapping.feed}'), '{key}') }}}}
    ) unpivot (value_text for column_name in ({names}))"""


def asset_mappings() -> list[KindMapping]:
    """The mappings of the registry's kinds that contribute assets, by kind name."""
    kinds = load_agency_registry().kinds
    found = [k.mapping for k in kinds.values() if k.mapping.assets is not None]
    return sorted(found, key=lambda m: str(m.kind))


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _column_or_null(column: str | None, sql_type: str) -> str:
    return f"cast({column} as {sql_type})" if column is not None else f"null::{sql_type}"


def _asset_select(mapping: KindMapping) -> str:
    assets = mapping.assets
    assert assets is not None
    contract = feed_contract(mapping.feed)
    key = ", ".join(contract.primary_key)
    rule = assets.protected_when
    protected = (f"coalesce(cast({rule.column} as varchar) in ({', '.join(_sql_text(v) for v in rule.values)}), "
                 "false)" if rule is not None else "false")
    can_freeze = "true" if mapping_can_freeze(mapping) else "false"
    return f"""    -- {mapping.kind}: feed {mapping.feed}
    select
        inquiry_id, agency_id, '{mapping.kind}' as agency_kind, person_id, responded_at,
        {_sql_text(assets.asset_kind)} as asset_kind,
        {_asset_ref_sql(assets)} as asset_ref,
        cast({assets.value} as bigint) as value_rial,
        {_column_or_null(assets.protected, "bigint")} as protected_rial,
        {protected} as is_protected,
        {assets.liquidity_rank} as liquidity_rank,
        {_column_or_null(assets.owner_name, "varchar")} as owner_name,
        {_detail_sql(assets)} as asset_detail,
        {can_freeze} as can_freeze,
    from {{{{ latest_copies(source('landing', '{mapping.feed}'), '{key}') }}}}"""


def _asset_ref_sql(assets: AssetContribution) -> str:
    """The asset reference: its column, or a composed reference's columns joined by the separator."""
    separator = f" || {_sql_text(assets.asset_ref_separator)} || "
    return separator.join(f"cast({column} as varchar)" for column in assets.ref_columns)


def _detail_sql(assets: AssetContribution) -> str:
    """What readers are shown of the asset: a column, or a template's text and columns concatenated."""
    parts = assets.detail_parts
    if not parts:
        return "null::varchar"
    return " || ".join(f"cast({text} as varchar)" if is_column else _sql_text(text) for text, is_column in parts)


def mapping_can_freeze(mapping: KindMapping) -> bool:
    """Whether the kind's mapping declares a freeze order operation (``orders.freeze``)."""
    return "freeze" in mapping.orders


def render_assets(mappings: Sequence[KindMapping] | None = None) -> str:
    """The generated asset staging model's text (of ``mappings``: by default every kind contributing assets)."""
    mappings = asset_mappings() if mappings is None else mappings
    if not mappings:
        return ASSETS_HEADER + "\n" + _NO_ASSETS
    body = "\n\n    union all\n\n".join(_asset_select(m) for m in mappings)
    return ASSETS_HEADER + "\nwith\n\nassets as (\n\n" + body + "\n\n)\n\n" + _ANSWERED.format(cte="assets")


def render_staging() -> str:
    """The generated staging model's text."""
    mappings = fact_mappings()
    body = "\n\n    union all\n\n".join(_select(m) for m in mappings) if mappings else None
    if body is None:
        return HEADER + "\n" + _EMPTY
    return HEADER + "\nwith\n\nfacts as (\n\n" + body + "\n\n)\n\n" + _ANSWERED.format(cte="facts")


def staging_path() -> Path:
    return settings.DBT_PROJECT_DIR / STAGING_FILE


def assets_path() -> Path:
    return settings.DBT_PROJECT_DIR / ASSETS_FILE


def write_staging(path: Path | None = None, assets: Path | None = None) -> Path:
    """Write the generated staging models, facts and assets (default: into the dbt project); the facts' path."""
    path = path or staging_path()
    path.write_text(render_staging(), encoding="utf-8")
    (assets or assets_path()).write_text(render_assets(), encoding="utf-8")
    return path


__all__ = ["asset_mappings", "fact_mappings", "mapping_can_freeze", "render_assets", "render_staging",
           "write_staging"]
