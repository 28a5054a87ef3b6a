"""Identifiers in the warehouse: DuckDB SQL (dbt/macros/identifiers.sql), agreeing with estelam's Python.

estelam.core.identifiers (through estelam.warehouse.duckdb_functions) is the one definition; the warehouse
normalises and checks identifiers in SQL so no model crosses into Python per value. The macros are rendered
as dbt renders them and evaluated by DuckDB on every Unicode code point as a separator and on a generated
corpus of identifiers; names keep the Python normaliser, called once per distinct spelling and joined back.
"""

from __future__ import annotations

import random
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import duckdb
import jinja2
import pyarrow as pa
import pytest

from estelam.core import identifiers, settings
from estelam.core.identifiers import normalise_name
from estelam.warehouse import duckdb_functions as identity

MACROS = settings.DBT_PROJECT_DIR / "macros" / "identifiers.sql"
PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
ARABIC = "٠١٢٣٤٥٦٧٨٩"
SEPARATORS = [" ", "-", ".", "/", "\u200c", "\u200f", "\u200e", "\u00a0", "\u2009", "\t", "\u3000", "  ", " - "]
NOISE = ["_", ",", "\u200d", "\u200b", "\ufeff", "x", "۰", "١", "٫", "\u06f4\u0660", "ـ", "+", "IR", "\u0966"]


def macros() -> Any:
    return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(MACROS.read_text(encoding="utf-8")).module


@pytest.fixture(scope="module")
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    yield con
    con.close()


PROFILES = {"ir": ("ir-nc", "ir-nid"), "sa": ("sa-nid", "sa-iqama", "sa-cr")}


def in_sql(con: duckdb.DuckDBPyConnection, raws: list[str],
           schemes: tuple[str, ...] = PROFILES["ir"]) -> list[tuple[str, str | None, str | None]]:
    """(the hub's person id, the qualified key, the scheme's name) as int_person_ids computes them."""
    module = macros()
    table = pa.table({"n": pa.array(range(len(raws)), pa.int64()), "raw": pa.array(raws, pa.string())})
    con.register("raws", table)
    try:
        return [(local, key, scheme) for _, local, key, scheme in con.execute(f"""
            with split as (
                select n, {module.sql_person_id_prefix('raw')} as written_scheme,
                    {module.sql_person_id_code('raw')} as code
                from raws),
            keyed as (select *, {module.sql_person_key('written_scheme', 'code', list(schemes))} as person_key
                      from split)
            select n, {module.sql_local_person_id('person_key', 'written_scheme', 'code', list(schemes))},
                person_key, {module.sql_person_key_scheme('person_key')}
            from keyed order by n""").fetchall()]
    finally:
        con.unregister("raws")


def in_python(raws: list[str],
              schemes: tuple[str, ...] = PROFILES["ir"]) -> list[tuple[str, str | None, str | None]]:
    out: list[tuple[str, str | None, str | None]] = []
    for raw in raws:
        key = identifiers.person_key(raw, schemes)
        written, code = identifiers.split_person_id(raw)
        local = identifiers.local_person_id(raw, schemes) if key is not None else \
            (f"{written}:{code}" if written is not None else code)
        out.append((local, key, None if key is None else identifiers.scheme_of_key(key).name))
    return out


def written(code: str, rng: random.Random) -> str:
    """``code`` as an agency might write it: digits in any script, separators, stray spaces."""
    out = []
    for digit in code:
        script = rng.random()
        out.append(PERSIAN[int(digit)] if script < 0.2 else ARABIC[int(digit)] if script < 0.3 else digit)
        if rng.random() < 0.15:
            out.append(rng.choice(SEPARATORS))
    text = "".join(out)
    return (rng.choice(["", " ", "\u200f", "\n"]) + text + rng.choice(["", " ", "\u00a0"])) if rng.random() < 0.3 \
        else text


def corpus(size: int, seed: int) -> list[str]:
    """Valid identifiers of every scheme, one digit off, wrong lengths, one repeated digit, noise."""
    rng = random.Random(seed)
    raws = []
    for _ in range(size):
        roll = rng.random()
        nine = "".join(rng.choice("0123456789") for _ in range(9))
        if roll < 0.3:
            code = nine + str(identifiers.iran_national_code_check_digit(nine))
        elif roll < 0.45:
            ten = "1" + nine
            code = ten + str(identifiers.iran_legal_id_check_digit(ten))
        elif roll < 0.6:  # a Saudi id: fix the Luhn digit by trying all ten
            prefix = rng.choice("12") + nine[:8]
            code = next(prefix + d for d in "0123456789" if identifiers.is_saudi_national_id(prefix + d))
        elif roll < 0.63:  # an establishment's unified number (no check digit)
            code = "7" + nine
        elif roll < 0.66:
            code = rng.choice("0123456789") * rng.choice([10, 11])
        elif roll < 0.8:
            code = "".join(rng.choice("0123456789") for _ in range(rng.choice([8, 9, 10, 10, 11, 11, 12])))
        else:
            code = nine + str(rng.randrange(10))
        if rng.random() < 0.2:  # one digit off
            position = rng.randrange(len(code))
            code = code[:position] + str((int(code[position]) + rng.randrange(1, 10)) % 10) + code[position + 1:]
        if roll < 0.3 and code.startswith("0") and rng.random() < 0.3:  # a spreadsheet dropped leading zeros
            code = code.lstrip("0") or code
        text = written(code, rng)
        if rng.random() < 0.15:  # written with a scheme, sometimes the wrong one or none we know
            text = rng.choice([*identifiers.PERSON_ID_SCHEMES, "SA-NID", " ir-nc ", "xx-id"]) + ":" + text
        if rng.random() < 0.05:
            position = rng.randrange(len(text) + 1)
            text = text[:position] + rng.choice(NOISE) + text[position:]
        raws.append(text)
    return raws


def test_every_code_point_is_a_separator_or_kept_as_in_python(connection: duckdb.DuckDBPyConnection) -> None:
    """Each Unicode code point between digits: removed, translated or kept exactly as Python does."""
    points = [chr(p) for p in range(sys.maxunicode + 1) if not 0xD800 <= p <= 0xDFFF and p != 0]
    raws = [f"04{p}99370899" for p in points]
    assert in_sql(connection, raws) == in_python(raws)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_sql_identifiers_agree_with_python_on_a_generated_corpus(connection: duckdb.DuckDBPyConnection,
                                                                  profile: str) -> None:
    raws = corpus(60_000, seed=18)
    expected = in_python(raws, PROFILES[profile])
    assert in_sql(connection, raws, PROFILES[profile]) == expected
    schemes = Counter(scheme for _, _, scheme in expected)
    # every scheme and the unresolved are well represented, so agreement says something (a foreign scheme
    # only when written with its scheme)
    assert min(schemes.values()) > 50 and len(schemes) == 6
    assert schemes[None] > 5_000 and sum(schemes.values()) - schemes[None] > 10_000


def test_the_sql_can_disagree(connection: duckdb.DuckDBPyConnection) -> None:
    """A guard on the guard: a broken check digit is told apart, so the comparison above can fail."""
    assert in_sql(connection, ["0499370899", "0499370898", "14007650912", "1000000008", "1111111111",
                               "499370899", "sa-nid:1000000008"]) == [
        ("0499370899", "ir-nc:0499370899", "iran_national_code"), ("0499370898", None, None),
        ("14007650912", "ir-nid:14007650912", "iran_legal_id"), ("1000000008", None, None),
        ("1111111111", None, None), ("0499370899", "ir-nc:0499370899", "iran_national_code"),
        ("sa-nid:1000000008", "sa-nid:1000000008", "saudi_national_id")]


def test_the_same_digits_under_two_schemes_are_two_keys(connection: duckdb.DuckDBPyConnection) -> None:
    """1000000206 is a valid Iranian code and a valid Saudi id: the profile reads the bare form, a written
    scheme wins, and the two never share a key."""
    raws = ["1000000206", "sa-nid:1000000206", "ir-nc:1000000206"]
    assert in_sql(connection, raws, PROFILES["ir"]) == in_python(raws, PROFILES["ir"]) == [
        ("1000000206", "ir-nc:1000000206", "iran_national_code"),
        ("sa-nid:1000000206", "sa-nid:1000000206", "saudi_national_id"),
        ("1000000206", "ir-nc:1000000206", "iran_national_code")]
    assert in_sql(connection, raws, PROFILES["sa"]) == in_python(raws, PROFILES["sa"]) == [
        ("1000000206", "sa-nid:1000000206", "saudi_national_id"),
        ("1000000206", "sa-nid:1000000206", "saudi_national_id"),
        ("ir-nc:1000000206", "ir-nc:1000000206", "iran_national_code")]


NAME_PARTS = ["علی", "علي", "عَلی", "کریمی", "كريمي", "نژاد", "\u200cنژاد", "شرکت", "شركت", "ﻋﻠﻰ", "ﻛﺮﻳﻤﻰ",
              "۱۴", "١٤", "14", "زهرا", "رضایی", "رضايي", "مؤسسه", "إحسان", "ٱمین", "ة", "ـ"]
SPACES = [" ", "  ", "\u200c", "\u200f", "\u200d", "\u00a0", "\t", ""]


def test_names_normalised_once_per_distinct_spelling_agree_with_python() -> None:
    """The identity models' pattern: the UDF on distinct spellings, joined back to every record."""
    rng = random.Random(7)
    spellings = ["".join(rng.choice(NAME_PARTS) + rng.choice(SPACES) for _ in range(rng.randrange(1, 5)))
                 for _ in range(30_000)]
    names = [rng.choice(spellings) for _ in range(100_000)]  # one person fills many records
    con = duckdb.connect()
    try:
        identity.register(con)
        con.register("records", pa.table({"n": pa.array(range(len(names)), pa.int64()), "raw_name": names}))
        got = con.execute("""
            with spellings as (select raw_name, normalise_name(raw_name) as name_normalised
                               from (select distinct raw_name from records))
            select records.raw_name, spellings.name_normalised
            from records left join spellings using (raw_name) order by records.n""").fetchall()
    finally:
        con.close()
    assert got == [(name, normalise_name(name)) for name in names]
    assert len(set(names)) < len(names) // 2  # distinct spellings are far fewer than records
