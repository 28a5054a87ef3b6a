"""The agencies' HTTP (``connectors.agency_http``): the environment's proxy is used, and a stalled agency is hung up
on at the reply deadline by the caller's own thread, nothing left running."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors import client_for, resilience
from connectors.agency_http import proxy_for
from estelam.contracts.registry import load_agency_registry
from estelam.core.domain import AgencyInstance
from estelam.core.exceptions import AgencyDeadlineMissed
from estelam.core.kinds import mapping_at
from simulators.agency_state import AgencyState
from simulators.mapped_app import mapped_application
from simulators.server import Request, Response, RunningServer
from simulators.world import generate
from tests.mapping_support import drawn_assets

DEADLINE_S = 1.5
#: No resolver knows this name: an inquiry to it is answered only if it went through the proxy.
UNRESOLVABLE = "http://bank.agency.invalid:8080"
_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy",
                    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def no_proxy_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _bank(endpoint: str, **changes: object) -> AgencyInstance:
    found = load_agency_registry().instance("bank_melli")
    return dataclasses.replace(found, endpoint=endpoint, credentials=None, rate_limit_per_s=None, tls=None,
                               **changes)  # type: ignore[arg-type]


def test_the_proxy_the_environment_names_is_taken_unless_no_proxy_names_the_host(
        no_proxy_in_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert proxy_for("http://bank.example:8080/soap") is None
    monkeypatch.setenv("http_proxy", "http://proxy.court.example:3128")
    monkeypatch.setenv("no_proxy", "registry.example,.internal")
    assert proxy_for("http://bank.example:8080/soap") == "http://proxy.court.example:3128"
    assert proxy_for("https://bank.example/soap") is None  # https_proxy is not set
    assert proxy_for("http://registry.example/v1") is None
    assert proxy_for("http://land.internal/v1") is None


def test_an_inquiry_reaches_the_agency_through_the_proxy(no_proxy_in_env: None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    registry = load_agency_registry()
    world = generate(registry.instances, n_persons=120)
    bank = _bank(UNRESOLVABLE)
    owner = drawn_assets(world, bank)[0][0]
    simulator = mapped_application(AgencyState(bank, []), mapping_at(Path(str(bank.mapping_file))), world, None)
    hosts: list[str] = []

    def proxy(request: Request) -> Response:  # a forwarding proxy in front of the bank, which it serves itself
        hosts.append(request.headers.get("host", ""))
        return simulator(request)

    with RunningServer(proxy) as server:
        monkeypatch.setenv("http_proxy", server.url)
        client = client_for(bank)
        try:
            answer = client.inquire(owner, "via-proxy")
        finally:
            client.close()
    assert answer.assets and hosts == ["bank.agency.invalid:8080"]


@pytest.fixture
def stalled_agency() -> Iterator[tuple[str, threading.Event]]:
    """An agency that reads the request and never answers; the event is set when the hub hangs up."""
    hung_up = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(10)
            try:
                while connection.recv(65536):  # the request, then nothing until the hub closes its end
                    pass
            except OSError:
                pass
            hung_up.set()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", hung_up
    listener.close()
    server.join(5)


def test_a_stalled_agency_is_hung_up_on_at_the_deadline_by_the_callers_thread(
        no_proxy_in_env: None, stalled_agency: tuple[str, threading.Event]) -> None:
    endpoint, hung_up = stalled_agency
    client = client_for(_bank(endpoint, reply_deadline_s=DEADLINE_S, timeout_s=30.0))
    threads_before = resilience._ATTEMPT_THREADS._started
    started = time.monotonic()
    try:
        with pytest.raises(AgencyDeadlineMissed, match="reply deadline"):
            client.inquire("0012345679", "stalled")
        took = time.monotonic() - started
        # the connection was closed when the call ended, not when the agency's 30 s timeout would have
        assert hung_up.wait(1.0)
    finally:
        client.close()
    assert DEADLINE_S - 0.05 <= took <= DEADLINE_S + 0.5, took
    assert resilience._ATTEMPT_THREADS._started == threads_before  # no attempt thread: the caller's own
