"""End to end over real HTTP on 127.0.0.1: the bundled example feeds (RSS, Atom, JSON Feed) are
served locally, fetched, stored, tagged, and published as a site, feeds and a digest email."""

from __future__ import annotations

import email
import json
import re
from collections.abc import Callable
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import feedparser
import pytest
from bs4 import BeautifulSoup

from feedbot.app import App
from feedbot.demo import DEMO_SOURCES, SOURCES_DIR
from feedbot.fixture_server import FixtureServer
from feedbot.store import Store

HECHINGER = "https://hechingerreport.org/structured-literacy-laws-decade-early-reading/"


def demo_sources(server: FixtureServer) -> list[dict[str, object]]:
    server.add_directory(SOURCES_DIR, "/feeds")
    return [
        {"name": name, "url": server.url(f"/feeds/{file}"), "topics": topics}
        for name, file, topics in DEMO_SOURCES
    ]


@pytest.fixture
def app(server: FixtureServer, make_app: Callable[..., App]) -> App:
    return make_app(demo_sources(server))


def read_eml(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def test_feeds_in_site_feeds_and_digest_out(
    app: App, server: FixtureServer, tmp_path: Path
) -> None:
    results = app.fetch()
    assert sorted(r.status for r in results) == ["ok"] * 4, [r.error for r in results]
    assert sum(r.new for r in results) == 30

    items = app.items()
    # The curator's utm-tagged copy of the Hechinger article merges with the original.
    [hechinger] = [item for item in items if item.url == HECHINGER]
    assert hechinger.shared_by == 2
    assert {s.name for s in hechinger.sources} == {"Education Weekly", "Curator's Picks"}
    assert len(items) == len({item.url for item in items})

    report = app.build()
    site = report.out_dir
    home = BeautifulSoup((site / "index.html").read_text(), "html.parser")
    titles = [a.get_text() for a in home.select("article.item h3 a")]
    assert titles[0] == items[0].title  # newest first
    assert "Authors' Class Action Over AI Training Data Survives Motion to Dismiss" in titles
    card = home.find(id=hechinger.anchor)
    assert card is not None and "shared by 2" in card.get_text()

    law = BeautifulSoup((site / "topics/law.html").read_text(), "html.parser")
    law_titles = {a.get_text() for a in law.select("article.item h3 a")}
    assert law_titles == {item.title for item in items if any(t.id == "law" for t in item.topics)}
    assert law_titles and len(law_titles) < len(items)

    day = BeautifulSoup((site / "days/2026-11-23.html").read_text(), "html.parser")
    assert day.h1 is not None and day.h1.get_text() == "Monday, 23 November 2026"
    source_page = (site / "sources/education-weekly.html").read_text()
    assert "Inside a High School Where Students Grade Their Own Writing" in source_page
    scripts = re.findall(r"<script[^>]*>", source_page)  # only the site's own, by address
    assert scripts == [
        '<script src="../static/theme.js">',
        '<script src="../static/site.js" defer>',
    ]
    assert "onclick" not in source_page

    rss = feedparser.parse((site / "feed.xml").read_bytes())
    atom = feedparser.parse((site / "atom.xml").read_bytes())
    assert not rss.bozo and not atom.bozo
    assert [e.title for e in rss.entries] == [item.title for item in items]
    assert [e.link for e in atom.entries] == [item.url for item in items]
    feed_json = json.loads((site / "feed.json").read_text())
    assert feed_json["version"] == "https://jsonfeed.org/version/1.1"
    assert [i["url"] for i in feed_json["items"]] == [item.url for item in items]
    education = feedparser.parse((site / "topics/education.xml").read_bytes())
    assert education.entries and all(
        "Education" in [t.term for t in e.tags] for e in education.entries
    )

    out = tmp_path / "digest.eml"
    app.write_digest(__import__("datetime").date(2026, 11, 23), out)
    message = read_eml(out)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    text_content, html_content = text.get_content(), html.get_content()
    day_items = [item for item in items if item.date.date().isoformat() == "2026-11-23"]
    assert day_items
    for item in day_items:
        assert item.title in text_content
        assert item.url in text_content
    # Grouped by topic in taxonomy order, each article once (under its first topic).
    assert text_content.index("== Education ==") < text_content.index("== AI ==")
    assert sum(text_content.count(item.url) for item in day_items) == len(day_items)
    assert "Nothing new" not in text_content
    assert message["Subject"] == "Test digest — 2026-11-23"
    soup = BeautifulSoup(html_content, "html.parser")
    assert [h.get_text() for h in soup.find_all("h2")] == [
        line.strip("= ") for line in text_content.splitlines() if line.startswith("== ")
    ]


def test_refetching_unchanged_feeds_adds_nothing(app: App, server: FixtureServer) -> None:
    app.fetch()
    before = app.store.counts()
    hits = sum(server.hits.values())
    results = app.fetch()
    assert [r.status for r in results] == ["not_modified"] * 4
    assert app.store.counts() == before
    assert sum(server.hits.values()) == hits + 4
    conditional = [h for _, h in server.requests[-4:]]
    assert all("if-none-match" in h for h in conditional)


def test_refetching_without_validators_adds_nothing(app: App, server: FixtureServer) -> None:
    app.fetch()
    before = app.store.counts()
    for route in server.routes.values():
        route.conditional = False  # the server forgets ETags: full bodies again
    results = app.fetch()
    assert [r.status for r in results] == ["ok"] * 4
    assert sum(r.new + r.updated for r in results) == 0
    assert app.store.counts() == before


def test_a_changed_entry_is_updated_not_duplicated(app: App, server: FixtureServer) -> None:
    app.fetch()
    before = app.store.counts()
    route = server.routes["/feeds/education-weekly.xml"]
    route.body = route.body.replace(
        b"Inside a High School Where Students Grade Their Own Writing",
        b"Inside a High School Where Students Grade Their Own Essays",
    )
    results = {r.name: r for r in app.fetch()}
    assert (results["Education Weekly"].new, results["Education Weekly"].updated) == (0, 1)
    assert app.store.counts() == before


def test_a_run_killed_midway_loses_nothing_and_the_next_run_completes(
    app: App, server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.fetch()
    before = app.store.counts()
    exported = [(i.url, i.title, i.shared_by) for i in app.items()]
    # Two feeds gain an entry; the run dies while writing the second of them.
    for path, marker in (("/feeds/education-weekly.xml", b"</item>"),
                         ("/feeds/curators-picks.xml", b"</item>")):  # fmt: skip
        route = server.routes[path]
        extra = (
            b"</item><item><title>Late addition</title>"
            b"<link>https://late.example.org" + path.encode() + b"</link>"
            b"<guid>late-" + path.encode() + b"</guid></item>"
        )
        route.body = route.body.replace(marker, extra, 1)
    original = Store._save_entries
    victim = {s.name: s.id for s in app.store.active_sources()}["Curator's Picks"]

    def dies_on_one_source(self: Store, conn: object, fetched: list[tuple[int, ...]]) -> object:
        if any(source_id == victim for source_id, *_ in fetched):
            raise RuntimeError("simulated crash mid-run")
        return original(self, conn, fetched)  # type: ignore[arg-type]

    monkeypatch.setattr(Store, "_save_entries", dies_on_one_source)
    with pytest.raises(RuntimeError, match="simulated crash"):
        app.fetch()
    after_crash = app.store.counts()
    # Nothing stored earlier is lost or changed; nothing of the crashing batch is half-written.
    assert after_crash["entries"] in (before["entries"], before["entries"] + 1)

    assert {i.url for i in app.items()} >= {url for url, _, _ in exported}

    monkeypatch.setattr(Store, "_save_entries", original)
    results = {r.name: r for r in app.fetch()}
    assert all(r.status in ("ok", "not_modified") for r in results.values())
    final = app.store.counts()
    assert final["entries"] == before["entries"] + 2
    assert final["links"] == before["links"] + 2
    assert {i.url for i in app.items()} == {url for url, _, _ in exported} | {
        "https://late.example.org/feeds/education-weekly.xml",
        "https://late.example.org/feeds/curators-picks.xml",
    }
    again = app.fetch()
    assert [r.status for r in again] == ["not_modified"] * 4
    assert app.store.counts() == final


def test_failing_sources_are_recorded_and_the_run_goes_on(
    server: FixtureServer, make_app: Callable[..., App]
) -> None:
    from feedbot.fixture_server import Route

    sources = demo_sources(server)
    server.routes["/broken.xml"] = Route(
        body=b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss">'
        b"</head><body>Not a feed</body></html>",
        content_type="text/html",
    )
    server.routes["/gone.xml"] = Route(body=b"gone", status=410, content_type="text/plain")
    server.routes["/sloppy.xml"] = Route(  # an unescaped "&": not XML, but readable
        body=b"<rss version='2.0'><channel><title>Sloppy</title><item><title>Fish & chips</title>"
        b"<link>https://sloppy.example.org/1</link></item></channel></rss>"
    )
    sources += [
        {"name": "Broken", "url": server.url("/broken.xml")},
        {"name": "Gone", "url": server.url("/gone.xml")},
        {"name": "Dead host", "url": "http://127.0.0.1:9/feed.xml"},
        {"name": "Sloppy", "url": server.url("/sloppy.xml")},
    ]
    app = make_app(sources)
    results = {r.name: r for r in app.fetch()}
    assert sum(r.status == "ok" for r in results.values()) == 5
    assert results["Sloppy"].new == 1
    assert results["Broken"].error == (
        "no RSS, Atom or JSON feed found: the URL returned an HTML page; "
        f"the page advertises {server.url('/rss')}"
    )
    assert (results["Gone"].error or "").startswith("HTTP 410 Gone")
    assert "cannot connect" in (results["Dead host"].error or "")
    status = {row.name: row for row in app.store.status()}
    assert status["Gone"].consecutive_failures == 1
    assert status["Education Weekly"].consecutive_failures == 0
    assert (status["Sloppy"].last_warning or "").startswith(
        "feed is not well-formed, parsed leniently"
    )
    assert status["Education Weekly"].last_warning is None
    app.build()
    sources_page = (app.settings.output_path / "sources/index.html").read_text()
    assert "HTTP 410 Gone" in sources_page
    assert "ok, with a warning: feed is not well-formed" in sources_page
