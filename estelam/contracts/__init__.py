"""Contracts first: loading the feed contracts and the agency registry from ``contracts/``, and the dbt sources
generated from them.

May import: core.
"""

from __future__ import annotations

from estelam.contracts.registry import AgencyRegistry, FeedContract, feeds, load_agency_registry

__all__ = [
    "AgencyRegistry",
    "FeedContract",
    "feeds",
    "load_agency_registry",
]
