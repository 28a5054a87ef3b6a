"""Freezes and releases: the planner (pure: the one definition the warehouse's SQL allocation is tested
against), the order ledger derived from immutable logs, reconciliation that pushes the difference, agencies'
acknowledgements and debtor notifications.

May import: core, contracts, connectors, ingest, cases, warehouse (reads), outputs (delivery, alerts). Names are
loaded on first use, so importing the planner never pulls in the connectors.
"""

from __future__ import annotations

from typing import Any

#: Public name -> the module of this room that defines it (imported on first use).
_EXPORTS = {
    "AssetNews": "planner",
    "CaseFacts": "ledger",
    "CycleSummary": "reconciliation",
    "HubView": "ledger",
    "INDIVISIBLE_KINDS": "planner",
    "IssuedOrder": "ledger",
    "KnownAsset": "planner",
    "LIQUIDITY_RANK": "planner",
    "LandedLedger": "reconciliation",
    "LedgerState": "ledger",
    "MAX_ACKNOWLEDGEMENTS_PER_CALL": "acknowledgements",
    "MemoryLedger": "reconciliation",
    "ORDERS_FEED": "ledger",
    "OpenCase": "planner",
    "OrderStatus": "ledger",
    "PostedAcknowledgement": "acknowledgements",
    "ReasonCode": "ledger",
    "SUBSISTENCE_MINIMUM_RIAL": "planner",
    "acknowledgement_record": "ledger",
    "acknowledgements_of": "acknowledgements",
    "compliance_scoreboard": "ledger",
    "land_acknowledgements": "acknowledgements",
    "ledger_state": "ledger",
    "load_view": "reconciliation",
    "order_id_for": "ledger",
    "orders_of": "acknowledgements",
    "plan_freezes": "planner",
    "plan_orders": "ledger",
    "plan_table": "planner",
    "push_orders": "reconciliation",
    "reconcile": "reconciliation",
    "run_cycle": "reconciliation",
    "smallest_covering_set": "planner",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)


__all__ = [
    "INDIVISIBLE_KINDS",
    "LIQUIDITY_RANK",
    "MAX_ACKNOWLEDGEMENTS_PER_CALL",
    "ORDERS_FEED",
    "SUBSISTENCE_MINIMUM_RIAL",
    "AssetNews",
    "CaseFacts",
    "CycleSummary",
    "HubView",
    "IssuedOrder",
    "KnownAsset",
    "LandedLedger",
    "LedgerState",
    "MemoryLedger",
    "OpenCase",
    "OrderStatus",
    "PostedAcknowledgement",
    "ReasonCode",
    "acknowledgement_record",
    "acknowledgements_of",
    "compliance_scoreboard",
    "land_acknowledgements",
    "ledger_state",
    "load_view",
    "order_id_for",
    "orders_of",
    "plan_freezes",
    "plan_orders",
    "plan_table",
    "push_orders",
    "reconcile",
    "run_cycle",
    "smallest_covering_set",
]
