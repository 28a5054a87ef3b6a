"""Agency kinds as data: mapping files are checked against their interface and feed when the registry loads, and a
kind added from files alone (a fixture tax authority) runs a real inquiry round against its generated simulator."""

from __future__ import annotations

import re
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from connectors import wire_client_for
from estelam.contracts import kind_models
from estelam.contracts import registry as contracts
from estelam.core.domain import AgencyKind, InquiryStatus
from estelam.core.exceptions import ContractError
from estelam.core.kinds import MappingError, mapping_at
from estelam.ingest.landing import read_landed
from estelam.inquiry.rounds import InquiryTarget, run_round
from simulators.agency_state import AgencyState
from simulators.mapped_app import load_kind_world, mapped_application, records_of
from simulators.server import RunningServer
from simulators.world import generate
from tests.mapping_support import line_of
from tests.settings_support import override

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "kinds"
PROJECT_CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
MAPPED = ("civil_registry", "social_security", "returned_cheques", "eu_vies")



@pytest.fixture
def fixture_contracts(tmp_path: Path) -> Path:
    """A contracts folder: the project's feeds and the fixture kind's files (its registry, mapping, interface)."""
    shutil.copytree(PROJECT_CONTRACTS / "feeds", tmp_path / "feeds")
    for feed in (FIXTURE / "feeds").glob("*.yaml"):
        shutil.copy(feed, tmp_path / "feeds")
    shutil.copytree(FIXTURE / "kinds", tmp_path / "kinds")
    shutil.copy(FIXTURE / "agencies.yaml", tmp_path / "agencies.yaml")
    return tmp_path


def _break(contracts_dir: Path, old: str, new: str) -> Path:
    path = contracts_dir / "kinds" / "tax_authority.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# --- the project's mapped kinds ------------------------------------------------------------------------


def test_the_three_fact_kinds_are_files_only_and_load_with_the_registry() -> None:
    registry = contracts.load_agency_registry()
    for name in MAPPED:
        kind = registry.kinds[AgencyKind(name)]
        assert kind.mapping is not None and kind.mapping.facts is not None
        assert kind.answer_feed in contracts.feeds()
        assert registry.of_kind(AgencyKind(name)), f"no instance of {name} in agencies.yaml"
        for instance in registry.of_kind(AgencyKind(name)):
            assert instance.mapping_file == str(kind.mapping.source)


def test_no_python_names_a_mapped_kind() -> None:
    """The kinds live in contracts/, the simulators' world data and tests: no module of the hub names them."""
    root = PROJECT_CONTRACTS.parent
    for folder in ("estelam", "connectors", "simulators", "dags", "dashboards"):
        for module in (root / folder).rglob("*.py"):
            if module.name == "rows.py":  # generated from the feed contracts
                continue
            text = module.read_text(encoding="utf-8")
            for name in MAPPED:
                assert name not in text, f"{module} names the kind {name}"


def test_the_generated_staging_model_agrees_with_the_mappings() -> None:
    committed = (kind_models.staging_path()).read_text(encoding="utf-8")
    assert committed == kind_models.render_staging(), (
        "regenerate: .venv/bin/python -c 'from estelam.contracts.kind_models import write_staging; write_staging()'")


def test_the_generated_asset_staging_model_agrees_with_the_mappings() -> None:
    committed = (kind_models.assets_path()).read_text(encoding="utf-8")
    assert committed == kind_models.render_assets(), (
        "regenerate: .venv/bin/python -c 'from estelam.contracts.kind_models import write_staging; write_staging()'")
    assert "-- social_security: feed employments" in committed  # the salary: an asset kind by its mapping
    # ... which the freeze plan leaves: its mapping declares no freeze order operation
    salary = committed[committed.index("-- social_security"):]
    assert "false as can_freeze" in salary.split("union all")[0]


def test_agency_kind_is_a_name_and_equal_names_are_one_object() -> None:
    assert contracts.load_agency_registry().instance("bank_melli").kind is AgencyKind("bank")  # read from a file
    assert AgencyKind("tax_authority") is AgencyKind("tax_authority")
    # no kind is named in code: the bank, like every other kind, is its mapping's (the registry's to load)
    assert not any(isinstance(value, AgencyKind) for value in vars(AgencyKind).values())
    with pytest.raises(ValueError, match="not a valid AgencyKind"):
        AgencyKind("Tax Authority")


# --- guard rails ------------------------------------------------------------------------------------------


def test_an_unknown_kind_in_the_registry_is_refused_naming_the_file_and_line(tmp_path: Path) -> None:
    registry = tmp_path / "agencies.yaml"
    registry.write_text((FIXTURE / "agencies.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ContractError) as refused:  # no kinds/ folder here: tax_authority is not a loaded kind
        contracts.load_agency_registry(registry)
    line = line_of(registry, "kind: tax_authority")
    assert f"{registry}:{line}:" in str(refused.value)
    assert "'tax_authority'" in str(refused.value) and "not a loaded agency kind" in str(refused.value)


def test_the_fixture_kind_loads(fixture_contracts: Path) -> None:
    registry = contracts.load_agency_registry(fixture_contracts / "agencies.yaml")
    (instance,) = registry.instances
    assert instance.kind is AgencyKind("tax_authority") and instance.mapping_file


@pytest.mark.parametrize(("old", "new", "field", "says"), [
    ("operation: getTaxPayer", "operation: getTaxPayers", "inquiry.operation", "has no operation 'getTaxPayers'"),
    ("operation: lookupTaxPayers", "operation: lookup", "batch.operation", "has no operation 'lookup'"),
    ("  income_source: source", "  income_source: origin", "columns.income_source", "does not resolve"),
    ("  person_id: owner.code", "  person_id: owner.id", "columns.person_id", "does not resolve"),
    ("  income_source: source", "  income_source: taxYear", "columns.income_source", None),  # int -> string: fine
    ("  tax_year: taxYear", "  tax_year: source", "columns.tax_year", "types 'source' as string, which does not cast"),
    ("  filed_on: filedOn", "  filed_on: declaredRial", "columns.filed_on", "as int, which does not cast"),
    ("request: {nationalCode: $person_id}", "request: {code: $person_id}", "inquiry.request.code",
     "has no request field 'code'"),
    ("request: {ref: $request_id, codes: $person_ids}", "request: {ref: $person_ids, codes: $person_ids}",
     "batch.request.ref", "takes one value"),
    ("  records: incomes\n", "  records: income\n", "inquiry.records", "does not resolve"),
    ("  declared_rial: declaredRial\n", "  declared_rial: declaredRial\n  salary_rial: declaredRial\n",
     "columns.salary_rial", "has no column 'salary_rial'"),
    ("  declared_rial: declaredRial\n", "", "columns", "requires ['declared_rial']"),
])
def test_a_mapping_that_does_not_fit_its_interface_or_feed_is_refused_naming_file_line_and_field(
        fixture_contracts: Path, old: str, new: str, field: str, says: str | None) -> None:
    path = _break(fixture_contracts, old, new)
    if field == "columns":  # a required column left out: and its label with it
        label = "      declared_rial: {fa: درآمد اظهارشده, ar: الدخل المصرح به, en: Declared income}\n"
        _break(fixture_contracts, label, "")
    if says is None:
        contracts.load_agency_registry(fixture_contracts / "agencies.yaml")
        return
    with pytest.raises(MappingError) as refused:
        contracts.load_agency_registry(fixture_contracts / "agencies.yaml")
    error = refused.value
    assert error.path == path and error.field == field, str(error)
    assert says in str(error)
    assert re.match(rf"^{re.escape(str(path))}:{error.line}: {re.escape(field)}: ", str(error))
    if field.startswith("columns."):  # the line of the very column
        column = field.removeprefix("columns.")
        assert error.line == line_of(path, f"  {column}:", after="columns:"), str(error)
    else:
        assert error.line > 0


def _break_assets(contracts_dir: Path, old: str, new: str) -> Path:
    path = contracts_dir / "kinds" / "crypto_exchange.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_the_fixture_asset_kind_loads(fixture_contracts: Path) -> None:
    registry = contracts.load_agency_registry(fixture_contracts / "agencies.yaml")
    mapping = registry.kinds[AgencyKind("crypto_exchange")].mapping
    assert mapping is not None and mapping.assets is not None and mapping.facts is None
    assert (mapping.assets.asset_kind, mapping.assets.value, mapping.assets.liquidity_rank) == (
        "crypto_wallet", "value_rial", 2)
    assert mapping.assets.protected_when is not None and mapping.assets.protected_when.values == ("escrow",)
    assert mapping.assets.label["en"] == "crypto wallet"


@pytest.mark.parametrize(("old", "new", "field", "says"), [
    ("    value: value_rial", "    value: coin", "contributes.assets.value", "must be an int64 column"),
    ("    asset_ref: wallet_id", "    asset_ref: wallet", "contributes.assets.asset_ref", "a column the mapping"),
    ("    asset_kind: crypto_wallet", "    asset_kind: bank_account", "contributes.assets.asset_kind",
     "a name of its own"),
    ("    liquidity_rank: 2", "    liquidity_rank: first", "contributes.assets.liquidity_rank", "whole number"),
    ("{column: wallet_kind,", "{column: kind,", "contributes.assets.protected_when", "a column the mapping"),
    ("    label: {fa: کیف پول رمزارز, ", "    label: {", "contributes.assets.label", "exactly the languages"),
    ("    detail: coin", "    details: coin", "contributes.assets.details", "unknown field"),
])
def test_an_asset_contribution_that_does_not_fit_is_refused_naming_file_line_and_field(
        fixture_contracts: Path, old: str, new: str, field: str, says: str) -> None:
    path = _break_assets(fixture_contracts, old, new)
    with pytest.raises(MappingError) as refused:
        contracts.load_agency_registry(fixture_contracts / "agencies.yaml")
    error = refused.value
    assert error.path == path and error.field == field, str(error)
    assert says in str(error) and error.line == line_of(path, new.strip()), str(error)
    assert str(error).startswith(f"{path}:{error.line}: {field}: ")


# --- restriction types: a freeze's $restriction, declared by contributes.assets.restrictions -------------------


@pytest.fixture
def project_contracts(tmp_path: Path) -> Path:
    """A copy of the project's contracts, to break."""
    shutil.copytree(PROJECT_CONTRACTS, tmp_path / "contracts")
    return tmp_path / "contracts"


#: (kind, text in its mapping, what replaces it, the field refused, what the refusal says, the line it names)
ASSET_GUARD_RAILS = [
    ("securities_depository", "symbol: $asset_ref.symbol,\n              amountRial: $amount_rial}",
     "symbol: $asset_ref.symbol,\n              amountRial: $amount_rial, restrictionType: $restriction}",
     "orders.freeze.request.restrictionType", "declares no restriction types", "restrictionType: $restriction"),
    ("securities_depository", "holderId: $asset_ref.person_id,", "holderId: $asset_ref.person_id, kind: $restrictions,",
     "orders.freeze.request.kind", "is not one of", "kind: $restrictions"),
    ("securities_depository", "    liquidity_rank: 2\n",
     "    liquidity_rank: 2\n    restrictions: [transfer, towing]\n", "contributes.assets.restrictions",
     "['towing'] are not restriction types the hub orders", "restrictions:"),
    ("securities_depository", "    liquidity_rank: 2\n", "    liquidity_rank: 2\n    restriction_default: transfer\n",
     "contributes.assets.restriction_default", "a default of no restrictions", "restriction_default:"),
    # a detail's value labels: every language, and only for a detail that is one column
    ("bank", "salary: {fa: حقوق, ar: راتب, en: salary}", "salary: {fa: حقوق, en: salary}",
     "contributes.assets.detail_labels.salary", "needs exactly the languages", "salary: {fa: حقوق, en: salary}"),
    ("securities_depository", "    liquidity_rank: 2\n",
     "    liquidity_rank: 2\n    detail_labels: {blocked: {fa: مسدود, ar: محجوز, en: blocked}}\n",
     "contributes.assets.detail_labels", "a detail that is one column", "detail_labels:"),
]


@pytest.mark.parametrize(("kind", "old", "new", "field", "says", "at"), ASSET_GUARD_RAILS)
def test_a_restriction_or_detail_label_that_does_not_fit_is_refused_naming_file_line_and_field(
        project_contracts: Path, kind: str, old: str, new: str, field: str, says: str, at: str) -> None:
    path = project_contracts / "kinds" / f"{kind}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(MappingError) as refused:
        contracts.load_agency_registry(project_contracts / "agencies.yaml")
    error = refused.value
    assert error.path == path and error.field == field, str(error)
    assert says in str(error) and error.line == line_of(path, at), str(error)
    assert str(error).startswith(f"{path}:{error.line}: {field}: ")


PAYOUT = """  payout:
    operation: blockWallet
    request: {walletId: $asset_ref, orderRef: $order_id, courtCase: $case_id, rialAmount: $amount_rial}
    status: outcome
    amount: result.movedRial
    frozen_total: result.heldRial
"""
EXCHANGE = """  - agency_id: coin_exchange
    kind: crypto_exchange
    name: Coin exchange
    iban_bank_code: "055"
    endpoint: http://127.0.0.1:2
"""


def test_a_kind_of_iban_accounts_names_bank_codes_holds_the_court_account_and_pays_out(
        fixture_contracts: Path) -> None:
    """``iban_accounts: true``: the kind's instances name their IBANs' bank code, the court's account is at one of
    them, and its mapping may declare the payout (the creditor's IBAN as ``$asset_ref``)."""
    _break_assets(fixture_contracts, "    owner_name: holder_name\n", "    owner_name: holder_name\n"
                                                                       "    iban_accounts: true\n")
    _break_assets(fixture_contracts, "contributes:\n", PAYOUT + "contributes:\n")
    registry_file = fixture_contracts / "agencies.yaml"
    court = "court_account: {agency_id: coin_exchange, iban: IR380170000000100000000001}\n"
    registry_file.write_text(court + registry_file.read_text(encoding="utf-8") + EXCHANGE, encoding="utf-8")
    registry = contracts.load_agency_registry(registry_file)
    exchange = registry.instance("coin_exchange")
    mapping = registry.kinds[exchange.kind].mapping
    assert mapping is not None and mapping.assets is not None and mapping.assets.iban_accounts
    assert exchange.iban_bank_code == "055" and "payout" in mapping.orders
    assert contracts.load_court_account(registry_file) == contracts.CourtAccount("coin_exchange",
                                                                                 "IR380170000000100000000001")


def test_a_bank_code_or_the_court_account_is_refused_on_a_kind_without_iban_accounts(fixture_contracts: Path) -> None:
    registry_file = fixture_contracts / "agencies.yaml"
    text = registry_file.read_text(encoding="utf-8")
    registry_file.write_text(text + EXCHANGE, encoding="utf-8")
    with pytest.raises(ContractError, match=r"iban_bank_code '055' must be 3 digits .* on a bank"):
        contracts.load_agency_registry(registry_file)
    court = "court_account: {agency_id: coin_exchange, iban: IR380170000000100000000001}\n"
    registry_file.write_text(court + text + EXCHANGE.replace('    iban_bank_code: "055"\n', ""), encoding="utf-8")
    with pytest.raises(ContractError, match="is a crypto_exchange, not a bank"):
        contracts.load_court_account(registry_file)


@pytest.mark.parametrize(("old", "new", "field", "says"), [
    ("    owner_name: holder_name\n", "    owner_name: holder_name\n    iban_accounts: yes please\n",
     "contributes.assets.iban_accounts", "true or false"),
    ("    asset_ref: wallet_id\n", "    asset_ref: [wallet_id, coin]\n    iban_accounts: true\n",
     "contributes.assets.iban_accounts", "must be one column"),
    ("contributes:\n", PAYOUT + "contributes:\n", "orders.payout", "only a kind whose contributes.assets says"),
])
def test_iban_accounts_and_the_payout_that_do_not_fit_are_refused_naming_file_line_and_field(
        fixture_contracts: Path, old: str, new: str, field: str, says: str) -> None:
    path = _break_assets(fixture_contracts, old, new)
    with pytest.raises(MappingError) as refused:
        contracts.load_agency_registry(fixture_contracts / "agencies.yaml")
    error = refused.value
    assert error.path == path and error.field == field, str(error)
    assert says in str(error) and str(error).startswith(f"{path}:{error.line}: {field}: ")
    key = "  payout:" if field == "orders.payout" else "iban_accounts:"
    assert error.line == line_of(path, key), str(error)


# --- a kind from files alone, a round against its generated simulator ----------------------------------------


def test_a_kind_added_from_an_interface_file_and_a_mapping_runs_a_round(
        fixture_contracts: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path_factory.mktemp("tax-round")
    override(monkeypatch, contracts_dir=fixture_contracts, data_dir=data)
    registry = contracts.load_agency_registry()
    (instance,) = registry.instances
    mapping = mapping_at(Path(str(instance.mapping_file)))
    world = generate(registry.instances, n_persons=40, n_cases=2)
    world_data = load_kind_world(FIXTURE / "world_data" / "tax_authority.yaml")
    app = mapped_application(AgencyState(instance, []), mapping, world, None, world_data=world_data)
    targets = [InquiryTarget(p.person_id, None) for p in world.persons]
    with RunningServer(app) as server:
        bound = replace(instance, endpoint=server.url)
        client = wire_client_for(bound, credentials=None)
        assert client.max_batch_size == 25  # the OpenAPI file's maxItems
        summary = run_round(bound, targets, round_id="tax-1", today=date(2026, 11, 2), inquiry_batch_size=10,
                            client=client)
        client.close()
    expected = {p.person_id: records_of(world, world_data, instance.agency_id, p.person_id) for p in world.persons}
    known = {p: rows for p, rows in expected.items() if rows}
    assert summary.sent == len(targets) and summary.answered == len(targets), summary
    assert summary.calls == 4  # 40 persons, 10 a call
    landed = read_landed("tax_incomes")
    assert summary.assets_landed == len(landed) == sum(len(r) for r in known.values()) > 0
    got = {(r["person_id"], r["tax_year"], r["income_source"], r["declared_rial"], r["filed_on"]) for r in landed}
    want = {(p, r["tax_year"], r["income_source"], r["declared_rial"], r["filed_on"])
            for p, rows in known.items() for r in rows}
    assert got == want
    log = read_landed("inquiries")
    assert {r["status"] for r in log} == {str(InquiryStatus.ANSWERED)}
    assert {r["agency_kind"] for r in log} == {"tax_authority"}
    # and one by one, through the single inquiry: an unknown person has no records, a known one all of theirs
    with RunningServer(app) as server:
        client = wire_client_for(replace(instance, endpoint=server.url), credentials=None)
        unknown = next(p for p, rows in expected.items() if rows is None)
        assert client.inquire(unknown, "one").assets == ()
        person, rows = next(iter(known.items()))
        assert len(client.inquire(person, "two").assets) == len(rows)
        client.close()


# --- a kind from a real published interface: the EU's VIES checkVatService WSDL ------------------------------


def test_the_vies_wsdl_is_the_commissions_unmodified() -> None:
    import hashlib

    wsdl = (PROJECT_CONTRACTS / "kinds" / "eu_vies.wsdl").read_bytes()
    assert hashlib.sha256(wsdl).hexdigest() == "abc3d3024711050a78957322543ff1d36e083e92f3fe5c28043df6f837a30382"
    assert b'<wsdl:operation name="checkVat">' in wsdl


def test_vies_is_asked_through_its_own_wsdl_by_configuration_alone(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    override(monkeypatch, data_dir=tmp_path)
    registry = contracts.load_agency_registry()
    instance = registry.instance("eu_vies")
    assert instance.kind is AgencyKind("eu_vies")
    mapping = mapping_at(Path(str(instance.mapping_file)))
    world = generate(registry.instances, n_persons=60, n_cases=2)
    app = mapped_application(AgencyState(instance, []), mapping, world, None)
    data = load_kind_world(PROJECT_CONTRACTS.parent / "simulators" / "world_data" / "eu_vies.yaml")
    expected = {p.person_id: records_of(world, data, instance.agency_id, p.person_id) for p in world.persons}
    with RunningServer(app) as server:
        bound = replace(instance, endpoint=server.url)
        client = wire_client_for(bound, credentials=None)
        assert client.max_batch_size == 1  # checkVat has no batch twin: person by person
        summary = run_round(bound, [InquiryTarget(p, None) for p in expected], round_id="vies-1",
                            today=date(2026, 11, 2), client=client)
        client.close()
    assert summary.answered == len(expected) and summary.calls == len(expected), summary
    landed = {r["person_id"]: r for r in read_landed("vat_registrations")}
    assert set(landed) == {p for p, rows in expected.items() if rows}  # valid=false: no record, still answered
    row = next(iter(landed.values()))
    assert row["country_code"] == "DE" and row["trader_address"] and row["responded_at"].hour == 0
