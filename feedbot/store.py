"""Queries and upserts. Every write of one source's fetch is one transaction, so a run that dies
half-way keeps what it finished and never leaves half a feed; every upsert is idempotent, so a
re-run stores nothing twice. Works the same on SQLite and PostgreSQL."""

from __future__ import annotations

import gc
import hashlib
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

from feedbot.bulk import among, among_pairs, insert_rows
from feedbot.config import SourceSettings, TopicSettings
from feedbot.db import db_error, without_nul
from feedbot.errors import StoreError
from feedbot.links.canonical import DEFAULT_RULES, UrlRules, canonical_url
from feedbot.links.citation import Citation, citation_from_json, citation_to_json, version_urls
from feedbot.links.expand import SUCCESS, Resolution
from feedbot.links.shares import POST_IDENTITY, is_post_identity
from feedbot.models import (
    Digest,
    DigestDelivery,
    DigestEdition,
    Entry,
    FetchLog,
    Label,
    Link,
    LinkTopic,
    Mention,
    PaperReference,
    PaperVersion,
    PartialLink,
    Source,
    Topic,
    UrlResolution,
)
from feedbot.records import (
    CachedResolution,
    DeliveryRecord,
    FetchReport,
    Item,
    LabelRecord,
    LinkFacts,
    MentionRef,
    SaveResult,
    SourceRef,
    SourceStatus,
    TagInput,
    TopicRef,
)
from feedbot.sanitize import excerpt, html_to_text, text_paragraph
from feedbot.schedule import ScheduleUpdate, SourceSchedule, hints_from_json
from feedbot.sources import FetchedEntry, FetchOutcome, SourceState

_tables = SQLModel.metadata.tables
sources_t = _tables[Source.__tablename__]
entries_t = _tables[Entry.__tablename__]
links_t = _tables[Link.__tablename__]
mentions_t = _tables[Mention.__tablename__]
topics_t = _tables[Topic.__tablename__]
link_topics_t = _tables[LinkTopic.__tablename__]
digests_t = _tables[Digest.__tablename__]
editions_t = _tables[DigestEdition.__tablename__]
deliveries_t = _tables[DigestDelivery.__tablename__]
fetch_log_t = _tables[FetchLog.__tablename__]
resolutions_t = _tables[UrlResolution.__tablename__]
partial_links_t = _tables[PartialLink.__tablename__]
references_t = _tables[PaperReference.__tablename__]
versions_t = _tables[PaperVersion.__tablename__]
labels_t = _tables[Label.__tablename__]
locks_t = _tables["instance_locks"]

_CHUNK = 500
# A source whose URL, settings or interval changed, or that is resumed: due now, with a fresh
# start (no pause, no backoff; its last error stays on record).
_RESCHEDULE = {"next_due_at": None, "paused_at": None, "failing_since": None,
               "consecutive_failures": 0}  # fmt: skip


def slugify(text: str) -> str:
    """A lowercase ASCII slug for URLs and file names."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "source-" + hashlib.sha1(text.encode()).hexdigest()[:8]


def entry_hash(entry: FetchedEntry) -> str:
    parts: tuple[str, ...] = (
        entry.url or "",
        entry.title,
        entry.summary_html,
        entry.content_html,
        entry.author or "",
        entry.published_at.isoformat() if entry.published_at else "",
        entry.updated_at.isoformat() if entry.updated_at else "",
    )
    if entry.citation is not None or entry.references:  # absent: the hashes of before stay
        paper = json.dumps(citation_to_json(entry.citation)) if entry.citation else ""
        parts = (*parts, paper, *entry.references)
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


def retry_delay(attempts: int, base_hours: float) -> timedelta:
    """Exponential backoff: ``base_hours`` after the first failure, doubling after each."""
    return timedelta(hours=base_hours * 2 ** max(attempts - 1, 0))


def _retry_due(
    state: str, attempts: int, checked_at: datetime | None, now: datetime, retry_hours: float
) -> bool:
    """A pending lookup is due; a failed one once its backoff has passed."""
    return (
        state == "pending"
        or checked_at is None
        or checked_at + retry_delay(attempts, retry_hours) <= now
    )


class Store:
    """feedbot's database: sources, entries, links, mentions, topics, digests."""

    def __init__(
        self,
        engine: Engine,
        rules: UrlRules = DEFAULT_RULES,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.rules = rules
        # What ``links.changed_at`` is stamped with: the real time of the write, not the ``now``
        # a stage was given, because the site build compares it with its own wall clock.
        self.wall_clock = wall_clock

    def url_key(self, url: str) -> str:
        """The offline canonical form of a shared URL: the key of its resolution."""
        return canonical_url(url, self.rules)

    # -- sources ---------------------------------------------------------------------------

    def sync_sources(self, configured: Sequence[SourceSettings], now: datetime) -> None:
        """Make the sources table match the config: add, update and (de)activate by name.
        Sources removed from the config are deactivated, never deleted: their items stay."""
        with self._begin() as conn:
            rows = {row.name: row for row in conn.execute(select(sources_t))}
            taken = {row.slug for row in rows.values()}
            wanted = set()
            for source in configured:
                wanted.add(source.name)
                values = {
                    "url": source.location,
                    "kind": source.kind,
                    "options": source.options,
                    "default_topics": list(source.topics),
                    "active": True,
                    "interval_seconds": source.interval_minutes * 60
                    if source.interval_minutes
                    else None,
                }
                row = rows.get(source.name)
                if row is None:
                    slug = base = slugify(source.name)
                    n = 2
                    while slug in taken:
                        slug, n = f"{base}-{n}", n + 1
                    taken.add(slug)
                    conn.execute(
                        insert(sources_t).values(
                            name=source.name, slug=slug, created_at=now, **values
                        )
                    )
                elif any(getattr(row, key) != value for key, value in values.items()):
                    if (row.url, row.options or {}) != (source.location, source.options):
                        # validators and cursors belong to what was fetched before
                        values |= {"etag": None, "last_modified": None, "cursor": None}
                    if (row.url, row.options or {}, row.interval_seconds) != (
                        source.location, source.options, values["interval_seconds"]
                    ):  # fmt: skip
                        values |= _RESCHEDULE  # a changed source is due now, and resumed
                    conn.execute(update(sources_t).where(sources_t.c.id == row.id).values(**values))
            stale = [row.id for name, row in rows.items() if name not in wanted and row.active]
            if stale:
                conn.execute(
                    update(sources_t).where(sources_t.c.id.in_(stale)).values(active=False)
                )

    def active_sources(self) -> list[SourceState]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(sources_t).where(sources_t.c.active.is_(True)).order_by(sources_t.c.id)
            )
            return [_source_state(row) for row in rows]

    def source_defaults(self) -> dict[int, list[str]]:
        """Source id → its default topic ids."""
        with self.engine.connect() as conn:
            return {
                row.id: list(row.default_topics or [])
                for row in conn.execute(select(sources_t.c.id, sources_t.c.default_topics))
            }

    # -- ingest ----------------------------------------------------------------------------

    def save_outcome(
        self, source_id: int, outcome: FetchOutcome, started_at: datetime, now: datetime
    ) -> SaveResult:
        """Store one successful fetch of a source, in one transaction."""
        return self.save_fetches([FetchReport(source_id, started_at, now, outcome=outcome)])[0]

    def record_failure(
        self, source_id: int, error: str, started_at: datetime, now: datetime
    ) -> None:
        """Record a failed fetch; the source's earlier data is untouched."""
        self.save_fetches([FetchReport(source_id, started_at, now, error=error)])

    def save_fetches(
        self, reports: Sequence[FetchReport], schedule: Sequence[ScheduleUpdate] = ()
    ) -> list[SaveResult]:
        """Store a batch of fetch results (entries, validators, failures, the fetch log) in one
        transaction: all of the batch or none of it. ``schedule``: the sources' next due times,
        set and their leases released in the same transaction (see ``release_claims``).

        Each statement covers the whole batch (a source's cost is its rows, not its round
        trips), and the rows other processes write too are taken in one global order: links and
        URL resolutions inserted in sorted order, links locked in id order before any is
        updated (:meth:`_link_entries`). Processes storing batches that share links then wait
        for each other at worst, never in a cycle (a deadlock)."""
        results: list[SaveResult] = []
        unchanged: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        succeeded: list[dict[str, Any]] = []
        fetched: list[tuple[int, Sequence[FetchedEntry], datetime]] = []
        log: list[dict[str, Any]] = []
        with self._begin() as conn:
            for report in reports:
                outcome = report.outcome
                entry = {
                    "source_id": report.source_id,
                    "started_at": report.started_at,
                    "finished_at": report.finished_at,
                    "http_status": outcome.http_status if outcome else None,
                }
                if outcome is None:
                    failed.append({"b_id": report.source_id, "b_now": report.finished_at,
                                   "b_error": report.error or "unknown error"})  # fmt: skip
                    log.append(entry | {"outcome": "error", "error": report.error})
                elif outcome.status == "not_modified":
                    unchanged.append({"b_id": report.source_id, "b_now": report.finished_at})
                    log.append(entry | {"outcome": "not_modified"})
                else:
                    entries = without_nul(outcome.entries)
                    fetched.append((report.source_id, entries, report.finished_at))
                    succeeded.append(_success_values(report.source_id, outcome, report.finished_at))
                    warnings = "; ".join(outcome.warnings) or None
                    log.append(entry | {"outcome": "ok", "error": warnings})
            stored = self._save_entries(conn, fetched)
            saved = iter(stored.results)
            for row in log:  # one a report
                result = next(saved) if row["outcome"] == "ok" else SaveResult(0, 0)
                row |= {"entries_new": result.new, "entries_updated": result.updated}
                results.append(result)
            if failed:
                s = sources_t.c
                conn.execute(
                    update(sources_t)
                    .where(s.id == bindparam("b_id"))
                    .values(last_fetched_at=bindparam("b_now"), last_error=bindparam("b_error"),
                            last_error_at=bindparam("b_now"),
                            consecutive_failures=s.consecutive_failures + 1),
                    failed,
                )  # fmt: skip
            if succeeded:
                self._record_successes(conn, succeeded)
            if unchanged:
                conn.execute(
                    update(sources_t)
                    .where(sources_t.c.id == bindparam("b_id"))
                    .values(
                        last_fetched_at=bindparam("b_now"),
                        last_success_at=bindparam("b_now"),
                        last_error=None,
                        consecutive_failures=0,
                    ),
                    unchanged,
                )
            if log:
                defaults = {"error": None, "entries_new": 0, "entries_updated": 0}
                insert_rows(conn, fetch_log_t, [defaults | row for row in log])
            if schedule:
                self._release_claims(conn, schedule)
            # Last, the rows other processes write too (links, URL resolutions): the fewer
            # statements between taking them and the commit, the shorter anyone waits for them.
            if stored.linked:
                latest = max(now for _, _, now in fetched)
                self._link_entries(conn, stored.linked, latest, stored.changed)
        return results

    def _record_successes(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Set what each successful fetch tells of its source (see ``_success_values``): a
        title, site URL or cursor the fetch did not give (None) stays as it was."""
        s = sources_t.c
        conn.execute(
            update(sources_t)
            .where(s.id == bindparam("b_id"))
            .values(
                last_fetched_at=bindparam("b_now"),
                last_success_at=bindparam("b_now"),
                last_error=None,
                consecutive_failures=0,
                etag=bindparam("b_etag"),
                last_modified=bindparam("b_modified"),
                last_warning=bindparam("b_warning"),
                cursor=func.coalesce(bindparam("b_cursor", type_=s.cursor.type), s.cursor),
                title=func.coalesce(bindparam("b_title", type_=s.title.type), s.title),
                site_url=func.coalesce(bindparam("b_site", type_=s.site_url.type), s.site_url),
            ),
            rows,
        )

    def _save_entries(
        self, conn: Connection, fetched: Sequence[tuple[int, Sequence[FetchedEntry], datetime]]
    ) -> _Stored:
        """Store the new and changed entries of each fetched source (source id, entries, when),
        each step one statement for all the sources; what is to be linked is returned."""
        seen: set[int] = set()
        for i, (source_id, _, _) in enumerate(fetched):
            if source_id in seen:  # fetched twice: the second fetch is compared with the first
                first = self._save_entries(conn, fetched[:i])
                then = self._save_entries(conn, fetched[i:])
                versions = dict(first.linked) | dict(then.linked)  # an entry's latest version
                return _Stored([*first.results, *then.results], list(versions.items()),
                               first.changed | then.changed)  # fmt: skip
            seen.add(source_id)
        wanted = sorted({(source_id, e.guid) for source_id, entries, _ in fetched for e in entries})
        existing: dict[tuple[int, str], tuple[int, str]] = {}
        e = entries_t.c
        for chunk in _chunks(wanted):
            rows = conn.execute(
                select(e.id, e.source_id, e.guid, e.content_hash).where(
                    among_pairs(conn, (e.source_id, e.guid), chunk)
                )
            )
            existing.update({(row.source_id, row.guid): (row.id, row.content_hash) for row in rows})

        new_rows: list[dict[str, Any]] = []
        changed: list[tuple[int, FetchedEntry, str, datetime]] = []
        counts: dict[int, list[int]] = {source_id: [0, 0] for source_id, _, _ in fetched}
        for source_id, entries, now in fetched:
            for entry in entries:
                digest = entry_hash(entry)
                known = existing.get((source_id, entry.guid))
                if known is None:
                    identity = {"source_id": source_id, "guid": entry.guid}
                    seen_at = {"first_seen_at": now, "changed_at": now}
                    new_rows.append(_entry_values(entry, digest) | identity | seen_at)
                    counts[source_id][0] += 1
                elif known[1] != digest:
                    changed.append((known[0], entry, digest, now))
                    counts[source_id][1] += 1

        linked: list[tuple[int, FetchedEntry]] = []
        if new_rows:
            inserted = insert_rows(conn, entries_t, new_rows, returning=["id", "source_id", "guid"])
            by_key = {(source_id, entry.guid): entry for source_id, entries, _ in fetched
                      for entry in entries}  # fmt: skip
            linked.extend((row.id, by_key[(row.source_id, row.guid)]) for row in inserted)
        for entry_id, entry, digest, now in changed:
            conn.execute(
                update(entries_t)
                .where(e.id == entry_id)
                .values(**_entry_values(entry, digest), changed_at=now)
            )
            linked.append((entry_id, entry))
        results = [SaveResult(*counts[source_id]) for source_id, _, _ in fetched]
        return _Stored(results, linked, {entry_id for entry_id, *_ in changed})

    def _link_entries(
        self,
        conn: Connection,
        entries: Sequence[tuple[int, FetchedEntry]],
        now: datetime,
        changed: Collection[int] = (),
    ) -> None:
        """Point each entry at the links it shares, through the resolution of each URL (made
        on first sight, so a URL seen before reuses what its resolution found). ``changed``:
        the entries stored before, whose mentions are replaced.

        The entries' own rows are written first. Rows other processes write too come last and
        in one order: links, then URL resolutions, inserted in sorted order; then, before any
        link is updated, the links to update are locked in id order (``_lock_links``)."""
        wanted: dict[int, dict[str, str]] = {}  # entry id → {url key: url as shared}
        partial_rows: list[dict[str, Any]] = []
        reference_rows: list[dict[str, Any]] = []
        papers: dict[str, Citation] = {}
        for entry_id, entry in entries:
            shared: dict[str, str] = {}
            for url in entry.links:
                shared.setdefault(self.url_key(url), url)
            wanted[entry_id] = shared
            partial_rows.extend(
                {"entry_id": entry_id, "text": p.text, "host": p.host, "prefix": p.prefix}
                for p in entry.partial_links
            )
            reference_rows.extend(
                {"entry_id": entry_id, "text": text, "state": "pending", "attempts": 0,
                 "text_hash": hashlib.sha1(text.encode("utf-8")).hexdigest()}
                for text in entry.references
            )  # fmt: skip
            if entry.citation is not None and entry.citation.url:
                papers[self.url_key(entry.citation.url)] = entry.citation
        if partial_rows:
            insert_rows(conn, partial_links_t, partial_rows, unique=["entry_id", "text"])
        if reference_rows:
            insert_rows(conn, references_t, reference_rows, unique=["entry_id", "text_hash"])
        keys = {key for shared in wanted.values() for key in shared}
        resolved = self._resolutions_by_key(conn, keys) if keys else {}
        missing = keys - resolved.keys()
        # Links made now are stamped as they are made, so only older ones are updated below.
        stamp = self.wall_clock()
        links = self._links_by_url(conn, missing | set(papers), now, stamp)
        if missing:  # a paper's own URL is read already: never resolved over the network
            read = {key for key in missing if links[key].read or key in papers}
            resolved |= self._add_resolutions(conn, {key: links[key].id for key in missing}, read,
                                              now)  # fmt: skip
        rows: list[dict[str, Any]] = [
            {
                "entry_id": entry_id,
                "link_id": resolved[key][1],
                "url": url,
                "resolution_id": resolved[key][0],
            }
            for entry_id, shared in wanted.items()
            for key, url in shared.items()
        ]
        if rows:
            insert_rows(conn, mentions_t, rows, unique=["entry_id", "link_id"])
        made = {found.id for found in links.values() if found.made}
        touched = sorted({row["link_id"] for row in rows} - made)
        _lock_links(conn, [*touched, *(links[key].id for key in papers)], changed)
        if papers:
            self._ensure_papers(conn, papers, now)
        if changed:
            # Changed posts: each item they share, or stopped sharing, shows them anew.
            for chunk in _chunks(sorted(changed)):
                _stamp_mentioned(conn, mentions_t.c.entry_id.in_(chunk), self.wall_clock())
            for entry_id in sorted(changed):
                keep = [resolved[key][1] for key in wanted[entry_id]]
                # Mentions made later (a completed partial link, a recovered DOI) have no
                # resolution and stay: the entry still shares what its text pointed at.
                conn.execute(
                    delete(mentions_t).where(
                        mentions_t.c.entry_id == entry_id,
                        mentions_t.c.link_id.not_in(keep),
                        mentions_t.c.resolution_id.is_not(None),
                    )
                )
        if touched:
            stamp = self.wall_clock()
            for chunk in _chunks(touched):
                conn.execute(
                    update(links_t)
                    .where(among(conn, links_t.c.id, chunk))
                    .values(needs_tagging=True, changed_at=stamp)
                )

    def _ensure_papers(
        self, conn: Connection, papers: Mapping[str, Citation], now: datetime
    ) -> None:
        """Make each paper a link under its identity URL (``papers`` is keyed by its URL key)
        with its citation: read already, so it is never resolved over the network."""
        ids = self._ensure_links(conn, set(papers), now)
        stamp = self.wall_clock()
        _stamp_versions(conn, [*_citations_of(conn, ids.values()), *papers.values()], stamp)
        for key, citation in papers.items():
            conn.execute(
                update(links_t)
                .where(links_t.c.id == ids[key])
                .values(
                    changed_at=stamp,
                    doi=citation.doi,
                    arxiv_id=citation.arxiv_id,
                    paper_state="ok",
                    paper=citation_to_json(citation),
                    paper_note=None,
                    paper_checked_at=now,
                    title=citation.title,
                    read_at=func.coalesce(links_t.c.read_at, now),
                    needs_tagging=True,
                )
            )
        _write_versions(conn, {ids[key]: citation for key, citation in papers.items()})

    def _ensure_resolutions(
        self, conn: Connection, keys: set[str], now: datetime
    ) -> dict[str, tuple[int, int]]:
        """URL key → (resolution id, link id), creating pending resolutions (and provisional
        links under the key itself) for keys never seen."""
        found = self._resolutions_by_key(conn, keys)
        missing = keys - found.keys()
        if missing:
            links = self._links_by_url(conn, missing, now)
            read = {key for key in missing if links[key].read}
            found |= self._add_resolutions(conn, {key: links[key].id for key in missing}, read,
                                           now)  # fmt: skip
        return found

    def _add_resolutions(
        self, conn: Connection, link_ids: Mapping[str, int], read: Collection[str], now: datetime
    ) -> dict[str, tuple[int, int]]:
        """Create the resolutions of these URL keys (key → its provisional link), in key order:
        pending, or ``ok`` for those whose link is ``read`` (the article itself, already read
        under this URL). Returns key → (resolution id, link id), made now or by another
        process meanwhile."""
        rows = []
        for key in sorted(link_ids):
            row = {"url": key, "link_id": link_ids[key], "chain": [], "attempts": 0,
                   "outcome": "pending", "final_url": None, "resolved_at": None}  # fmt: skip
            if key in read:
                row |= {"outcome": "ok", "final_url": key, "resolved_at": now}
            rows.append(row)
        made = insert_rows(conn, resolutions_t, rows, unique=["url"],
                           returning=["id", "url", "link_id"])  # fmt: skip
        found = {row.url: (row.id, row.link_id) for row in made}
        if len(found) < len(rows):
            found |= self._resolutions_by_key(conn, link_ids.keys() - found.keys())
        return found

    def _resolutions_by_key(
        self, conn: Connection, keys: Iterable[str]
    ) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for chunk in _chunks(sorted(keys)):
            query = select(resolutions_t.c.id, resolutions_t.c.url, resolutions_t.c.link_id)
            for row in conn.execute(query.where(among(conn, resolutions_t.c.url, chunk))):
                found[row.url] = (row.id, row.link_id)
        return found

    def _ensure_links(self, conn: Connection, keys: set[str], now: datetime) -> dict[str, int]:
        return {url: found.id for url, found in self._links_by_url(conn, keys, now).items()}

    def _links_by_url(
        self, conn: Connection, urls: Collection[str], now: datetime, stamp: datetime | None = None
    ) -> dict[str, _FoundLink]:
        """The link of each URL, made (in URL order, stamped ``changed_at=stamp``) for those
        that have none."""
        c = links_t.c
        found: dict[str, _FoundLink] = {}
        for chunk in _chunks(sorted(urls)):
            query = select(c.id, c.url, c.read_at.is_not(None).label("read"))
            for row in conn.execute(query.where(among(conn, c.url, chunk))):
                found[row.url] = _FoundLink(row.id, bool(row.read), made=False)
        missing = [
            # A post's own identity has nothing to fetch: it counts as read at once.
            {"url": url, "first_seen_at": now, "needs_tagging": True, "changed_at": stamp,
             "read_at": now if is_post_identity(url) else None}
            for url in sorted(urls)
            if url not in found
        ]  # fmt: skip
        if missing:
            made = insert_rows(conn, links_t, missing, unique=["url"],
                               returning=["id", "url", "read_at"])  # fmt: skip
            found |= {row.url: _FoundLink(row.id, row.read_at is not None, made=True)
                      for row in made}  # fmt: skip
            raced = [url for url in urls if url not in found]
            if raced:  # made by another process meanwhile
                found |= self._links_by_url(conn, raced, now)
        return found

    # -- link resolution -------------------------------------------------------------------

    def resolutions_due(self, now: datetime, max_attempts: int) -> list[tuple[int, str]]:
        """(resolution id, URL) of URLs never resolved, and of failures whose retry is due."""
        failed = resolutions_t.c.outcome.not_in([*SUCCESS, "pending"])
        query = (
            select(resolutions_t.c.id, resolutions_t.c.url)
            .where(
                (resolutions_t.c.outcome == "pending")
                | (
                    failed
                    & (resolutions_t.c.retry_at <= now)
                    & (resolutions_t.c.attempts < max_attempts)
                )
            )
            .order_by(resolutions_t.c.id)
        )
        with self.engine.connect() as conn:
            return [(row.id, row.url) for row in conn.execute(query)]

    def cached_resolutions(self, urls: Iterable[str]) -> dict[str, CachedResolution]:
        """What the cache knows of these shared URLs (by their key), resolved or not."""
        keys = {url: self.url_key(url) for url in urls}
        found: dict[str, CachedResolution] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(sorted(set(keys.values()))):
                query = (
                    select(
                        resolutions_t.c.url,
                        resolutions_t.c.outcome,
                        resolutions_t.c.final_url,
                        resolutions_t.c.error,
                        resolutions_t.c.chain,
                        links_t.c.url.label("link_url"),
                        links_t.c.title,
                    )
                    .join(links_t, links_t.c.id == resolutions_t.c.link_id)
                    .where(resolutions_t.c.url.in_(chunk))
                )
                for row in conn.execute(query):
                    found[row.url] = CachedResolution(
                        row.outcome, row.link_url, row.final_url, row.title, row.error,
                        tuple(tuple(hop) for hop in row.chain or ()),
                    )  # fmt: skip
        return {url: found[key] for url, key in keys.items() if key in found}

    def remember_urls(self, urls: Iterable[str], now: datetime) -> dict[str, int]:
        """Make sure each URL has a resolution (pending if new): URL → resolution id."""
        keys = {url: self.url_key(url) for url in urls}
        with self._begin() as conn:
            found = self._ensure_resolutions(conn, set(keys.values()), now)
        return {url: found[key][0] for url, key in keys.items()}

    def save_resolutions(
        self,
        results: Sequence[tuple[int, Resolution]],
        now: datetime,
        retry_hours: float,
        max_attempts: int,
    ) -> None:
        """Store where each URL led, in one transaction: the resolution, the article's metadata,
        and the merge of its mentions into the link of its canonical URL."""
        if not results:
            return
        results = without_nul(list(results))  # pages' text may hold NUL
        with self._begin() as conn:
            targets = self._ensure_links(conn, {r.canonical_url for _, r in results}, now)
            previous = {
                row.id: row
                for chunk in _chunks([rid for rid, _ in results])
                for row in conn.execute(
                    select(
                        resolutions_t.c.id, resolutions_t.c.link_id, resolutions_t.c.attempts
                    ).where(resolutions_t.c.id.in_(chunk))
                )
            }
            resolved: list[dict[str, Any]] = []
            read: list[dict[str, Any]] = []
            moves: list[dict[str, Any]] = []
            for resolution_id, result in results:
                before = previous[resolution_id]
                target = targets[result.canonical_url]
                attempts = before.attempts + 1
                retry = None
                if not result.succeeded and attempts < max_attempts:
                    retry = now + retry_delay(attempts, retry_hours)
                resolved.append({
                    "b_id": resolution_id,
                    "outcome": result.outcome,
                    "final_url": result.final_url,
                    "chain": [[hop.url, hop.status, hop.via] for hop in result.chain],
                    "http_status": result.http_status,
                    "error": result.error,
                    "attempts": attempts,
                    "resolved_at": now,
                    "retry_at": retry,
                    "link_id": target,
                })  # fmt: skip
                if result.succeeded:
                    # The article's own page wins over what a variant (AMP, mobile) said; a
                    # variant only fills what is still unknown.
                    own = canonical_url(result.final_url, self.rules) == result.canonical_url
                    values = {"v_" + key: value for key, value in _metadata_values(result).items()}
                    read.append({"b_id": target, "b_own": own, "v_read_at": now} | values)
                if target != before.link_id:
                    moves.append({"b_rid": resolution_id, "b_old": before.link_id, "b_new": target})
            conn.execute(
                update(resolutions_t).where(resolutions_t.c.id == bindparam("b_id")), resolved
            )
            if read:
                columns = [key[2:] for key in read[0] if key.startswith("v_")]
                for own in (False, True):
                    rows = [row for row in read if row["b_own"] is own]
                    if not rows:
                        continue
                    # What a page leaves out never erases what another page of the article said.
                    values = {
                        name: func.coalesce(bindparam("v_" + name), links_t.c[name])
                        if own
                        else func.coalesce(links_t.c[name], bindparam("v_" + name))
                        for name in columns
                    }
                    conn.execute(
                        update(links_t).where(links_t.c.id == bindparam("b_id")).values(values),
                        [{k: v for k, v in row.items() if k != "b_own"} for row in rows],
                    )
            if moves:
                self._move_mentions(conn, moves)
            touched = sorted({row["b_id"] for row in read} | {row["b_new"] for row in moves})
            stamp = self.wall_clock()
            for chunk in _chunks(touched):
                conn.execute(
                    update(links_t)
                    .where(links_t.c.id.in_(chunk))
                    .values(needs_tagging=True, changed_at=stamp)
                )

    def _move_mentions(self, conn: Connection, moves: Sequence[dict[str, Any]]) -> None:
        """Re-point the mentions made through each resolution ``b_rid`` from link ``b_old`` to
        ``b_new`` (rows of one executemany), and drop the old links nothing refers to any more."""
        already = select(mentions_t.c.entry_id).where(mentions_t.c.link_id == bindparam("b_new"))
        conn.execute(
            delete(mentions_t).where(
                mentions_t.c.resolution_id == bindparam("b_rid"),
                mentions_t.c.entry_id.in_(already),
            ),
            [{"b_rid": m["b_rid"], "b_new": m["b_new"]} for m in moves],
        )
        conn.execute(
            update(mentions_t)
            .where(mentions_t.c.resolution_id == bindparam("b_rid"))
            .values(link_id=bindparam("b_new")),
            [{"b_rid": m["b_rid"], "b_new": m["b_new"]} for m in moves],
        )
        # The merged link was first seen when the earliest of its URLs was.
        old_seen = (
            select(links_t.c.first_seen_at)
            .where(links_t.c.id == bindparam("b_old"))
            .scalar_subquery()
        )
        conn.execute(
            update(links_t)
            .where(links_t.c.id == bindparam("b_new"), links_t.c.first_seen_at > old_seen)
            .values(first_seen_at=old_seen),
            [{"b_old": m["b_old"], "b_new": m["b_new"]} for m in moves],
        )
        olds = sorted({m["b_old"] for m in moves})
        still_used: set[int] = set()
        for chunk in _chunks(olds):
            still_used.update(
                conn.execute(
                    select(mentions_t.c.link_id).where(mentions_t.c.link_id.in_(chunk))
                ).scalars()
            )
            still_used.update(
                conn.execute(
                    select(resolutions_t.c.link_id).where(resolutions_t.c.link_id.in_(chunk))
                ).scalars()
            )
        orphans = [old for old in olds if old not in still_used]
        # A link that kept some of its mentions is an item with fewer sharers; one deleted
        # leaves the items its citation named as versions without it.
        stamp = self.wall_clock()
        _stamp(conn, still_used, stamp)
        _stamp_versions(conn, _citations_of(conn, orphans), stamp)
        new_of = {m["b_old"]: m["b_new"] for m in moves}
        for chunk in _chunks(orphans):
            partials = conn.execute(
                select(partial_links_t.c.id, partial_links_t.c.link_id).where(
                    partial_links_t.c.link_id.in_(chunk)
                )
            ).all()
            if partials:
                conn.execute(
                    update(partial_links_t)
                    .where(partial_links_t.c.id == bindparam("b_id"))
                    .values(link_id=bindparam("b_link")),
                    [{"b_id": p.id, "b_link": new_of[p.link_id]} for p in partials],
                )
            conn.execute(delete(link_topics_t).where(link_topics_t.c.link_id.in_(chunk)))
            conn.execute(delete(links_t).where(links_t.c.id.in_(chunk)))

    # -- papers ------------------------------------------------------------------------------

    def links_to_identify(self) -> list[LinkFacts]:
        """Links not yet checked for being a paper: their URL, the URLs their resolutions ended
        at, and their page's scholarly meta tags."""
        query = (
            select(links_t.c.id, links_t.c.url, links_t.c.citation, resolutions_t.c.final_url)
            .outerjoin(resolutions_t, resolutions_t.c.link_id == links_t.c.id)
            .where(links_t.c.paper_state.is_(None))
            .order_by(links_t.c.id)
        )
        facts: dict[int, LinkFacts] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                known = facts.setdefault(row.id, LinkFacts(row.id, row.url, row.citation or {}, []))
                if row.final_url and row.final_url not in known.urls:
                    known.urls.append(row.final_url)
        return list(facts.values())

    def set_identifiers(
        self, found: Mapping[int, tuple[str | None, str | None]], now: datetime
    ) -> None:
        """Record what each link is: ``(doi, arxiv id)``, or ``(None, None)`` for no paper. A
        paper's link moves to its identity URL (``https://doi.org/<doi>``, or arXiv's abstract
        page), merging with the other links of the same paper."""
        if not found:
            return
        with self._begin() as conn:
            plain = [link_id for link_id, ids in found.items() if ids == (None, None)]
            for chunk in _chunks(plain):
                conn.execute(
                    update(links_t).where(links_t.c.id.in_(chunk)).values(paper_state="none")
                )
            papers = {link_id: ids for link_id, ids in found.items() if ids != (None, None)}
            identity = {
                link_id: f"https://doi.org/{doi}" if doi else f"https://arxiv.org/abs/{arxiv}"
                for link_id, (doi, arxiv) in papers.items()
            }
            targets = self._ensure_links(conn, set(identity.values()), now)
            for link_id, (doi, arxiv) in papers.items():
                target = targets[identity[link_id]]
                if target != link_id:
                    self._merge_link(conn, link_id, target)
                values: dict[str, Any] = {"doi": doi, "arxiv_id": arxiv, "needs_tagging": True,
                                          "changed_at": self.wall_clock()}  # fmt: skip
                state = conn.execute(
                    select(links_t.c.paper_state).where(links_t.c.id == target)
                ).scalar_one()
                if state in (None, "none"):
                    values |= {"paper_state": "pending", "paper_attempts": 0}
                conn.execute(update(links_t).where(links_t.c.id == target).values(**values))

    def _merge_link(self, conn: Connection, old: int, new: int) -> None:
        """Fold link ``old`` into ``new``: its mentions, resolutions and partial links move over,
        what ``new`` does not know of the page is kept, and ``old`` is deleted."""
        already = select(mentions_t.c.entry_id).where(mentions_t.c.link_id == new)
        conn.execute(
            delete(mentions_t).where(
                mentions_t.c.link_id == old, mentions_t.c.entry_id.in_(already)
            )
        )
        conn.execute(update(mentions_t).where(mentions_t.c.link_id == old).values(link_id=new))
        conn.execute(
            update(resolutions_t).where(resolutions_t.c.link_id == old).values(link_id=new)
        )
        conn.execute(
            update(partial_links_t).where(partial_links_t.c.link_id == old).values(link_id=new)
        )
        keep = ("title", "description", "site_name", "author", "published_at", "language",
                "image_url", "citation", "content_type", "read_at", "first_seen_at")  # fmt: skip
        before = conn.execute(select(*(links_t.c[name] for name in keep)).where(
            links_t.c.id == old)).one()  # fmt: skip
        values: dict[str, Any] = {
            name: func.coalesce(links_t.c[name], value)
            for name, value in zip(keep, before, strict=True)
            if value is not None and name != "first_seen_at"
        }
        if before.first_seen_at is not None:  # the earlier of the two
            earliest = func.min if conn.dialect.name == "sqlite" else func.least
            values["first_seen_at"] = earliest(links_t.c.first_seen_at, before.first_seen_at)
        values["needs_tagging"] = True
        values["changed_at"] = stamp = self.wall_clock()
        conn.execute(update(links_t).where(links_t.c.id == new).values(**values))
        _stamp_versions(conn, _citations_of(conn, [old]), stamp)  # they lose ``old``
        conn.execute(delete(link_topics_t).where(link_topics_t.c.link_id == old))
        conn.execute(delete(links_t).where(links_t.c.id == old))

    def papers_due(
        self, now: datetime, max_attempts: int, retry_hours: float
    ) -> list[tuple[int, str | None, str | None]]:
        """(link id, DOI, arXiv id) of papers whose citation is still to be looked up: new
        ones, and failed lookups whose backoff has passed."""
        query = (
            select(
                links_t.c.id,
                links_t.c.doi,
                links_t.c.arxiv_id,
                links_t.c.paper_state,
                links_t.c.paper_attempts,
                links_t.c.paper_checked_at,
            )
            .where(
                (links_t.c.paper_state == "pending")
                | ((links_t.c.paper_state == "error") & (links_t.c.paper_attempts < max_attempts))
            )
            .order_by(links_t.c.id)
        )
        with self.engine.connect() as conn:
            return [
                (row.id, row.doi, row.arxiv_id)
                for row in conn.execute(query)
                if _retry_due(
                    row.paper_state, row.paper_attempts, row.paper_checked_at, now, retry_hours
                )
            ]

    def references_due(
        self, now: datetime, max_attempts: int, retry_hours: float
    ) -> list[tuple[int, str]]:
        """(reference id, text) of citation texts whose DOI is still to be recovered: new ones,
        and those whose search failed, once their backoff has passed."""
        query = (
            select(
                references_t.c.id,
                references_t.c.text,
                references_t.c.state,
                references_t.c.attempts,
                references_t.c.checked_at,
            )
            .where(
                (references_t.c.state == "pending")
                | ((references_t.c.state == "error") & (references_t.c.attempts < max_attempts))
            )
            .order_by(references_t.c.id)
        )
        with self.engine.connect() as conn:
            return [
                (row.id, row.text)
                for row in conn.execute(query)
                if _retry_due(row.state, row.attempts, row.checked_at, now, retry_hours)
            ]

    def save_recoveries(
        self, results: Sequence[tuple[int, str, Citation | None, str]], now: datetime
    ) -> None:
        """Store each recovery: ``(reference id, state, citation, note)``. A recovered paper
        becomes a link with its citation, shared by the post the reference was in."""
        if not results:
            return
        with self._begin() as conn:
            entry_of = {
                row.id: row.entry_id
                for chunk in _chunks([ref_id for ref_id, *_ in results])
                for row in conn.execute(
                    select(references_t.c.id, references_t.c.entry_id).where(
                        references_t.c.id.in_(chunk)
                    )
                )
            }
            papers = {
                self.url_key(citation.url): citation
                for _, _, citation, _ in results
                if citation is not None and citation.url
            }
            if papers:
                self._ensure_papers(conn, papers, now)
            link_ids = self._ensure_links(conn, set(papers), now) if papers else {}
            for ref_id, state, citation, note in results:
                values: dict[str, Any] = {
                    "state": state,
                    "note": note,
                    "checked_at": now,
                    "attempts": references_t.c.attempts + 1,
                }
                if citation is not None and citation.url:
                    link_id = link_ids[self.url_key(citation.url)]
                    values |= {"doi": citation.doi, "link_id": link_id}
                    conn.execute(
                        _insert_ignore(conn, mentions_t, ["entry_id", "link_id"]),
                        [{"entry_id": entry_of[ref_id], "link_id": link_id,
                          "url": citation.url, "resolution_id": None}],
                    )  # fmt: skip
                    self._drop_self_share(conn, entry_of[ref_id])
                conn.execute(
                    update(references_t).where(references_t.c.id == ref_id).values(**values)
                )
            _stamp(conn, link_ids.values(), self.wall_clock())  # shared by one more post

    def _drop_self_share(self, conn: Connection, entry_id: int) -> None:
        """A post that seemed to link nowhere shared its own permalink (or its identity, when it
        has no web address); once it is known to share something (a completed link, a recovered
        paper), it is a mention of that only."""
        own = select(entries_t.c.url).where(entries_t.c.id == entry_id).scalar_subquery()
        self_shares = (
            mentions_t.c.entry_id == entry_id,
            or_(mentions_t.c.url == own, mentions_t.c.url.startswith(POST_IDENTITY)),
            mentions_t.c.link_id.not_in(select(links_t.c.id).where(links_t.c.doi.is_not(None))),
        )
        _stamp_mentioned(conn, and_(*self_shares), self.wall_clock())
        conn.execute(delete(mentions_t).where(*self_shares))

    def references(self) -> list[tuple[str, str, str | None, str | None]]:
        """Every citation text found in posts: (text, state, DOI, note), oldest first."""
        query = select(
            references_t.c.text, references_t.c.state, references_t.c.doi, references_t.c.note
        ).order_by(references_t.c.id)
        with self.engine.connect() as conn:
            return [(row.text, row.state, row.doi, row.note) for row in conn.execute(query)]

    def save_papers(
        self, results: Sequence[tuple[int, str, Citation | None, str | None]], now: datetime
    ) -> None:
        """Store each lookup: ``(link id, state, citation, note)``; a citation gives the item
        its title."""
        if not results:
            return
        results = without_nul(list(results))  # the services' JSON may hold NUL
        with self._begin() as conn:
            # A lookup that found nothing changes nothing an item shows; a citation changes the
            # paper's item and those its old and its new citation name as versions.
            stamp = self.wall_clock()
            cited = [(link_id, c) for link_id, _, c, _ in results if c is not None]
            old = _citations_of(conn, [link_id for link_id, _ in cited])
            _stamp_versions(conn, [*old, *(c for _, c in cited)], stamp)
            kept: dict[int, Citation] = {}  # link → its citation now (a link gone keeps none)
            for link_id, state, citation, note in results:
                values: dict[str, Any] = {
                    "paper_state": state,
                    "paper_note": note,
                    "paper_checked_at": now,
                    "paper_attempts": links_t.c.paper_attempts + 1,
                    "needs_tagging": True,
                }
                if citation is not None:
                    values |= {"paper": citation_to_json(citation), "title": citation.title,
                               "changed_at": stamp}  # fmt: skip
                query = update(links_t).where(links_t.c.id == link_id).values(**values)
                if conn.execute(query).rowcount and citation is not None:
                    kept[link_id] = citation
            _write_versions(conn, kept)

    def complete_partial_links(self) -> int:
        """Complete truncated display URLs whose prefix matches exactly one known link of the
        same host; each completion becomes a mention of that link. Returns how many."""
        completed = 0
        with self._begin() as conn:
            pending = conn.execute(
                select(partial_links_t).where(partial_links_t.c.link_id.is_(None))
            ).all()
            for partial in pending:
                candidates = self._links_on_host(conn, partial.host)
                wanted = _without_scheme(partial.prefix)
                matches = {
                    link_id: url
                    for url, link_id in candidates
                    if _without_scheme(url).startswith(wanted)
                }
                if len(matches) != 1:
                    continue
                ((link_id, url),) = matches.items()
                conn.execute(
                    _insert_ignore(conn, mentions_t, ["entry_id", "link_id"]),
                    [{"entry_id": partial.entry_id, "link_id": link_id, "url": url,
                      "resolution_id": None}],
                )  # fmt: skip
                conn.execute(
                    update(partial_links_t)
                    .where(partial_links_t.c.id == partial.id)
                    .values(link_id=link_id)
                )
                self._drop_self_share(conn, partial.entry_id)
                conn.execute(
                    update(links_t)
                    .where(links_t.c.id == link_id)
                    .values(needs_tagging=True, changed_at=self.wall_clock())
                )
                completed += 1
        return completed

    def _links_on_host(self, conn: Connection, host: str) -> list[tuple[str, int]]:
        """(URL, link id) of every link, and every URL a resolution ended at, on ``host``."""
        patterns = [f"{scheme}://{www}{host}/%" for scheme in ("http", "https")
                    for www in ("", "www.")]  # fmt: skip
        found: list[tuple[str, int]] = []
        for column, id_column in (
            (links_t.c.url, links_t.c.id),
            (resolutions_t.c.final_url, resolutions_t.c.link_id),
        ):
            condition = or_(*(column.like(pattern) for pattern in patterns))
            found.extend(
                (row[0], row[1]) for row in conn.execute(select(column, id_column).where(condition))
            )
        return found

    # -- topics ----------------------------------------------------------------------------

    def sync_topics(self, topics: Sequence[TopicSettings]) -> None:
        with self._begin() as conn:
            known = {row.id: row for row in conn.execute(select(topics_t))}
            for topic in topics:
                row = known.get(topic.id)
                values = {"name": topic.name, "description": topic.description}
                if row is None:
                    conn.execute(insert(topics_t).values(id=topic.id, **values))
                elif (row.name, row.description) != (topic.name, topic.description):
                    conn.execute(update(topics_t).where(topics_t.c.id == topic.id).values(**values))
                    if row.name != topic.name:  # the items of the topic show its new name
                        tagged = select(link_topics_t.c.link_id).where(
                            link_topics_t.c.topic_id == topic.id
                        )
                        conn.execute(
                            update(links_t)
                            .where(links_t.c.id.in_(tagged))
                            .values(changed_at=self.wall_clock())
                        )

    def links_to_tag(
        self,
        fingerprint: str | None = None,
        everything: bool = False,
        only: Sequence[int] | None = None,
    ) -> list[TagInput]:
        """What tagging needs of the links that are due: new or changed ones, those tagged
        under another ``fingerprint`` (taxonomy, model or labels changed), all of them
        (``everything``), or just the links ``only`` names."""
        query = (
            select(
                links_t.c.id,
                links_t.c.url,
                links_t.c.title,
                links_t.c.description,
                links_t.c.paper,
                entries_t.c.title.label("entry_title"),
                entries_t.c.summary_html,
                entries_t.c.source_id,
            )
            .join(mentions_t, mentions_t.c.link_id == links_t.c.id)
            .join(entries_t, entries_t.c.id == mentions_t.c.entry_id)
            # The same first mention whatever order the sources were stored in.
            .order_by(
                links_t.c.id, entries_t.c.published_at, entries_t.c.source_id, entries_t.c.guid
            )
        )
        if only is not None:
            query = query.where(links_t.c.id.in_(list(only)))
        elif not everything:
            due: Any = links_t.c.needs_tagging.is_(True)
            if fingerprint is not None:
                due = due | links_t.c.tagged_with.is_(None) | (links_t.c.tagged_with != fingerprint)
            query = query.where(due)
        grouped: dict[int, TagInput] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                known = grouped.get(row.id)
                if known is None:
                    paper = citation_from_json(row.paper) if row.paper else None
                    known = grouped[row.id] = TagInput(
                        row.id,
                        row.url,
                        row.title or row.entry_title,
                        [row.description or "", paper.abstract or "" if paper else ""],
                        [],
                        paper,
                    )
                known.texts.append(row.entry_title)
                known.texts.append(html_to_text(row.summary_html))
                known.source_ids.append(row.source_id)
        return list(grouped.values())

    def save_tags(
        self,
        tags: Mapping[int, Sequence[tuple[str, float, str]]],
        fingerprint: str | None = None,
    ) -> None:
        """Replace the topics of the given links with ``(topic id, score, reason)`` triples,
        recording the tagger's ``fingerprint``; links whose topics did not change keep their
        rows (only the fingerprint moves)."""
        if not tags:
            return
        with self._begin() as conn:
            ids = list(tags)
            before: dict[int, set[tuple[str, float, str]]] = defaultdict(set)
            for chunk in _chunks(ids):
                for row in conn.execute(
                    select(
                        link_topics_t.c.link_id,
                        link_topics_t.c.topic_id,
                        link_topics_t.c.score,
                        link_topics_t.c.reason,
                    ).where(link_topics_t.c.link_id.in_(chunk))
                ):
                    before[row.link_id].add((row.topic_id, round(row.score, 6), row.reason))
            changed = [
                link_id
                for link_id, triples in tags.items()
                if {(t, round(score, 6), r) for t, score, r in triples}
                != before.get(link_id, set())
            ]
            for chunk in _chunks(ids):
                conn.execute(
                    update(links_t)
                    .where(links_t.c.id.in_(chunk))
                    .values(needs_tagging=False, tagged_with=fingerprint)
                )
            _stamp(conn, changed, self.wall_clock())
            for chunk in _chunks(changed):
                conn.execute(delete(link_topics_t).where(link_topics_t.c.link_id.in_(chunk)))
            rows = [
                {"link_id": link_id, "topic_id": topic, "score": score, "reason": reason}
                for link_id in changed
                for topic, score, reason in tags[link_id]
            ]
            if rows:
                conn.execute(insert(link_topics_t), rows)

    # -- labels ------------------------------------------------------------------------------

    def find_link(self, reference: str) -> int | None:
        """The link an item reference names: its id, its URL, or any URL it was shared as."""
        if reference.isdigit():
            with self.engine.connect() as conn:
                found = conn.execute(
                    select(links_t.c.id).where(links_t.c.id == int(reference))
                ).scalar()
            return int(found) if found is not None else None
        key = self.url_key(reference)
        with self.engine.connect() as conn:
            found = conn.execute(select(links_t.c.id).where(links_t.c.url == key)).scalar()
            if found is None:
                found = conn.execute(
                    select(resolutions_t.c.link_id).where(resolutions_t.c.url == key)
                ).scalar()
        return int(found) if found is not None else None

    def add_labels(self, labels: Sequence[LabelRecord], now: datetime) -> int:
        """Store verdicts (a later verdict on the same item and topic replaces the earlier);
        the labelled links are due for tagging again. Returns how many were stored."""
        if not labels:
            return 0
        with self._begin() as conn:
            for label in labels:
                key = label.url or label.title
                conn.execute(
                    delete(labels_t).where(
                        labels_t.c.key == key, labels_t.c.topic_id == label.topic_id
                    )
                )
                conn.execute(
                    insert(labels_t).values(
                        key=key,
                        link_id=label.link_id,
                        topic_id=label.topic_id,
                        positive=label.positive,
                        title=label.title,
                        summary=label.summary,
                        url=label.url,
                        created_at=now,
                    )
                )
        return len(labels)

    def labels(self) -> list[LabelRecord]:
        with self.engine.connect() as conn:
            return [
                LabelRecord(
                    row.topic_id, row.positive, row.title, row.summary, row.url, row.link_id
                )
                for row in conn.execute(select(labels_t).order_by(labels_t.c.id))
            ]

    # -- digest deliveries -------------------------------------------------------------------

    def digest_windows(
        self, day: date
    ) -> tuple[tuple[datetime, datetime] | None, datetime | None, datetime | None]:
        """What bounds the window of ``day``'s digest: its own recorded window (None before
        its first send), the end of the latest window before it and the start of the
        earliest one after it (None when there is none)."""
        with self.engine.connect() as conn:
            own = conn.execute(
                select(editions_t.c.window_start, editions_t.c.window_end).where(
                    editions_t.c.day == day
                )
            ).first()
            before = conn.execute(
                select(func.max(editions_t.c.window_end)).where(editions_t.c.day < day)
            ).scalar()
            after = conn.execute(
                select(func.min(editions_t.c.window_start)).where(editions_t.c.day > day)
            ).scalar()
        window = (own.window_start, own.window_end) if own else None
        return window, before, after  # max/min keep the column's type: aware UTC

    def open_digest_edition(
        self, day: date, start: datetime, end: datetime, now: datetime
    ) -> tuple[datetime, datetime]:
        """Record ``day``'s window unless one is recorded already (by an earlier or a
        concurrent run); returns the window in force."""
        with self._begin() as conn:
            conn.execute(
                _insert_ignore(conn, editions_t, ["day"]).values(
                    day=day, window_start=start, window_end=end, created_at=now
                )
            )
            row = conn.execute(
                select(editions_t.c.window_start, editions_t.c.window_end).where(
                    editions_t.c.day == day
                )
            ).one()
        return row.window_start, row.window_end

    def digest_deliveries(self, day: date | None = None) -> list[DeliveryRecord]:
        """The recorded deliveries of ``day`` (every day: newest first), by list and
        recipient."""
        query = select(deliveries_t).order_by(
            deliveries_t.c.day.desc(), deliveries_t.c.list_name, deliveries_t.c.recipient
        )
        if day is not None:
            query = query.where(deliveries_t.c.day == day)
        with self.engine.connect() as conn:
            return [
                DeliveryRecord(
                    id=row.id,
                    day=row.day,
                    list_name=row.list_name,
                    recipient=row.recipient,
                    message_id=row.message_id,
                    message=row.message,
                    item_count=row.item_count,
                    state=row.state,
                    attempts=row.attempts,
                    error=row.error,
                    updated_at=row.updated_at,
                    sent_at=row.sent_at,
                )
                for row in conn.execute(query)
            ]

    def add_digest_deliveries(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Record new deliveries (``day``, ``list_name``, ``recipient``, ``message_id``,
        ``message``, ``item_count``, ``state``, ``created_at``); one already recorded for the
        same day, list and recipient is kept as it is, message and all."""
        if not rows:
            return
        keys = ["day", "list_name", "recipient"]
        with self._begin() as conn:
            for chunk in _chunks(rows):
                conn.execute(
                    _insert_ignore(conn, deliveries_t, keys),
                    [dict(row, updated_at=row["created_at"]) for row in chunk],
                )

    def claim_digest_delivery(
        self, delivery_id: int, now: datetime, stale_before: datetime
    ) -> bool:
        """Mark a delivery ``sending`` before it is handed to the server. Only one run wins:
        a delivery that is pending or failed, or left ``sending`` before ``stale_before`` by
        a run that died. False when it is sent, skipped, or being sent by another run."""
        claimable = or_(
            deliveries_t.c.state.in_(("pending", "failed")),
            (deliveries_t.c.state == "sending") & (deliveries_t.c.updated_at < stale_before),
        )
        with self._begin() as conn:
            result = conn.execute(
                update(deliveries_t)
                .where((deliveries_t.c.id == delivery_id) & claimable)
                .values(state="sending", attempts=deliveries_t.c.attempts + 1, updated_at=now)
            )
        return bool(result.rowcount)

    def finish_digest_delivery(
        self, delivery_id: int, state: str, now: datetime, error: str | None = None
    ) -> None:
        """Record how a delivery ended: ``sent`` or ``failed`` (with the error). A delivery
        already sent stays sent."""
        values: dict[str, Any] = {"state": state, "error": error, "updated_at": now}
        if state == "sent":
            values["sent_at"] = now
        with self._begin() as conn:
            conn.execute(
                update(deliveries_t)
                .where((deliveries_t.c.id == delivery_id) & (deliveries_t.c.state != "sent"))
                .values(**values)
            )

    # -- schedule and leases ------------------------------------------------------------------

    def claim_due(
        self, owner: str, now: datetime, lease: timedelta, limit: int
    ) -> list[tuple[SourceState, SourceSchedule]]:
        """Claim up to ``limit`` due sources for ``owner`` until ``now + lease``, oldest due
        first: active, not paused, due, and not leased by anyone (or their lease expired). One
        statement: on PostgreSQL ``FOR UPDATE SKIP LOCKED`` makes processes claiming at once
        take different rows; SQLite runs one writer at a time anyway."""
        s = sources_t.c
        due = (
            select(s.id)
            .where(
                s.active.is_(True),
                s.paused_at.is_(None),
                or_(s.next_due_at.is_(None), s.next_due_at <= now),
                or_(s.lease_expires_at.is_(None), s.lease_expires_at <= now),
            )
            .order_by(s.next_due_at.asc().nulls_first(), s.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        columns = ("id", "name", "kind", "url", "etag", "last_modified", "options", "cursor",
                   "next_due_at", "interval_seconds", "consecutive_failures", "failing_since",
                   "schedule_hints")  # fmt: skip
        claim = (
            update(sources_t)
            .where(s.id.in_(due.scalar_subquery()))
            .values(lease_owner=owner, lease_expires_at=now + lease)
            .returning(*(sources_t.c[name] for name in columns))
        )
        with self._begin() as conn:
            rows = list(conn.execute(claim))
        epoch = datetime.min.replace(tzinfo=now.tzinfo)
        rows.sort(key=lambda row: (row.next_due_at or epoch, row.id))
        return [(_source_state(row), _source_schedule(row)) for row in rows]

    def _release_claims(self, conn: Connection, updates: Sequence[ScheduleUpdate]) -> None:
        """Set each source's schedule and release its lease, if its owner still holds it (a
        lease that expired and went to another process is theirs now)."""
        s = sources_t.c
        conn.execute(
            update(sources_t)
            .where(s.id == bindparam("b_id"), s.lease_owner == bindparam("b_owner"))
            .values(
                next_due_at=bindparam("b_due"),
                failing_since=bindparam("b_since"),
                paused_at=bindparam("b_paused"),
                schedule_hints=bindparam("b_hints", type_=s.schedule_hints.type),
                lease_owner=None,
                lease_expires_at=None,
            ),
            [
                {"b_id": u.source_id, "b_owner": u.owner, "b_due": u.next_due_at,
                 "b_since": u.failing_since, "b_paused": u.paused_at, "b_hints": u.hints}
                for u in updates
            ],
        )  # fmt: skip

    def renew_leases(self, owner: str, source_ids: Iterable[int], until: datetime) -> int:
        """Extend ``owner``'s leases on these sources (a long fetch keeps its sources)."""
        ids = list(source_ids)
        renewed = 0
        with self._begin() as conn:
            for chunk in _chunks(ids):
                renewed += conn.execute(
                    update(sources_t)
                    .where(sources_t.c.lease_owner == owner, sources_t.c.id.in_(chunk))
                    .values(lease_expires_at=until)
                ).rowcount
        return renewed

    def release_leases(self, owner: str) -> int:
        """Release every lease ``owner`` holds, leaving the sources due as they were: work that
        was stopped (or whose process died) is done again by whoever claims it next."""
        with self._begin() as conn:
            return conn.execute(
                update(sources_t)
                .where(sources_t.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
            ).rowcount

    def lease_owners(self) -> set[str]:
        """The processes holding leases now (expired or not)."""
        with self.engine.connect() as conn:
            query = select(sources_t.c.lease_owner).distinct()
            return {owner for (owner,) in conn.execute(query) if owner}

    def first_due_at(self, now: datetime) -> datetime | None:
        """The first moment a source can be claimed: ``now`` when one is due and free, else
        the earliest next due time or lease expiry. None when there is no active source."""
        s = sources_t.c
        eligible = (s.active.is_(True), s.paused_at.is_(None))
        free = or_(s.lease_expires_at.is_(None), s.lease_expires_at <= now)
        with self.engine.connect() as conn:
            unscheduled = conn.execute(
                select(s.id).where(*eligible, free, s.next_due_at.is_(None)).limit(1)
            ).first()
            if unscheduled is not None:
                return now
            due = conn.execute(select(func.min(s.next_due_at)).where(*eligible, free))
            held = conn.execute(select(func.min(s.lease_expires_at)).where(*eligible, ~free))
            times = [t for t in (due.scalar_one(), held.scalar_one()) if t is not None]
        return max(now, min(times)) if times else None

    def resume_source(self, name: str) -> bool:
        """Resume a paused (or failing) source: due now, its run of failures forgotten for the
        purpose of pausing. False when there is no source of that name."""
        with self._begin() as conn:
            return bool(
                conn.execute(
                    update(sources_t).where(sources_t.c.name == name).values(**_RESCHEDULE)
                ).rowcount
            )

    def acquire_lock(
        self, name: str, owner: str, now: datetime, ttl: timedelta, take_over: str | None = None
    ) -> str | None:
        """Take the lock ``name`` for ``owner`` until ``now + ttl``: when it is free, expired,
        already ``owner``'s, or held by ``take_over`` (a holder known to be dead). Returns None
        on success, else the current holder."""
        c = locks_t.c
        with self._begin() as conn:
            conn.execute(
                _insert_ignore(conn, locks_t, ["name"]),
                {"name": name, "owner": owner, "acquired_at": now, "heartbeat_at": now,
                 "expires_at": now + ttl},
            )  # fmt: skip
            free = [c.owner == owner, c.expires_at <= now]
            if take_over:
                free.append(c.owner == take_over)
            taken = conn.execute(
                update(locks_t)
                .where(c.name == name, or_(*free))
                .values(owner=owner, acquired_at=now, heartbeat_at=now, expires_at=now + ttl)
            ).rowcount
            if taken:
                return None
            holder: str = conn.execute(select(c.owner).where(c.name == name)).scalar_one()
            return holder

    def renew_lock(self, name: str, owner: str, now: datetime, ttl: timedelta) -> bool:
        """Extend ``owner``'s hold on the lock; False when it is not ``owner``'s any more."""
        c = locks_t.c
        with self._begin() as conn:
            return bool(
                conn.execute(
                    update(locks_t)
                    .where(c.name == name, c.owner == owner)
                    .values(heartbeat_at=now, expires_at=now + ttl)
                ).rowcount
            )

    def release_lock(self, name: str, owner: str) -> None:
        with self._begin() as conn:
            conn.execute(delete(locks_t).where(locks_t.c.name == name, locks_t.c.owner == owner))

    def _entries_added(self, conn: Connection, since: datetime) -> dict[int, int]:
        """Source id → entries its fetches added since ``since`` (from the fetch log)."""
        log = fetch_log_t.c
        query = (
            select(log.source_id, func.sum(log.entries_new))
            .where(log.finished_at >= since)
            .group_by(log.source_id)
        )
        return {source_id: int(n or 0) for source_id, n in conn.execute(query)}

    # -- publishing ------------------------------------------------------------------------

    def items(self, link_ids: Collection[int] | None = None) -> list[Item]:
        """Every article with its sources and topics, newest first. With ``link_ids``, only
        those links' items (ids that are no item, having no mention or being gone, are left
        out), each exactly as the full list has it, versions included: an incremental site
        build reads just the items changed since its previous build."""
        with self.engine.connect() as conn, _collector_paused():
            if link_ids is None:
                return _with_versions(_load_items(conn, None))
            wanted = set(link_ids)
            items = _load_items(conn, wanted)
            # An item lists among its versions the papers whose citation names it, each added
            # in the paper's place in the order: load those papers' items too.
            naming = _papers_naming(conn, {item.url for item in items}) - wanted
            if naming:
                items.extend(_load_items(conn, naming))
                items.sort(key=_newest_first, reverse=True)
        return [item for item in _with_versions(items) if item.id in wanted]

    def item_link_ids(self) -> set[int]:
        """The ids of the links that are items now (shared by at least one post): what an
        incremental site build compares with its previous build's to find items gone."""
        query = select(mentions_t.c.link_id).distinct()
        with self.engine.connect() as conn:
            # Straight through the driver's cursor: SQLAlchemy's rows would double the time
            # (an index-only scan; 100,000 ids in about 25 ms on SQLite).
            cursor = conn.connection.cursor()
            try:
                cursor.execute(str(query.compile(dialect=conn.dialect)))
                return {row[0] for row in cursor.fetchall()}
            finally:
                cursor.close()

    def item_count(self) -> int:
        """How many links are items now (:meth:`item_link_ids`, counted in the database)."""
        query = select(func.count(mentions_t.c.link_id.distinct()))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def changed_link_ids(self, since: datetime) -> set[int]:
        """The links whose item may show something new since ``since`` (by :attr:`wall_clock`):
        those stamped then or later (``links.changed_at``), and those a changed paper's
        citation names as its other version, whose version list may now show it in another
        place or not at all. Ids of links deleted since are not among them."""
        stamped = select(links_t.c.id).where(links_t.c.changed_at >= since)
        paper = links_t.alias("paper")  # a changed paper, naming the link as its other version
        names = (
            select(versions_t.c.url)
            .join(paper, paper.c.id == versions_t.c.link_id)
            .where(paper.c.changed_at >= since)
        )
        named = select(links_t.c.id).where(links_t.c.url.in_(names))
        with self.engine.connect() as conn:
            return set(conn.execute(union_all(stamped, named)).scalars())

    def record_digest(self, day: date, now: datetime, item_count: int, message_id: str) -> None:
        with self._begin() as conn:
            values = {"generated_at": now, "item_count": item_count, "message_id": message_id}
            updated = conn.execute(update(digests_t).where(digests_t.c.day == day).values(**values))
            if not updated.rowcount:
                conn.execute(insert(digests_t).values(day=day, **values))

    def status(self, now: datetime | None = None, *, counted: bool = True) -> list[SourceStatus]:
        """Every source's state; with ``now``, also the entries each added in the 24 hours
        before it. With ``counted`` False, ``entries`` is only 1 for a source with any entry
        and 0 for one with none: what a site build needs, without counting every entry."""
        if counted:
            counts = (
                select(entries_t.c.source_id, func.count().label("n"))
                .group_by(entries_t.c.source_id)
                .subquery()
            )
            query = (
                select(sources_t, func.coalesce(counts.c.n, 0).label("entries"))
                .outerjoin(counts, counts.c.source_id == sources_t.c.id)
                .order_by(sources_t.c.name)
            )
        else:
            has_entries = exists().where(entries_t.c.source_id == sources_t.c.id)
            any_entry = case((has_entries, 1), else_=0).label("entries")
            query = select(sources_t, any_entry).order_by(sources_t.c.name)
        with self.engine.connect() as conn:
            added = self._entries_added(conn, now - timedelta(hours=24)) if now else {}
            return [
                SourceStatus(
                    name=row.name,
                    slug=row.slug,
                    kind=row.kind,
                    url=row.url,
                    active=row.active,
                    title=row.title,
                    last_fetched_at=row.last_fetched_at,
                    last_success_at=row.last_success_at,
                    last_error=row.last_error,
                    last_error_at=row.last_error_at,
                    last_warning=row.last_warning,
                    consecutive_failures=row.consecutive_failures,
                    entries=row.entries,
                    next_due_at=row.next_due_at,
                    paused_at=row.paused_at,
                    failing_since=row.failing_since,
                    interval_seconds=row.interval_seconds,
                    lease_owner=row.lease_owner,
                    lease_expires_at=row.lease_expires_at,
                    entries_added_24h=added.get(row.id, 0) if now else None,
                )
                for row in conn.execute(query)
            ]

    def counts(self) -> dict[str, int]:
        """Row counts per table (for status and tests)."""
        with self.engine.connect() as conn:
            return {
                table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for table in (
                    sources_t,
                    entries_t,
                    links_t,
                    mentions_t,
                    link_topics_t,
                    digests_t,
                    resolutions_t,
                    partial_links_t,
                )
            }

    def _begin(self) -> Any:
        return _Transaction(self.engine)


class _Transaction:
    """``engine.begin()`` that reports database failures as :class:`StoreError`."""

    def __init__(self, engine: Engine) -> None:
        self._context = engine.begin()

    def __enter__(self) -> Connection:
        try:
            return self._context.__enter__()
        except SQLAlchemyError as e:
            raise StoreError(f"cannot open database: {db_error(e)}") from e

    def __exit__(self, *exc: Any) -> bool | None:
        try:
            result = self._context.__exit__(*exc)
        except SQLAlchemyError as e:
            raise StoreError(f"database write failed: {db_error(e)}") from e
        if isinstance(exc[1], SQLAlchemyError):
            raise StoreError(f"database error: {db_error(exc[1])}") from exc[1]
        return result


def _item(
    link: Sequence[Any], mentions: list[_Mention], topics: tuple[TopicRef, ...], decode: bool
) -> Item:
    """One item from its link's row and its mentions (see :func:`_load_items`); ``decode``:
    the driver gives the JSON citation as text."""
    (link_id, url, link_title, first_seen, description, site_name, author, image_url, language,
     published_at, doi, arxiv_id, paper) = link  # fmt: skip
    # Mentions in the order they were published, so the first sharer comes first.
    mentions.sort()
    sources: dict[str, SourceRef] = {}
    refs = []
    for mention in mentions:
        source = sources.setdefault(mention.source_name, mention.source)
        # Equal strings as one object: posts mostly repeat the article's URL and title, and a
        # site build holds every item at once.
        refs.append(
            MentionRef(
                source,
                link_title if mention.title == link_title else mention.title,
                url if mention.entry_url == url else mention.entry_url,
                url if mention.shared_url == url else mention.shared_url,
                mention.when,
                author=mention.author,
                reposted_by=mention.reposted_by,
            )
        )
    # The article's own entry describes it best, then its page; a post that shared it only says
    # what the poster thought of it, so its text is the summary only when nothing else is known.
    own = (m.summary_html for m in mentions if m.summary_html and m.shared_url == m.entry_url)
    summary_html = next(own, "")
    if not summary_html and description:
        summary_html, summary_text = text_paragraph(description)
    else:
        if not summary_html:
            summary_html = next((m.summary_html for m in mentions if m.summary_html), "")
        summary_text = html_to_text(summary_html)
    # The article's own title once the links stage has read it; until then the earliest post's.
    title = link_title or next((m.title for m in mentions if m.title), "")
    if decode and isinstance(paper, str):
        paper = None if paper == "null" else json.loads(paper)
    return Item(
        id=link_id,
        url=url,
        title=title or url,
        summary_html=summary_html,
        summary_text=excerpt(summary_text),
        date=mentions[0].when,
        first_seen_at=_driver_utc(first_seen),
        sources=tuple(sources.values()),
        topics=topics,
        reached_by=tuple(dict.fromkeys(ref.shared_url for ref in refs)),
        mention_count=len(mentions),
        mentions=tuple(refs),
        description=description,
        site_name=site_name,
        author=author,
        image_url=image_url,
        language=language,
        published_at=_driver_utc(published_at),
        doi=doi,
        arxiv_id=arxiv_id,
        citation=citation_from_json(paper) if paper else None,
    )


def _with_versions(items: list[Item]) -> list[Item]:
    """Link each paper to its other versions (preprint ↔ published) both ways: when either
    side's metadata names the other."""
    versions: dict[str, list[str]] = defaultdict(list)
    for item in items:
        if item.citation is None:
            continue
        for url in version_urls(item.citation):
            if url not in versions[item.url]:
                versions[item.url].append(url)
            if item.url not in versions[url]:
                versions[url].append(item.url)
    return [
        replace(item, versions=tuple(versions[item.url])) if versions.get(item.url) else item
        for item in items
    ]


# The item's columns of its link, then of each mention (with its entry), in the order
# :func:`_item` and :func:`_load_items` unpack them.
_LINK_COLUMNS = (
    links_t.c.id,
    links_t.c.url,
    links_t.c.title,
    links_t.c.first_seen_at,
    links_t.c.description,
    links_t.c.site_name,
    links_t.c.author,
    links_t.c.image_url,
    links_t.c.language,
    links_t.c.published_at,
    links_t.c.doi,
    links_t.c.arxiv_id,
    links_t.c.paper,
)
_MENTION_COLUMNS = (
    mentions_t.c.link_id,
    mentions_t.c.url,
    entries_t.c.title,
    entries_t.c.url,
    entries_t.c.summary_html,
    entries_t.c.author,
    entries_t.c.reposted_by,
    entries_t.c.published_at,
    entries_t.c.first_seen_at,
    entries_t.c.id,
    entries_t.c.source_id,
)
# Where a paper's citation can point as another version (see ``version_urls``).
_VERSION_PREFIXES = ("https://arxiv.org/abs/", "https://doi.org/")


class _Mention(NamedTuple):
    """A mention of an item as :func:`_load_items` reads it. Its first four fields are the order
    of the item's mentions, a total one: when published, by source name, then when the entry
    was first seen and its id."""

    when: datetime
    source_name: str
    seen: datetime
    entry_id: int
    source: SourceRef
    title: str
    entry_url: str | None
    shared_url: str
    summary_html: str | None
    author: str | None
    reposted_by: str | None


def _load_items(conn: Connection, link_ids: set[int] | None) -> list[Item]:
    """The items of these links (of every link: None), newest first, without their versions.

    Read in narrow queries straight through the driver's cursor (each link's columns once, not
    once per mention), the values converted as their column types would: one row per mention
    with every link column, through SQLAlchemy's rows, took 9 s for 100,000 items."""
    links_query = select(*_LINK_COLUMNS)
    mentions_query = select(*_MENTION_COLUMNS).join(
        entries_t, entries_t.c.id == mentions_t.c.entry_id
    )
    topics_query = (
        select(link_topics_t.c.link_id, topics_t.c.id, topics_t.c.name, link_topics_t.c.reason)
        .join(topics_t, topics_t.c.id == link_topics_t.c.topic_id)
        .order_by(link_topics_t.c.link_id, topics_t.c.id)
    )
    if link_ids is None:
        items_of = links_t.c.id.in_(select(mentions_t.c.link_id))  # not every link is an item
        queries = [(links_query.where(items_of), mentions_query, topics_query)]
    else:
        queries = [
            (links_query.where(links_t.c.id.in_(chunk)),
             mentions_query.where(mentions_t.c.link_id.in_(chunk)),
             topics_query.where(link_topics_t.c.link_id.in_(chunk)))
            for chunk in _chunks(sorted(link_ids))
        ]  # fmt: skip
    links: list[Any] = []
    mention_rows: list[Any] = []
    topics: dict[int, list[TopicRef]] = defaultdict(list)
    for chunk_links, chunk_mentions, chunk_topics in queries:
        links.extend(_driver_rows(conn, chunk_links))
        mention_rows.extend(_driver_rows(conn, chunk_mentions))
        for link_id, topic_id, name, reason in _driver_rows(conn, chunk_topics):
            topics[link_id].append(TopicRef(topic_id, name, reason or ""))
    # Read after the mentions, so every source they name is there (sources are never deleted).
    sources_query = select(sources_t.c.id, sources_t.c.name, sources_t.c.slug)
    sources = {row[0]: SourceRef(row[1], row[2]) for row in _driver_rows(conn, sources_query)}
    grouped: dict[int, list[_Mention]] = defaultdict(list)
    for (link_id, shared_url, title, entry_url, summary_html, author, reposted_by, published,
         seen, entry_id, source_id) in mention_rows:  # fmt: skip
        source = sources.get(source_id)
        if source is None:  # as the join of entries with their sources leaves it out
            continue
        seen = _driver_utc(seen)
        grouped[link_id].append(
            _Mention(_plausible(_driver_utc(published), seen), source.name, seen, entry_id,
                     source, title, entry_url, shared_url, summary_html, author, reposted_by)
        )  # fmt: skip
    del mention_rows  # what is left of each row is in its _Mention
    decode = conn.dialect.name == "sqlite"  # JSON comes as text; psycopg decodes it
    items = []
    for link in links:
        # Popped, so each item's mentions go as it is made: a build holds 100,000 items, and
        # the rows they are made from need not all stay alive until the last one is made.
        mentions = grouped.pop(link[0], None)
        if mentions:  # links and mentions were read one after the other
            items.append(_item(link, mentions, tuple(topics.get(link[0], ())), decode))
    items.sort(key=_newest_first, reverse=True)
    return items


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while the items are read: the full list makes
    over a million objects, none in a cycle, and the collector walked the growing heap again
    and again for them (a third of the time it took)."""
    if not gc.isenabled():  # off already (by the caller, or another thread reading items)
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _driver_rows(conn: Connection, query: Select[Any]) -> Sequence[Any]:
    """The rows of ``query`` straight from the driver's cursor, values as the driver gives them:
    for reads of many rows, where SQLAlchemy's rows cost more than the query. Bound values are
    rendered into the statement, so only for integers (ids)."""
    statement = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.cursor()
    try:
        cursor.execute(statement)
        return cursor.fetchall()
    finally:
        cursor.close()


def _driver_utc(value: Any) -> Any:
    """A :class:`~feedbot.models.UTCDateTime` value as the driver gives it (SQLite: ISO text,
    PostgreSQL: a naive datetime) read as the type reads it: aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        try:  # as SQLAlchemy parses it, then made UTC: in one step, several times faster
            parsed = datetime.fromisoformat(value + "+00:00")
        except ValueError:  # text with an offset (never written by UTCDateTime)
            parsed = None
        if parsed is not None and parsed.tzinfo is UTC:  # not so for a date alone
            return parsed
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def _newest_first(item: Item) -> tuple[datetime, str]:
    """The sort key of the item list (reversed): by date, then URL."""
    return item.date, item.url


def _papers_naming(conn: Connection, urls: set[str]) -> set[int]:
    """The links whose citation names one of ``urls`` as another version of its paper; only
    looked for when one of ``urls`` is a paper's identity URL at all."""
    targets = {url for url in urls if url.startswith(_VERSION_PREFIXES)}
    if not targets:
        return set()
    # From the primary key of paper_versions (url first), which the store keeps with every
    # citation it writes: no citation is read, however many papers there are.
    found: set[int] = set()
    for chunk in _chunks(sorted(targets)):
        query = select(versions_t.c.link_id).where(among(conn, versions_t.c.url, chunk))
        found.update(conn.execute(query).scalars())
    return found


def _write_versions(conn: Connection, citations: Mapping[int, Citation]) -> None:
    """Make ``paper_versions`` hold, for each of these links (link id → the citation it holds
    now), exactly the URLs its citation names as other versions (``version_urls``): call it
    after the links' rows are updated (locked, on PostgreSQL). A link's rows go with it (ON
    DELETE CASCADE), so only writes of ``links.paper`` call this."""
    if not citations:
        return
    for chunk in _chunks(sorted(citations)):
        conn.execute(delete(versions_t).where(among(conn, versions_t.c.link_id, chunk)))
    rows = [{"url": url, "link_id": link_id} for link_id, citation in sorted(citations.items())
            for url in version_urls(citation)]  # fmt: skip
    if rows:
        insert_rows(conn, versions_t, rows)


_AHEAD = timedelta(days=1)  # how far past when we saw it an entry's own date is believed


def _plausible(published: datetime | None, seen: datetime) -> datetime:
    """An entry's date: its published date unless missing or in the future of when we saw it."""
    if published is None or published > seen + _AHEAD:
        return seen
    return published


class _Stored(NamedTuple):
    results: list[SaveResult]  # one a fetched source
    linked: list[tuple[int, FetchedEntry]]  # entries to link: new ones and changed ones
    changed: set[int]  # the changed ones' ids


class _FoundLink(NamedTuple):
    id: int
    read: bool  # its page has been read
    made: bool  # made by this transaction


def _success_values(source_id: int, outcome: FetchOutcome, now: datetime) -> dict[str, Any]:
    """What a successful fetch tells of its source, for ``Store._record_successes``."""
    return {"b_id": source_id, "b_now": now, "b_etag": outcome.etag,
            "b_modified": outcome.last_modified,
            "b_warning": "; ".join(outcome.warnings) or None, "b_cursor": outcome.cursor,
            "b_title": outcome.title or None, "b_site": outcome.site_url or None}  # fmt: skip


def _lock_links(conn: Connection, link_ids: Iterable[int], mentioned_by: Collection[int]) -> None:
    """On PostgreSQL, lock these links, and those the entries ``mentioned_by`` mention, in id
    order: a transaction that takes every link it updates here first, in the one order all
    take them in, can wait for another but never deadlock with it (SQLite has one writer)."""
    if conn.dialect.name != "postgresql":
        return
    ids = set(link_ids)
    for chunk in _chunks(sorted(mentioned_by)):
        mentioned = select(mentions_t.c.link_id).where(among(conn, mentions_t.c.entry_id, chunk))
        ids.update(conn.execute(mentioned).scalars())
    for chunk in _chunks(sorted(ids)):
        query = select(links_t.c.id).where(among(conn, links_t.c.id, chunk)).order_by(links_t.c.id)
        conn.execute(query.with_for_update(key_share=True)).close()


def _entry_values(entry: FetchedEntry, digest: str) -> dict[str, Any]:
    return {
        "url": entry.url,
        "title": entry.title,
        "summary_html": entry.summary_html,
        "content_html": entry.content_html,
        "author": entry.author,
        "reposted_by": entry.reposted_by,
        "published_at": entry.published_at,
        "updated_at": entry.updated_at,
        "content_hash": digest,
    }


def _metadata_values(result: Resolution) -> dict[str, Any]:
    """The link columns a resolution sets: the same keys whatever it found (one executemany)."""
    meta = result.metadata
    return {
        "content_type": result.content_type,
        "title": meta.title if meta else None,
        "description": meta.description if meta else None,
        "site_name": meta.site_name if meta else None,
        "author": meta.author if meta else None,
        "published_at": meta.published_at if meta else None,
        "language": meta.language if meta else None,
        "image_url": meta.image_url if meta else None,
        "citation": (meta.citation or None) if meta else None,
    }


def _without_scheme(url: str) -> str:
    """``https://www.example.com/a`` → ``example.com/a``: how display URLs are written."""
    rest = url.split("://", 1)[-1]
    return rest[4:] if rest.lower().startswith("www.") else rest


def _insert_ignore(conn: Connection, table: Table, keys: list[str]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING for the connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=keys)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=keys)


def _chunks(values: Sequence[Any] | Iterable[Any], size: int = _CHUNK) -> Iterable[list[Any]]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


# -- change stamps: links.changed_at, what incremental site builds read (see Link.changed_at) --

# A paper column holding a citation: neither SQL NULL nor the JSON ``null`` a None may be
# written as (the same text on both databases).
_HAS_PAPER = cast(links_t.c.paper, Text) != "null"


def _stamp(conn: Connection, link_ids: Iterable[int], at: datetime) -> None:
    """Mark these links' items as changed at ``at``."""
    for chunk in _chunks(sorted(set(link_ids))):
        conn.execute(update(links_t).where(links_t.c.id.in_(chunk)).values(changed_at=at))


def _stamp_mentioned(conn: Connection, condition: Any, at: datetime) -> None:
    """Stamp the links of the mentions ``condition`` selects: run it before those mentions (or
    the posts they come from) change, so links losing a mention are stamped too."""
    mentioned = select(mentions_t.c.link_id).where(condition)
    conn.execute(update(links_t).where(links_t.c.id.in_(mentioned)).values(changed_at=at))


def _stamp_versions(conn: Connection, citations: Iterable[Citation], at: datetime) -> None:
    """Stamp the links these citations name as other versions of their paper: those items list
    the paper among their versions too (``_with_versions`` works both ways), so a citation that
    comes, changes or goes changes them."""
    urls = sorted({url for citation in citations for url in version_urls(citation)})
    for chunk in _chunks(urls):
        conn.execute(update(links_t).where(links_t.c.url.in_(chunk)).values(changed_at=at))


def _citations_of(conn: Connection, link_ids: Iterable[int]) -> list[Citation]:
    """The citations these links hold now (those that are papers)."""
    found: list[Citation] = []
    for chunk in _chunks(sorted(set(link_ids))):
        query = select(links_t.c.paper).where(links_t.c.id.in_(chunk), _HAS_PAPER)
        found.extend(citation_from_json(paper) for paper in conn.execute(query).scalars() if paper)
    return found


def _source_state(row: Any) -> SourceState:
    return SourceState(
        id=row.id,
        name=row.name,
        kind=row.kind,
        url=row.url,
        etag=row.etag,
        last_modified=row.last_modified,
        options=row.options or {},
        cursor=row.cursor,
    )


def _source_schedule(row: Any) -> SourceSchedule:
    interval = row.interval_seconds
    return SourceSchedule(
        key=row.name,
        interval=timedelta(seconds=interval) if interval else None,
        consecutive_failures=row.consecutive_failures,
        failing_since=row.failing_since,
        hints=hints_from_json(row.schedule_hints),
    )
