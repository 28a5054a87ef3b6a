"""A small threaded HTTP server on loopback that hands each request to an application callable.

Both the SOAP and the REST simulators are applications of this server, so
they start, report their URL and stop the same way.
"""

from __future__ import annotations

import selectors
import socket
import ssl
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

LOOPBACK = "127.0.0.1"
MAX_BODY_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Application = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    server: _AppServer
    protocol_version = "HTTP/1.1"
    #: Headers and body go out as two writes; with Nagle on, keep-alive clients wait ~40 ms for each answer.
    disable_nagle_algorithm = True

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(Response(413, b"request too large"))
            return
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                          {k.lower(): v for k, v in self.headers.items()}, body)
        self._send(self.server.application(request))

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Simulators are quiet; the hub logs what matters."""


class _AppServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], application: Application) -> None:
        super().__init__(address, _Handler)
        self.application = application

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        """A client that fails the TLS handshake or hangs up early is not the server's error: stay quiet."""
        if isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError):
            return
        super().handle_error(request, client_address)


class RunningServer:
    """A server running in a background thread; ``stop()`` shuts it down and frees the port."""

    def __init__(self, application: Application, host: str = LOOPBACK, port: int = 0, *,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self._server = _AppServer((host, port), application)
        self._scheme = "http"
        if ssl_context is not None:  # TLS: every accepted connection is wrapped (handshake on first read)
            self._server.socket = ssl_context.wrap_socket(self._server.socket, server_side=True,
                                                          do_handshake_on_connect=False)
            self._scheme = "https"
        self._stopping = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name=f"sim-{port}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        """Accept until :meth:`stop`, sleeping in ``select`` with no timeout.

        The stdlib's ``serve_forever`` wakes every poll interval to look for a shutdown: forty idle simulators
        polling every 20 ms took the GIL 2,000 times a second from the process they share (the demo's DAGs ran a
        quarter slower). Here a byte on a socket pair wakes the loop, so an idle simulator costs nothing and a stop
        is immediate."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._server, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._server and not self._stopping.is_set():
                        self._server.handle_request()  # readable: accepts at once (its own select returns)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else host
        return f"{self._scheme}://{host_text}:{port}"

    def stop(self) -> None:
        if not self._stopping.is_set():
            self._stopping.set()
            self._wake_writer.send(b"\0")
            self._thread.join(timeout=5)
            self._server.server_close()
            self._wake_reader.close()
            self._wake_writer.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
