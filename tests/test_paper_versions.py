"""``paper_versions``: the other versions each paper's citation names, kept by the store with
every write of ``links.paper`` (issue 7). ``Store.items`` of a few ids finds the papers naming
those items in this table instead of reading every citation, so the table must say exactly what
the citations say through every write path (a paper posted, looked up, recovered; a link merged
or deleted), and a database upgraded to 0011 must get the rows the store would have written.
Every test runs on SQLite and PostgreSQL, through the real store."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select

from feedbot.app import open_app
from feedbot.config import Settings
from feedbot.db import alembic_config, make_engine, upgrade
from feedbot.links.citation import Citation, citation_to_json
from feedbot.links.expand import Resolution
from feedbot.sources import FetchedEntry, FetchOutcome
from feedbot.store import Store, links_t, versions_t

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SOURCES = [
    {"name": "Alpha", "url": "https://alpha.example.org/feed"},
    {"name": "Beta", "url": "https://beta.example.org/feed"},
]

PREPRINT_URL = "https://arxiv.org/abs/2401.00001"
PUBLISHED_URL = "https://doi.org/10.1234/pub"
# The preprint names its published version (arXiv's own metadata does); the published paper
# names nothing, or (Crossref's "has-preprint") its preprint under arXiv's DOI.
PREPRINT = Citation("Tasks and vocabulary", arxiv_id="2401.00001", related_dois=("10.1234/pub",))
PUBLISHED = Citation("Tasks and vocabulary", doi="10.1234/pub", year=2025)
PUBLISHED_NAMING = replace(PUBLISHED, related_dois=("10.48550/arXiv.2401.00001",))
NO_COLUMN = object()  # a link inserted without a paper value at all


@dataclass
class World:
    store: Store
    sources: dict[str, int]

    def post(self, source: str, guid: str, url: str, citation: Citation | None = None) -> None:
        """A post of ``source`` sharing ``url``; with a citation, the post is that paper."""
        entry = FetchedEntry(guid=guid, url=f"https://{source.lower()}.example.org/{guid}",
                             title="A post", links=(url,),
                             published_at=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
                             citation=citation)  # fmt: skip
        self.store.save_outcome(self.sources[source], FetchOutcome("ok", entries=(entry,)), NOW,
                                NOW)  # fmt: skip

    def link_id(self, url: str) -> int:
        with self.store.engine.connect() as conn:
            found = conn.execute(select(links_t.c.id).where(links_t.c.url == url)).scalar()
        assert found is not None, url
        return int(found)

    def rows(self) -> set[tuple[str, int]]:
        """Every row of paper_versions: (the URL named as another version, the naming link)."""
        return version_rows(self.store)

    def versions(self, url: str) -> tuple[str, ...]:
        """The versions the item of ``url`` lists, read alone (``items([id])``), which must be
        what the full list says of it."""
        link_id = self.link_id(url)
        [alone] = self.store.items([link_id])
        assert [alone] == [item for item in self.store.items() if item.id == link_id]
        return alone.versions


def version_rows(store: Store) -> set[tuple[str, int]]:
    with store.engine.connect() as conn:
        return {(row.url, row.link_id) for row in conn.execute(select(versions_t))}


@pytest.fixture
def world(any_database_url: str, make_settings: Callable[..., Settings]) -> World:
    settings = make_settings(SOURCES, database_url=any_database_url)
    store = open_app(settings, clock=lambda: NOW).store
    return World(store, {s.name: s.id for s in store.active_sources()})


# -- the write paths -----------------------------------------------------------------------


def test_a_preprint_posted_after_its_published_version(world: World) -> None:
    world.post("Alpha", "p1", PUBLISHED_URL, PUBLISHED)
    assert world.rows() == set()
    world.post("Beta", "p2", PREPRINT_URL, PREPRINT)
    assert world.rows() == {(PUBLISHED_URL, world.link_id(PREPRINT_URL))}
    # Only the preprint names the other; asked for alone, each lists the other all the same.
    assert world.versions(PUBLISHED_URL) == (PREPRINT_URL,)
    assert world.versions(PREPRINT_URL) == (PUBLISHED_URL,)
    # The same posts fetched again write nothing twice.
    world.post("Beta", "p2", PREPRINT_URL, PREPRINT)
    assert world.rows() == {(PUBLISHED_URL, world.link_id(PREPRINT_URL))}


def test_a_preprint_posted_before_its_published_version(world: World) -> None:
    world.post("Beta", "p2", PREPRINT_URL, PREPRINT)
    # It names a paper no one has shared yet: the row waits for it.
    assert world.rows() == {(PUBLISHED_URL, world.link_id(PREPRINT_URL))}
    assert world.versions(PREPRINT_URL) == (PUBLISHED_URL,)
    world.post("Alpha", "p1", PUBLISHED_URL, PUBLISHED_NAMING)
    assert world.rows() == {
        (PUBLISHED_URL, world.link_id(PREPRINT_URL)),
        (PREPRINT_URL, world.link_id(PUBLISHED_URL)),
    }
    assert world.versions(PUBLISHED_URL) == (PREPRINT_URL,)
    assert world.versions(PREPRINT_URL) == (PUBLISHED_URL,)
    # The published paper's post is edited and its citation no longer names the preprint: its
    # row goes; the preprint's stays, and the two still list each other.
    world.post("Alpha", "p1", PUBLISHED_URL, replace(PUBLISHED, title="Tasks, vocabulary"))
    assert world.rows() == {(PUBLISHED_URL, world.link_id(PREPRINT_URL))}
    assert world.versions(PUBLISHED_URL) == (PREPRINT_URL,)


def test_a_citation_looked_up_changed_and_dropped(world: World) -> None:
    article = "https://journals.example.org/article/1"
    other = "https://doi.org/10.1234/other"
    world.post("Alpha", "p1", PUBLISHED_URL, PUBLISHED)
    world.post("Alpha", "p3", other, replace(PUBLISHED, doi="10.1234/other", title="Other"))
    world.post("Beta", "b1", article)
    world.store.set_identifiers({world.link_id(article): (None, "2401.00001")}, NOW)
    preprint = world.link_id(PREPRINT_URL)
    assert world.rows() == set()
    # The lookup: a failure writes nothing; a citation its rows.
    world.store.save_papers([(preprint, "error", None, "HTTP 503")], NOW)
    assert world.rows() == set()
    world.store.save_papers([(preprint, "ok", PREPRINT, None)], NOW)
    assert world.rows() == {(PUBLISHED_URL, preprint)}
    assert world.versions(PUBLISHED_URL) == (PREPRINT_URL,)
    # A later lookup naming another paper too, then only that one: the rows follow.
    both = replace(PREPRINT, related_dois=("10.1234/pub", "10.1234/other"))
    world.store.save_papers([(preprint, "ok", both, None)], NOW)
    assert world.rows() == {(PUBLISHED_URL, preprint), (other, preprint)}
    world.store.save_papers([(preprint, "ok", replace(PREPRINT, related_dois=("10.1234/other",)),
                              None)], NOW)  # fmt: skip
    assert world.rows() == {(other, preprint)}
    assert world.versions(PUBLISHED_URL) == ()
    assert world.versions(other) == (PREPRINT_URL,)
    # One naming nothing: no row, and no item lists it any more.
    world.store.save_papers([(preprint, "ok", replace(PREPRINT, related_dois=()), None)], NOW)
    assert world.rows() == set()
    assert world.versions(other) == ()
    assert world.versions(PREPRINT_URL) == ()


def test_one_batch_of_lookups_keeps_each_links_last_citation(world: World) -> None:
    world.post("Alpha", "p1", PUBLISHED_URL, PUBLISHED)
    world.post("Beta", "p2", PREPRINT_URL, replace(PREPRINT, related_dois=()))
    preprint, published = world.link_id(PREPRINT_URL), world.link_id(PUBLISHED_URL)
    world.store.save_papers(
        [
            (preprint, "ok", replace(PREPRINT, related_dois=("10.1234/nothing",)), None),
            (published, "ok", PUBLISHED_NAMING, None),
            (preprint, "ok", PREPRINT, None),  # the later one is what the link keeps
            (published, "error", None, "HTTP 503"),  # a failure keeps the citation it had
        ],
        NOW,
    )
    assert world.rows() == {(PUBLISHED_URL, preprint), (PREPRINT_URL, published)}
    assert world.versions(PUBLISHED_URL) == (PREPRINT_URL,)


def test_a_lookup_stored_after_its_link_was_merged_away_writes_no_row(world: World) -> None:
    world.post("Alpha", "p1", PUBLISHED_URL, PUBLISHED)
    article = "https://journals.example.org/article/1"
    world.post("Beta", "b1", article)
    gone = world.link_id(article)
    # Another run identified the article (merging its link into the paper's) while this one
    # looked the article's link up: the result arrives for a link that is no more.
    world.store.set_identifiers({gone: (None, "2401.00001")}, NOW)
    world.store.save_papers([(gone, "ok", PREPRINT, None)], NOW)
    assert world.rows() == set()
    assert world.versions(PUBLISHED_URL) == ()


def test_a_recovered_reference(world: World) -> None:
    world.post("Alpha", "p1", PUBLISHED_URL, PUBLISHED)
    post = "https://beta.example.org/posts/b1"
    text = "Ito, A. (2024). Tasks and vocabulary. arXiv:2401.00001."
    entry = FetchedEntry(guid="b1", url=post, title="A post", links=(post,), references=(text,))
    world.store.save_outcome(world.sources["Beta"], FetchOutcome("ok", entries=(entry,)), NOW, NOW)
    [(ref_id, _)] = world.store.references_due(NOW, 3, 1.0)
    world.store.save_recoveries([(ref_id, "ok", PREPRINT, "matched")], NOW)
    assert world.rows() == {(PUBLISHED_URL, world.link_id(PREPRINT_URL))}
    assert world.versions(PUBLISHED_URL) == (PREPRINT_URL,)


def test_a_paper_merged_into_another_link_takes_its_rows_with_it(world: World) -> None:
    world.post("Alpha", "p1", PUBLISHED_URL, PUBLISHED)
    article = "https://journals.example.org/article/1"
    world.post("Beta", "b1", article)
    merged = world.link_id(article)
    world.store.save_papers([(merged, "ok", PREPRINT, None)], NOW)
    assert world.rows() == {(PUBLISHED_URL, merged)}
    assert world.versions(PUBLISHED_URL) == (article,)
    # Identified: folded into the preprint's identity link, which has no citation yet.
    world.store.set_identifiers({merged: (None, "2401.00001")}, NOW)
    assert world.rows() == set()
    assert world.versions(PUBLISHED_URL) == ()


def test_a_paper_deleted_when_its_mentions_move_takes_its_rows_with_it(world: World) -> None:
    world.post("Alpha", "p1", PUBLISHED_URL, PUBLISHED)
    shared = "https://doi.org/10.9999/x"  # shared without a citation: resolved like any URL
    world.post("Beta", "b1", shared)
    paper = world.link_id(shared)
    names = Citation("X", doi="10.9999/x", related_dois=("10.1234/pub",))
    world.store.save_papers([(paper, "ok", names, None)], NOW)
    assert world.rows() == {(PUBLISHED_URL, paper)}
    assert world.versions(PUBLISHED_URL) == (shared,)
    # It resolves to the publisher's page: its mentions move there and the link is deleted.
    due = {url: rid for rid, url in world.store.resolutions_due(NOW, 3)}
    page = "https://journals.example.org/x"
    resolution = Resolution(url=shared, outcome="ok", chain=(), final_url=page,
                            canonical_url=page, http_status=200, content_type="text/html")  # fmt: skip
    world.store.save_resolutions([(due[shared], resolution)], NOW, 1.0, 3)
    assert world.link_id(page) in world.store.item_link_ids()
    with world.store.engine.connect() as conn:
        assert conn.execute(select(links_t.c.id).where(links_t.c.id == paper)).first() is None
    assert world.rows() == set()
    assert world.versions(PUBLISHED_URL) == ()


# -- the migration -------------------------------------------------------------------------


def test_upgrading_to_0011_fills_the_table_as_the_store_writes_it(world: World) -> None:
    world.post("Alpha", "p1", PUBLISHED_URL, PUBLISHED_NAMING)
    world.post("Beta", "p2", PREPRINT_URL, PREPRINT)
    world.post("Beta", "p3", "https://doi.org/10.1234/two",
               Citation("Two", doi="10.1234/two", related_dois=(
                   "10.1234/pub", "10.48550/arXiv.2402.00002", "10.1234/two")))  # fmt: skip
    world.post(
        "Alpha", "p4", "https://doi.org/10.1234/alone", Citation("Alone", doi="10.1234/alone")
    )
    world.post("Alpha", "a1", "https://news.example.org/story")
    two = "https://doi.org/10.1234/two"
    written = world.rows()
    assert {(url, link_id) for url, link_id in written if link_id == world.link_id(two)} == {
        (PUBLISHED_URL, world.link_id(two)),
        ("https://arxiv.org/abs/2402.00002", world.link_id(two)),  # its own DOI is not another
    }
    assert len(written) == 4
    papers = [PUBLISHED_URL, PREPRINT_URL, two, "https://doi.org/10.1234/alone"]
    before = {url: world.versions(url) for url in papers}
    assert set(before[PUBLISHED_URL]) == {PREPRINT_URL, two}
    engine = world.store.engine
    command.downgrade(alembic_config(engine), "0010")
    assert "paper_versions" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert world.rows() == written
    assert {url: world.versions(url) for url in papers} == before


def test_upgrading_to_0011_reads_every_paper_whatever_their_number(any_database_url: str) -> None:
    """More papers than the migration reads at a time, among links without one (SQL NULL or
    the JSON null a None was written as): each paper's versions, none of the others'."""
    engine = make_engine(any_database_url)
    command.upgrade(alembic_config(engine), "0010")
    links: list[dict[str, Any]] = []
    expected: set[tuple[str, int]] = set()
    for n in range(1, 2501):
        # No paper: SQL NULL (no value given) or the JSON null SQLAlchemy writes for a None.
        paper: Any = NO_COLUMN if n % 6 == 2 else None
        if n % 3 == 0:  # a paper naming its published version, some their preprint too
            related = [f"10.5555/v{n}", f"10.5555/p{n}"]  # the second is its own DOI
            expected.add((f"https://doi.org/10.5555/v{n}", n))
            if n % 5 == 0:
                related.append(f"10.48550/arXiv.2501.{n:05d}")
                expected.add((f"https://arxiv.org/abs/2501.{n:05d}", n))
            paper = citation_to_json(Citation(f"P{n}", doi=f"10.5555/p{n}",
                                              related_dois=tuple(related)))  # fmt: skip
        elif n % 3 == 1:  # a paper naming no other version
            paper = citation_to_json(Citation(f"P{n}", doi=f"10.5555/p{n}"))
        links.append({"id": n, "url": f"https://example.org/{n}", "needs_tagging": False,
                      "paper_attempts": 0, "paper": paper})  # fmt: skip
    with engine.begin() as conn:
        conn.execute(insert(links_t), [row for row in links if row["paper"] is not NO_COLUMN])
        conn.execute(insert(links_t), [{k: v for k, v in row.items() if k != "paper"}
                                       for row in links if row["paper"] is NO_COLUMN])  # fmt: skip
    upgrade(engine)
    try:
        with engine.connect() as conn:
            found = {(row.url, row.link_id) for row in conn.execute(select(versions_t))}
        assert found == expected
    finally:
        engine.dispose()
