"""Sources: one fetcher per source kind, all yielding the same records.

A fetcher turns a :class:`SourceState` (what we know of a source) into a :class:`FetchOutcome`
(what it has now). Adding a kind means one new module here and one line in :func:`registry`:
the module brings its fetcher and, when its sources take settings besides ``name``, ``url`` and
``topics`` (an account, a query, CSS selectors…), a pydantic model of those settings, which
``feedbot.toml`` is validated against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from feedbot.errors import FetchError
from feedbot.http import HttpClient, Response, reason_phrase
from feedbot.links import PartialLink
from feedbot.links.citation import Citation

if TYPE_CHECKING:
    from feedbot.config import Settings
    from feedbot.links.scholarly import ScholarlyClient


@dataclass(frozen=True)
class SourceState:
    """What a fetcher needs to know about a source."""

    id: int
    name: str
    kind: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)  # the kind's settings, as JSON
    cursor: str | None = None  # where the last fetch stopped, for kinds that page


@dataclass(frozen=True)
class FetchedEntry:
    """One post or entry of a source, its HTML already sanitized."""

    guid: str
    url: str | None
    title: str
    summary_html: str = ""
    content_html: str = ""
    author: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    links: tuple[str, ...] = ()  # the URLs it shares, as written (see feedbot.links.shares)
    partial_links: tuple[PartialLink, ...] = ()
    references: tuple[str, ...] = ()  # citation texts whose DOI is to be recovered
    citation: Citation | None = None  # the paper this entry is, when the source says (arXiv…)
    # A boost or repost: the account that reposted it (the source's own account, which the store
    # credits as the sharer); ``author`` is then the original post's author.
    reposted_by: str | None = None


@dataclass(frozen=True)
class FetchOutcome:
    """The result of fetching a source once."""

    status: Literal["ok", "not_modified"]
    http_status: int | None = None
    entries: tuple[FetchedEntry, ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    title: str | None = None
    site_url: str | None = None
    warnings: tuple[str, ...] = field(default=())
    cursor: str | None = None  # a new cursor to store; None keeps the old one
    # Hints for the schedule (feedbot.schedule): how long this response may be cached
    # (Cache-Control max-age / Expires), and what the feed asks (RSS <ttl>, <skipHours> in GMT,
    # <skipDays>). A 304 carries no document: its ttl and skip hours are the stored ones.
    max_age_seconds: float | None = None
    ttl_minutes: float | None = None
    skip_hours: tuple[int, ...] = ()
    skip_days: tuple[str, ...] = ()


class Fetcher(Protocol):
    async def fetch(self, source: SourceState, http: HttpClient) -> FetchOutcome: ...


async def conditional_get(http: HttpClient, source: SourceState, accept: str) -> Response | None:
    """GET the source's URL with its stored validators: the 200 response, or None for
    ``304 Not Modified``. Any other status raises :class:`FetchError`."""
    response = await conditional_fetch(http, source, accept)
    return None if response.status == 304 else response


async def conditional_fetch(http: HttpClient, source: SourceState, accept: str) -> Response:
    """:func:`conditional_get`, giving the ``304`` response too (its headers say how long it
    may be cached)."""
    headers = {"Accept": accept}
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    response = await http.get(source.url, headers=headers)
    if response.status == 304:
        return response
    if response.status >= 400:
        raise FetchError(
            f"HTTP {response.status} {reason_phrase(response.status)} from {response.url}"
        )
    if response.status != 200:
        raise FetchError(f"unexpected HTTP {response.status} from {response.url}")
    return response


class SourceOptions(BaseModel):
    """Base of a kind's own source settings: unknown keys are errors, values immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def default_url(self) -> str | None:
        """The source's URL when the config gives none (e.g. a query's API URL)."""
        return None


@dataclass(frozen=True)
class FetchContext:
    """What fetchers are set up with: the settings, the run's clock, and the run's one client
    of the research services (so every request to arXiv or Crossref keeps one pace)."""

    settings: Settings
    clock: Callable[[], datetime]
    scholarly: Callable[[HttpClient], ScholarlyClient]


@dataclass(frozen=True)
class SourceKind:
    name: str
    summary: str  # one line for the README and errors
    make_fetcher: Callable[[FetchContext], Fetcher]
    options: type[SourceOptions] | None = None


def registry() -> Mapping[str, SourceKind]:
    """Source kind → what it brings. Imported late: the kinds import the HTTP client."""
    from feedbot.sources import arxiv, bluesky, crossref, feed, mastodon, page, xarchive, xpaste

    kinds = (feed.KIND, arxiv.KIND, crossref.KIND, mastodon.KIND, bluesky.KIND, xarchive.KIND,
             xpaste.KIND, page.KIND)  # fmt: skip
    return {kind.name: kind for kind in kinds}


def fetchers(context: FetchContext) -> dict[str, Fetcher]:
    """Source kind → its fetcher, set up with ``context``."""
    return {name: kind.make_fetcher(context) for name, kind in registry().items()}
