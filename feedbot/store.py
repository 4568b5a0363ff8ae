"""Queries and upserts. Every write of one source's fetch is one transaction, so a run that dies
half-way keeps what it finished and never leaves half a feed; every upsert is idempotent, so a
re-run stores nothing twice. Works the same on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import html
import json
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import SQLModel

from feedbot.config import SourceSettings, TopicSettings
from feedbot.db import db_error
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
from feedbot.sanitize import excerpt, html_to_text
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

    def __init__(self, engine: Engine, rules: UrlRules = DEFAULT_RULES) -> None:
        self.engine = engine
        self.rules = rules

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
        set and their leases released in the same transaction (see ``release_claims``)."""
        results: list[SaveResult] = []
        unchanged: list[dict[str, Any]] = []
        log: list[dict[str, Any]] = []
        with self._begin() as conn:
            for report in reports:
                outcome = report.outcome
                result = SaveResult(0, 0)
                entry = {
                    "source_id": report.source_id,
                    "started_at": report.started_at,
                    "finished_at": report.finished_at,
                    "http_status": outcome.http_status if outcome else None,
                }
                if outcome is None:
                    self._record_failure(conn, report.source_id, report.error, report.finished_at)
                    log.append(entry | {"outcome": "error", "error": report.error})
                elif outcome.status == "not_modified":
                    unchanged.append({"b_id": report.source_id, "b_now": report.finished_at})
                    log.append(entry | {"outcome": "not_modified"})
                else:
                    result = self._save_entries(
                        conn, report.source_id, outcome.entries, report.finished_at
                    )
                    self._record_success(conn, report.source_id, outcome, report.finished_at)
                    warnings = "; ".join(outcome.warnings) or None
                    log.append(entry | {"outcome": "ok", "error": warnings,
                                        "entries_new": result.new,
                                        "entries_updated": result.updated})  # fmt: skip
                results.append(result)
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
                conn.execute(insert(fetch_log_t), [defaults | row for row in log])
            if schedule:
                self._release_claims(conn, schedule)
        return results

    def _record_success(
        self, conn: Connection, source_id: int, outcome: FetchOutcome, now: datetime
    ) -> None:
        values: dict[str, Any] = {
            "last_fetched_at": now,
            "last_success_at": now,
            "last_error": None,
            "consecutive_failures": 0,
            "etag": outcome.etag,
            "last_modified": outcome.last_modified,
            "last_warning": "; ".join(outcome.warnings) or None,
        }
        if outcome.cursor is not None:
            values["cursor"] = outcome.cursor
        if outcome.title:
            values["title"] = outcome.title
        if outcome.site_url:
            values["site_url"] = outcome.site_url
        conn.execute(update(sources_t).where(sources_t.c.id == source_id).values(**values))

    def _record_failure(
        self, conn: Connection, source_id: int, error: str | None, now: datetime
    ) -> None:
        conn.execute(
            update(sources_t)
            .where(sources_t.c.id == source_id)
            .values(
                last_fetched_at=now,
                last_error=error or "unknown error",
                last_error_at=now,
                consecutive_failures=sources_t.c.consecutive_failures + 1,
            )
        )

    def _save_entries(
        self, conn: Connection, source_id: int, entries: Sequence[FetchedEntry], now: datetime
    ) -> SaveResult:
        if not entries:
            return SaveResult(0, 0)
        existing: dict[str, tuple[int, str]] = {}
        guids = [entry.guid for entry in entries]
        for chunk in _chunks(guids):
            rows = conn.execute(
                select(entries_t.c.id, entries_t.c.guid, entries_t.c.content_hash).where(
                    entries_t.c.source_id == source_id, entries_t.c.guid.in_(chunk)
                )
            )
            existing.update({row.guid: (row.id, row.content_hash) for row in rows})

        new_rows: list[dict[str, Any]] = []
        changed: list[tuple[int, FetchedEntry, str]] = []
        for entry in entries:
            digest = entry_hash(entry)
            known = existing.get(entry.guid)
            if known is None:
                identity = {"source_id": source_id, "guid": entry.guid}
                seen = {"first_seen_at": now, "changed_at": now}
                new_rows.append(_entry_values(entry, digest) | identity | seen)
            elif known[1] != digest:
                changed.append((known[0], entry, digest))

        linked: list[tuple[int, FetchedEntry]] = []
        if new_rows:
            inserted = conn.execute(
                insert(entries_t).returning(entries_t.c.id, entries_t.c.guid), new_rows
            )
            by_guid = {entry.guid: entry for entry in entries}
            linked.extend((row.id, by_guid[row.guid]) for row in inserted)
        for entry_id, entry, digest in changed:
            conn.execute(
                update(entries_t)
                .where(entries_t.c.id == entry_id)
                .values(**_entry_values(entry, digest), changed_at=now)
            )
            linked.append((entry_id, entry))
        self._link_entries(conn, linked, now, replace=bool(changed))
        return SaveResult(new=len(new_rows), updated=len(changed))

    def _link_entries(
        self,
        conn: Connection,
        entries: Sequence[tuple[int, FetchedEntry]],
        now: datetime,
        replace: bool,
    ) -> None:
        """Point each entry at the links it shares, through the resolution of each URL (made
        on first sight, so a URL seen before reuses what its resolution found)."""
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
        if papers:
            self._ensure_papers(conn, papers, now)
        keys = {key for shared in wanted.values() for key in shared}
        resolved = self._ensure_resolutions(conn, keys, now) if keys else {}
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
        if replace:
            for entry_id, shared in wanted.items():
                keep = [resolved[key][1] for key in shared]
                # Mentions made later (a completed partial link, a recovered DOI) have no
                # resolution and stay: the entry still shares what its text pointed at.
                conn.execute(
                    delete(mentions_t).where(
                        mentions_t.c.entry_id == entry_id,
                        mentions_t.c.link_id.not_in(keep),
                        mentions_t.c.resolution_id.is_not(None),
                    )
                )
        if rows:
            conn.execute(_insert_ignore(conn, mentions_t, ["entry_id", "link_id"]), rows)
            touched = sorted({row["link_id"] for row in rows})
            for chunk in _chunks(touched):
                conn.execute(
                    update(links_t).where(links_t.c.id.in_(chunk)).values(needs_tagging=True)
                )
        if partial_rows:
            conn.execute(_insert_ignore(conn, partial_links_t, ["entry_id", "text"]), partial_rows)
        if reference_rows:
            conn.execute(
                _insert_ignore(conn, references_t, ["entry_id", "text_hash"]), reference_rows
            )

    def _ensure_papers(
        self, conn: Connection, papers: Mapping[str, Citation], now: datetime
    ) -> None:
        """Make each paper a link under its identity URL (``papers`` is keyed by its URL key)
        with its citation: read already, so it is never resolved over the network."""
        ids = self._ensure_links(conn, set(papers), now)
        for key, citation in papers.items():
            conn.execute(
                update(links_t)
                .where(links_t.c.id == ids[key])
                .values(
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

    def _ensure_resolutions(
        self, conn: Connection, keys: set[str], now: datetime
    ) -> dict[str, tuple[int, int]]:
        """URL key → (resolution id, link id), creating pending resolutions (and provisional
        links under the key itself) for keys never seen."""
        found = self._resolutions_by_key(conn, keys)
        missing = keys - found.keys()
        if missing:
            link_ids = self._ensure_links(conn, missing, now)
            read = self._read_links(conn, [link_ids[key] for key in missing])
            rows = []
            for key in sorted(missing):
                row = {"url": key, "link_id": link_ids[key], "chain": [], "attempts": 0,
                       "outcome": "pending", "final_url": None, "resolved_at": None}  # fmt: skip
                if link_ids[key] in read:  # the article itself, already read under this URL
                    row |= {"outcome": "ok", "final_url": key, "resolved_at": now}
                rows.append(row)
            conn.execute(_insert_ignore(conn, resolutions_t, ["url"]), rows)
            found |= self._resolutions_by_key(conn, missing)
        return found

    def _resolutions_by_key(
        self, conn: Connection, keys: Iterable[str]
    ) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for chunk in _chunks(sorted(keys)):
            query = select(resolutions_t.c.id, resolutions_t.c.url, resolutions_t.c.link_id)
            for row in conn.execute(query.where(resolutions_t.c.url.in_(chunk))):
                found[row.url] = (row.id, row.link_id)
        return found

    def _read_links(self, conn: Connection, link_ids: Sequence[int]) -> set[int]:
        """Those of ``link_ids`` whose page has been read."""
        read: set[int] = set()
        for chunk in _chunks(sorted(set(link_ids))):
            query = select(links_t.c.id).where(
                links_t.c.id.in_(chunk), links_t.c.read_at.is_not(None)
            )
            read.update(conn.execute(query).scalars())
        return read

    def _ensure_links(self, conn: Connection, keys: set[str], now: datetime) -> dict[str, int]:
        urls = sorted(keys)
        ids: dict[str, int] = {}
        for chunk in _chunks(urls):
            ids.update(
                {
                    row.url: row.id
                    for row in conn.execute(
                        select(links_t.c.id, links_t.c.url).where(links_t.c.url.in_(chunk))
                    )
                }
            )
        missing = [
            # A post's own identity has nothing to fetch: it counts as read at once.
            {"url": url, "first_seen_at": now, "needs_tagging": True,
             "read_at": now if is_post_identity(url) else None}
            for url in urls
            if url not in ids
        ]  # fmt: skip
        if missing:
            conn.execute(_insert_ignore(conn, links_t, ["url"]), missing)
            for chunk in _chunks([row["url"] for row in missing]):
                ids.update(
                    {
                        row.url: row.id
                        for row in conn.execute(
                            select(links_t.c.id, links_t.c.url).where(links_t.c.url.in_(chunk))
                        )
                    }
                )
        return ids

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
            for chunk in _chunks(touched):
                conn.execute(
                    update(links_t).where(links_t.c.id.in_(chunk)).values(needs_tagging=True)
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
                values: dict[str, Any] = {"doi": doi, "arxiv_id": arxiv, "needs_tagging": True}
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
        conn.execute(update(links_t).where(links_t.c.id == new).values(**values))
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

    def _drop_self_share(self, conn: Connection, entry_id: int) -> None:
        """A post that seemed to link nowhere shared its own permalink (or its identity, when it
        has no web address); once it is known to share something (a completed link, a recovered
        paper), it is a mention of that only."""
        own = select(entries_t.c.url).where(entries_t.c.id == entry_id).scalar_subquery()
        conn.execute(
            delete(mentions_t).where(
                mentions_t.c.entry_id == entry_id,
                or_(mentions_t.c.url == own, mentions_t.c.url.startswith(POST_IDENTITY)),
                mentions_t.c.link_id.not_in(select(links_t.c.id).where(links_t.c.doi.is_not(None))),
            )
        )

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
        with self._begin() as conn:
            for link_id, state, citation, note in results:
                values: dict[str, Any] = {
                    "paper_state": state,
                    "paper_note": note,
                    "paper_checked_at": now,
                    "paper_attempts": links_t.c.paper_attempts + 1,
                    "needs_tagging": True,
                }
                if citation is not None:
                    values |= {"paper": citation_to_json(citation), "title": citation.title}
                conn.execute(update(links_t).where(links_t.c.id == link_id).values(**values))

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
                    update(links_t).where(links_t.c.id == link_id).values(needs_tagging=True)
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

    def items(self) -> list[Item]:
        """Every article with its sources and topics, newest first."""
        query = (
            select(
                links_t.c.id,
                links_t.c.url,
                links_t.c.title,
                links_t.c.first_seen_at,
                links_t.c.description,
                links_t.c.site_name,
                links_t.c.author,
                links_t.c.image_url,
                links_t.c.language,
                links_t.c.published_at.label("article_published_at"),
                links_t.c.doi,
                links_t.c.arxiv_id,
                links_t.c.paper,
                mentions_t.c.url.label("mention_url"),
                entries_t.c.title.label("entry_title"),
                entries_t.c.url.label("entry_url"),
                entries_t.c.summary_html,
                entries_t.c.author.label("entry_author"),
                entries_t.c.reposted_by,
                entries_t.c.published_at,
                entries_t.c.first_seen_at.label("entry_seen"),
                sources_t.c.name,
                sources_t.c.slug,
            )
            .join(mentions_t, mentions_t.c.link_id == links_t.c.id)
            .join(entries_t, entries_t.c.id == mentions_t.c.entry_id)
            .join(sources_t, sources_t.c.id == entries_t.c.source_id)
            .order_by(links_t.c.id, entries_t.c.first_seen_at, entries_t.c.id)
        )
        topics_query = (
            select(link_topics_t.c.link_id, topics_t.c.id, topics_t.c.name, link_topics_t.c.reason)
            .join(topics_t, topics_t.c.id == link_topics_t.c.topic_id)
            .order_by(link_topics_t.c.link_id, topics_t.c.id)
        )
        with self.engine.connect() as conn:
            topics: dict[int, list[TopicRef]] = defaultdict(list)
            for topic_row in conn.execute(topics_query):
                topics[topic_row.link_id].append(
                    TopicRef(topic_row.id, topic_row.name, topic_row.reason or "")
                )
            grouped: dict[int, list[Any]] = defaultdict(list)
            for row in conn.execute(query):
                grouped[row.id].append(row)
        items = [_item(rows, tuple(topics.get(link_id, ()))) for link_id, rows in grouped.items()]
        items.sort(key=lambda item: (item.date, item.url), reverse=True)
        return _with_versions(items)

    def record_digest(self, day: date, now: datetime, item_count: int, message_id: str) -> None:
        with self._begin() as conn:
            values = {"generated_at": now, "item_count": item_count, "message_id": message_id}
            updated = conn.execute(update(digests_t).where(digests_t.c.day == day).values(**values))
            if not updated.rowcount:
                conn.execute(insert(digests_t).values(day=day, **values))

    def status(self, now: datetime | None = None) -> list[SourceStatus]:
        """Every source's state; with ``now``, also the entries each added in the 24 hours
        before it."""
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


def _item(rows: Sequence[Any], topics: tuple[TopicRef, ...]) -> Item:
    # Mentions in the order they were published, so the first sharer comes first.
    rows = sorted(rows, key=lambda row: (_plausible(row.published_at, row.entry_seen), row.name))
    first = rows[0]
    seen = first.first_seen_at
    dates = [_plausible(row.published_at, row.entry_seen) for row in rows]
    sources: dict[str, SourceRef] = {}
    mentions = []
    for row, when in zip(rows, dates, strict=True):
        source = sources.setdefault(row.name, SourceRef(row.name, row.slug))
        mentions.append(
            MentionRef(
                source,
                row.entry_title,
                row.entry_url,
                row.mention_url,
                when,
                author=row.entry_author,
                reposted_by=row.reposted_by,
            )
        )
    # The article's own entry describes it best, then its page; a post that shared it only says
    # what the poster thought of it, so its text is the summary only when nothing else is known.
    own = (
        row.summary_html for row in rows if row.summary_html and row.mention_url == row.entry_url
    )
    summary_html = next(own, "")
    if not summary_html and first.description:
        summary_html = f"<p>{html.escape(first.description)}</p>"
    if not summary_html:
        summary_html = next((row.summary_html for row in rows if row.summary_html), "")
    # The article's own title once the links stage has read it; until then the earliest post's.
    title = first.title or next((row.entry_title for row in rows if row.entry_title), "")
    return Item(
        id=first.id,
        url=first.url,
        title=title or first.url,
        summary_html=summary_html,
        summary_text=excerpt(html_to_text(summary_html)),
        date=min(dates),
        first_seen_at=seen,
        sources=tuple(sources.values()),
        topics=topics,
        reached_by=tuple(dict.fromkeys(row.mention_url for row in rows)),
        mention_count=len(rows),
        mentions=tuple(mentions),
        description=first.description,
        site_name=first.site_name,
        author=first.author,
        image_url=first.image_url,
        language=first.language,
        published_at=first.article_published_at,
        doi=first.doi,
        arxiv_id=first.arxiv_id,
        citation=citation_from_json(first.paper) if first.paper else None,
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


def _plausible(published: datetime | None, seen: datetime) -> datetime:
    """An entry's date: its published date unless missing or in the future of when we saw it."""
    if published is None or published > seen + timedelta(days=1):
        return seen
    return published


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
