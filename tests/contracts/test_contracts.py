"""The contracts are the single source of truth: they parse, and they are consistent."""

from pathlib import Path

import pyarrow as pa
import pytest

from estelam.contracts import registry as contracts
from estelam.core import settings
from estelam.core.domain import Protocol
from estelam.core.exceptions import ContractError
from tests.settings_support import override

EXPECTED_FEEDS = {
    "case_events", "inquiries",
    "freeze_orders", "freeze_acknowledgements", "case_directives", "debtor_notifications", "message_log",
    "register_pushes",
    "notification_deliveries", "alerts",
}


def test_every_feed_has_a_contract_with_a_primary_key() -> None:
    feeds = contracts.feeds()
    mapped = {k.answer_feed for k in contracts.load_agency_registry().kinds.values() if k.mapping is not None}
    assert set(feeds) - mapped == EXPECTED_FEEDS  # the feeds of kinds declared by mapping files come with them
    for feed in feeds.values():
        assert feed.primary_key
        schema = feed.arrow_schema()
        assert schema.names == feed.column_names
        for col in feed.columns:
            assert col.description, f"{feed.feed}.{col.name} has no description"


def test_money_is_integer_and_time_is_utc() -> None:
    for feed in contracts.feeds().values():
        for col in feed.columns:
            if col.name.endswith("_rial"):
                assert col.arrow_type == pa.int64(), f"{feed.feed}.{col.name}"
            if col.name.endswith("_at"):
                assert col.arrow_type == pa.timestamp("us", tz="UTC"), f"{feed.feed}.{col.name}"


def test_agency_registry_names_a_contract_file_for_every_instance() -> None:
    registry = contracts.load_agency_registry()
    assert {i.kind for i in registry.instances} == set(registry.kinds)
    kinds_dir = settings.contracts_dir() / "kinds"
    assert all(kc.mapping.source == kinds_dir / f"{kind}.yaml" for kind, kc in registry.kinds.items())  # its file's
    assert len(contracts.iban_account_holders(registry.instances)) >= 3
    for instance in registry.instances:
        assert registry.contract_path(instance).is_file(), instance.contract
        assert registry.kinds[instance.kind].answer_feed in contracts.feeds()
        expected = ".wsdl" if instance.protocol is Protocol.SOAP else ".openapi.yaml"
        assert instance.contract.endswith(expected)


def test_the_registry_declares_thirty_banks_and_every_instance_fully() -> None:
    registry = contracts.load_agency_registry()
    banks = contracts.iban_account_holders(registry.instances)
    assert len(banks) == 30
    codes = [b.iban_bank_code for b in banks]
    assert all(c is not None and len(c) == 3 and c.isdigit() for c in codes)
    assert len(set(codes)) == len(codes)  # an IBAN's bank code says which bank holds the account
    assert registry.instance("bank_melli").iban_bank_code == "017"
    assert len({i.endpoint for i in registry.instances}) == len(registry.instances)
    for instance in registry.instances:
        assert instance.endpoint.startswith("http://127.0.0.1:")
        assert instance.reply_deadline_s > 0 and instance.timeout_s > 0
        assert instance.rate_limit_per_s and instance.rate_limit_per_s > 0
        assert instance.credentials and instance.name_fa
        assert (instance.iban_bank_code is not None) == contracts.holds_iban_accounts(registry.kinds[instance.kind])


def test_endpoint_overrides_come_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text('{"bank_melli": "http://127.0.0.1:9999/"}')
    override(monkeypatch, endpoints_file=endpoints)
    assert contracts.load_agency_registry().instance("bank_melli").endpoint == "http://127.0.0.1:9999"


def test_broken_feed_contract_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("feed: broken\nprimary_key: [id]\ncolumns:\n  - {name: id, type: money}\n")
    with pytest.raises(ContractError, match="needs a name and a type"):
        contracts.load_feed(bad)


def test_unknown_agency_is_a_contract_error() -> None:
    with pytest.raises(ContractError, match="not in the agency registry"):
        contracts.load_agency_registry().instance("bank_of_atlantis")


def test_every_receiver_names_a_register_it_can_push_and_a_contract_with_its_operation() -> None:
    from connectors.register_push import push_operation
    from estelam.registers.push import SOURCES

    receivers = contracts.load_receivers()
    assert {r.agency_id: r.register for r in receivers} == {"police": "fugitives", "central_bank": "central_bank_feed"}
    for receiver in receivers:
        assert receiver.register in SOURCES
        assert push_operation(receiver.contract).max_items > 0
        assert receiver.endpoint.startswith("http://127.0.0.1:")
