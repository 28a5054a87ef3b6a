"""A new agency instance that speaks an existing contract is configuration only: a 31st bank and a
second land registry (kinds declared by their mappings), added by a registry file, are simulated, found and inquired
through ``client_for``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from connectors import client_for
from estelam.contracts.registry import load_agency_registry
from estelam.core import settings
from estelam.core.domain import AgencyKind, FeedRecord, InquiryAnswer
from estelam.core.exceptions import ContractError
from estelam.core.identifiers import is_iban
from simulators.fleet import Fleet
from simulators.world import generate
from tests.mapping_support import drawn_assets
from tests.settings_support import override

NEW_AGENCIES = """
  - agency_id: bank_kosar
    kind: bank
    name: Kosar Credit Institution
    name_fa: موسسه اعتباری کوثر
    iban_bank_code: "073"
    endpoint: http://127.0.0.1:18131
    reply_deadline_s: 20
    rate_limit_per_s: 30
    credentials: env:ESTELAM_CRED_BANK_KOSAR
  - agency_id: land_registry_khorasan
    kind: land_registry
    name: Khorasan Razavi Deeds and Properties Registry
    name_fa: اداره کل ثبت اسناد و املاک خراسان رضوی
    endpoint: http://127.0.0.1:18402
    reply_deadline_s: 30
    credentials: env:ESTELAM_CRED_LAND_REGISTRY_KHORASAN
"""


@pytest.fixture
def extended_contracts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A contracts folder whose registry is the project's plus two instances; the contract files are shared."""
    project = settings.contracts_dir()
    for folder in ("agencies", "feeds", "kinds"):
        (tmp_path / folder).symlink_to(project / folder, target_is_directory=True)
    registry = (project / "agencies.yaml").read_text(encoding="utf-8").rstrip("\n") + "\n" + NEW_AGENCIES
    (tmp_path / "agencies.yaml").write_text(registry, encoding="utf-8")
    override(monkeypatch, contracts_dir=tmp_path)
    return tmp_path


def test_a_31st_bank_and_a_second_land_registry_are_configuration_only(
        extended_contracts: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    registry = load_agency_registry()
    assert len(registry.of_kind(AgencyKind("bank"))) == 31
    assert len(registry.of_kind(AgencyKind("land_registry"))) == 2
    world = generate(registry.instances, n_persons=300, n_cases=5, dirty_share=0.0)
    kosar = drawn_assets(world, registry.instance("bank_kosar"))  # the generated simulators'
    khorasan = drawn_assets(world, registry.instance("land_registry_khorasan"))
    assert kosar and khorasan
    assert all(iban[4:7] == "073" and is_iban(iban) for _, iban, _ in kosar)  # the registry's bank code

    with Fleet.start(registry, world) as fleet:
        endpoints = fleet.write_endpoints(tmp_path_factory.mktemp("run") / "endpoints.json")
        override(monkeypatch, endpoints_file=endpoints)
        found = load_agency_registry()  # the normal path: registry + endpoints file
        holder, _, account = kosar[0]
        landowner, _, parcel = khorasan[0]
        for agency_id, owner, asset in (("bank_kosar", holder, FeedRecord(holder, account)),
                                        ("land_registry_khorasan", landowner, FeedRecord(landowner, parcel))):
            instance = found.instance(agency_id)
            assert instance.endpoint == fleet.endpoints[agency_id]
            client = client_for(instance)
            try:
                answer = client.inquire(owner, f"new-{agency_id}")
                batch = client.inquire_batch([owner, world.persons[0].person_id], f"new-batch-{agency_id}")
            finally:
                client.close()
            assert asset in answer.assets
            assert isinstance(batch[owner], InquiryAnswer) and batch[owner].assets == answer.assets
            assert all(type(a) is type(asset) for a in answer.assets)
        # the new bank's generated simulator serves its WSDL at the address it really listens at
        wsdl = httpx.get(f"{fleet.endpoints['bank_kosar']}/soap", params={"wsdl": ""}, timeout=10)
        assert f'location="{fleet.endpoints["bank_kosar"]}/soap"'.encode() in wsdl.content


def test_a_registry_entry_that_breaks_the_rules_is_refused(extended_contracts: Path) -> None:
    path = extended_contracts / "agencies.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    cases = {
        "iban_bank_code 017 is already bank_melli's": {"iban_bank_code": "017"},
        "must be 'env:VARIABLE' or 'file:PATH'": {"credentials": "vault:bank_kosar"},
        "rate_limit_per_s must be positive": {"rate_limit_per_s": 0},
        "tls takes only": {"tls": {"ca": "x.pem"}},
    }
    for message, change in cases.items():
        broken = dict(raw)
        broken["instances"] = [*raw["instances"][:-2], {**raw["instances"][-2], **change}]
        path.write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
        with pytest.raises(ContractError, match=message):
            load_agency_registry()


def test_a_kind_declared_in_the_registry_file_and_not_by_a_mapping_is_refused(extended_contracts: Path) -> None:
    path = extended_contracts / "agencies.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["kinds"] = {"tax_office": {"protocol": "rest", "contract": "tax.yaml", "answer_feed": "tax_records"}}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContractError, match=r"\['tax_office'\] are declared in a kinds section; every kind is a "
                                            r"mapping file in .*kinds"):
        load_agency_registry()
