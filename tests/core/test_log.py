"""Logging: plain lines for people, JSON lines for production, from the settings object."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from estelam.core.log import OUR_LOGGERS, configure_logging
from estelam.core.settings import Settings


@pytest.fixture(autouse=True)
def _restore_loggers() -> Iterator[None]:
    saved = {name: (logging.getLogger(name).handlers[:], logging.getLogger(name).level,
                    logging.getLogger(name).propagate) for name in OUR_LOGGERS}
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        for added in set(logger.handlers) - set(handlers):
            added.close()
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate


def test_json_lines_carry_the_event_and_its_fields() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), stream=out)
    logging.getLogger("estelam.inquiry.rounds").info("round %s done", "r1", extra={"agency_id": "bank_melli"})
    record = json.loads(out.getvalue().splitlines()[-1])
    assert record["event"] == "round r1 done"
    assert record["level"] == "info"
    assert record["logger"] == "estelam.inquiry.rounds"
    assert record["agency_id"] == "bank_melli"
    assert record["timestamp"].endswith("Z")


def test_plain_lines_and_the_level_from_settings() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_level="WARNING"), stream=out)
    logging.getLogger("connectors.resilience").info("not shown")
    logging.getLogger("connectors.resilience").warning("circuit to %s opened", "bank_sina")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("WARNING connectors.resilience: circuit to bank_sina opened")


def test_configuring_twice_does_not_repeat_lines() -> None:
    out = io.StringIO()
    configure_logging(Settings(), stream=out)
    configure_logging(Settings(), stream=out)
    logging.getLogger("estelam").info("once")
    assert out.getvalue().count("once") == 1


def test_the_terminal_can_show_less_than_the_file(tmp_path: Path) -> None:
    out = io.StringIO()
    trail = tmp_path / "logs" / "estelam.log"
    configure_logging(Settings(), stream=out, file=trail, stream_level=logging.WARNING)
    logging.getLogger("estelam.freeze.reconciliation").info("order o1 sent")
    assert out.getvalue() == ""
    assert "order o1 sent" in trail.read_text(encoding="utf-8")
