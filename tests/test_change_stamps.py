"""Change stamps (``links.changed_at``) and the queries of incremental site builds (issue 7).

Every write that changes what ``Store.items()`` shows of a link stamps it with the store's wall
clock, and nothing else is stamped; ``items(ids)`` gives exactly the items the full list has for
those ids, versions and topics included. Each write path is driven through the real store on
SQLite and PostgreSQL; the wall clock is a hand-moved one, so no test sleeps."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from feedbot.app import App, open_app
from feedbot.config import Settings
from feedbot.links import PartialLink
from feedbot.links.citation import Author, Citation
from feedbot.links.expand import Resolution
from feedbot.links.metadata import PageMetadata
from feedbot.records import Item
from feedbot.sources import FetchedEntry, FetchOutcome
from feedbot.store import Store, links_t
from feedbot.tagging.taxonomy import TopicSettings

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POSTED = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
SOURCES = [
    {"name": "Alpha", "url": "https://alpha.example.org/feed"},
    {"name": "Beta", "url": "https://beta.example.org/feed"},
]
TOPICS = [TopicSettings(id="education", name="Education"), TopicSettings(id="ai", name="AI")]

PREPRINT = Citation(
    "Tasks and vocabulary",
    arxiv_id="2401.00001",
    authors=(Author("Ito", "A."),),
    year=2024,
    related_dois=("10.1234/pub",),  # names its published version; that one names nothing
)
PUBLISHED = Citation(
    "Tasks and vocabulary", doi="10.1234/pub", authors=(Author("Ito", "A."),), year=2025
)


class WallClock:
    """The store's wall clock, moved by hand: ``tick()`` returns a mark later than every stamp
    made before it."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class World:
    app: App
    store: Store
    wall: WallClock
    sources: dict[str, int]

    def post(self, source: str, *entries: FetchedEntry) -> None:
        outcome = FetchOutcome("ok", entries=entries)
        self.store.save_outcome(self.sources[source], outcome, NOW, NOW)

    def link_id(self, url: str) -> int:
        with self.store.engine.connect() as conn:
            found = conn.execute(select(links_t.c.id).where(links_t.c.url == url)).scalar()
        assert found is not None, url
        return int(found)

    def stamped(self, mark: datetime) -> set[str]:
        """The URLs of the links stamped at or after ``mark``."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(links_t.c.url, links_t.c.changed_at))
            return {row.url for row in rows if row.changed_at and row.changed_at >= mark}

    def stamps_of(self, write: Callable[[], object]) -> set[str]:
        """What ``write`` stamps."""
        mark = self.wall.tick()
        write()
        return self.stamped(mark)


@pytest.fixture
def world(any_database_url: str, make_settings: Callable[..., Settings]) -> World:
    settings = make_settings(SOURCES, database_url=any_database_url, topics=[
        t.model_dump() for t in TOPICS])  # fmt: skip
    app = open_app(settings, clock=lambda: NOW)
    wall = WallClock()
    app.store.wall_clock = wall
    sources = {s.name: s.id for s in app.store.active_sources()}
    return World(app, app.store, wall, sources)


def entry(
    guid: str, *links: str, title: str = "A post", url: str | None = None, **more: object
) -> FetchedEntry:
    return FetchedEntry(
        guid=guid,
        url=url if url is not None else f"https://alpha.example.org/posts/{guid}",
        title=title,
        links=links,
        published_at=POSTED,
        **more,  # type: ignore[arg-type]
    )


def assert_items_match(store: Store, ids: Collection[int]) -> list[Item]:
    """``items(ids)`` is exactly the full list's items of those ids, in the same order."""
    wanted = set(ids)
    expected = [item for item in store.items() if item.id in wanted]
    assert store.items(ids) == expected
    return expected


# -- ingest --------------------------------------------------------------------------------


def test_a_new_post_stamps_the_links_it_shares_and_nothing_else(world: World) -> None:
    world.post("Alpha", entry("a1", "https://news.example.org/one"))
    assert world.stamps_of(
        lambda: world.post("Beta", entry("b1", "https://news.example.org/two"))
    ) == {"https://news.example.org/two"}
    # Another source sharing a known article: that item now has two sharers.
    assert world.stamps_of(
        lambda: world.post("Beta", entry("b2", "https://news.example.org/one?utm_source=x"))
    ) == {"https://news.example.org/one"}
    # Fetching the same posts again changes nothing.
    assert (
        world.stamps_of(
            lambda: world.post("Beta", entry("b2", "https://news.example.org/one?utm_source=x"))
        )
        == set()
    )


def test_an_edited_post_stamps_what_it_shares_and_what_it_stopped_sharing(
    world: World,
) -> None:
    one, two, three = (f"https://news.example.org/{n}" for n in ("one", "two", "three"))
    other = "https://news.example.org/other"
    world.post("Alpha", entry("a1", one, two), entry("a2", other))
    before = {world.link_id(url) for url in (one, two, other)}
    assert world.stamps_of(
        lambda: world.post("Alpha", entry("a1", one, three, title="Edited"))
    ) == {
        one,
        two,
        three,
    }
    # ``two`` lost its only mention: no item any more; the others are.
    assert world.store.item_link_ids() == (before - {world.link_id(two)}) | {world.link_id(three)}
    # A new title (or summary, author…) alone: the items showing the post.
    assert world.stamps_of(
        lambda: world.post("Alpha", entry("a1", one, three, title="Edited again"))
    ) == {one, three}
    [item] = world.store.items([world.link_id(one)])
    assert item.mentions[0].title == "Edited again"


def test_a_post_that_is_a_paper_stamps_the_versions_its_citation_names(world: World) -> None:
    published = "https://doi.org/10.1234/pub"
    preprint = "https://arxiv.org/abs/2401.00001"
    world.post("Alpha", entry("p1", published, citation=PUBLISHED))
    world.post("Alpha", entry("x1", "https://news.example.org/unrelated"))
    # The preprint names the published paper: both items change.
    assert world.stamps_of(
        lambda: world.post("Beta", entry("p2", preprint, citation=PREPRINT))
    ) == {preprint, published}
    [published_item] = world.store.items([world.link_id(published)])
    assert published_item.versions == (preprint,)


# -- links, papers, recoveries -------------------------------------------------------------


def resolution(url: str, canonical: str, title: str | None = None) -> Resolution:
    return Resolution(
        url=url,
        outcome="ok",
        chain=(),
        final_url=canonical,
        canonical_url=canonical,
        http_status=200,
        content_type="text/html",
        metadata=PageMetadata(title=title) if title else None,
    )


def resolve(store: Store, results: dict[str, Resolution]) -> None:
    due = dict((url, rid) for rid, url in store.resolutions_due(NOW, 3))
    store.save_resolutions([(due[url], r) for url, r in results.items()], NOW, 1.0, 3)


def test_resolving_stamps_the_article_and_a_link_left_with_fewer_sharers(world: World) -> None:
    short = "https://short.example/abc"
    article = "https://news.example.org/story"
    bystander = "https://news.example.org/bystander"
    # Alpha shares the short link; Beta cut it short ("short.example/ab…"), which completes to
    # the same link without a resolution: after the merge that mention stays on it.
    partial = PartialLink("short.example/ab…", "short.example", "https://short.example/ab")
    world.post("Alpha", entry("a1", short), entry("a2", bystander))
    # A post linking nowhere else shares itself, until its cut link is completed.
    beta_post = "https://beta.example.org/posts/b1"
    world.post("Beta", entry("b1", beta_post, url=beta_post, partial_links=(partial,)))
    assert world.stamps_of(world.store.complete_partial_links) == {
        short,
        beta_post,  # no item any more
    }
    assert world.link_id(beta_post) not in world.store.item_link_ids()
    assert world.stamps_of(
        lambda: resolve(world.store, {short: resolution(short, article, "The story")})
    ) == {article, short}
    [story] = world.store.items([world.link_id(article)])
    assert story.title == "The story"
    # A failed retry of another URL finds nothing: nothing an item shows changes.
    failed = replace(resolution(bystander, bystander), outcome="dead", metadata=None)
    assert world.stamps_of(lambda: resolve(world.store, {bystander: failed})) == set()


def test_identifying_a_paper_stamps_the_item_it_becomes(world: World) -> None:
    article = "https://journals.example.org/article/1"
    plain = "https://news.example.org/plain"
    world.post("Alpha", entry("a1", article), entry("a2", plain))
    found = {world.link_id(article): ("10.1234/abc", None), world.link_id(plain): (None, None)}
    assert world.stamps_of(lambda: world.store.set_identifiers(found, NOW)) == {
        "https://doi.org/10.1234/abc"
    }
    paper = world.link_id("https://doi.org/10.1234/abc")
    [item] = world.store.items([paper])
    assert item.doi == "10.1234/abc"
    # The lookup: a failure shows nothing new; a citation stamps the paper and what it names.
    world.post("Beta", entry("b1", "https://doi.org/10.1234/pub", citation=PUBLISHED))
    assert (
        world.stamps_of(lambda: world.store.save_papers([(paper, "error", None, "HTTP 503")], NOW))
        == set()
    )
    names_published = replace(PUBLISHED, doi="10.1234/abc", related_dois=("10.1234/pub",))
    assert world.stamps_of(
        lambda: world.store.save_papers([(paper, "ok", names_published, None)], NOW)
    ) == {"https://doi.org/10.1234/abc", "https://doi.org/10.1234/pub"}
    # A new citation that names nothing: the one its old citation named loses it too.
    plain_citation = replace(names_published, related_dois=())
    assert world.stamps_of(
        lambda: world.store.save_papers([(paper, "ok", plain_citation, None)], NOW)
    ) == {"https://doi.org/10.1234/abc", "https://doi.org/10.1234/pub"}
    assert world.store.items([world.link_id("https://doi.org/10.1234/pub")])[0].versions == ()


def test_a_recovered_reference_stamps_the_paper_and_the_self_share_it_replaces(
    world: World,
) -> None:
    post = "https://alpha.example.org/posts/a1"
    text = "Ito, A. (2025). Tasks and vocabulary. Journal of Tasks, 1, 1-20."
    world.post("Alpha", entry("a1", post, url=post, references=(text,)))
    [(ref_id, _)] = world.store.references_due(NOW, 3, 1.0)
    assert world.stamps_of(
        lambda: world.store.save_recoveries([(ref_id, "ok", PUBLISHED, "matched")], NOW)
    ) == {"https://doi.org/10.1234/pub", post}
    assert world.link_id(post) not in world.store.item_link_ids()


def test_tags_stamp_only_the_links_whose_topics_changed(world: World) -> None:
    one, two = "https://news.example.org/one", "https://news.example.org/two"
    world.post("Alpha", entry("a1", one), entry("a2", two))
    ids = {url: world.link_id(url) for url in (one, two)}
    world.store.save_tags({ids[one]: [("education", 1.0, "k")], ids[two]: [("ai", 1.0, "k")]})
    assert world.stamps_of(
        lambda: world.store.save_tags(
            {ids[one]: [("ai", 1.0, "k")], ids[two]: [("ai", 1.0, "k")]}, "v2"
        )
    ) == {one}


def test_renaming_a_topic_stamps_its_items(world: World) -> None:
    one, two = "https://news.example.org/one", "https://news.example.org/two"
    world.post("Alpha", entry("a1", one), entry("a2", two))
    world.store.save_tags({world.link_id(one): [("ai", 1.0, "k")]})
    described = [TOPICS[0], TOPICS[1].model_copy(update={"description": "Machines"})]
    assert world.stamps_of(lambda: world.store.sync_topics(described)) == set()
    renamed = [TOPICS[0], TOPICS[1].model_copy(update={"name": "Artificial intelligence"})]
    assert world.stamps_of(lambda: world.store.sync_topics(renamed)) == {one}
    [item] = world.store.items([world.link_id(one)])
    assert [t.name for t in item.topics] == ["Artificial intelligence"]


def test_changing_sources_in_the_config_changes_no_item(
    world: World, make_settings: Callable[..., Settings]
) -> None:
    world.post("Alpha", entry("a1", "https://news.example.org/one"))
    before = world.store.items()
    # A source is known by its name: a new URL keeps its items; a new name is another source
    # (the old one is deactivated, its items stay as they were).
    moved = [{**SOURCES[0], "url": "https://alpha.example.org/rss"}, SOURCES[1]]
    renamed = [{**SOURCES[0], "name": "Alpha Two"}, SOURCES[1]]
    for sources in (moved, renamed):
        configured = make_settings(sources).sources
        assert world.stamps_of(lambda: world.store.sync_sources(configured, NOW)) == set()  # noqa: B023
    assert world.store.items() == before


# -- the build's queries -------------------------------------------------------------------


def test_items_of_some_ids_are_exactly_those_of_the_full_list(world: World) -> None:
    published = "https://doi.org/10.1234/pub"
    preprint = "https://arxiv.org/abs/2401.00001"
    world.post("Alpha", entry("p1", published, citation=PUBLISHED), entry("a1", "https://news.example.org/one"))  # fmt: skip
    world.post("Beta", entry("p2", preprint, citation=PREPRINT),
               entry("b1", "https://news.example.org/one"),
               entry("b2", "https://news.example.org/two", title="Two"))  # fmt: skip
    ids = {url: world.link_id(url) for url in
           (published, preprint, "https://news.example.org/one", "https://news.example.org/two")}  # fmt: skip
    world.store.save_tags({ids[preprint]: [("ai", 0.9, "model"), ("education", 1.0, "k")]})
    no_item = world.store.remember_urls(["https://news.example.org/unshared"], NOW)
    assert no_item  # a link with a resolution and no mention: not an item
    unshared = world.link_id("https://news.example.org/unshared")
    everything = world.store.items()
    assert world.store.item_link_ids() == {item.id for item in everything} == set(ids.values())
    # Only the preprint names the other: each lists the other all the same, whichever of them
    # is asked for alone.
    [alone] = assert_items_match(world.store, [ids[published]])
    assert alone.versions == (preprint,)
    [alone] = assert_items_match(world.store, [ids[preprint]])
    assert alone.versions == (published,)
    for subset in (
        set(ids.values()),
        {ids[preprint], ids["https://news.example.org/one"]},
        {ids[published], ids["https://news.example.org/two"], unshared, 999_999},
        set(),
    ):
        assert_items_match(world.store, subset)
    # The app's items sort topics in taxonomy order, the same with ids or without.
    some = {ids[preprint], ids["https://news.example.org/two"]}
    assert world.app.items(some) == [i for i in world.app.items() if i.id in some]
    assert [t.id for t in world.app.items([ids[preprint]])[0].topics] == ["education", "ai"]


def test_changed_link_ids_are_those_stamped_since_and_the_versions_they_name(
    world: World,
) -> None:
    published = "https://doi.org/10.1234/pub"
    preprint = "https://arxiv.org/abs/2401.00001"
    other = "https://news.example.org/one"
    world.post("Alpha", entry("p1", published, citation=PUBLISHED), entry("a1", other))
    world.post("Beta", entry("p2", preprint, citation=PREPRINT))
    mark = world.wall.tick()
    assert world.store.changed_link_ids(mark) == set()
    assert world.store.wall_clock() == mark
    # Only the preprint is stamped (its topics); the published paper it names is listed too:
    # where the preprint sits among its versions depends on the preprint's item.
    world.store.save_tags({world.link_id(preprint): [("ai", 1.0, "k")]})
    assert world.stamped(mark) == {preprint}
    assert world.store.changed_link_ids(mark) == {
        world.link_id(preprint),
        world.link_id(published),
    }
    later = world.wall.tick()
    world.store.save_tags({world.link_id(other): [("ai", 1.0, "k")]})
    assert world.store.changed_link_ids(later) == {world.link_id(other)}
    assert world.store.changed_link_ids(mark) == {
        world.link_id(u) for u in (preprint, published, other)
    }


def test_the_default_wall_clock_is_the_real_time(world: World) -> None:
    store = Store(world.store.engine)
    before = datetime.now(UTC)
    assert before <= store.wall_clock() <= datetime.now(UTC)
