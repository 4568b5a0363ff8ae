"""Site builds from the database that read only what changed since the previous build.

A full build loads every item (``Store.items()``: seconds for 100,000 of them). After it, the
database keeps, for the next build:

* ``site_builds``: the setup fingerprint and output folder the build was made for, and the
  time it started;
* ``site_listings`` and ``site_listing_chunks``: every listing's members, newest first, and the
  keys of its context (see :mod:`feedbot.publish.delta`);
* ``site_days``: by day, the facts planning needs of each item (:class:`~feedbot.publish.
  catalog.Listed`, its digest included) and its search-index fields, each day in one blob
  (reading 100,000 rows would cost more than reading a few hundred blobs and making the
  tuples), with the day's part of its month's search file: a build rewrites only the days its
  changes fall in, and makes a month's search file of the parts of the others as they are;
* ``site_cards``: the rendered cards of the items on the pages new items land on (each
  listing's front page and newest numbered page), by item digest.

The next build loads only the items whose links changed (``links.changed_at``, stamped by the
store on every write that changes an item) since the previous build started, less
:data:`LATE_COMMIT_MARGIN` (a write stamped before that start but committed after it is still
seen), and plans by difference from the listings (:func:`~feedbot.publish.delta.build_delta`);
full records and cards are fetched only for the pages that changed. When the listings do not
agree with the database, it plans every page from ``site_days`` instead (a slower build, the
same tree).

A different setup (templates, settings, feedbot's version), another output folder, a folder
missing any file of its manifest, or ``--full`` make a full build, which rewrites them all.
"""

from __future__ import annotations

import marshal
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any, TypeVar

from jinja2 import Environment
from sqlalchemy import Engine, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection

from feedbot import bulk
from feedbot.config import Settings
from feedbot.models import SiteBuild, SiteCard, SiteDay, SiteItem, SiteListing, SiteListingChunk
from feedbot.publish.catalog import Catalog, Listed, listed
from feedbot.publish.delta import (
    HOME,
    PAPERS,
    Chunk,
    Delta,
    ItemIds,
    ListingRecord,
    Members,
    Record,
    StaleRecord,
    build_delta,
    listing_keys,
)
from feedbot.publish.fingerprint import MARSHAL_VERSION
from feedbot.publish.output import OutputTree
from feedbot.publish.pages import ListingSpec
from feedbot.publish.site import (
    BuildReport,
    build_catalog,
    search_day_key,
    search_day_part,
    setup_fingerprint,
)
from feedbot.records import Item, SourceStatus, TopicRef
from feedbot.resources import resource_dir

T = TypeVar("T")

LATE_COMMIT_MARGIN = timedelta(minutes=15)  # longer than any of the store's write transactions
CHUNK = 500  # ids per IN (…) query
BUILD = "site"

days_t = SiteDay.__table__  # type: ignore[attr-defined]
items_t = SiteItem.__table__  # type: ignore[attr-defined]
cards_t = SiteCard.__table__  # type: ignore[attr-defined]
builds_t = SiteBuild.__table__  # type: ignore[attr-defined]
listings_t = SiteListing.__table__  # type: ignore[attr-defined]
chunks_t = SiteListingChunk.__table__  # type: ignore[attr-defined]

LoadItems = Callable[[Collection[int] | None], list[Item]]  # by link id; None: every item


@dataclass(frozen=True)
class Changes:
    """What changed in the database since the previous build, by link id."""

    reloaded: list[Item]  # new or changed items, in full
    removed: set[int]  # ids that are no longer items


class SiteCache:
    """The site build's tables (``site_builds``, ``site_days``, ``site_items``,
    ``site_listings``, ``site_cards``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._stored: dict[str, list[Chunk]] = {}  # listings' chunks as read

    def previous(self) -> tuple[str, str, datetime | None] | None:
        """(setup fingerprint, output folder, start) of the previous build, if any."""
        query = select(builds_t.c.setup, builds_t.c.output, builds_t.c.started_at)
        with self.engine.connect() as conn:
            row = conn.execute(query.where(builds_t.c.name == BUILD)).first()
        return None if row is None else (row.setup, row.output, row.started_at)

    def listed(self) -> list[Listed]:
        """Every item of the previous build's index, newest first."""
        query = select(days_t.c["items"]).order_by(days_t.c.day.desc())
        make = tuple.__new__
        found: list[Listed] = []
        with self.engine.connect() as conn:
            for blob in conn.execute(query).scalars():
                found += [make(Listed, row) for row in marshal.loads(blob)]
        return found

    def listing_records(self) -> dict[str, ListingRecord]:
        """Every recorded listing's count and keys (not its members)."""
        query = select(listings_t.c.name, listings_t.c.count, listings_t.c.numbered_key,
                       listings_t.c.front_key)  # fmt: skip
        with self.engine.connect() as conn:
            return {row[0]: ListingRecord(*row[1:]) for row in conn.execute(query)}

    def listing_members(
        self, names: Collection[str], lowest: Mapping[str, int] | None = None
    ) -> dict[str, Members]:
        """These listings' members, from their chunks (kept, so that a save rewrites only the
        chunks that changed). ``lowest``: of some of them, the oldest chunk to read (the older
        ones stay in the record: see :attr:`Members.hidden`)."""
        lowest = lowest or {}
        stored: dict[str, list[Chunk]] = {}
        with self.engine.connect() as conn:
            # Straight through the driver's cursor: megabytes of packed arrays, where
            # SQLAlchemy's rows would double the time.
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            cursor = conn.connection.cursor()
            query = "SELECT name, chunk, ids, keys, digests, anchors FROM site_listing_chunks "
            try:
                whole = sorted(name for name in names if name not in lowest)
                for part in _batches(whole):
                    cursor.execute(query + f"WHERE name IN ({', '.join([mark] * len(part))})",
                                   list(part))  # fmt: skip
                    _add_chunks(stored, cursor.fetchall())
                for name in sorted(set(names) & set(lowest)):
                    cursor.execute(query + f"WHERE name = {mark} AND chunk >= {mark}",
                                   [name, lowest[name]])  # fmt: skip
                    _add_chunks(stored, cursor.fetchall())
            finally:
                cursor.close()
        self._stored.update(stored)
        return {name: Members.unpack(stored.get(name, []), with_anchors=name == PAPERS)
                for name in names}  # fmt: skip

    def item_days(self, link_ids: Collection[int]) -> dict[int, str]:
        """The day of each of these links that was an item of the previous build."""
        query = select(items_t.c.link_id, items_t.c.day)
        found: dict[int, str] = {}
        with self.engine.connect() as conn:
            for part in _batches(sorted(link_ids)):
                found.update(
                    (row[0], row[1])
                    for row in conn.execute(query.where(items_t.c.link_id.in_(part)))
                )
        return found

    def item_ids(self) -> set[int]:
        """Every item of the previous build."""
        with self.engine.connect() as conn:
            return set(conn.execute(select(items_t.c.link_id)).scalars())

    def day_entries(self, days: Collection[str]) -> dict[str, list[Listed]]:
        """The index's items of these days, newest first."""
        query = select(days_t.c.day, days_t.c["items"])
        make = tuple.__new__
        found: dict[str, list[Listed]] = {}
        with self.engine.connect() as conn:
            for part in _batches(sorted(days)):
                for row in conn.execute(query.where(days_t.c.day.in_(part))):
                    found[row[0]] = [make(Listed, entry) for entry in marshal.loads(row[1])]
        return found

    def cards(self, keys: Collection[tuple[int, str]]) -> dict[tuple[int, str], tuple[bytes, str]]:
        """Cached cards by (link id, root): (the item's digest when rendered, html)."""
        wanted = set(keys)
        found: dict[tuple[int, str], tuple[bytes, str]] = {}
        ids = sorted({link_id for link_id, _ in wanted})
        with self.engine.connect() as conn:
            # Straight through the driver's cursor: thousands of cards of a few kilobytes each,
            # where SQLAlchemy's rows would triple the time.
            mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            cursor = conn.connection.cursor()
            try:
                for chunk in _batches(ids):
                    cursor.execute(
                        "SELECT link_id, root, digest, html FROM site_cards "
                        f"WHERE link_id IN ({', '.join([mark] * len(chunk))})",
                        list(chunk),
                    )
                    for link_id, root, digest, html in cursor.fetchall():
                        if (link_id, root) in wanted:
                            found[(link_id, root)] = (bytes(digest), html)
            finally:
                cursor.close()
        return found

    def search(self, days: Mapping[int, str]) -> dict[int, list[str]]:
        """The search-index fields of these items (by id, with each one's day), as the
        previous build stored them."""
        by_day = self.day_search(set(days.values()))
        found: dict[int, list[str]] = {}
        for link_id, day in days.items():
            fields = by_day.get(day, {}).get(link_id)
            if fields is not None:
                found[link_id] = fields
        return found

    def day_search(self, days: Collection[str]) -> dict[str, dict[int, list[str]]]:
        """The search fields of these days' items, by id."""
        query = select(days_t.c.day, days_t.c.search)
        found: dict[str, dict[int, list[str]]] = {}
        with self.engine.connect() as conn:
            for part in _batches(sorted(days)):
                for row in conn.execute(query.where(days_t.c.day.in_(part))):
                    found[row.day] = marshal.loads(zlib.decompress(row.search))
        return found

    def day_parts(self, days: Collection[str]) -> dict[str, tuple[str, str]]:
        """These days' parts of their months' search files, with their keys."""
        query = select(days_t.c.day, days_t.c.shard, days_t.c.shard_key)
        found: dict[str, tuple[str, str]] = {}
        with self.engine.connect() as conn:
            for part in _batches(sorted(days)):
                for row in conn.execute(query.where(days_t.c.day.in_(part))):
                    found[row.day] = (row.shard, row.shard_key)
        return found

    def save(
        self,
        catalog: Catalog,
        changes: Changes | None,
        *,
        setup: str,
        output: str,
        started_at: datetime,
        listings: Sequence[tuple[ListingSpec, Sequence[int]]],
        day_pages: Mapping[int, str],
        previous: Sequence[Listed] = (),
    ) -> None:
        """Record what this build knew, in one transaction: the days its changes fall in
        (every day: ``changes`` None, a full build), every listing (with its members' indexes
        in the catalog), the cards worth keeping, and the build itself. ``day_pages``: each
        item's day page, by index; ``previous``: the index this build started from (to find the
        days items left)."""
        with self.engine.begin() as conn:
            self._save_days(conn, catalog, changes, previous, day_pages)
            if changes is None:
                conn.execute(delete(items_t))
                _insert_items(conn, [(entry.id, entry.day) for entry in catalog.listed])
            else:
                reloaded = {item.id for item in changes.reloaded}
                self._forget_items(conn, reloaded | changes.removed)
                _insert_items(conn, [(e.id, e.day) for e in catalog.listed if e.id in reloaded])
            conn.execute(delete(listings_t))
            conn.execute(delete(chunks_t))
            self._stored.clear()
            self._save_listings(conn, _listings(listings, catalog.listed))
            self._save_cards(conn, catalog, full=changes is None)
            if changes is not None:
                self._prune_cards(conn, catalog)
            self._save_build(conn, setup, output, started_at)

    def save_delta(self, delta: Delta, *, setup: str, output: str, started_at: datetime) -> None:
        """Record what a delta build changed (:func:`feedbot.publish.delta.build_delta`)."""
        with self.engine.begin() as conn:
            for part in _batches(sorted(delta.days)):
                conn.execute(delete(days_t).where(days_t.c.day.in_(part)))
            rows = [_day_row(day, found.entries, found.fields, found.part, found.key)
                    for day, found in sorted(delta.days.items()) if found.entries]  # fmt: skip
            if rows:
                conn.execute(insert(days_t), rows)
            self._forget_items(conn, delta.left_items)
            _insert_items(conn, sorted(delta.item_days.items()))
            for names in _batches(sorted(delta.dropped)):
                conn.execute(delete(listings_t).where(listings_t.c.name.in_(names)))
                conn.execute(delete(chunks_t).where(chunks_t.c.name.in_(names)))
            self._save_listings(conn, delta.listings)
            self._save_cards(conn, delta.catalog, full=False)
            for chunk in _batches(sorted(delta.left_open)):
                conn.execute(delete(cards_t).where(cards_t.c.link_id.in_(chunk)))
            self._save_build(conn, setup, output, started_at)

    def _forget_items(self, conn: Connection, link_ids: Collection[int]) -> None:
        for part in _batches(sorted(link_ids)):
            conn.execute(delete(items_t).where(items_t.c.link_id.in_(part)))

    def _save_build(self, conn: Connection, setup: str, output: str, started_at: datetime) -> None:
        values = {"setup": setup, "output": output, "started_at": started_at}
        updated = conn.execute(update(builds_t).where(builds_t.c.name == BUILD).values(values))
        if updated.rowcount == 0:
            conn.execute(insert(builds_t).values(name=BUILD, **values))

    def _save_listings(
        self, conn: Connection, listings: Iterable[tuple[str, Members, str, str]]
    ) -> None:
        """Write these listings: each one's row, and those of its chunks that differ from what
        was read of them (every chunk, for a listing not read)."""
        meta, chunks, gone = [], [], []
        for name, members, numbered_key, front_key in listings:
            meta.append({"name": name, "count": len(members), "numbered_key": numbered_key,
                         "front_key": front_key})  # fmt: skip
            before = {chunk.number: chunk for chunk in self._stored.get(name, ())}
            made = members.chunks()
            chunks += [
                {"name": name, "chunk": chunk.number, "ids": chunk.ids, "keys": chunk.keys,
                 "digests": chunk.digests, "anchors": chunk.anchors}
                for chunk in made if before.get(chunk.number) != chunk
            ]  # fmt: skip
            newest = made[-1].number if made else -1
            gone += [(name, number) for number in before if number > newest]
            gone += [(name, chunk.number) for chunk in made
                     if chunk.number in before and before[chunk.number] != chunk]  # fmt: skip
            if len(chunks) >= 50:
                self._write_chunks(conn, chunks, gone)
                chunks, gone = [], []
        self._write_chunks(conn, chunks, gone)
        names = [row["name"] for row in meta]
        for part in _batches(names):
            conn.execute(delete(listings_t).where(listings_t.c.name.in_(part)))
        for start in range(0, len(meta), 500):
            conn.execute(insert(listings_t), meta[start : start + 500])

    def _write_chunks(
        self, conn: Connection, chunks: list[dict[str, Any]], gone: list[tuple[str, int]]
    ) -> None:
        if gone:  # one statement, executed for each (a statement per chunk costs ten times more)
            conn.execute(
                delete(chunks_t).where(chunks_t.c.name == bindparam("gone_name"),
                                       chunks_t.c.chunk == bindparam("gone_chunk")),
                [{"gone_name": name, "gone_chunk": number} for name, number in gone],
            )  # fmt: skip
        if chunks:
            conn.execute(insert(chunks_t), chunks)

    def _save_days(
        self,
        conn: Connection,
        catalog: Catalog,
        changes: Changes | None,
        previous: Sequence[Listed],
        day_pages: Mapping[int, str],
    ) -> None:
        searches: dict[str, dict[int, list[str]]] = {}
        if changes is None:
            conn.execute(delete(days_t))
            touched = None
        else:
            changed = {item.id for item in changes.reloaded} | changes.removed
            touched = {e.day for e in previous if e.id in changed}
            touched |= {e.day for e in catalog.listed if e.id in changed}
            searches.update(self.day_search(touched))
            for fields_by_id in searches.values():
                for link_id in changed:
                    fields_by_id.pop(link_id, None)
            for batch in _batches(sorted(touched)):
                conn.execute(delete(days_t).where(days_t.c.day.in_(batch)))
        listed = catalog.listed
        rows: list[dict[str, Any]] = []
        for day, indexes in _by_day(listed):
            if touched is not None and day not in touched:
                continue
            known = searches.get(day, {})
            catalog.fetch_search(
                [i for i in indexes if listed[i].id not in known and catalog.search_of(i) is None]
            )
            fields = [known.get(listed[i].id) or catalog.search(i) for i in indexes]
            pages = [day_pages[i] for i in indexes]
            # Made again rather than kept from the search files: for every day at once, they
            # would take tens of megabytes through the build.
            part = search_day_part(day, fields, pages)
            key = search_day_key(day, [listed[i].digest for i in indexes], tuple(pages))
            entries = [listed[i] for i in indexes]
            by_id = {entry.id: found for entry, found in zip(entries, fields, strict=True)}
            rows.append(_day_row(day, entries, by_id, part, key))
            # A hundred days at a time: the search fields of every item at once would take tens
            # of megabytes.
            if len(rows) >= 100:
                conn.execute(insert(days_t), rows)
                rows = []
        if rows:
            conn.execute(insert(days_t), rows)

    def _save_cards(self, conn: Connection, catalog: Catalog, *, full: bool) -> None:
        keep: list[dict[str, Any]] = [
            {"link_id": catalog.listed[index].id, "root": root,
             "digest": catalog.listed[index].digest, "html": str(html)}
            for (index, root), html in catalog.rendered_cards.items()
            if (index, root) in catalog.hot_cards
        ]  # fmt: skip
        if full:
            conn.execute(delete(cards_t))
        elif keep:
            # A card rendered again replaces the old one; the rest of the cache stays (an item's
            # other cards too: a card may be rendered for want of a cached one, not a change).
            conn.execute(
                delete(cards_t).where(cards_t.c.link_id == bindparam("old_id"),
                                      cards_t.c.root == bindparam("old_root")),
                [{"old_id": row["link_id"], "old_root": row["root"]} for row in keep],
            )  # fmt: skip
        for start in range(0, len(keep), 2000):
            conn.execute(insert(cards_t), keep[start : start + 2000])

    def _prune_cards(self, conn: Connection, catalog: Catalog) -> None:
        """Drop the cards no longer on a page new items land on, once they outnumber those
        that are (so the cache stays about the size of the pages that change)."""
        hot = {(catalog.listed[index].id, root) for index, root in catalog.hot_cards}
        stored = conn.execute(select(cards_t.c.link_id, cards_t.c.root)).all()
        cold = [(row.link_id, row.root) for row in stored if (row.link_id, row.root) not in hot]
        if len(cold) <= len(hot):
            return
        # Whole items at a time (their hot cards, if any, are rendered again when needed):
        # simpler than deleting (link, root) pairs one by one, and rare.
        for chunk in _batches(sorted({link_id for link_id, _ in cold})):
            conn.execute(delete(cards_t).where(cards_t.c.link_id.in_(chunk)))


def build_from_database(
    engine: Engine,
    load: LoadItems,
    changed_since: Callable[[datetime], set[int]],
    current_ids: Callable[[], set[int]],
    count_items: Callable[[], int],
    wall_clock: Callable[[], datetime],
    topics: Sequence[TopicRef],
    sources: Sequence[SourceStatus],
    settings: Settings,
    env: Environment,
    *,
    full: bool = False,
) -> BuildReport:
    """Build the site from the database, incrementally when the previous build's index
    allows it (see the module's docstring).

    ``load``: items by link id (all with None); ``changed_since``: ids of links changed at or
    after a time; ``current_ids``: ids of the links that are items, ``count_items`` how many;
    ``wall_clock``: the clock the store stamps changes with."""
    cache = SiteCache(engine)
    started = wall_clock()
    output = str(settings.output_path)
    setup = setup_fingerprint(env, settings, resource_dir("static"), topics)
    changes: Changes | None = None
    previous_index: list[Listed] = []
    with OutputTree(settings.output_path, setup, full=full) as tree:
        previous = None if full else cache.previous()
        usable = (
            tree.trusted
            and previous is not None
            and previous[0] == setup
            and previous[1] == output
            and previous[2] is not None
        )
        if usable:
            assert previous is not None and previous[2] is not None
            changed = changed_since(previous[2] - LATE_COMMIT_MARGIN)
            items = ItemIds(count_items, current_ids)
            delta = _delta(cache, tree, load, changed, items, topics, sources, settings, env)
            if delta is not None:
                # Still holding the folder's lock: two builds' records must not mix.
                cache.save_delta(delta, setup=setup, output=output, started_at=started)
                return delta.report
            previous_index = cache.listed()
            catalog, changes = _changed_catalog(
                previous_index, cache, load, changed, current_ids(), settings,
            )  # fmt: skip
        else:
            catalog = Catalog.of_items(load(None), settings.zone)
        report, plan = build_catalog(catalog, topics, sources, settings, env, tree=tree)
        listings, day_pages = plan.listings, plan.day_pages
        del plan  # its pages: tens of megabytes the record does not need
        cache.save(
            catalog, changes, setup=setup, output=output, started_at=started,
            listings=listings, day_pages=day_pages, previous=previous_index,
        )  # fmt: skip
    return report


def _delta(
    cache: SiteCache,
    tree: OutputTree,
    load: LoadItems,
    changed: set[int],
    items: ItemIds,
    topics: Sequence[TopicRef],
    sources: Sequence[SourceStatus],
    settings: Settings,
    env: Environment,
) -> Delta | None:
    """A delta build, when the folder and the recorded listings allow one."""
    if not tree.intact:
        return None
    records = cache.listing_records()
    if HOME not in records:
        return None  # recorded by an older feedbot
    record = Record(records, cache.listing_members, cache.day_entries, cache.day_search,
                    cache.day_parts, cache.item_days, cache.item_ids)  # fmt: skip
    try:
        return build_delta(
            record, load, changed, items, topics, sources, settings, env, tree, cache.cards
        )
    except StaleRecord:
        return None


def _changed_catalog(
    previous: Sequence[Listed],
    cache: SiteCache,
    load: LoadItems,
    changed: set[int],
    current: set[int],
    settings: Settings,
) -> tuple[Catalog, Changes]:
    known = {entry.id for entry in previous}
    reload = (changed & current) | (current - known)
    fresh = load(reload) if reload else []
    removed = (known - current) | (reload - {item.id for item in fresh})  # gone since
    kept = [entry for entry in previous if entry.id not in reload and entry.id not in removed]
    kept.extend(listed(item, settings.zone) for item in fresh)
    ordered = sorted(kept, key=itemgetter(2, 1), reverse=True)  # (sort_time, url), newest first
    catalog = Catalog(
        ordered,
        load=load,
        load_cards=cache.cards,
        load_search=cache.search,
    )
    catalog.add(fresh)
    return catalog, Changes(fresh, removed)


def _listings(
    listings: Iterable[tuple[ListingSpec, Sequence[int]]], entries: Sequence[Listed]
) -> Iterator[tuple[str, Members, str, str]]:
    """The listings of a planned build, for the next build to start from."""
    for spec, members in listings:
        made = Members.of((entries[i] for i in members), with_anchors=spec.front == PAPERS)
        yield spec.front, made, *listing_keys(spec)


def _by_day(entries: Sequence[Listed]) -> Iterator[tuple[str, list[int]]]:
    """The indexes of ``entries`` (newest first, so each day's are together), day by day."""
    day, indexes = "", list[int]()
    for index, entry in enumerate(entries):
        if entry.day != day:
            if indexes:
                yield day, indexes
            day, indexes = entry.day, []
        indexes.append(index)
    if indexes:
        yield day, indexes


def _add_chunks(stored: dict[str, list[Chunk]], rows: Iterable[Sequence[Any]]) -> None:
    for name, number, ids, keys, digests, anchors in rows:
        stored.setdefault(name, []).append(
            Chunk(number, bytes(ids), bytes(keys), bytes(digests), anchors)
        )


def _insert_items(conn: Connection, rows: Sequence[tuple[int, str]]) -> None:
    """(link id, day) rows into ``site_items``."""
    if rows:
        bulk.insert_rows(conn, items_t, [{"link_id": link_id, "day": day} for link_id, day in rows])


def _day_row(
    day: str, entries: Sequence[Listed], fields: Mapping[int, list[str]], part: str, key: str
) -> dict[str, Any]:
    # marshal takes plain tuples only; the facts uncompressed (read on every build, where zlib
    # would cost more than it saves), the search fields compressed.
    return {
        "day": day,
        "items": marshal.dumps([tuple(entry) for entry in entries], MARSHAL_VERSION),
        "search": zlib.compress(marshal.dumps(dict(fields), MARSHAL_VERSION), 1),
        "shard": part,
        "shard_key": key,
    }


def _batches(values: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]
