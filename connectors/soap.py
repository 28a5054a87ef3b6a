"""The SOAP wire to agencies, built with zeep from their WSDL in ``contracts/``: the generic client
(``connectors.mapped``) sends every SOAP kind's operations through it, as the kind's mapping declares them.

The WSDL is always read from the local contract file, never fetched from the
agency, and the service is bound to the instance's own endpoint. zeep runs
with strict, hardened settings: no DTDs, no entities, no external references,
and no answer above ``xml_safety.MAX_DOCUMENT_BYTES`` is read. zeep writes every request (the
envelope and its WS-Security header) and httpx sends it, through the agency's pool
(``agency_http.AgencyHttp``: TLS, proxy, the reply deadline on every socket operation); answers are read with lxml
against the WSDL's element shapes (``soap_answers``), not through zeep's object graph, with the same checks. Every
request carries a WS-Security UsernameToken (PasswordDigest) when the registry names
credentials for the instance; TLS trust and the client certificate come from
the instance's ``tls`` options. Every failure leaves as an ``AgencyError`` subclass:

- could not connect, or timed out            -> ``AgencyUnavailable``
- the agency refused the hub's token          -> ``AgencyFault`` (status 401, ``Client.Authentication``)
- the agency answered with another SOAP fault -> ``AgencyFault`` (status 500, the fault string as message;
  transient only for ``Server`` faults: a ``Client`` fault will not change on a retry)
- the agency answered with another HTTP error -> ``AgencyFault`` (its status code)
- the answer is not XML, is hostile XML, is too large, or does not follow the contract -> ``AgencyAnswerMalformed``

What an answer means (which records, which columns, identifiers normalised to Latin digits) is the mapping's, read
by the generic client.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from lxml import etree
from zeep import Client, Settings
from zeep import exceptions as zeep_errors
from zeep.proxy import ServiceProxy
from zeep.transports import Transport
from zeep.wsdl import Document
from zeep.wsdl.utils import etree_to_string
from zeep.wsse.username import UsernameToken

from connectors import message_hook
from connectors.agency_http import AgencyHttp, certificate_refused
from connectors.credentials import FROM_REGISTRY, Credentials, FromRegistry, resolve_credentials
from connectors.soap_answers import NotSoap, Record, Shape, SoapFault, Unexpected, compile_shape, read_reply
from connectors.wire import AUTHENTICATION_FAULT, AUTHENTICATION_STATUS, SOAP_FAULT_STATUS
from connectors.xml_safety import MAX_DOCUMENT_BYTES, DocumentTooLarge, UnsafeXml
from estelam.core import clock
from estelam.core.domain import AgencyInstance
from estelam.core.exceptions import AgencyAnswerMalformed, AgencyFault, AgencyUnavailable

#: Where every SOAP agency listens, below its base URL.
SOAP_PATH = "/soap"
#: Reading the local WSDL file; it never leaves the machine.
DEFAULT_WSDL_LOAD_TIMEOUT_S = 10.0
#: How much of an answer is read per chunk while enforcing the size limit.
_READ_CHUNK_BYTES = 64 * 1024

#: zeep's parser settings: strict, and refusing DTDs, entities and external references in any answer.
HARDENED_SETTINGS = Settings(
    strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True, forbid_external=True
)

#: Errors meaning "the answer cannot be read against the contract" (zeep's, should it read one, and ours).
_MALFORMED_ERRORS: tuple[type[Exception], ...] = (
    Unexpected,
    NotSoap,
    zeep_errors.XMLSyntaxError,
    zeep_errors.XMLParseError,
    zeep_errors.UnexpectedElementError,
    zeep_errors.ValidationError,
    zeep_errors.DTDForbidden,
    zeep_errors.EntitiesForbidden,
    zeep_errors.ExternalReferenceForbidden,
    etree.XMLSyntaxError,
)


class _Unreadable(ValueError):
    """An answer field is missing or has a value outside the contract."""


_documents: dict[tuple[Path, int], Document] = {}
_documents_lock = threading.Lock()
#: Per (WSDL document, binding, operation): the response element's Clark name and its compiled shape.
_replies: dict[tuple[int, str, str], tuple[str, Shape]] = {}


@cache
def _zeep_transport() -> Transport:
    """The transport zeep reads the local WSDL files with, and builds its clients with: it never sends a request
    (``_Poster`` does)."""
    return Transport(timeout=DEFAULT_WSDL_LOAD_TIMEOUT_S, cache=None)


def wsdl_document(path: Path) -> Document:
    """The parsed WSDL at ``path``, parsed once per process (and again if the file changes).

    Sharing is safe: after parsing, a zeep ``Document`` is only read; each client
    sends through its own transport and parses answers with its own settings.
    """
    key = (path.resolve(), path.stat().st_mtime_ns)
    with _documents_lock:
        document = _documents.get(key)
        if document is None:
            # zeep annotates ``transport`` as a class, but Document takes (and uses) an instance
            document = Document(str(key[0]), _zeep_transport(), settings=HARDENED_SETTINGS)  # type: ignore[arg-type]
            _documents[key] = document
        return document


class _HttpStatus(Exception):
    """The agency answered with an HTTP error and no SOAP fault: the status says it."""

    def __init__(self, status_code: int) -> None:
        super().__init__(f"HTTP {status_code}")
        self.status_code = status_code


class _Poster:
    """Posts envelopes over the agency's pool (``connectors.agency_http``) and reads at most ``max_answer_bytes`` of
    any answer (a huge answer is refused unread). zeep writes the envelopes; it does not send them."""

    def __init__(self, http: AgencyHttp | httpx.Client, max_answer_bytes: int) -> None:
        self.http = http
        self.max_answer_bytes = max_answer_bytes

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """(HTTP status, answer): the exchange is on the record (the message log) when one is being kept."""
        if not message_hook.recording():
            return self._post(address, message, headers)
        sent_at = clock.now()
        try:
            status, content = self._post(address, message, headers)
        except Exception as exc:  # the request left (or tried to): it is on the record with why no answer came
            message_hook.record(message, None, sent_at=sent_at, error=f"{type(exc).__name__}: {exc}"[:500])
            raise
        message_hook.record(message, content, sent_at=sent_at, http_status=status)
        return status, content

    def _post(self, address: str, message: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        with self.http.stream("POST", address, content=message, headers=headers) as response:
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > self.max_answer_bytes:
                raise DocumentTooLarge(declared, self.max_answer_bytes)
            body = bytearray()
            for chunk in response.iter_bytes(_READ_CHUNK_BYTES):
                body += chunk
                if len(body) > self.max_answer_bytes:
                    raise DocumentTooLarge(len(body), self.max_answer_bytes)
            return response.status_code, bytes(body)


class SoapWire:
    """The wire to one SOAP agency instance, reached through zeep: the generic client's (``connectors.mapped``)
    for every SOAP kind, which names the binding its mapping declares.

    ``credentials`` default to what the registry's reference resolves to; pass ``None`` to send
    no token (or other ``Credentials``, as tests do). An injected ``http`` client is used as given (its TLS
    settings included) and left open by ``close()``; the wire's own (``connectors.agency_http``) keeps the reply
    deadline.
    """

    def __init__(self, instance: AgencyInstance, binding: str, *, http: AgencyHttp | httpx.Client | None = None,
                 credentials: Credentials | FromRegistry | None = FROM_REGISTRY,
                 max_answer_bytes: int = MAX_DOCUMENT_BYTES) -> None:
        self.instance = instance
        self._binding_name = binding
        self._own_http = http is None
        self._poster = _Poster(http or AgencyHttp(instance), max_answer_bytes)
        if isinstance(credentials, FromRegistry):
            credentials = resolve_credentials(instance)
        # a fresh nonce and creation time per message: a captured message cannot be replayed
        wsse = (UsernameToken(credentials.username, credentials.secret, use_digest=True, zulu_timestamp=True)
                if credentials is not None else None)
        self._address = f"{instance.endpoint}{SOAP_PATH}"
        self._document = wsdl_document(Path(instance.contract))
        # zeep writes the envelopes (and their WS-Security header); the poster sends them, so zeep's own transport
        # (a requests session) never sends anything
        self._client = Client(self._document, transport=_zeep_transport(), settings=HARDENED_SETTINGS, wsse=wsse)
        self._service: ServiceProxy = self._client.create_service(binding, self._address)

    def close(self) -> None:
        """Close the HTTP pool, if this wire opened it."""
        if self._own_http:
            self._poster.http.close()

    def _call(self, operation: str, **fields: object) -> Record:
        """Send ``operation`` (zeep writes the envelope and its WS-Security header); the answer's response element.

        The answer is read with lxml against the operation's response shape from the WSDL (``soap_answers``);
        a SOAP fault raises ``SoapFault``, an HTTP error without one ``_HttpStatus``.
        """
        binding = self._service._binding
        envelope, headers = binding._create(operation, (), fields, client=self._client,
                                            options=self._service._binding_options)
        status, content = self._poster.post(self._address, etree_to_string(envelope), headers)
        response_tag, shape = self._reply_shape(operation)
        try:
            return read_reply(content, max_bytes=self._poster.max_answer_bytes, response=shape,
                              response_tag=response_tag)
        except SoapFault:
            raise
        except Exception:
            if status != 200:  # an HTTP error whose body is no SOAP fault: the status says it
                raise _HttpStatus(status) from None
            raise

    def _reply_shape(self, operation: str) -> tuple[str, Shape]:
        key = (id(self._document), self._binding_name, operation)
        reply = _replies.get(key)
        if reply is None:
            element = self._service._binding.get(operation).output.body
            reply = _replies[key] = (etree.QName(element.qname).text, compile_shape(element))
        return reply

    @contextmanager
    def _agency_call(self, operation: str, request_id: str) -> Iterator[None]:
        """Turn every failure of one call into the matching ``AgencyError``."""
        where: dict[str, Any] = {"agency_id": self.instance.agency_id, "operation": operation,
                                 "request_id": request_id}
        try:
            with message_hook.call_site(self.instance.agency_id, operation, request_id):
                yield
        except httpx.TransportError as exc:
            if isinstance(exc, httpx.ConnectError) and certificate_refused(exc):
                # a certificate the hub does not trust will not change on a retry
                raise AgencyFault(f"TLS handshake with {self.instance.endpoint} failed: {exc}", **where) from exc
            raise AgencyUnavailable(f"no answer from {self.instance.endpoint}: {exc}", **where) from exc
        except (SoapFault, zeep_errors.Fault) as exc:
            code = (exc.code or "").rpartition(":")[2]  # "soap:Client.Authentication" -> "Client.Authentication"
            message = exc.message or "SOAP fault without a fault string"
            if code == AUTHENTICATION_FAULT:
                raise AgencyFault(f"{code}: {message}", status_code=AUTHENTICATION_STATUS, **where) from exc
            fault = AgencyFault(message, status_code=SOAP_FAULT_STATUS, **where)
            fault.transient = not code.startswith("Client")  # the caller's own fault: a retry gets the same
            raise fault from exc
        except _HttpStatus as exc:
            raise AgencyFault(str(exc), status_code=exc.status_code, **where) from exc
        except UnsafeXml as exc:  # DocumentTooLarge included
            raise AgencyAnswerMalformed(f"answer refused: {exc}", **where) from exc
        except etree.XMLSyntaxError as exc:  # an answer with status 200 that is not XML
            raise AgencyAnswerMalformed(f"answer is not XML: {str(exc)[:200]}", **where) from exc
        except _MALFORMED_ERRORS as exc:
            raise AgencyAnswerMalformed(f"answer does not follow the contract: {exc}", **where) from exc
        except _Unreadable as exc:
            raise AgencyAnswerMalformed(str(exc), **where) from exc
