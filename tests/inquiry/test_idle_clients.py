"""The clients an on-demand inquiry keeps for the next one: one inquiry at a time per client, a bounded number
kept per agency, none reused past its idle time, and none given back after an inquiry failed unexpectedly."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from estelam.contracts.registry import load_agency_registry
from estelam.core.domain import AgencyInstance
from estelam.inquiry import on_demand
from estelam.inquiry.on_demand import IdleClients


class FakeClient:
    built = 0

    def __init__(self) -> None:
        FakeClient.built += 1
        self.closed = False

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[FakeClient]:
    clients: list[FakeClient] = []

    def client_for(instance: object, *, shared: str | None = None) -> FakeClient:
        clients.append(FakeClient())
        return clients[-1]

    monkeypatch.setattr(on_demand, "client_for", client_for)
    return clients


def test_a_client_serves_one_inquiry_at_a_time_and_is_kept_for_the_next(built: list[FakeClient]) -> None:
    bank = load_agency_registry().instance("bank_melli")
    pool = IdleClients(per_agency=2)
    first, second = pool.take(bank), pool.take(bank)
    assert first is not second and len(built) == 2  # two inquiries at once: two clients
    for client in (first, second):
        pool.give_back(bank, client)
    assert {id(pool.take(bank)), id(pool.take(bank))} == {id(first), id(second)} and len(built) == 2
    third = pool.take(bank)
    for client in (first, second, third):
        pool.give_back(bank, client)
    assert [c.closed for c in built] == [False, False, True]  # at most two kept per agency
    # another endpoint is another agency for the pool: its own client
    moved = replace(bank, endpoint="http://127.0.0.1:9/soap")
    assert pool.take(moved) not in (first, second)
    pool.close()
    assert all(c.closed for c in built[:2])


def test_a_client_idle_too_long_is_closed_not_reused(built: list[FakeClient]) -> None:
    bank = load_agency_registry().instance("bank_melli")
    pool = IdleClients(max_idle_s=0.05)
    old = pool.take(bank)
    pool.give_back(bank, old)
    time.sleep(0.1)
    fresh = pool.take(bank)
    assert fresh is not old and old.closed and not fresh.closed


def test_a_client_in_use_when_an_inquiry_failed_unexpectedly_is_closed(built: list[FakeClient],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    bank = load_agency_registry().instance("bank_melli")
    pool = IdleClients()
    monkeypatch.setattr(on_demand, "CLIENTS", pool)

    def ask_batch(*args: object, **kwargs: object) -> object:
        raise RuntimeError("a bug in the middle of the inquiry")

    monkeypatch.setattr(on_demand, "ask_batch", ask_batch)
    with pytest.raises(RuntimeError):
        on_demand._ask_one(bank, on_demand.InquiryTarget("0012345679", None), "r-1", asking=None)  # type: ignore[arg-type]
    assert built[0].closed
    assert pool.take(bank) is not built[0]


def test_the_asking_threads_are_kept_and_a_forked_child_starts_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    first = on_demand._asking_threads()
    assert on_demand._asking_threads() is first
    monkeypatch.setattr(on_demand.os, "getpid", lambda: -1)  # as in a child forked from this process
    assert on_demand._asking_threads() is not first


def test_an_inquiry_failing_unexpectedly_leaves_none_of_its_agencies_being_asked(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tests.settings_support import override

    override(monkeypatch, data_dir=tmp_path)
    finished: list[str] = []

    def ask_one(instance: AgencyInstance, *args: object) -> object:
        agency_id = instance.agency_id
        if agency_id == "bank_melli":
            raise RuntimeError("a bug while asking bank_melli")
        time.sleep(0.3)
        finished.append(agency_id)
        raise RuntimeError("never landed")

    monkeypatch.setattr(on_demand, "_ask_one", ask_one)
    with pytest.raises(RuntimeError, match="a bug while asking bank_melli"):
        on_demand.inquire_person("0012345679", agencies=["bank_melli", "bank_mellat"])
    assert finished == ["bank_mellat"], "the error was raised while another agency was still being asked"
