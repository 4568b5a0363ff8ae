"""Records passed between the stages: small, frozen, typed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from feedbot.links.citation import Citation, format_citation
from feedbot.links.shares import is_post_identity
from feedbot.sources import FetchOutcome


@dataclass(frozen=True, slots=True)
class SourceRef:
    name: str
    slug: str


@dataclass(frozen=True, slots=True)
class TopicRef:
    id: str
    name: str
    reason: str = ""  # why the item is in it (rules and model evidence, with scores)


@dataclass(frozen=True, slots=True)
class MentionRef:
    """One post or entry that shared an item."""

    source: SourceRef
    title: str
    url: str | None  # the post's own permalink, when it has one
    shared_url: str  # the URL it shared, as written
    date: datetime
    author: str | None = None  # who wrote the post (for a boost: the boosted post's author)
    reposted_by: str | None = None  # who boosted, reposted or retweeted it into the source


@dataclass(frozen=True, slots=True)
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
    mentions: tuple[MentionRef, ...] = ()
    description: str | None = None  # what the article's page says about itself
    site_name: str | None = None
    author: str | None = None
    image_url: str | None = None
    language: str | None = None
    published_at: datetime | None = None  # the article's own date, when its page gives one
    doi: str | None = None
    arxiv_id: str | None = None
    citation: Citation | None = None  # for papers, once the research services answered
    versions: tuple[str, ...] = ()  # identity URLs of the same work's preprint/published form

    @property
    def citation_text(self) -> str | None:
        return format_citation(self.citation) if self.citation else None

    @property
    def version_links(self) -> tuple[tuple[str, str], ...]:
        """``(label, URL)`` of the other versions: "Preprint arXiv:…" or "Published doi:…"."""
        links = []
        for url in self.versions:
            if url.startswith("https://arxiv.org/abs/"):
                links.append((f"Preprint arXiv:{url.rsplit('/abs/', 1)[1]}", url))
            else:
                links.append((f"Published version doi:{url.split('doi.org/', 1)[-1]}", url))
        return tuple(links)

    @property
    def href(self) -> str | None:
        """Where the item's title leads: its URL, or None for a post with no web address (a
        pasted X post), whose ``url`` is only its identity (``urn:feedbot:post:…``)."""
        return None if is_post_identity(self.url) else self.url

    @property
    def is_post(self) -> bool:
        """True when the item is a post itself (it linked nowhere), not an article it shared."""
        return is_post_identity(self.url) or any(m.url == self.url for m in self.mentions)

    @property
    def shared_by(self) -> int:
        return len(self.sources)

    @property
    def anchor(self) -> str:
        """A stable HTML id, the same in every build and every database."""
        return "item-" + hashlib.sha1(self.url.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class CachedResolution:
    """What the resolution cache knows of one shared URL."""

    outcome: str  # "pending", or an outcome of feedbot.links.expand
    link_url: str  # the canonical URL of the link it belongs to
    final_url: str | None
    title: str | None
    error: str | None
    chain: tuple[tuple[object, ...], ...]  # (url, status, via) per hop


@dataclass(frozen=True)
class LinkFacts:
    """What is known of a link that may be a paper (see Store.links_to_identify)."""

    id: int
    url: str
    citation: dict[str, list[str]]  # the page's scholarly meta tags
    urls: list[str]  # where its resolutions ended


@dataclass
class TagInput:
    """What tagging reads of one link (see Store.links_to_tag)."""

    id: int
    url: str
    title: str
    texts: list[str]  # its description, abstract, and its mentions' titles and summaries
    source_ids: list[int]
    citation: Citation | None  # for papers: journal, ISSNs, subjects, arXiv categories


@dataclass(frozen=True)
class LabelRecord:
    """A user's verdict: the item (its text) is, or is not (``positive=False``), in a topic."""

    topic_id: str
    positive: bool
    title: str
    summary: str = ""
    url: str = ""
    link_id: int | None = None


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
    # The schedule (feedbot.schedule): next due (None: due now), paused since, failing since,
    # the source's own interval, who holds it now, and entries added in the last 24 hours.
    next_due_at: datetime | None = None
    paused_at: datetime | None = None
    failing_since: datetime | None = None
    interval_seconds: float | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    entries_added_24h: int | None = None


@dataclass(frozen=True)
class FetchReport:
    """What the pipeline hands the store for one source: an outcome or an error."""

    source_id: int
    started_at: datetime
    finished_at: datetime
    outcome: FetchOutcome | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds a 429/503 asked to wait (for the schedule)


@dataclass(frozen=True)
class SaveResult:
    new: int
    updated: int


@dataclass(frozen=True)
class DeliveryRecord:
    """One digest message for one recipient, as recorded (see ``models.DigestDelivery``)."""

    id: int
    day: date
    list_name: str
    recipient: str
    message_id: str
    message: str  # the whole message, as first rendered
    item_count: int
    state: str  # pending, sending, sent, failed, skipped
    attempts: int
    error: str | None
    updated_at: datetime | None
    sent_at: datetime | None
