"""The hub's configuration: one :class:`Settings` object, read once from the environment and passed down.

Every value has an embedded default so the demo runs with no configuration; a deployment sets
``ESTELAM_*`` environment variables (see ``.env.example`` and ``docs/operations.md``):

==========================  =====================================================================
variable                    what
==========================  =====================================================================
ESTELAM_DATA_DIR            root of landing, quarantine, warehouse, reports, audit (``data/``)
ESTELAM_CONTRACTS_DIR       agency registry, interface files, feed contracts (``contracts/``)
ESTELAM_JURISDICTION        the country profile, ``contracts/jurisdictions/<id>.yaml``: ``ir`` (default) or ``sa``
ESTELAM_WAREHOUSE           the one DuckDB file dbt writes (``<data>/warehouse.duckdb``)
ESTELAM_ENDPOINTS_FILE      JSON ``agency_id -> base URL`` overriding the registry's endpoints
ESTELAM_API_TOKENS          the API's token file (SHA-256 digests); the demo tokens without it
ESTELAM_API_PUBLIC_URL      where callers reach the API (its WSDL's soap:address); ``http://127.0.0.1:8000``
ESTELAM_LOG_FORMAT          ``plain`` (default) or ``json`` (one JSON object per line, production)
ESTELAM_LOG_LEVEL           ``INFO`` by default
ESTELAM_SUPPRESS_BELOW      statistics: counts below this are never shown (5)
ESTELAM_RECORD_DATABASE     PostgreSQL URL for the audit log, message-log index and consent codes
                            (unset: files and SQLite under the data directory)
ESTELAM_SIGNING_KEY_FILE    Ed25519 checkpoint key (base64 seed); ``<data>/keys/record-signing.key``
ESTELAM_SIGNING_KEY         the same key given inline (a secret manager's injection)
ESTELAM_MESSAGE_RETENTION_DAYS  how long message bodies are kept (the index and hashes stay) (3650)
ESTELAM_RESILIENCE_STORE    redis://… where every process shares each agency's circuit breaker and rate limit
                            (unset: each process keeps its own, shared by its threads and clients)
ESTELAM_SMTP_HOST           the mail server notifications and alerts are sent through (unset: no e-mail)
ESTELAM_SMTP_PORT / _USER / _PASSWORD / _FROM / _STARTTLS   its port (25), login, sender, STARTTLS (off)
ESTELAM_SMS_GATEWAY_URL     the SMS gateway (contracts/agencies/sms_gateway.openapi.yaml) (unset: no SMS)
ESTELAM_SMS_GATEWAY_TOKEN   its bearer token
ESTELAM_DELIVERY_ATTEMPTS   attempts per notification and channel before it is ``failed`` (3)
ESTELAM_DELIVERY_BACKOFF_S  the first wait between attempts, doubled each time (1.0)
ESTELAM_ALERT_EMAILS        operators' addresses alerts are mailed to (comma-separated)
ESTELAM_ALERT_WEBHOOK_URL   where alerts are POSTed as JSON
ESTELAM_VALIDATION          the hot paths' validation: ``audited`` (default: the contract's compiled rules per
                            batch, one Great Expectations audit per task), ``background`` (the compiled rules per
                            batch; batches spooled for ``estelam audit-worker``, a long-lived process that has GX
                            audit them) or ``gx`` (the GX suite on every batch)
==========================  =====================================================================

:func:`current` reads them the first time it is called in a process and keeps the result; code
that runs the hub in-process with other values (the demo, tests) swaps the whole object with
:func:`use` instead of changing ``os.environ``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]

DEFAULT_DATA_DIR = PROJECT_ROOT / "data"
DEFAULT_CONTRACTS_DIR = PROJECT_ROOT / "contracts"
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt"
DAGS_DIR = PROJECT_ROOT / "dags"
#: Where the API is reached when nothing else is configured (``estelam api``'s default bind).
DEFAULT_API_PUBLIC_URL = "http://127.0.0.1:8000"
#: Counts below this are suppressed wherever statistics leave the hub.
DEFAULT_SUPPRESS_BELOW = 5

#: Message bodies are personal data: kept this long, then purged (their hashes stay in the index).
DEFAULT_MESSAGE_RETENTION_DAYS = 3650

#: The deployment's country profile when none is configured (contracts/jurisdictions/ir.yaml).
DEFAULT_JURISDICTION = "ir"

#: Environment variable naming the endpoints file (the simulator fleet writes one for child processes).
ENDPOINTS_FILE_ENV = "ESTELAM_ENDPOINTS_FILE"


class Settings(BaseSettings):
    """Where things are and how the hub behaves; immutable once read."""

    model_config = SettingsConfigDict(env_prefix="ESTELAM_", frozen=True, extra="ignore")

    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="root of landing, quarantine, warehouse, reports")
    contracts_dir: Path = Field(default=DEFAULT_CONTRACTS_DIR, description="registry, interfaces, feed contracts")
    jurisdiction: str = Field(default=DEFAULT_JURISDICTION, pattern=r"^[a-z]{2}$",
                              description="the country profile: contracts/jurisdictions/<id>.yaml")
    warehouse: Path | None = Field(default=None, description="the DuckDB file; <data_dir>/warehouse.duckdb if unset")
    endpoints_file: Path | None = Field(default=None, description="JSON agency_id -> base URL overrides")
    api_tokens: Path | None = Field(default=None, description="the API's token file")
    api_public_url: str = Field(default=DEFAULT_API_PUBLIC_URL, pattern=r"^https?://[^\s]+$",
                                description="the API's public base URL (served in its WSDL, never the Host header)")
    log_format: Literal["plain", "json"] = "plain"
    log_level: str = "INFO"
    suppress_below: int = Field(default=DEFAULT_SUPPRESS_BELOW, ge=1)
    record_database: str | None = Field(default=None, description="postgresql://… for the record stores")
    signing_key_file: Path | None = Field(default=None, description="Ed25519 checkpoint key file")
    signing_key: str | None = Field(default=None, repr=False, description="the checkpoint key, inline")
    message_retention_days: int = Field(default=DEFAULT_MESSAGE_RETENTION_DAYS, ge=1)
    resilience_store: str | None = Field(default=None, description="redis://… for shared breakers and rate limits")
    smtp_host: str | None = Field(default=None, description="the mail server for notifications and alerts")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_from: str = Field(default="notices@estelam.invalid", description="the sender of notices and alerts")
    smtp_starttls: bool = False
    sms_gateway_url: str | None = Field(default=None, description="the SMS gateway's base URL")
    sms_gateway_token: str | None = Field(default=None, repr=False)
    delivery_attempts: int = Field(default=3, ge=1, le=20)
    delivery_backoff_s: float = Field(default=1.0, ge=0)
    alert_emails: str = Field(default="", description="operators' e-mail addresses, comma-separated")
    alert_webhook_url: str | None = None
    validation: Literal["audited", "background", "gx"] = Field(
        default="audited", description="hot paths: compiled rules audited by GX per task or by the audit worker, "
                                       "or GX on every batch")

    @property
    def warehouse_path(self) -> Path:
        return (self.warehouse or self.data_dir / "warehouse.duckdb").resolve()

    def environment(self) -> dict[str, str]:
        """These settings as the ``ESTELAM_*`` variables a child process reads them from (unset fields left out)."""
        return {f"ESTELAM_{name.upper()}": str(value) for name, value in self.model_dump().items()
                if value is not None}

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied and validated (paths given as strings become paths)."""
        return Settings.model_validate(self.model_dump() | changes)


_lock = threading.Lock()
_current: Settings | None = None


def current() -> Settings:
    """The process's settings: read from the environment on first use, then kept."""
    global _current
    if _current is None:
        with _lock:
            if _current is None:
                _current = Settings()
    return _current


@contextmanager
def use(settings: Settings) -> Iterator[Settings]:
    """Run the block with ``settings`` as the process's settings (the in-process demo, tests)."""
    global _current
    with _lock:
        previous, _current = _current, settings
    try:
        yield settings
    finally:
        with _lock:
            _current = previous


def reset() -> None:
    """Forget the settings read so far: the next :func:`current` reads the environment again."""
    global _current
    with _lock:
        _current = None


def data_dir() -> Path:
    """Root of landing, quarantine, warehouse and reports."""
    return current().data_dir.resolve()


def contracts_dir() -> Path:
    """Folder of agency and feed contracts."""
    return current().contracts_dir.resolve()


def landing_dir() -> Path:
    return data_dir() / "landing"


def quarantine_dir() -> Path:
    return data_dir() / "quarantine"


def warehouse_path() -> Path:
    """The single DuckDB file dbt writes."""
    return current().warehouse_path


def reports_dir() -> Path:
    return data_dir() / "reports"


def published_dir() -> Path:
    """The read-only snapshot readers use instead of the warehouse (the KPI marts, the alerts)."""
    return data_dir() / "published"


def audit_spool_dir() -> Path:
    """Landed batches waiting for their Great Expectations audit (``estelam.ingest.landing.audit_spooled``)."""
    return data_dir() / "audit_spool"


def inbox_dir() -> Path:
    """Where the court system drops case-event files."""
    return data_dir() / "inbox"


__all__ = [
    "DAGS_DIR",
    "DBT_PROJECT_DIR",
    "DEFAULT_CONTRACTS_DIR",
    "DEFAULT_DATA_DIR",
    "DEFAULT_JURISDICTION",
    "DEFAULT_MESSAGE_RETENTION_DAYS",
    "DEFAULT_SUPPRESS_BELOW",
    "ENDPOINTS_FILE_ENV",
    "PROJECT_ROOT",
    "Settings",
    "audit_spool_dir",
    "contracts_dir",
    "current",
    "data_dir",
    "inbox_dir",
    "landing_dir",
    "quarantine_dir",
    "reports_dir",
    "reset",
    "use",
    "warehouse_path",
]
