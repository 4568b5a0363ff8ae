"""HTTPS through the lean transport: a local TLS server with a throwaway certificate."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from feedbot.transport import LeanTransport


class Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"<rss version='2.0'><channel><title>over TLS</title></channel></rss>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def make_certificate(folder: Path) -> tuple[Path, Path]:
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return key, cert


def test_https_with_verification(tmp_path: Path) -> None:
    key, cert = make_certificate(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://localhost:{server.server_address[1]}/feed.xml"

    async def get(trust: ssl.SSLContext) -> httpx.Response:
        transport = LeanTransport(trust, connect_timeout=5)
        async with httpx.AsyncClient(transport=transport) as client:
            first = await client.get(url)
            second = await client.get(url)  # over the same kept-alive TLS connection
            assert second.status_code == 200
            return first

    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        response = asyncio.run(get(trusting))
        assert response.status_code == 200 and b"over TLS" in response.content
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            asyncio.run(get(ssl.create_default_context()))
    finally:
        server.shutdown()
        server.server_close()
