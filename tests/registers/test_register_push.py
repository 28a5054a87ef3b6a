"""Registers pushed to the agencies that receive them: the police get the fugitive-convicts register's additions
and removals, the central bank its feed's changes; each push acknowledged and landed, a rerun sends nothing
twice, a failing agency is retried on the next run and every attempt ends recorded. The agencies are simulators
on loopback built from their contracts."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from estelam.access.audit import AuditLog
from estelam.access.message_log import MessageLog
from estelam.access.record import Record
from estelam.contracts.registry import Receiver, load_receivers
from estelam.ingest.landing import read_landed
from estelam.registers.push import push_register, push_registers
from simulators.register_receiver import RegisterReceiver
from simulators.server import RunningServer
from tests.registers import register_world
from tests.settings_support import override

POLICE_TOKEN, BANK_TOKEN = "t-hub-to-police", "t-hub-to-cbi"
CAUGHT, PAID = "0012345678", "0023456789"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    override(monkeypatch, data_dir=tmp_path)
    monkeypatch.setenv("ESTELAM_CRED_POLICE", POLICE_TOKEN)
    monkeypatch.setenv("ESTELAM_CRED_CENTRAL_BANK", BANK_TOKEN)
    register_world.build(tmp_path)
    return tmp_path


@pytest.fixture
def record(data_dir: Path) -> Record:
    return Record(audit=AuditLog(data_dir / "audit" / "audit.jsonl"), messages=MessageLog(data_dir / "messages"))


def _receiver(agency_id: str) -> Receiver:
    (found,) = [r for r in load_receivers() if r.agency_id == agency_id]
    return found


@pytest.fixture
def police(data_dir: Path) -> Iterator[tuple[RegisterReceiver, Receiver]]:
    receiver = _receiver("police")
    agency = RegisterReceiver(receiver.contract, token=POLICE_TOKEN)
    with RunningServer(agency) as server:
        yield agency, dataclasses.replace(receiver, endpoint=server.url)


@pytest.fixture
def bank(data_dir: Path) -> Iterator[tuple[RegisterReceiver, Receiver]]:
    receiver = _receiver("central_bank")
    agency = RegisterReceiver(receiver.contract, token=BANK_TOKEN)
    with RunningServer(agency) as server:
        yield agency, dataclasses.replace(receiver, endpoint=server.url)


def _pushes(agency_id: str) -> list[dict[str, object]]:
    return [dict(r) for r in read_landed("register_pushes") if r["receiver_id"] == agency_id]


def test_the_police_receive_additions_then_removals_once(police: tuple[RegisterReceiver, Receiver],
                                                         record: Record, data_dir: Path) -> None:
    agency, receiver = police
    first = push_register(receiver, batch_id="run-1", record=record)
    assert (first.notices, first.acknowledged, first.failed) == (3, 3, 0)
    assert set(agency.held) == set(register_world.FUGITIVES)
    assert agency.held[CAUGHT]["case_id"] == "1405-000011" and agency.held[CAUGHT]["court_code"] == "THR-01"
    assert {r["state"] for r in _pushes("police")} == {"acknowledged"}
    assert all(r["receipt_id"] and r["message_id"] for r in _pushes("police"))

    calls = agency.calls
    assert push_register(receiver, batch_id="run-2", record=record).notices == 0  # nothing changed: nothing sent
    assert agency.calls == calls

    register_world.apprehend(data_dir, CAUGHT)  # case events: one caught, one paid in full
    register_world.pay(data_dir, PAID)
    second = push_register(receiver, batch_id="run-3", record=record)
    assert (second.notices, second.acknowledged) == (2, 2)
    removals = {n["person_id"]: n["reason"] for n in agency.received if n["change"] == "removed"}
    assert removals == {CAUGHT: "apprehended", PAID: "paid"}
    assert set(agency.held) == set(register_world.FUGITIVES) - {CAUGHT, PAID}
    assert push_register(receiver, batch_id="run-4", record=record).notices == 0
    assert len(agency.received) == 5  # three additions, two removals: nothing twice

    logged = [m for m in record.messages.messages() if m.agency_id == "police"]
    assert {m.operation for m in logged} == {"pushNotices"} and len({m.message_id for m in logged}) == 2
    audited = [e for e in record.audit.entries() if e.detail.get("agency_id") == "police"]
    assert sorted(e.person_id or "" for e in audited) == sorted([*register_world.FUGITIVES, CAUGHT, PAID])


def test_a_failing_police_endpoint_is_retried_and_every_attempt_recorded(
        police: tuple[RegisterReceiver, Receiver], record: Record) -> None:
    agency, receiver = police
    agency.fail_next = 1
    failed = push_register(receiver, batch_id="run-1", record=record)
    assert (failed.notices, failed.acknowledged, failed.failed) == (3, 0, 3)
    assert all("503" in reason for reason in failed.failures.values())
    assert agency.received == []
    rows = _pushes("police")
    assert {(r["state"], "503" in str(r["failure"])) for r in rows} == {("failed", True)}

    retried = push_register(receiver, batch_id="run-2", record=record)
    assert (retried.notices, retried.acknowledged) == (3, 3)
    assert set(retried.failures) == set()
    assert {r["push_id"] for r in _pushes("police") if r["state"] == "failed"} == \
           {r["push_id"] for r in _pushes("police") if r["state"] == "acknowledged"}  # same keys, sent again
    assert len(agency.received) == 3


def test_an_unreachable_police_endpoint_ends_failed_with_the_reason(data_dir: Path, record: Record) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    receiver = dataclasses.replace(_receiver("police"), endpoint=f"http://127.0.0.1:{port}", timeout_s=2)
    summary = push_register(receiver, batch_id="run-1", record=record)
    assert summary.failed == 3 and all("ConnectError" in r for r in summary.failures.values())
    assert {r["state"] for r in _pushes("police")} == {"failed"}


def test_a_token_the_agency_does_not_accept_ends_failed(police: tuple[RegisterReceiver, Receiver],
                                                        record: Record, monkeypatch: pytest.MonkeyPatch) -> None:
    agency, receiver = police
    monkeypatch.setenv("ESTELAM_CRED_POLICE", "wrong")
    summary = push_register(receiver, batch_id="run-1", record=record)
    assert summary.failed == 3 and all("401" in r for r in summary.failures.values())
    assert agency.received == []


def test_the_central_bank_receives_the_feed_incrementally(bank: tuple[RegisterReceiver, Receiver],
                                                          record: Record, data_dir: Path) -> None:
    agency, receiver = bank
    assert push_register(receiver, batch_id="run-1", record=record).acknowledged == 3
    assert agency.held[PAID]["status"] == "listed"
    assert push_register(receiver, batch_id="run-2", record=record).notices == 0

    register_world.pay(data_dir, PAID)
    changed = push_register(receiver, batch_id="run-3", record=record)
    assert changed.notices == 1 and agency.received[-1]["change"] == "updated"
    assert agency.held[PAID]["status"] == "satisfied" and agency.held[PAID]["outstanding_rial"] == 0

    with duckdb.connect(str(data_dir / "warehouse.duckdb")) as con:  # the listing expired: off the feed
        con.execute("delete from central_bank_feed where person_id = ?", [CAUGHT])
    removed = push_register(receiver, batch_id="run-4", record=record)
    assert removed.notices == 1 and agency.received[-1] == {
        **agency.received[-1], "change": "removed", "person_id": CAUGHT, "reason": "delisted"}
    assert CAUGHT not in agency.held
    assert push_register(receiver, batch_id="run-5", record=record).notices == 0
    assert len(agency.received) == 5
    assert {r["state"] for r in _pushes("central_bank")} == {"acknowledged"}


def test_one_run_pushes_every_receiver_of_the_registry_at_its_configured_endpoint(
        police: tuple[RegisterReceiver, Receiver], bank: tuple[RegisterReceiver, Receiver], data_dir: Path,
        record: Record, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the register_push DAG's task runs: the registry's receivers, their endpoints from the endpoints file."""
    endpoints = data_dir / "endpoints.json"
    endpoints.write_text(json.dumps({"police": police[1].endpoint, "central_bank": bank[1].endpoint}))
    override(monkeypatch, endpoints_file=endpoints)
    summaries = push_registers("run-1", record=record)
    assert {s.receiver_id: (s.notices, s.acknowledged) for s in summaries} == {"police": (3, 3),
                                                                                "central_bank": (3, 3)}
    assert set(police[0].held) == set(bank[0].held) == set(register_world.FUGITIVES)
    assert [s.notices for s in push_registers("run-2", record=record)] == [0, 0]
