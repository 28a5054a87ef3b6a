"""Rendering the warehouse's SQL outside dbt, for tests that run a model's or a macro's query on DuckDB over
in-memory tables."""

from __future__ import annotations

import jinja2

from estelam.core import settings

LANDING_MACROS = settings.DBT_PROJECT_DIR / "macros" / "landing.sql"


def rendered(sql: str, **context: object) -> str:
    """``sql`` rendered as dbt would, with ``latest_copies`` defined and ``source('landing', x)`` as ``x``."""
    source = LANDING_MACROS.read_text(encoding="utf-8")
    macro = source[source.index("{% macro latest_copies"):]
    macro = macro[:macro.index("{%- endmacro %}") + len("{%- endmacro %}")]
    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(macro + sql)
    return template.render(source=lambda _source, name: name, **context)
