"""Security of the wire: WS-Security UsernameToken, bearer tokens, TLS (one-way and mutual), size limits."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import ipaddress
import os
import ssl
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from connectors.credentials import Credentials, demo_credentials, resolve_credentials
from connectors.mapped import mapped_client
from connectors.rest import RestAgencyClient, RestOperation
from connectors.soap import SoapWire
from connectors.wire import SOAP_ENV_NS, WSSE_NS, WSU_NS
from connectors.xml_safety import MAX_DOCUMENT_BYTES, DocumentTooLarge, check_size, parse_untrusted
from estelam.contracts.registry import load_agency_registry
from estelam.core import settings
from estelam.core.domain import AgencyInstance, InquiryAnswer, TlsOptions
from estelam.core.exceptions import AgencyAnswerMalformed, AgencyFault, ContractError
from estelam.core.kinds import mapping_at
from simulators.agency_state import AgencyState
from simulators.mapped_app import mapped_application
from simulators.server import Response, RunningServer
from simulators.world import World, generate
from simulators.ws_security import PASSWORD_DIGEST
from tests.mapping_support import drawn_assets

REGISTRY = load_agency_registry()
BANK = REGISTRY.instance("bank_melli")
VEHICLES = REGISTRY.instance("traffic_police")
SECRET = Credentials("hub-user", "s3cret-passw0rd")


@pytest.fixture(scope="module")
def world() -> World:
    return generate(REGISTRY.instances, n_persons=120)  # some persons bank at bank_melli


@pytest.fixture(scope="module")
def owner(world: World) -> str:
    return drawn_assets(world, BANK)[0][0]  # a holder of an account the bank's generated simulator draws


def _serve(instance: AgencyInstance, world: World, credentials: Credentials | None,
           ssl_context: ssl.SSLContext | None = None) -> RunningServer:
    state = AgencyState(instance, [])  # every agency kind's simulator is its mapping's generated one
    app = mapped_application(state, mapping_at(Path(str(instance.mapping_file))), world, credentials)
    return RunningServer(app, ssl_context=ssl_context)


@pytest.fixture(scope="module")
def guarded_bank(world: World) -> Iterator[AgencyInstance]:
    with _serve(BANK, world, SECRET) as server:
        yield dataclasses.replace(BANK, endpoint=server.url)


@pytest.fixture(scope="module")
def guarded_vehicles(world: World) -> Iterator[AgencyInstance]:
    with _serve(VEHICLES, world, SECRET) as server:
        yield dataclasses.replace(VEHICLES, endpoint=server.url)


# --- WS-Security UsernameToken ---------------------------------------------------------------------------


def test_soap_with_the_right_token_is_answered(guarded_bank: AgencyInstance, owner: str) -> None:
    client = mapped_client(guarded_bank, credentials=SECRET)
    assert client.inquire(owner, "r1").assets
    assert isinstance(client.inquire_batch([owner], "r2")[owner], InquiryAnswer)
    client.close()


@pytest.mark.parametrize("credentials", [Credentials("hub-user", "wrong"), Credentials("intruder", SECRET.secret),
                                         None], ids=["wrong-password", "wrong-user", "no-token"])
def test_soap_without_the_right_token_is_an_authentication_fault(guarded_bank: AgencyInstance, owner: str,
                                                                 credentials: Credentials | None) -> None:
    client = mapped_client(guarded_bank, credentials=credentials)
    with pytest.raises(AgencyFault) as caught:
        client.inquire(owner, "r-auth")
    client.close()
    assert caught.value.status_code == 401
    assert "Client.Authentication" in str(caught.value)
    assert not caught.value.transient


def _envelope(person_id: str, token: str) -> bytes:
    return (f'<s:Envelope xmlns:s="{SOAP_ENV_NS}"><s:Header><wsse:Security xmlns:wsse="{WSSE_NS}" '
            f'xmlns:wsu="{WSU_NS}">{token}</wsse:Security></s:Header><s:Body>'
            f'<InquireAccounts xmlns="urn:estelam:agency:bank:v1"><personId>{person_id}</personId>'
            "<requestId>raw</requestId></InquireAccounts></s:Body></s:Envelope>").encode()


def _digest_token(credentials: Credentials, nonce: bytes, created: datetime) -> str:
    stamp = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = base64.b64encode(hashlib.sha1(nonce + stamp.encode() + credentials.secret.encode()).digest()).decode()
    return (f"<wsse:UsernameToken><wsse:Username>{credentials.username}</wsse:Username>"
            f'<wsse:Password Type="{PASSWORD_DIGEST}">{digest}</wsse:Password>'
            f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce><wsu:Created>{stamp}</wsu:Created>"
            "</wsse:UsernameToken>")


def test_a_replayed_or_stale_digest_is_refused(guarded_bank: AgencyInstance, owner: str) -> None:
    url = f"{guarded_bank.endpoint}/soap"
    token = _digest_token(SECRET, os.urandom(16), datetime.now(UTC))
    assert httpx.post(url, content=_envelope(owner, token)).status_code == 200
    replay = httpx.post(url, content=_envelope(owner, token))
    assert replay.status_code == 500 and b"Client.Authentication" in replay.content and b"replay" in replay.content
    stale = _digest_token(SECRET, os.urandom(16), datetime.now(UTC) - timedelta(minutes=30))
    refused = httpx.post(url, content=_envelope(owner, stale))
    assert b"clock skew" in refused.content


def test_a_password_text_token_is_accepted(guarded_bank: AgencyInstance, owner: str) -> None:
    token = (f"<wsse:UsernameToken><wsse:Username>{SECRET.username}</wsse:Username>"
             f"<wsse:Password>{SECRET.secret}</wsse:Password></wsse:UsernameToken>")
    assert httpx.post(f"{guarded_bank.endpoint}/soap", content=_envelope(owner, token)).status_code == 200


# --- bearer tokens ---------------------------------------------------------------------------------------


def _vehicle_owner(world: World) -> str:
    return drawn_assets(world, VEHICLES)[0][0]


def test_rest_with_the_right_bearer_token_is_answered(guarded_vehicles: AgencyInstance, world: World) -> None:
    holder = _vehicle_owner(world)
    with closing(mapped_client(guarded_vehicles, credentials=SECRET)) as client:
        assert client.inquire(holder, "r1").assets
        assert isinstance(client.inquire_batch([holder], "r2")[holder], InquiryAnswer)


@pytest.mark.parametrize("credentials", [Credentials("hub", "wrong"), None], ids=["wrong-token", "no-token"])
def test_rest_without_the_right_bearer_token_is_401(guarded_vehicles: AgencyInstance, owner: str,
                                                    credentials: Credentials | None) -> None:
    with closing(mapped_client(guarded_vehicles, credentials=credentials)) as client, \
            pytest.raises(AgencyFault) as caught:
        client.inquire(owner, "r-auth")
    assert caught.value.status_code == 401 and "bearer token" in str(caught.value)
    assert not caught.value.transient
    document = httpx.get(f"{guarded_vehicles.endpoint}/openapi.yaml")  # the contract itself is public
    assert document.status_code == 200


# --- where credentials come from -------------------------------------------------------------------------


def test_credentials_come_from_the_environment_or_a_file_or_the_demo_default(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bank = dataclasses.replace(BANK, credentials="env:ESTELAM_TEST_BANK_SECRET", demo_credentials=False)
    monkeypatch.setenv("ESTELAM_TEST_BANK_SECRET", "teller:pa:ss")
    assert resolve_credentials(bank) == Credentials("teller", "pa:ss")
    monkeypatch.delenv("ESTELAM_TEST_BANK_SECRET")
    with pytest.raises(ContractError, match="ESTELAM_TEST_BANK_SECRET"):
        resolve_credentials(bank)
    assert resolve_credentials(dataclasses.replace(bank, demo_credentials=True)) == demo_credentials(bank)
    token = tmp_path / "traffic_police.token"
    token.write_text("tok-123\n")
    assert resolve_credentials(dataclasses.replace(VEHICLES, credentials=f"file:{token}")) == Credentials(
        "estelam-hub", "tok-123")
    assert resolve_credentials(dataclasses.replace(VEHICLES, credentials=None)) is None
    assert "tok-123" not in repr(resolve_credentials(dataclasses.replace(VEHICLES, credentials=f"file:{token}")))


def test_every_registry_instance_names_its_credentials() -> None:
    for instance in REGISTRY.instances:
        assert instance.credentials == f"env:ESTELAM_CRED_{instance.agency_id.upper()}"
        assert instance.demo_credentials


# --- TLS -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _issue(name: str, issuer_key: ec.EllipticCurvePrivateKey | None, issuer: x509.Name | None,
           folder: Path, *, ca: bool = False, server: bool = False) -> tuple[Path, Path, ec.EllipticCurvePrivateKey,
                                                                               x509.Name]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer or subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(
            "127.0.0.1"))]), critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path, key, subject


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_cert, _, ca_key, ca_name = _issue("test-ca", None, None, folder, ca=True)
    server_cert, server_key, _, _ = _issue("agency", ca_key, ca_name, folder, server=True)
    client_cert, client_key, _, _ = _issue("estelam-hub", ca_key, ca_name, folder)
    return Pki(ca_cert, server_cert, server_key, client_cert, client_key)


def _server_context(pki: Pki, *, mutual: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if mutual:  # the agency demands the hub's own certificate
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    return context


@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mutual-tls"])
@pytest.mark.parametrize("agency", [BANK, VEHICLES], ids=["soap", "rest"])
def test_inquiries_over_tls_trust_the_configured_ca(world: World, pki: Pki, agency: AgencyInstance,
                                                    mutual: bool) -> None:
    person = drawn_assets(world, BANK)[0][0] if agency is BANK else _vehicle_owner(world)
    with _serve(agency, world, SECRET, _server_context(pki, mutual=mutual)) as server:
        assert server.url.startswith("https://127.0.0.1:")
        tls = TlsOptions(ca_file=str(pki.ca), client_cert=str(pki.client_cert) if mutual else None,
                         client_key=str(pki.client_key) if mutual else None)
        local = dataclasses.replace(agency, endpoint=server.url, tls=tls)
        client = mapped_client(local, credentials=SECRET)
        try:
            assert client.inquire(person, "tls-1").assets
        finally:
            client.close()
        untrusting = dataclasses.replace(local, tls=None)  # the system store does not know the test CA
        client = mapped_client(untrusting, credentials=SECRET)
        try:
            with pytest.raises(AgencyFault, match="TLS handshake") as caught:
                client.inquire(person, "tls-2")
            assert not caught.value.transient
        finally:
            client.close()


def test_registry_tls_paths_are_relative_to_the_registry(tmp_path: Path) -> None:
    for folder in ("feeds", "kinds"):  # the bank is its mapping's, whose accounts are named by IBAN
        (tmp_path / folder).symlink_to(settings.contracts_dir() / folder, target_is_directory=True)
    registry = tmp_path / "agencies.yaml"
    registry.write_text(
        "instances:\n  - {agency_id: b, kind: bank, endpoint: 'https://bank.example', iban_bank_code: '017',\n"
        "     tls: {ca_file: pki/ca.pem, client_cert: pki/hub.pem, client_key: pki/hub.key},\n"
        "     credentials: 'file:secrets/b.txt', rate_limit_per_s: 20}\n")
    instance = load_agency_registry(registry).instance("b")
    assert instance.tls == TlsOptions(str(tmp_path / "pki/ca.pem"), str(tmp_path / "pki/hub.pem"),
                                      str(tmp_path / "pki/hub.key"))
    assert instance.credentials == f"file:{tmp_path / 'secrets/b.txt'}"
    assert (instance.rate_limit_per_s, instance.iban_bank_code, instance.demo_credentials) == (20.0, "017", False)


# --- huge documents --------------------------------------------------------------------------------------


def test_documents_above_the_limit_are_refused_before_parsing() -> None:
    check_size(MAX_DOCUMENT_BYTES)
    with pytest.raises(DocumentTooLarge, match="exceeds the limit"):
        parse_untrusted(b"<a>" + b"x" * MAX_DOCUMENT_BYTES + b"</a>")


def test_huge_answers_are_refused_by_both_clients() -> None:
    huge = b"<a>" + b"x" * 50_000 + b"</a>"
    with RunningServer(lambda request: Response(200, huge, {"Content-Type": "text/xml"})) as server:
        # the SOAP wire, which the generic client sends every SOAP kind's operations through
        soap = SoapWire(dataclasses.replace(BANK, endpoint=server.url), "{urn:estelam:agency:bank:v1}BankSoapBinding",
                        max_answer_bytes=10_000)
        with pytest.raises(AgencyAnswerMalformed, match="exceeds the limit of 10000 bytes"), \
                soap._agency_call("InquireAccounts", "huge"):
            soap._call("InquireAccounts", personId="0000000000", requestId="huge")
        soap.close()
        # the REST wire, which the generic client sends every REST kind's operations through
        rest = RestAgencyClient(dataclasses.replace(VEHICLES, endpoint=server.url), max_answer_bytes=10_000)
        with pytest.raises(AgencyAnswerMalformed, match="exceeds the limit of 10000 bytes"):
            rest._send("listVehicles", RestOperation("GET", "/v1/owners/{personId}/vehicles", "listVehicles"),
                       "/v1/owners/0000000000/vehicles", "huge")
        rest.close()


def test_a_huge_request_is_refused_by_the_simulator_with_a_clear_fault(guarded_bank: AgencyInstance) -> None:
    body = (f'<s:Envelope xmlns:s="{SOAP_ENV_NS}"><s:Body><!--').encode() + b"x" * MAX_DOCUMENT_BYTES + b"--></s:Body>"
    refused = httpx.post(f"{guarded_bank.endpoint}/soap", content=body, timeout=30)
    assert refused.status_code == 500
    assert b"soap:Client" in refused.content and b"exceeds the limit" in refused.content
