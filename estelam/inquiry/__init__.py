"""Asking agencies about persons: batched inquiry rounds (the DAG path) and the on-demand inquiry for one debtor,
each inquiry ending in one recorded state.

May import: core, contracts, connectors, ingest, outputs (a round's alerts).
"""

from __future__ import annotations

from estelam.inquiry.on_demand import inquire_person, on_demand_round_id, warm_up
from estelam.inquiry.rounds import InquiryTarget, asset_record, inquire_agencies, inquire_agency, plan_round, run_round

__all__ = [
    "InquiryTarget",
    "asset_record",
    "inquire_agencies",
    "inquire_agency",
    "inquire_person",
    "on_demand_round_id",
    "plan_round",
    "run_round",
    "warm_up",
]
