"""Logging for the hub's processes: plain lines for people, JSON lines for production.

Every service module logs through ``logging.getLogger(__name__)``; nothing here is needed for that.
A process's entry point (the CLI, the API server, the demo) calls :func:`configure_logging` once:

- ``ESTELAM_LOG_FORMAT=plain`` (default): ``2026-11-30T10:00:00Z INFO estelam.inquiry.rounds: ...``;
- ``ESTELAM_LOG_FORMAT=json``: one JSON object per line (structlog's renderer over the standard
  library's records), with ``timestamp`` (UTC), ``level``, ``logger``, ``event`` and any ``extra=``
  fields, for a log shipper.

Inside Airflow tasks nothing is configured here: Airflow owns the handlers, and the hub's records
propagate to the root logger, so they reach the task log.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import structlog

from estelam.core import settings as settings_module
from estelam.core.settings import Settings

#: The loggers of our own packages (connectors sit beside estelam).
OUR_LOGGERS = ("estelam", "connectors", "simulators")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Marks the handlers this module installed, so configuring twice replaces rather than duplicates them.
_OURS = "_estelam_handler"


class _UtcFormatter(logging.Formatter):
    """ISO 8601 instants in UTC, whatever the machine's zone."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))


def _json_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
        ],
    )


def _handler(handler: logging.Handler, log_format: str) -> logging.Handler:
    handler.setFormatter(_json_formatter() if log_format == "json" else _UtcFormatter(PLAIN_FORMAT))
    setattr(handler, _OURS, True)
    return handler


def configure_logging(settings: Settings | None = None, *, stream: TextIO | None = None,
                      file: Path | None = None, stream_level: int | str | None = None) -> None:
    """Send our packages' records to ``stream`` (stderr by default) and, if given, to ``file``.

    The level and format come from the settings (``ESTELAM_LOG_LEVEL``, ``ESTELAM_LOG_FORMAT``);
    ``stream_level`` raises the terminal's threshold while the file keeps everything (the demo shows
    warnings on screen and writes the INFO trail to ``data/logs/``).
    """
    settings = settings or settings_module.current()
    handlers: list[logging.Handler] = [_handler(logging.StreamHandler(stream or sys.stderr), settings.log_format)]
    if stream_level is not None:
        handlers[0].setLevel(stream_level)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(_handler(logging.FileHandler(file, encoding="utf-8"), settings.log_format))
    for name in OUR_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, _OURS, False)]:
            logger.removeHandler(old)
            old.close()
        logger.setLevel(settings.log_level.upper())
        for handler in handlers:
            logger.addHandler(handler)
        logger.propagate = False  # our handlers say it once; the root's (if any) would repeat it


def event_fields(**fields: Any) -> dict[str, Any]:
    """``extra=`` for a log call: the fields a JSON line carries beside the message."""
    return {key: value for key, value in fields.items() if value is not None}


__all__ = ["OUR_LOGGERS", "configure_logging", "event_fields"]
