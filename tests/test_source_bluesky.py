"""Bluesky sources against a local AppView speaking ``app.bsky.feed.getAuthorFeed``: cursor
paging, reposts credited to their author, quotes, links from facets and external embeds (their
full URIs, never the cut display text), and incremental fetches that stop at what was seen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from feedbot.app import open_app
from feedbot.config import Settings, SourceSettings
from feedbot.fixture_server import LoopbackTransport
from feedbot.http import HttpClient
from feedbot.sources import FetchContext, FetchOutcome, SourceState
from feedbot.sources.bluesky import BlueskyFetcher, rich_text
from feedbot.store import entries_t
from tests.api_fakes import ApiServer, BlueskyApi, link_facet, post, profile, repost
from tests.conftest import FIXED_NOW

CURATOR = profile("curator.bsky.social", "Curator C")
ALICE = profile("alice.bsky.social", "Alice A")
BOB = profile("bob.bsky.social", "Bob B")
CHALKBEAT = "https://www.chalkbeat.org/2026/02/17/teacher-transfer-study/"

TRANSFERS = (
    "📚 Teacher transfers, studied: chalkbeat.org/2026/02/17/tea... via @alice.bsky.social #edtech"
)
QUOTED = "New study on tutoring: example.org/bob-stu..."


def feed() -> list[dict[str, Any]]:
    essay = {"$type": "app.bsky.embed.external",
             "external": {"uri": "https://news.example.com/ai-law-essay", "title": "AI, the law and the republic",
                          "description": "An essay."}}  # fmt: skip
    bob_post = post(BOB, "3bob", QUOTED, 1, facets=[
        link_facet(QUOTED, "example.org/bob-stu...", "https://example.org/bob-study")])  # fmt: skip
    quote_view = {"$type": "app.bsky.embed.record#view", "record": {
        "$type": "app.bsky.embed.record#viewRecord", "uri": bob_post["uri"], "cid": bob_post["cid"],
        "author": BOB, "value": bob_post["record"], "indexedAt": bob_post["indexedAt"]}}  # fmt: skip
    quote_ref = {
        "$type": "app.bsky.embed.record",
        "record": {"uri": bob_post["uri"], "cid": bob_post["cid"]},
    }
    alice_post = post(ALICE, "3alice", "Worth reading https://example.org/alice-article", 2, facets=[
        link_facet("Worth reading https://example.org/alice-article", "https://example.org/alice-article",
                   "https://example.org/alice-article")])  # fmt: skip
    return [
        {
            "post": post(
                CURATOR,
                "3a",
                TRANSFERS,
                10,
                facets=[
                    link_facet(TRANSFERS, "chalkbeat.org/2026/02/17/tea...", CHALKBEAT),
                    link_facet(TRANSFERS, "@alice.bsky.social", ALICE["did"], "mention"),
                    link_facet(TRANSFERS, "#edtech", "edtech", "tag"),
                ],
            )
        },
        {
            "post": post(
                CURATOR,
                "3b",
                "A brilliant essay.",
                11,
                embed=essay,
                view=essay | {"$type": "app.bsky.embed.external#view"},
            )
        },
        repost(alice_post, CURATOR, 12),
        {"post": post(CURATOR, "3c", "This, exactly.", 13, embed=quote_ref, view=quote_view)},
        {"post": post(CURATOR, "3d", "Grading all weekend.", 14)},
    ]


@pytest.fixture
def appview() -> Iterator[tuple[ApiServer, BlueskyApi]]:
    fake = BlueskyApi(feeds={"curator.bsky.social": feed()})
    with ApiServer() as server:
        fake.install(server)
        yield server, fake


ENDPOINT = "public.api.bsky.app/xrpc/app.bsky.feed.getAuthorFeed"


def test_posts_reposts_quotes_and_links_from_facets_and_embeds(
    appview: tuple[ApiServer, BlueskyApi], make_settings: Callable[..., Settings],
    database_url: str, clock: Any,
) -> None:  # fmt: skip
    server, fake = appview
    source = {"name": "Curator", "kind": "bluesky", "actor": "@curator.bsky.social"}
    settings = make_settings([source], database_url=database_url)
    app = open_app(settings, clock=clock, transport=LoopbackTransport(server))
    [result] = app.fetch()
    assert (result.status, result.new, result.error) == ("ok", 5, None)
    calls = server.calls_to(ENDPOINT)
    assert [q.get("cursor") for q in calls] == [None, "3"]  # two pages of three
    assert calls[0] == {
        "actor": "curator.bsky.social",
        "limit": "100",
        "filter": "posts_and_author_threads",
    }

    items = {item.url: item for item in app.items()}
    assert set(items) == {
        CHALKBEAT,  # the facet's full URI, not "chalkbeat.org/2026/02/17/tea..."
        "https://news.example.com/ai-law-essay",  # an external embed
        "https://example.org/alice-article",  # the reposted post's link
        "https://example.org/bob-study",  # the quoted post's link, shared by the quote
        "https://bsky.app/profile/curator.bsky.social/post/3d",  # links nowhere: its own item
    }
    assert all([s.name for s in item.sources] == ["Curator"] for item in items.values())
    assert [m.url for m in items[CHALKBEAT].mentions] == [
        "https://bsky.app/profile/curator.bsky.social/post/3a"
    ]
    alice = items["https://example.org/alice-article"]
    assert [m.url for m in alice.mentions] == [
        "https://bsky.app/profile/alice.bsky.social/post/3alice"
    ]
    with app.store.engine.connect() as conn:
        entries = {row.url: row for row in conn.execute(select(entries_t))}
    reposted = entries["https://bsky.app/profile/alice.bsky.social/post/3alice"]
    assert (reposted.author, reposted.guid) == ("Alice A (@alice.bsky.social)",
                                                "repost:at://did:plc:alice/app.bsky.feed.post/3alice")  # fmt: skip
    assert reposted.published_at.replace(tzinfo=UTC) == datetime(2026, 11, 20, 9, 12, tzinfo=UTC)
    quote = entries["https://bsky.app/profile/curator.bsky.social/post/3c"]
    assert "<blockquote>" in quote.content_html and "New study on tutoring" in quote.content_html
    assert (
        entries["https://bsky.app/profile/curator.bsky.social/post/3d"].title
        == "Grading all weekend."
    )

    # Incremental: nothing new ends the paging at the first page; a new post is taken.
    [again] = app.fetch()
    assert (again.new, again.updated) == (0, 0)
    assert len(server.calls_to(ENDPOINT)) == 3
    fake.feeds["curator.bsky.social"].append({"post": post(CURATOR, "3e", "Fresh https://example.org/fresh", 20,
        facets=[link_facet("Fresh https://example.org/fresh", "https://example.org/fresh", "https://example.org/fresh")])})  # fmt: skip
    [third] = app.fetch()
    assert (third.new, third.updated) == (1, 0)
    assert len(server.calls_to(ENDPOINT)) == 4
    assert "https://example.org/fresh" in {item.url for item in app.items()}


def fetch_once(
    server: ApiServer, settings: Settings, options: dict[str, Any], cursor: str | None = None
) -> FetchOutcome:
    source = SourceSettings.model_validate({"name": "B", "kind": "bluesky", **options})
    state = SourceState(1, "B", "bluesky", source.location, options=source.options, cursor=cursor)

    context = FetchContext(settings, lambda: FIXED_NOW, lambda http: None)  # type: ignore[arg-type,return-value]

    async def run() -> FetchOutcome:
        async with HttpClient(settings.http, "test", transport=LoopbackTransport(server)) as http:
            return await BlueskyFetcher(context).fetch(state, http)

    return asyncio.run(run())


def test_entries_credit_the_author_and_the_reposter(
    appview: tuple[ApiServer, BlueskyApi], make_settings: Callable[..., Settings],
) -> None:  # fmt: skip
    server, _ = appview
    outcome = fetch_once(server, make_settings(), {"actor": "curator.bsky.social"})
    by_url = {entry.url: entry for entry in outcome.entries}
    own = by_url["https://bsky.app/profile/curator.bsky.social/post/3a"]
    assert own.links == (CHALKBEAT,) and own.partial_links == ()
    assert (own.author, own.reposted_by) == ("Curator C (@curator.bsky.social)", None)
    assert own.title.startswith("📚 Teacher transfers, studied: chalkbeat.org/2026/02/17/tea...")
    reposted = by_url["https://bsky.app/profile/alice.bsky.social/post/3alice"]
    assert (reposted.author, reposted.reposted_by) == (
        "Alice A (@alice.bsky.social)",
        "@curator.bsky.social",
    )
    assert outcome.cursor == "2026-11-20T09:14:00+00:00"
    without = fetch_once(
        server, make_settings(), {"actor": "curator.bsky.social", "reposts": False}
    )
    assert len(without.entries) == 4


def test_a_spent_quota_stops_the_paging_with_a_warning(
    appview: tuple[ApiServer, BlueskyApi], make_settings: Callable[..., Settings],
) -> None:  # fmt: skip
    server, fake = appview
    reset = datetime.now(UTC) + timedelta(hours=1)
    fake.rate_headers = lambda: {"ratelimit-limit": "3000", "ratelimit-remaining": "0",
                                 "ratelimit-reset": str(int(reset.timestamp())),
                                 "ratelimit-policy": "3000;w=300"}  # fmt: skip
    outcome = fetch_once(server, make_settings(), {"actor": "curator.bsky.social"})
    assert len(outcome.entries) == 3 and "rate limit reached" in outcome.warnings[0]


def test_an_unknown_actor_is_a_clear_error(
    appview: tuple[ApiServer, BlueskyApi], make_settings: Callable[..., Settings],
    database_url: str, clock: Any,
) -> None:  # fmt: skip
    server, _ = appview
    settings = make_settings([{"name": "Ghost", "kind": "bluesky", "actor": "ghost.bsky.social"}],
                             database_url=database_url)  # fmt: skip
    app = open_app(settings, clock=clock, transport=LoopbackTransport(server))
    [result] = app.fetch()
    assert (
        result.error
        == "Bluesky feed of ghost.bsky.social: HTTP 400 Bad Request (Profile not found)"
    )
    assert app.store.status()[0].last_error == result.error


def test_facets_are_byte_offsets() -> None:
    text = "é 🎓 see example.org/a… #tag"
    html, links = rich_text(
        text, [link_facet(text, "example.org/a…", "https://example.org/a-long-path")]
    )
    assert links == ["https://example.org/a-long-path"]
    assert (
        html == '<p>é 🎓 see <a href="https://example.org/a-long-path">example.org/a…</a> #tag</p>'
    )
    broken = [
        {
            "index": {"byteStart": 5, "byteEnd": 999},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://x.org"}],
        }
    ]
    assert rich_text("short", broken) == ("<p>short</p>", [])
