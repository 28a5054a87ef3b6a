"""The Airflow Assets that chain the DAGs: each names a landed feed or the warehouse."""

from __future__ import annotations

from airflow.sdk import Asset

CASE_EVENTS = Asset(name="landing_case_events", uri="file:///estelam/landing/case_events")
INQUIRY_ANSWERS = Asset(name="landing_inquiry_answers", uri="file:///estelam/landing/inquiries")
FREEZE_ACKNOWLEDGEMENTS = Asset(name="landing_freeze_acknowledgements",
                                uri="file:///estelam/landing/freeze_acknowledgements")
WAREHOUSE = Asset(name="warehouse", uri="file:///estelam/warehouse.duckdb")
