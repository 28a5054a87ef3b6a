"""What judges read: the printable asset report per case (HTML and PDF, Persian, Arabic and English).

May import: core, warehouse.
"""

from __future__ import annotations

from estelam.reporting.asset_report import (
    STALE_AFTER,
    CaseReport,
    default_case,
    load_case_report,
    render_case_report,
    render_case_report_pdf,
    write_case_report,
)

__all__ = [
    "STALE_AFTER",
    "CaseReport",
    "default_case",
    "load_case_report",
    "render_case_report",
    "render_case_report_pdf",
    "write_case_report",
]
