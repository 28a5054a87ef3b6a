"""Land a validated batch as Parquet: valid rows to the landing zone, rejected rows to quarantine.

    landing/<feed>/dt=YYYY-MM-DD/<batch_id>.parquet      contract schema + lineage
    quarantine/<feed>/dt=YYYY-MM-DD/<batch_id>.parquet   contract columns as strings, _reasons, _input_row + lineage

Paths are deterministic, so landing a batch again *replaces* it: each file is
written to a hidden temporary file in the same folder and moved into place with
``os.replace`` (readers never see half a file), and a file the new run does not
produce (no valid rows, or no rejects) is removed. No file is written for an
empty side: a batch of zero rows leaves nothing behind.

Lineage columns on both sides: ``_batch_id`` (string) and ``_landed_at``
(UTC timestamp, the same instant for both files of one landing).
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal, overload

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from estelam.contracts import registry as contracts
from estelam.contracts import rows
from estelam.contracts.registry import FeedContract
from estelam.core import clock, settings
from estelam.core.exceptions import LandingError, ValidationDisagreement
from estelam.core.log import event_fields
from estelam.ingest.validation import REASONS_COLUMN, AuditReport, Engine, ValidationOutcome, audit, validate

logger = logging.getLogger(__name__)

#: A batch id becomes a file name: letters, digits, ``_ . -``, starting with a letter or digit.
BATCH_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")
BATCH_ID_COLUMN = "_batch_id"
LANDED_AT_COLUMN = "_landed_at"
LINEAGE_FIELDS = (
    pa.field(BATCH_ID_COLUMN, pa.string(), nullable=False),
    pa.field(LANDED_AT_COLUMN, pa.timestamp("us", tz="UTC"), nullable=False),
)
PARQUET_COMPRESSION = "zstd"
#: Temporary files start with a dot and do not end in .parquet, so ``*.parquet`` readers skip them.
TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"
#: How a row's several reasons are joined when one string is wanted.
REASON_SEPARATOR = "; "
#: An audited landing holds its batches' rows until GX audits them; past this many rows it audits what it holds.
AUDIT_EVERY_ROWS = 200_000
#: Callers that cannot wait for GX (on-demand inquiries) have their batches audited in the background this often.
BACKGROUND_AUDIT_INTERVAL_S = 60.0


@dataclass(frozen=True)
class LandingResult:
    """What one landing wrote: counts, the two paths (None when that side is empty) and why rows were rejected."""

    feed: str
    batch_id: str
    partition: date
    valid_rows: int
    rejected_rows: int
    landing_path: Path | None
    quarantine_path: Path | None
    reasons: Counter[str] = field(default_factory=Counter)
    rejected: pa.Table | None = field(default=None, repr=False, compare=False)

    def rejected_reasons_by(self, column: str) -> dict[str, str]:
        """Each value of ``column`` among rejected rows -> its rows' distinct reasons, joined."""
        if self.rejected is None or self.rejected.num_rows == 0:
            return {}
        by_key: dict[str, list[str]] = {}
        keys = self.rejected.column(column).to_pylist()
        for key, reasons in zip(keys, self.rejected.column(REASONS_COLUMN).to_pylist(), strict=True):
            if key is None:
                continue
            seen = by_key.setdefault(key, [])
            seen.extend(r for r in reasons if r not in seen)
        return {key: REASON_SEPARATOR.join(reasons) for key, reasons in by_key.items()}

    def as_dict(self) -> dict[str, object]:
        """A small JSON-friendly summary (for a DAG task's return value)."""
        return {
            "feed": self.feed,
            "batch_id": self.batch_id,
            "partition": self.partition.isoformat(),
            "valid_rows": self.valid_rows,
            "rejected_rows": self.rejected_rows,
            "landing_path": str(self.landing_path) if self.landing_path else None,
            "quarantine_path": str(self.quarantine_path) if self.quarantine_path else None,
            "reasons": dict(self.reasons),
        }


def check_batch_id(batch_id: str) -> str:
    """``batch_id`` if it is safe as a file name, else :class:`LandingError`."""
    if not isinstance(batch_id, str) or not BATCH_ID_PATTERN.fullmatch(batch_id):
        raise LandingError(
            f"batch id {batch_id!r} must match {BATCH_ID_PATTERN.pattern} (see estelam.core.keys.safe_batch_id)"
        )
    return batch_id


def batch_path(root: Path, feed: str, partition: date, batch_id: str) -> Path:
    """Where one batch of one feed lives under ``root`` (landing or quarantine)."""
    return root / feed / f"dt={partition.isoformat()}" / f"{check_batch_id(batch_id)}.parquet"


def _with_lineage(table: pa.Table, batch_id: str, landed_at: datetime) -> pa.Table:
    n = table.num_rows
    schema = pa.schema([*table.schema, *LINEAGE_FIELDS], metadata=table.schema.metadata)
    columns = [*table.columns,
               pa.array([batch_id] * n, type=pa.string()),
               pa.array([landed_at] * n, type=pa.timestamp("us", tz="UTC"))]
    return pa.Table.from_arrays(columns, schema=schema)


def _write_atomically(table: pa.Table, path: Path) -> None:
    """Write ``path`` so that readers see the old file or the new one, never a part."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=TEMP_PREFIX + path.stem + ".", suffix=TEMP_SUFFIX)
    except OSError as exc:
        raise LandingError(f"cannot create {path.parent}: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as sink:
            pq.write_table(table, sink, compression=PARQUET_COMPRESSION)
            sink.flush()
            os.fsync(sink.fileno())  # the rename must not overtake the data on a crash
        os.replace(tmp, path)
    except (OSError, pa.ArrowException) as exc:
        tmp.unlink(missing_ok=True)
        raise LandingError(f"cannot write {path}: {exc}") from exc


def _remove_stale(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise LandingError(f"cannot remove stale {path}: {exc}") from exc


def land(contract: FeedContract, outcome: ValidationOutcome, *, batch_id: str, partition: date,
         roots: tuple[Path, Path] | None = None) -> LandingResult:
    """Write a validated batch: valid rows to landing, rejected rows (if any) to quarantine.

    Replaces whatever an earlier landing of the same feed, partition and batch id wrote. ``roots`` (landing,
    quarantine) default to the settings' folders.
    """
    check_batch_id(batch_id)
    if outcome.feed != contract.feed:
        raise LandingError(f"outcome of feed {outcome.feed!r} cannot land as feed {contract.feed!r}")
    if not outcome.valid.schema.equals(contract.arrow_schema()):
        raise LandingError(f"feed {contract.feed!r}: valid rows do not have the contract's schema")
    landing_root, quarantine_root = roots or (settings.landing_dir(), settings.quarantine_dir())
    landing_path = batch_path(landing_root, contract.feed, partition, batch_id)
    quarantine_path = batch_path(quarantine_root, contract.feed, partition, batch_id)
    landed_at = clock.now()

    if outcome.valid_rows:
        _write_atomically(_with_lineage(outcome.valid, batch_id, landed_at), landing_path)
    else:
        _remove_stale(landing_path)
    if outcome.rejected_rows:
        _write_atomically(_with_lineage(outcome.rejected, batch_id, landed_at), quarantine_path)
    else:
        _remove_stale(quarantine_path)

    return LandingResult(
        feed=contract.feed,
        batch_id=batch_id,
        partition=partition,
        valid_rows=outcome.valid_rows,
        rejected_rows=outcome.rejected_rows,
        landing_path=landing_path if outcome.valid_rows else None,
        quarantine_path=quarantine_path if outcome.rejected_rows else None,
        reasons=outcome.reasons_summary(),
        rejected=outcome.rejected,
    )


def validate_and_land(
    feed_name: str,
    records: Sequence[Mapping[str, object]] | pa.Table,
    *,
    batch_id: str,
    partition: date,
    engine: Engine = Engine.GX,
) -> LandingResult:
    """Validate ``records`` against the feed's contract and land them: the one entry point of every producer.

    ``engine``: GX (the default) or the same rules compiled (the on-demand path; see ``validation.Engine``)."""
    check_batch_id(batch_id)  # before the work, not after
    contract = contracts.feed(feed_name)
    return _logged(land(contract, validate(contract, records, engine=engine), batch_id=batch_id, partition=partition))


def _logged(result: LandingResult) -> LandingResult:
    logger.log(logging.WARNING if result.rejected_rows else logging.DEBUG,
               "%s batch %s: %d rows landed, %d quarantined %s", result.feed, result.batch_id, result.valid_rows,
               result.rejected_rows, dict(result.reasons) if result.rejected_rows else "",
               extra=event_fields(feed=result.feed, batch_id=result.batch_id, landed=result.valid_rows,
                                  quarantined=result.rejected_rows))
    return result


class AuditedLanding:
    """Land batches of one feed as the contract's compiled rules judge them, then have the feed's GX suite audit
    all of them in one run: GX stays the authority, and its fixed cost (0.1–0.25 s a run, whatever the size) is
    paid once per audit instead of once per batch. The hot paths (case-event files, inquiry rounds) land this way.

    Where GX disagrees, the batch is landed again as GX judged it (landing replaces) and
    :class:`ValidationDisagreement` is raised, so the task fails where it can be seen. With the setting
    ``validation = "gx"`` every batch is validated by GX itself and there is nothing to audit.

    Use it as a context manager: leaving the block without an error audits what is pending. Batches are also
    audited whenever more than :data:`AUDIT_EVERY_ROWS` rows wait, so the rows held stay bounded.

    With a ``spool`` folder, the audit is left to whoever audits that folder (:func:`audit_spooled`): each batch's
    input is written there as it lands, and one GX run per feed then audits the batches of many tasks (the
    inquiry DAG's mapped rounds, one per agency, are audited by its last task). With the setting
    ``validation = "background"`` every audited landing spools (to :func:`background_spool` unless it names its
    own folder) and the audit worker (``estelam audit-worker``, :mod:`estelam.ingest.audit_worker`), a long-lived
    process that built GX's context once, audits them: GX's cost leaves the process that lands.
    """

    def __init__(self, feed_name: str, *, spool: Path | None = None) -> None:
        self.contract = contracts.feed(feed_name)
        if spool is None and settings.current().validation == "background":
            spool = background_spool()
        self.spool = spool
        self._lock = threading.Lock()  # one landing may be shared by threads (the on-demand inquiries)
        self._pending: list[_Pending] = []
        self._pending_rows = 0
        self.audited_rows = 0

    @property
    def engine(self) -> Engine:
        return Engine.GX if settings.current().validation == "gx" else Engine.COMPILED

    @property
    def pending_rows(self) -> int:
        return self._pending_rows

    def __enter__(self) -> AuditedLanding:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        if exc_type is None:
            self.audit()

    def land(self, records: Sequence[Mapping[str, object]] | pa.Table, *, batch_id: str,
             partition: date) -> LandingResult:
        """Validate one batch with the compiled rules and land it; GX audits it at the next :meth:`audit`."""
        check_batch_id(batch_id)
        outcome = validate(self.contract, records, engine=self.engine)
        roots = (settings.landing_dir(), settings.quarantine_dir())
        if self.spool is not None and outcome.judged is not None:  # spooled before it lands: never landed unaudited
            _spool(self.spool, self.contract.feed, _Spooled(records, batch_id, partition, roots))
        result = _logged(land(self.contract, outcome, batch_id=batch_id, partition=partition, roots=roots))
        if outcome.judged is not None and self.spool is None and self._hold(_Pending(outcome, batch_id, partition,
                                                                                      roots)):
            self.audit()
        return result

    def _hold(self, pending: _Pending) -> bool:
        """Keep a landed batch for the next audit; True when enough rows wait to audit them now."""
        with self._lock:
            self._pending.append(pending)
            self._pending_rows += pending.outcome.input_rows
            return self._pending_rows >= AUDIT_EVERY_ROWS

    def audit(self) -> AuditReport | None:
        """One GX run over every batch landed since the last audit (None when none waits)."""
        with self._lock:
            pending, self._pending, self._pending_rows = self._pending, [], 0
        if not pending:
            return None
        report = audit(self.contract, [p.outcome for p in pending])
        self.audited_rows += report.rows
        if not report.disagreements:
            logger.debug("%s: GX audit agrees on %d rows of %d batches", self.contract.feed, report.rows,
                         len(pending))
            return report
        differing = sorted({d.batch for d in report.disagreements})
        for b in differing:
            again = pending[b]
            _logged(land(self.contract, report.outcomes[b], batch_id=again.batch_id, partition=again.partition,
                         roots=again.roots))
        message = (f"feed {self.contract.feed!r}: GX judged {len(report.disagreements)} rows of "
                   f"{len(differing)} batches differently from the compiled rules; those batches were landed "
                   f"again as GX judged them ({report.first_disagreements()})")
        logger.error(message, extra=event_fields(feed=self.contract.feed, rows=len(report.disagreements),
                                                 batches=[pending[b].batch_id for b in differing]))
        raise ValidationDisagreement(message)


def background_spool() -> Path:
    """Where audited landings leave their batches for the audit worker when ``validation = "background"``."""
    return settings.audit_spool_dir() / "background"


def land_audited(feed_name: str, records: Sequence[Mapping[str, object]] | pa.Table, *, batch_id: str,
                 partition: date) -> LandingResult:
    """Land one batch as the contract's compiled rules judge it, audited by GX: at once, or by the audit worker
    (``validation = "background"``); with ``validation = "gx"``, GX judges it itself. For producers of a batch at
    a time (a cycle's orders, a push's receipts): the feed's data lands as :func:`validate_and_land` would land it,
    and GX stays the authority."""
    with AuditedLanding(feed_name) as landing:
        return landing.land(records, batch_id=batch_id, partition=partition)


@dataclass(frozen=True)
class _Spooled:
    """A landed batch's input, kept in the spool folder until GX audits it."""

    records: Sequence[Mapping[str, object]] | pa.Table
    batch_id: str
    partition: date
    roots: tuple[Path, Path]


#: A spooled batch's file: ``<spool>/<feed>/<batch id>.pickle``. A batch landed again replaces its landing and its
#: spooled input alike, so the audit judges what is landed.
SPOOL_SUFFIX = ".pickle"


def _spool(spool: Path, feed: str, batch: _Spooled) -> None:
    """Keep a batch's input for a later audit. Pickle, because the input is whatever a producer handed over
    (Python values an Arrow schema may not hold: that is what validation is for); the hub writes these files under
    its own data directory and reads back only its own."""
    folder = spool / feed
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{batch.batch_id}{SPOOL_SUFFIX}"
    temporary = folder / f"{TEMP_PREFIX}{final.name}{TEMP_SUFFIX}"
    temporary.write_bytes(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
    os.replace(temporary, final)


def _stamp(path: Path) -> tuple[int, int] | None:
    """A spooled file's identity (inode, modification time); None once it is gone."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


@dataclass(frozen=True)
class SpoolAudit:
    """What :func:`audit_spool` did for one feed."""

    feed: str
    batches: int
    rows: int
    agreed: bool  # False: GX judged some rows differently, and those batches were landed again as GX judged them
    disagreement: str = ""  # what GX judged differently, when it did


def audit_spooled(spool: Path) -> list[SpoolAudit]:
    """Audit every batch spooled under ``spool`` (:func:`audit_spool`), then raise :class:`ValidationDisagreement`
    if GX disagreed on any feed (those batches were landed again as GX judged them)."""
    done = audit_spool(spool)
    failures = [d.disagreement for d in done if not d.agreed]
    if failures:
        raise ValidationDisagreement("; ".join(failures))
    return done


def audit_spool(spool: Path, feeds: Collection[str] | None = None) -> list[SpoolAudit]:
    """Audit every batch spooled under ``spool``: one GX run per feed over all of them (each batch judged again by
    the compiled rules, then by the suite; a run per :data:`AUDIT_EVERY_ROWS` rows at most). An audited batch's
    file is removed (unless it was landed and spooled again meanwhile: the next audit judges that one); where GX
    disagrees, the batch is landed again as GX judged it and the feed's entry says so. Re-running is safe: what
    was audited is gone, what was not is audited by the next run. ``feeds`` limits it to those feeds."""
    done: list[SpoolAudit] = []
    folders = sorted(p for p in spool.iterdir() if p.is_dir() and (feeds is None or p.name in feeds)
                     ) if spool.is_dir() else []
    for folder in folders:
        files = sorted(folder.glob(f"*{SPOOL_SUFFIX}"))
        if not files:
            continue
        landing, rows, failures, audited = AuditedLanding(folder.name), 0, [], []
        for number, path in enumerate(files, start=1):
            due = False
            try:
                read = _stamp(path)
                batch: _Spooled = pickle.loads(path.read_bytes())  # the hub's own file (see _spool)
            except FileNotFoundError:  # audited meanwhile by another auditor
                pass
            else:
                outcome = validate(landing.contract, batch.records, engine=Engine.COMPILED)
                if outcome.judged is not None:
                    due = landing._hold(_Pending(outcome, batch.batch_id, batch.partition, batch.roots))
                    rows += outcome.input_rows
                audited.append((path, read))
            if due or number == len(files):
                try:
                    landing.audit()
                except ValidationDisagreement as exc:
                    failures.append(str(exc))
                for audited_path, stamp in audited:  # audited, re-landed where GX disagreed: done with, unless the
                    if _stamp(audited_path) == stamp:  # batch was landed (and spooled) again meanwhile
                        audited_path.unlink(missing_ok=True)
                audited = []
        done.append(SpoolAudit(folder.name, len(files), rows, not failures, "; ".join(failures)))
        logger.info("%s: GX audited %d spooled batches (%d rows)%s", folder.name, len(files), rows,
                    ": it disagreed with the compiled rules" if failures else "",
                    extra=event_fields(feed=folder.name, batches=len(files), rows=rows))
    return done


@dataclass(frozen=True)
class _Pending:
    """A landed batch waiting for its audit, and where it landed (the settings may differ when it is audited)."""

    outcome: ValidationOutcome
    batch_id: str
    partition: date
    roots: tuple[Path, Path]


class AuditQueue:
    """Audits for callers that must not wait for GX (a judge's on-demand inquiry): one :class:`AuditedLanding` per
    feed shared by every caller, whose pending batches one background thread audits, at most once every
    ``interval_s``. A disagreement is re-landed and logged there (no caller is left to raise it to);
    :meth:`flush` audits what waits now, in the caller's thread (a server's shutdown, a test)."""

    def __init__(self, interval_s: float = BACKGROUND_AUDIT_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._lock = threading.Lock()
        self._landings: dict[str, AuditedLanding] = {}
        self._last = time.monotonic()
        self._running: threading.Thread | None = None
        self.disagreements = 0

    def landing(self, feed_name: str) -> AuditedLanding:
        with self._lock:
            if feed_name not in self._landings:
                self._landings[feed_name] = AuditedLanding(feed_name)
            return self._landings[feed_name]

    def poke(self) -> None:
        """Start a background audit if one is due (some batch waits, the interval passed, none is running)."""
        with self._lock:
            waiting = any(landing.pending_rows for landing in self._landings.values())
            if not waiting or time.monotonic() - self._last < self.interval_s or (
                    self._running is not None and self._running.is_alive()):
                return
            self._last = time.monotonic()
            self._running = threading.Thread(target=self.flush, name="gx-audit", daemon=True)
            self._running.start()

    def flush(self) -> int:
        """Audit every feed's waiting batches now; how many rows GX audited."""
        with self._lock:
            landings = list(self._landings.values())
        rows = 0
        for landing in landings:
            try:
                report = landing.audit()
            except ValidationDisagreement:
                self.disagreements += 1  # re-landed and logged by the landing
                continue
            rows += report.rows if report is not None else 0
        return rows

    def join(self) -> None:
        """Wait for a background audit in progress, if any."""
        running = self._running
        if running is not None:
            running.join()


def landed_glob(feed: str) -> str | None:
    """The Parquet glob of every landed batch of ``feed``; None when nothing landed yet."""
    folder = settings.landing_dir() / feed
    return str(folder / "*" / "*.parquet") if any(folder.glob("*/*.parquet")) else None


# One overload per feed contract (tests/ingest/test_landing_types.py checks they match estelam.contracts.rows).
@overload
def read_landed(feed: Literal["alerts"]) -> list[rows.LandedAlertsRow]: ...
@overload
def read_landed(feed: Literal["case_directives"]) -> list[rows.LandedCaseDirectivesRow]: ...
@overload
def read_landed(feed: Literal["case_events"]) -> list[rows.LandedCaseEventsRow]: ...
@overload
def read_landed(feed: Literal["debtor_notifications"]) -> list[rows.LandedDebtorNotificationsRow]: ...
@overload
def read_landed(feed: Literal["freeze_acknowledgements"]) -> list[rows.LandedFreezeAcknowledgementsRow]: ...
@overload
def read_landed(feed: Literal["freeze_orders"]) -> list[rows.LandedFreezeOrdersRow]: ...
@overload
def read_landed(feed: Literal["inquiries"]) -> list[rows.LandedInquiriesRow]: ...
@overload
def read_landed(feed: Literal["message_log"]) -> list[rows.LandedMessageLogRow]: ...
@overload
def read_landed(feed: Literal["notification_deliveries"]) -> list[rows.LandedNotificationDeliveriesRow]: ...
@overload
def read_landed(feed: Literal["register_pushes"]) -> list[rows.LandedRegisterPushesRow]: ...
@overload
def read_landed(feed: str) -> Sequence[Mapping[str, object]]: ...
def read_landed(feed: str) -> Sequence[Mapping[str, object]]:
    """Every landed row of ``feed`` (empty when nothing landed yet), typed by the feed's contract.

    A feed named by a literal gets its generated row type (``estelam.contracts.rows``); the rows are
    what DuckDB reads back from the Parquet files, so the contract's types hold by construction.
    """
    pattern = landed_glob(feed)
    if pattern is None:
        return []
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        rel = con.execute("select * from read_parquet(?, union_by_name = true)", [pattern])
        names = [d[0] for d in rel.description]
        return [dict(zip(names, row, strict=True)) for row in rel.fetchall()]
