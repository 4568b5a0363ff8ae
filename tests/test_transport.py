"""The lean HTTP/1.1 transport under feedbot's httpx client: keep-alive, bodies framed every way
HTTP/1.1 allows, servers that hang up, and servers that answer garbage."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from feedbot.config import HttpSettings
from feedbot.errors import FetchError
from feedbot.fixture_server import FixtureServer, Route
from feedbot.http import HttpClient, Response


def fetch_all(urls: list[str], **settings: object) -> list[Response]:
    async def go() -> list[Response]:
        options = {"allow_private_networks": True, "retries": 0, "timeout_seconds": 3} | settings
        async with HttpClient(HttpSettings.model_validate(options), "t/1") as client:
            return [await client.get(url) for url in urls]

    return asyncio.run(go())


def test_connections_are_kept_alive_and_reused(server: FixtureServer) -> None:
    server.routes["/a"] = Route(body=b"A" * 1000)
    server.routes["/b"] = Route(body=b"B" * 10)
    responses = fetch_all([server.url("/a"), server.url("/b"), server.url("/a")])
    assert [r.content[:1] for r in responses] == [b"A", b"B", b"A"]
    assert len(set(server.client_ports)) == 1


def test_connection_close_is_honoured(server: FixtureServer) -> None:
    server.routes["/bye"] = Route(body=b"x", headers={"Connection": "close"})
    responses = fetch_all([server.url("/bye"), server.url("/bye")])
    assert [r.status for r in responses] == [200, 200]
    assert len(set(server.client_ports)) == 2


def test_body_delimited_by_close(server: FixtureServer) -> None:
    server.routes["/eof"] = Route(body=b"y" * 100_000, gzip=False, declared_length=-1)
    [response] = fetch_all([server.url("/eof")])
    assert response.content == b"y" * 100_000


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket, int], None]], str]]:
    """A bare TCP server whose handler writes whatever bytes a test wants."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()
    handlers: list[Callable[[socket.socket, int], None]] = []

    def serve() -> None:
        count = 0
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            count += 1
            with conn:
                conn.recv(65536)
                handlers[0](conn, count)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    def start(handler: Callable[[socket.socket, int], None]) -> str:
        handlers.append(handler)
        return f"http://127.0.0.1:{listener.getsockname()[1]}/feed"

    yield start
    stop.set()
    thread.join(timeout=2)
    listener.close()


def test_chunked_body(raw_server: Callable[..., str]) -> None:
    def chunked(conn: socket.socket, _: int) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                     b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")  # fmt: skip

    [response] = fetch_all([raw_server(chunked)])
    assert response.content == b"hello world"


def test_garbage_instead_of_http_is_a_clear_error(raw_server: Callable[..., str]) -> None:
    url = raw_server(lambda conn, _: conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n"))
    with pytest.raises(FetchError, match="invalid HTTP response"):
        fetch_all([url])


def test_server_hanging_up_without_answer_is_a_clear_error(raw_server: Callable[..., str]) -> None:
    url = raw_server(lambda conn, _: None)
    with pytest.raises(FetchError, match=r"invalid HTTP response|cannot connect"):
        fetch_all([url])


def test_truncated_body_is_an_error_not_a_short_feed(raw_server: Callable[..., str]) -> None:
    def truncated(conn: socket.socket, _: int) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss>only part")

    with pytest.raises(FetchError):
        fetch_all([raw_server(truncated)])
