"""Person ids at the ingest edge: the ``check_digit: person_id`` contract rule reads an id by the deployment's
jurisdiction profile (``ESTELAM_JURISDICTION``), and an id written with its scheme as written.

Both validation engines (GX and the compiled rules) are exercised: they must agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from estelam.contracts import registry as contracts
from estelam.core import identifiers, jurisdiction
from estelam.ingest.landing import validate_and_land
from estelam.ingest.validation import INPUT_ROW_COLUMN, REASONS_COLUMN, Engine, validate
from tests.settings_support import override

AT = datetime(2026, 11, 1, tzinfo=UTC)
#: A valid Saudi national id (Luhn, starts 1) that is no valid Iranian national code.
SAUDI_ID = "1100000007"
#: Ten digits that are both a valid Iranian national code and a valid Saudi national id.
TWIN_DIGITS = "1000000206"
REFUSED_IR = "debtor_id: check digit person_id failed (ir profile: ir-nc, ir-nid, or scheme:code)"
REFUSED_SA = "debtor_id: check digit person_id failed (sa profile: sa-nid, sa-iqama, sa-cr, or scheme:code)"


def filed(n: int, debtor_id: str) -> dict[str, Any]:
    return {"event_id": f"e{n}", "case_id": f"1405-{n:06d}", "event_type": "filed", "occurred_at": AT,
            "court_code": "RUH-01", "debtor_id": debtor_id, "debtor_kind": "natural", "debtor_name": "عبدالله",
            "creditor_name": "شركة", "amount_rial": 1_000, "channel": None, "automated": True}


def reasons(debtor_ids: list[str], engine: Engine) -> list[list[str]]:
    outcome = validate(contracts.feed("case_events"), [filed(n, d) for n, d in enumerate(debtor_ids)], engine=engine)
    rejected = {row[INPUT_ROW_COLUMN]: row[REASONS_COLUMN] for row in outcome.rejected.to_pylist()}
    return [list(rejected.get(n, [])) for n in range(len(debtor_ids))]


def test_the_twin_digits_really_pass_both_checks() -> None:
    """The premise of the collision: the same ten digits are a valid code in both countries."""
    assert identifiers.is_iran_national_code(TWIN_DIGITS) and identifiers.is_saudi_citizen_id(TWIN_DIGITS)
    assert identifiers.is_saudi_citizen_id(SAUDI_ID) and not identifiers.is_iran_national_code(SAUDI_ID)


@pytest.mark.parametrize("engine", list(Engine))
def test_a_saudi_id_is_refused_under_ir_unless_written_with_its_scheme(monkeypatch: pytest.MonkeyPatch,
                                                                        engine: Engine) -> None:
    override(monkeypatch, jurisdiction="ir")
    assert reasons([SAUDI_ID, f"sa-nid:{SAUDI_ID}", "0012345679", "12345679", "sa-nid:1100000008"], engine) == [
        [REFUSED_IR], [], [], [], [REFUSED_IR]]


@pytest.mark.parametrize("engine", list(Engine))
def test_a_saudi_id_passes_under_sa_and_a_bare_iranian_code_does_not(monkeypatch: pytest.MonkeyPatch,
                                                                      engine: Engine) -> None:
    override(monkeypatch, jurisdiction="sa")
    iqama = next(f"21000000{n:02d}" for n in range(100) if identifiers.is_saudi_iqama(f"21000000{n:02d}"))
    assert reasons([SAUDI_ID, iqama, "7001234567", "0012345679", "ir-nc:0012345679", "1100000008"], engine) == [
        [], [], [], [REFUSED_SA], [], [REFUSED_SA]]


def test_the_same_digits_land_as_two_persons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through ingest: an Iranian code and a Saudi id with the same ten digits land as two distinct keys."""
    override(monkeypatch, data_dir=tmp_path, jurisdiction="ir")
    result = validate_and_land("case_events", [filed(1, TWIN_DIGITS), filed(2, f"sa-nid:{TWIN_DIGITS}")],
                               batch_id="court-twins", partition=AT.date())
    assert result.reasons == {}
    (path,) = (tmp_path / "landing" / "case_events").rglob("*.parquet")
    landed = pq.read_table(path).column("debtor_id").to_pylist()
    schemes = jurisdiction.current_profile().person_id_schemes
    keys = {identifiers.person_key(d, schemes) for d in landed}
    assert keys == {f"ir-nc:{TWIN_DIGITS}", f"sa-nid:{TWIN_DIGITS}"}
    assert {identifiers.local_person_id(d, schemes) for d in landed} == {TWIN_DIGITS, f"sa-nid:{TWIN_DIGITS}"}


def test_a_code_that_lost_its_leading_zeros_is_the_same_key() -> None:
    assert identifiers.person_key("12345679") == identifiers.person_key("0012345679") == "ir-nc:0012345679"
    assert identifiers.person_key("ir-nc:12345679") == "ir-nc:0012345679"
    assert identifiers.person_key("1234567") is None  # seven digits: too short to be a code that lost zeros


def test_each_profile_reads_its_bare_ids_one_way() -> None:
    """A bare id must be unambiguous within a deployment: the profile's schemes never accept the same code."""
    for name in jurisdiction.available():
        schemes = jurisdiction.load_profile(name).person_id_schemes
        assert all(s in identifiers.PERSON_ID_SCHEMES for s in schemes)
        samples = [f"{n:010d}" for n in range(0, 10**10, 999_983)] + [f"{n:011d}" for n in range(0, 10**11, 9_999_991)]
        for code in samples:
            accepting = [s for s in schemes if identifiers.PERSON_ID_SCHEMES[s].canonical(code) is not None]
            assert len(accepting) <= 1, (name, code, accepting)


def test_profiles_are_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    assert jurisdiction.current_profile().id == "ir"  # the default
    override(monkeypatch, jurisdiction="sa")
    profile = jurisdiction.current_profile()
    assert (profile.id, profile.iban_country, profile.iban_length, profile.currency.code, profile.currency.minor_unit,
            profile.calendar.display, profile.language) == ("sa", "SA", 24, "SAR", 2, "umm_al_qura", "ar")
    ir = jurisdiction.load_profile("ir")
    assert (ir.currency.code, ir.currency.minor_unit, ir.calendar.display, ir.language) == (
        "IRR", 0, "solar_hijri", "fa")
    override(monkeypatch, jurisdiction="xx")
    with pytest.raises(Exception, match="no jurisdiction profile 'xx'"):
        jurisdiction.current_profile()


def test_a_registry_folder_without_profiles_uses_the_shipped_ones(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A deployment's contracts folder may hold only its agencies: the hub's own profiles still apply."""
    override(monkeypatch, contracts_dir=tmp_path / "agencies-only", jurisdiction="sa")
    assert jurisdiction.current_profile().person_id_schemes == ("sa-nid", "sa-iqama", "sa-cr")
    own = tmp_path / "own" / "jurisdictions"
    own.mkdir(parents=True)
    (own / "sa.yaml").write_text(
        jurisdiction.profile_path("sa").read_text(encoding="utf-8").replace("[sa-nid, sa-iqama, sa-cr]", "[sa-nid]"),
        encoding="utf-8")
    override(monkeypatch, contracts_dir=tmp_path / "own")
    assert jurisdiction.current_profile().person_id_schemes == ("sa-nid",)  # its own, when it has one
