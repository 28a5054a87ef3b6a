"""The hostile-client suite's world: a small data directory, a token file, and real API processes on loopback.

Each :class:`ApiProcess` is ``python -m uvicorn estelam.api:create_app --factory`` bound to 127.0.0.1 on
an ephemeral port, configured by environment (data dir, token file, public URL) exactly as a deployment
is, and stopped by its PID. Several processes share one data directory, as API replicas share a volume.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx

from estelam.freeze.ledger import ORDERS_FEED
from estelam.ingest.landing import validate_and_land

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
PUBLIC_URL = "https://hub.estelam.example"
AGENCY = "bank_melli"
OTHER_AGENCY = "bank_mellat"
COURT, OTHER_COURT = "THR-01", "ISF-01"
CASE, OTHER_COURTS_CASE, MISSING_CASE = "1403-000001", "1403-000002", "1403-999999"
PERSON = "0012345679"
TOKENS = {"agency": "h-agency", "agency_other": "h-agency-other", "judge": "h-judge", "public": "h-public",
          "person": "h-person", "statistician": "h-statistician", "central_bank": "h-central-bank"}
PUBLIC_SUBJECT = "business-9"
STARTUP_TIMEOUT_S = 60


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def write_tokens(path: Path) -> Path:
    path.write_text(json.dumps({"tokens": [
        {"token": TOKENS["agency"], "subject": f"agency-{AGENCY}", "role": "agency", "agency_id": AGENCY},
        {"token": TOKENS["agency_other"], "subject": f"agency-{OTHER_AGENCY}", "role": "agency",
         "agency_id": OTHER_AGENCY},
        {"token": TOKENS["judge"], "subject": "judge-h", "role": "judge", "courts": [COURT]},
        {"token": TOKENS["public"], "subject": PUBLIC_SUBJECT, "role": "public"},
        {"token": TOKENS["person"], "subject": "citizen-h", "role": "person", "person_id": PERSON},
        {"token": TOKENS["statistician"], "subject": "stat-h", "role": "statistician"},
        {"token": TOKENS["central_bank"], "subject": "cbi-h", "role": "central_bank"},
    ]}), encoding="utf-8")
    return path


def order_row(order_id: str, agency_id: str = AGENCY) -> dict[str, Any]:
    """A pending freeze order as a cycle whose delivery failed lands it."""
    now = datetime.now(UTC)
    return {"order_id": order_id, "cycle_id": "hostile-cycle", "kind": "freeze", "case_id": CASE,
            "person_id": PERSON, "agency_id": agency_id, "asset_kind": "bank_account",
            "asset_ref": f"IR{abs(hash(order_id)) % 10**22:022d}", "amount_rial": 1_000_000, "restriction_type": None,
            "version": 0, "reason_code": "new_freeze", "confidential": False, "first_issued_at": now,
            "deadline_at": now + timedelta(days=1), "issued_at": now, "delivery": "failed", "status": "pending",
            "reason": "agency unreachable"}


def land_orders(order_ids: list[str], batch_id: str, agency_id: str = AGENCY) -> None:
    """Land ``order_ids`` as pending orders (needs the settings' data dir to be the world's)."""
    landed = validate_and_land(ORDERS_FEED, [order_row(o, agency_id) for o in order_ids], batch_id=batch_id,
                               partition=date.today())
    assert landed.valid_rows == len(order_ids), landed.reasons


def build_warehouse(path: Path) -> None:
    """The few warehouse tables the probed endpoints read: two cases in two courts, the registry, the feed."""
    with duckdb.connect(str(path)) as con:
        con.execute(f"""
            create table asset_report as
            select * from (values ('{CASE}', '{COURT}', '{PERSON}', timestamp '2024-01-02', timestamp '2024-03-01'),
                                  ('{OTHER_COURTS_CASE}', '{OTHER_COURT}', '0012345680', timestamp '2024-01-05',
                                   null::timestamp))
                   as t(case_id, court_code, person_id, filed_at, last_event_at)
        """)
        con.execute(f"""
            create table financial_convictions as
            select '{PERSON}' as person_id, 'listed' as status, 1 as unpaid_cases, 0 as satisfied_cases,
                   1000000::bigint as outstanding_rial, date '2024-01-02' as unpaid_since,
                   date '2027-01-02' as listed_until, date '2024-03-01' as as_of
        """)
        con.execute(f"create table central_bank_feed as select '{PERSON}' as person_id, 'listed' as status")


@dataclass
class ApiProcess:
    """One real API server process on loopback."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_kib(self) -> int:
        """The server's resident memory now (Linux ``/proc``)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError(f"no VmRSS for {self.pid}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def start_api(data_dir: Path, tokens_file: Path, log_dir: Path, name: str) -> ApiProcess:
    """Start ``uvicorn`` serving the API on an ephemeral loopback port; wait until it answers."""
    env = {**os.environ, "ESTELAM_DATA_DIR": str(data_dir), "ESTELAM_API_TOKENS": str(tokens_file),
           "ESTELAM_API_PUBLIC_URL": PUBLIC_URL, "PYTHONPATH": str(PROJECT_ROOT)}
    for attempt in range(3):  # the port is free when probed; another process could take it before uvicorn binds
        port = _free_port()
        log = log_dir / f"{name}-{attempt}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "estelam.api:create_app", "--factory", "--host", LOOPBACK,
                 "--port", str(port), "--log-level", "warning", "--no-access-log"],
                cwd=PROJECT_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
        api = ApiProcess(process, f"http://{LOOPBACK}:{port}", log)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{api.url}/health", timeout=2).status_code == 200:
                    return api
            except httpx.TransportError:
                time.sleep(0.1)
        api.stop()
        if process.returncode not in (None, 0) and b"address already in use" not in log.read_bytes():
            break
    raise AssertionError(f"the API did not start: {log.read_text(errors='replace')[-2000:]}")


@dataclass
class Upload:
    """What a streamed upload saw: the answer's status and body, when it came, how much had been sent by then."""

    status: int
    body: bytes
    elapsed_s: float
    sent_when_answered: int


def stream_upload(url: str, path: str, headers: dict[str, str], chunks: Iterator[bytes], *,
                  content_length: int | None, timeout_s: float = 30.0) -> Upload:
    """POST a body produced by ``chunks`` over a raw socket, sending and listening at once.

    A client library sends the whole body before it reads the answer; this one stops counting the
    moment the status line arrives, so an early refusal is measured as early as it is. Without
    ``content_length`` the body goes chunked.
    """
    host, port = url.removeprefix("http://").split(":")
    framing = {"Content-Length": str(content_length)} if content_length is not None else {
        "Transfer-Encoding": "chunked"}
    head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers, **framing}.items())
    sent = 0
    answered = threading.Event()

    def send_body(sock: socket.socket) -> None:
        nonlocal sent
        try:
            for chunk in chunks:
                if answered.is_set():
                    return
                sock.sendall(chunk if content_length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
            if content_length is None:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed: the rest of the body is not wanted
            return

    with socket.create_connection((host, int(port)), timeout=timeout_s) as sock:
        started = time.perf_counter()
        sock.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode("latin-1"))
        sender = threading.Thread(target=send_body, args=(sock,), daemon=True)
        sender.start()
        received = b""
        elapsed, sent_then = float("inf"), sent
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            if not data:
                break
            if not received:
                elapsed = time.perf_counter() - started
                sent_then = sent
            received += data
        answered.set()
        header_text, _, body = received.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in header_text.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        try:
            while len(body) < length:
                data = sock.recv(65536)
                if not data:
                    break
                body += data
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    sender.join(timeout=timeout_s)
    status = int(header_text.split(b" ", 2)[1]) if header_text else 0
    return Upload(status, body, elapsed, sent_then)


def filler(total: int, chunk: bytes) -> Iterator[bytes]:
    """``total`` bytes of ``chunk`` repeated, generated as they are sent (never held whole)."""
    left = total
    while left > 0:
        piece = chunk[:left]
        yield piece
        left -= len(piece)


SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
HUB_NS = "urn:estelam:hub:acknowledgements:v1"


def soap_envelope(agency_id: str, order_ids: list[str], *, envelope_ns: str = SOAP_ENV) -> bytes:
    """An AcknowledgeOrders request acknowledging ``order_ids`` as done."""
    items = "".join(
        f"<h:acknowledgement><h:orderId>{o}</h:orderId><h:status>done</h:status>"
        "<h:acknowledgedAmountRial>1000000</h:acknowledgedAmountRial><h:frozenTotalRial>1000000</h:frozenTotalRial>"
        "<h:acknowledgedAt>2026-03-02T09:30:00+00:00</h:acknowledgedAt></h:acknowledgement>" for o in order_ids)
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{envelope_ns}" xmlns:h="{HUB_NS}">'
            f"<soap:Body><h:AcknowledgeOrders><h:agencyId>{agency_id}</h:agencyId>{items}</h:AcknowledgeOrders>"
            "</soap:Body></soap:Envelope>").encode()


def rest_acknowledgements(order_ids: list[str]) -> dict[str, Any]:
    return {"acknowledgements": [{"order_id": o, "status": "done", "acknowledged_amount_rial": 1_000_000,
                                  "frozen_total_rial": 1_000_000, "acknowledged_at": "2026-03-02T09:30:00Z"}
                                 for o in order_ids]}
