"""The court's case-event files through validation and landing, GX on every file vs compiled rules and one GX audit.

    .venv/bin/python -m benchmarks.case_events_ingest [--persons 120] [--cases 48] [--rounds 3]
    .venv/bin/estelam bench case-events

Drops the synthetic world's case events into an inbox as the simulated court does (one JSON-lines file per day:
the demo's world makes 58 files), then times :func:`estelam.ingest.case_events.ingest_inbox` on it, each mode in a
fresh process as a task process would run it:

- ``gx``: ``ESTELAM_VALIDATION=gx``, every file validated by the feed's Great Expectations suite (before issue 18's
  validation item, the only way);
- ``audited``: every file validated by the contract's compiled rules as it lands, and one GX run auditing all of
  them (``landing.AuditedLanding``; the default).

Each process ingests twice: ``cold`` includes importing and building Great Expectations' context and the suite
(what a bare task process pays), ``warm`` is the same files again, its ledger of taken files forgotten (a preloaded
worker landing new files).
The floor (in the same processes) reads every file and writes it as Parquet with no validation. A measurement,
not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.figures import emit, headline

DEFAULT_ROUNDS = 3
MODES = ("gx", "audited")


def _drop(inbox: Path, persons: int | None, cases: int | None) -> int:
    from estelam.contracts.registry import load_agency_registry
    from simulators import world as world_module
    from simulators.court import drop_case_events

    world = world_module.generate(list(load_agency_registry().instances),
                                  n_persons=persons or world_module.DEFAULT_PERSONS,
                                  n_cases=cases or world_module.DEFAULT_CASES)
    return len(drop_case_events(world, inbox))


def _floor(inbox: Path, out: Path) -> float:
    """Read every file and write it as Parquet: the least an ingest does."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from estelam.ingest.case_events import INBOX_PATTERN, read_inbox_file

    started = time.perf_counter()
    for path in sorted(inbox.glob(INBOX_PATTERN)):
        pq.write_table(pa.Table.from_pylist(read_inbox_file(path)), out / f"{path.stem}.parquet", compression="zstd")
    return time.perf_counter() - started


def child(inbox: Path, data_dir: Path) -> None:
    """One mode (the environment's ESTELAM_VALIDATION) in this process: cold ingest, warm ingest, floor."""
    from estelam.core import settings
    from estelam.ingest.case_events import INGESTED_LEDGER, ingest_inbox

    own = data_dir / "inbox"  # the inbox keeps the ledger of what it has taken: each process its own copy
    shutil.copytree(inbox, own)
    with settings.use(settings.current().with_changes(data_dir=data_dir)):
        started = time.perf_counter()
        cold = ingest_inbox(own)
        cold_s = time.perf_counter() - started
        (own / INGESTED_LEDGER).unlink()  # forgotten, so the warm run lands every file again (as new files)
        started = time.perf_counter()
        warm = ingest_inbox(own)
        warm_s = time.perf_counter() - started
    if warm.files != cold.files:
        raise SystemExit(f"the warm run landed {warm.files} files, the cold one {cold.files}")
    floor_dir = data_dir / "floor"
    floor_dir.mkdir()
    print(json.dumps({"cold_s": cold_s, "warm_s": warm_s, "floor_s": _floor(inbox, floor_dir), **cold.as_dict()}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--persons", type=int, default=None)
    parser.add_argument("--cases", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--child", nargs=2, metavar=("INBOX", "DATA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return
    with tempfile.TemporaryDirectory(prefix="estelam-bench-events-") as tmp:
        inbox = Path(tmp) / "inbox"
        files = _drop(inbox, args.persons, args.cases)
        runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        for r in range(args.rounds):
            for mode in MODES if r % 2 == 0 else MODES[::-1]:  # interleaved: the machine's load hits both
                data_dir = Path(tmp) / f"{mode}-{r}"
                env = os.environ | {"ESTELAM_VALIDATION": mode}
                out = subprocess.run([sys.executable, "-m", "benchmarks.case_events_ingest", "--child",
                                      str(inbox), str(data_dir)], env=env, check=True, capture_output=True,
                                     text=True).stdout
                runs[mode].append(json.loads(out.strip().splitlines()[-1]))
    floor = min(run["floor_s"] for mode in MODES for run in runs[mode])
    best = {mode: {k: min(run[k] for run in runs[mode]) for k in ("cold_s", "warm_s")} for mode in MODES}
    events = runs["audited"][0]["events_landed"] + runs["audited"][0]["events_quarantined"]
    print(f"{files} case-event files, {events} events; best of {args.rounds} fresh processes per mode")
    print(f"{'mode':10} {'cold':>9} {'warm':>9} {'warm / floor':>13}")
    for mode in MODES:
        print(f"{mode:10} {best[mode]['cold_s']:8.2f}s {best[mode]['warm_s']:8.2f}s "
              f"{best[mode]['warm_s'] / floor:12.1f}x")
    print(f"{'floor':10} {'':9} {floor:8.3f}s")
    same = {mode: (runs[mode][0]["events_landed"], runs[mode][0]["events_quarantined"]) for mode in MODES}
    print(f"landed, quarantined: {same}")
    emit("case-events", [
        headline("ingest, audited, warm", best["audited"]["warm_s"], "s", floor),
        headline("ingest, GX per file, warm", best["gx"]["warm_s"], "s", floor),
        headline("ingest, audited, cold", best["audited"]["cold_s"], "s"),
        headline("ingest, GX per file, cold", best["gx"]["cold_s"], "s"),
    ], files=files, events=events, runs=runs)


if __name__ == "__main__":
    main()
