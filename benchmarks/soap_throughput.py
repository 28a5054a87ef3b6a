"""Inquiries per second through the hub's SOAP path, next to a raw httpx + lxml floor, in the same run.

    .venv/bin/python -m benchmarks.soap_throughput [--seconds 3] [--batch 100] [--in-process]

One simulated bank (the banks' generated simulator: ``contracts/kinds/bank.yaml`` over ``bank.wsdl``, its accounts
drawn by ``simulators/world_data/bank.yaml``) serves from a child process (so client and server do not share one
GIL), with no WS-Security token check on either side. Against it, each path runs for ``--seconds``:

- ``floor``: httpx posts the very envelope zeep would send (built once by zeep, person id swapped in)
  and lxml reads every account of the answer: the least any Python client must spend;
- ``mapped``: ``MappedAgencyClient``, the generic client as ``contracts/kinds/bank.yaml`` declares the bank (zeep
  writes, ``connectors.soap_answers`` reads against the WSDL's shapes; the mapping's columns become feed records);
- ``hub``: ``ResilientClient`` around the client the hub uses for the bank (``connectors.wire_client_for``: the
  mapped client once the bank is declared by its mapping; retry, deadline, breaker; the instance's rate limit
  removed, since a limit would measure the limit).

Each runs one person per call (``InquireAccounts``) and ``--batch`` persons per call
(``InquireAccountsBatch``), in ``--rounds`` interleaved rounds (the best round of each counts). The table
gives inquiries per second and the ratio of each path to the floor of the same mode. This is a
measurement, not a test: nothing asserts, and numbers vary with the machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
from lxml import etree

from benchmarks.figures import emit, headline
from connectors import wire_client_for
from connectors.mapped import MappedAgencyClient
from connectors.resilience import ResilientClient
from connectors.soap import SOAP_PATH, SoapWire
from estelam.contracts.registry import load_agency_registry
from estelam.core import settings
from estelam.core.domain import AgencyInstance
from estelam.core.kinds import feed_column_types, mapping_at
from simulators.agency_state import AgencyState
from simulators.mapped_app import kind_world, mapped_application, records_of
from simulators.server import Application, RunningServer
from simulators.world import World, generate

BANK = "bank_melli"
DEFAULT_SECONDS = 3.0
DEFAULT_BATCH = 100
DEFAULT_ROUNDS = 3
WORLD_PERSONS = 2_000
WORLD_SEED = 7
#: A person id zeep writes into the template envelope, swapped for the real one per call.
PLACEHOLDER_ID = "0000000000"
HTTP_TIMEOUT_S = 10.0
#: The floor reads the answer with the same hardening as the hub's parser.
FLOOR_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class Measurement:
    path: str
    mode: str
    calls: int
    inquiries: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.inquiries / self.seconds


def _world_and_bank() -> tuple[AgencyInstance, World, list[str]]:
    registry = load_agency_registry()
    bank = replace(registry.instance(BANK), credentials=None, rate_limit_per_s=None, tls=None)
    world = generate([bank], seed=WORLD_SEED, n_persons=WORLD_PERSONS, n_cases=0)
    persons = [p.person_id for p in world.persons]
    data = kind_world(str(bank.kind), jurisdiction=world.jurisdiction)
    holders = sum(bool(records_of(world, data, bank.agency_id, p)) for p in persons)
    print(f"world: {len(persons)} persons, {holders} hold accounts at {BANK}", flush=True)
    return bank, world, persons


def _simulator(bank: AgencyInstance, world: World) -> Application:
    """The bank's generated simulator (its mapping over its WSDL), with a ledger of its own."""
    return mapped_application(AgencyState(bank, []), mapping_at(Path(str(bank.mapping_file))), world, None)


def serve() -> None:
    """Child process: serve the bank until stdin closes; print the URL first."""
    bank, world, _ = _world_and_bank()
    with RunningServer(_simulator(bank, world)) as server:
        print(f"URL {server.url}", flush=True)
        sys.stdin.read()  # the parent closes stdin to stop us


def _run_for(seconds: float, call: Callable[[int], int]) -> tuple[int, int, float]:
    """Call ``call(n)`` (returning inquiries made) until ``seconds`` pass; (calls, inquiries, elapsed)."""
    call(0)  # warm up: connection, caches
    calls = inquiries = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        inquiries += call(calls + 1)
        calls += 1
    return calls, inquiries, elapsed


def _template(client: SoapWire, operation: str, **fields: object) -> tuple[bytes, dict[str, str]]:
    """The envelope and headers zeep sends for ``operation``."""
    envelope = client._client.create_message(client._service, operation, **fields)  # zeep's own message: the same bytes
    body = etree.tostring(envelope, encoding="utf-8", xml_declaration=True)
    binding_operation = client._service._binding._operations[operation]
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{binding_operation.soapaction}"'}
    return body, headers


def _count_accounts(answer: bytes) -> int:
    root = etree.fromstring(answer, FLOOR_PARSER)
    rows = 0
    for account in root.iter("{*}account"):
        # read every field, as a client must before it can use the answer
        values = {etree.QName(child).localname: child.text for child in account}
        rows += bool(values.get("iban"))
    return rows


def measure(bank: AgencyInstance, persons: Sequence[str], seconds: float, batch: int,
            rounds: int = DEFAULT_ROUNDS) -> list[Measurement]:
    """Run every path in both modes against the bank at ``bank.endpoint``; the best of ``rounds`` each."""
    results: list[Measurement] = []
    mapping = mapping_at(settings.contracts_dir() / "kinds" / "bank.yaml")
    mapped = MappedAgencyClient(replace(bank, mapping_file=str(mapping.source)), mapping, feed_column_types(mapping),
                                credentials=None)
    wire = mapped._wire  # the zeep wire the generic client sends through: it writes the floor's envelopes
    assert isinstance(wire, SoapWire)
    hub = ResilientClient(wire_client_for(bank, credentials=None))
    single_body, single_headers = _template(wire, "InquireAccounts", personId=PLACEHOLDER_ID, requestId="bench")
    placeholder_batch = [f"{n:010d}" for n in range(batch)]
    batch_body, batch_headers = _template(wire, "InquireAccountsBatch", requestId="bench",
                                          personId=placeholder_batch)
    url = f"{bank.endpoint}{SOAP_PATH}"
    http = httpx.Client(timeout=HTTP_TIMEOUT_S)

    def person(n: int) -> str:
        return persons[n % len(persons)]

    def group(n: int) -> list[str]:
        start = (n * batch) % len(persons)
        return [*persons[start:], *persons][:batch]

    def floor_single(n: int) -> int:
        response = http.post(url, content=single_body.replace(PLACEHOLDER_ID.encode(), person(n).encode()),
                             headers=single_headers)
        response.raise_for_status()
        _count_accounts(response.content)
        return 1

    def floor_batch(n: int) -> int:
        body = batch_body
        for placeholder, real in zip(placeholder_batch, group(n), strict=True):
            body = body.replace(f">{placeholder}<".encode(), f">{real}<".encode(), 1)
        response = http.post(url, content=body, headers=batch_headers)
        response.raise_for_status()
        _count_accounts(response.content)
        return batch

    paths: list[tuple[str, str, Callable[[int], int]]] = [
        ("floor (httpx + lxml)", "single", floor_single),
        ("mapped (MappedAgencyClient)", "single", lambda n: (mapped.inquire(person(n), f"m{n}"), 1)[1]),
        ("hub (ResilientClient)", "single", lambda n: (hub.inquire(person(n), f"h{n}"), 1)[1]),
        ("floor (httpx + lxml)", f"batch {batch}", floor_batch),
        ("mapped (MappedAgencyClient)", f"batch {batch}",
         lambda n: len(mapped.inquire_batch(group(n), f"mb{n}"))),
        ("hub (ResilientClient)", f"batch {batch}",
         lambda n: len(hub.inquire_batch(group(n), f"hb{n}"))),
    ]
    best: dict[tuple[str, str], Measurement] = {}
    try:
        for round_no in range(1, rounds + 1):  # interleaved rounds: drift on a shared machine hits every path
            for path, mode, call in paths:
                calls, inquiries, elapsed = _run_for(seconds, call)
                m = Measurement(path, mode, calls, inquiries, elapsed)
                if (path, mode) not in best or m.per_second > best[(path, mode)].per_second:
                    best[(path, mode)] = m
                print(f"  round {round_no}: {path:<28} {mode:<10} {m.per_second:>10,.0f} inquiries/s", flush=True)
        results.extend(best.values())
    finally:
        http.close()
        mapped.close()
        hub.close()
    return results


def table(results: Sequence[Measurement]) -> str:
    """The results as a plain-text table, each path's ratio to the floor of its mode."""
    floors = {m.mode: m.per_second for m in results if m.path.startswith("floor")}
    lines = [f"{'path':<28} {'mode':<10} {'calls':>7} {'inquiries':>10} {'seconds':>8} {'inq/s':>9} {'vs floor':>9}"]
    for m in results:
        ratio = m.per_second / floors[m.mode]
        lines.append(f"{m.path:<28} {m.mode:<10} {m.calls:>7} {m.inquiries:>10} {m.seconds:>8.2f} "
                     f"{m.per_second:>9,.0f} {ratio:>8.2f}x")
    single = {m.path: m.per_second for m in results if m.mode == "single"}
    batched = {m.path: m.per_second for m in results if m.mode != "single"}
    lines.append("")
    for path in single:
        lines.append(f"batching speeds up {path} {batched[path] / single[path]:.1f}x")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=DEFAULT_SECONDS, help="per path and mode")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="persons per batch call")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="interleaved rounds; the best counts")
    parser.add_argument("--in-process", action="store_true", help="serve the bank from this process")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return
    bank, world, persons = _world_and_bank()
    print(f"cores: {os.cpu_count()}; python {sys.version.split()[0]}; {args.seconds:g} s per path and round, "
          f"{args.rounds} rounds; simulator {'in this process' if args.in_process else 'in a child process'}",
          flush=True)
    if args.in_process:
        with RunningServer(_simulator(bank, world)) as server:
            results = measure(replace(bank, endpoint=server.url), persons, args.seconds, args.batch, args.rounds)
    else:
        child = subprocess.Popen([sys.executable, "-m", "benchmarks.soap_throughput", "--serve"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert child.stdout is not None and child.stdin is not None
            url = ""
            for line in child.stdout:
                if line.startswith("URL "):
                    url = line.split()[1]
                    break
            if not url:
                raise SystemExit("the simulator process did not start")
            results = measure(replace(bank, endpoint=url), persons, args.seconds, args.batch, args.rounds)
        finally:
            if child.stdin is not None:
                child.stdin.close()
            child.wait(timeout=10)
    print()
    print(table(results))
    floors = {m.mode: m.per_second for m in results if m.path.startswith("floor")}
    hub = {m.mode: m.per_second for m in results if m.path.startswith("hub")}
    emit("soap", [headline(f"hub, {mode} (inquiries/s)", hub[mode], "inq/s", floors[mode]) for mode in hub],
         seconds=args.seconds, rounds=args.rounds, batch=args.batch,
         paths=[{"path": m.path, "mode": m.mode, "inquiries": m.inquiries, "seconds": round(m.seconds, 3),
                 "per_second": round(m.per_second, 1)} for m in results])


if __name__ == "__main__":
    main()
