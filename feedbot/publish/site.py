"""The static site and its feeds, built incrementally.

    plan (pages.py: which pages, which items on each; pure)
      → fingerprint every output (fingerprint.py: items, context, templates, settings)
      → render only outputs whose fingerprint changed (cards rendered once per item)
      → stage, then commit (output.py: atomic renames, manifest, deletions)

What the build writes:

* HTML: the home page, a page per day, per topic and per source, the papers and a page per
  paper, each listing paginated (:mod:`feedbot.publish.pages`); the archive, the sources page
  and ``404.html``;
* feeds: RSS 2.0, Atom 1.0 and JSON Feed 1.1 for the whole site and for each topic;
* ``search/``: the offline search index (:mod:`feedbot.publish.search`);
* ``sitemap.xml``, ``robots.txt`` and a copy of ``static/``.

Nothing in a page depends on the time of the build, so a build with nothing new writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape as xml_escape

from jinja2 import Environment, Template, TemplateError
from markupsafe import Markup

import feedbot
from feedbot.config import Settings
from feedbot.errors import PublishError
from feedbot.publish import feeds, fingerprint, search
from feedbot.publish.catalog import Catalog, ItemsOf
from feedbot.publish.output import OutputTree, WriteStats
from feedbot.publish.pages import (
    Page,
    Plan,
    feed_links,
    image_of,
    is_paper,
    paper_page,
    plan_site,
    sharers,
)
from feedbot.records import Item, SourceStatus, TopicRef
from feedbot.resources import resource_dir
from feedbot.sanitize import clean_html

BUILD_FORMAT = 2  # bump when what a build writes changes in a way fingerprints cannot see
SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org)
_CODE = Path(__file__).resolve().parent.parent  # the feedbot package


@dataclass(frozen=True)
class BuildReport:
    out_dir: Path
    pages: int
    feeds: int
    items: int
    written: int = 0  # files written by this build
    unchanged: int = 0
    deleted: int = 0
    bytes_written: int = 0


@dataclass(frozen=True)
class Output:
    """One file of the build: its path, its fingerprint, and how to make its bytes; what of
    the catalog ``make`` uses (fetched in batches for all the files a build renders)."""

    path: str
    fingerprint: str
    make: Callable[[], bytes]
    items: Sequence[int] = ()  # full records
    cards: Sequence[int] = ()  # cards, for the folder depth ``root``
    root: str = ""
    search: Sequence[int] = ()  # search-index fields


def day_of(item: Item, settings: Settings) -> date:
    return item.date.astimezone(settings.zone).date()


def build_site(
    items: Sequence[Item],
    topics: Sequence[TopicRef],
    sources: Sequence[SourceStatus],
    settings: Settings,
    env: Environment,
    now: datetime,
    *,
    full: bool = False,
) -> BuildReport:
    """Build the site and feeds of ``items`` (all in memory, newest first) into
    ``settings.output_path``, rewriting only what changed (everything with ``full``). ``now``
    is not written into any page."""
    del now  # kept in the signature: callers pass their clock; pages must not show it
    catalog = Catalog.of_items(items, settings.zone)
    return build_catalog(catalog, topics, sources, settings, env, full=full)[0]


def build_catalog(
    catalog: Catalog,
    topics: Sequence[TopicRef],
    sources: Sequence[SourceStatus],
    settings: Settings,
    env: Environment,
    *,
    full: bool = False,
    tree: OutputTree | None = None,
) -> tuple[BuildReport, Plan]:
    """Build the site of ``catalog`` (see :func:`build_site`). Only the files whose fingerprint
    changed are rendered, and only their items are fetched from the catalog. ``tree``: the
    output folder, opened already (with :func:`setup_fingerprint`) by the caller. Returns what
    the build did and the plan it followed."""
    if tree is None:
        setup = setup_fingerprint(env, settings, resource_dir("static"), topics)
        with OutputTree(settings.output_path, setup, full=full) as opened:
            return build_catalog(catalog, topics, sources, settings, env, tree=opened)
    plan = plan_site(
        catalog.listed, topics, sources, title=settings.title,
        home_items=settings.home_items, page_size=settings.page_size,
    )  # fmt: skip
    digests = catalog.digests
    catalog.hot_cards = hot_cards(plan)
    renderer = Renderer(env, catalog, topics, settings)
    feed_files = list(feed_outputs(catalog, topics, plan, settings, digests))
    urls = [page_url(settings.base_url, page.path) for page in plan.pages if page.in_sitemap]
    outputs = [
        *page_outputs(plan, digests, renderer),
        *feed_files,
        *search_outputs(catalog, plan, digests),
        *extra_outputs(urls, settings, renderer, resource_dir("static")),
    ]
    stats = write_outputs(catalog, outputs, tree)
    html_pages = len(plan.pages) + 1  # and 404.html
    return BuildReport(
        settings.output_path, html_pages, len(feed_files), len(catalog),
        stats.written, stats.unchanged, stats.deleted, stats.bytes_written,
    ), plan  # fmt: skip


def write_outputs(catalog: Catalog, outputs: Iterable[Output], tree: OutputTree) -> WriteStats:
    """Render the outputs whose fingerprint changed into ``tree`` and commit it."""
    stale = [o for o in outputs if not tree.up_to_date(o.path, o.fingerprint)]
    _fetch_for(catalog, stale)
    # Newest items first across all listings, each card let go once the last page showing it
    # is made: a full build then holds the cards of a few weeks of items, not of all of them.
    catalog.count_card_uses((o.cards, o.root) for o in stale if o.cards)
    for output in sorted(stale, key=lambda o: min(o.cards, default=-1)):
        tree.put(output.path, output.fingerprint, output.make())
        catalog.release_cards(output.cards, output.root)
    return tree.commit()


def _fetch_for(catalog: Catalog, outputs: Sequence[Output]) -> None:
    """Get from the catalog, in a few batches, everything these outputs are made from."""
    if catalog.in_memory:
        return  # everything is there
    to_render = catalog.fetch_cards({(i, o.root) for o in outputs for i in o.cards})
    catalog.fetch({i for o in outputs for i in o.items}.union(to_render))
    catalog.fetch_search({i for o in outputs for i in o.search})


HOT_DAYS = 3  # the newest days whose pages new items usually land on


def hot_cards(plan: Plan) -> set[tuple[int, str]]:
    """The cards worth keeping for the next build: those on the pages new items land on (each
    listing's front page and newest numbered page; of the day listings, the newest few)."""
    recent = {f"days/{day.isoformat()}" for day, _ in plan.days[:HOT_DAYS]}
    hot: set[tuple[int, str]] = set()
    for page in plan.pages:
        if page.open and (page.template != "day.html" or page.path.split(".")[0] in recent):
            root = page.root
            hot.update((i, root) for i in page.items)
    return hot


def setup_fingerprint(
    env: Environment, settings: Settings, static_dir: Path, topics: Sequence[TopicRef]
) -> str:
    """What every output depends on besides its own inputs: feedbot's publishing code, the
    templates (the user's and ours), the static files and the settings that shape pages. When
    it changes, every page is rendered again (and rewritten only if its bytes differ)."""
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(f"{BUILD_FORMAT}:{feedbot.__version__}".encode())
    for module in sorted(
        [*(_CODE / "publish").glob("*.py"), _CODE / "records.py", _CODE / "sanitize.py",
         _CODE / "links" / "citation.py"]
    ):  # fmt: skip
        hasher.update(module.name.encode() + b"\0" + module.read_bytes())
    loader = env.loader
    assert loader is not None
    for name in sorted(env.list_templates()):
        source, _, _ = loader.get_source(env, name)
        hasher.update(f"\0{name}\0{source}".encode("utf-8", "surrogatepass"))
    for path in sorted(static_dir.rglob("*")):
        if path.is_file():
            hasher.update(f"\0{path.relative_to(static_dir)}\0".encode() + path.read_bytes())
    shaping = settings.model_dump(
        include={"title", "base_url", "timezone", "home_items", "page_size", "feed_items"}
    )
    hasher.update(repr(sorted(shaping.items())).encode())
    # The taxonomy's names and order are in every item's topics: a new order is a new setup.
    hasher.update(repr([(topic.id, topic.name) for topic in topics]).encode())
    return hasher.hexdigest()


# -- rendering ---------------------------------------------------------------------------------


class Renderer:
    """Renders pages; each item's card once per folder depth, however many pages list it."""

    def __init__(
        self, env: Environment, catalog: Catalog, topics: Sequence[TopicRef],
        settings: Settings,
    ) -> None:  # fmt: skip
        self.env = env
        self.catalog = catalog
        self.settings = settings
        self.common = {
            "title": settings.title,
            "topics": tuple(topics),
            "base_url": settings.base_url,
        }
        self.zone = settings.zone
        self._card_template: Template | None = None

    def template(self, name: str) -> Template:
        try:
            return self.env.get_template(name)
        except TemplateError as e:
            raise PublishError(f"cannot load template {name}: {e}") from e

    def card(self, index: int, root: str) -> str:
        """The item's card (HTML) for pages at ``root``."""
        cached = self.catalog.card(index, root)
        if cached is None:
            if self._card_template is None:
                self._card_template = self.template("_card.html")
            item = self.catalog.item(index)
            try:
                html = self._card_template.render(card_context(item, root, self.zone))
            except TemplateError as e:
                raise PublishError(f"cannot render the card of {item.url}: {e}") from e
            cached = html
            self.catalog.keep_card(index, root, cached)
        return cached

    def page(self, page: Page, root: str | None = None) -> bytes:
        root = page.root if root is None else root
        shown = ItemsOf(self.catalog, page.items)
        cards = [self.card(i, root) for i in page.items]
        context = {
            **self.common,
            **page.context,
            "root": root,
            "path": page.path,
            "page_url": page_url(self.settings.base_url, page.path),
            "description": page.description,
            "feeds": page.feeds,
            "items": shown,
            "cards": _Marked(cards),
            "cards_html": Markup("\n".join(cards)),
        }
        if page.template == "paper.html" and shown:
            context.update(card_context(shown[0], root, self.zone))
        try:
            html = self.env.get_template(page.template).render(context)
        except TemplateError as e:
            raise PublishError(f"cannot render {page.path} with {page.template}: {e}") from e
        return html.encode("utf-8")


class _Marked(Sequence[Markup]):
    """A page's cards as a template sees them, each marked safe when used: most templates use
    ``cards_html`` only, so a card is not copied into a Markup it never needs."""

    def __init__(self, cards: Sequence[str]) -> None:
        self._cards = cards

    def __len__(self) -> int:
        return len(self._cards)

    def __getitem__(self, position):  # type: ignore[no-untyped-def,override]
        if isinstance(position, slice):
            return [Markup(card) for card in self._cards[position]]
        return Markup(self._cards[position])


def card_context(item: Item, root: str, zone: tzinfo | None = None) -> dict[str, Any]:
    """What ``_card.html`` (and ``paper.html``) get besides the item itself. The item's
    computed properties come worked out once (the card is the hot path of a build)."""
    href = item.href
    citation = item.citation_text
    return {
        "item": item,
        "root": root,
        "anchor": item.anchor,
        "href": href,
        "date_iso": item.date.isoformat(),
        "day": item.date.astimezone(zone).strftime("%Y-%m-%d"),
        "citation_text": citation,
        "version_links": item.version_links if item.versions else (),
        "shared_by": len(item.sources),
        "image": image_of(item),
        "sharers": sharers(item),
        # A post with no web address has nowhere else to be read: its whole text, sanitized.
        "text_html": Markup(clean_html(item.summary_html)) if href is None else None,
        "paper_page": paper_page(item) if is_paper(item) else None,
    }


def page_url(base_url: str, path: str) -> str:
    """The public URL of a page; folders' index pages by their folder."""
    if path == "index.html" or path.endswith("/index.html"):
        path = path[: -len("index.html")]
    return base_url + path


# -- the outputs -------------------------------------------------------------------------------


def page_outputs(plan: Plan, digests: Sequence[bytes], renderer: Renderer) -> Iterator[Output]:
    """Every HTML page of the plan."""
    for page in plan.pages:
        yield page_output(page, [digests[i] for i in page.items], renderer)


def page_fingerprint(page: Page, item_digests: Iterable[bytes]) -> str:
    """What a page is made from: its items' digests, its path, template, context and feeds."""
    return fingerprint.combine(
        item_digests, page.path, page.template, page.description,
        fingerprint.record_key(page.context), fingerprint.record_key(page.feeds),
    )  # fmt: skip


def page_output(page: Page, item_digests: Iterable[bytes], renderer: Renderer) -> Output:
    return Output(
        page.path,
        page_fingerprint(page, item_digests),
        lambda page=page: renderer.page(page),  # type: ignore[misc]
        items=page.items if page.template == "paper.html" else (),
        cards=page.items,
        root=page.root,
    )


def feed_outputs(
    catalog: Catalog, topics: Sequence[TopicRef], plan: Plan, settings: Settings,
    digests: Sequence[bytes],
) -> Iterator[Output]:  # fmt: skip
    """The feeds: overall (feed.xml, atom.xml, feed.json) and per topic
    (topics/ID.xml, .atom, .json), each with the newest ``feed_items`` items."""
    limit = settings.feed_items
    chosen = list(range(min(limit, len(catalog))))
    yield from feed_set(catalog, None, chosen, [digests[i] for i in chosen], settings)
    for topic in topics:
        chosen = plan.by_topic[topic.id][:limit]
        yield from feed_set(catalog, topic, chosen, [digests[i] for i in chosen], settings)


def feed_set(
    catalog: Catalog, topic: TopicRef | None, chosen: Sequence[int], parts: Sequence[bytes],
    settings: Settings,
) -> Iterator[Output]:  # fmt: skip
    """The three feeds of the site (``topic`` None) or of a topic, of the items at ``chosen``
    in the catalog (``parts``: their digests)."""
    base = settings.base_url
    if topic is None:
        prefix, title, page = "", settings.title, ""
    else:
        prefix, title = f"topics/{topic.id}.", f"{settings.title}: {topic.name}"
        page = f"topics/{topic.id}.html"
    links = {link.type: link.path for link in feed_links(title, prefix)}
    rss_path, atom_path, json_path = links.values()
    description = f"{title}, curated by feedbot"
    home = base + page
    # Each item's entries are kept as cards (under the format's name for their root): the
    # feeds share most of their items, and an incremental build takes the entries of the
    # items it did not change from the record instead of loading and rendering them again.
    catalog.hot_cards.update((index, kind) for index in chosen for kind in FEED_ENTRIES)
    newest = (datetime.fromtimestamp(max(catalog.listed[i].sort_time for i in chosen), UTC)
              if chosen else None)  # fmt: skip
    bodies: dict[str, str] = {}

    def body(item: Item) -> str:  # each item's sanitized body once for the three formats
        made = bodies.get(item.url)
        if made is None:
            made = bodies[item.url] = feeds.item_html(item)
        return made

    def entries(kind: str) -> list[str]:
        render, made = FEED_ENTRIES[kind], []
        for index in chosen:
            entry = catalog.card(index, kind)
            if entry is None:
                entry = render(catalog.item(index), body)
                catalog.keep_card(index, kind, entry)
            made.append(entry)
        return made

    yield Output(
        rss_path, fingerprint.combine(parts, "rss", title, home, base + rss_path, description),
        lambda t=title, h=home, p=rss_path, d=description: feeds.rss_of(  # type: ignore[misc]
            entries("rss"), newest, title=t, link=h, self_url=base + p, description=d),
        cards=chosen, root="rss",
    )  # fmt: skip
    yield Output(
        atom_path, fingerprint.combine(parts, "atom", title, home, base + atom_path),
        lambda t=title, h=home, p=atom_path: feeds.atom_of(  # type: ignore[misc]
            entries("atom"), newest, title=t, link=h, self_url=base + p, feed_id=base + p),
        cards=chosen, root="atom",
    )  # fmt: skip
    yield Output(
        json_path,
        fingerprint.combine(parts, "json", title, home, base + json_path, description),
        lambda t=title, h=home, p=json_path, d=description: feeds.json_feed_of(  # type: ignore[misc]
            entries("json"), title=t, link=h, self_url=base + p, description=d),
        cards=chosen, root="json",
    )  # fmt: skip


# A feed entry of each format, kept among the cards with the format's name as their root (no
# folder's: those are "" and "../").
FEED_ENTRIES: dict[str, Callable[[Item, Callable[[Item], str]], str]] = {
    "rss": feeds.rss_entry, "atom": feeds.atom_entry, "json": feeds.json_entry,
}  # fmt: skip


def search_outputs(catalog: Catalog, plan: Plan, digests: Sequence[bytes]) -> Iterator[Output]:
    days = plan.local_days
    by_day = search.group_by_day(days, plan.day_pages)
    months: dict[str, list[str]] = {}
    for day in by_day:
        months.setdefault(day[:7], []).append(day)
    yield search_index_output(list(months))

    def part(day: str) -> str:
        indexes = by_day[day]
        return search_day_part(
            day, [catalog.search(i) for i in indexes], [plan.day_pages[i] for i in indexes]
        )

    for month, month_days in months.items():
        keys = [
            search_day_key(day, [digests[i] for i in by_day[day]],
                           tuple(plan.day_pages[i] for i in by_day[day]))
            for day in month_days
        ]  # fmt: skip
        yield Output(
            f"search/{month}.js",
            search_shard_fingerprint(month, keys),
            lambda month=month, month_days=month_days: search.shard_js(  # type: ignore[misc]
                month, [part(day) for day in month_days]
            ),
            search=[i for day in month_days for i in by_day[day]],
        )  # fmt: skip


def search_day_part(day: str, fields: Sequence[list[str]], pages: Sequence[str]) -> str:
    """One day's part of its month's search file (:func:`feedbot.publish.search.day_part`),
    of its items' search fields and day pages, in the order of the day's listing."""
    return search.day_part(
        [search.entry(found, page, day) for found, page in zip(fields, pages, strict=True)]
    )


def search_day_key(day: str, parts: Iterable[bytes], pages: tuple[str, ...]) -> str:
    """Of one day's part of the search index: its items' digests and day pages."""
    return fingerprint.combine(parts, "search-day", day, pages)


def search_index_output(months: Sequence[str]) -> Output:
    """``search/index.js``: the months of the search index, newest first."""
    return Output(
        "search/index.js",
        fingerprint.combine((), "search-index", tuple(months)),
        lambda: search.index_js(months),
    )


def search_shard_fingerprint(month: str, day_keys: Iterable[str]) -> str:
    """Of one month of the search index: its days' keys (:func:`search_day_key`), newest
    first."""
    return fingerprint.combine((bytes.fromhex(key) for key in day_keys), "search", month)


def extra_outputs(
    urls: Sequence[str], settings: Settings, renderer: Renderer, static_dir: Path
) -> Iterator[Output]:
    """The 404 page, sitemap.xml (of ``urls``), robots.txt and the static files."""
    base = settings.base_url
    # A 404 page is served at any depth: its links start from the site's root path.
    missing = Page("404.html", "404.html", {"heading": "Page not found"},
                   feeds=feed_links(settings.title), in_sitemap=False)  # fmt: skip
    root_path = urlsplit(base).path or "/"
    yield Output(
        "404.html",
        fingerprint.combine((), "404", root_path),
        lambda: renderer.page(missing, root=root_path),
    )
    yield from sitemap_outputs(urls, base)
    robots = f"User-agent: *\nAllow: /\n\nSitemap: {base}sitemap.xml\n".encode()
    yield Output("robots.txt", fingerprint.combine((), "robots", robots), lambda: robots)
    for file in sorted(static_dir.rglob("*")):
        if file.is_file():
            data = file.read_bytes()
            name = "static/" + file.relative_to(static_dir).as_posix()
            yield Output(name, fingerprint.combine((), "static", data),
                         lambda data=data: data)  # type: ignore[misc]  # fmt: skip


def sitemap_outputs(urls: Sequence[str], base: str) -> Iterator[Output]:
    """``sitemap.xml`` listing every page; past 50,000 URLs, an index of numbered sitemaps.
    Each is made only when its URLs changed (the XML of 15,000 URLs costs more than their
    digest)."""
    if len(urls) <= SITEMAP_LIMIT:
        yield _sitemap_output("sitemap.xml", urls)
        return
    names = []
    for number, start in enumerate(range(0, len(urls), SITEMAP_LIMIT), 1):
        names.append(f"sitemap-{number}.xml")
        yield _sitemap_output(names[-1], urls[start : start + SITEMAP_LIMIT])
    index = "".join(f"<sitemap><loc>{xml_escape(base + name)}</loc></sitemap>\n"
                    for name in names).encode()  # fmt: skip
    yield Output(
        "sitemap.xml", fingerprint.combine((), "sitemap-index", index),
        lambda: b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + index + b"</sitemapindex>\n",
    )  # fmt: skip


def _sitemap_output(path: str, urls: Sequence[str]) -> Output:
    listed = hashlib.blake2b("\n".join(urls).encode(), digest_size=16).digest()

    def urlset() -> bytes:
        body = "".join(f"<url><loc>{xml_escape(url)}</loc></url>\n" for url in urls)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            f"{body}</urlset>\n"
        ).encode()

    return Output(path, fingerprint.combine((), "sitemap", path, listed), urlset)
