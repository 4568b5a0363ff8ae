"""Which pages the site has and what each shows: pure decisions, no rendering, no disk.

Listings (home, each day, topic and source, the papers) are paginated so that old pages stay
the same as new items arrive, which is what makes incremental builds cheap:

* the *front* page (``index.html``, ``topics/ai.html``…) shows the newest items;
* the rest are numbered from the **oldest**: page 1 holds the oldest ``page_size`` items, page
  2 the next, and so on; only the newest numbered page may be partly filled. A new item
  changes the front page and at most the newest numbered page or two; page 1 never changes
  again unless an item on it does.

Numbered pages sit in the same folder as their front page (``topics/ai.3.html``, home's under
``page/``) so that every card of a listing is rendered for one folder depth (see
:mod:`feedbot.publish.site`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from feedbot.publish.catalog import Listed
from feedbot.records import Item, SourceStatus, TopicRef
from feedbot.sanitize import is_web_url
from feedbot.status import state

RSS_TYPE = "application/rss+xml"
ATOM_TYPE = "application/atom+xml"
JSON_FEED_TYPE = "application/feed+json"


@dataclass(frozen=True)
class FeedLink:
    """A ``<link rel=alternate>`` of a page: one of the feeds that match it."""

    type: str
    title: str
    path: str  # from the site's root


@dataclass(frozen=True)
class Pager:
    """Links between the pages of one listing (paths from the site's root)."""

    number: int | None  # None on the front page
    newer: str | None
    older: str | None
    front: str
    oldest: str | None  # page 1, when the listing has numbered pages


@dataclass(frozen=True)
class Page:
    """One HTML page: the template, the items it lists (indexes into the build's items, newest
    first) and the rest of its context (plain values and records, part of its fingerprint)."""

    path: str
    template: str
    context: Mapping[str, Any]
    items: tuple[int, ...] = ()
    feeds: tuple[FeedLink, ...] = ()
    description: str = ""
    in_sitemap: bool = True
    open: bool = False  # a listing's front page or its newest numbered one: where new items land
    listing: str = ""  # the front page's path, for every page of a paginated listing

    @property
    def root(self) -> str:
        """The relative way back to the site's root from this page."""
        return "../" * self.path.count("/")


@dataclass
class Plan:
    """Everything a build writes, decided from the records alone."""

    pages: list[Page] = field(default_factory=list)
    day_pages: dict[int, str] = field(default_factory=dict)  # item index → its day page
    local_days: list[str] = field(default_factory=list)  # each item's day in the site's zone, ISO
    days: list[tuple[date, int]] = field(default_factory=list)  # newest first, with counts
    by_topic: dict[str, list[int]] = field(default_factory=dict)  # item indexes, newest first
    listings: list[tuple[ListingSpec, Sequence[int]]] = field(default_factory=list)  # members


def feed_links(title: str, prefix: str = "") -> tuple[FeedLink, ...]:
    """The three feeds of the whole site (``prefix`` "") or of a topic (``topics/ai.``)."""
    if not prefix:
        return (
            FeedLink(RSS_TYPE, f"{title} (RSS)", "feed.xml"),
            FeedLink(ATOM_TYPE, f"{title} (Atom)", "atom.xml"),
            FeedLink(JSON_FEED_TYPE, f"{title} (JSON Feed)", "feed.json"),
        )
    return (
        FeedLink(RSS_TYPE, f"{title} (RSS)", f"{prefix}xml"),
        FeedLink(ATOM_TYPE, f"{title} (Atom)", f"{prefix}atom"),
        FeedLink(JSON_FEED_TYPE, f"{title} (JSON Feed)", f"{prefix}json"),
    )


def paginate(
    count: int, front_size: int, page_size: int, *, above: int = 0
) -> list[tuple[int | None, range]]:
    """Split ``count`` items (newest first) into the front page and numbered pages counted from
    the oldest: ``[(None, front range), (K, range), …, (1, range)]``, newest page first.
    ``above``: leave out the numbered pages 1 … ``above``."""
    front = range(0, min(count, front_size))
    pages: list[tuple[int | None, range]] = [(None, front)]
    numbered = numbered_pages(count, front_size, page_size)
    for number in range(numbered, max(0, above), -1):
        # Page n holds the rest's items n·size-size … n·size counted from the oldest end.
        oldest_end = count - (number - 1) * page_size
        pages.append((number, range(max(len(front), oldest_end - page_size), oldest_end)))
    return pages


def numbered_pages(count: int, front_size: int, page_size: int) -> int:
    """How many numbered pages :func:`paginate` makes of ``count`` items (the front page
    aside)."""
    return -(-max(0, count - front_size) // page_size)


def paper_page(item: Item | Listed) -> str:
    return f"papers/{item.anchor}.html"


def is_paper(item: Item) -> bool:
    return bool(item.doi or item.arxiv_id)


def image_of(item: Item) -> str | None:
    """The item's picture, when it has one that may be shown: an http(s) URL only."""
    url = item.image_url
    return url if url and is_web_url(url) else None


@dataclass(frozen=True)
class ListingSpec:
    """One paginated listing (home, a day, a topic, a source, the papers): everything its pages
    are made from but the items themselves. Its front page's path names it."""

    front: str
    numbered_prefix: str  # numbered page N is f"{numbered_prefix}{N}.html"
    template: str
    front_size: int
    context: Mapping[str, Any]
    feeds: tuple[FeedLink, ...]
    description: str = ""
    front_extra: Mapping[str, Any] = field(default_factory=dict)

    def numbered(self, number: int) -> str:
        return f"{self.numbered_prefix}{number}.html"


def listing_specs(
    days: Sequence[tuple[str, int]],
    topics: Sequence[TopicRef],
    topic_counts: Mapping[str, int],
    sources: Sequence[SourceStatus],
    source_counts: Mapping[str, int],
    *,
    title: str,
    home_items: int,
    page_size: int,
) -> list[ListingSpec]:
    """Every listing of the site, in the order of its pages: home, the days (``days``: ISO
    names with item counts, newest first), the topics, the sources, the papers."""
    overall = feed_links(title)
    dates = [date.fromisoformat(name) for name, _ in days]
    specs = [
        ListingSpec(
            "index.html", "page/", "index.html", home_items, {"heading": "Latest"}, overall,
            f"The newest links and papers collected by {title}.",
            front_extra={"days": dates[:14]},
        )
    ]  # fmt: skip
    for position, ((name, count), day) in enumerate(zip(days, dates, strict=True)):
        stem = f"days/{name}"
        context = {
            "day": day,
            "newer_day": dates[position - 1] if position > 0 else None,
            "older_day": dates[position + 1] if position + 1 < len(dates) else None,
        }
        specs.append(ListingSpec(
            f"{stem}.html", f"{stem}.", "day.html", page_size, context, overall,
            f"Everything {title} collected on {name}.", front_extra={"count": count},
        ))  # fmt: skip
    for topic in topics:
        stem = f"topics/{topic.id}"
        specs.append(ListingSpec(
            f"{stem}.html", f"{stem}.", "topic.html", page_size, {"topic": topic},
            feed_links(f"{title}: {topic.name}", f"{stem}."),
            f"{topic.name}: links and papers collected by {title}.",
            front_extra={"count": topic_counts.get(topic.id, 0)},
        ))  # fmt: skip
    for status in sources:
        stem = f"sources/{status.slug}"
        specs.append(ListingSpec(
            f"{stem}.html", f"{stem}.", "source.html", page_size,
            {"source": _stable_source(status)}, overall,
            f"What {status.name} shared, as collected by {title}.",
            front_extra={"count": source_counts.get(status.slug, 0), **_source_health(status)},
        ))  # fmt: skip
    specs.append(ListingSpec(
        "papers.html", "papers/", "papers.html", page_size, {"heading": "Papers"}, overall,
        f"Research papers shared in the sources {title} follows, with citations.",
    ))  # fmt: skip
    return specs


def pager(spec: ListingSpec, number: int | None, highest: int | None) -> Pager:
    """The links of page ``number`` (None: the front page) of a listing whose newest numbered
    page is ``highest`` (None: it has none)."""
    numbered = spec.numbered
    if number is None:
        newer, older = None, (numbered(highest) if highest else None)
    else:
        newer = numbered(number + 1) if highest and number < highest else spec.front
        older = numbered(number - 1) if number > 1 else None
    return Pager(number, newer, older, spec.front, numbered(1) if highest else None)


def listing_pages(spec: ListingSpec, members: Sequence[int], page_size: int) -> list[Page]:
    """The pages of one listing of ``members`` (newest first): the front page shows the newest,
    the numbered ones are counted from the oldest (:func:`paginate`)."""
    split = paginate(len(members), spec.front_size, page_size)
    highest = split[1][0] if len(split) > 1 else None
    return [listing_page(spec, number, highest, members[span.start : span.stop])
            for number, span in split]  # fmt: skip


def listing_page(
    spec: ListingSpec, number: int | None, highest: int | None, shown: Sequence[int]
) -> Page:
    """Page ``number`` (None: the front page) of a listing whose newest numbered page is
    ``highest``, showing ``shown``. ``front_extra`` goes on the front page only: what changes
    with every new item (a count, an error) must not rewrite every numbered page."""
    path = spec.front if number is None else spec.numbered(number)
    extra = spec.front_extra if number is None else {}
    return Page(
        path, spec.template, {**spec.context, **extra, "pager": pager(spec, number, highest)},
        tuple(shown), spec.feeds, spec.description, open=number is None or number == highest,
        listing=spec.front,
    )  # fmt: skip


def paper_page_of(entry: Listed, index: int, day_page: str, title: str) -> Page:
    """The page of one paper (``index``: where its item is in the build)."""
    return Page(paper_page(entry), "paper.html", {"day_page": day_page}, (index,),
                feed_links(title), entry.blurb)  # fmt: skip


def archive_page(days: Sequence[tuple[date, int]], title: str) -> Page:
    return Page(
        "days/index.html", "archive.html", {"heading": "Archive", "days": list(days)},
        feeds=feed_links(title), description=f"Every day {title} collected links on.",
    )  # fmt: skip


def sources_page(sources: Sequence[SourceStatus], counts: Mapping[str, int], title: str) -> Page:
    return Page(
        "sources/index.html", "sources.html",
        {"sources": tuple(sources), "counts": dict(sorted(counts.items())),
         "states": {status.slug: state(status) for status in sources}},
        feeds=feed_links(title),
        description=f"The sources {title} follows, and how they are doing.",
    )  # fmt: skip


def plan_site(
    items: Sequence[Listed],
    topics: Sequence[TopicRef],
    sources: Sequence[SourceStatus],
    *,
    title: str,
    home_items: int,
    page_size: int,
) -> Plan:
    """Every page of the site for ``items`` (newest first)."""
    plan = Plan()
    by_day: dict[str, list[int]] = defaultdict(list)  # by ISO day
    by_topic: dict[str, list[int]] = defaultdict(list)
    by_source: dict[str, list[int]] = defaultdict(list)
    papers: list[int] = []
    local_days = plan.local_days
    for index, item in enumerate(items):
        local_days.append(item.day)
        by_day[item.day].append(index)
        for topic_id in item.topics:
            by_topic[topic_id].append(index)
        for slug in item.sources:
            by_source[slug].append(index)
        if item.paper:
            papers.append(index)
    day_names = sorted(by_day, reverse=True)
    plan.by_topic = {topic.id: by_topic[topic.id] for topic in topics}
    plan.days = [(date.fromisoformat(name), len(by_day[name])) for name in day_names]
    specs = listing_specs(
        [(name, len(by_day[name])) for name in day_names], topics,
        {topic_id: len(found) for topic_id, found in by_topic.items()}, sources,
        {slug: len(found) for slug, found in by_source.items()},
        title=title, home_items=home_items, page_size=page_size,
    )  # fmt: skip
    members: dict[str, Sequence[int]] = {"index.html": range(len(items)), "papers.html": papers}
    members.update((f"days/{name}.html", by_day[name]) for name in day_names)
    members.update((f"topics/{topic.id}.html", by_topic[topic.id]) for topic in topics)
    members.update((f"sources/{status.slug}.html", by_source[status.slug]) for status in sources)
    for spec in specs:
        pages = listing_pages(spec, members[spec.front], page_size)
        if spec.template == "day.html":
            for page in pages:
                for index in page.items:
                    plan.day_pages[index] = page.path
        plan.pages += pages
        plan.listings.append((spec, members[spec.front]))
    plan.pages.extend(
        paper_page_of(items[index], index, plan.day_pages[index], title) for index in papers
    )
    plan.pages.append(archive_page(plan.days, title))
    plan.pages.append(sources_page(sources, {s: len(f) for s, f in by_source.items()}, title))
    return plan


def _stable_source(status: SourceStatus) -> Mapping[str, Any]:
    """What a source's own pages show of it: not the time of its last fetch, which changes on
    every run and would rewrite all its pages (the Sources page shows that)."""
    return {
        "name": status.name,
        "slug": status.slug,
        "kind": status.kind,
        "url": status.url,
        "active": status.active,
        "title": status.title,
    }


def _source_health(status: SourceStatus) -> Mapping[str, Any]:
    """A failing (or paused) source's last error, for its front page only: failing as
    ``feedbot status`` says it (:func:`feedbot.status.state`)."""
    failing = bool(status.last_error) and state(status) in ("FAILING", "PAUSED")
    return {
        "last_error": status.last_error if failing else None,
        "last_error_at": status.last_error_at if failing else None,
    }


@dataclass(frozen=True)
class Sharer:
    """One source that shared an item, with who posted it there and who boosted it."""

    name: str
    slug: str
    people: tuple[str, ...]  # "Alice", "Alice, boosted by Bob", "boosted by Bob"
    post_url: str | None  # the post's own page, when there is one and it is not the item


def sharers(item: Item) -> tuple[Sharer, ...]:
    """The item's sources in order, each with the authors and boosters of its posts."""
    people: dict[str, list[str]] = {source.slug: [] for source in item.sources}
    posts: dict[str, str | None] = {}
    for mention in item.mentions:
        slug = mention.source.slug
        if mention.author and mention.reposted_by:
            who = f"{mention.author}, boosted by {mention.reposted_by}"
        elif mention.reposted_by:
            who = f"boosted by {mention.reposted_by}"
        else:
            who = mention.author or ""
        if who and who not in people.setdefault(slug, []):
            people[slug].append(who)
        if slug not in posts and is_web_url(mention.url) and mention.url != item.url:
            posts[slug] = mention.url
    return tuple(
        Sharer(source.name, source.slug, tuple(people.get(source.slug, ())), posts.get(source.slug))
        for source in item.sources
    )
