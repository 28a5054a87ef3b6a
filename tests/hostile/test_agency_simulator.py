"""The generated SOAP agency (a bank: contracts/kinds/bank.yaml over bank.wsdl) under a hostile client: forged
tokens must not spend nonces, and a huge invalid
request must not come back as a huge fault."""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from connectors.credentials import Credentials
from connectors.wire import SOAP_ENV_NS, WSSE_NS, WSU_NS
from estelam.contracts.registry import load_agency_registry
from estelam.core.kinds import mapping_at
from simulators.agency_state import AgencyState
from simulators.mapped_app import MappedSoapAgency, mapped_application
from simulators.server import Request
from simulators.world import generate
from simulators.ws_security import PASSWORD_DIGEST

SECRET = Credentials("hub-user", "s3cret-passw0rd")


@pytest.fixture(scope="module")
def bank() -> MappedSoapAgency:
    registry = load_agency_registry()
    instance = registry.instance("bank_melli")
    world = generate(registry.instances, n_persons=20, n_cases=2)
    app = mapped_application(AgencyState(instance, []), mapping_at(Path(str(instance.mapping_file))), world, SECRET)
    assert isinstance(app, MappedSoapAgency)
    return app


def _token(secret: str, nonce: bytes, created: datetime) -> str:
    stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + stamp.encode() + secret.encode()).digest()).decode()
    return (f"<wsse:UsernameToken><wsse:Username>{SECRET.username}</wsse:Username>"
            f'<wsse:Password Type="{PASSWORD_DIGEST}">{digest}</wsse:Password>'
            f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce><wsu:Created>{stamp}</wsu:Created>"
            "</wsse:UsernameToken>")


def _post(bank: MappedSoapAgency, token: str, operation: str) -> tuple[int, bytes]:
    envelope = (f'<s:Envelope xmlns:s="{SOAP_ENV_NS}"><s:Header><wsse:Security xmlns:wsse="{WSSE_NS}" '
                f'xmlns:wsu="{WSU_NS}">{token}</wsse:Security></s:Header><s:Body>{operation}</s:Body></s:Envelope>')
    response = bank(Request("POST", "/soap", {}, {"content-type": "text/xml"}, envelope.encode()))
    return response.status, response.body


INQUIRY = ('<InquireAccounts xmlns="urn:estelam:agency:bank:v1"><personId>0012345679</personId>'
           "<requestId>r</requestId></InquireAccounts>")


def test_a_forged_token_does_not_spend_the_nonce(bank: MappedSoapAgency) -> None:
    nonce, now = os.urandom(16), datetime.now(UTC)
    forged, _ = _post(bank, _token("wrong-password", nonce, now), INQUIRY)
    assert forged == 500
    status, body = _post(bank, _token(SECRET.secret, nonce, now), INQUIRY)  # the real caller, same nonce
    assert status == 200, body
    replay, body = _post(bank, _token(SECRET.secret, nonce, now), INQUIRY)  # a real replay is still refused
    assert replay == 500 and b"replay" in body


@pytest.mark.parametrize("persons", [
    ["x" * 2_000_000],  # one huge value, echoed whole by the schema error
    [f"not-a-person-{n}" * 50 for n in range(500)],  # five hundred errors
], ids=["one-huge-value", "many-errors"])
def test_a_huge_invalid_request_gets_a_small_fault(bank: MappedSoapAgency, persons: list[str]) -> None:
    invalid = "".join(f"<personId>{p}</personId>" for p in persons)
    operation = (f'<InquireAccountsBatch xmlns="urn:estelam:agency:bank:v1"><requestId>r</requestId>{invalid}'
                 "</InquireAccountsBatch>")
    status, body = _post(bank, _token(SECRET.secret, os.urandom(16), datetime.now(UTC)), operation)
    assert status == 500
    fault = etree.fromstring(body)
    assert fault.findtext(".//faultcode") == "soap:Client"
    assert len(body) < 4096, len(body)
    assert "does not follow the contract" in (fault.findtext(".//faultstring") or "")
