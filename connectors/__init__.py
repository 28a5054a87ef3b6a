"""Clients for partner agencies, built from their contracts in ``contracts/``."""

from __future__ import annotations

from connectors.base import AgencyClient
from connectors.resilience import ResilientClient
from estelam.core.domain import AgencyInstance, Protocol


def wire_client_for(instance: AgencyInstance) -> AgencyClient:
    """The bare client that speaks ``instance``'s contract (zeep for SOAP, httpx for REST), one attempt per call."""
    if instance.protocol is Protocol.SOAP:
        from connectors.soap import SoapAgencyClient

        return SoapAgencyClient(instance)
    from connectors.rest import RestAgencyClient

    return RestAgencyClient(instance)


def client_for(instance: AgencyInstance) -> ResilientClient:
    """The client the hub uses for ``instance``: its wire client with retries, deadline, breaker and rate limit."""
    return ResilientClient(wire_client_for(instance))


__all__ = ["AgencyClient", "ResilientClient", "client_for", "wire_client_for"]
