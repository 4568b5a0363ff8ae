"""Mastodon sources against a local server speaking the documented API: account lookup, paging by
``Link`` headers (``max_id`` back, ``min_id`` forward), boosts credited to their author, cards,
links inside the HTML, hashtag timelines, tokens, and the rate-limit headers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from feedbot.app import App, open_app
from feedbot.config import Settings, SourceSettings
from feedbot.fixture_server import LoopbackTransport
from feedbot.http import HttpClient
from feedbot.sources import FetchContext, FetchOutcome, SourceState
from feedbot.sources.mastodon import MastodonFetcher
from feedbot.store import entries_t, partial_links_t
from tests.api_fakes import ApiServer, MastodonApi, account, json_route, status
from tests.conftest import FIXED_NOW

CHALKBEAT = "https://www.chalkbeat.org/2026/02/17/teacher-transfer-study/"
ESSAY = "https://news.example.com/ai-law-essay"
CURATOR = account("curator", "7", "Curator C")
ALICE = account("alice@other.example", "90", "Alice A")
BOB = account("bob", "8", "Bob B")

# Mastodon's HTML: a long link shown cut short in spans, a mention and a hashtag.
LINKED = (
    f'<p>Teacher transfers, studied <a href="{CHALKBEAT}" rel="nofollow noopener" translate="no" '
    'target="_blank"><span class="invisible">https://www.</span><span class="ellipsis">'
    'chalkbeat.org/2026/02/17/tea</span><span class="invisible">cher-transfer-study/</span></a> '
    'via <span class="h-card"><a href="https://social.example/@chalkbeat" class="u-url mention">'
    '@<span>chalkbeat</span></a></span> <a href="https://social.example/tags/education" '
    'class="mention hashtag" rel="tag">#<span>education</span></a></p>'
)


def curator_statuses() -> list[dict[str, Any]]:
    alice_post = status(555, ALICE, "<p>A brilliant essay on AI and the law.</p>", card={
        "url": ESSAY, "title": "AI, the law and the republic", "description": "An essay."})  # fmt: skip
    return [
        status(1001, CURATOR, LINKED),
        status(1002, CURATOR, "", reblog=alice_post),
        status(1003, CURATOR, "<p>Thinking about grading today. No link, just a thought.</p>"),
        status(1004, CURATOR, '<p><a href="https://secret.example/">dm</a></p>', visibility="direct"),
        status(1005, CURATOR, '<p><a href="https://reply.example/">re</a></p>', in_reply_to=("4", "8")),
        status(1006, CURATOR, "<p>New article on prophets and AI cambridge.org/core/journals/…</p>"),
        *[status(i, CURATOR, f'<p>Read <a href="https://example.org/articles/{i}">this</a></p>')
          for i in range(1010, 1050)],
    ]  # fmt: skip


@pytest.fixture
def api() -> Iterator[tuple[ApiServer, MastodonApi]]:
    fake = MastodonApi(accounts={"curator": CURATOR}, statuses={"7": curator_statuses()})
    with ApiServer() as server:
        fake.install(server)
        yield server, fake


def mastodon_app(
    server: ApiServer, make_settings: Callable[..., Settings], database_url: str, clock: Any,
    sources: list[dict[str, Any]], **overrides: Any,
) -> App:  # fmt: skip
    settings = make_settings(sources, database_url=database_url, **overrides)
    return open_app(settings, clock=clock, transport=LoopbackTransport(server))


def stored(app: App) -> dict[str, Any]:
    with app.store.engine.connect() as conn:
        return {row.url: row for row in conn.execute(select(entries_t))}


def test_an_account_its_boosts_cards_links_and_paging(
    api: tuple[ApiServer, MastodonApi], make_settings: Callable[..., Settings],
    database_url: str, clock: Any,
) -> None:  # fmt: skip
    server, fake = api
    source = {"name": "Curator", "kind": "mastodon", "account": "@curator@social.example"}
    app = mastodon_app(server, make_settings, database_url, clock, [source])
    [result] = app.fetch()
    assert (result.status, result.new, result.error) == (
        "ok",
        44,
        None,
    )  # not the DM, not the reply

    timeline = "social.example/api/v1/accounts/7/statuses"
    assert [q["acct"] for q in server.calls_to("social.example/api/v1/accounts/lookup")] == [
        "curator"
    ]
    pages = server.calls_to(timeline)
    assert [q.get("max_id") for q in pages] == [None, "1010"]  # the second from rel="next"
    assert pages[0] == {"limit": "40", "exclude_replies": "true"}

    items = {item.url: item for item in app.items()}
    chalkbeat = items[CHALKBEAT]  # the link's full URL, not its display, mention or hashtag
    assert [s.name for s in chalkbeat.sources] == ["Curator"]
    assert [m.url for m in chalkbeat.mentions] == ["https://social.example/@curator/1001"]
    assert not any("tags/education" in url or "@chalkbeat" in url for url in items)
    assert "https://secret.example/" not in items and "https://reply.example/" not in items

    essay = items[ESSAY]  # the boost: the boosted post's card, shared by the booster's source
    assert [s.name for s in essay.sources] == ["Curator"]
    assert [m.url for m in essay.mentions] == ["https://other.example/@alice/555"]
    # The post is Alice's; the booster is kept beside it, for the site and digest to say so.
    [(author, booster)] = [(m.author, m.reposted_by) for m in essay.mentions]
    assert (author, booster) == ("Alice A (@alice@other.example)", "@curator@social.example")
    entries = stored(app)
    boost = entries["https://other.example/@alice/555"]
    assert boost.author == "Alice A (@alice@other.example)"
    assert boost.guid == "https://social.example/users/curator/statuses/1002/activity"
    assert "A brilliant essay on AI and the law." in boost.content_html
    assert "AI, the law and the republic" in boost.content_html  # the card, shown

    thought = items["https://social.example/@curator/1003"]  # links nowhere: its own item
    assert thought.title == "Thinking about grading today. No link, just a thought."
    assert (
        entries["https://social.example/@curator/1003"].author
        == "Curator C (@curator@social.example)"
    )
    with app.store.engine.connect() as conn:
        partial = [row.text for row in conn.execute(select(partial_links_t))]
    assert partial == ["cambridge.org/core/journals/…"]

    # New statuses: the next fetch pages forward from the newest one seen, with no lookup.
    fake.statuses["7"].append(
        status(1050, CURATOR, '<p><a href="https://example.org/new">new</a></p>')
    )
    fake.statuses["7"].append(
        status(1051, CURATOR, "", reblog=status(556, BOB, "<p>Bob's idea.</p>"))
    )
    [again] = app.fetch()
    assert (again.status, again.new, again.updated) == ("ok", 2, 0)
    assert server.calls_to(timeline)[-1] == {
        "limit": "40",
        "exclude_replies": "true",
        "min_id": "1049",
    }
    assert len(server.calls_to("social.example/api/v1/accounts/lookup")) == 1
    assert stored(app)["https://social.example/@bob/556"].author == "Bob B (@bob@social.example)"
    [third] = app.fetch()
    assert (third.new, third.updated) == (0, 0)
    assert server.calls_to(timeline)[-1]["min_id"] == "1051"


def test_a_boost_is_credited_to_its_author_with_the_booster_aside(
    api: tuple[ApiServer, MastodonApi], make_settings: Callable[..., Settings],
) -> None:  # fmt: skip
    server, _ = api
    outcome = fetch_once(server, make_settings(), {"account": "@curator@social.example"})
    by_url = {entry.url: entry for entry in outcome.entries}
    boost = by_url["https://other.example/@alice/555"]
    assert (boost.author, boost.reposted_by) == (
        "Alice A (@alice@other.example)",
        "@curator@social.example",
    )
    assert boost.links == (ESSAY,)
    own = by_url["https://social.example/@curator/1001"]
    assert (own.reposted_by, own.links) == (None, (CHALKBEAT,))
    assert own.title == f"Teacher transfers, studied {CHALKBEAT} via @chalkbeat #education"
    assert by_url["https://social.example/@curator/1003"].links == (
        "https://social.example/@curator/1003",
    )
    assert [p.text for p in by_url["https://social.example/@curator/1006"].partial_links] == [
        "cambridge.org/core/journals/…"
    ]
    assert "{" in (outcome.cursor or "") and '"newest": "1049"' in (outcome.cursor or "")


def fetch_once(
    server: ApiServer, settings: Settings, options: dict[str, Any], cursor: str | None = None,
    sleep: Callable[[float], Any] | None = None,
) -> FetchOutcome:  # fmt: skip
    source = SourceSettings.model_validate({"name": "M", "kind": "mastodon", **options})
    state = SourceState(1, "M", "mastodon", source.location, options=source.options, cursor=cursor)

    async def run() -> FetchOutcome:
        context = FetchContext(settings, lambda: FIXED_NOW, lambda http: None)  # type: ignore[arg-type,return-value]
        fetcher = MastodonFetcher(context, **({"sleep": sleep} if sleep else {}))
        async with HttpClient(settings.http, "test", transport=LoopbackTransport(server)) as http:
            return await fetcher.fetch(state, http)

    return asyncio.run(run())


def test_a_spent_quota_waits_for_its_reset_or_stops_and_goes_on_next_time(
    api: tuple[ApiServer, MastodonApi], make_settings: Callable[..., Settings],
) -> None:  # fmt: skip
    server, fake = api
    reset = {"at": datetime.now(UTC) + timedelta(hours=1)}
    fake.rate_headers = lambda: {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0",
                                 "X-RateLimit-Reset": reset["at"].isoformat()}  # fmt: skip
    settings = make_settings()
    options = {"account": "@curator@social.example"}
    # Going forward from status 1000, the quota is spent after the first page and resets in an
    # hour: the fetch keeps that page, says why it stopped, and its cursor leaves no gap.
    cursor = '{"account_id": "7", "newest": "1000"}'
    first = fetch_once(server, settings, options, cursor)
    assert len(first.entries) == 39 and "rate limit reached" in first.warnings[0]  # 40 less the DM
    assert '"newest": "1044"' in (first.cursor or "")
    second = fetch_once(server, settings, options, first.cursor)
    assert {e.url for e in second.entries} == {
        f"https://social.example/@curator/{i}" for i in range(1045, 1050)
    }

    # A reset within http.max_retry_after_seconds is waited for.
    reset["at"] = datetime.now(UTC) + timedelta(seconds=30)
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    whole = fetch_once(server, settings, options, cursor, sleep=sleep)
    assert len(whole.entries) == 44 and not whole.warnings
    assert len(waited) == 1 and 20 < waited[0] <= 30


def test_429_with_retry_after_is_retried(
    api: tuple[ApiServer, MastodonApi], make_settings: Callable[..., Settings],
) -> None:  # fmt: skip
    server, _ = api
    path = "social.example/api/v1/accounts/7/statuses"
    normal = server.api[path]
    answers = iter([json_route({"error": "Too many requests"}, 429, {"Retry-After": "0"})])
    server.api[path] = lambda query, headers: next(answers, None) or normal(query, headers)
    outcome = fetch_once(
        server, make_settings(http={"retries": 1}), {"account": "@curator@social.example"}
    )
    assert len(outcome.entries) == 44
    assert len(server.calls_to(path)) == 3  # the 429, its retry, the second page


def test_a_hashtag_timeline_with_a_token_from_the_environment(
    make_settings: Callable[..., Settings], database_url: str, clock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    tagged = [
        status(2001, BOB, '<p><a href="https://example.org/tutoring">Tutoring</a> #edtech</p>'),
        status(
            2002, ALICE, '<p><a href="https://example.org/reply">re</a></p>', in_reply_to=("1", "8")
        ),
        status(2003, ALICE, '<p>Same <a href="https://example.org/tutoring">study</a></p>'),
    ]
    fake = MastodonApi(tags={"edtech": tagged}, token="s3cret")
    monkeypatch.delenv("FEEDBOT_TEST_TOKEN", raising=False)
    with ApiServer() as server:
        fake.install(server)
        source = {"name": "#edtech", "kind": "mastodon", "hashtag": "#edtech",
                  "instance_url": "https://social.example/", "token_env": "FEEDBOT_TEST_TOKEN"}  # fmt: skip
        app = mastodon_app(server, make_settings, database_url, clock, [source])
        [failed] = app.fetch()
        assert failed.status == "error"
        assert failed.error == "environment variable FEEDBOT_TEST_TOKEN (token_env) is not set"
        monkeypatch.setenv("FEEDBOT_TEST_TOKEN", "s3cret")
        [result] = app.fetch()
        assert (result.status, result.new) == ("ok", 2)  # the reply to someone else left out
        [(_, _, headers)] = server.calls[-1:]
        assert headers["authorization"] == "Bearer s3cret"
    [row] = [r for r in app.store.status() if r.name == "#edtech"]
    assert row.url == "https://social.example/tags/edtech"
    [item] = app.items()
    assert item.url == "https://example.org/tutoring" and item.mention_count == 2
    assert {e.author for e in stored(app).values()} == {"Bob B (@bob@social.example)",
                                                        "Alice A (@alice@other.example)"}  # fmt: skip


def test_unknown_account_and_closed_timeline_are_clear_recorded_errors(
    api: tuple[ApiServer, MastodonApi], make_settings: Callable[..., Settings],
    database_url: str, clock: Any,
) -> None:  # fmt: skip
    server, fake = api
    fake.token = "needed"
    sources = [
        {"name": "Nobody", "kind": "mastodon", "account": "@nobody@social.example"},
        {"name": "Curator", "kind": "mastodon", "account": "curator@social.example"},
    ]
    app = mastodon_app(server, make_settings, database_url, clock, sources)
    results = {r.name: r for r in app.fetch()}
    assert results["Nobody"].error == (
        "Mastodon account @nobody@social.example not found on https://social.example"
    )
    assert results["Curator"].error == (
        "Mastodon statuses of @curator@social.example: HTTP 401 Unauthorized "
        "(This API requires an authenticated user)"
    )
    errors = {row.name: row.last_error for row in app.store.status()}
    assert errors["Nobody"] == results["Nobody"].error


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "give an account or a hashtag"),
        ({"account": "curator"}, "not a Mastodon account: 'curator'"),
        ({"hashtag": "edtech"}, "a hashtag needs instance_url"),
        (
            {"account": "@a@b.org", "instance_url": "ftp://b.org"},
            "expected the instance's base URL",
        ),
    ],
)
def test_settings_are_checked(
    make_settings: Callable[..., Settings], options: dict[str, Any], message: str
) -> None:
    from feedbot.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        make_settings([{"name": "M", "kind": "mastodon", **options}])
