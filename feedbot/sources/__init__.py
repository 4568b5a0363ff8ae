"""Sources: one fetcher per source kind, all yielding the same records.

A fetcher turns a :class:`SourceState` (what we know of a source) into a :class:`FetchOutcome`
(what it has now). Adding a kind means one new module here and one line in :data:`REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from feedbot.http import HttpClient
from feedbot.links import PartialLink


@dataclass(frozen=True)
class SourceState:
    """What a fetcher needs to know about a source."""

    id: int
    name: str
    kind: str
    url: str
    etag: str | None = None
    last_modified: str | None = None


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


class Fetcher(Protocol):
    async def fetch(self, source: SourceState, http: HttpClient) -> FetchOutcome: ...


def registry() -> Mapping[str, Fetcher]:
    """Source kind → fetcher."""
    from feedbot.sources.feed import FeedFetcher

    return {"feed": FeedFetcher()}
