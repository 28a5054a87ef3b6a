"""Validation against data contracts with GX: good batches pass, bad rows are caught with exact reasons."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest

from estelam.contracts import registry as contracts
from estelam.core.domain import AgencyKind
from estelam.core.exceptions import ContractError
from estelam.core.identifiers import iban_check_digits, iran_national_code_check_digit
from estelam.ingest.validation import (
    INPUT_ROW_COLUMN,
    REASONS_COLUMN,
    check_column,
    rejected_schema,
    suite_for,
    validate,
)
from simulators.world import World, generate
from tests.mapping_support import drawn_records

RESPONDED_AT = datetime(2026, 10, 30, 9, 15, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return generate(contracts.load_agency_registry().instances, n_persons=60, n_cases=12, dirty_share=0.0)


def asset_rows(world: World, kind: str) -> list[dict[str, object]]:
    """Every record the agencies of ``kind`` hold (as its generated simulator draws them), shaped as its feed's
    contract wants it."""
    rows: list[dict[str, object]] = []
    for instance in contracts.load_agency_registry().of_kind(AgencyKind(kind)):
        for person in world.persons:
            rows += [{"inquiry_id": f"q-{person.person_id}", "agency_id": instance.agency_id, **record,
                      "responded_at": RESPONDED_AT}
                     for record in drawn_records(world, instance, person.person_id)]
    return rows


def case_event_rows(world: World) -> list[dict[str, object]]:
    return [{**dataclasses.asdict(e), "event_type": str(e.event_type), "debtor_kind": str(e.debtor_kind)}
            for e in world.case_events()]


def national_code(n: int) -> str:
    first = f"{n:09d}"
    return first + str(iran_national_code_check_digit(first))


def iban(n: int) -> str:
    bban = "0170" + f"{n:018d}"
    return "IR" + iban_check_digits("IR", bban) + bban


def account(n: int, **changes: object) -> dict[str, object]:
    row: dict[str, object] = {
        "inquiry_id": "q-1", "agency_id": "bank_melli", "person_id": national_code(123_456_000 + n),
        "holder_name": "علی کریمی", "iban": iban(n), "account_kind": "ordinary", "balance_rial": 1_000_000 * n,
        "responded_at": RESPONDED_AT,
    }
    return row | changes


def reasons_by_row(outcome) -> dict[int, list[str]]:  # type: ignore[no-untyped-def]
    return dict(zip(outcome.rejected.column(INPUT_ROW_COLUMN).to_pylist(),
                    outcome.rejected.column(REASONS_COLUMN).to_pylist(), strict=True))


@pytest.mark.parametrize(
    ("feed", "kind"),
    [("bank_accounts", "bank"), ("security_holdings", "securities_depository"), ("vehicles", "vehicle_registry"),
     ("properties", "land_registry")],
)
def test_good_asset_batches_pass_entirely(world: World, feed: str, kind: str) -> None:
    contract = contracts.feed(feed)
    rows = asset_rows(world, kind)
    assert len(rows) > 5, "the world should own some of these assets"
    outcome = validate(contract, rows)
    assert outcome.rejected_rows == 0, reasons_by_row(outcome)
    assert outcome.valid_rows == len(rows)
    assert outcome.valid.schema.equals(contract.arrow_schema(), check_metadata=True)
    assert outcome.valid.to_pylist() == [{c: r.get(c) for c in contract.column_names} for r in rows]
    assert outcome.gx_success
    stats = outcome.gx_statistics
    assert stats["evaluated_expectations"] == len(suite_for(contract).expectations) == stats["successful_expectations"]


def test_a_dirty_world_is_quarantined_record_by_record() -> None:
    """The simulators' agencies keep a few records wrongly; exactly those are rejected."""
    dirty = generate(contracts.load_agency_registry().instances, n_persons=120, dirty_share=0.1)
    vehicles = asset_rows(dirty, "vehicle_registry")
    outcome = validate(contracts.feed("vehicles"), vehicles)
    latin = {i for i, r in enumerate(vehicles) if "B" in str(r["plate"])}
    assert latin and set(reasons_by_row(outcome)) == latin
    accounts = asset_rows(dirty, "bank")  # the banks' world data keep mistyped IBANs in the world's dirty share
    outcome = validate(contracts.feed("bank_accounts"), accounts)
    assert outcome.rejected_rows > 0
    assert set(outcome.reasons_summary()) == {"iban: check digit iban failed"}


def test_good_case_events_pass_with_their_nulls(world: World) -> None:
    rows = case_event_rows(world)
    assert any(r["amount_rial"] is None for r in rows) and any(r["channel"] is None for r in rows)
    outcome = validate(contracts.feed("case_events"), rows)
    assert (outcome.valid_rows, outcome.rejected_rows) == (len(rows), 0), reasons_by_row(outcome)


def test_bad_bank_batch_is_split_with_exact_reasons() -> None:
    contract = contracts.feed("bank_accounts")
    rows = [
        account(1),
        account(2, balance_rial=-5),
        account(3, person_id="1234567890"),
        account(4, account_kind="gold", iban="IR12"),
        account(5, holder_name=None),
        account(6, iban=iban(1)),  # same (inquiry_id, iban) as row 0
        account(7, balance_rial="a lot", branch="tehran"),
        account(8, responded_at=datetime(2026, 10, 30, 9, 15)),
        account(9, balance_rial=2.5),
        account(10, iban=iban(10)[:-1] + str((int(iban(10)[-1]) + 1) % 10)),
        account(11),
    ]
    outcome = validate(contract, rows)
    assert reasons_by_row(outcome) == {
        1: ["balance_rial: min 0"],
        2: ["person_id: check digit person_id failed (ir profile: ir-nc, ir-nid, or scheme:code)"],
        3: ["iban: regex ^IR[0-9]{24}$", "iban: check digit iban failed",
            "account_kind: allowed ordinary, salary, pension"],
        4: ["holder_name: not null"],
        5: ["inquiry_id, iban: duplicate primary key"],
        6: ["unknown column branch", "balance_rial: cannot cast str to int64"],
        7: ["responded_at: timestamp without time zone"],
        8: ["balance_rial: cannot cast float to int64"],
        9: ["iban: check digit iban failed"],
    }
    assert outcome.valid.column("iban").to_pylist() == [iban(1), iban(11)]
    assert outcome.valid_rows + outcome.rejected_rows == outcome.input_rows == len(rows)
    assert not outcome.gx_success
    # rejected rows keep what was received, as text
    rejected = {r[INPUT_ROW_COLUMN]: r for r in outcome.rejected.to_pylist()}
    assert rejected[6]["balance_rial"] == "a lot"
    assert rejected[1]["balance_rial"] == "-5"
    assert rejected[7]["responded_at"] == "2026-10-30T09:15:00"
    assert rejected[4]["holder_name"] is None
    assert outcome.rejected.schema.equals(rejected_schema(contract))
    assert outcome.reasons_summary()["iban: check digit iban failed"] == 2


def test_gx_really_evaluates_each_rule() -> None:
    """Guards against GX's silent all-fail: good rows pass every rule, each bad row breaks only its own."""
    contract = contracts.feed("bank_accounts")
    good = validate(contract, [account(n) for n in range(1, 6)])
    assert good.gx_success and good.gx_statistics["unsuccessful_expectations"] == 0
    bad = validate(contract, [account(1), account(2, balance_rial=-1), account(3, account_kind="gold")])
    assert not bad.gx_success
    assert bad.gx_statistics["unsuccessful_expectations"] == 2
    assert bad.valid.column("iban").to_pylist() == [iban(1)]


def test_suite_is_built_from_the_contract_only() -> None:
    suite = suite_for(contracts.feed("properties"))
    rules = [e.meta["contract_rule"] for e in suite.expectations]
    assert "share_percent: min 1" in rules and "share_percent: max 100" in rules
    assert "registry_section: regex ^[0-9]{1,3}$" in rules
    assert "person_id: check digit person_id failed (ir profile: ir-nc, ir-nid, or scheme:code)" in rules
    assert rules[-1] == "inquiry_id, registry_section, main_plate, sub_plate: duplicate primary key"
    assert {e.column for e in suite.expectations if e.meta["contract_rule_kind"] == "check_digit"} == {
        check_column("person_id")}
    # every non-nullable column is expected not null, nullable ones are not
    events = suite_for(contracts.feed("case_events"))
    not_null = {e.column for e in events.expectations if e.meta["contract_rule_kind"] == "not_null"}
    assert "event_id" in not_null and "amount_rial" not in not_null and "channel" not in not_null


def test_bad_vehicle_plate_and_share_bounds(world: World) -> None:
    vehicles = asset_rows(world, "vehicle_registry")[:3]
    vehicles[1] = vehicles[1] | {"plate": "12X345-67"}
    outcome = validate(contracts.feed("vehicles"), vehicles)
    regex = contracts.feed("vehicles").column("plate").rules["regex"]
    assert reasons_by_row(outcome) == {1: [f"plate: regex {regex}"]}

    properties = asset_rows(world, "land_registry")[:3]
    properties[0] = properties[0] | {"share_percent": 101}
    properties[2] = properties[2] | {"share_percent": 0, "registry_section": "1234"}
    outcome = validate(contracts.feed("properties"), properties)
    assert reasons_by_row(outcome) == {
        0: ["share_percent: max 100"],
        2: ["registry_section: regex ^[0-9]{1,3}$", "share_percent: min 1"],
    }


def test_duplicate_single_key_keeps_the_first(world: World) -> None:
    rows = case_event_rows(world)[:4]
    rows[2] = rows[2] | {"event_id": rows[0]["event_id"]}
    rows[3] = rows[3] | {"event_id": rows[0]["event_id"]}
    outcome = validate(contracts.feed("case_events"), rows)
    assert reasons_by_row(outcome) == {2: ["event_id: duplicate primary key"], 3: ["event_id: duplicate primary key"]}
    assert outcome.valid.column("event_type").to_pylist() == [rows[0]["event_type"], rows[1]["event_type"]]


def test_json_shaped_records_are_conformed(world: World) -> None:
    """Case events arrive as JSON: ISO text timestamps, text booleans, Persian digits; bad ones are rejected."""
    contract = contracts.feed("case_events")
    base = case_event_rows(world)[0]
    tehran = timezone(timedelta(hours=3, minutes=30))
    rows = [
        base | {"event_id": "e1", "occurred_at": "2026-10-30T12:45:00+03:30", "automated": "true",
                "amount_rial": "۱۲۰۰۰"},
        base | {"event_id": "e2", "occurred_at": datetime(2026, 10, 30, 12, 45, tzinfo=tehran)},
        base | {"event_id": "e3", "occurred_at": "2026-10-30T12:45:00"},
        base | {"event_id": "e4", "automated": 1},
        {"event_id": "e5", "_error": "line 5 is not JSON: Expecting value"},
        {k: v for k, v in base.items() if k != "debtor_name"} | {"event_id": "e6"},
        base | {"event_id": "e7", "amount_rial": 2**64},
    ]
    outcome = validate(contract, rows)
    reasons = reasons_by_row(outcome)
    assert reasons[2] == ["occurred_at: timestamp without time zone"]
    assert reasons[3] == ["automated: cannot cast int to bool"]
    assert reasons[4] == ["line 5 is not JSON: Expecting value"]  # the producer's reason, and only it
    assert reasons[5] == ["debtor_name: not null"]  # a missing key is a null
    assert reasons[6] == ["amount_rial: out of int64 range"]
    assert set(reasons) == {2, 3, 4, 5, 6}
    valid = outcome.valid.to_pylist()
    assert [r["occurred_at"] for r in valid] == [datetime(2026, 10, 30, 9, 15, tzinfo=UTC)] * 2
    assert valid[0]["automated"] is True and valid[0]["amount_rial"] == 12_000


def test_arrow_tables_are_validated_too() -> None:
    contract = contracts.feed("bank_accounts")
    good = validate(contract, [account(n) for n in range(1, 4)]).valid
    again = validate(contract, good)
    assert again.valid.equals(good) and again.rejected_rows == 0

    widened = good.set_column(good.schema.get_field_index("balance_rial"), "balance_rial",
                              good.column("balance_rial").cast(pa.int32()))
    assert validate(contract, widened).valid.equals(good)

    naive = good.set_column(good.schema.get_field_index("responded_at"), "responded_at",
                            good.column("responded_at").cast(pa.timestamp("us")))
    outcome = validate(contract, naive)
    assert outcome.valid_rows == 0
    assert outcome.reasons_summary() == {"responded_at: timestamp without time zone": 3}


def test_empty_batch() -> None:
    outcome = validate(contracts.feed("inquiries"), [])
    assert (outcome.input_rows, outcome.valid_rows, outcome.rejected_rows) == (0, 0, 0)
    assert outcome.valid.schema.equals(contracts.feed("inquiries").arrow_schema())


def test_changed_contract_gets_a_new_suite() -> None:
    contract = contracts.feed("bank_accounts")
    rows = [account(1, balance_rial=5_000_000)]
    assert validate(contract, rows).rejected_rows == 0
    stricter = dataclasses.replace(contract, columns=tuple(
        dataclasses.replace(c, rules={"min": 10_000_000}) if c.name == "balance_rial" else c
        for c in contract.columns))
    assert validate(stricter, rows).reasons_summary() == {"balance_rial: min 10000000": 1}
    assert validate(contract, rows).rejected_rows == 0


def test_gx_writes_nothing_to_the_working_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    validate(contracts.feed("bank_accounts"), [account(1), account(2, balance_rial=-1)])
    assert list(tmp_path.iterdir()) == []


def test_a_rule_gx_cannot_evaluate_fails_loudly_instead_of_rejecting_every_row() -> None:
    contract = contracts.feed("bank_accounts")
    broken = dataclasses.replace(contract, columns=tuple(
        dataclasses.replace(c, rules={"regex": "IR[0-9"}) if c.name == "iban" else c for c in contract.columns))
    with pytest.raises(ContractError, match="GX could not evaluate 'iban: regex IR"):
        validate(broken, [account(1)])
