"""Contracts first: loading the feed contracts and the agency registry from ``contracts/``, and what is
generated from them: the dbt sources (``dbt_sources``) and the typed rows of every feed (``rows``, by ``row_types``).

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
