"""Following a shared URL, hop by hop, to the article it points at.

Each hop is one request under the :class:`~feedbot.http.HttpClient` policy (so the address guard,
the per-host limits and the timeouts apply to every hop, not just the first):

* ``HEAD`` first; a 3xx with ``Location`` is a hop. A server that refuses ``HEAD`` (4xx/5xx)
  gets a ``GET``, and so does an HTML page, whose head is read for what it says about itself;
* an HTML page with ``<meta http-equiv=refresh>`` (delay ≤ 10 s) is a hop, and so is a small
  page without OpenGraph data whose script sends the browser on (``location.replace("…")``):
  the interstitial some shorteners serve to clients they take for browsers;
* the page is streamed only until ``</head>`` (or ``page_bytes``), never read whole.

Every way a chain can end is an :data:`Outcome`, never an exception: ``ok`` (an HTML page, with
its metadata), ``not_html`` (a PDF, an image…), ``dead`` (a 4xx or a redirect nowhere),
``loop``, ``too_many_hops``, ``blocked`` (a hop into a private address) and ``error`` (network
failure, timeout, 5xx after retries).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import urljoin

from feedbot.config import LinkSettings
from feedbot.errors import BlockedAddressError, FetchError
from feedbot.http import OPAQUE_LOCATION, HttpClient, Response, reason_phrase
from feedbot.links.canonical import UrlRules, canonical_url, prefer_page_canonical

if TYPE_CHECKING:  # the metadata reader (BeautifulSoup) loads only when a page is read
    from feedbot.links.metadata import PageMetadata

Outcome = Literal["ok", "not_html", "dead", "loop", "too_many_hops", "blocked", "error"]
SUCCESS: frozenset[str] = frozenset({"ok", "not_html"})
HTML_TYPES = frozenset({"", "text/html", "application/xhtml+xml"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# A page this small without OpenGraph data, whose script moves the browser on, is an interstitial.
_INTERSTITIAL_BYTES = 16 * 1024


@dataclass(frozen=True)
class Hop:
    """One step of a chain: the URL asked for, its status and how it led on."""

    url: str
    status: int | None
    via: str  # "redirect", "refresh", "script" or "final"


@dataclass(frozen=True)
class Resolution:
    """Where ``url`` leads."""

    url: str
    outcome: Outcome
    chain: tuple[Hop, ...]
    final_url: str
    canonical_url: str
    http_status: int | None = None
    content_type: str | None = None
    metadata: PageMetadata | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome in SUCCESS


class Expander:
    """Resolves URLs over the network. Stateless between calls; caching is the store's job."""

    def __init__(self, http: HttpClient, settings: LinkSettings, rules: UrlRules) -> None:
        self._http = http
        self._settings = settings
        self._rules = rules

    async def resolve(self, url: str) -> Resolution:
        chain: list[Hop] = []
        visits: Counter[str] = Counter()
        current = url
        set_cookie = False
        while True:
            visits[current] += 1
            # A site may redirect to itself once to set a cookie; a second time is a loop.
            if visits[current] > (2 if set_cookie else 1):
                return self._failed(url, chain, "loop", f"redirect loop at {current}")
            if len(chain) > self._settings.max_hops:
                return self._failed(
                    url, chain, "too_many_hops", f"more than {self._settings.max_hops} redirects"
                )
            try:
                response = await self._http.request("HEAD", current, follow_redirects=False)
                if not _is_redirect(response) and (
                    response.status >= 400 or response.content_type in HTML_TYPES
                ):
                    response = await self._read_page(current)
            except BlockedAddressError as e:
                return self._failed(url, chain, "blocked", str(e), current)
            except FetchError as e:
                return self._failed(url, chain, "error", f"{current}: {e}", current)
            set_cookie = "set-cookie" in response.headers
            status = response.status
            metadata = _metadata(response) if _is_page(response) else None
            following = self._next_hop(response, metadata)
            if following is not None:
                via, target = following
                chain.append(Hop(current, status, via))
                if not target.startswith(("http://", "https://")):
                    return self._ended(url, chain, current, response, "dead",
                                       f"redirects to a non-web URL: {target[:200]}")  # fmt: skip
                current = target
                continue
            chain.append(Hop(current, status, "final"))
            if _is_redirect(response):
                return self._ended(url, chain, current, response, "dead",
                                   f"HTTP {status} without a Location")  # fmt: skip
            if status >= 400 or status < 200:
                return self._ended(url, chain, current, response, "dead",
                                   f"HTTP {status} {reason_phrase(status)}".strip())  # fmt: skip
            if metadata is None:
                return self._ended(url, chain, current, response, "not_html")
            canonical = prefer_page_canonical(
                current, (metadata.canonical_url, metadata.og_url), self._rules
            )
            return Resolution(
                url=url,
                outcome="ok",
                chain=tuple(chain),
                final_url=current,
                canonical_url=canonical,
                http_status=status,
                content_type=response.content_type or "text/html",
                metadata=metadata,
            )

    async def _read_page(self, url: str) -> Response:
        from feedbot.links.metadata import head_complete

        return await self._http.request(
            "GET",
            url,
            follow_redirects=False,
            read_limit=self._settings.page_bytes,
            stop=head_complete,
        )

    def _next_hop(
        self, response: Response, metadata: PageMetadata | None
    ) -> tuple[str, str] | None:
        """``(via, absolute target)`` when the response sends the client elsewhere."""
        if _is_redirect(response):
            location = response.headers.get("location", "").strip()
            if not location:
                location = response.headers.get(OPAQUE_LOCATION, "").strip()
            return ("redirect", urljoin(response.url, location)) if location else None
        if metadata is None:
            return None
        if metadata.refresh_url and metadata.refresh_url != response.url:
            return "refresh", metadata.refresh_url
        if (
            metadata.script_redirect_url
            and metadata.script_redirect_url != response.url
            and len(response.content) < _INTERSTITIAL_BYTES
            and not metadata.og_url
            and not metadata.description
        ):
            return "script", metadata.script_redirect_url
        return None

    def broken(self, url: str, error: str) -> Resolution:
        """The resolution of a URL whose expansion failed unexpectedly."""
        return self._failed(url, [], "error", error)

    def _ended(
        self,
        url: str,
        chain: list[Hop],
        final: str,
        response: Response,
        outcome: Outcome,
        error: str | None = None,
    ) -> Resolution:
        """A chain that reached a final URL that is not an article page."""
        return Resolution(
            url=url,
            outcome=outcome,
            chain=tuple(chain),
            final_url=final,
            canonical_url=canonical_url(final, self._rules),
            http_status=response.status,
            content_type=response.content_type or None,
            error=error,
        )

    def _failed(
        self, url: str, chain: list[Hop], outcome: Outcome, error: str, at: str | None = None
    ) -> Resolution:
        """A chain that broke: the link stays under the URL it was shared as."""
        if at is not None:
            chain = [*chain, Hop(at, None, "final")]
        return Resolution(
            url=url,
            outcome=outcome,
            chain=tuple(chain),
            final_url=chain[-1].url if chain else url,
            canonical_url=canonical_url(url, self._rules),
            error=error,
        )


def _is_redirect(response: Response) -> bool:
    return response.status in REDIRECT_STATUSES


def _is_page(response: Response) -> bool:
    """A 2xx HTML answer to a GET (a HEAD answer has no body to read)."""
    return (
        200 <= response.status < 300
        and response.content_type in HTML_TYPES
        and bool(response.content)
    )


def _metadata(response: Response) -> PageMetadata:
    """The page's metadata, read from its head alone unless it may be a script interstitial
    (small, and its head says nothing about an article), whose redirect is in the body."""
    from feedbot.links.metadata import read_metadata

    encoding = _charset(response)
    head_end = _HEAD_END.search(response.content)
    if head_end is not None and head_end.end() < len(response.content):
        metadata = read_metadata(response.content[: head_end.end()], response.url, encoding)
        if len(response.content) >= _INTERSTITIAL_BYTES or metadata.og_url or metadata.description:
            return metadata
    return read_metadata(response.content, response.url, encoding)


_HEAD_END = re.compile(rb"</head\s*>", re.IGNORECASE)


def _charset(response: Response) -> str | None:
    for value in response.headers.get_list("content-type"):
        for part in value.split(";")[1:]:
            key, _, found = part.partition("=")
            if key.strip().lower() == "charset" and found.strip():
                return found.strip().strip("\"'")
    return None
