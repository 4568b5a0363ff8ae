"""The one HTTP client and its policy.

Every request feedbot makes goes through :class:`HttpClient`, which owns: total and connect
timeouts, total and per-host concurrency limits, a response-size cap (counted after
decompression, so a gzip bomb is cut off too), retries with exponential backoff on timeouts,
connection errors and 5xx, ``Retry-After`` on 429/503 (when the retries run out, a
:class:`RetryLaterError` carries the wait asked for to the schedule), the User-Agent, and the
address guard that refuses loopback, private, link-local and other non-public targets on every
hop of a redirect chain unless ``allow_private_networks`` is set.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urljoin

import httpx

from feedbot.config import HttpSettings
from feedbot.errors import BlockedAddressError, FetchError, ResponseTooLargeError
from feedbot.transport import CONNECT_TO, LeanTransport

Resolver = Callable[[str, int], Awaitable[list[str]]]

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class RetryLaterError(FetchError):
    """The server answered 429, 5xx or 503 until the retries ran out; ``retry_after`` is the
    wait its ``Retry-After`` asked for, in seconds (None without one). The schedule honours
    it: the source is not fetched again before (feedbot.schedule)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Response:
    """A read response: the whole body, or its beginning when the caller asked to stop early
    (``complete`` is then False)."""

    status: int
    url: str
    headers: httpx.Headers
    content: bytes
    complete: bool = True

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver, without blocking the event loop."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses (not loopback, private, link-local, …)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class HttpClient:
    """An async HTTP client applying feedbot's policy. Use as an async context manager."""

    def __init__(
        self,
        settings: HttpSettings,
        user_agent: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = system_resolver,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._resolver = resolver
        self._sleep = sleep
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self._in_flight = asyncio.Semaphore(settings.max_connections)
        # Behind a proxy we never see the target's address; only literal IPs can be checked.
        self._behind_proxy = transport is None and any(
            scheme in urllib.request.getproxies() for scheme in ("http", "https", "all")
        )
        if transport is None and not self._behind_proxy:
            transport = LeanTransport(
                httpx.create_ssl_context(),
                settings.connect_timeout_seconds,
                max_idle=settings.max_per_host,
            )
        self._client = httpx.AsyncClient(
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(
                settings.timeout_seconds, connect=settings.connect_timeout_seconds
            ),
            limits=httpx.Limits(
                max_connections=settings.max_connections,
                max_keepalive_connections=settings.max_connections,
            ),
            follow_redirects=True,
            max_redirects=settings.max_redirects,
            transport=transport,
            event_hooks={"request": [self._guard], "response": [_set_aside_opaque_location]},
        )

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> Response:
        """GET ``url`` under the policy, following redirects. Returns any final status below 500
        except 429 (the caller decides what a 304 or 404 means); raises :class:`FetchError`
        otherwise."""
        return await self.request("GET", url, headers=headers)

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        read_limit: int | None = None,
        stop: Callable[[bytes], bool] | None = None,
    ) -> Response:
        """One request under the policy. Without ``follow_redirects`` a 3xx is returned as is.
        ``read_limit`` and ``stop`` end the body early (``complete=False``) instead of failing:
        after ``read_limit`` bytes, or once ``stop(body so far)`` is true."""
        try:
            host = httpx.URL(url).host
        except httpx.InvalidURL as e:
            raise FetchError(f"invalid URL {url!r}: {e}") from e
        slot = self._host_slots.setdefault(host, asyncio.Semaphore(self.settings.max_per_host))
        attempt = 0
        while True:
            try:
                async with slot, self._in_flight:
                    await self._pace(host)
                    response = await self._send_once(
                        method, url, headers, follow_redirects, read_limit, stop
                    )
            except (httpx.TimeoutException, TimeoutError) as e:
                failure: FetchError = FetchError(
                    f"timed out after {self.settings.timeout_seconds:g}s"
                )
                failure.__cause__ = e
                delay = self._backoff(attempt)
            except httpx.RemoteProtocolError as e:
                failure = FetchError(f"invalid HTTP response: {_describe_transport_error(e)}")
                failure.__cause__ = e
                delay = self._backoff(attempt)
            except httpx.TransportError as e:
                failure = FetchError(f"cannot connect: {_describe_transport_error(e)}")
                failure.__cause__ = e
                delay = self._backoff(attempt)
            else:
                if response.status not in RETRY_STATUSES:
                    return response
                retry_after = parse_retry_after(response.headers.get("retry-after"), _now())
                failure = RetryLaterError(
                    f"HTTP {response.status} {reason_phrase(response.status)}", retry_after
                )
                if retry_after is not None and retry_after > self.settings.max_retry_after_seconds:
                    raise RetryLaterError(
                        f"HTTP {response.status}: server asks to retry after {retry_after:.0f}s",
                        retry_after,
                    )
                delay = retry_after if retry_after is not None else self._backoff(attempt)
            if attempt >= self.settings.retries:
                raise failure
            attempt += 1
            await self._sleep(delay)

    async def _pace(self, host: str) -> None:
        """Keep ``min_host_interval_seconds`` between the starts of requests to one host."""
        interval = self.settings.min_host_interval_seconds
        if interval <= 0:
            return
        now = asyncio.get_running_loop().time()
        start = max(now, self._next_start.get(host, now))
        self._next_start[host] = start + interval
        if start > now:
            await self._sleep(start - now)

    async def _send_once(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        follow_redirects: bool,
        read_limit: int | None,
        stop: Callable[[bytes], bool] | None,
    ) -> Response:
        cap = self.settings.max_response_bytes
        async with asyncio.timeout(self.settings.timeout_seconds):
            try:
                async with self._client.stream(
                    method, url, headers=headers, follow_redirects=follow_redirects
                ) as response:
                    declared = response.headers.get("content-length")
                    too_large = declared and declared.isdigit() and int(declared) > cap
                    if too_large and read_limit is None:
                        raise ResponseTooLargeError(
                            f"response too large: {int(declared):,} bytes (limit {cap:,})"
                        )
                    chunks: list[bytes] = []
                    size = 0
                    complete = True
                    body = response.aiter_bytes()
                    async for chunk in body:
                        size += len(chunk)
                        chunks.append(chunk)
                        if read_limit is not None and size >= read_limit:
                            complete = False
                            break
                        if size > cap:
                            raise ResponseTooLargeError(
                                f"response too large: more than {cap:,} bytes"
                            )
                        if stop is not None and stop(b"".join(chunks)):
                            complete = False
                            break
                    content = b"".join(chunks)
                    if not complete:
                        await _drain(body, DRAIN_BYTES)
                    return Response(
                        status=response.status_code,
                        url=str(response.url),
                        headers=response.headers,
                        content=content[:read_limit] if read_limit is not None else content,
                        complete=complete,
                    )
            except httpx.TooManyRedirects as e:
                raise FetchError(
                    f"too many redirects (more than {self.settings.max_redirects})"
                ) from e
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as e:
                raise FetchError(f"cannot fetch {url!r}: {e}") from e
            except httpx.DecodingError as e:
                raise FetchError(f"response body could not be decoded: {e}") from e

    async def _guard(self, request: httpx.Request) -> None:
        if self.settings.allow_private_networks:
            return
        host = request.url.host
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            if self._behind_proxy:
                return
            try:
                addresses = await self._resolver(host, request.url.port or 443)
            except OSError as e:
                raise FetchError(f"cannot resolve host {host!r}: {e}") from e
        for address in addresses:
            if not is_public_address(address):
                raise BlockedAddressError(
                    f"refused to connect to {host} ({address}): not a public address "
                    "(set allow_private_networks = true in [http] to allow)"
                )
        # Connect to the address just vetted, not to a second lookup that could answer
        # differently (DNS rebinding).
        request.extensions[CONNECT_TO] = addresses[0]

    def _backoff(self, attempt: int) -> float:
        base: float = self.settings.backoff_seconds * (2**attempt)
        return base * (0.5 + random.random() / 2)


OPAQUE_LOCATION = "x-feedbot-opaque-location"
# After stopping early, read on this much to reach the end of the body, so the connection can
# be kept alive; beyond it, closing and reconnecting is cheaper.
DRAIN_BYTES = 64 * 1024


async def _drain(body: AsyncIterator[bytes], limit: int) -> None:
    drained = 0
    async for chunk in body:
        drained += len(chunk)
        if drained > limit:
            return


async def _set_aside_opaque_location(response: httpx.Response) -> None:
    """A redirect to ``mailto:`` or ``javascript:`` is an answer, not an error: httpx would fail
    building the next request from it, so its Location is moved to :data:`OPAQUE_LOCATION`."""
    location = response.headers.get("location")
    if location and not urljoin(str(response.url), location.strip()).lower().startswith(
        ("http://", "https://")
    ):
        del response.headers["location"]
        response.headers[OPAQUE_LOCATION] = location


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date), if valid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _now() -> datetime:
    return datetime.now(UTC)


def reason_phrase(status: int) -> str:
    """``Not Found`` for 404; empty for codes without a standard phrase."""
    return httpx.codes.get_reason_phrase(status)


def _describe_transport_error(error: httpx.TransportError) -> str:
    text = str(error) or type(error).__name__
    cause = error.__cause__ or error.__context__
    if isinstance(cause, BaseException) and str(cause) and str(cause) not in text:
        text = f"{text}: {cause}"
    return text
