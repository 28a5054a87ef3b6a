"""Per-agency breakers and rate limits shared by every caller: in the process by default, across processes and
hosts through Redis."""

from __future__ import annotations

import dataclasses
import multiprocessing
import secrets
import socket
import time
from collections.abc import Iterator

import pytest

from connectors import client_for
from connectors.resilience import BreakerState
from connectors.shared_state import RedisState, shared_state
from estelam.contracts.registry import load_agency_registry
from estelam.core.exceptions import AgencyUnavailable

LOOPBACK = "127.0.0.1"
REDIS_PORT = 6379


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])  # closed again when the block ends: nothing listens there


def _down_bank(agency_id: str) -> object:
    bank = load_agency_registry().instance("bank_melli")
    return dataclasses.replace(bank, agency_id=agency_id, endpoint=f"http://{LOOPBACK}:{_closed_port()}",
                               reply_deadline_s=3.0, rate_limit_per_s=None)


def test_every_client_of_a_process_shares_the_agencys_breaker() -> None:
    """Clients built per task or per request no longer start with a closed circuit each."""
    instance = _down_bank("bank_down_in_process")
    first = client_for(instance)  # type: ignore[arg-type]
    for _ in range(3):  # 3 attempts per call: the fifth consecutive failure opens the circuit
        with pytest.raises(AgencyUnavailable):
            first.inquire("0012345679", "r")
    assert first.breaker.state is BreakerState.OPEN
    second = client_for(instance)  # type: ignore[arg-type]  # a new task or request: the same circuit
    started = time.perf_counter()
    with pytest.raises(AgencyUnavailable, match="circuit open"):
        second.inquire("0012345679", "r2")
    assert time.perf_counter() - started < 0.1 and second.last_attempts == 0


@pytest.fixture
def redis_url() -> Iterator[str]:
    with socket.socket() as probe:
        probe.settimeout(1)
        if probe.connect_ex((LOOPBACK, REDIS_PORT)) != 0:
            pytest.skip("no Redis on 127.0.0.1:6379")
    yield f"redis://{LOOPBACK}:{REDIS_PORT}/14"


def test_a_breaker_opened_in_one_process_is_open_in_another(redis_url: str) -> None:
    agency = f"bank_{secrets.token_hex(4)}"
    here, elsewhere = RedisState(redis_url), RedisState(redis_url)  # two connections: two processes' view
    breaker = here.breaker(agency)
    for _ in range(5):
        breaker.record_failure()
    assert elsewhere.breaker(agency).state is BreakerState.OPEN
    with pytest.raises(AgencyUnavailable, match="shared by every caller"):
        elsewhere.breaker(agency).admit("inquire", "r")
    elsewhere.breaker(agency).record_success()  # an answer anywhere closes it everywhere
    assert here.breaker(agency).state is BreakerState.CLOSED


def _draw(url: str, agency: str, calls: int, done: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    bucket = RedisState(url).bucket(agency, 10.0)
    for _ in range(calls):
        time.sleep(bucket.reserve())
    done.put(time.time())


def test_the_rate_limit_holds_for_the_sum_of_processes(redis_url: str) -> None:
    """Two processes, 15 calls each, against an agency that takes 10 per second (burst 10): at least 2 s."""
    agency = f"bank_{secrets.token_hex(4)}"
    context = multiprocessing.get_context("spawn")
    done: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    workers = [context.Process(target=_draw, args=(redis_url, agency, 15, done)) for _ in range(2)]
    started = time.time()
    for worker in workers:
        worker.start()
    finished = [done.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(10)
    # 30 calls at 10/s with a burst of 10: the last cannot start before (30 - 10) / 10 = 2 s
    assert max(finished) - started >= 1.9


def test_an_unreachable_store_leaves_each_process_its_own_breaker() -> None:
    state = shared_state(f"redis://{LOOPBACK}:{_closed_port()}/0")
    breaker = state.breaker("bank_store_down")
    breaker.admit("inquire", "r")  # no exception: the call goes ahead
    for _ in range(5):
        breaker.record_failure()
    with pytest.raises(AgencyUnavailable, match="circuit open"):
        breaker.admit("inquire", "r")  # the process's own breaker opened
    assert state.bucket("bank_store_down", 5.0).reserve() == 0.0
