"""Text with NUL characters from outside (a JSON feed's ``\\u0000``, a page's description):
PostgreSQL's text and jsonb cannot hold NUL, so the store drops it, on both databases alike,
and nothing else of the fetch is lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from feedbot.app import open_app
from feedbot.config import Settings
from feedbot.links.citation import Citation
from feedbot.links.expand import Resolution
from feedbot.links.metadata import PageMetadata
from feedbot.sources import FetchedEntry, FetchOutcome
from feedbot.store import Store

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
ARTICLE = "https://news.example.org/story"


@pytest.fixture
def store(any_database_url: str, make_settings: Callable[..., Settings]) -> Store:
    sources = [{"name": "Alpha", "url": "https://alpha.example.org/feed.json"}]
    return open_app(make_settings(sources, database_url=any_database_url), clock=lambda: NOW).store


def test_nul_in_an_entry_and_a_page_is_dropped_and_the_rest_is_kept(store: Store) -> None:
    [source] = store.active_sources()
    entry = FetchedEntry(
        guid="a\x001", url="https://alpha.example.org/posts/1", title="Nul\x00 title",
        summary_html="<p>body\x00 text</p>", author="Al\x00ice", links=(ARTICLE,),
        published_at=NOW,
        citation=None,
    )  # fmt: skip
    paper = FetchedEntry(
        guid="p1", url="https://alpha.example.org/posts/2", title="A paper",
        links=("https://doi.org/10.5555/nul",), published_at=NOW,
        citation=Citation("Paper\x00 title", doi="10.5555/nul", abstract="<p>x\x00y</p>"),
    )  # fmt: skip
    store.save_outcome(source.id, FetchOutcome("ok", entries=(entry, paper)), NOW, NOW)
    due = dict((url, rid) for rid, url in store.resolutions_due(NOW, 3))
    page = PageMetadata(title="The\x00 story", description="Said\x00 so", site_name="N\x00ews")
    found = Resolution(url=ARTICLE, outcome="ok", chain=(), final_url=ARTICLE,
                       canonical_url=ARTICLE, http_status=200, content_type="text/html",
                       metadata=page)  # fmt: skip
    store.save_resolutions([(due[ARTICLE], found)], NOW, 1.0, 3)

    items = {item.url: item for item in store.items()}
    story = items[ARTICLE]
    assert story.title == "The story"
    assert story.summary_text == "Said so"
    assert [m.title for m in story.mentions] == ["Nul title"]
    assert [m.author for m in story.mentions] == ["Alice"]
    assert items["https://doi.org/10.5555/nul"].title == "Paper title"
    assert not any("\x00" in repr(item) for item in items.values())
