"""Wiring: settings → database, HTTP client, pipeline and publishers. The only place where the
clock, the network transport and the database engine are chosen; tests pass their own."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from feedbot import pipeline
from feedbot.config import Settings
from feedbot.db import make_engine, upgrade
from feedbot.errors import FeedbotError, PublishError
from feedbot.http import HttpClient
from feedbot.links.canonical import UrlRules
from feedbot.links.expand import Resolution
from feedbot.pipeline import ResearchReport, ResolveReport, SourceResult
from feedbot.records import CachedResolution, Item, LabelRecord, TopicRef
from feedbot.sources import FetchContext
from feedbot.sources import fetchers as source_fetchers
from feedbot.store import Store
from feedbot.tagging import Correction, ItemText, Tagger, load_corrections

if TYPE_CHECKING:
    from jinja2 import Environment

    from feedbot.links.scholarly import ScholarlyClient
    from feedbot.publish.delivery import DigestReport
    from feedbot.publish.site import BuildReport


PARALLEL_MIN_URLS = 500  # below this, starting worker processes costs more than it saves


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class App:
    settings: Settings
    store: Store
    clock: Callable[[], datetime] = utc_now
    transport: httpx.AsyncBaseTransport | None = None
    _env: Environment | None = field(default=None, repr=False)
    _scholarly: ScholarlyClient | None = field(default=None, repr=False)

    def close(self) -> None:
        """Release the database connections."""
        self.store.engine.dispose()

    # -- stages ----------------------------------------------------------------------------

    def http_client(self) -> HttpClient:
        return HttpClient(self.settings.http, self.settings.user_agent(), transport=self.transport)

    def scholarly_client(self, http: HttpClient) -> ScholarlyClient:
        """The one client of doi.org, Crossref and arXiv, working through the stage's ``http``:
        one for the App, so its pacing (arXiv's 3 s, Crossref's stated limits) spans every
        stage of a run, sources and citation lookups alike."""
        from feedbot.links.scholarly import ScholarlyClient

        if self._scholarly is None:
            self._scholarly = ScholarlyClient(http, self.settings.research)
        self._scholarly.http = http
        return self._scholarly

    def ingest(
        self, progress: Callable[[SourceResult], None] = lambda result: None
    ) -> list[SourceResult]:
        """Fetch every active source and store what is new or changed."""
        return asyncio.run(self._ingest(progress))

    async def _ingest(self, progress: Callable[[SourceResult], None]) -> list[SourceResult]:
        sources = self.store.active_sources()
        async with self.http_client() as http:
            context = FetchContext(self.settings, self.clock, self.scholarly_client)
            fetchers = source_fetchers(context)
            return await pipeline.ingest(self.store, http, sources, fetchers, self.clock, progress)

    def resolve(
        self, progress: Callable[[Resolution], None] = lambda result: None
    ) -> ResolveReport:
        """Follow every shared URL not resolved yet (and failures due for a retry) to its
        article, read its metadata, and merge links that turn out to be the same article."""
        return asyncio.run(self._resolve(None, progress))

    def resolve_urls(self, urls: list[str], refresh: bool = False) -> dict[str, CachedResolution]:
        """Resolve these URLs through the cache (the network only for URLs never resolved, or
        all of them with ``refresh``); returns what the cache then knows of each."""
        ids = self.store.remember_urls(urls, self.clock())
        found = self.store.cached_resolutions(urls)
        if refresh:
            due = list({rid: url for url, rid in ids.items()}.items())
        else:
            due = list({ids[u]: u for u in urls if found[u].outcome == "pending"}.items())
        if not due:
            return found
        asyncio.run(self._resolve(due, lambda result: None))
        return self.store.cached_resolutions(urls)

    async def _resolve(
        self, due: list[tuple[int, str]] | None, progress: Callable[[Resolution], None]
    ) -> ResolveReport:
        links = self.settings.links
        if due is None:
            due = self.store.resolutions_due(self.clock(), links.max_attempts)
        workers = links.workers or min(os.cpu_count() or 1, 4)
        # Worker processes pay off for a backlog; they make their own connections, so only
        # when the transport is feedbot's own (tests and the demo inject theirs).
        if workers > 1 and len(due) >= PARALLEL_MIN_URLS and self.transport is None:
            from feedbot.links.parallel import in_processes

            produce = in_processes(self.settings, workers)
            return await pipeline.resolve(self.store, produce, links, self.clock, due, progress)
        async with self.http_client() as http:
            produce = pipeline.resolve_here(http, links, self.store.rules)
            return await pipeline.resolve(self.store, produce, links, self.clock, due, progress)

    def research(self) -> ResearchReport:
        """Find the papers among the links and look up their citations (DOIs through doi.org
        and Crossref, arXiv ids through the arXiv API)."""
        return asyncio.run(self._research())

    async def _research(self) -> ResearchReport:
        if not self.settings.research.resolve:
            return await pipeline.research(self.store, None, self.clock, self.settings.research)
        async with self.http_client() as http:
            client = self.scholarly_client(http)
            return await pipeline.research(self.store, client, self.clock, self.settings.research)

    def tagger(self) -> Tagger:
        """The taxonomy's rules, the shipped model, and the user's labels as corrections."""
        corrections = [
            Correction(ItemText(label.title, label.summary, label.url), label.topic_id,
                       label.positive)
            for label in self.store.labels()
        ]  # fmt: skip
        return Tagger(self.settings.topics, corrections=corrections)

    def tag(self, everything: bool = False) -> int:
        """Assign topics to links that are new or changed, or were tagged under another
        taxonomy, model or set of labels (every link with ``everything``)."""
        return pipeline.tag(self.store, self.tagger(), everything)

    def item_text(self, reference: str) -> tuple[int, ItemText]:
        """The stored item ``reference`` names (its id, URL or a URL it was shared as), as the
        tagger reads it. Raises :class:`FeedbotError` when there is none."""
        link_id = self.store.find_link(reference)
        found = self.store.links_to_tag(only=[link_id]) if link_id is not None else []
        if not found:
            raise FeedbotError(f"no item {reference!r} (give its URL or its id from export)")
        return found[0].id, pipeline.tag_input(found[0], self.store.source_defaults())

    def label(self, reference: str, topic_id: str, positive: bool = True) -> None:
        """Record that the item is (or is not) in a topic, and re-tag what the label affects."""
        self._known_topic(topic_id)
        link_id, item = self.item_text(reference)
        label = LabelRecord(topic_id, positive, item.title, item.summary, item.url, link_id)
        self.store.add_labels([label], self.clock())
        self.tag()

    def import_labels(self, path: Path) -> int:
        """Store the verdicts of a JSONL file (``{"title", "summary", "url", "topic", "not"}``
        per line), then re-tag. Returns how many."""
        labels = []
        for correction in load_corrections(path):
            self._known_topic(correction.topic_id)
            item = correction.item
            link_id = self.store.find_link(item.url) if item.url else None
            labels.append(LabelRecord(correction.topic_id, correction.positive, item.title,
                                      item.summary, item.url, link_id))  # fmt: skip
        count = self.store.add_labels(labels, self.clock())
        self.tag()
        return count

    def _known_topic(self, topic_id: str) -> None:
        known = [topic.id for topic in self.settings.topics]
        if topic_id not in known:
            raise FeedbotError(f"unknown topic {topic_id!r}; known topics are {', '.join(known)}")

    def fetch(
        self, progress: Callable[[SourceResult], None] = lambda result: None
    ) -> list[SourceResult]:
        """The whole pipeline for what is new: ingest, resolve links, then tag."""
        results = self.ingest(progress)
        if self.settings.links.resolve:
            self.resolve()
        else:  # completing truncated links from known ones needs no network
            self.store.complete_partial_links()
        self.research()
        self.tag()
        return results

    async def after_ingest(self) -> int:
        """The stages after ingest, on the running event loop (``feedbot run``'s, so a stop
        can cancel them between transactions): resolve links, research papers, tag. Returns
        the items tagged."""
        if self.settings.links.resolve:
            await self._resolve(None, lambda result: None)
        else:
            self.store.complete_partial_links()
        await self._research()
        return self.tag()

    # -- publishing ------------------------------------------------------------------------

    @property
    def env(self) -> Environment:
        if self._env is None:
            from feedbot.publish.render import make_environment

            self._env = make_environment(self.settings.zone, self.settings.templates_path)
        return self._env

    def topics(self) -> list[TopicRef]:
        return [TopicRef(topic.id, topic.name) for topic in self.settings.topics]

    def items(self, link_ids: Collection[int] | None = None) -> list[Item]:
        """Every item, newest first, its topics in taxonomy order; with ``link_ids``, only those
        links' items (see :meth:`Store.items`)."""
        order = {topic.id: index for index, topic in enumerate(self.settings.topics)}

        def in_order(item: Item) -> Item:
            topics = tuple(sorted(item.topics, key=lambda t: order.get(t.id, 999)))
            # A copy only when the order changes: 100,000 copies would double a build's memory.
            return item if topics == item.topics else replace(item, topics=topics)

        return [in_order(item) for item in self.store.items(link_ids)]

    def build(self, full: bool = False) -> BuildReport:
        """Build the static site and the feeds into the output folder, rewriting only the files
        whose content changed (every file with ``full``)."""
        from feedbot.publish.cache import build_from_database

        sources = [s for s in self.store.status(counted=False) if s.active or s.entries]
        store = self.store
        return build_from_database(
            store.engine, self.items, store.changed_link_ids, store.item_link_ids,
            store.item_count, store.wall_clock, self.topics(), sources, self.settings, self.env,
            full=full,
        )  # fmt: skip

    def digest(self, day: date | None = None) -> EmailMessage:
        """The digest email for ``day`` (default: today in the configured time zone)."""
        from feedbot.publish.digest import build_digest, items_of_day

        now = self.clock()
        day = day or now.astimezone(self.settings.zone).date()
        items = self.items()
        message = build_digest(items, self.topics(), day, self.settings, self.env, now)
        self.store.record_digest(
            day, now, len(items_of_day(items, day, self.settings)), str(message["Message-ID"])
        )
        return message

    def write_digest(self, day: date | None, out: Path) -> EmailMessage:
        message = self.digest(day)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(bytes(message))
        except OSError as e:
            raise PublishError(f"cannot write the digest to {out}: {e.strerror or e}") from e
        return message

    def send_digest(
        self, day: date | None = None, *, dry_run: bool = False, out_dir: Path | None = None
    ) -> DigestReport:
        """Send the digest of ``day`` (default: today in ``digest.timezone``) to every list
        and recipient that has not had it, exactly once (see :mod:`feedbot.publish.delivery`).
        Failures are recorded and reported, not raised; the next call sends what is missing.
        ``dry_run`` writes ``.eml`` and HTML files into ``out_dir`` instead, recording nothing.
        Raises :class:`ConfigError` when ``[digest.smtp]`` cannot be used."""
        from feedbot.publish import delivery
        from feedbot.publish.mail import mail_server

        settings = self.settings
        server = None
        if not dry_run:
            hostname = delivery.local_hostname(settings)
            server = mail_server(settings.digest.smtp, settings.base_dir, hostname)
        return delivery.send_digest(
            self.store, settings, self.env, self.items(), self.topics(), self.clock,
            day=day, dry_run=dry_run, out_dir=out_dir, server=server,
        )  # fmt: skip


def open_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    transport: httpx.AsyncBaseTransport | None = None,
) -> App:
    """Open (and migrate) the database and sync the configured topics and sources into it."""
    engine = make_engine(settings.resolved_database_url())
    upgrade(engine)
    store = Store(engine, UrlRules(tuple(settings.links.tracking_parameters)))
    store.sync_topics(settings.topics)
    store.sync_sources(settings.sources, clock())
    return App(settings=settings, store=store, clock=clock, transport=transport)
