"""Taking data in: conforming and validating a batch against its feed's contract (Great Expectations), landing
valid rows and quarantining the rest with reasons, and the court system's case events.

May import: core, contracts.
"""

from __future__ import annotations

from estelam.ingest.case_events import ingest_inbox
from estelam.ingest.landing import (
    LINEAGE_FIELDS,
    AuditedLanding,
    LandingResult,
    land,
    landed_glob,
    read_landed,
    validate_and_land,
)
from estelam.ingest.validation import (
    INPUT_ROW_COLUMN,
    REASONS_COLUMN,
    audit,
    check_column,
    rejected_schema,
    suite_for,
    validate,
)

__all__ = [
    "INPUT_ROW_COLUMN",
    "LINEAGE_FIELDS",
    "REASONS_COLUMN",
    "AuditedLanding",
    "LandingResult",
    "audit",
    "check_column",
    "ingest_inbox",
    "land",
    "landed_glob",
    "read_landed",
    "rejected_schema",
    "suite_for",
    "validate",
    "validate_and_land",
]
