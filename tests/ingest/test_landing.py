"""Landing validated batches as Parquet: deterministic paths, atomic replace, lineage, quarantine."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from estelam.contracts import registry as contracts
from estelam.core.exceptions import LandingError
from estelam.core.identifiers import iban_check_digits, iran_national_code_check_digit
from estelam.ingest import landing
from estelam.ingest.landing import LINEAGE_FIELDS, land, validate_and_land
from estelam.ingest.validation import rejected_schema, validate
from tests.settings_support import override

#: An Iranian deployment's reason for a person id failing its check (it names the profile's schemes).
PERSON_ID_REFUSED = "person_id: check digit person_id failed (ir profile: ir-nc, ir-nid, or scheme:code)"

PARTITION = date(2026, 10, 30)
RESPONDED_AT = datetime(2026, 10, 30, 9, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    override(monkeypatch, data_dir=tmp_path)
    return tmp_path


def iban(n: int) -> str:
    bban = "0170" + f"{n:018d}"
    return "IR" + iban_check_digits("IR", bban) + bban


def account(n: int, **changes: object) -> dict[str, object]:
    first = f"{123_456_000 + n:09d}"
    row: dict[str, object] = {
        "inquiry_id": "q-1", "agency_id": "bank_melli", "person_id": first + str(iran_national_code_check_digit(first)),
        "holder_name": "علی کریمی", "iban": iban(n), "account_kind": "ordinary", "balance_rial": 1_000_000 * n,
        "responded_at": RESPONDED_AT,
    }
    return row | changes


def mixed_batch() -> list[dict[str, object]]:
    return [account(1), account(2, balance_rial=-1), account(3), account(4, person_id="0000000001")]


def parquet_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_valid_and_rejected_rows_land_with_lineage(data_dir: Path) -> None:
    contract = contracts.feed("bank_accounts")
    result = validate_and_land("bank_accounts", mixed_batch(), batch_id="round-1_bank_melli.0", partition=PARTITION)

    assert result.landing_path == data_dir / "landing/bank_accounts/dt=2026-10-30/round-1_bank_melli.0.parquet"
    assert result.quarantine_path == data_dir / "quarantine/bank_accounts/dt=2026-10-30/round-1_bank_melli.0.parquet"
    assert (result.valid_rows, result.rejected_rows) == (2, 2)
    assert result.reasons == {"balance_rial: min 0": 1, PERSON_ID_REFUSED: 1}
    assert parquet_files(data_dir) == [result.landing_path, result.quarantine_path]

    landed = pq.read_table(result.landing_path)
    expected = pa.schema([*contract.arrow_schema(), *LINEAGE_FIELDS])
    assert landed.schema.equals(expected)
    assert landed.column("iban").to_pylist() == [iban(1), iban(3)]
    assert set(landed.column("_batch_id").to_pylist()) == {"round-1_bank_melli.0"}
    landed_at = landed.column("_landed_at").to_pylist()
    assert len(set(landed_at)) == 1 and landed_at[0].tzinfo is not None
    assert abs(datetime.now(UTC) - landed_at[0]).total_seconds() < 60

    quarantined = pq.read_table(result.quarantine_path)
    assert quarantined.schema.equals(pa.schema([*rejected_schema(contract), *LINEAGE_FIELDS]))
    assert quarantined.column("_reasons").to_pylist() == [["balance_rial: min 0"], [PERSON_ID_REFUSED]]
    assert quarantined.column("_input_row").to_pylist() == [1, 3]
    assert quarantined.column("_landed_at").to_pylist() == landed_at[:2]


def test_landing_again_replaces_the_batch(data_dir: Path) -> None:
    first = validate_and_land("bank_accounts", mixed_batch(), batch_id="b1", partition=PARTITION)
    before = pq.read_table(first.landing_path).drop_columns(["_landed_at"])
    second = validate_and_land("bank_accounts", mixed_batch(), batch_id="b1", partition=PARTITION)

    assert parquet_files(data_dir) == [first.landing_path, first.quarantine_path]  # no duplicates, no temp files
    assert (second.landing_path, second.quarantine_path) == (first.landing_path, first.quarantine_path)
    assert pq.read_table(second.landing_path).drop_columns(["_landed_at"]).equals(before)


def test_a_clean_rerun_removes_the_stale_quarantine_file(data_dir: Path) -> None:
    first = validate_and_land("bank_accounts", mixed_batch(), batch_id="b1", partition=PARTITION)
    assert first.quarantine_path is not None and first.quarantine_path.exists()
    fixed = validate_and_land("bank_accounts", [account(1), account(3)], batch_id="b1", partition=PARTITION)
    assert fixed.quarantine_path is None
    assert parquet_files(data_dir) == [first.landing_path]


def test_all_rejected_writes_no_landing_file_and_empty_batch_writes_nothing(data_dir: Path) -> None:
    rejected = validate_and_land("bank_accounts", [account(2, balance_rial=-1)], batch_id="b2", partition=PARTITION)
    assert rejected.landing_path is None and rejected.quarantine_path is not None
    assert parquet_files(data_dir) == [rejected.quarantine_path]

    empty = validate_and_land("inquiries", [], batch_id="b3", partition=PARTITION)
    assert (empty.valid_rows, empty.rejected_rows, empty.landing_path, empty.quarantine_path) == (0, 0, None, None)
    assert parquet_files(data_dir) == [rejected.quarantine_path]


@pytest.mark.parametrize("batch_id", ["", "../escape", "a/b", ".hidden", "two words", "x" * 201, "دسته"])
def test_unsafe_batch_ids_are_refused(batch_id: str, data_dir: Path) -> None:
    with pytest.raises(LandingError, match="batch id"):
        validate_and_land("bank_accounts", [account(1)], batch_id=batch_id, partition=PARTITION)
    assert parquet_files(data_dir) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = validate_and_land("bank_accounts", [account(1)], batch_id="b1", partition=PARTITION)
    old = first.landing_path.read_bytes()  # type: ignore[union-attr]

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(landing.pq, "write_table", disk_full)
    with pytest.raises(LandingError, match="No space left"):
        validate_and_land("bank_accounts", [account(1), account(3)], batch_id="b1", partition=PARTITION)
    assert parquet_files(data_dir) == [first.landing_path]
    assert first.landing_path.read_bytes() == old  # type: ignore[union-attr]


def test_land_refuses_an_outcome_of_another_feed() -> None:
    outcome = validate(contracts.feed("bank_accounts"), [account(1)])
    with pytest.raises(LandingError, match="cannot land"):
        land(contracts.feed("vehicles"), outcome, batch_id="b1", partition=PARTITION)


def test_rejected_reasons_by_key() -> None:
    rows = [account(1, inquiry_id="q-a", balance_rial=-1), account(2, inquiry_id="q-a", account_kind="gold"),
            account(3, inquiry_id="q-b")]
    result = validate_and_land("bank_accounts", rows, batch_id="b1", partition=PARTITION)
    assert result.rejected_reasons_by("inquiry_id") == {"q-a": "balance_rial: min 0; account_kind: allowed "
                                                                "ordinary, salary, pension"}
    assert result.as_dict()["rejected_rows"] == 2
