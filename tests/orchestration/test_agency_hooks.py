"""Agency endpoints and credentials as Airflow Connections: the hook reads them per task, so a rotated secret
takes effect at the next task; without a connection the registry's entry stands."""

from __future__ import annotations

import json

import pytest

from connectors.credentials import FROM_REGISTRY, Credentials
from estelam.contracts.registry import load_agency_registry
from estelam.core.exceptions import AgencyError
from estelam.orchestration.agency_hooks import RestAgencyHook, SoapAgencyHook, hook_for
from simulators.server import Request, Response, RunningServer


def test_without_a_connection_the_registry_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_ESTELAM_AGENCY_BANK_MELLI", raising=False)
    bank = load_agency_registry().instance("bank_melli")
    hook = hook_for(bank)
    assert isinstance(hook, SoapAgencyHook)
    assert hook.resolve() == (bank, FROM_REGISTRY)


def test_a_soap_agencys_connection_gives_endpoint_user_and_password(monkeypatch: pytest.MonkeyPatch) -> None:
    bank = load_agency_registry().instance("bank_melli")
    monkeypatch.setenv("AIRFLOW_CONN_ESTELAM_AGENCY_BANK_MELLI", json.dumps(
        {"conn_type": "estelam_soap_agency", "host": "bank-melli.example", "schema": "https", "port": 8443,
         "login": "estelam-hub", "password": "from-the-vault-1"}))
    instance, credentials = hook_for(bank).resolve()
    assert instance.endpoint == "https://bank-melli.example:8443" and instance.agency_id == "bank_melli"
    assert credentials == Credentials("estelam-hub", "from-the-vault-1")


def test_a_rotated_token_is_used_by_the_next_task(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str | None] = []

    def agency(request: Request) -> Response:
        seen.append(request.headers.get("authorization"))
        return Response(401, b'{"detail": "unknown token"}', {"Content-Type": "application/json"})

    depository = load_agency_registry().instance("csdi")
    with RunningServer(agency) as server:
        for secret in ("token-before-rotation", "token-after-rotation"):
            monkeypatch.setenv("AIRFLOW_CONN_ESTELAM_AGENCY_CSDI", json.dumps(
                {"conn_type": "estelam_rest_agency", "host": server.url, "password": secret}))
            hook = hook_for(depository)  # a new task
            assert isinstance(hook, RestAgencyHook)
            client = hook.get_client()
            try:
                with pytest.raises(AgencyError, match="401"):
                    client.inquire("0012345679", "r1")
            finally:
                client.close()
    assert seen == ["Bearer token-before-rotation", "Bearer token-after-rotation"]
