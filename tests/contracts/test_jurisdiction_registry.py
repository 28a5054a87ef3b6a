"""The agency registry and the jurisdiction's shapes come from the profile (``ESTELAM_JURISDICTION``), never from
code: a Saudi deployment reads ``contracts/agencies.sa.yaml`` (SAMA bank codes in SA IBANs, Edaa, Muroor, the
real-estate registry) and checks Saudi IBANs, plates and mobiles by the same contract rules an Iranian one checks
Iranian ones by. Both validation engines must agree."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from estelam.contracts import registry as contracts
from estelam.core.domain import AgencyKind
from estelam.core.exceptions import ContractError
from estelam.core.identifiers import iban_check_digits, is_iban
from estelam.core.jurisdiction import load_profile
from estelam.core.settings import DEFAULT_CONTRACTS_DIR
from estelam.ingest.validation import INPUT_ROW_COLUMN, REASONS_COLUMN, Engine, validate
from tests.settings_support import override

AT = datetime(2026, 11, 1, tzinfo=UTC)
#: SAMA's bank identifiers inside SA IBANs (SARIE's published list), as the Saudi registry must carry them.
SAMA_BANK_CODES = {"bank_snb": "10", "bank_rajhi": "80", "bank_riyad": "20", "bank_sab": "45", "bank_bsf": "55",
                   "bank_anb": "30", "bank_alinma": "05", "bank_aljazira": "60", "bank_albilad": "15",
                   "bank_saib": "65"}


def iban(country: str, bban: str) -> str:
    return country + iban_check_digits(country, bban) + bban


SA_IBAN = iban("SA", "80" + "000000608010167519")  # Al Rajhi's, as SARIE's example
IR_IBAN = iban("IR", "017" + "0" + "000000100000000001")


def test_the_saudi_profile_picks_the_saudi_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, jurisdiction="sa")
    assert contracts.registry_path().name == "agencies.sa.yaml"
    registry = contracts.load_agency_registry()
    banks = {i.agency_id: i.iban_bank_code for i in registry.of_kind(AgencyKind("bank"))}
    assert banks == SAMA_BANK_CODES
    assert [i.agency_id for i in registry.of_kind(AgencyKind("securities_depository"))] == ["edaa"]
    assert registry.instance("edaa").mapping_file  # the depository is a kind declared by its mapping
    assert [i.agency_id for i in registry.of_kind(AgencyKind("vehicle_registry"))] == ["muroor"]
    assert registry.instance("muroor").mapping_file  # and the vehicle registry
    assert [i.agency_id for i in registry.of_kind(AgencyKind("land_registry"))] == ["real_estate_registry"]
    assert registry.instance("real_estate_registry").mapping_file  # so is the land registry
    assert all(i.name_ar for i in registry.instances), "an Arabic deployment names every agency in Arabic"
    account = contracts.load_court_account()
    assert account is not None and account.agency_id == "bank_snb"
    assert account.iban.startswith("SA") and len(account.iban) == 24 and is_iban(account.iban)
    assert account.iban[4:6] == banks["bank_snb"]  # the court's IBAN is at the bank the registry says
    assert {r.register for r in contracts.load_receivers()} == {"fugitives", "central_bank_feed"}


def test_the_iranian_profile_keeps_its_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, jurisdiction="ir")
    assert contracts.registry_path().name == "agencies.yaml"
    registry = contracts.load_agency_registry()
    codes = [i.iban_bank_code for i in registry.of_kind(AgencyKind("bank"))]
    assert len(codes) == 30 and all(code is not None and len(code) == 3 for code in codes)
    account = contracts.load_court_account()
    assert account is not None and account.iban.startswith("IR")


def _registry_with(tmp_path: Path, source: str, change: dict[str, Any]) -> Path:
    raw = yaml.safe_load((DEFAULT_CONTRACTS_DIR / source).read_text(encoding="utf-8"))
    raw["instances"][0].update(change.get("instance", {}))
    raw.update(change.get("top", {}))
    path = tmp_path / source
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    for folder in ("agencies", "kinds", "feeds"):  # the interfaces, and the kinds declared by mappings
        (tmp_path / folder).symlink_to(DEFAULT_CONTRACTS_DIR / folder)
    return path


def test_a_bank_code_has_the_profiles_length(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, jurisdiction="sa")
    path = _registry_with(tmp_path, "agencies.sa.yaml", {"instance": {"iban_bank_code": "017"}})
    with pytest.raises(ContractError, match=r"iban_bank_code '017' must be 2 digits \(sa profile\)"):
        contracts.load_agency_registry(path)
    override(monkeypatch, jurisdiction="ir")
    with pytest.raises(ContractError, match=r"must be 3 digits \(ir profile\)"):
        contracts.load_agency_registry(DEFAULT_CONTRACTS_DIR / "agencies.sa.yaml")


def test_a_court_account_outside_the_profile_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, jurisdiction="sa")
    path = _registry_with(tmp_path, "agencies.sa.yaml",
                          {"top": {"court_account": {"agency_id": "bank_snb", "iban": IR_IBAN}}})
    with pytest.raises(ContractError, match="is not an IBAN of the sa profile"):
        contracts.load_court_account(path)


def account(n: int, value: str) -> dict[str, Any]:
    return {"inquiry_id": f"q{n}", "agency_id": "bank_rajhi", "person_id": "1100000007", "holder_name": "عبدالله",
            "iban": value, "account_kind": "ordinary", "balance_rial": 150_000, "responded_at": AT}


def vehicle(n: int, plate: str) -> dict[str, Any]:
    return {"inquiry_id": f"q{n}", "agency_id": "muroor", "person_id": "1100000007", "owner_name": "عبدالله",
            "plate": plate, "model": "Toyota Camry", "value_rial": 6_500_000, "responded_at": AT}


def rejected(feed: str, rows: list[dict[str, Any]], engine: Engine) -> dict[int, list[str]]:
    outcome = validate(contracts.feed(feed), rows, engine=engine)
    return {row[INPUT_ROW_COLUMN]: list(row[REASONS_COLUMN]) for row in outcome.rejected.to_pylist()}


@pytest.mark.parametrize("engine", [Engine.GX, Engine.COMPILED])
def test_ibans_are_checked_by_the_profiles_pattern(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    mistyped = SA_IBAN[:-1] + str((int(SA_IBAN[-1]) + 1) % 10)
    override(monkeypatch, jurisdiction="sa")
    refused = rejected("bank_accounts", [account(0, SA_IBAN), account(1, IR_IBAN), account(2, mistyped)], engine)
    assert set(refused) == {1, 2}
    assert refused[1] == ["iban: regex ^SA[0-9]{4}[0-9A-Z]{18}$"]
    assert refused[2] == ["iban: check digit iban failed"]
    override(monkeypatch, jurisdiction="ir")
    rows = [account(0, IR_IBAN) | {"person_id": "0012345679"}, account(1, SA_IBAN) | {"person_id": "0012345679"}]
    assert rejected("bank_accounts", rows, engine) == {1: ["iban: regex ^IR[0-9]{24}$"]}


@pytest.mark.parametrize("engine", [Engine.GX, Engine.COMPILED])
def test_plates_are_checked_by_the_profiles_pattern(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, jurisdiction="sa")
    plates = ["1234 ابح", "7 ABJ", "12ب345-67", "1234 ابج", "12345 ابح"]  # ج is no plate letter; 5 digits too many
    assert set(rejected("vehicles", [vehicle(n, p) for n, p in enumerate(plates)], engine)) == {2, 3, 4}


def test_the_profile_must_have_the_pattern_a_contract_names(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    contract = tmp_path / "sample.yaml"
    contract.write_text("feed: sample\nprimary_key: [code]\ncolumns:\n"
                        "  - {name: code, type: string, rules: {pattern: postcode}}\n", encoding="utf-8")
    with pytest.raises(ContractError, match="has no pattern 'postcode'"):
        contracts.load_feed(contract, load_profile("sa"))


def test_the_agencies_interfaces_accept_every_profiles_forms() -> None:
    """The WSDL and OpenAPI files are shared by both registries: each profile's IBAN, plate and mobile pass them."""
    xsd = "{http://www.w3.org/2001/XMLSchema}"
    wsdl = etree.parse(str(DEFAULT_CONTRACTS_DIR / "kinds" / "bank.wsdl"))
    iban_type = wsdl.find(f".//{xsd}simpleType[@name='Iban']/{xsd}restriction/{xsd}pattern")
    assert iban_type is not None
    vehicles = yaml.safe_load((DEFAULT_CONTRACTS_DIR / "kinds" / "vehicle_registry.openapi.yaml").read_text())
    sms = yaml.safe_load((DEFAULT_CONTRACTS_DIR / "agencies" / "sms_gateway.openapi.yaml").read_text())
    samples = {"ir": {"iban": IR_IBAN, "plate": "12ب345-67", "mobile": "09121234567"},
               "sa": {"iban": SA_IBAN, "plate": "1234 ابح", "mobile": "0512345678"}}
    for profile_id, sample in samples.items():
        profile = load_profile(profile_id)
        for name, value in sample.items():
            assert re.fullmatch(profile.pattern(name), value), (profile_id, name)
        assert re.fullmatch(iban_type.get("value"), sample["iban"])
        assert re.search(vehicles["components"]["schemas"]["Plate"]["pattern"], sample["plate"])
        assert re.search(sms["components"]["schemas"]["MessageRequest"]["properties"]["to"]["pattern"],
                         sample["mobile"])
