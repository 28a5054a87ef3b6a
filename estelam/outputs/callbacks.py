"""Airflow callbacks, light to import (a DAG file imports this when it is parsed; the work is loaded on failure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def on_task_failure(context: Mapping[str, Any]) -> None:
    """Every DAG's ``on_failure_callback``: a ``task_failed`` alert to the operators (``estelam.outputs.alerts``)."""
    from estelam.outputs.alerts import on_task_failure as raise_task_failed

    raise_task_failed(context)
