"""The store on SQLite and PostgreSQL: idempotent upserts, merges, failures, migrations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from feedbot.app import open_app
from feedbot.db import SCHEMA_HEAD, current_revision, head_revision, make_engine, upgrade
from feedbot.sources import FetchedEntry, FetchOutcome
from feedbot.store import Store

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def entry(guid: str, url: str | None = None, title: str = "T", summary: str = "") -> FetchedEntry:
    url = url if url is not None else f"https://news.example.org/{guid}"
    return FetchedEntry(
        guid=guid,
        url=url,
        links=(url,),
        title=title,
        summary_html=summary,
        published_at=datetime(2026, 11, 22, 9, 0, tzinfo=UTC),
    )


@pytest.fixture
def store(any_database_url: str, make_settings) -> Store:  # type: ignore[no-untyped-def]
    settings = make_settings(
        [
            {"name": "Alpha", "url": "https://alpha.example.org/feed", "topics": ["education"]},
            {"name": "Beta", "url": "https://beta.example.org/feed"},
        ],
        database_url=any_database_url,
    )
    return open_app(settings, clock=lambda: NOW).store


def ids(store: Store) -> dict[str, int]:
    return {source.name: source.id for source in store.active_sources()}


def test_saving_the_same_entries_twice_stores_nothing_twice(store: Store) -> None:
    alpha = ids(store)["Alpha"]
    outcome = FetchOutcome(status="ok", entries=(entry("a1"), entry("a2")), etag='"v1"')
    first = store.save_outcome(alpha, outcome, NOW, NOW)
    second = store.save_outcome(alpha, outcome, NOW, NOW)
    assert (first.new, first.updated) == (2, 0)
    assert (second.new, second.updated) == (0, 0)
    counts = store.counts()
    assert (counts["entries"], counts["links"], counts["mentions"]) == (2, 2, 2)


def test_a_changed_entry_is_updated_in_place(store: Store) -> None:
    alpha = ids(store)["Alpha"]
    store.save_outcome(alpha, FetchOutcome("ok", entries=(entry("a1", title="Old"),)), NOW, NOW)
    result = store.save_outcome(
        alpha, FetchOutcome("ok", entries=(entry("a1", title="New title"),)), NOW, NOW
    )
    assert (result.new, result.updated) == (0, 1)
    items = store.items()
    assert [item.title for item in items] == ["New title"]
    assert store.counts()["entries"] == 1


def test_same_article_from_two_sources_is_one_item_shared_by_two(store: Store) -> None:
    source_ids = ids(store)
    url = "https://news.example.org/story"
    store.save_outcome(
        source_ids["Alpha"], FetchOutcome("ok", entries=(entry("x", url),)), NOW, NOW
    )
    store.save_outcome(
        source_ids["Beta"],
        FetchOutcome("ok", entries=(entry("y", url + "?utm_source=feed#top"),)),
        NOW,
        NOW,
    )
    [item] = store.items()
    assert item.url == url
    assert item.shared_by == 2
    assert {s.name for s in item.sources} == {"Alpha", "Beta"}
    assert set(item.reached_by) == {url, url + "?utm_source=feed#top"}


def test_failure_is_recorded_and_earlier_data_kept(store: Store) -> None:
    alpha = ids(store)["Alpha"]
    store.save_outcome(alpha, FetchOutcome("ok", entries=(entry("a1"),)), NOW, NOW)
    store.record_failure(alpha, "HTTP 500 Internal Server Error", NOW, NOW)
    store.record_failure(alpha, "timed out after 5s", NOW, NOW)
    [row] = [s for s in store.status() if s.name == "Alpha"]
    assert row.consecutive_failures == 2
    assert row.last_error == "timed out after 5s"
    assert row.entries == 1
    assert row.last_success_at == NOW
    store.save_outcome(alpha, FetchOutcome("not_modified", http_status=304), NOW, NOW)
    [row] = [s for s in store.status() if s.name == "Alpha"]
    assert row.consecutive_failures == 0 and row.last_error is None


def test_status_counts_entries_or_only_tells_which_sources_have_any(store: Store) -> None:
    alpha = ids(store)["Alpha"]
    entries = (entry("a1"), entry("a2"), entry("a3"))
    store.save_outcome(alpha, FetchOutcome("ok", entries=entries), NOW, NOW)
    counted = {s.name: s.entries for s in store.status()}
    told = {s.name: s.entries for s in store.status(counted=False)}
    assert counted["Alpha"] == 3 and told["Alpha"] == 1
    without = {name for name, n in counted.items() if n == 0}
    assert without == {name for name, n in told.items() if n == 0} != set()


def test_conditional_get_validators_are_kept_per_source(store: Store) -> None:
    alpha = ids(store)["Alpha"]
    store.save_outcome(
        alpha,
        FetchOutcome("ok", etag='"abc"', last_modified="Mon, 23 Nov 2026 10:00:00 GMT"),
        NOW,
        NOW,
    )
    [state] = [s for s in store.active_sources() if s.id == alpha]
    assert state.etag == '"abc"'
    assert state.last_modified == "Mon, 23 Nov 2026 10:00:00 GMT"


def test_removed_source_is_deactivated_not_deleted(any_database_url: str, make_settings) -> None:  # type: ignore[no-untyped-def]
    sources = [{"name": "Alpha", "url": "https://alpha.example.org/feed"}]
    app = open_app(make_settings(sources, database_url=any_database_url), clock=lambda: NOW)
    alpha = ids(app.store)["Alpha"]
    app.store.save_outcome(alpha, FetchOutcome("ok", entries=(entry("a1"),)), NOW, NOW)
    app = open_app(make_settings([], database_url=any_database_url), clock=lambda: NOW)
    assert app.store.active_sources() == []
    assert len(app.store.items()) == 1
    [row] = app.store.status()
    assert (row.name, row.active, row.entries) == ("Alpha", False, 1)


def test_datetimes_come_back_as_aware_utc(store: Store) -> None:
    alpha = ids(store)["Alpha"]
    store.save_outcome(alpha, FetchOutcome("ok", entries=(entry("a1"),)), NOW, NOW)
    [item] = store.items()
    assert item.date == datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    assert item.first_seen_at.tzinfo is not None


def test_migrations_match_the_models(any_database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = make_engine(any_database_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision() == SCHEMA_HEAD
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    assert {"sources", "entries", "links", "mentions", "topics", "link_topics", "digests"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_upgrading_a_0001_database_keeps_its_links_and_queues_them_for_resolution(
    any_database_url: str,
) -> None:
    """A database written before the links stage: its links become pending resolutions of their
    own URL, its mentions point at them, and nothing is lost."""
    from alembic import command
    from sqlalchemy import text

    from feedbot.db import alembic_config

    engine = make_engine(any_database_url)
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO sources (id, name, slug, kind, url, default_topics, active,"
            " consecutive_failures) VALUES (1, 'A', 'a', 'feed', 'https://a.example/feed',"
            " '[]', true, 0)"
        ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO entries (id, source_id, guid, title, summary_html, content_html,"
            " content_hash) VALUES (1, 1, 'g1', 'T', '', '', 'h')"
        ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO links (id, url, needs_tagging) VALUES (7, 'https://news.example.org/a',"
            " false)"
        ))  # fmt: skip
        conn.execute(text(
            "INSERT INTO mentions (entry_id, link_id, url) VALUES (1, 7,"
            " 'https://news.example.org/a?utm_source=x')"
        ))  # fmt: skip
    upgrade(engine)
    store = Store(engine)
    assert store.resolutions_due(NOW, max_attempts=3) == [(1, "https://news.example.org/a")]
    with engine.connect() as conn:
        mention = conn.execute(text("SELECT link_id, resolution_id FROM mentions")).one()
    assert tuple(mention) == (7, 1)
    [item] = store.items()
    assert (item.url, item.reached_by) == (
        "https://news.example.org/a",
        ("https://news.example.org/a?utm_source=x",),
    )
    engine.dispose()
