"""The items of one site build: a compact entry for every item, full records on demand.

Planning the site (:mod:`feedbot.publish.pages`) needs only a few facts of each item: its date,
day, topics, sources, whether it is a paper. Rendering needs the full :class:`Item`, but only
for the pages that changed. A :class:`Catalog` keeps the facts of every item (``listed``, newest
first) and gets the full records, the rendered cards and the search-index fields of the items a
build actually renders, in batches, from wherever they live:

* :meth:`Catalog.of_items`: every item in memory (a full build; the tests);
* :class:`feedbot.publish.cache.SiteCache` builds one from the database: the facts from the
  previous build's index, full records only for what it renders, cards from the card cache.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import NamedTuple

from feedbot.errors import PublishError
from feedbot.publish import fingerprint, search
from feedbot.records import Item

BLURB_CHARS = 200  # of a paper's summary, as its page's description


class Listed(NamedTuple):
    """What planning needs of one item. A tuple: a build reads 100,000 of them back from the
    previous build's index, and tuples are the cheapest records to make."""

    id: int
    url: str
    sort_time: float  # the item's date, as a POSIX timestamp
    day: str  # in the site's time zone, ISO (YYYY-MM-DD)
    topics: tuple[str, ...]  # topic ids
    sources: tuple[str, ...]  # source slugs
    paper: bool
    blurb: str  # a paper's description for its page ("" for the rest)
    digest: bytes  # fingerprint.digest of the whole item
    anchor: str  # its HTML id (Item.anchor)


def listed(item: Item, zone: tzinfo) -> Listed:
    paper = bool(item.doi or item.arxiv_id)
    return Listed(
        id=item.id,
        url=item.url,
        sort_time=item.date.timestamp(),
        day=item.date.astimezone(zone).date().isoformat(),
        topics=tuple(topic.id for topic in item.topics),
        sources=tuple(source.slug for source in item.sources),
        paper=paper,
        blurb=item.summary_text[:BLURB_CHARS] if paper else "",
        digest=fingerprint.digest(item),
        anchor=item.anchor,
    )


CardKey = tuple[int, str]  # (index into listed, root)


@dataclass
class Catalog:
    """Every item of a build (``listed``, newest first) and the means to get, by index, the full
    records, cached cards and search fields of those the build renders.

    ``load``: the full items of some of ``listed`` (by id); ``load_cards``: cached cards
    (``(id, root)`` → (digest, html)); ``load_search``: search fields by id (given each id's
    day). Each is called once per batch the build asks for."""

    listed: Sequence[Listed]
    load: Callable[[Collection[int]], Iterable[Item]]
    load_cards: Callable[[Collection[tuple[int, str]]], Mapping[tuple[int, str], tuple[bytes, str]]]
    load_search: Callable[[Mapping[int, str]], Mapping[int, list[str]]]  # {id: day}
    _items: dict[int, Item] = field(default_factory=dict)  # by index
    _search: dict[int, list[str]] = field(default_factory=dict)  # by index
    # Cards as the HTML text they are (safe: rendered by our templates); not Markup, which
    # would copy every cached card once more.
    _cards: dict[CardKey, str] = field(default_factory=dict)
    rendered_cards: dict[CardKey, str] = field(default_factory=dict)  # made by this build
    hot_cards: set[CardKey] = field(default_factory=set)  # worth keeping for the next build
    _uses: dict[str, array[int]] = field(default_factory=dict)  # by root, by index
    # Every full record at hand: search fields are worked out when asked for, not kept (for
    # 100,000 items they would take more memory than they take time to make again).
    _in_memory: bool = False

    @classmethod
    def of_items(cls, items: Sequence[Item], zone: tzinfo) -> Catalog:
        """A catalog of items all in memory (newest first)."""
        by_id = {item.id: item for item in items}
        catalog = cls(
            [listed(item, zone) for item in items],
            load=lambda ids: [by_id[i] for i in ids],
            load_cards=lambda keys: {},
            load_search=lambda days: {i: search.fields(by_id[i]) for i in days},
        )
        catalog._items = dict(enumerate(items))
        catalog._in_memory = True
        return catalog

    def __len__(self) -> int:
        return len(self.listed)

    @property
    def in_memory(self) -> bool:
        """Every full record is at hand (:meth:`of_items`)."""
        return self._in_memory

    def add(self, items: Iterable[Item]) -> None:
        """Hold these full records (of items in ``listed``) from the start."""
        index_of = {entry.id: i for i, entry in enumerate(self.listed)}
        for item in items:
            index = index_of[item.id]
            self._items[index] = item
            self._search[index] = search.fields(item)

    def search_of(self, index: int) -> list[str] | None:
        """The search fields the build has for an item, if any (it fetched them or was given
        its full record)."""
        if self._in_memory:
            return search.fields(self._items[index])
        return self._search.get(index)

    @property
    def digests(self) -> list[bytes]:
        return [entry.digest for entry in self.listed]

    # -- batches ---------------------------------------------------------------------------

    def fetch(self, indexes: Iterable[int]) -> None:
        """Get the full records of these items, in one batch, unless already here."""
        missing = {i for i in indexes if i not in self._items}
        if not missing:
            return
        position = {self.listed[i].id: i for i in missing}
        for item in self.load(list(position)):
            self._items[position[item.id]] = item
        lost = [self.listed[i].url or f"link {self.listed[i].id}"
                for i in missing if i not in self._items]  # fmt: skip
        if lost:  # merged or unshared by a stage running beside this build
            raise PublishError(
                f"{len(lost)} item(s) left the database during the build (e.g. {lost[0]}); "
                "the site is unchanged: build again"
            )

    def fetch_cards(self, keys: Iterable[CardKey]) -> list[int]:
        """Take the cached cards of these (index, root) whose item is unchanged; return the
        indexes whose card must be rendered."""
        cards, listed = self._cards, self.listed
        by_id = {(listed[i].id, root): (i, root) for i, root in keys if (i, root) not in cards}
        for id_key, (digest, html) in self.load_cards(list(by_id)).items():
            key = by_id[id_key]
            if digest == listed[key[0]].digest:
                cards[key] = html
        return sorted({i for i, root in by_id.values() if (i, root) not in cards})

    def fetch_search(self, indexes: Iterable[int]) -> None:
        if self._in_memory:
            return
        missing = {i for i in indexes if i not in self._search}
        if not missing:
            return
        position = {self.listed[i].id: i for i in missing}
        days = {self.listed[i].id: self.listed[i].day for i in missing}
        for link_id, fields in self.load_search(days).items():
            self._search[position[link_id]] = fields

    # -- single records (fetched first) ------------------------------------------------------

    def item(self, index: int) -> Item:
        found = self._items.get(index)
        if found is None:
            self.fetch([index])
            found = self._items[index]
        return found

    def card(self, index: int, root: str) -> str | None:
        return self._cards.get((index, root))

    def keep_card(self, index: int, root: str, html: str) -> None:
        self._cards[(index, root)] = html
        if (index, root) in self.hot_cards:
            self.rendered_cards[(index, root)] = html

    def count_card_uses(self, uses: Iterable[tuple[Sequence[int], str]]) -> None:
        """How many of the files to make show each card, from the cards (indexes, root) of
        each file (see :meth:`release_cards`). One array of counts per folder depth: a
        counter of (index, root) pairs would take more memory than the cards it saves."""
        self._uses = {}
        for indexes, root in uses:
            counts = self._uses.get(root)
            if counts is None:
                counts = self._uses[root] = array("l", [0]) * len(self.listed)
            for index in indexes:
                counts[index] += 1

    def release_cards(self, indexes: Iterable[int], root: str) -> None:
        """A file showing these cards is made: forget each card no file left to make shows."""
        counts = self._uses.get(root)
        if counts is None:
            return
        for index in indexes:
            counts[index] -= 1
            if counts[index] <= 0:
                self._cards.pop((index, root), None)

    def search(self, index: int) -> list[str]:
        if self._in_memory:
            return search.fields(self._items[index])
        found = self._search.get(index)
        if found is None:
            self.fetch_search([index])
            found = self._search[index]
        return found


class ItemsOf(Sequence[Item]):
    """The full items at some indexes of a catalog, fetched when first used: what a page
    template gets as ``items`` (ours use the rendered cards instead)."""

    def __init__(self, catalog: Catalog, indexes: Sequence[int]) -> None:
        self._catalog = catalog
        self._indexes = indexes

    def __len__(self) -> int:
        return len(self._indexes)

    def __getitem__(self, position):  # type: ignore[no-untyped-def,override]
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        self._catalog.fetch(self._indexes)
        return self._catalog.item(self._indexes[position])

    def __iter__(self) -> Iterator[Item]:
        self._catalog.fetch(self._indexes)
        return (self._catalog.item(i) for i in self._indexes)
