"""Identity resolution: one normalisation (estelam.core.identifiers) in Python and inside the warehouse.

Identifiers first, names only as evidence: the same person spelled three ways by three agencies is one
person; two persons with the same name are two; a record that contradicts its identifier is shown for review.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from estelam.core.identifiers import normalise_name
from estelam.warehouse import dbt_build as warehouse
from estelam.warehouse import duckdb_functions as identity
from tests.settings_support import override
from tests.warehouse.test_warehouse import land

#: Real-world spellings of names: Arabic yeh/kaf, ZWNJ kept, spaced or dropped, diacritics, doubled spaces,
#: tatweel-free presentation forms, digits in three scripts.
SPELLINGS = [
    "علی کریمی‌نژاد",
    "علي كريمي نژاد",
    "عَلی  کریمی‌نژاد ",
    "علی کریمینژاد",
    "\u200fعلی کریمی\u200cنژاد",
    "ﻋﻠﻰ ﻛﺮﻳﻤﻰ",  # Arabic presentation forms, as PDF extraction yields them
    "شرکت کیمیا ۱۴",
    "شركت كيميا ١٤",
    "شرکت کیمیا 14",
    "زهرا رضایی",
    "",
]
#: One national code as agencies write it.
NATIONAL_CODE = "0499370899"
ID_SPELLINGS = ["0499370899", "۰۴۹۹۳۷۰۸۹۹", "٠٤٩٩٣٧٠٨٩٩", "0499-370-899", " ۰۴۹ ۹۳۷ ۰۸۹۹ "]


@pytest.mark.parametrize("written", ID_SPELLINGS)
def test_an_identifier_in_any_digits_normalises_to_one(written: str) -> None:
    assert identity.normalise_identifier(written) == NATIONAL_CODE
    assert identity.identifier_scheme(written) == "iran_national_code"


def test_each_scheme_is_recognised_by_its_check_digit() -> None:
    assert identity.identifier_scheme("14007650912") == "iran_legal_id"
    assert identity.identifier_scheme("1000000008") is None  # a bare Saudi id is no id of the Iranian profile
    assert identity.identifier_scheme("sa-nid:1000000008") == "saudi_national_id"  # written with its scheme
    assert identity.identifier_scheme("84575948") == "iran_national_code"  # lost its leading zeros
    assert identity.identifier_scheme("0499370898") is None  # one digit off
    assert identity.identifier_scheme("1111111111") is None  # all one digit
    assert identity.is_valid_iban("IR06 2960 0000 0010 0324 2000 01")
    assert identity.is_valid_iban("IR۰۶۲۹۶۰۰۰۰۰۰۰۱۰۰۳۲۴۲۰۰۰۰۱")
    assert not identity.is_valid_iban("IR062960000000100324200002")


def test_name_keys_ignore_how_agencies_break_words() -> None:
    keys = {identity.name_key(s) for s in SPELLINGS[:5]}
    assert keys == {"علیکریمینژاد"}
    assert identity.name_key("شركت كيميا ١٤") == identity.name_key("شرکت کیمیا 14") == "شرکتکیمیا14"
    assert identity.name_key("زهرا رضایی") != identity.name_key("علی کریمی")


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    identity.register(con)
    identity.register(con)  # registering twice is harmless (dbt may configure a connection again)
    yield con
    con.close()


def test_warehouse_functions_agree_with_python(connection: duckdb.DuckDBPyConnection) -> None:
    """The UDFs are the Python functions: same answers on real-world spellings, nulls pass through."""
    connection.execute("create table spellings (name varchar, id varchar)")
    ids = [*ID_SPELLINGS, "14007650912", "1000000008", "0499370898", "sa-nid:1000000008"]
    rows = [(SPELLINGS[i % len(SPELLINGS)], ids[i % len(ids)]) for i in range(max(len(SPELLINGS), len(ids)))]
    connection.executemany("insert into spellings values (?, ?)", [*rows, (None, None)])
    got = connection.execute("""
        select name, id, normalise_name(name), latin_digits(name), normalise_identifier(id), identifier_scheme(id),
            person_key(id)
        from spellings order by rowid""").fetchall()
    for name, id_, normalised, latin, normalised_id, scheme, key in got:
        if name is None:
            assert (normalised, latin, normalised_id, scheme, key) == (None, None, None, None, None)
            continue
        assert key == identity.qualified_person_id(id_)
        assert normalised == normalise_name(name)
        assert latin == identity.latin_digits(name)
        assert normalised_id == identity.normalise_identifier(id_)
        assert scheme == identity.identifier_scheme(id_)
    assert connection.execute("select is_valid_iban('IR062960000000100324200001')").fetchone() == (True,)


def test_the_dbt_plugin_registers_the_functions(connection: duckdb.DuckDBPyConnection) -> None:
    plugin = identity.Plugin(name="identity", plugin_config={})
    fresh = duckdb.connect()
    try:
        plugin.configure_connection(fresh)
        cursor = fresh.cursor()  # dbt-duckdb runs models on cursors of the configured connection
        assert cursor.execute("select normalise_name('علي كريمي')").fetchone() == ("علی کریمی",)
        cursor.close()
    finally:
        fresh.close()


# --------------------------------------------------------------------------- in the warehouse

AT = datetime(2026, 11, 1, tzinfo=UTC)
X, Y, Z = "0499370899", "0084575948", "0012345679"
SAME_NAME = "علی کریمی‌نژاد"
#: Ten digits that are a valid Iranian national code and a valid Saudi national id (Luhn): two persons.
TWIN_DIGITS = "1000000206"
SAUDI = f"sa-nid:{TWIN_DIGITS}"


def filed(case_id: str, person_id: str, name: str) -> dict[str, Any]:
    return {"event_id": f"{case_id}-01", "case_id": case_id, "event_type": "filed", "occurred_at": AT,
            "court_code": "THR-01", "debtor_id": person_id, "debtor_kind": "natural", "debtor_name": name,
            "creditor_name": "شرکت یکتا", "amount_rial": 1_000_000_000, "channel": None, "automated": True}


def land_three_spellings(data_dir: Path) -> None:
    """X spelled three ways by three agencies (one writes X's id in Persian digits); Y has X's name; Z conflicts."""
    answered = AT + timedelta(days=1)
    land(data_dir, "case_events", [filed("1403-000001", X, SAME_NAME), filed("1403-000002", Y, SAME_NAME),
                                   filed("1403-000003", Z, "رضا کاظمی"),
                                   filed("1403-000004", TWIN_DIGITS, "مریم احمدی"),
                                   filed("1403-000005", SAUDI, "عبدالله القحطاني")], "court-0001", AT)
    land(data_dir, "bank_accounts", [
        {"inquiry_id": "q1", "agency_id": "bank_melli", "person_id": X, "holder_name": "علي كريمي نژاد",
         "iban": "IR062960000000100324200001", "account_kind": "ordinary", "balance_rial": 5_000_000,
         "responded_at": answered},
        {"inquiry_id": "q2", "agency_id": "bank_mellat", "person_id": Y, "holder_name": "علي كريمي‌نژاد",
         "iban": "IR062960000000100324200002", "account_kind": "ordinary", "balance_rial": 7_000_000,
         "responded_at": answered},
        {"inquiry_id": "q3", "agency_id": "bank_saderat", "person_id": Z, "holder_name": "زهرا رضایی",
         "iban": "IR062960000000100324200003", "account_kind": "ordinary", "balance_rial": 1_000_000,
         "responded_at": answered},
        # Y's code as a spreadsheet keeps it: its leading zeros lost
        {"inquiry_id": "q6", "agency_id": "bank_tejarat", "person_id": Y.lstrip("0"), "holder_name": SAME_NAME,
         "iban": "IR062960000000100324200004", "account_kind": "ordinary", "balance_rial": 2_000_000,
         "responded_at": answered},
    ], "bank-0001", answered)
    land(data_dir, "vehicles", [
        {"inquiry_id": "q4", "agency_id": "traffic_police", "person_id": "۰۴۹۹۳۷۰۸۹۹",
         "owner_name": "عَلی  کریمینژاد", "plate": "12ب345-67", "model": "Saipa Pride", "value_rial": 900_000_000,
         "responded_at": answered},
    ], "vehicles-0001", answered)
    land(data_dir, "properties", [
        {"inquiry_id": "q5", "agency_id": "land_registry", "person_id": X, "owner_name": "علی کریمی نژاد",
         "registry_section": "11", "main_plate": 120, "sub_plate": 4, "share_percent": 100,
         "value_rial": 9_000_000_000, "responded_at": answered},
    ], "properties-0001", answered)
    # the inquiry log: an answer counts once its inquiry is logged (the round's commit record)
    asked = [("q1", "bank_melli", "bank", X), ("q2", "bank_mellat", "bank", Y), ("q3", "bank_saderat", "bank", Z),
             ("q4", "traffic_police", "vehicle_registry", "۰۴۹۹۳۷۰۸۹۹"), ("q5", "land_registry", "land_registry", X),
             ("q6", "bank_tejarat", "bank", Y.lstrip("0"))]
    land(data_dir, "inquiries", [
        {"inquiry_id": inquiry_id, "run_id": "r1", "agency_id": agency_id, "agency_kind": kind, "person_id": person,
         "case_id": None, "requested_at": answered, "responded_at": answered, "latency_ms": 10, "status": "answered",
         "reason": None, "assets_found": 1, "attempts": 1, "message_id": None}
        for inquiry_id, agency_id, kind, person in asked
    ], "inquiries-0001", answered)


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data_dir = tmp_path_factory.mktemp("identity")
    with pytest.MonkeyPatch.context() as mp:
        override(mp, data_dir=data_dir)
        override(mp, warehouse=data_dir / "warehouse.duckdb")
        # only the tests of the selected models (not e.g. freeze_plan's, whose model is not built here)
        mp.setenv("DBT_INDIRECT_SELECTION", "cautious")
        land_three_spellings(data_dir)
        summary = warehouse.build(select="+persons +identity_review +person_assets")
        assert summary.tests_failed == 0
        yield data_dir


def rows(sql: str) -> list[tuple[Any, ...]]:
    with warehouse.connect_read_only() as con:
        return con.execute(sql).fetchall()


def test_three_spellings_by_three_agencies_are_one_person(resolved: Path) -> None:
    (person,) = rows(f"select person_name, spellings, name_keys, sources, needs_review from persons "
                     f"where person_id = '{X}'")
    name, spellings, name_keys, sources, needs_review = person
    assert name == "علی کریمی نژاد"
    assert spellings == 4 and name_keys == 1  # the court's and three agencies', one name
    assert sources == 4  # court, bank, vehicle registry, land registry
    assert not needs_review
    # the vehicle registry wrote X's id in Persian digits: X's inventory still has all three assets
    assert rows(f"select count(*) from person_assets where person_id = '{X}'") == [(3,)]


def test_two_persons_with_one_name_stay_two(resolved: Path) -> None:
    named = rows("select person_id, needs_review from persons where person_name = 'علی کریمی نژاد' order by 1")
    assert named == [(Y, False), (X, False)]


def test_a_code_that_lost_its_leading_zeros_is_the_same_person(resolved: Path) -> None:
    """84575948 (a spreadsheet's) and 0084575948 (the court's) are one person, not two sent to review."""
    assert rows(f"select person_key, sources, records, needs_review from persons where person_id = '{Y}'") == [
        (f"ir-nc:{Y}", 2, 3, False)]  # the court, bank_mellat and bank_tejarat (which wrote 84575948)
    assert rows(f"select count(*) from persons where person_id like '%{Y.lstrip('0')}' and person_id <> '{Y}'") \
        == [(0,)]
    assert rows(f"select count(*) from person_assets where person_id = '{Y}'") == [(2,)]


def test_an_iranian_code_and_a_saudi_id_with_the_same_digits_stay_two_persons(resolved: Path) -> None:
    twins = rows(f"select person_id, person_key, identifier_scheme, person_kind, person_name from persons "
                 f"where person_key like '%{TWIN_DIGITS}' order by person_key")
    assert twins == [
        (TWIN_DIGITS, f"ir-nc:{TWIN_DIGITS}", "iran_national_code", "natural", "مریم احمدی"),
        (SAUDI, SAUDI, "saudi_national_id", "natural", normalise_name("عبدالله القحطاني")),
    ]
    assert rows(f"select count(*) from identity_review where person_key like '%{TWIN_DIGITS}'") == [(0,)]


def test_a_conflicting_record_is_shown_for_review_not_merged(resolved: Path) -> None:
    review = rows("select person_id, source, agency_id, issue, canonical_name from identity_review")
    assert review == [(Z, "bank", "bank_saderat", "name_conflict", "رضا کاظمی")]
    assert rows(f"select needs_review, name_agreement from persons where person_id = '{Z}'") == [(True, 0.5)]


def test_identity_models_are_tables_readers_can_query(resolved: Path) -> None:
    """Readers have no UDFs: every model calling one is a table, and reads without them work."""
    kinds = dict(rows("""select table_name, table_type from information_schema.tables
                         where table_name in ('int_person_ids', 'int_person_records', 'int_person_evidence')"""))
    assert kinds == dict.fromkeys(("int_person_ids", "int_person_records", "int_person_evidence"), "BASE TABLE")
    with warehouse.connect_read_only() as con, pytest.raises(duckdb.CatalogException):
        con.execute("select normalise_name('x')")
