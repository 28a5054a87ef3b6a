"""The audit worker: a long-lived process in which Great Expectations audits what the hub landed.

With the setting ``validation = "background"`` the processes that land (Airflow's tasks, the API, the demo)
judge each batch with the contract's compiled rules, land it, and spool its input under the audit spool
(``<data>/audit_spool/<purpose>/<feed>/<batch>.pickle``, see :func:`estelam.ingest.landing.audit_spooled`).
This worker builds GX's context and every feed's suite once, then audits what is spooled: one GX run per feed
over all of its waiting batches, once they stop arriving (:data:`SETTLE_S`) or have waited :data:`MAX_WAIT_S`.
GX stays the authority: where it judges a row differently from the compiled rules, the batch is landed again as
GX judged it, the disagreement is logged as an error and kept in the audit record (:data:`RECORD_NAME`), and the
pass goes on with the other feeds.

What this buys: GX's fixed cost per run (its metric graph, 0.1–0.3 s whatever the size) and its import leave the
process that lands, and on a machine with more than one core they run beside it instead of in its way.

``estelam audit-worker`` runs it (``--check`` is its health check: no batch waiting too long; ``--once`` audits
what waits and exits); :class:`AuditWorkerProcess` starts one as a child process and stops it by its PID (the demo
does), and :meth:`AuditWorkerProcess.drain` has it audit what waits now and waits until it did.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType

from estelam.core import clock, settings
from estelam.core.exceptions import LandingError
from estelam.core.log import event_fields
from estelam.ingest.landing import SPOOL_SUFFIX, audit_spool
from estelam.ingest.validation import prepare_gx

logger = logging.getLogger(__name__)

#: The audit record: one JSON line per feed audited in a pass (``<data>/audit_spool/audited.jsonl``).
RECORD_NAME = "audited.jsonl"
#: How long the worker sleeps between looks at the spool.
IDLE_POLL_S = 0.2
#: A feed's batches are audited once none arrived for this long (a task's landings come in a burst) ...
SETTLE_S = 2.0
#: ... or once the oldest waited this long (batches arriving without a pause).
MAX_WAIT_S = 60.0
#: A file in the spool asking the worker to audit everything waiting now (:meth:`AuditWorkerProcess.drain`).
DRAIN_MARKER = ".drain"


@dataclass(frozen=True)
class AuditEntry:
    """One feed audited by one pass of the worker."""

    at: str
    purpose: str  # the spool folder: whose batches (``background``, ``inquiry_rounds``)
    feed: str
    batches: int
    rows: int
    agreed: bool
    disagreement: str = ""


def spooled_batches(root: Path | None = None) -> int:
    """How many landed batches wait for their audit under ``root`` (the settings' audit spool by default)."""
    root = root or settings.audit_spool_dir()
    return sum(1 for _ in root.glob(f"*/*/*{SPOOL_SUFFIX}")) if root.is_dir() else 0


def oldest_wait_s(root: Path | None = None) -> float | None:
    """How long the oldest spooled batch under ``root`` has waited for its audit; None when none waits."""
    root = root or settings.audit_spool_dir()
    written = [m for m in (_written(p) for p in root.glob(f"*/*/*{SPOOL_SUFFIX}")) if m is not None]
    return time.time() - min(written) if written else None


def audit_pass(root: Path | None = None, *, settle_s: float = 0.0, max_wait_s: float | None = None
               ) -> list[AuditEntry]:
    """Audit the batches spooled under ``root``, one GX run per feed of each spool folder; each feed audited is
    appended to the audit record. A disagreement does not stop the pass: it is logged and recorded.

    GX's cost is per run, not per row, so a feed is audited once its batches stop arriving: when its newest batch
    is ``settle_s`` old, or its oldest ``max_wait_s`` old (a steady trickle), or a drain is asked for
    (:data:`DRAIN_MARKER`). With the defaults, everything spooled is audited now."""
    root = root or settings.audit_spool_dir()
    draining = (root / DRAIN_MARKER).exists()
    now = time.time()
    entries: list[AuditEntry] = []
    for purpose in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        due = set()
        for feed in (p for p in purpose.iterdir() if p.is_dir()):
            written = [m for m in (_written(f) for f in feed.glob(f"*{SPOOL_SUFFIX}")) if m is not None]
            if written and (draining or now - max(written) >= settle_s
                            or (max_wait_s is not None and now - min(written) >= max_wait_s)):
                due.add(feed.name)
        if due:
            entries.extend(AuditEntry(clock.now().isoformat(), purpose.name, done.feed, done.batches, done.rows,
                                      done.agreed, done.disagreement)
                           for done in audit_spool(purpose, due))
    if entries:
        with (root / RECORD_NAME).open("a", encoding="utf-8") as record:
            for entry in entries:
                record.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
    return entries


def _written(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return None


def audit_record(root: Path | None = None) -> list[AuditEntry]:
    """Every feed audit the worker recorded under ``root``, oldest first."""
    path = (root or settings.audit_spool_dir()) / RECORD_NAME
    if not path.is_file():
        return []
    return [AuditEntry(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]


def serve(stop: threading.Event, *, poll_s: float = IDLE_POLL_S, settle_s: float = SETTLE_S,
          max_wait_s: float = MAX_WAIT_S, warm_up: bool = True) -> int:
    """Build GX's context and every feed's suite (unless not ``warm_up``: then each when first needed), then audit
    what is spooled until ``stop`` is set; the number of feed audits done. What is spooled when ``stop`` is set is
    audited before it returns."""
    started = time.perf_counter()
    if warm_up:
        prepare_gx(run_once=False)
    logger.info("audit worker: ready in %.1fs; auditing %s", time.perf_counter() - started,
                settings.audit_spool_dir(), extra=event_fields(spool=str(settings.audit_spool_dir())))
    audits = 0
    while True:
        stopping = stop.is_set()
        entries = audit_pass() if stopping else audit_pass(settle_s=settle_s, max_wait_s=max_wait_s)
        audits += len(entries)
        if stopping:
            return audits
        if not entries:
            stop.wait(poll_s)


class AuditWorkerProcess:
    """``estelam audit-worker`` as a child process with these settings: started on entering, stopped by its PID
    on leaving (after auditing what is spooled). :meth:`drain` waits until every spooled batch is audited."""

    def __init__(self, *, startup_timeout_s: float = 600.0, warm_up: bool = True) -> None:
        self.startup_timeout_s = startup_timeout_s
        self.warm_up = warm_up
        self._process: subprocess.Popen[bytes] | None = None
        self._log = settings.data_dir() / "logs" / "audit-worker.log"

    def __enter__(self) -> AuditWorkerProcess:
        self._log.parent.mkdir(parents=True, exist_ok=True)
        environment = os.environ | settings.current().environment()
        with self._log.open("ab") as log:
            command = [sys.executable, "-m", "estelam", "audit-worker", *([] if self.warm_up else ["--no-warm-up"])]
            self._process = subprocess.Popen(command,
                                             stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                             env=environment)
        logger.info("audit worker started (pid %d)", self._process.pid)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()  # the worker audits what is spooled, then exits
        try:
            process.wait(timeout=self.startup_timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def drain(self, *, timeout_s: float | None = None) -> float:
        """Have the worker audit what waits now, settled or not, and wait until it did; the seconds waited. Raises
        :class:`LandingError` if the worker died (its log's tail says why) or did not finish in ``timeout_s``."""
        started = time.perf_counter()
        deadline = started + (timeout_s if timeout_s is not None else self.startup_timeout_s)
        marker = settings.audit_spool_dir() / DRAIN_MARKER
        if not spooled_batches():
            return 0.0
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()  # audit what waits now, settled or not
        try:
            self._wait_until_audited(started, deadline)
        finally:
            marker.unlink(missing_ok=True)
        return time.perf_counter() - started

    def _wait_until_audited(self, started: float, deadline: float) -> None:
        while spooled_batches():
            if self._process is None or self._process.poll() is not None:
                tail = self._log.read_text(encoding="utf-8", errors="replace")[-2000:] if self._log.is_file() else ""
                raise LandingError(f"the audit worker is not running; batches wait unaudited:\n{tail}")
            if time.perf_counter() > deadline:
                raise LandingError(f"the audit worker left {spooled_batches()} batches unaudited "
                                             f"after {time.perf_counter() - started:.0f}s")
            time.sleep(0.05)
