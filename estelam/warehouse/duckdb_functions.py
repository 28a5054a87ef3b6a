"""Identity resolution's building blocks, and the same functions inside the warehouse.

Normalisation lives once: :mod:`estelam.core.identifiers` (names, digits, check
digits). Inside the warehouse:

- Names: these very functions, as DuckDB Python UDFs that the dbt-duckdb plugin
  below registers on dbt's connection (``plugins:`` in ``dbt/profiles.yml``);
  NFKC and the Unicode categories of diacritics have no SQL equivalent. A UDF
  crosses into Python per value, so models call it on *distinct* values only (a
  million records share a few hundred spellings) and join back; each Arrow
  batch is also memoised. Models that call a UDF are tables: readers open the
  warehouse read-only without the plugin, so a view calling one would fail.
- Identifiers (one distinct value per person): :func:`normalise_identifier`
  and :func:`identifier_scheme` as DuckDB SQL (``dbt/macros/identifiers.sql``),
  which ``tests/warehouse/test_identifier_sql.py`` holds equal to these
  functions on every code point and a large generated corpus. The UDFs stay
  registered for ad-hoc queries and tests.

Rules of resolution (used by the identity models): identifiers first, names
only as evidence. Identifiers carry their scheme (``ir-nc:0012345679``,
``sa-nid:1100000007``): a bare id is read by the deployment's jurisdiction
profile (dbt var ``person_id_schemes``), so the same digits under two schemes
are two persons. Records with the same qualified identifier are one person,
whatever the spelling; two records with the same name and different
identifiers are two persons; a record whose identifier passes no check digit,
or whose name disagrees with the rest of its identifier's records, is shown
for review (``identity_review``), never merged by guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa
from duckdb import func

from estelam.core import clock
from estelam.core.identifiers import (
    is_iban,
    latin_digits,
    normalise_identifier,
    normalise_name,
    person_key,
    scheme_of_key,
)
from estelam.core.jurisdiction import current_profile

__all__ = ["WAREHOUSE_FUNCTIONS", "identifier_scheme", "is_valid_iban", "name_key", "normalise_identifier",
           "qualified_person_id", "register"]


def identifier_scheme(raw: str) -> str | None:
    """The scheme (``iran_national_code``, ``saudi_iqama``, …) of a person id read by the deployment's profile
    (:func:`estelam.core.identifiers.person_key`), or None if it is no valid id."""
    key = person_key(raw, current_profile().person_id_schemes)
    return None if key is None else scheme_of_key(key).name


def qualified_person_id(raw: str) -> str | None:
    """The scheme-qualified key of a person id under the deployment's profile ("ir-nc:0012345679")."""
    return person_key(raw, current_profile().person_id_schemes)


def name_key(name: str) -> str:
    """The normalised name without spaces: "نیک‌نژاد", "نیک نژاد" and "نیکنژاد" are one key."""
    return normalise_name(name).replace(" ", "")


def is_valid_iban(raw: str) -> bool:
    """ISO 13616 check on an IBAN written with any digits and spaces."""
    return is_iban(latin_digits(raw))


#: name -> (function, DuckDB return type); every function takes one VARCHAR.
WAREHOUSE_FUNCTIONS: dict[str, tuple[Callable[[str], Any], str]] = {
    "normalise_name": (normalise_name, "VARCHAR"),
    "name_key": (name_key, "VARCHAR"),
    "latin_digits": (latin_digits, "VARCHAR"),
    "normalise_identifier": (normalise_identifier, "VARCHAR"),
    "identifier_scheme": (identifier_scheme, "VARCHAR"),
    "person_key": (qualified_person_id, "VARCHAR"),
    "is_valid_iban": (is_valid_iban, "BOOLEAN"),
}
_ARROW_TYPES = {"VARCHAR": pa.string(), "BOOLEAN": pa.bool_()}


def _vectorised(function: Callable[[str], Any], arrow_type: pa.DataType) -> Callable[[Any], pa.Array]:
    """Apply ``function`` to an Arrow batch, once per distinct value, nulls staying null."""

    def apply(values: Any) -> pa.Array:
        memo: dict[str, Any] = {}
        out: list[Any] = []
        for value in values.to_pylist():
            if value is None:
                out.append(None)
                continue
            if value not in memo:
                memo[value] = function(value)
            out.append(memo[value])
        return pa.array(out, arrow_type)

    return apply


#: The SQL name of the hub's clock on dbt's connection.
HUB_NOW = "hub_now"


def register(connection: duckdb.DuckDBPyConnection) -> None:
    """Register :data:`WAREHOUSE_FUNCTIONS` and ``hub_now()`` on a DuckDB connection (and so on its cursors)."""
    registered = {row[0] for row in connection.execute(
        "select function_name from duckdb_functions() where function_type = 'scalar'").fetchall()}
    if HUB_NOW not in registered:
        # the hub's clock (estelam.core.clock), read by dbt/macros/clock.sql's as_of(): a moved clock (a replay,
        # the demo's simulated days) moves every time rule of the build without a var, so dbt's partial parse holds
        connection.create_function(HUB_NOW, clock.now, [], "TIMESTAMP WITH TIME ZONE", side_effects=False)
    for name, (function, return_type) in WAREHOUSE_FUNCTIONS.items():
        if name in registered:
            continue
        connection.create_function(
            name, _vectorised(function, _ARROW_TYPES[return_type]), ["VARCHAR"], return_type,
            # special: the function sees nulls (and passes them through) and may answer null (no scheme)
            type=func.ARROW, null_handling=func.SPECIAL, side_effects=False,
        )


def __getattr__(name: str) -> Any:
    """``Plugin``, the dbt-duckdb plugin, built on first access: dbt's adapter is a heavy import others skip."""
    if name != "Plugin":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from dbt.adapters.duckdb.plugins import BasePlugin

    class Plugin(BasePlugin):
        """Registers the identity functions on dbt's DuckDB connection."""

        def configure_connection(self, conn: duckdb.DuckDBPyConnection) -> None:
            register(conn)

    globals()["Plugin"] = Plugin
    return Plugin
