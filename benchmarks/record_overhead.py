"""What the record costs: an inquiry round's wall time with the message log and audit writes on vs off, and the
record's disk bytes per inquiry with message bodies kept vs metadata only.

    .venv/bin/python -m benchmarks.record_overhead [--persons 300] [--rounds 5] [--latency-ms 0]

Four agencies of the registry (two SOAP banks, the REST securities depository and vehicle registry) run as
loopback simulators, answering at once (the worst case for the ratio: the record's cost is set against
nothing but the hub's own work) or, with ``--latency-ms``, after that delay per call as a real agency
would. Each round asks every agency about every person in batch calls and lands the answers
and the inquiry log, as the DAG's task does (``estelam.inquiry.rounds.run_round``). Rounds alternate
between "off" (a record that keeps nothing: the floor) and "on" (the deployment's record: every message
hashed, compressed and chained, every person asked audited, a signed checkpoint per write), so machine
noise falls on both alike; the medians are compared. Disk cost: bytes the record directories grew by,
per inquiry, over the "on" rounds, with every agency's bodies kept, then again with every agency on
``message_log: metadata``. This is a measurement, not a test: nothing asserts. The last line is one JSON
object.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.figures import emit, headline
from connectors import message_hook
from estelam.access.record import Record
from estelam.contracts.registry import AgencyRegistry, iban_account_holders, load_agency_registry
from estelam.core import settings
from estelam.core.domain import AgencyKind
from simulators.faults import Fault, FaultProfile
from simulators.fleet import Fleet
from simulators.world import generate

DEFAULT_PERSONS = 300
DEFAULT_ROUNDS = 5
RECORD_DIRS = ("messages", "audit", "checkpoints")


class NothingKept(Record):
    """The floor: a round with no message log and no audit writes."""

    @contextmanager
    def exchange(self, *, purpose: str, case_ids: Sequence[str | None] = (),
                 person_ids: Sequence[str] = ()) -> Iterator[message_hook.Exchange]:
        yield message_hook.Exchange(self.messages, purpose)  # not opened: the transports record nothing

    def audit_many(self, records: Sequence[Any]) -> None:
        return None


def _bytes(root: Path) -> int:
    return sum(p.stat().st_size for d in RECORD_DIRS for p in (root / d).rglob("*") if p.is_file())


def _subset(registry: AgencyRegistry) -> AgencyRegistry:
    banks = iban_account_holders(registry.instances)[:2]
    # the depository and the vehicle registry: kinds declared by their mappings (the generic client and the
    # generated simulator)
    others = [i for i in registry.instances if i.kind in (AgencyKind("securities_depository"),
                                                          AgencyKind("vehicle_registry"))]
    return replace(registry, instances=tuple(banks + others))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=DEFAULT_PERSONS)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="each agency's delay per call")
    args = parser.parse_args(argv)

    from estelam.inquiry.rounds import Asking, InquiryTarget, run_round

    with tempfile.TemporaryDirectory(prefix="record-bench-") as data, \
            settings.use(settings.current().with_changes(data_dir=data)):
        registry = _subset(load_agency_registry())
        world = generate(registry.instances, n_persons=args.persons)
        targets = [InquiryTarget(p.person_id, f"case-{n % 97:04d}") for n, p in enumerate(world.persons)]
        faults = ({i.agency_id: FaultProfile(rates={Fault.LATENCY: 1.0},
                                             latency_s=(args.latency_ms / 1000, args.latency_ms / 1000))
                   for i in registry.instances} if args.latency_ms else None)
        with Fleet.start(registry, world, faults=faults) as fleet, settings.use(settings.current().with_changes(
                endpoints_file=fleet.write_endpoints(settings.data_dir() / "run" / "endpoints.json"))):
            endpoints = load_agency_registry()
            instances = [endpoints.instance(i.agency_id) for i in registry.instances]

            def round_s(label: str, record: Record) -> float:
                started = time.perf_counter()
                for instance in instances:
                    run_round(instance, targets, round_id=f"{label}-{time.time_ns()}", asking=Asking(record))
                return time.perf_counter() - started

            round_s("warm", NothingKept())  # WSDLs, validators, connections
            walls: dict[str, list[float]] = {"off": [], "on": []}
            grown = 0
            for _ in range(args.rounds):
                walls["off"].append(round_s("off", NothingKept()))
                before = _bytes(Path(data))
                walls["on"].append(round_s("on", Record.for_agencies(instances)))
                grown += _bytes(Path(data)) - before
            metadata_only = Record.for_agencies({i.agency_id: "metadata" for i in instances})
            before = _bytes(Path(data))
            round_s("meta", metadata_only)
            grown_metadata = _bytes(Path(data)) - before

    inquiries = len(instances) * len(world.persons)
    off, on = statistics.median(walls["off"]), statistics.median(walls["on"])
    figures = {
        "agencies": len(instances), "persons": len(world.persons), "rounds": args.rounds,
        "agency_latency_ms": args.latency_ms,
        "round_s": {"off_median": round(off, 3), "on_median": round(on, 3),
                    "off_all": [round(w, 3) for w in walls["off"]], "on_all": [round(w, 3) for w in walls["on"]]},
        "slower_percent": round((on / off - 1) * 100, 1),
        "bytes_per_inquiry": {"bodies_kept": round(grown / (inquiries * args.rounds)),
                              "metadata_only": round(grown_metadata / inquiries)},
    }
    print(f"inquiry round, {len(instances)} agencies x {len(world.persons)} persons: "
          f"record off {off:.2f} s, on {on:.2f} s ({figures['slower_percent']:+.1f}%); "
          f"record bytes per inquiry: {figures['bytes_per_inquiry']['bodies_kept']} with bodies, "
          f"{figures['bytes_per_inquiry']['metadata_only']} metadata only")
    emit("record", [headline("inquiry round with the record", on, "s", floor=off)], **figures)

if __name__ == "__main__":
    main()
