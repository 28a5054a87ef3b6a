"""Clients for partner agencies, built from their contracts in ``contracts/``."""

from __future__ import annotations

from connectors.base import AgencyClient
from estelam.domain import AgencyInstance, Protocol


def client_for(instance: AgencyInstance) -> AgencyClient:
    """The client that speaks ``instance``'s contract (zeep for SOAP, httpx for REST)."""
    if instance.protocol is Protocol.SOAP:
        from connectors.soap import SoapAgencyClient

        return SoapAgencyClient(instance)
    from connectors.rest import RestAgencyClient

    return RestAgencyClient(instance)


__all__ = ["AgencyClient", "client_for"]
