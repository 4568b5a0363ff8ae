"""Records passed between the stages: small, frozen, typed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from feedbot.sources import FetchOutcome


@dataclass(frozen=True)
class SourceRef:
    name: str
    slug: str


@dataclass(frozen=True)
class TopicRef:
    id: str
    name: str


@dataclass(frozen=True)
class Item:
    """One article as published: a link with everything known about it."""

    id: int
    url: str
    title: str
    summary_html: str
    summary_text: str
    date: datetime
    first_seen_at: datetime
    sources: tuple[SourceRef, ...]
    topics: tuple[TopicRef, ...]
    reached_by: tuple[str, ...]
    mention_count: int

    @property
    def shared_by(self) -> int:
        return len(self.sources)

    @property
    def anchor(self) -> str:
        """A stable HTML id, the same in every build and every database."""
        return "item-" + hashlib.sha1(self.url.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class SourceStatus:
    name: str
    slug: str
    kind: str
    url: str
    active: bool
    title: str | None
    last_fetched_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    last_warning: str | None
    consecutive_failures: int
    entries: int


@dataclass(frozen=True)
class FetchReport:
    """What the pipeline hands the store for one source: an outcome or an error."""

    source_id: int
    started_at: datetime
    finished_at: datetime
    outcome: FetchOutcome | None = None
    error: str | None = None


@dataclass(frozen=True)
class SaveResult:
    new: int
    updated: int
