"""Generate ``estelam/contracts/rows.py``: one TypedDict per landed feed, from the feed data contracts.

``rows.py`` is written by :func:`write_rows` and committed; a test asserts the committed file equals
:func:`render_rows`, so code reading a feed's rows (``estelam.ingest.landing.read_landed``, the freeze
ledger, the directives) is type-checked against the same contracts that shape the Parquet files,
the GX suites and the dbt sources.

For each feed ``<feed>`` two types are generated:

- ``<Feed>Row``: a row as its producer writes it (the contract's columns, in contract order);
- ``Landed<Feed>Row``: the same row as read back from the landing zone, with the lineage columns and
  the partition.

Contract types map to Python types by :data:`PYTHON_TYPES`; a ``nullable: true`` column is ``<type> | None``.
"""

from __future__ import annotations

import keyword
import textwrap
from pathlib import Path

from estelam.contracts import registry as contracts
from estelam.contracts.registry import Column, FeedContract
from estelam.core.exceptions import ContractError

#: Contract column types -> the Python type a row holds (what DuckDB and Arrow hand back).
PYTHON_TYPES: dict[str, str] = {
    "string": "str",
    "int64": "int",
    "bool": "bool",
    "date": "date",
    "timestamp": "datetime",
}

#: Lineage columns the landing writer adds to every batch (see ``estelam.ingest.landing.LINEAGE_FIELDS``), and
#: the partition DuckDB reads from the ``dt=YYYY-MM-DD`` folder names (hive partitioning) when reading them back.
LINEAGE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("_batch_id", "str", "Lineage: the landed batch (file) this row came from."),
    ("_landed_at", "datetime", "Lineage: when the batch was landed (UTC)."),
    ("dt", "date", "The landing partition (the batch's dt=YYYY-MM-DD folder)."),
)

ROWS_FILE = Path(__file__).with_name("rows.py")
REGENERATE = '.venv/bin/python -c "from estelam.contracts.row_types import write_rows; write_rows()"'

HEADER = (
    "# GENERATED from contracts/feeds/*.yaml by estelam.contracts.row_types.write_rows(): do not edit by hand.\n"
    f"# Regenerate: {REGENERATE}\n"
    "# tests/contracts/test_rows.py fails when this file and the contracts disagree.\n"
)

#: Generated lines stay within the linter's limit.
LINE_LENGTH = 120
INDENT = "    "
TRIPLE_QUOTE = '"' * 3

MODULE_DOCSTRING = '''"""Typed rows of every landed feed, one TypedDict per feed contract (generated).

``<Feed>Row`` is a row as its producer writes it; ``Landed<Feed>Row`` is the same row read back from
the landing zone (``estelam.ingest.landing.read_landed``), with the lineage columns and the partition.
"""
'''


def class_name(feed: str) -> str:
    """``freeze_orders`` -> ``FreezeOrdersRow``."""
    return "".join(part.capitalize() for part in feed.split("_")) + "Row"


def _python_type(column: Column) -> str:
    python = PYTHON_TYPES[column.type]
    return f"{python} | None" if column.nullable else python


def _docstring(text: str) -> list[str]:
    """``text`` as a docstring indented for a class body, wrapped to the line limit."""
    text = " ".join(text.replace("\\", "\\\\").replace(TRIPLE_QUOTE, "'").split())
    if text.endswith('"'):
        text += " "
    lines = textwrap.wrap(text, LINE_LENGTH - len(INDENT) - 2 * len(TRIPLE_QUOTE))
    if len(lines) <= 1:
        return [f"{INDENT}{TRIPLE_QUOTE}{text}{TRIPLE_QUOTE}"]
    return [f"{INDENT}{TRIPLE_QUOTE}{lines[0]}", *(f"{INDENT}{line}" for line in lines[1:]),
            f"{INDENT}{TRIPLE_QUOTE}"]


def _field(name: str, python: str, description: str) -> list[str]:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ContractError(f"column {name!r} cannot be a TypedDict field: not a Python identifier")
    return [f"{INDENT}{name}: {python}", *(_docstring(description) if description else [])]


def _row_class(contract: FeedContract) -> list[str]:
    name = class_name(contract.feed)
    lines = ["", "", f"class {name}(TypedDict):", *_docstring(f"{contract.feed}: {contract.description}"), ""]
    for column in contract.columns:
        lines += _field(column.name, _python_type(column), column.description)
    lines += ["", "", f"class Landed{name}({name}):",
              *_docstring(f"A ``{contract.feed}`` row read from the landing zone."), ""]
    for lineage, python, description in LINEAGE_COLUMNS:
        lines += _field(lineage, python, description)
    return lines


def render_rows() -> str:
    """The text of ``rows.py`` for the current contracts."""
    feeds = sorted(contracts.feeds().items())
    used = {PYTHON_TYPES[c.type] for _, contract in feeds for c in contract.columns}
    used |= {python for _, python, _ in LINEAGE_COLUMNS}
    datetime_names = sorted(used & {"date", "datetime"})
    lines = [
        HEADER.rstrip("\n"),
        MODULE_DOCSTRING.rstrip("\n"),
        "",
        "from __future__ import annotations",
        "",
        f"from datetime import {', '.join(datetime_names)}",
        "from typing import Literal, TypedDict",
        "",
        "#: Every landed feed, by name.",
        "FeedName = Literal[",
        *(f'    "{feed}",' for feed, _ in feeds),
        "]",
    ]
    for _, contract in feeds:
        lines += _row_class(contract)
    names = sorted(["FeedName", *(class_name(f) for f, _ in feeds), *(f"Landed{class_name(f)}" for f, _ in feeds)])
    lines += ["", "", "__all__ = [", *(f'    "{n}",' for n in names), "]"]
    return "\n".join(lines) + "\n"


def write_rows(path: Path | None = None) -> Path:
    """Write the generated rows module (default: ``estelam/contracts/rows.py``) and return its path."""
    path = path or ROWS_FILE
    path.write_text(render_rows(), encoding="utf-8")
    return path
