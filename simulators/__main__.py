"""Serve every agency of the registry as a simulator until interrupted.

    python -m simulators [--host 127.0.0.1] [--fixed-ports] [--seed N] [--persons N]
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from estelam.contracts.registry import load_agency_registry
from simulators import world as world_module
from simulators.fleet import Fleet
from simulators.server import LOOPBACK


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the agency simulators.")
    parser.add_argument("--host", default=LOOPBACK, help="address to bind (default loopback)")
    parser.add_argument("--fixed-ports", action="store_true", help="use the ports of contracts/agencies.yaml")
    parser.add_argument("--seed", type=int, default=world_module.DEFAULT_SEED)
    parser.add_argument("--persons", type=int, default=world_module.DEFAULT_PERSONS)
    args = parser.parse_args(argv)
    registry = load_agency_registry()
    world = world_module.generate(registry.instances, seed=args.seed, n_persons=args.persons)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Fleet.start(registry, world, host=args.host, fixed_ports=args.fixed_ports) as fleet:
        for agency_id, url in fleet.endpoints.items():
            print(f"{agency_id}\t{url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
