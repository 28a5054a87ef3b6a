"""Serve the API: ``python -m estelam.api --host 127.0.0.1 --port 8000``."""

from __future__ import annotations

import argparse

import uvicorn

from estelam.api import create_app

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m estelam.api", description=__doc__)
    parser.add_argument("--host", default=DEFAULT_HOST)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args()
    # Validation setup costs seconds once per process: pay it before the first judge waits on it.
    from estelam.inquiry.on_demand import warm_up

    warm_up()
    uvicorn.run(create_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
