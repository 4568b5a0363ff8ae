"""Incremental site builds planned from what changed, without looking at the rest.

Planning the whole site (:func:`feedbot.publish.pages.plan_site`) costs time in proportion to
every item ever collected; after 100 new items out of 100,000 that is most of a build. So each
build also records every *listing* (home, each day, topic and source, the papers: see
:class:`feedbot.publish.pages.ListingSpec`) in ``site_listings``: its members newest first, as
packed arrays of link ids, sort keys and item digests, and the keys of what its pages are made
from besides their items. The next build then

1. takes each changed item out of the listings it was in, at its old place, and puts it into the
   listings it is in now, at its place by date (a binary search): the other members stay where
   they were;
2. works out the listings' contexts again (cheap: a few per day, topic and source) and compares
   their keys with the recorded ones (a new day changes its neighbours' links; a source's error
   shows on its front page);
3. in the listings changed either way, compares every page with the same page before: the same
   item ids with the same digests, the same links to the other pages and the same context make
   the same page, which the output folder keeps (:meth:`OutputTree.keep_the_rest`). Every other
   page is fingerprinted and checked as a full build checks it, and rendered if it differs;
4. does the same for the paper pages (a paper's page links to its day page), the search-index
   months (each made of its days' parts: those of the days the changes fall in made again,
   the others as recorded) and the feeds those listings feed, and removes the pages that are
   no longer made.

What the pages show comes from the same functions a full build uses (``listing_specs``,
``listing_pages``, ``page_fingerprint``…), so both write the same tree, byte for byte
(``tests/test_site_cache.py`` checks that after every kind of change). When the record does not
agree with the database (an item it should hold is missing), :class:`StaleRecord` is raised
before anything is written, and the build plans the whole site instead.
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from typing import Any, NamedTuple

from jinja2 import Environment

from feedbot.config import Settings
from feedbot.publish import search
from feedbot.publish.catalog import Catalog, Listed, listed
from feedbot.publish.fingerprint import DIGEST_SIZE, combine, record_key
from feedbot.publish.output import OutputTree
from feedbot.publish.pages import (
    ListingSpec,
    archive_page,
    listing_page,
    listing_specs,
    numbered_pages,
    paginate,
    paper_page,
    paper_page_of,
    sources_page,
)
from feedbot.publish.site import (
    HOT_DAYS,
    BuildReport,
    Output,
    Renderer,
    extra_outputs,
    feed_set,
    page_fingerprint,
    page_output,
    page_url,
    search_day_key,
    search_day_part,
    search_index_output,
    search_shard_fingerprint,
    write_outputs,
)
from feedbot.records import Item, SourceStatus, TopicRef
from feedbot.resources import resource_dir

HOME = "index.html"
PAPERS = "papers.html"
_SWAP = sys.byteorder != "little"  # the arrays are stored little-endian


class StaleRecord(Exception):
    """The recorded listings do not agree with the database: plan the whole site instead."""


def listing_keys(spec: ListingSpec) -> tuple[str, str]:
    """What a listing's numbered pages are made from besides their items and pager, and what
    its front page is made from besides its items and pager."""
    numbered = combine(
        (), spec.template, spec.description, spec.numbered_prefix,
        record_key(spec.context), record_key(spec.feeds),
    )  # fmt: skip
    return numbered, combine((), numbered, spec.front_size, record_key(spec.front_extra))


def listing_names(entry: Listed) -> list[str]:
    """The listings an item is in (those the site has: a topic or source it does not list
    has no listing)."""
    names = [HOME, f"days/{entry.day}.html"]
    names += [f"topics/{topic}.html" for topic in entry.topics]
    names += [f"sources/{slug}.html" for slug in entry.sources]
    if entry.paper:
        names.append(PAPERS)
    return names


@dataclass
class Members:
    """A listing's members, newest first: link ids, sort keys (minus the sort time, so that
    they ascend) and digests, packed; for the papers listing, its members' anchors too.

    ``hidden``: how many of the oldest members were left unread (whole chunks: a build whose
    changes all fall among a long listing's newest members reads only those). The arrays hold
    the others; positions count from the newest as ever, and ``len()`` counts them all."""

    ids: array[int] = field(default_factory=lambda: array("q"))
    keys: array[float] = field(default_factory=lambda: array("d"))
    digests: bytearray = field(default_factory=bytearray)
    anchors: list[str] | None = None
    hidden: int = 0

    @classmethod
    def unpack(cls, chunks: Sequence[Chunk], with_anchors: bool = False) -> Members:
        """The members of a listing from its stored chunks (in any order, the oldest ones
        possibly left out); ``with_anchors``: of the papers listing, which keeps its members'
        anchors (even with no member yet)."""
        ordered = sorted(chunks, key=lambda chunk: -chunk[0])  # the newest first
        unpacked = cls(array("q"), array("d"), bytearray(b"".join(c[3] for c in ordered)))
        unpacked.hidden = ordered[-1].number * CHUNK if ordered else 0
        unpacked.ids.frombytes(b"".join(c[1] for c in ordered))
        unpacked.keys.frombytes(b"".join(c[2] for c in ordered))
        if _SWAP:
            unpacked.ids.byteswap()
            unpacked.keys.byteswap()
        if with_anchors:
            unpacked.anchors = [a for c in ordered for a in (c[4].split("\n") if c[4] else [])]
        return unpacked

    @classmethod
    def of(cls, entries: Iterable[Listed], with_anchors: bool = False) -> Members:
        made = cls(anchors=[] if with_anchors else None)
        for entry in entries:
            made.append(entry)
        return made

    def append(self, entry: Listed) -> None:
        self.ids.append(entry.id)
        self.keys.append(-entry.sort_time)
        self.digests += entry.digest
        if self.anchors is not None:
            self.anchors.append(entry.anchor)

    def chunks(self) -> list[Chunk]:
        """The members packed in chunks of :data:`CHUNK`, counted from the oldest (those read:
        see :attr:`hidden`)."""
        ids, keys = self.ids, self.keys
        if _SWAP:
            ids, keys = array("q", ids), array("d", keys)
            ids.byteswap()
            keys.byteswap()
        id_bytes, key_bytes = ids.tobytes(), keys.tobytes()
        digests, anchors = self.digests, self.anchors
        made = []
        count, first = len(ids), self.hidden // CHUNK  # the chunks left unread stay as they are
        for number in range(-(-count // CHUNK)):
            end = count - number * CHUNK
            start = max(0, end - CHUNK)
            made.append(Chunk(
                first + number, id_bytes[start * 8 : end * 8], key_bytes[start * 8 : end * 8],
                bytes(digests[start * DIGEST_SIZE : end * DIGEST_SIZE]),
                None if anchors is None else "\n".join(anchors[start:end]),
            ))  # fmt: skip
        return made

    def copy(self) -> Members:
        anchors = None if self.anchors is None else list(self.anchors)
        return Members(array("q", self.ids), array("d", self.keys), bytearray(self.digests),
                       anchors, self.hidden)  # fmt: skip

    def __len__(self) -> int:
        return len(self.ids) + self.hidden

    def position(self, link_id: int, sort_time: float) -> int | None:
        key = -sort_time
        for place in range(bisect_left(self.keys, key), bisect_right(self.keys, key)):
            if self.ids[place] == link_id:
                return place
        return None

    def remove(self, place: int) -> None:
        del self.ids[place]
        del self.keys[place]
        del self.digests[place * DIGEST_SIZE : (place + 1) * DIGEST_SIZE]
        if self.anchors is not None:
            del self.anchors[place]

    def insert(self, entry: Listed, url_of: Callable[[int], str]) -> None:
        """Put ``entry`` in its place: newest first, and among items of the same time, by URL
        from the last (the order of a full build: by (time, URL), descending)."""
        key = -entry.sort_time
        place, end = bisect_left(self.keys, key), bisect_right(self.keys, key)
        while place < end and url_of(self.ids[place]) > entry.url:
            place += 1
        self.ids.insert(place, entry.id)
        self.keys.insert(place, key)
        at = place * DIGEST_SIZE
        self.digests[at:at] = entry.digest
        if self.anchors is not None:
            self.anchors.insert(place, entry.anchor)

    def digests_of(self, span: range) -> bytes:
        return bytes(self.digests[span.start * DIGEST_SIZE : span.stop * DIGEST_SIZE])

    def common_tail(self, other: Members) -> int:
        """How many of the oldest members (the arrays' ends) ``other`` has alike: the same
        ids in the same order, with the same sort keys and digests. Both must have left the
        same oldest members unread (those are alike)."""
        if self.hidden != other.hidden:
            raise StaleRecord("two reads of a listing left different members unread")
        with ExitStack() as views:
            # Views of the same format compare with memcmp: digests as 8-byte words. Each is
            # released on the way out (an array or bytearray with a view cannot grow).
            def view(data: Any, words: bool = False) -> memoryview:
                made = views.enter_context(memoryview(data))
                return views.enter_context(made.cast("Q")) if words else made

            return self.hidden + _longest_alike(
                (view(self.ids), view(self.keys), view(self.digests, words=True)),
                (view(other.ids), view(other.keys), view(other.digests, words=True)),
                min(len(self.ids), len(other.ids)),
            )

    def same_page(self, span: range, other: Members, other_span: range) -> bool:
        mine, theirs = (
            self.ids[span.start : span.stop],
            other.ids[other_span.start : other_span.stop],
        )
        return mine == theirs and self.digests_of(span) == other.digests_of(other_span)


CHUNK = 512  # members a stored chunk holds: new items rewrite the newest one
_WORDS = DIGEST_SIZE // 8  # a digest's 8-byte words (see Members.common_tail)


def _longest_alike(mine: tuple[memoryview, ...], theirs: tuple[memoryview, ...], limit: int) -> int:
    """The largest ``n ≤ limit`` whose last ``n`` members are alike in both views: checked
    whole first (new items are nearly always the newest), then by halving what is left."""

    def alike(n: int) -> bool:
        if n == 0:
            return True
        return all(
            a[len(a) - n * width :] == b[len(b) - n * width :]
            for a, b, width in zip(mine, theirs, (1, 1, _WORDS), strict=True)
        )

    if alike(limit):
        return limit
    low, high = 0, limit  # alike(low), not alike(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if alike(middle) else (low, middle)
    return low


class Chunk(NamedTuple):
    """One stored run of a listing's members (see ``models.SiteListingChunk``)."""

    number: int
    ids: bytes
    keys: bytes
    digests: bytes
    anchors: str | None


@dataclass(frozen=True)
class ItemIds:
    """How to ask the database which links are items, and how many."""

    count: Callable[[], int]
    ids: Callable[[], set[int]]


class ListingRecord(NamedTuple):
    """What ``site_listings`` says of a listing without its members."""

    length: int  # members
    numbered_key: str
    front_key: str


class Record:
    """The previous build's listings (``site_listings``) and index (``site_days``,
    ``site_items``), read as the delta build needs them."""

    def __init__(
        self,
        listings: Mapping[str, ListingRecord],
        members: Callable[[Collection[str], Mapping[str, int] | None], dict[str, Members]],
        day_entries: Callable[[Collection[str]], dict[str, list[Listed]]],
        day_search: Callable[[Collection[str]], dict[str, dict[int, list[str]]]],
        day_parts: Callable[[Collection[str]], dict[str, tuple[str, str]]],
        item_days: Callable[[Collection[int]], dict[int, str]],
        item_ids: Callable[[], set[int]],
    ) -> None:
        self.listings = listings
        self._members = members
        self._day_entries = day_entries
        self._day_search = day_search
        self.day_parts = day_parts  # each day's part of its month's search file, and its key
        self.item_days = item_days  # the day of each of some links that were items
        self.item_ids = item_ids  # every item
        self.loaded: dict[str, Members] = {}
        self.days: dict[str, list[Listed]] = {}

    def members(
        self,
        names: Iterable[str],
        changes: Mapping[str, Sequence[float]] | None = None,
        reach: int = 0,
    ) -> dict[str, Members]:
        """The recorded members of these listings (those it has), read once. ``changes``: the
        sort keys of the members some of them lose or gain; of those, only the newest members
        are read when every change falls among the newest ``reach`` (plus one per change), which
        must cover every page and feed a change can alter."""
        names = list(names)
        wanted = {name for name in names if name in self.listings and name not in self.loaded}
        if not wanted:
            return {name: self.loaded[name] for name in names if name in self.loaded}
        changes = changes or {}
        lowest, needs = {}, {}
        for name in wanted & set(changes) - {PAPERS}:  # papers: the sitemap lists all
            needs[name] = need = reach + len(changes[name])
            # The oldest chunk holding the member at position `need` from the newest.
            chunk = (self.listings[name].length - need - 1) // CHUNK
            if chunk > 0:
                lowest[name] = chunk
        found = self._members(wanted, lowest)
        short = [
            name for name in lowest
            if len(found[name].ids) <= needs[name]
            or any(key >= found[name].keys[needs[name]] for key in changes[name])
        ]  # fmt: skip
        if short:
            found.update(self._members(short, None))  # whole, after all
        for name, members in found.items():
            if len(members) != self.listings[name].length:
                raise StaleRecord(f"the listing {name} does not hold as many members as recorded")
        self.loaded.update(found)
        return {name: self.loaded[name] for name in names if name in self.loaded}

    def entries(self, days: Iterable[str]) -> dict[str, list[Listed]]:
        """The recorded items of these days, newest first, read once."""
        days = list(days)
        wanted = set(days) - set(self.days)
        if wanted:
            found = self._day_entries(wanted)
            self.days.update((day, found.get(day, [])) for day in wanted)
        return {day: self.days[day] for day in days}

    def search(self, days: Collection[str]) -> dict[str, dict[int, list[str]]]:
        """The recorded search fields of these days' items, by id."""
        return self._day_search(days)


class DayIndex(NamedTuple):
    """One day of the index as a build leaves it (``site_days``)."""

    entries: list[Listed]  # newest first
    fields: dict[int, list[str]]  # search fields, by id
    part: str  # its part of its month's search file
    key: str  # and that part's key


@dataclass
class Delta:
    """A delta build's plan and what it leaves for the next one."""

    report: BuildReport
    listings: list[tuple[str, Members, str, str]]  # rewritten: name, members, keys
    dropped: set[str]  # listings no longer made
    days: dict[str, DayIndex]  # rewritten index days (no entries: gone)
    catalog: Catalog
    left_open: set[int]  # ids no longer on a page new items land on (or gone): their cards
    left_items: set[int]  # ids whose day in the index changed (or that left it)
    item_days: dict[int, str]  # and the days of those that are items now


def build_delta(
    record: Record,
    load: Callable[[Collection[int]], list[Item]],
    changed: set[int],
    items: ItemIds,
    topics: Sequence[TopicRef],
    sources: Sequence[SourceStatus],
    settings: Settings,
    env: Environment,
    tree: OutputTree,
    load_cards: Callable[..., Mapping[tuple[int, str], tuple[bytes, str]]],
) -> Delta:
    """Build what changed since the previous build into ``tree`` (trusted and intact), from
    ``record``. ``changed``: ids of links changed since; ``items``: how many items there are
    and which (asked only when the count is not what the changes make it)."""
    zone, title, size = settings.zone, settings.title, settings.page_size
    # 1. The changed items out of their old listings, into their new ones.
    # A change among a listing's newest members alters its pages down to the newest numbered
    # page, and its feeds: within this many of its newest members (with a page to spare).
    reach = max(settings.feed_items, settings.home_items, size) + 3 * size
    moves = _move_changed(record, load, changed, items, zone, reach)
    fresh, new, gone, old = moves.fresh, moves.new, moves.gone, moves.old
    touched, before, after = moves.touched, moves.before, moves.after

    # 2. Every listing's context, and which changed.
    counts = {name: found.length for name, found in record.listings.items()}
    counts.update((name, len(found)) for name, found in after.items())
    day_names = sorted(
        (name[5:-5] for name, count in counts.items() if _is_day(name) and count), reverse=True
    )
    specs = listing_specs(
        [(day, counts[f"days/{day}.html"]) for day in day_names], topics,
        {t.id: counts.get(f"topics/{t.id}.html", 0) for t in topics}, sources,
        {s.slug: counts.get(f"sources/{s.slug}.html", 0) for s in sources},
        title=title, home_items=settings.home_items, page_size=size,
    )  # fmt: skip
    keys = {spec.front: listing_keys(spec) for spec in specs}
    restyled = {
        name for name, key in keys.items()
        if name not in record.listings or key != record.listings[name][1:]
    }  # fmt: skip
    for name, found in record.members(restyled - set(after)).items():
        before[name], after[name] = found, found
    checked = [spec for spec in specs if spec.front in touched or spec.front in restyled]
    dropped = set(record.listings) - set(keys)

    # 3. The pages that may have changed, as a full build would make them.
    local = _Local(new, load, load_cards)
    renderer = Renderer(env, local.catalog, topics, settings)
    checks = _Found(recent_days={f"days/{day}.html" for day in day_names[:HOT_DAYS]})
    for spec in checked:
        _check_listing(spec, before.get(spec.front), after.get(spec.front, Members()),
                       record.listings.get(spec.front), keys[spec.front], size, tree, local,
                       renderer, checks)  # fmt: skip
    for name in dropped:
        for path in _page_paths(name, record.listings[name].length, settings):
            tree.remove(path)
    outputs, day_pages, at, catalog = checks.outputs, checks.day_pages, local.at, local.catalog
    left_open = (checks.left_open - checks.now_open) | gone  # their cards are no use any more

    # 4. Paper pages, feeds, search months, the archive, the sources page, sitemap and the rest.
    papers = after[PAPERS] if PAPERS in after else Members(anchors=[])
    paper_ids = set(papers.ids)
    for entry in old.values():
        if entry.paper and (entry.id not in new or paper_page(new[entry.id]) != paper_page(entry)):
            tree.remove(paper_page(entry))
    recheck = sorted(({i for i, e in new.items() if e.paper} | checks.moved) & paper_ids)
    unknown = [i for i in recheck if i not in new]
    if unknown:
        by_day = record.entries({day_pages[i][5:15] for i in unknown})  # days/YYYY-MM-DD…
        in_index = {e.id: e for day in by_day.values() for e in day}
        if any(i not in in_index for i in unknown):
            raise StaleRecord("a paper is missing from its day")
        paper_entries = {i: new.get(i) or in_index[i] for i in recheck}
    else:
        paper_entries = {i: new[i] for i in recheck}
    for link_id in recheck:
        entry = paper_entries[link_id]
        page = paper_page_of(entry, at(link_id, -entry.sort_time, entry.digest),
                             day_pages[link_id], title)  # fmt: skip
        outputs.append(page_output(page, [entry.digest], renderer))

    limit = settings.feed_items
    in_feeds: set[int] = set()  # their entries are kept with the cards
    feed_lists: list[tuple[TopicRef | None, str]] = [(None, HOME)]
    feed_lists += [(topic, f"topics/{topic.id}.html") for topic in topics]
    for topic, name in feed_lists:
        if name in after and (name in touched or name in restyled):
            members = after[name]
            if min(limit, len(members)) > len(members.ids):
                raise StaleRecord(f"a feed of {name} reaches members not read")
            chosen = [at(members.ids[p], members.keys[p], members.digests_of(range(p, p + 1)))
                      for p in range(min(limit, len(members)))]  # fmt: skip
            in_feeds.update(members.ids[: len(chosen)])
            parts = [members.digests_of(range(0, min(limit, len(members))))]
            outputs.extend(feed_set(catalog, topic, chosen, parts, settings))

    months_now = list(dict.fromkeys(day[:7] for day in day_names))
    outputs.append(search_index_output(months_now))
    # A day's part of the search index changes with its items (and so their day pages): the
    # days the changes fall in. A month's file changes with its days' parts.
    index = _index_days(record, moves.days, old, new, fresh, after, size)
    outputs.extend(_search_outputs(record, {day[:7] for day in index}, set(months_now),
                                   day_names, index, tree))  # fmt: skip

    day_counts = [(date.fromisoformat(day), counts[f"days/{day}.html"]) for day in day_names]
    outputs.append(page_output(archive_page(day_counts, title), [], renderer))
    source_counts = {
        name[8:-5]: count for name, count in counts.items()
        if name.startswith("sources/") and count and name[:-5] != "sources/index"
    }  # fmt: skip
    outputs.append(page_output(sources_page(sources, source_counts, title), [], renderer))
    sitemap = [page_url(settings.base_url, path)
               for path in _sitemap_paths(specs, counts, papers, size)]  # fmt: skip
    outputs.extend(extra_outputs(sitemap, settings, renderer, resource_dir("static")))

    catalog.hot_cards |= checks.hot  # and the feeds' entries (feed_set)
    catalog.add(item for item in fresh if item.id in local.index)  # loaded already
    tree.keep_the_rest()
    stats = write_outputs(catalog, outputs, tree)
    pages = sum(1 + numbered_pages(counts.get(s.front, 0), s.front_size, size) for s in specs)
    report = BuildReport(
        settings.output_path, pages + len(papers) + 3, 3 * (1 + len(topics)), counts[HOME],
        stats.written, stats.unchanged, stats.deleted, stats.bytes_written,
    )  # fmt: skip
    rewritten = [(spec.front, after.get(spec.front, Members()), *keys[spec.front])
                 for spec in checked]  # fmt: skip
    item_days = {link_id: entry.day for link_id, entry in new.items()}
    left_open -= in_feeds - gone
    return Delta(report, rewritten, dropped, index, catalog, left_open, set(old) | set(new),
                 item_days)  # fmt: skip


@dataclass
class _Moves:
    """The changed items, and the listings they left and entered."""

    fresh: list[Item]  # the changed items, as they are now
    new: dict[int, Listed]  # the same, as listed
    gone: set[int]  # ids no longer items
    old: dict[int, Listed]  # the changed items as the record had them
    days: set[str]  # of the index, where the changes fall
    touched: set[str]  # listings a changed item was or is in
    before: dict[str, Members]  # those listings as they were (and the papers)
    after: dict[str, Members]  # and as they are now


def _move_changed(
    record: Record,
    load: Callable[[Collection[int]], list[Item]],
    changed: set[int],
    items: ItemIds,
    zone: tzinfo,
    reach: int,
) -> _Moves:
    """Load the changed items and move each from its place in the listings it was in to its
    place in the listings it is in now. ``reach``: how many of a listing's newest members a
    change among them may alter the pages and feeds of."""
    if HOME not in record.listings:
        raise StaleRecord("no home listing")
    fresh = load(changed) if changed else []
    new = {item.id: listed(item, zone) for item in fresh}
    was = record.item_days(changed)  # the changed links that were items, and their days
    count = record.listings[HOME].length
    if items.count() != count - len(set(was) - set(new)) + len(set(new) - set(was)):
        # Not every change was stamped (a link deleted by a merge leaves nothing to stamp):
        # compare the ids themselves.
        current, known = items.ids(), record.item_ids()
        unstamped = current - known - changed
        fresh += load(unstamped) if unstamped else []
        new = {item.id: listed(item, zone) for item in fresh}
        was.update(record.item_days(known - current - set(was)))
    gone = set(was) - set(new)
    old_days = set(was.values())
    days = old_days | {entry.day for entry in new.values()}
    entries = record.entries(days)
    old = {e.id: e for day in old_days for e in entries[day] if e.id in was}
    if len(old) != len(was):
        raise StaleRecord("an item of the index is missing from its day")
    changes: dict[str, list[float]] = {}  # each listing's changes, by sort key
    for entry in [*old.values(), *new.values()]:
        for name in listing_names(entry):
            changes.setdefault(name, []).append(-entry.sort_time)
    touched = set(changes)
    before = record.members(touched | {PAPERS}, changes, reach)  # as read: never changed
    after = {name: found.copy() for name, found in before.items()}
    urls: dict[int, str] = {}

    def url_of(link_id: int) -> str:
        if not urls:  # only items of the same time are ordered by URL: rarely asked
            urls.update((e.id, e.url) for day in entries.values() for e in day)
            urls.update((entry.id, entry.url) for entry in new.values())
        if link_id not in urls:
            raise StaleRecord(f"no recorded URL of link {link_id}")
        return urls[link_id]

    for entry in old.values():
        for name in listing_names(entry):
            if name in after:
                place = after[name].position(entry.id, entry.sort_time)
                if place is None:
                    raise StaleRecord(f"link {entry.id} is missing from {name}")
                after[name].remove(place)
    for entry in new.values():
        for name in listing_names(entry):
            if name not in after:
                after[name] = Members(anchors=[] if name == PAPERS else None)
            after[name].insert(entry, url_of)
    return _Moves(fresh, new, gone, old, days, touched, before, after)


class _Local:
    """The build's catalog of the items it renders, made as pages ask for them: the changed
    items in full, the others by id and digest (enough to fetch them and their cards)."""

    def __init__(
        self,
        new: Mapping[int, Listed],
        load: Callable[[Collection[int]], list[Item]],
        load_cards: Callable[..., Mapping[tuple[int, str], tuple[bytes, str]]],
    ) -> None:
        self.new = new
        self.entries: list[Listed] = []
        self.index: dict[int, int] = {}
        self.catalog = Catalog(self.entries, load=load, load_cards=load_cards,
                               load_search=lambda days: {})  # fmt: skip

    def at(self, link_id: int, key: float, digest: bytes) -> int:
        """The item's index in the catalog (added if new to it)."""
        index = self.index.get(link_id)
        if index is None:
            index = self.index[link_id] = len(self.entries)
            self.entries.append(self.new.get(link_id) or _thin(link_id, key, digest))
        return index


@dataclass
class _Found:
    """What checking the listings found."""

    recent_days: set[str]  # the newest day listings (their open pages' cards are kept)
    outputs: list[Output] = field(default_factory=list)
    hot: set[tuple[int, str]] = field(default_factory=set)  # cards worth keeping
    day_pages: dict[int, str] = field(default_factory=dict)  # of the checked days' members
    moved: set[int] = field(default_factory=set)  # members on another day page than before
    left_open: set[int] = field(default_factory=set)  # on an open page before
    now_open: set[int] = field(default_factory=set)  # on an open page now


def _check_listing(
    spec: ListingSpec,
    was: Members | None,
    now: Members,
    recorded: ListingRecord | None,
    keys: tuple[str, str],
    size: int,
    tree: OutputTree,
    local: _Local,
    renderer: Renderer,
    found: _Found,
) -> None:
    """Compare each page of a listing with the same page before: one showing the same ids
    with the same digests, the same links to the other pages and the same context is kept;
    the others are fingerprinted, and made if they differ. Pages no longer made are removed."""
    is_day = spec.template == "day.html"
    # The oldest numbered pages, which new items leave alone, are known alike in one look.
    alike = 0 if is_day else _alike_oldest(spec, was, now, recorded, keys, size)
    old_spans, old_highest = _spans(spec, len(was) if was is not None else 0, size, alike)
    split = paginate(len(now), spec.front_size, size, above=alike)
    if (now.hidden and any(span.stop > len(now.ids) for _, span in split)) or (
        was is not None and was.hidden
        and any(span.stop > len(was.ids) for span in old_spans.values())
    ):  # fmt: skip
        raise StaleRecord(f"the pages of {spec.front} to check reach members not read")
    highest = numbered_pages(len(now), spec.front_size, size) or None
    for number, span in split:
        path = spec.front if number is None else spec.numbered(number)
        ids = now.ids[span.start : span.stop]
        if is_day:
            found.day_pages.update((link_id, path) for link_id in ids)
        is_open = number is None or number == highest
        if is_open:
            found.now_open.update(ids)
        previous = old_spans.pop(path, None)
        if (
            previous is not None
            and was is not None
            and recorded is not None
            and (recorded.front_key == keys[1] if number is None
                 else recorded.numbered_key == keys[0])
            and _same_pager(number, old_highest, highest)
            and now.same_page(span, was, previous)
        ):  # fmt: skip
            continue
        if is_day:  # its members on another page than before, or new to the day
            before_here = set()
            if was is not None and previous is not None:
                before_here = set(was.ids[previous.start : previous.stop])
            found.moved.update(i for i in ids if i not in before_here)
        page = listing_page(spec, number, highest, ())
        digests = now.digests_of(span)
        if tree.up_to_date(path, page_fingerprint(page, [digests])):
            continue  # the same as before after all
        shown = tuple(
            local.at(now.ids[p], now.keys[p], digests[(p - span.start) * DIGEST_SIZE :
                                                      (p - span.start + 1) * DIGEST_SIZE])
            for p in span
        )  # fmt: skip
        page = replace(page, items=shown)
        found.outputs.append(page_output(page, [digests], renderer))
        if is_open and (not is_day or spec.front in found.recent_days):
            found.hot.update((index, page.root) for index in shown)
    for path in old_spans:
        tree.remove(path)
    if was is not None and old_highest is not None:
        opened = len(was) - (old_highest - 1) * size  # the open pages' members
        if opened > len(was.ids):
            raise StaleRecord(f"the open pages of {spec.front} reach members not read")
        found.left_open.update(was.ids[:opened])
    elif was is not None:
        found.left_open.update(was.ids)


def _alike_oldest(
    spec: ListingSpec,
    was: Members | None,
    now: Members,
    recorded: ListingRecord | None,
    keys: tuple[str, str],
    size: int,
) -> int:
    """How many of the oldest numbered pages (1 … N) show the same members as before, with the
    same links and context: those wholly among the members both have alike at the oldest end,
    below the newest numbered page before and now (whose links change as pages are added)."""
    if was is None or recorded is None or recorded.numbered_key != keys[0]:
        return 0
    highest = numbered_pages(len(now), spec.front_size, size)
    old_highest = numbered_pages(len(was), spec.front_size, size)
    if min(highest, old_highest) <= 1:
        return 0
    # Page n holds the members n·size-size … n·size from the oldest end, unless the front
    # page takes some of them: so within the alike tail, and clear of both front pages.
    within = min(now.common_tail(was), len(now) - spec.front_size, len(was) - spec.front_size)
    return max(0, min(within // size, highest - 1, old_highest - 1))


def _is_day(name: str) -> bool:
    return name.startswith("days/") and name != "days/index.html"


def _day(sort_time: float, zone: tzinfo) -> str:
    return datetime.fromtimestamp(sort_time, zone).date().isoformat()


def _thin(link_id: int, key: float, digest: bytes) -> Listed:
    """What rendering an unchanged item needs of it: its id (to fetch it) and digest (to
    find its cached card)."""
    return Listed(link_id, "", -key, "", (), (), False, "", digest, "")


def _spans(
    spec: ListingSpec, count: int, size: int, above: int = 0
) -> tuple[dict[str, range], int | None]:
    """Each page of a listing of ``count`` members by path, with the members it shows (but the
    numbered pages 1 … ``above``); and the listing's newest numbered page."""
    split = paginate(count, spec.front_size, size, above=above)
    spans = {(spec.front if number is None else spec.numbered(number)): span
             for number, span in split}  # fmt: skip
    return spans, numbered_pages(count, spec.front_size, size) or None


def _same_pager(number: int | None, old_highest: int | None, highest: int | None) -> bool:
    """Page ``number`` (there before and now) links to the same pages (see ``pages.pager``)."""
    if number is None:
        return old_highest == highest
    assert old_highest is not None and highest is not None
    return (number < old_highest) == (number < highest)


def _page_paths(name: str, count: int, settings: Settings) -> list[str]:
    """The pages of a listing that had ``count`` members (for a listing no longer made)."""
    prefix = "page/" if name == HOME else ("papers/" if name == PAPERS else name[:-4])
    front_size = settings.home_items if name == HOME else settings.page_size
    highest = numbered_pages(count, front_size, settings.page_size)
    return [name, *(f"{prefix}{number}.html" for number in range(highest, 0, -1))]


def _sitemap_paths(
    specs: Sequence[ListingSpec], counts: Mapping[str, int], papers: Members, size: int
) -> list[str]:
    """Every page in the order a full build's plan lists them."""
    paths = []
    for spec in specs:
        paths.append(spec.front)
        highest = numbered_pages(counts.get(spec.front, 0), spec.front_size, size)
        paths += [spec.numbered(number) for number in range(highest, 0, -1)]
    paths += [f"papers/{anchor}.html" for anchor in papers.anchors or ()]
    return [*paths, "days/index.html", "sources/index.html"]


def _search_outputs(
    record: Record,
    months: set[str],
    months_now: set[str],
    day_names: Sequence[str],
    made: Mapping[str, DayIndex],
    tree: OutputTree,
) -> list[Output]:
    """The search-index months the changes fall in, of their days' parts: those ``made`` and
    the others as recorded."""
    outputs: list[Output] = []
    for month in sorted(months - months_now):
        tree.remove(f"search/{month}.js")
    months &= months_now
    days = [day for day in day_names if day[:7] in months]
    recorded = record.day_parts([day for day in days if day not in made])
    for month in sorted(months, reverse=True):
        parts, keys = [], []
        for day in (day for day in days if day[:7] == month):
            found = (made[day].part, made[day].key) if day in made else recorded.get(day)
            if found is None:
                raise StaleRecord(f"no search index of {day}")
            parts.append(found[0])
            keys.append(found[1])
        outputs.append(Output(
            f"search/{month}.js", search_shard_fingerprint(month, keys),
            lambda month=month, parts=parts: search.shard_js(month, parts),  # type: ignore[misc]
        ))  # fmt: skip
    return outputs


def _index_days(
    record: Record,
    days: set[str],
    old: Mapping[int, Listed],
    new: Mapping[int, Listed],
    fresh: Sequence[Item],
    after: Mapping[str, Members],
    size: int,
) -> dict[str, DayIndex]:
    """The index days the changes fall in, as they are now: entries, search fields and the
    day's part of its month's search file."""
    changed = set(old) | set(new)
    entries = record.entries(days)
    searches = record.search(days)
    fields = {item.id: search.fields(item) for item in fresh}
    made = {}
    for day in days:
        kept = [e for e in entries[day] if e.id not in changed]
        kept += [e for e in new.values() if e.day == day]
        kept.sort(key=lambda e: (e.sort_time, e.url), reverse=True)
        found = {i: f for i, f in searches.get(day, {}).items() if i not in changed}
        found.update((e.id, fields[e.id]) for e in kept if e.id in fields)
        members = after.get(f"days/{day}.html", Members())
        if list(members.ids) != [e.id for e in kept] or any(e.id not in found for e in kept):
            raise StaleRecord(f"the index of {day} does not agree with its listing")
        pages = _day_pages(day, len(members), size)
        part = search_day_part(day, [found[e.id] for e in kept], pages)
        key = search_day_key(day, [members.digests_of(range(len(members)))], tuple(pages))
        made[day] = DayIndex(kept, found, part, key)
    return made


def _day_pages(day: str, count: int, size: int) -> list[str]:
    """The day page each member of a day's listing of ``count`` is on, in order."""
    pages = []
    for number, span in paginate(count, size, size):
        path = f"days/{day}.html" if number is None else f"days/{day}.{number}.html"
        pages += [path] * len(span)
    return pages
