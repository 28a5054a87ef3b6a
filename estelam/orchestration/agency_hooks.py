"""Agency endpoints and credentials as Airflow Connections, read through one hook per protocol.

An agency's connection is ``estelam_agency_<agency_id>`` (conn type ``estelam_soap_agency`` or
``estelam_rest_agency``): ``host`` is the base URL (``https://bank.example`` or a host with ``schema`` and
``port``), ``login`` and ``password`` are the WS-Security user and password (SOAP), ``password`` the bearer
token (REST). Airflow reads it where the deployment keeps it — its metadata database, a secrets backend
(Vault, AWS Secrets Manager, …) or an ``AIRFLOW_CONN_ESTELAM_AGENCY_<ID>`` variable — at the start of each
task, so rotating a secret in the secrets backend takes effect at the next task, without recreating workers.

Without a connection, the registry's endpoint and credentials reference stand (``contracts/agencies.yaml``):
the embedded default needs no Airflow database and no connection at all.
"""

from __future__ import annotations

import dataclasses
import logging

from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowNotFoundException

from connectors import ResilientClient, client_for
from connectors.credentials import DEFAULT_USERNAME, FROM_REGISTRY, Credentials, FromRegistry
from estelam.core.domain import AgencyInstance, Protocol

logger = logging.getLogger(__name__)

CONN_ID_PREFIX = "estelam_agency_"


def connection_id(agency_id: str) -> str:
    return f"{CONN_ID_PREFIX}{agency_id}"


class AgencyHook(BaseHook):
    """One agency instance's endpoint and credentials: its Airflow Connection over the registry's defaults."""

    conn_name_attr = "agency_conn_id"
    default_conn_name = CONN_ID_PREFIX
    conn_type = "estelam_agency"
    hook_name = "Estelam agency"

    def __init__(self, instance: AgencyInstance) -> None:
        super().__init__()
        self.instance = instance
        self.agency_conn_id = connection_id(instance.agency_id)

    def resolve(self) -> tuple[AgencyInstance, Credentials | FromRegistry]:
        """The instance with the connection's endpoint, and the connection's credentials (or the registry's)."""
        try:
            connection = self.get_connection(self.agency_conn_id)
        except AirflowNotFoundException:
            return self.instance, FROM_REGISTRY
        instance = self.instance
        if connection.host:
            endpoint = connection.host if "://" in connection.host else (
                f"{connection.schema or 'https'}://{connection.host}")
            if connection.port:
                endpoint = f"{endpoint}:{connection.port}"
            instance = dataclasses.replace(instance, endpoint=endpoint.rstrip("/"))
        if not connection.password:
            return instance, FROM_REGISTRY
        logger.info("agency %s: endpoint and credentials from Airflow connection %s", instance.agency_id,
                    self.agency_conn_id)
        return instance, self.credentials(connection.login, connection.password)

    def credentials(self, login: str | None, password: str) -> Credentials:
        raise NotImplementedError

    def get_client(self, *, shared: str | None = None,
                   resolved: tuple[AgencyInstance, Credentials | FromRegistry] | None = None) -> ResilientClient:
        """The resilient client for the agency, as the connection says to reach it (``resolved``: what
        :meth:`resolve` already returned, so the connection is looked up once)."""
        instance, credentials = resolved or self.resolve()
        return client_for(instance, shared=shared, credentials=credentials)


class SoapAgencyHook(AgencyHook):
    """A SOAP agency: ``login`` and ``password`` are its WS-Security UsernameToken."""

    conn_type = "estelam_soap_agency"
    hook_name = "Estelam SOAP agency"

    def credentials(self, login: str | None, password: str) -> Credentials:
        return Credentials(login or DEFAULT_USERNAME, password)


class RestAgencyHook(AgencyHook):
    """A REST agency: ``password`` is the bearer token."""

    conn_type = "estelam_rest_agency"
    hook_name = "Estelam REST agency"

    def credentials(self, login: str | None, password: str) -> Credentials:
        return Credentials(DEFAULT_USERNAME, password)


def hook_for(instance: AgencyInstance) -> AgencyHook:
    return SoapAgencyHook(instance) if instance.protocol is Protocol.SOAP else RestAgencyHook(instance)


__all__ = ["CONN_ID_PREFIX", "AgencyHook", "RestAgencyHook", "SoapAgencyHook", "connection_id", "hook_for"]
