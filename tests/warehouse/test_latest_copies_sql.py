"""The staging models' deduplication (``dbt/macros/landing.sql``'s ``latest_copies``) keeps what the window it
replaced kept: per key, the copy landed last (ties by batch id), every column of it, whatever repeats."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
import pytest

from tests.warehouse.sql_support import rendered

T0 = datetime(2026, 11, 1, tzinfo=UTC)


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
