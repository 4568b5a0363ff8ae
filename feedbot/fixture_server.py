"""A small real HTTP server on 127.0.0.1 that serves fixed documents.

The demo serves its bundled example sources with it (the machine has no internet), the tests
serve feeds, failures and hostile responses with it, and the benchmarks serve thousands of feeds.
It answers conditional GETs (ETag / Last-Modified → 304), gzip-encodes on request, and can
delay, fail or misbehave per route.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import mimetypes
import ssl
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from feedbot.transport import LeanTransport, Origin, _Connection

FEED_TYPES = {
    ".xml": "application/xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".opml": "text/x-opml; charset=utf-8",
}


@dataclass
class Route:
    """What the server answers for one path."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/xml; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    conditional: bool = True
    modified: float = 1_795_000_000.0  # a fixed Last-Modified (2026-11-18)
    gzip: bool = True
    # None: the true Content-Length; a number: lie about it; -1: none, the body ends at close.
    declared_length: int | None = None
    head_status: int | None = None  # answer HEAD with this status instead (405: "use GET")

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:20] + '"'


class FixtureServer:
    """``with FixtureServer(routes) as server: server.url('/feed.xml')``.

    A route key is a path (``/feed.xml``, any host) or a host and a path (``t.co/abc``): with
    :class:`LoopbackTransport` every host's requests arrive here, so one server plays many sites.
    """

    def __init__(self, routes: Mapping[str, Route] | None = None, port: int = 0) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.client_ports: list[int] = []  # the client's port per request: one per connection
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def start(self) -> FixtureServer:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> FixtureServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def add_directory(self, folder: Path, prefix: str = "/") -> list[str]:
        """Serve every file of ``folder`` under ``prefix``; returns the paths added."""
        added = []
        for file in sorted(folder.iterdir()):
            if file.is_file() and not file.name.startswith("."):
                content_type = FEED_TYPES.get(file.suffix) or (
                    mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                )
                path = prefix.rstrip("/") + "/" + file.name
                self.routes[path] = Route(body=file.read_bytes(), content_type=content_type)
                added.append(path)
        return added

    def _record(self, path: str, headers: dict[str, str], client_port: int) -> None:
        with self._lock:
            self.hits[path] += 1
            self.requests.append((path, headers))
            self.client_ports.append(client_port)


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up early (timeouts, size caps) are expected here, not errors."""

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _handler_for(server: FixtureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "feedbot-fixture/1"
        # Headers and body go out in separate writes; without this every keep-alive response
        # waits ~40 ms for the client's delayed ACK.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def _answer(self, send_body: bool) -> None:
            path = urlsplit(self.path).path
            headers = {k.lower(): v for k, v in self.headers.items()}
            host = headers.get("host", "").rsplit(":", 1)[0].lower()
            key = host + path if host + path in server.routes else path
            server._record(key, headers, int(self.client_address[1]))
            route = server.routes.get(key)
            if route is None:
                self._send(404, b"not found\n", "text/plain", {}, send_body)
                return
            if route.delay:
                time.sleep(route.delay)
            if not send_body and route.head_status is not None:
                self._send(route.head_status, b"", "text/plain", {}, False)
                return
            headers = dict(route.headers)
            if route.status == 200 and route.conditional:
                headers.setdefault("ETag", route.etag)
                headers.setdefault("Last-Modified", formatdate(route.modified, usegmt=True))
                if self._not_modified(route):
                    self._send(304, b"", None, headers, False)
                    return
            body = route.body
            if route.gzip and "gzip" in self.headers.get("Accept-Encoding", "") and len(body) > 256:
                body = gzip.compress(body, compresslevel=5, mtime=0)
                headers["Content-Encoding"] = "gzip"
            self._send(route.status, body, route.content_type, headers, send_body,
                       route.declared_length)  # fmt: skip

        def _not_modified(self, route: Route) -> bool:
            tag = self.headers.get("If-None-Match")
            if tag is not None:
                return route.etag in [t.strip() for t in tag.split(",")] or tag.strip() == "*"
            since = self.headers.get("If-Modified-Since")
            if since:
                try:
                    return parsedate_to_datetime(since).timestamp() >= int(route.modified)
                except (TypeError, ValueError):
                    return False
            return False

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str | None,
            headers: Mapping[str, str],
            send_body: bool,
            declared_length: int | None = None,
        ) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            if declared_length == -1:
                self.send_header("Connection", "close")
                self.close_connection = True
            elif status != 304:
                length = declared_length if declared_length is not None else len(body)
                self.send_header("Content-Length", str(length))
            self.end_headers()
            if send_body and status != 304:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

    return Handler


class LoopbackTransport(LeanTransport):
    """Sends every request, whatever its host and scheme, to a :class:`FixtureServer` over
    plain HTTP on loopback, keeping the URL and ``Host`` header: the demo and the tests play the
    real web's sites (``t.co``, ``example.com``…) with one local server."""

    def __init__(self, server: FixtureServer) -> None:
        super().__init__(ssl.create_default_context(), connect_timeout=5.0)
        self._server = server

    async def _connect(self, origin: Origin, address: str | None = None) -> _Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", self._server.port)
        return _Connection(origin, reader, writer)
