"""What an on-demand inquiry adds above the slowest agency: p50/p95 over many runs, with the simulator fleet.

    .venv/bin/python -m benchmarks.on_demand_latency [--runs 50] [--persons 60]

Every agency of the registry runs as a loopback simulator (``estelam simulators --latency``, a process of its own:
agencies are remote, and simulators sharing the hub's interpreter would make the hub wait for their XML), each with
the ``latency`` fault on every request: each answer is delayed uniformly in ``LATENCY_S``, so which
agency is slowest changes from run to run, as with real agencies. Each run calls
``estelam.inquiry.on_demand.inquire_person`` for one debtor (a different person each run) across all agencies,
landing into a temporary data directory.

Overhead of a run = its wall time (call to every answer and log entry landed) minus the slowest
agency's own latency (the time the hub waited for that agency: client set-up plus its calls). The
process first calls ``estelam.inquiry.on_demand.warm_up()`` (as a server would at start) and makes one
untimed run (WSDL caches); both are reported on their own. The runs' batches land as the contract's compiled
rules judge them and Great Expectations audits them in the background (at most once a minute); what still waits
after the last run is audited at the end, timed on its own (``gx_audit_at_end``).
This is a measurement, not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.figures import emit, headline
from estelam.contracts.registry import load_agency_registry
from estelam.core import settings
from estelam.core.exceptions import EstelamError
from simulators.world import generate

DEFAULT_RUNS = 50
DEFAULT_PERSONS = 60
#: Each agency's added delay per answer, uniform in this range, in seconds.
LATENCY_S = (0.05, 0.40)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


#: How long the simulator fleet may take to start.
FLEET_START_TIMEOUT_S = 120.0


def announced_urls(process: subprocess.Popen[bytes], timeout_s: float) -> dict[str, str]:
    """What a starting ``estelam simulators`` prints on its standard output: one ``agency_id<TAB>URL`` line per agency,
    then ``ready``. Raises EstelamError when the process ends first, or prints nothing more for ``timeout_s`` in all:
    the wait is bounded even when the fleet hangs without a word (the pipe is polled, never read blindly)."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    urls: dict[str, str] = {}
    pending = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(timeout=remaining):
                raise EstelamError(f"the simulator fleet was not ready within {timeout_s:.0f} s")
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                raise EstelamError(f"the simulator fleet ended before it was ready (exit {process.wait()})")
            *lines, pending = (pending + chunk).split(b"\n")
            for raw in lines:
                line = raw.decode("utf-8", errors="replace").strip()
                if line == "ready":
                    return urls
                agency_id, _, url = line.partition("\t")
                if agency_id and url:
                    urls[agency_id] = url


@contextmanager
def fleet_process(persons: int, endpoints: Path, latency: tuple[float, float] = LATENCY_S, *,
                  start_timeout_s: float = FLEET_START_TIMEOUT_S) -> Iterator[dict[str, str]]:
    """``estelam simulators`` in a process of its own, every answer late by ``latency`` (uniform, seconds): agency
    id -> URL (also written to ``endpoints``, the hub's endpoints file); stopped by its PID when the block ends."""
    command = [sys.executable, "-m", "estelam", "simulators", "--persons", str(persons),
               "--latency", ",".join(str(x) for x in latency)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=os.environ.copy())
    try:
        urls = announced_urls(process, start_timeout_s)
        endpoints.parent.mkdir(parents=True, exist_ok=True)
        endpoints.write_text(json.dumps(urls, indent=2), encoding="utf-8")
        yield urls
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    parser.add_argument("--persons", type=int, default=DEFAULT_PERSONS)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="on-demand-bench-") as data, \
            settings.use(settings.current().with_changes(data_dir=data)):
        from estelam.inquiry.on_demand import audit_pending, inquire_person, warm_up

        warm_up_s = warm_up()

        registry = load_agency_registry()
        world = generate(registry.instances, n_persons=args.persons)
        n = len(registry.instances)
        endpoints = settings.data_dir() / "run" / "endpoints.json"
        with fleet_process(args.persons, endpoints), settings.use(settings.current().with_changes(
                endpoints_file=endpoints)):
            warm = inquire_person(world.persons[0].person_id)
            walls, slowest, overheads = [], [], []
            states: Counter[str] = Counter()
            for run in range(args.runs):
                result = inquire_person(world.persons[(run + 1) % args.persons].person_id)
                walls.append(result.wall_s)
                slowest.append(result.slowest_agency_s)
                overheads.append(result.overhead_s)
                states.update(str(o.status) for o in result.outcomes.values())
            # GX audits the runs' batches in the background, at most once a minute; what is left waits for this
            started = time.perf_counter()
            audited_rows = audit_pending()
            audit_s = time.perf_counter() - started

    def ms(x: float) -> float:
        return round(x * 1000, 1)

    print(json.dumps({
        "agencies": n, "runs": args.runs,
        "latency_s": LATENCY_S, "warm_up_ms": ms(warm_up_s),
        "first_run": {"wall_ms": ms(warm.wall_s), "overhead_ms": ms(warm.overhead_s)},
        "wall_ms": {"p50": ms(statistics.median(walls)), "p95": ms(_percentile(walls, 0.95))},
        "slowest_agency_ms": {"p50": ms(statistics.median(slowest)), "p95": ms(_percentile(slowest, 0.95))},
        "overhead_ms": {"p50": ms(statistics.median(overheads)), "p95": ms(_percentile(overheads, 0.95)),
                        "max": ms(max(overheads))},
        "final_states": dict(states),
        "gx_audit_at_end": {"rows": audited_rows, "ms": ms(audit_s)},
    }, indent=2))
    emit("on-demand", [
        headline("wall time p95 (slowest agency p95 as floor)", ms(_percentile(walls, 0.95)), "ms",
                 ms(_percentile(slowest, 0.95))),
        headline("overhead p95", ms(_percentile(overheads, 0.95)), "ms"),
        headline("warm-up", ms(warm_up_s), "ms"),
    ], agencies=n, runs=args.runs, overhead_p50_ms=ms(statistics.median(overheads)), final_states=dict(states),
         gx_audit_at_end_ms=ms(audit_s), gx_audit_at_end_rows=audited_rows)


if __name__ == "__main__":
    main()
