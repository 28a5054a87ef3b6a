"""The reply deadline bounds the whole exchange: an agency trickling its answer a byte at a time (which never trips
a per-read timeout) ends ``deadline_missed`` at the deadline, not when it is done trickling."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from connectors import client_for
from estelam.contracts.registry import load_agency_registry
from estelam.core.exceptions import AgencyDeadlineMissed
from estelam.core.identifiers import iran_national_code_check_digit
from estelam.inquiry.rounds import InquiryTarget, run_round
from tests.settings_support import override

DEADLINE_S = 3.0
#: What the trickling agency sends, one byte per TRICKLE_S: headers first, so no read ever waits long.
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 400\r\n\r\n" + b" " * 400
TRICKLE_S = 0.25


@pytest.fixture
def trickling_agency() -> Iterator[str]:
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)

    def serve(connection: socket.socket) -> None:
        with connection:
            connection.settimeout(1.0)
            try:
                connection.recv(65536)  # the request (its first bytes suffice)
                for byte in ANSWER:
                    if stop.is_set():
                        return
                    connection.sendall(bytes([byte]))
                    time.sleep(TRICKLE_S)
            except OSError:
                return  # the hub hung up: fine

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    acceptor.join(5)
    listener.close()


def _instance(agency_id: str, endpoint: str) -> object:
    found = load_agency_registry().instance(agency_id)
    return dataclasses.replace(found, endpoint=endpoint, reply_deadline_s=DEADLINE_S, timeout_s=5.0,
                               rate_limit_per_s=None)


@pytest.mark.parametrize("agency_id", ["bank_melli", "csdi"])  # SOAP and REST
def test_a_trickling_agency_misses_its_deadline_at_the_deadline(trickling_agency: str, agency_id: str) -> None:
    client = client_for(_instance(agency_id, trickling_agency))  # type: ignore[arg-type]
    started = time.monotonic()
    try:
        with pytest.raises(AgencyDeadlineMissed, match="reply deadline"):
            client.inquire("0012345679", "r1")
    finally:
        client.close()
    took = time.monotonic() - started
    assert DEADLINE_S - 0.1 <= took <= DEADLINE_S + 1.0, took  # the whole answer would take ~20 s


def test_a_round_at_a_trickling_agency_ends_within_its_deadline(trickling_agency: str, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from estelam.contracts.registry import feed
    from estelam.ingest.validation import prepare_gx
    from estelam.inquiry.on_demand import warm_up
    from estelam.inquiry.rounds import INQUIRY_LOG_FEED

    override(monkeypatch, data_dir=tmp_path)
    # the validators' one-time set-up, as a worker pays it once before it forks its tasks: not the agency's time
    # (a round lands its inquiry log through the GX suite)
    warm_up()
    prepare_gx([feed(INQUIRY_LOG_FEED), feed("bank_accounts")])
    persons = [f"{n:09d}{iran_national_code_check_digit(f'{n:09d}')}" for n in range(123456781, 123456791)]
    started = time.monotonic()
    summary = run_round(_instance("bank_melli", trickling_agency), [InquiryTarget(p, "1403-000001")  # type: ignore[arg-type]
                                                                    for p in persons],
                        round_id="trickle", today=date(2026, 11, 1))
    assert time.monotonic() - started <= DEADLINE_S + 2.0
    assert summary.deadline_missed == len(persons) and summary.failed == 0
