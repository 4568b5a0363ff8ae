"""Pages without a feed, read with CSS selectors: items, absolute links, dates, summaries,
robots.txt, clear recorded errors for what cannot be read, and ``feedbot sources test``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from feedbot.app import App, open_app
from feedbot.config import Settings, load_settings
from feedbot.errors import ConfigError
from feedbot.fixture_server import FixtureServer, LoopbackTransport, Route
from feedbot.sources.page import parse_date
from feedbot.store import entries_t
from tests.conftest import DATA
from tests.test_cli import feedbot

PAGE = (DATA / "sources" / "district-news.html").read_bytes()
SELECTORS = {"item": "article.news", "link": "h2 a", "date": "time, .date", "summary": "p.lede"}
BOARD = "https://district.example.org/news/2026/11/board-adopts-ai-policy"
LITERACY = "https://district.example.org/news/2026/11/literacy-results"
PARTNER = "https://partner.example.com/story?id=4"


def page_source(name: str, url: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "kind": "page", "url": url, "selectors": SELECTORS} | options


def page_app(
    server: FixtureServer, make_settings: Callable[..., Settings], database_url: str, clock: Any,
    sources: list[dict[str, Any]],
) -> App:  # fmt: skip
    settings = make_settings(sources, database_url=database_url)
    return open_app(settings, clock=clock, transport=LoopbackTransport(server))


def test_items_links_dates_and_summaries_from_selectors(
    server: FixtureServer, make_settings: Callable[..., Settings], database_url: str, clock: Any
) -> None:
    server.routes["district.example.org/news/"] = Route(body=PAGE, content_type="text/html")
    url = "https://district.example.org/news/"
    app = page_app(server, make_settings, database_url, clock, [page_source("District", url)])
    [result] = app.fetch()
    assert (result.status, result.new, result.error) == ("ok", 3, None)
    assert result.warnings == ("1 of 4 items have no link matching 'h2 a': left out",)
    assert server.hits["/robots.txt"] == 1  # 404: everything allowed

    items = {item.url: item for item in app.items()}
    assert set(items) == {BOARD, LITERACY, PARTNER}  # made absolute against <base href>
    assert [s.name for s in items[BOARD].sources] == ["District"]
    with app.store.engine.connect() as conn:
        entries = {row.url: row for row in conn.execute(select(entries_t))}
    board = entries[BOARD]
    assert board.title == "Board adopts an AI policy for classrooms"
    assert board.published_at.replace(tzinfo=UTC) == datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert "<b>guidelines</b>" in board.summary_html
    assert 'href="https://example.org/ai-guidelines"' in board.summary_html
    literacy = entries[LITERACY]
    assert literacy.published_at.replace(tzinfo=UTC) == datetime(2026, 11, 18, tzinfo=UTC)
    assert "script" not in literacy.summary_html and "Reading scores rose" in literacy.summary_html
    assert entries[PARTNER].published_at.replace(tzinfo=UTC) == datetime(2026, 11, 15, tzinfo=UTC)
    [status] = app.store.status()
    assert status.title == "News | Riverside Unified School District"

    [again] = app.fetch()  # conditional GET
    assert again.status == "not_modified"


def test_robots_txt_is_obeyed_unless_the_source_says_otherwise(
    server: FixtureServer, make_settings: Callable[..., Settings], database_url: str, clock: Any
) -> None:
    robots = b"User-agent: *\nDisallow: /private/\n\nUser-agent: feedbot\nDisallow: /staff/\n"
    server.routes["school.example.org/robots.txt"] = Route(body=robots, content_type="text/plain")
    server.routes["broken.example.org/robots.txt"] = Route(body=b"down", status=503)
    for host, path in (("school.example.org", "/staff/list"), ("school.example.org", "/news/"),
                       ("school.example.org", "/private/x"), ("broken.example.org", "/news/")):  # fmt: skip
        server.routes[host + path] = Route(body=PAGE, content_type="text/html")
    sources = [
        page_source("Staff", "https://school.example.org/staff/list"),
        page_source("News", "https://school.example.org/news/"),
        page_source("Private anyway", "https://school.example.org/private/x", respect_robots=False),
        page_source("Broken robots", "https://broken.example.org/news/"),
    ]
    app = page_app(server, make_settings, database_url, clock, sources)
    results = {r.name: r for r in app.fetch()}
    assert results["Staff"].error == (
        "https://school.example.org/robots.txt disallows https://school.example.org/staff/list "
        "for feedbot (set respect_robots = false to fetch it anyway)"
    )
    assert server.hits["school.example.org/staff/list"] == 0
    assert (results["News"].status, results["Private anyway"].status) == ("ok", "ok")
    assert server.hits["school.example.org/robots.txt"] == 1  # once per host and run
    assert results["Broken robots"].error == (
        "https://broken.example.org/robots.txt could not be read (HTTP 503 Service Unavailable): "
        "not fetching, as RFC 9309 asks; set respect_robots = false to fetch anyway"
    )
    assert server.hits["broken.example.org/news/"] == 0


def test_malformed_pages_and_selectors_that_match_nothing_are_clear_recorded_errors(
    server: FixtureServer, make_settings: Callable[..., Settings], database_url: str, clock: Any
) -> None:
    server.routes["site.example.org/api"] = Route(
        body=b'{"items": []}', content_type="application/json"
    )
    server.routes["site.example.org/garbage"] = Route(
        body=bytes(range(256)) * 8, content_type="text/html"
    )
    server.routes["site.example.org/empty"] = Route(body=b"  \n", content_type="text/html")
    server.routes["site.example.org/news"] = Route(body=PAGE, content_type="text/html")
    server.routes["site.example.org/cut"] = Route(
        body=PAGE[: PAGE.index(b"Reading scores")], content_type="text/html"
    )
    sources = [
        page_source("JSON", "https://site.example.org/api"),
        page_source("Garbage", "https://site.example.org/garbage"),
        page_source("Empty", "https://site.example.org/empty"),
        page_source("Nothing", "https://site.example.org/news", selectors={"item": "div.post"}),
        page_source(
            "No links", "https://site.example.org/news", selectors={"item": "nav", "link": "h2 a"}
        ),
        page_source("Cut short", "https://site.example.org/cut"),
    ]
    app = page_app(server, make_settings, database_url, clock, sources)
    results = {r.name: r for r in app.fetch()}
    assert (
        results["JSON"].error
        == "not an HTML page: the response is application/json (https://site.example.org/api)"
    )
    assert results["Garbage"].error == "the response is not an HTML page (no markup in it)"
    assert results["Empty"].error == "empty response: no page"
    assert results["Nothing"].error == "the item selector 'div.post' matches nothing on the page"
    assert results["No links"].error == (
        "the item selector 'nav' matches 1 elements, but none has a link matching 'h2 a'"
    )
    # A page cut off mid-way still gives the items it has.
    assert (results["Cut short"].status, results["Cut short"].new) == ("ok", 2)
    recorded = {row.name: row.last_error for row in app.store.status()}
    assert recorded["Nothing"] == results["Nothing"].error
    assert recorded["JSON"] == results["JSON"].error


@pytest.mark.parametrize(
    ("selectors", "message"),
    [
        ({"link": "a"}, "sources[0].selectors.item: required"),
        (
            {"item": "article[", "link": "a"},
            "sources[0].selectors.item: not a valid CSS selector: 'article['",
        ),
        ({"item": "li", "titel": "h2"}, "sources[0].selectors.titel: unknown setting"),
    ],
)
def test_selectors_are_checked_with_the_config(
    make_settings: Callable[..., Settings], selectors: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        make_settings(
            [{"name": "P", "kind": "page", "url": "https://a.example/", "selectors": selectors}]
        )
    assert message in str(caught.value)


def test_dates_are_read_leniently() -> None:
    expected = datetime(2026, 3, 3, tzinfo=UTC)
    for text in (
        "2026-03-03",
        "March 3, 2026",
        "3 March 2026",
        "Mar 3 2026",
        "Tue, 03 Mar 2026 00:00:00 GMT",
    ):
        assert parse_date(text) == expected, text
    assert parse_date("2026-03-03T10:00:00+01:00") == datetime(2026, 3, 3, 9, tzinfo=UTC)
    assert parse_date("yesterday") is None


def test_sources_test_prints_what_the_selectors_found(tmp_path: Any) -> None:
    with FixtureServer({"/news/": Route(body=PAGE, content_type="text/html")}) as server:
        (tmp_path / "feedbot.toml").write_text(
            "[http]\nallow_private_networks = true\nmin_host_interval_seconds = 0\n"
            f'[[sources]]\nname = "District"\nkind = "page"\nurl = "{server.url("/news/")}"\n'
            'selectors = { item = "article.news", link = "h2 a", date = "time, .date", summary = "p.lede" }\n'
        )
        result = feedbot("sources", "test", "district", cwd=tmp_path)
        assert server.hits["/robots.txt"] == 1
        missing = feedbot("sources", "test", "Nope", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"District (page, {server.url('/news/')}): 3 items" in out
    assert "- Board adopts an AI policy for classrooms\n" in out
    assert f"    link:    {BOARD}\n" in out
    assert "    date:    2026-11-20T23:30:00+00:00\n" in out
    assert (
        "    summary: The board voted 5–2 to adopt guidelines for AI tools in every school." in out
    )
    assert "warning: 1 of 4 items have no link matching 'h2 a': left out" in result.stderr
    assert missing.returncode == 2 and "no source named 'Nope'" in missing.stderr
    if (tmp_path / "feedbot.db").exists():  # nothing stored
        app = open_app(load_settings(tmp_path / "feedbot.toml"))
        assert app.store.counts()["entries"] == 0
        app.close()
