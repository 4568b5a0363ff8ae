"""Database tables (SQLModel). The schema only changes through Alembic migrations in
``migrations/``; a test checks these models and the migrations agree.

    sources ─< entries ─< mentions >─ links ─< link_topics >─ topics
       │          │          └──< url_resolutions >┘
       │          ├─< partial_links
       │          └─< paper_references
       └─< fetch_log                digests, digest_editions, digest_deliveries

* ``entries``  — one row per post/entry of a source, keyed by (source, guid).
* ``links``    — one row per canonical article URL; what the site, feeds and digest show.
* ``mentions`` — which entry shared which link, under which URL, through which resolution.
* ``url_resolutions`` — the cache of where each shared URL leads (redirect chain, outcome,
  retries); several URLs (short, utm-tagged, AMP, mobile) resolve to one link.
* ``partial_links`` — display URLs cut short with "…", kept until a known link completes them.
* ``paper_references`` — citation texts in posts ("Shintani, N. (2012). …"), and whether their
  DOI was recovered (then ``link_id`` is the paper) or why not.
* ``paper_versions`` — the identity URLs each paper's citation names as its other versions.
* ``digest_editions`` / ``digest_deliveries`` — each sent digest date's window, and each
  message per list and recipient with its state, so a digest is sent exactly once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def _utc(nullable: bool = True) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


class Source(SQLModel, table=True):
    __tablename__ = "sources"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column_kwargs={"unique": True})
    slug: str = Field(sa_column_kwargs={"unique": True})
    kind: str = "feed"
    url: str = Field(sa_type=Text)
    default_topics: list[str] = Field(default_factory=list, sa_type=JSON)
    active: bool = True
    title: str | None = Field(default=None, sa_type=Text)
    site_url: str | None = Field(default=None, sa_type=Text)
    etag: str | None = Field(default=None, sa_type=Text)
    last_modified: str | None = Field(default=None, sa_type=Text)
    options: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)  # the kind's settings
    cursor: str | None = Field(default=None, sa_type=Text)  # where paging stopped last time
    created_at: datetime | None = _utc()
    last_fetched_at: datetime | None = _utc()
    last_success_at: datetime | None = _utc()
    last_error: str | None = Field(default=None, sa_type=Text)
    last_error_at: datetime | None = _utc()
    last_warning: str | None = Field(default=None, sa_type=Text)
    consecutive_failures: int = 0
    # The schedule (feedbot.schedule): when it is due, its own interval (None: the default),
    # the feed's ttl and skip hours/days, a run of failures and the pause that may end it.
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    interval_seconds: float | None = None
    schedule_hints: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    failing_since: datetime | None = _utc()
    paused_at: datetime | None = _utc()
    # Which process holds it while fetching (feedbot run / worker), until when.
    lease_owner: str | None = Field(default=None, sa_type=Text)
    lease_expires_at: datetime | None = _utc()


class Entry(SQLModel, table=True):
    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("source_id", "guid", name="uq_entries_source_guid"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="sources.id", index=True)
    guid: str = Field(sa_type=Text)
    url: str | None = Field(default=None, sa_type=Text)
    title: str = Field(default="", sa_type=Text)
    summary_html: str = Field(default="", sa_type=Text)
    content_html: str = Field(default="", sa_type=Text)
    author: str | None = Field(default=None, sa_type=Text)
    reposted_by: str | None = Field(default=None, sa_type=Text)  # a boost's booster, a reposter
    published_at: datetime | None = _utc()
    updated_at: datetime | None = _utc()
    first_seen_at: datetime | None = _utc()
    changed_at: datetime | None = _utc()
    content_hash: str = ""


class Link(SQLModel, table=True):
    __tablename__ = "links"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_type=Text, sa_column_kwargs={"unique": True})
    title: str | None = Field(default=None, sa_type=Text)
    first_seen_at: datetime | None = _utc()
    needs_tagging: bool = Field(default=True, index=True)
    tagged_with: str | None = Field(default=None, sa_type=Text)  # the Tagger's fingerprint
    # What the article's page says about itself (OpenGraph, Twitter cards, JSON-LD, citation_*).
    description: str | None = Field(default=None, sa_type=Text)
    site_name: str | None = Field(default=None, sa_type=Text)
    author: str | None = Field(default=None, sa_type=Text)
    published_at: datetime | None = _utc()
    language: str | None = Field(default=None, sa_type=Text)
    image_url: str | None = Field(default=None, sa_type=Text)
    citation: dict[str, list[str]] | None = Field(default=None, sa_type=JSON)
    content_type: str | None = Field(default=None, sa_type=Text)
    read_at: datetime | None = _utc()
    # A paper: its identifiers and the citation the research services gave for it.
    doi: str | None = Field(default=None, sa_type=Text, unique=True, index=True)
    arxiv_id: str | None = Field(default=None, sa_type=Text, index=True)
    # None: not looked at yet; "none": not a paper; "pending", "ok", "not_found", "error".
    paper_state: str | None = Field(default=None, index=True)
    paper: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    paper_note: str | None = Field(default=None, sa_type=Text)
    paper_attempts: int = 0
    paper_checked_at: datetime | None = _utc()
    # When anything a published item shows of this link last changed (its mentions, the posts
    # sharing it, its metadata, paper or topics), by the writer's wall clock: incremental site
    # builds read only the links changed since the previous build.
    changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class PaperVersion(SQLModel, table=True):
    """An identity URL a paper's citation names as another version of the work: one row for
    each URL ``version_urls`` gives for ``links.paper``, written with the citation. So the
    papers naming an item are found by index (``Store.items`` of a few ids), not by reading
    every citation; the rows go with their link."""

    __tablename__ = "paper_versions"
    __table_args__ = (PrimaryKeyConstraint("url", "link_id", name="pk_paper_versions"),)

    url: str = Field(sa_type=Text)
    link_id: int = Field(foreign_key="links.id", ondelete="CASCADE", index=True)


class UrlResolution(SQLModel, table=True):
    """Where one shared URL (in its offline canonical form) leads. ``outcome`` is ``pending``
    until tried, then ``ok`` (an HTML page), ``not_html`` (a PDF, an image…), or a failure:
    ``dead`` (4xx), ``loop``, ``too_many_hops``, ``blocked`` (a private address) or ``error``;
    failures are retried at ``retry_at`` until ``attempts`` reaches the configured maximum."""

    __tablename__ = "url_resolutions"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_type=Text, sa_column_kwargs={"unique": True})
    link_id: int = Field(foreign_key="links.id", index=True)
    outcome: str = Field(default="pending", index=True)
    final_url: str | None = Field(default=None, sa_type=Text)
    chain: list[list[Any]] = Field(default_factory=list, sa_type=JSON)
    http_status: int | None = None
    error: str | None = Field(default=None, sa_type=Text)
    attempts: int = 0
    resolved_at: datetime | None = _utc()
    retry_at: datetime | None = _utc()


class Mention(SQLModel, table=True):
    __tablename__ = "mentions"
    __table_args__ = (UniqueConstraint("entry_id", "link_id", name="uq_mentions_entry_link"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="entries.id", index=True)
    link_id: int = Field(foreign_key="links.id", index=True)
    url: str = Field(sa_type=Text)
    resolution_id: int | None = Field(default=None, foreign_key="url_resolutions.id", index=True)


class PartialLink(SQLModel, table=True):
    """A display URL cut short ("chalkbeat.org/2026/02/17/tea…"): never published as a link;
    ``link_id`` is set once a known link of the same host completes its prefix."""

    __tablename__ = "partial_links"
    __table_args__ = (UniqueConstraint("entry_id", "text", name="uq_partial_links_entry_text"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="entries.id", index=True)
    text: str = Field(sa_type=Text)
    host: str = Field(sa_type=Text, index=True)
    prefix: str = Field(sa_type=Text)
    link_id: int | None = Field(default=None, foreign_key="links.id")


class PaperReference(SQLModel, table=True):
    """A citation text found in a post. ``state``: pending, recovered, unresolved (no single
    consistent candidate; ``note`` says why), or error (the search failed; retried later)."""

    __tablename__ = "paper_references"
    __table_args__ = (
        UniqueConstraint("entry_id", "text_hash", name="uq_paper_references_entry_text"),
    )

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="entries.id", index=True)
    text: str = Field(sa_type=Text)
    text_hash: str  # sha1 of text: long texts cannot be keys of a PostgreSQL index
    state: str = Field(default="pending", index=True)
    doi: str | None = Field(default=None, sa_type=Text)
    link_id: int | None = Field(default=None, foreign_key="links.id")
    note: str | None = Field(default=None, sa_type=Text)
    attempts: int = 0
    checked_at: datetime | None = _utc()


class Label(SQLModel, table=True):
    """A user's verdict on an item's topic (``feedbot label``): the item's text is kept with
    it, so the correction still teaches the tagger if the item goes."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("key", "topic_id", name="uq_labels_key_topic"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=Text)  # the item's URL, or its title for imported text
    link_id: int | None = Field(default=None, foreign_key="links.id", index=True)
    topic_id: str
    positive: bool = True
    title: str = Field(default="", sa_type=Text)
    summary: str = Field(default="", sa_type=Text)
    url: str = Field(default="", sa_type=Text)
    created_at: datetime | None = _utc()


class Topic(SQLModel, table=True):
    __tablename__ = "topics"

    id: str = Field(primary_key=True)
    name: str
    description: str = Field(default="", sa_type=Text)


class LinkTopic(SQLModel, table=True):
    __tablename__ = "link_topics"

    link_id: int = Field(foreign_key="links.id", primary_key=True)
    topic_id: str = Field(foreign_key="topics.id", primary_key=True, index=True)
    score: float = 1.0
    reason: str = Field(default="", sa_type=Text)


class Digest(SQLModel, table=True):
    __tablename__ = "digests"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(sa_column_kwargs={"unique": True})
    generated_at: datetime | None = _utc()
    item_count: int = 0
    message_id: str = Field(default="", sa_type=Text)


class DigestEdition(SQLModel, table=True):
    """One digest date's window: the items first seen after ``window_start``, up to and
    including ``window_end``. Fixed when the day is first sent, so a re-run selects the same
    items and the next day's digest starts exactly where this one ended."""

    __tablename__ = "digest_editions"

    id: int | None = Field(default=None, primary_key=True)
    day: date = Field(sa_column_kwargs={"unique": True})
    window_start: datetime = Field(sa_type=UTCDateTime)
    window_end: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime | None = _utc()


class DigestDelivery(SQLModel, table=True):
    """One digest message for one recipient of one list on one date: exactly once. ``state``:
    ``pending`` (rendered, not tried), ``sending`` (handed to the SMTP server; a crash leaves
    it so), ``sent``, ``failed`` (``error`` says why; tried again by the next run) or
    ``skipped`` (nothing new and the list skips empty days). ``message`` is the message as
    rendered the first time, so every attempt sends the same bytes and Message-ID."""

    __tablename__ = "digest_deliveries"
    __table_args__ = (
        UniqueConstraint("day", "list_name", "recipient", name="uq_digest_deliveries_recipient"),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date
    list_name: str
    recipient: str  # the address, lowercased
    message_id: str = Field(default="", sa_type=Text)
    message: str = Field(default="", sa_type=Text)
    item_count: int = 0
    state: str = "pending"
    attempts: int = 0
    error: str | None = Field(default=None, sa_type=Text)
    created_at: datetime | None = _utc()
    updated_at: datetime | None = _utc()
    sent_at: datetime | None = _utc()


class FetchLog(SQLModel, table=True):
    __tablename__ = "fetch_log"
    __table_args__ = (Index("ix_fetch_log_source_started", "source_id", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="sources.id")
    started_at: datetime | None = _utc()
    finished_at: datetime | None = _utc()
    outcome: str = ""  # "ok", "not_modified" or "error"
    http_status: int | None = None
    entries_new: int = 0
    entries_updated: int = 0
    error: str | None = Field(default=None, sa_type=Text)


class InstanceLock(SQLModel, table=True):
    """A lock held through the database, so it spans machines: ``feedbot run`` holds ``run``
    (one per database). The holder renews ``expires_at`` while it lives; an expired lock, or
    one whose holder is a dead process on this machine, may be taken over."""

    __tablename__ = "instance_locks"

    name: str = Field(primary_key=True)
    owner: str = Field(sa_type=Text)  # "host:pid:nonce"
    acquired_at: datetime | None = _utc()
    heartbeat_at: datetime | None = _utc()
    expires_at: datetime | None = _utc()


__all__ = [
    "Digest",
    "DigestDelivery",
    "DigestEdition",
    "Entry",
    "FetchLog",
    "InstanceLock",
    "Link",
    "LinkTopic",
    "Mention",
    "PaperVersion",
    "PartialLink",
    "Source",
    "Topic",
    "UTCDateTime",
    "UrlResolution",
]


class SiteDay(SQLModel, table=True):
    """One day of the last site build's index (:mod:`feedbot.publish.cache`): its items' facts
    for planning (feedbot.publish.catalog.Listed, newest first) and their search-index fields,
    each marshalled (search fields zlib-compressed too); and the day's part of its month's
    search file, as written, with the key that part's fingerprint is made from."""

    __tablename__ = "site_days"

    day: str = Field(primary_key=True, sa_type=Text)  # YYYY-MM-DD, in the site's time zone
    items: bytes = Field(sa_type=LargeBinary)
    search: bytes = Field(sa_type=LargeBinary)
    shard: str = Field(sa_type=Text)  # its entries of search/YYYY-MM.js, comma-separated
    shard_key: str = Field(sa_type=Text)


class SiteItem(SQLModel, table=True):
    """Each item of the last site build and its day (see ``site_days``), by link id: where a
    changed link was, without reading the listings whole."""

    __tablename__ = "site_items"

    link_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    day: str = Field(sa_type=Text)  # YYYY-MM-DD, in the site's time zone


class SiteCard(SQLModel, table=True):
    """A rendered card (``_card.html``) of an item for one folder depth, valid while the item's
    digest is ``digest`` and the site's setup is the one in ``site_builds``."""

    __tablename__ = "site_cards"
    __table_args__ = (PrimaryKeyConstraint("link_id", "root", name="pk_site_cards"),)

    link_id: int
    root: str = Field(sa_type=Text)
    digest: bytes = Field(sa_type=LargeBinary)
    html: str = Field(sa_type=Text)


class SiteListing(SQLModel, table=True):
    """One listing of the last site build (home, a day, a topic, a source, the papers; named by
    its front page's path): its length and the keys of what its pages are made from besides
    their items (:mod:`feedbot.publish.delta`). Its members are in ``site_listing_chunks``."""

    __tablename__ = "site_listings"

    name: str = Field(primary_key=True, sa_type=Text)
    count: int
    numbered_key: str = Field(sa_type=Text)
    front_key: str = Field(sa_type=Text)


class SiteListingChunk(SQLModel, table=True):
    """A run of a listing's members, newest first, as packed arrays. Chunk K holds the members
    K·size to (K+1)·size counted from the oldest, so that new items change the newest chunk
    only, and a build rewrites only the chunks that changed."""

    __tablename__ = "site_listing_chunks"
    __table_args__ = (PrimaryKeyConstraint("name", "chunk", name="pk_site_listing_chunks"),)

    name: str = Field(sa_type=Text)
    chunk: int
    ids: bytes = Field(sa_type=LargeBinary)  # int64 link ids, little-endian
    keys: bytes = Field(sa_type=LargeBinary)  # float64 minus each item's sort time
    digests: bytes = Field(sa_type=LargeBinary)  # each item's 16-byte digest
    anchors: str | None = Field(default=None, sa_type=Text)  # the papers': their page names


class SiteBuild(SQLModel, table=True):
    """The last site build: what ``site_days`` and ``site_cards`` were made for."""

    __tablename__ = "site_builds"

    name: str = Field(primary_key=True)  # "site"
    setup: str = Field(sa_type=Text)  # the build's setup fingerprint
    output: str = Field(sa_type=Text)  # the folder built into
    started_at: datetime | None = _utc()  # changes committed before this are in site_days
