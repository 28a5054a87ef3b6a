"""Servers the browser tests start as their own processes on loopback: started, waited for until their health
endpoint answers, and stopped by whoever started them."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from estelam.core import settings

STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def streamlit_command(port: int) -> list[str]:
    """The dashboard under Streamlit on loopback, headless."""
    from estelam.cli.commands import dashboard_command

    return dashboard_command(Path("dashboards/app.py"), "127.0.0.1", port)


@contextmanager
def serving(command: list[str], *, data_dir: Path, log_path: Path, health_url: str, what: str,
            env: Mapping[str, str] | None = None, healthy: Callable[[bytes], bool] = lambda _: True,
            poll_s: float = 0.5) -> Iterator[None]:
    """Run ``command`` from the project root over ``data_dir`` (output to ``log_path``) until ``health_url``
    answers (and ``healthy`` accepts its body); terminate it on exit. ``RuntimeError`` with the log's tail if it
    exits or is not up within ``STARTUP_TIMEOUT_S``."""
    environment = os.environ | {"ESTELAM_DATA_DIR": str(data_dir), "PYTHONPATH": str(settings.PROJECT_ROOT),
                                **(env or {})}
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=settings.PROJECT_ROOT, env=environment, stdout=log,
                                   stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                try:
                    with urllib.request.urlopen(health_url, timeout=2) as answer:
                        if healthy(answer.read()):
                            break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        output = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                        raise RuntimeError(f"{what} did not start: {output}") from None
                time.sleep(poll_s)
            yield
        finally:
            process.terminate()
            process.wait(timeout=20)
