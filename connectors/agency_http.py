"""The HTTP every agency wire sends through (httpx, SOAP and REST alike), and the reply deadline it keeps.

``AgencyHttp(instance)`` is the HTTP of one agency instance: a connection pool with its TLS trust and client
certificate from the registry, the proxy the environment names for its endpoint (read once, when the pool is built),
and every socket operation bounded by the reply deadline of the call in progress.

**The reply deadline.** An agency that trickles its answer a byte at a time never trips a per-read timeout. Inside
``reply_deadline(at)`` (``connectors.resilience.ResilientClient`` opens one around each attempt) every connect, TLS
handshake, write and read of this pool waits at most until ``at`` (``time.monotonic()``), and one begun after it
fails at once, as a timeout (``httpx.TimeoutException``, which the wires report as ``AgencyUnavailable``). So the
attempt ends at the deadline in the caller's own thread, its connection closed, with nothing left running. Name
resolution is the one step not bounded: agencies are named by address or by a resolver the operator runs.
"""

from __future__ import annotations

import contextvars
import ssl
import time
import urllib.request
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import Any

import httpcore
import httpx

from connectors.base import DEFAULT_CONNECT_TIMEOUT_S
from estelam.core.domain import AgencyInstance, TlsOptions

#: Sent with every request to an agency (which reads it in its logs), unless the wire names its own.
_HEADERS = {"User-Agent": "estelam-hub", "Accept-Encoding": "identity"}
#: The monotonic instant the call in progress must be over by (None: no deadline but each step's own timeout).
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("agency_reply_deadline", default=None)


@contextmanager
def reply_deadline(at: float) -> Iterator[None]:
    """Bound every socket operation of the agency pools used inside the block by ``at`` (``time.monotonic()``)."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _within_deadline(timeout: float | None, timed_out: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` shortened to what is left of the reply deadline; ``timed_out`` once none is left."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise timed_out("the reply deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write waits no later than the reply deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _within_deadline(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname,
                                                      _within_deadline(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, its connections bounded by the reply deadline."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_tcp(host, port, _within_deadline(timeout, httpcore.ConnectTimeout),
                                                         local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._backend.connect_unix_socket(
            path, _within_deadline(timeout, httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def tls_context(tls: TlsOptions | None) -> ssl.SSLContext:
    """What httpx should verify with: httpx's default trust store (one context for the process: building it reads the
    CA bundle, ~50 ms, and every client would), or the instance's CA file and client certificate."""
    if tls is None:
        return _default_tls_context()
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.client_cert:
        context.load_cert_chain(tls.client_cert, tls.client_key)
    return context


@cache
def _default_tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


def certificate_refused(exc: BaseException) -> bool:
    """Whether a connection failed because a certificate was not trusted (not a passing outage)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def proxy_for(url: str) -> str | None:
    """The proxy the environment (``https_proxy``, ``all_proxy``, ``no_proxy``...) names for ``url``, if any."""
    proxies = urllib.request.getproxies_environment()
    if not proxies:
        return None
    target = httpx.URL(url)
    if urllib.request.proxy_bypass(target.host):  # no_proxy
        return None
    return proxies.get(target.scheme) or proxies.get("all")


def agency_transport(instance: AgencyInstance) -> httpx.HTTPTransport:
    """The connection pool to ``instance``: its TLS options, its proxy, the reply deadline on every socket."""
    transport = httpx.HTTPTransport(verify=tls_context(instance.tls), proxy=proxy_for(instance.endpoint),
                                    trust_env=False)
    pool = transport._pool  # httpx builds httpcore's pool (direct or through the proxy) but takes no backend
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


class AgencyHttp:
    """The HTTP of one agency instance: its pool (``agency_transport``), sent to straight.

    httpx's ``Client`` spends a sixth of a fast agency's call on what agencies never use (cookies, auth flows,
    redirects, URL merging); requests here go to the pool as they are, with the instance's timeouts: connect within
    2 s, each other step within the instance's ``timeout_s``, and all of it within the reply deadline.
    """

    def __init__(self, instance: AgencyInstance) -> None:
        self._transport = agency_transport(instance)
        # a client dropped without close() (or still kept at exit) closes its connections all the same
        self._closer = weakref.finalize(self, self._transport.close)
        self._extensions = {"timeout": httpx.Timeout(instance.timeout_s, connect=DEFAULT_CONNECT_TIMEOUT_S).as_dict()}

    @contextmanager
    def stream(self, method: str, url: str, *, content: bytes | None = None,
               headers: Mapping[str, str] | None = None) -> Iterator[httpx.Response]:
        """Send one request; the answer, its body not yet read (read it inside the block), closed after it."""
        request = httpx.Request(method, url, content=content, headers={**_HEADERS, **(headers or {})},
                                extensions=self._extensions)
        response = self._transport.handle_request(request)
        response.request = request
        try:
            yield response
        finally:
            response.close()

    def close(self) -> None:
        """Close the pool's connections."""
        self._closer()


__all__ = ["AgencyHttp", "agency_transport", "certificate_refused", "proxy_for", "reply_deadline", "tls_context"]
