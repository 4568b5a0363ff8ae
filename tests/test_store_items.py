"""``Store.items()``, the read of every published item, on SQLite and PostgreSQL: the order of an
item's sharers, its dates (aware UTC), its summary text, and the plain-text paragraph helper the
read uses in place of parsing HTML (``text_paragraph``), which must give exactly what
``html_to_text`` gives."""

from __future__ import annotations

import gc
import html
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from feedbot.app import open_app
from feedbot.config import Settings
from feedbot.links.expand import Resolution
from feedbot.links.metadata import PageMetadata
from feedbot.sanitize import excerpt, html_to_text, text_paragraph
from feedbot.sources import FetchedEntry, FetchOutcome
from feedbot.store import Store

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
POSTED = datetime(2026, 11, 22, 9, 0, 0, 250_000, tzinfo=UTC)
ARTICLE = "https://news.example.org/story"
SOURCES = [
    {"name": "Beta", "url": "https://beta.example.org/feed"},
    {"name": "Alpha", "url": "https://alpha.example.org/feed"},
    {"name": "Gamma", "url": "https://gamma.example.org/feed"},
]


@pytest.fixture
def store(any_database_url: str, make_settings: Callable[..., Settings]) -> Store:
    settings = make_settings(SOURCES, database_url=any_database_url)
    return open_app(settings, clock=lambda: NOW).store


def post(store: Store, source: str, guid: str, published: datetime | None, seen: datetime) -> None:
    ids = {s.name: s.id for s in store.active_sources()}
    entry = FetchedEntry(
        guid=guid,
        url=f"https://{source.lower()}.example.org/posts/{guid}",
        title=f"{source} {guid}",
        links=(ARTICLE,),
        published_at=published,
    )
    store.save_outcome(ids[source], FetchOutcome("ok", entries=(entry,)), seen, seen)


def test_sharers_are_ordered_by_date_then_source_then_first_seen(store: Store) -> None:
    # Saved in an order unlike the one shown. Posts dated alike are by source name, then by
    # when first seen (not the order saved); a post dated a week ahead of when it was seen
    # is not believed (it counts as seen), nor is one with no date.
    post(store, "Gamma", "g1", POSTED + timedelta(hours=2), NOW)
    post(store, "Beta", "b1", POSTED, NOW + timedelta(minutes=1))
    post(store, "Alpha", "a1", POSTED, NOW + timedelta(minutes=2))
    post(store, "Beta", "b3", POSTED + timedelta(hours=1), NOW + timedelta(minutes=3))
    post(store, "Beta", "b2", None, POSTED + timedelta(hours=1))
    post(store, "Alpha", "a2", NOW + timedelta(days=7), POSTED + timedelta(hours=1))

    [item] = store.items()
    later = POSTED + timedelta(hours=1)
    assert [(m.title, m.date) for m in item.mentions] == [
        ("Alpha a1", POSTED),
        ("Beta b1", POSTED),
        ("Alpha a2", later),
        ("Beta b2", later),
        ("Beta b3", later),
        ("Gamma g1", POSTED + timedelta(hours=2)),
    ]
    assert all(m.date.tzinfo is UTC for m in item.mentions)
    assert item.date == POSTED and item.first_seen_at == NOW
    assert item.first_seen_at.tzinfo is UTC
    assert [s.name for s in item.sources] == ["Alpha", "Beta", "Gamma"]
    assert item.mentions[0].source is item.sources[0]
    assert item.mention_count == 6 and item.reached_by == (ARTICLE,)
    assert store.items([item.id]) == [item]


TRICKY = [
    "plain words",
    "  spaces\tand\nlines\r\nand\rreturns  ",
    "Tom & Jerry <b>not bold</b> &amp; &lt;kept&gt; 'quotes' \"too\"",
    "no\u00a0break\u3000ideographic\u2028line\x85next\x1cseparators",
    "a NUL\x00 inside",
    "",
    "\x00",
    "<!-- not a comment --> <script>alert(1)</script> ]]> <?php ?>",
    "emoji 😀 and combining e\u0301 and \ufeff and \ufffe",
]


@pytest.mark.parametrize("text", TRICKY)
def test_text_paragraph_is_exactly_what_html_to_text_reads(text: str) -> None:
    paragraph, plain = text_paragraph(text)
    assert paragraph == f"<p>{html.escape(text)}</p>"
    assert plain == html_to_text(paragraph)


def test_html_to_text_folds_every_kind_of_white_space() -> None:
    assert html_to_text("<p>a \u3000\t b</p>\n<p>c\u2028d</p>") == "a b c d"
    assert html_to_text("<p>a  b</p><p>c</p>", lines=True) == "a b\nc"


def test_a_summary_from_the_page_description_reads_as_its_text(store: Store) -> None:
    post(store, "Alpha", "a1", POSTED, NOW)
    description = "Schools &amp; <tools>\r\n —  a\u00a0report " + "word " * 80
    due = dict((url, rid) for rid, url in store.resolutions_due(NOW, 3))
    page = PageMetadata(title="The story", description=description)
    found = Resolution(url=ARTICLE, outcome="ok", chain=(), final_url=ARTICLE,
                       canonical_url=ARTICLE, http_status=200, content_type="text/html",
                       metadata=page)  # fmt: skip
    store.save_resolutions([(due[ARTICLE], found)], NOW, 1.0, 3)

    [item] = store.items()
    assert item.title == "The story"
    assert item.summary_html == f"<p>{html.escape(description)}</p>"
    assert item.summary_text == excerpt(html_to_text(item.summary_html))
    assert item.summary_text.startswith("Schools &amp; <tools> — a report word")
    assert item.summary_text.endswith("…")


def test_reading_items_leaves_the_garbage_collector_as_it_was(store: Store) -> None:
    post(store, "Alpha", "a1", POSTED, NOW)
    assert gc.isenabled()
    assert len(store.items()) == 1
    assert gc.isenabled()
    gc.disable()
    try:
        assert len(store.items()) == 1
        assert not gc.isenabled()
    finally:
        gc.enable()
