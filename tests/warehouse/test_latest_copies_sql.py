"""The staging models' deduplication (``dbt/macros/landing.sql``'s ``latest_copies``) keeps what the window it
replaced kept: per key, the copy landed last (ties by batch id), every column of it, whatever repeats."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import duckdb
import jinja2
import pyarrow as pa
import pytest

from estelam.core import settings

MACROS = settings.DBT_PROJECT_DIR / "macros" / "landing.sql"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def rendered(sql: str, **context: object) -> str:
    """``sql`` rendered as dbt would, with ``latest_copies`` defined and ``source('landing', x)`` as ``x``."""
    source = MACROS.read_text(encoding="utf-8")
    macro = source[source.index("{% macro latest_copies"):]
    macro = macro[:macro.index("{%- endmacro %}") + len("{%- endmacro %}")]
    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(macro + sql)
    return template.render(source=lambda _source, name: name, **context)


def latest_copies(relation: str, key: str) -> str:
    return rendered("{{ latest_copies(relation, key) }}", relation=relation, key=key)


@pytest.mark.parametrize("key", ["event_id", "inquiry_id, iban"])
def test_the_newest_copy_of_each_key_as_the_window_keeps_it(key: str) -> None:
    rng = random.Random(7)
    rows = []
    for n in range(3_000):
        copies = rng.choice([1, 1, 1, 1, 2, 3, 5])
        for c in range(copies):
            rows.append({"event_id": f"E{n}", "inquiry_id": f"I{n % 1_000}", "iban": f"IR{n % 7}",
                         "amount_rial": rng.randrange(1_000), "note": rng.choice([None, "a", "b"]),
                         # equal landing times among a key's copies: the batch id decides
                         "_landed_at": T0 + timedelta(hours=rng.randrange(3)), "_batch_id": f"b{c}-{rng.randrange(9)}"})
    landed = pa.Table.from_pylist(rows)  # noqa: F841 - read by DuckDB's replacement scan
    con = duckdb.connect()
    try:
        con.execute("create table landed_feed as select * from landed")
        window = sorted(con.execute(f"select * from landed_feed qualify row_number() over (partition by {key} "
                                    "order by _landed_at desc, _batch_id desc) = 1").fetchall())
        macro = sorted(con.execute(f"select * from {latest_copies('landed_feed', key)}").fetchall())
    finally:
        con.close()
    assert macro == window
    assert len(window) < len(rows)  # keys repeat, so the comparison says something
