"""Deterministic identifiers: the same inputs always give the same id, so re-runs replace, never duplicate."""

from __future__ import annotations

import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
#: Landing refuses longer batch ids; a long run id keeps its start and gains a digest of the whole.
MAX_BATCH_ID = 120
#: The length of a :func:`stable_id` (hex digits of its SHA-256).
STABLE_ID_LENGTH = 24


def stable_id(*parts: object, length: int = STABLE_ID_LENGTH) -> str:
    """A short hex digest of ``parts``; stable across processes and machines."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).hexdigest()
    return digest[:length]


def safe_batch_id(raw: str) -> str:
    """A run id (Airflow's contain ':' and '+') made safe for a file name."""
    safe = _UNSAFE.sub("_", raw).strip("_.-") or "batch"
    if len(safe) > MAX_BATCH_ID:
        safe = f"{safe[:MAX_BATCH_ID - 13]}_{stable_id(raw, length=12)}"
    return safe
