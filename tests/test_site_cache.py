"""Site builds from the database (``feedbot build``): after the first, a build reads only the
items whose links changed since the previous one, and still writes exactly what a full build
of the same database writes.

Everything goes through the real store: feeds fetched from a local server, tags saved as the
tagging stage saves them; the reference is a full build of ``App.items()`` into another folder.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from feedbot.app import App
from feedbot.fixture_server import FixtureServer, Route
from feedbot.links.citation import Citation
from feedbot.models import SiteCard, SiteDay, SiteListingChunk, Source
from feedbot.publish import delta, site
from feedbot.publish.cache import SiteCache
from feedbot.publish.output import MANIFEST
from feedbot.records import Item
from feedbot.sources import FetchedEntry, FetchOutcome
from tests.conftest import Clock


def rss(items: list[tuple[str, str, str, str]]) -> bytes:
    """A feed of (guid, title, link, date) items."""
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
        f"<pubDate>{date}</pubDate><description>About {title}.</description></item>"
        for guid, title, link, date in items
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Feed</title>'
        f"<link>https://feed.example.org/</link><description>d</description>{body}"
        "</channel></rss>"
    ).encode()


def stories(
    source: str, numbers: Iterable[int], *, shared: str = ""
) -> list[tuple[str, str, str, str]]:
    """One story a day back from 22 November 2026; ``shared``: links to another source's."""
    found = []
    for number in numbers:
        day = datetime(2026, 11, 22, 10, tzinfo=UTC) - timedelta(days=number)
        link = f"https://{shared or source}.example.org/story-{number}"
        date = day.strftime("%a, %d %b %Y %H:%M:%S GMT")
        found.append((f"{source}-{number}", f"{source.title()} story {number}", link, date))
    return found


class Loads:
    """What a build asked the database for: None for every item, else the ids."""

    def __init__(self, app: App) -> None:
        self.calls: list[Collection[int] | None] = []
        self._items = app.items
        app.items = self  # type: ignore[method-assign]

    def __call__(self, link_ids: Collection[int] | None = None) -> list[Item]:
        self.calls.append(None if link_ids is None else set(link_ids))
        return self._items(link_ids)

    @property
    def everything(self) -> bool:
        return any(call is None for call in self.calls)

    def ids(self) -> set[int]:
        return {i for call in self.calls if call is not None for i in call}


def tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def database_url(any_database_url: str) -> str:
    """Every test here on SQLite and on PostgreSQL."""
    return any_database_url


@pytest.fixture
def wall() -> Clock:
    return Clock(datetime.now(UTC))


@pytest.fixture
def app(server: FixtureServer, make_app: Callable[..., App], wall: Clock) -> App:
    server.routes["/alpha.xml"] = Route(body=rss(stories("alpha", range(12))))
    server.routes["/beta.xml"] = Route(body=rss(stories("beta", range(8), shared="alpha")))
    built = make_app(
        [{"name": "Alpha", "url": server.url("/alpha.xml")},
         {"name": "Beta", "url": server.url("/beta.xml")}],
        page_size=3, home_items=4, feed_items=3,
    )  # fmt: skip
    built.store.wall_clock = wall  # type: ignore[method-assign]
    built.fetch()
    return built


def full_build(app: App, folder: Path) -> dict[str, bytes]:
    """What a full build of the database writes, into ``folder`` (the index is not touched)."""
    settings = app.settings.model_copy(update={"output_dir": str(folder)})
    sources = [s for s in app.store.status(counted=False) if s.active or s.entries]
    site.build_site(app.items(), app.topics(), sources, settings, app.env, app.clock())
    return tree(folder)


def rebuild(app: App, wall: Clock) -> tuple[site.BuildReport, Loads]:
    wall.now += timedelta(minutes=30)
    loads = Loads(app)
    try:
        return app.build(), loads
    finally:
        del app.items  # the method again


def test_the_first_build_loads_everything_and_records_an_index(app: App, wall: Clock) -> None:
    report, loads = rebuild(app, wall)

    assert loads.everything
    index = SiteCache(app.store.engine).listed()
    assert [entry.id for entry in index] == [item.id for item in app.items()]
    assert report.items == len(index) == 12
    with app.store.engine.connect() as conn:
        days = conn.execute(select(func.count()).select_from(SiteDay)).scalar_one()
        cards = conn.execute(select(func.count()).select_from(SiteCard)).scalar_one()
    assert days == len({entry.day for entry in index}) > 1  # one row per day
    assert cards > 0
    with app.store.engine.connect() as conn:
        stored = conn.execute(select(SiteCard.link_id, SiteCard.root, SiteCard.html)).all()  # type: ignore[call-overload]
    found = SiteCache(app.store.engine).cards([(row[0], row[1]) for row in stored])
    assert {key: html for key, (_, html) in found.items()} == {
        (row[0], row[1]): row[2] for row in stored
    }


def test_new_and_changed_entries_load_only_their_items_and_build_what_a_full_build_does(
    app: App, server: FixtureServer, wall: Clock, tmp_path: Path
) -> None:
    rebuild(app, wall)
    before = {item.url: item.id for item in app.items()}
    changed = stories("alpha", range(-2, 12))  # two newer stories
    guid, _, link, date = changed[5]
    changed[5] = (guid, "Alpha story, retitled", link, date)
    server.routes["/alpha.xml"] = Route(body=rss(changed))
    app.fetch()

    report, loads = rebuild(app, wall)

    assert not loads.everything
    retitled = before[link]
    newer = {item.id for item in app.items() if item.url not in before}
    assert len(newer) == 2
    assert loads.ids() >= newer | {retitled}
    assert len(loads.ids()) < report.items / 2
    assert tree(app.settings.output_path) == full_build(app, tmp_path / "reference")
    page = (app.settings.output_path / "index.html").read_text()
    assert "Alpha story -2" in page


def test_tags_and_lost_shares_reach_the_site(
    app: App, server: FixtureServer, wall: Clock, tmp_path: Path
) -> None:
    rebuild(app, wall)
    items = {item.url: item for item in app.items()}
    shared = items["https://alpha.example.org/story-2"]
    assert len(shared.sources) == 2
    # Beta's posts now link to its own stories: Alpha's lose a sharer, Beta's are new items.
    server.routes["/beta.xml"] = Route(body=rss(stories("beta", range(8))))
    app.fetch()
    tagged = items["https://alpha.example.org/story-7"]
    app.store.save_tags({tagged.id: [("law", 0.9, "keyword title: story (+0.90)")]})

    _, loads = rebuild(app, wall)

    assert not loads.everything
    assert {tagged.id, shared.id} <= loads.ids()
    built = tree(app.settings.output_path)
    assert built == full_build(app, tmp_path / "reference")
    assert "keyword title: story" in built["topics/law.html"].decode()
    assert "Beta story 0" in built["sources/beta.html"].decode()


def test_a_change_stamped_just_before_the_previous_build_started_is_not_missed(
    app: App, wall: Clock, tmp_path: Path
) -> None:
    rebuild(app, wall)
    started = wall.now
    target = app.items()[3]
    # A write whose transaction began (and stamped) before that build started, committed after.
    wall.now = started - timedelta(minutes=5)
    app.store.save_tags({target.id: [("education", 0.8, "keyword body: school (+0.80)")]})

    _, loads = rebuild(app, wall)

    assert target.id in loads.ids()
    assert tree(app.settings.output_path) == full_build(app, tmp_path / "reference")


@pytest.mark.parametrize("why", ["output folder removed", "templates changed", "--full"])
def test_a_build_without_a_usable_index_loads_everything(
    app: App, wall: Clock, tmp_path: Path, why: str
) -> None:
    rebuild(app, wall)
    full = False
    if why == "output folder removed":
        shutil.rmtree(app.settings.output_path)
    elif why == "templates changed":
        templates = tmp_path / "mine"
        templates.mkdir()
        (templates / "_card.html").write_text(
            '<article id="{{ anchor }}"><h3>{{ item.title }}</h3></article>\n'
        )
        app.settings = app.settings.model_copy(update={"templates_dir": str(templates)})
        app._env = None
    else:
        full = True
    wall.now += timedelta(minutes=30)
    loads = Loads(app)
    app.build(full=full)
    del app.items

    assert loads.everything
    assert tree(app.settings.output_path) == full_build(app, tmp_path / "reference")


def test_a_late_old_item_shifts_the_numbered_pages_it_lands_among(
    app: App, server: FixtureServer, wall: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rebuild(app, wall)
    before = tree(app.settings.output_path)
    # Found today, but published six weeks ago: it goes among the oldest pages.
    server.routes["/alpha.xml"] = Route(body=rss(stories("alpha", [*range(12), 42])))
    app.fetch()

    report, loads = rebuild(app, wall)

    built = tree(app.settings.output_path)
    assert built == full_build(app, tmp_path / "reference")
    assert not loads.everything
    assert "Alpha story 42" in built["page/1.html"].decode()
    changed = {path for path in built if built[path] != before.get(path)}
    assert "page/1.html" in changed
    assert report.written == len(changed - {MANIFEST})  # what differs was written, no more


def post(app: App, slug: str, *entries: FetchedEntry) -> None:
    """Entries of a source saved as a fetch saves them."""
    now = datetime.now(UTC)
    with app.store.engine.connect() as conn:
        source_id = conn.execute(select(Source.id).where(Source.slug == slug)).scalar_one()
    app.store.save_outcome(source_id, FetchOutcome("ok", entries=entries), now, now)


def entry(guid: str, link: str, when: datetime, citation: Citation | None = None) -> FetchedEntry:
    return FetchedEntry(guid=guid, url=f"https://alpha.example.org/posts/{guid}",
                        title=f"Post {guid}", published_at=when, links=(link,),
                        citation=citation)  # fmt: skip


def test_a_paper_whose_place_on_its_day_moves_gets_its_page_linked_to_the_new_place(
    app: App, wall: Clock, tmp_path: Path
) -> None:
    day = datetime(2026, 11, 20, tzinfo=UTC)  # Alpha's story 2 is at 10:00
    paper = Citation("A paper on reading", doi="10.5555/reading")
    post(app, "alpha", entry("p", "https://doi.org/10.5555/reading", day.replace(hour=9), paper),
         entry("e8", "https://alpha.example.org/e8", day.replace(hour=8)),
         entry("e7", "https://alpha.example.org/e7", day.replace(hour=7)))  # fmt: skip
    rebuild(app, wall)
    page = app.settings.output_path / "papers"
    (paper_page,) = [p for p in page.glob("item-*.html")]
    assert 'href="../days/2026-11-20.html' in paper_page.read_text()
    # Two newer posts that day: the paper leaves the day's front page for its page 1.
    post(app, "alpha", entry("n1", "https://alpha.example.org/n1", day.replace(hour=12)),
         entry("n2", "https://alpha.example.org/n2", day.replace(hour=11)))  # fmt: skip

    _, loads = rebuild(app, wall)

    assert not loads.everything
    assert 'href="../days/2026-11-20.1.html' in paper_page.read_text()
    assert tree(app.settings.output_path) == full_build(app, tmp_path / "reference")


def test_an_item_no_longer_shared_leaves_the_site_with_its_day_and_month(
    app: App, server: FixtureServer, wall: Clock, tmp_path: Path
) -> None:
    october = ("alpha-oct", "October story", "https://alpha.example.org/october",
               "Thu, 15 Oct 2026 10:00:00 GMT")  # fmt: skip
    server.routes["/alpha.xml"] = Route(body=rss([*stories("alpha", range(12)), october]))
    app.fetch()
    rebuild(app, wall)
    assert "search/2026-10.js" in tree(app.settings.output_path)
    # The October post, redated, now links elsewhere: its old link is nobody's item any more.
    moved = (october[0], "Moved story", "https://alpha.example.org/moved",
             "Sun, 22 Nov 2026 09:00:00 GMT")  # fmt: skip
    server.routes["/alpha.xml"] = Route(body=rss([*stories("alpha", range(12)), moved]))
    app.fetch()

    report, loads = rebuild(app, wall)

    built = tree(app.settings.output_path)
    assert not loads.everything
    assert built == full_build(app, tmp_path / "reference")
    assert "days/2026-10-15.html" not in built
    assert "search/2026-10.js" not in built
    assert "alpha.example.org/october" not in b"".join(built.values()).decode()
    assert report.deleted >= 2


def test_a_failing_source_shows_on_its_page_without_anything_reloaded(
    app: App, server: FixtureServer, wall: Clock, tmp_path: Path
) -> None:
    rebuild(app, wall)
    server.routes["/beta.xml"] = Route(status=500, body=b"down")
    app.fetch()

    _, loads = rebuild(app, wall)

    built = tree(app.settings.output_path)
    assert not loads.everything
    assert loads.ids() == set()
    assert built == full_build(app, tmp_path / "reference")
    assert "500" in built["sources/beta.html"].decode()


def test_items_of_the_same_second_keep_the_full_builds_order(
    app: App, wall: Clock, tmp_path: Path
) -> None:
    when = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
    post(app, "alpha", *(entry(f"t{n}", f"https://alpha.example.org/tie-{n}", when)
                         for n in (1, 3, 5)))  # fmt: skip
    rebuild(app, wall)
    post(app, "alpha", *(entry(f"t{n}", f"https://alpha.example.org/tie-{n}", when)
                         for n in (4, 2, 6)))  # fmt: skip

    _, loads = rebuild(app, wall)

    assert not loads.everything
    assert tree(app.settings.output_path) == full_build(app, tmp_path / "reference")


def test_listings_are_kept_in_chunks_and_only_changed_chunks_are_rewritten(
    app: App, server: FixtureServer, wall: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delta, "CHUNK", 3)  # several chunks per listing
    rebuild(app, wall)
    chunks = SiteListingChunk.__table__  # type: ignore[attr-defined]

    def stored() -> dict[tuple[str, int], tuple[bytes, bytes]]:
        with app.store.engine.connect() as conn:
            rows = conn.execute(select(chunks.c.name, chunks.c.chunk, chunks.c.ids,
                                       chunks.c.digests)).all()  # fmt: skip
        return {(row.name, row.chunk): (bytes(row.ids), bytes(row.digests)) for row in rows}

    before = stored()
    assert len([key for key in before if key[0] == "index.html"]) == 4  # 12 items
    # A newer story, and the oldest one retitled: of the home listing's chunks (counted from
    # the oldest), a new one and the oldest change, the others stay as they were.
    changed = stories("alpha", range(-1, 12))
    guid, _, link, date = changed[-1]
    changed[-1] = (guid, "Alpha story, retitled", link, date)
    server.routes["/alpha.xml"] = Route(body=rss(changed))
    app.fetch()

    _, loads = rebuild(app, wall)

    after = stored()
    assert not loads.everything
    assert tree(app.settings.output_path) == full_build(app, tmp_path / "reference")
    home = sorted(key for key in after if key[0] == "index.html")
    assert len(home) == 5  # 13 items
    for number in (1, 2, 3):
        assert after[("index.html", number)] == before[("index.html", number)]
    assert after[("index.html", 0)][0] == before[("index.html", 0)][0]  # the same ids
    assert after[("index.html", 0)][1] != before[("index.html", 0)][1]  # a new digest
    members = delta.Members.unpack(
        [delta.Chunk(number, after[("index.html", number)][0], b"", b"", None)
         for _, number in home]
    )  # fmt: skip
    assert list(members.ids) == [item.id for item in app.items()]


def stored_days(app: App) -> dict[str, tuple[bytes, bytes, str, str]]:
    days = SiteDay.__table__  # type: ignore[attr-defined]
    with app.store.engine.connect() as conn:
        rows = conn.execute(select(days.c.day, days.c["items"], days.c.search, days.c.shard,
                                   days.c.shard_key)).all()  # fmt: skip
    return {row[0]: (bytes(row[1]), bytes(row[2]), row[3], row[4]) for row in rows}


def test_the_index_is_kept_by_day_and_a_change_reaches_only_its_own_day(
    app: App, server: FixtureServer, wall: Clock, tmp_path: Path
) -> None:
    rebuild(app, wall)
    before = stored_days(app)
    changed = stories("alpha", range(12))
    guid, _, link, date = changed[5]  # 17 November
    changed[5] = (guid, "Alpha story, retitled", link, date)
    server.routes["/alpha.xml"] = Route(body=rss(changed))
    app.fetch()

    _, loads = rebuild(app, wall)

    after = stored_days(app)
    assert not loads.everything
    assert set(after) == set(before) and len(after) == 12
    assert [day for day in sorted(after) if after[day] != before[day]] == ["2026-11-17"]
    assert "Alpha story, retitled" in after["2026-11-17"][2]
    assert "Alpha story, retitled" not in before["2026-11-17"][2]
    # The month's search file is made of the days' parts, as a full build makes it.
    written = tree(app.settings.output_path)
    assert written == full_build(app, tmp_path / "reference")
    month = written["search/2026-11.js"].decode()
    assert all(part in month for _, _, part, _ in after.values())
    assert "Alpha story, retitled" in month


def test_a_day_missing_from_the_index_is_loaded_again_and_the_site_is_whole(
    app: App, server: FixtureServer, wall: Clock, tmp_path: Path
) -> None:
    rebuild(app, wall)
    days = SiteDay.__table__  # type: ignore[attr-defined]
    with app.store.engine.begin() as conn:
        conn.execute(days.delete().where(days.c.day == "2026-11-20"))
    changed = stories("alpha", range(12))
    guid, _, link, date = changed[5]
    changed[5] = (guid, "Alpha story, retitled", link, date)
    server.routes["/alpha.xml"] = Route(body=rss(changed))
    app.fetch()

    _, loads = rebuild(app, wall)

    on_the_20th = {item.id for item in app.items() if "story-2" in item.url}
    assert on_the_20th and on_the_20th <= loads.ids()  # not in the index: loaded again
    assert not loads.everything
    assert tree(app.settings.output_path) == full_build(app, tmp_path / "reference")
    assert "2026-11-20" in stored_days(app)


@pytest.fixture
def long_app(server: FixtureServer, make_app: Callable[..., App], wall: Clock) -> App:
    """Sixty stories, one a day: listings long enough for a build to leave their oldest
    chunks unread (with chunks of three members)."""
    server.routes["/long.xml"] = Route(body=rss(stories("long", range(60))))
    built = make_app([{"name": "Long", "url": server.url("/long.xml")}],
                     page_size=3, home_items=4, feed_items=3)  # fmt: skip
    built.store.wall_clock = wall  # type: ignore[method-assign]
    built.fetch()
    return built


@pytest.mark.parametrize(
    "change, partly",
    [("two newer stories", True), ("a story near the newest retitled", True),
     ("a story near the newest moved to another link", True),
     ("the oldest story retitled", False)],
)  # fmt: skip
def test_a_long_listing_is_read_only_as_far_as_its_changes_reach(
    long_app: App, server: FixtureServer, wall: Clock, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, change: str, partly: bool,
) -> None:  # fmt: skip
    monkeypatch.setattr(delta, "CHUNK", 3)
    rebuild(long_app, wall)
    reads: list[tuple[frozenset[str], dict[str, int]]] = []
    listing_members = SiteCache.listing_members

    def spy(self: SiteCache, names: Collection[str], lowest: dict[str, int] | None = None
            ) -> dict[str, delta.Members]:  # fmt: skip
        reads.append((frozenset(names), dict(lowest or {})))
        return listing_members(self, names, lowest)

    monkeypatch.setattr(SiteCache, "listing_members", spy)
    replanned: list[bool] = []  # the record found wanting: every page planned from the index
    monkeypatch.setattr(SiteCache, "listed", lambda self: replanned.append(True) or [])
    changed = stories("long", range(60))
    if change == "two newer stories":
        changed = stories("long", range(-2, 60))
    else:
        at = -1 if change == "the oldest story retitled" else 2
        guid, title, link, date = changed[at]
        if "moved" in change:  # its old link is nobody's item any more
            link = "https://long.example.org/moved"
        else:
            title = "Long story, retitled"
        changed[at] = (guid, title, link, date)
    server.routes["/long.xml"] = Route(body=rss(changed))
    long_app.fetch()
    _, loads = rebuild(long_app, wall)

    assert not loads.everything and not replanned
    home_reads = [lowest.get("index.html") for names, lowest in reads if "index.html" in names]
    if partly:
        assert home_reads[0] is not None and home_reads[0] > 0  # the oldest chunks left unread
    else:
        assert home_reads[-1] is None  # read whole
    assert tree(long_app.settings.output_path) == full_build(long_app, tmp_path / "first")
    # The record it saved serves the next build just as well.
    server.routes["/long.xml"] = Route(body=rss(stories("long", range(-4, 60))))
    long_app.fetch()
    _, loads = rebuild(long_app, wall)
    assert not loads.everything and not replanned
    assert tree(long_app.settings.output_path) == full_build(long_app, tmp_path / "second")


def test_the_feeds_take_their_unchanged_items_entries_from_the_record(
    app: App, server: FixtureServer, wall: Clock, tmp_path: Path
) -> None:
    rebuild(app, wall)
    in_feed = [item.id for item in app.items()][:2]  # still in the feeds (3 items) after one more
    server.routes["/alpha.xml"] = Route(body=rss(stories("alpha", range(-1, 12))))
    app.fetch()

    _, loads = rebuild(app, wall)

    assert not loads.everything
    assert not set(in_feed) & loads.ids()  # neither loaded nor rendered again
    built = tree(app.settings.output_path)
    assert built == full_build(app, tmp_path / "reference")
    assert b"Alpha story -1" in built["feed.xml"] and b"Alpha story 0" in built["feed.json"]


def test_a_link_merged_into_another_leaves_the_site_though_nothing_stamps_it(
    app: App, wall: Clock, tmp_path: Path
) -> None:
    rebuild(app, wall)
    items = {item.url: item for item in app.items()}
    old, new = (
        items["https://alpha.example.org/story-9"],
        items["https://alpha.example.org/story-3"],
    )
    # The links stage finds both are one article: ``old`` is folded into ``new`` and deleted.
    with app.store.engine.begin() as conn:
        app.store._merge_link(conn, old.id, new.id)

    _, loads = rebuild(app, wall)

    built = tree(app.settings.output_path)
    assert not loads.everything
    assert built == full_build(app, tmp_path / "reference")
    assert old.url not in built["sitemap.xml"].decode() and old.anchor not in str(built.keys())


def test_the_first_paper_of_a_site_reaches_the_papers_listing_and_the_sitemap(
    app: App, wall: Clock, tmp_path: Path
) -> None:
    rebuild(app, wall)  # no paper yet
    paper = Citation("A first paper", doi="10.5555/first")
    when = datetime(2026, 11, 21, 9, tzinfo=UTC)
    post(app, "alpha", entry("p", "https://doi.org/10.5555/first", when, paper))

    _, loads = rebuild(app, wall)

    built = tree(app.settings.output_path)
    assert not loads.everything
    assert built == full_build(app, tmp_path / "reference")
    assert "papers/item-" in built["sitemap.xml"].decode()


def members_of(*entries: tuple[int, float, bytes]) -> delta.Members:
    """Members (newest first) from (id, sort time, digest) triples."""
    made = delta.Members()
    for link_id, sort_time, digest in entries:
        made.ids.append(link_id)
        made.keys.append(-sort_time)
        made.digests += digest.ljust(16, b".")
    return made


@pytest.mark.parametrize(
    ("change", "alike"),
    [
        ("nothing", 5),
        ("a newer member", 5),  # what new items do: the old ones all stay alike
        ("the newest member's digest", 4),
        ("the middle member's digest", 2),
        ("the middle member's time", 2),
        ("the oldest member's id", 0),
        ("the oldest member gone", 0),  # every member is one place further from the end
    ],
)
def test_a_listing_knows_how_many_of_its_oldest_members_are_alike(change: str, alike: int) -> None:
    entries = [(10 - n, 100.0 - n, bytes([65 + n])) for n in range(5)]  # newest first
    if change == "a newer member":
        entries.insert(0, (99, 200.0, b"new"))
    elif change == "the newest member's digest":
        entries[0] = (*entries[0][:2], b"retagged")
    elif change == "the middle member's digest":
        entries[2] = (*entries[2][:2], b"retagged")
    elif change == "the middle member's time":
        entries[2] = (entries[2][0], 97.5, entries[2][2])
    elif change == "the oldest member's id":
        entries[4] = (77, *entries[4][1:])
    elif change == "the oldest member gone":
        entries.pop()
    before = members_of(*[(10 - n, 100.0 - n, bytes([65 + n])) for n in range(5)])
    now = members_of(*entries)

    assert now.common_tail(before) == alike
    assert before.common_tail(now) == alike
    now.insert(delta._thin(55, -300.0, b"x" * 16), lambda link_id: "")  # still free to grow
    assert now.ids[0] == 55
