"""Clients for partner agencies, built from their contracts in ``contracts/``."""

from __future__ import annotations

from connectors.base import AgencyClient
from connectors.credentials import FROM_REGISTRY, Credentials, FromRegistry
from connectors.resilience import ResilientClient
from estelam.core.domain import AgencyInstance
from estelam.core.exceptions import ContractError


def wire_client_for(instance: AgencyInstance, *,
                    credentials: Credentials | FromRegistry | None = FROM_REGISTRY) -> AgencyClient:
    """The bare client that speaks ``instance``'s contract as its kind's mapping declares it (the generic client:
    zeep for SOAP, httpx for REST), one attempt per call; ``credentials`` default to what the registry's reference
    resolves to (an Airflow connection may give others)."""
    if not instance.mapping_file:
        raise ContractError(f"agency {instance.agency_id!r}: every kind ({instance.kind} too) is declared by a mapping "
                            f"file (contracts/kinds/{instance.kind}.yaml), and there is none")
    from connectors.mapped import mapped_client

    return mapped_client(instance, credentials=credentials)


def client_for(instance: AgencyInstance, *, shared: str | None = None,
               credentials: Credentials | FromRegistry | None = FROM_REGISTRY) -> ResilientClient:
    """The client the hub uses for ``instance``: its wire client with retries and deadline, and the agency's
    breaker and rate limit shared by every caller (of this process, or of every process using the Redis server
    at ``shared``; see ``connectors.shared_state``)."""
    from connectors.shared_state import shared_state

    state = shared_state(shared)
    rate = instance.rate_limit_per_s
    return ResilientClient(wire_client_for(instance, credentials=credentials),
                           breaker=state.breaker(instance.agency_id),
                           limiter=state.bucket(instance.agency_id, rate) if rate else None)


__all__ = ["AgencyClient", "ResilientClient", "client_for", "wire_client_for"]
