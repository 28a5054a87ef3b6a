"""Wire-protocol constants the hub's clients, its own SOAP endpoint and the agency simulators share.

One place for what both ends of a conversation must spell the same: SOAP 1.1 envelope and
WS-Security namespaces, content types, fault codes and header names.
"""

from __future__ import annotations

#: SOAP 1.1 envelope namespace (a SOAP 1.2 envelope is answered with ``VersionMismatch``).
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
#: SOAP 1.2 envelope namespace: recognised only to refuse it properly.
SOAP12_ENV_NS = "http://www.w3.org/2003/05/soap-envelope"
#: OASIS WS-Security 1.0 namespaces (UsernameToken profile).
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"

XML_CONTENT_TYPE = "text/xml; charset=utf-8"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"
#: RFC 7807 problem documents: how REST agencies (and the simulators) say what went wrong.
PROBLEM_CONTENT_TYPE = "application/problem+json; charset=utf-8"

#: Correlates a REST request with its answer and the message log.
REQUEST_ID_HEADER = "X-Request-Id"

#: SOAP 1.1 fault codes: the caller's fault, the server's, a wrong envelope version.
FAULT_CLIENT = "Client"
FAULT_SERVER = "Server"
FAULT_VERSION_MISMATCH = "VersionMismatch"
#: The fault a SOAP agency answers when the WS-Security token is missing or wrong.
AUTHENTICATION_FAULT = "Client.Authentication"
#: HTTP status of a SOAP fault, and of an authentication fault.
SOAP_FAULT_STATUS = 500
AUTHENTICATION_STATUS = 401

__all__ = [
    "AUTHENTICATION_FAULT",
    "AUTHENTICATION_STATUS",
    "FAULT_CLIENT",
    "FAULT_SERVER",
    "FAULT_VERSION_MISMATCH",
    "JSON_CONTENT_TYPE",
    "PROBLEM_CONTENT_TYPE",
    "REQUEST_ID_HEADER",
    "SOAP12_ENV_NS",
    "SOAP_ENV_NS",
    "SOAP_FAULT_STATUS",
    "WSSE_NS",
    "WSU_NS",
    "XML_CONTENT_TYPE",
]
