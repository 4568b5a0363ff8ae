"""The one HTTP client's policy, against a real local server (and MockTransport where a public
address must be pretended)."""

from __future__ import annotations

import asyncio
import gzip
from datetime import UTC, datetime

import httpx
import pytest

from feedbot.config import HttpSettings
from feedbot.errors import BlockedAddressError, FetchError, ResponseTooLargeError
from feedbot.fixture_server import FixtureServer, Route
from feedbot.http import HttpClient, is_public_address, parse_retry_after


def settings(**overrides: object) -> HttpSettings:
    values: dict[str, object] = {
        "allow_private_networks": True,
        "retries": 0,
        "timeout_seconds": 2,
        "min_host_interval_seconds": 0,
    }
    return HttpSettings.model_validate(values | overrides)


async def get(client_settings: HttpSettings, url: str, **kwargs: object) -> object:
    async with HttpClient(client_settings, "feedbot-test/1", **kwargs) as client:  # type: ignore[arg-type]
        return await client.get(url)


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


def test_sends_user_agent_and_decodes_gzip(server: FixtureServer) -> None:
    body = b"<rss>" + b"x" * 5000 + b"</rss>"
    server.routes["/feed"] = Route(body=body)
    response = run(get(settings(), server.url("/feed")))
    assert response.content == body  # type: ignore[attr-defined]
    [(_, headers)] = server.requests
    assert headers["user-agent"] == "feedbot-test/1"
    assert "gzip" in headers["accept-encoding"]


def test_size_cap_applies_to_declared_and_streamed_bodies(server: FixtureServer) -> None:
    server.routes["/big"] = Route(body=b"a" * 200_000, gzip=False)
    server.routes["/stream"] = Route(body=b"a" * 200_000, gzip=False, declared_length=-1)
    with pytest.raises(ResponseTooLargeError, match="200,000 bytes"):
        run(get(settings(max_response_bytes=100_000), server.url("/big")))
    with pytest.raises(ResponseTooLargeError, match="more than 100,000 bytes"):
        run(get(settings(max_response_bytes=100_000), server.url("/stream")))


def test_size_cap_counts_decompressed_bytes(server: FixtureServer) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    server.routes["/bomb"] = Route(body=bomb, gzip=False, headers={"Content-Encoding": "gzip"})
    with pytest.raises(ResponseTooLargeError):
        run(get(settings(max_response_bytes=1_000_000), server.url("/bomb")))


def test_slow_response_times_out(server: FixtureServer) -> None:
    server.routes["/slow"] = Route(body=b"late", delay=1.5)
    with pytest.raises(FetchError, match=r"timed out after 0\.5s"):
        run(get(settings(timeout_seconds=0.5), server.url("/slow")))


def test_retries_5xx_then_fails_with_the_status(server: FixtureServer) -> None:
    server.routes["/flaky"] = Route(body=b"oops", status=503, conditional=False)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    with pytest.raises(FetchError, match="HTTP 503 Service Unavailable"):
        run(get(settings(retries=2, backoff_seconds=0.1), server.url("/flaky"), sleep=sleep))
    assert server.hits["/flaky"] == 3
    assert len(slept) == 2 and 0.05 <= slept[0] <= 0.1 and 0.1 <= slept[1] <= 0.2


def test_honours_retry_after_on_429(server: FixtureServer) -> None:
    server.routes["/limited"] = Route(
        body=b"slow down", status=429, conditional=False, headers={"Retry-After": "7"}
    )
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        server.routes["/limited"] = Route(body=b"<rss/>")

    response = run(get(settings(retries=1), server.url("/limited"), sleep=sleep))
    assert slept == [7.0]
    assert response.status == 200  # type: ignore[attr-defined]


def test_a_retry_after_beyond_the_limit_is_a_failure_not_a_wait(server: FixtureServer) -> None:
    server.routes["/limited"] = Route(
        body=b"", status=429, conditional=False, headers={"Retry-After": "3600"}
    )
    with pytest.raises(FetchError, match="retry after 3600s"):
        run(get(settings(retries=3, max_retry_after_seconds=60), server.url("/limited")))
    assert server.hits["/limited"] == 1


def test_redirect_loop_is_a_clear_error(server: FixtureServer) -> None:
    server.routes["/a"] = Route(status=302, headers={"Location": "/b"}, conditional=False)
    server.routes["/b"] = Route(status=302, headers={"Location": "/a"}, conditional=False)
    with pytest.raises(FetchError, match="too many redirects"):
        run(get(settings(max_redirects=5), server.url("/a")))


def test_dead_host_is_a_clear_error() -> None:
    with pytest.raises(FetchError, match="cannot connect"):
        run(get(settings(), "http://127.0.0.1:9/feed"))


def test_guard_refuses_loopback_by_default(server: FixtureServer) -> None:
    server.routes["/feed"] = Route(body=b"<rss/>")
    with pytest.raises(BlockedAddressError, match="not a public address"):
        run(get(settings(allow_private_networks=False), server.url("/feed")))
    assert server.hits["/feed"] == 0


def test_guard_checks_every_redirect_hop() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "public.example":
            return httpx.Response(302, headers={"Location": "http://internal.example/admin"})
        return httpx.Response(200, content=b"secret")

    addresses = {"public.example": ["93.184.216.34"], "internal.example": ["10.0.0.7"]}

    async def resolver(host: str, port: int) -> list[str]:
        return addresses[host]

    with pytest.raises(BlockedAddressError, match=r"internal\.example \(10\.0\.0\.7\)"):
        run(
            get(
                settings(allow_private_networks=False),
                "http://public.example/feed",
                transport=httpx.MockTransport(handler),
                resolver=resolver,
            )
        )


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_public_address_classification(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_retry_after_parsing() -> None:
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Mon, 23 Nov 2026 12:01:00 GMT", now) == 60
    assert parse_retry_after("Mon, 23 Nov 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_behind_a_proxy_requests_go_through_it_and_the_guard_checks_literal_ips(
    server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With HTTP_PROXY set, the client sends every request to the proxy (here the fixture
    server, which reads the absolute-form target's host). The target's address is the proxy's
    business, so the guard only refuses literal private IPs."""
    server.routes["news.example.org/article"] = Route(
        body=b"via the proxy", content_type="text/plain"
    )
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.base_url)
    monkeypatch.setenv("NO_PROXY", "")
    guarded = settings(allow_private_networks=False)

    response = asyncio.run(get(guarded, "http://news.example.org/article"))
    assert (response.status, response.content) == (200, b"via the proxy")  # type: ignore[attr-defined]
    assert server.requests[-1][1]["host"] == "news.example.org"
    with pytest.raises(BlockedAddressError, match=r"10\.1\.2\.3"):
        asyncio.run(get(guarded, "http://10.1.2.3/admin"))
