"""OPML: every source kind round-trips through export and import (feeds as every reader knows
them, other kinds in feedbot's own attributes), folders and categories map to topics, and the
exports of other readers (Feedly, Inoreader: nested folders, odd attributes) import cleanly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from feedbot.config import DEFAULT_TOPICS, load_settings, settings_from_dict
from feedbot.errors import ConfigError
from feedbot.opml import parse_opml, render_opml
from tests.conftest import DATA
from tests.test_cli import feedbot

EVERY_KIND: list[dict[str, Any]] = [
    {"name": "Chalkbeat", "url": "https://www.chalkbeat.org/arc/outboundfeeds/rss/", "topics": ["education"],
     "weight": 2.5, "interval_minutes": 15},
    {"name": "arXiv: tutoring", "kind": "arxiv", "categories": ["cs.CL", "cs.CY"],
     "query": 'tutoring OR "language learning"', "topics": ["ai", "education"]},
    {"name": "LTR", "kind": "crossref", "issn": "1362-1688", "max_results": 50},
    {"name": "Dan on Mastodon", "kind": "mastodon", "account": "@dan@mathstodon.xyz", "boosts": False,
     "token_env": "MASTODON_TOKEN", "weight": 0.5},
    {"name": "#edtech", "kind": "mastodon", "hashtag": "edtech", "instance_url": "https://mastodon.social"},
    {"name": "Alice", "kind": "bluesky", "actor": "alice.bsky.social", "max_results": 20},
    {"name": "@mandercorn on X", "kind": "x-paste", "account": "@mandercorn", "path": "pastes/m.txt"},
    {"name": "@old on X", "kind": "x-archive", "account": "@old", "replies": True},
    {"name": "District", "kind": "page", "url": "https://district.example.org/news/",
     "selectors": {"item": "article.news", "link": "h2 a", "date": "time"}, "respect_robots": False,
     "topics": ["education", "law"]},
]  # fmt: skip


def test_every_kind_round_trips() -> None:
    settings = settings_from_dict({"sources": EVERY_KIND})
    document = render_opml(settings.sources, "Mine", settings.topics)
    text = document.decode()
    assert 'xmlns:feedbot="https://github.com/feedbot/feedbot/opml"' in text
    # Feeds are what every reader knows; the other kinds say what they are in feedbot's attributes.
    assert '<outline text="Chalkbeat" title="Chalkbeat" type="rss" xmlUrl=' in text
    assert 'type="feedbot"' in text and 'feedbot:kind="mastodon"' in text
    assert 'feedbot:selectors="{&quot;item&quot;: &quot;article.news&quot;' in text
    assert 'feedbot:categories="[&quot;cs.CL&quot;, &quot;cs.CY&quot;]"' in text
    assert 'feedbot:query="tutoring OR &quot;language learning&quot;"' in text
    # Each source sits in its first topic's folder, all its topics in category.
    assert '<outline text="Education" title="Education">' in text
    assert 'category="education,law"' in text
    # Settings every kind has (digest weight, fetch interval) travel when not the default.
    assert (
        'type="rss" xmlUrl="https://www.chalkbeat.org/arc/outboundfeeds/rss/" feedbot:weight="2.5" feedbot:interval_minutes="15.0"'
        in text
    )
    assert text.count("feedbot:weight=") == 2

    back = sorted(parse_opml(document, settings.topics), key=lambda s: s.name)
    expected = sorted(settings.sources, key=lambda s: s.name)  # read back in folder order
    assert back == expected
    assert [s.options for s in back] == [s.options for s in expected]


def test_general_source_keys_are_every_setting_beside_the_kinds() -> None:
    """OPML and the config writer carry GENERAL_SOURCE_KEYS: it must name every setting of
    SourceSettings other than its identity, or a new one would be lost on export."""
    from feedbot.config import GENERAL_SOURCE_KEYS, SourceSettings

    identity = {"name", "kind", "url", "topics"}
    assert set(GENERAL_SOURCE_KEYS) == set(SourceSettings.model_fields) - identity


def test_round_trip_through_the_config_file(tmp_path: Path) -> None:
    import tomlkit

    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()
    (first / "feedbot.toml").write_text(tomlkit.dumps({"sources": EVERY_KIND}))
    (second / "feedbot.toml").write_text("# my feeds\n")
    exported = feedbot("sources", "export-opml", "--out", str(tmp_path / "all.opml"), cwd=first)
    assert exported.returncode == 0, exported.stderr
    imported = feedbot("sources", "import-opml", str(tmp_path / "all.opml"), cwd=second)
    assert "Imported 9 of 9" in imported.stdout, imported.stderr
    assert (second / "feedbot.toml").read_text().startswith("# my feeds\n")
    again, before = (
        sorted(load_settings(folder / "feedbot.toml").sources, key=lambda s: s.name)
        for folder in (second, first)
    )
    assert again == before


def test_a_feedly_export() -> None:
    sources = parse_opml((DATA / "sources" / "feedly.opml").read_bytes(), DEFAULT_TOPICS)
    assert [(s.name, s.url, s.topics) for s in sources] == [
        ("Chalkbeat", "https://www.chalkbeat.org/arc/outboundfeeds/rss/", ["education"]),
        ("The Hechinger Report", "https://hechingerreport.org/feed/", ["education"]),
        ("Import AI", "https://importai.substack.com/feed", ["ai"]),
        ("Daily Nous", "https://dailynous.com/feed/", []),  # a folder that names no topic
    ]
    assert all(s.kind == "feed" for s in sources)


def test_an_inoreader_export_with_nested_folders() -> None:
    sources = parse_opml((DATA / "sources" / "inoreader.opml").read_bytes(), DEFAULT_TOPICS)
    assert [(s.name, s.url, s.topics) for s in sources] == [
        ("Lawfare", "https://www.lawfaremedia.org/feeds/articles", ["law"]),  # Research/Law
        ("Chalkbeat", "https://www.chalkbeat.org/arc/outboundfeeds/rss/", ["law"]),
        ("Tutoring research", "https://blog.example.org/atom.xml", []),  # xmlurl, lower case
        (
            "News",
            "https://news.example.org/rss",
            ["education", "ai"],
        ),  # category="/Education/K-12,/AI"
        (
            "News (other-news.example.net)",
            "https://other-news.example.net/rss",
            [],
        ),  # names stay unique
    ]  # not the ftp: feed, not the plain web page


def test_feedbot_outlines_with_bad_settings_are_clear_errors() -> None:
    def outline(attributes: str) -> bytes:
        return (
            '<opml version="2.0" xmlns:feedbot="https://github.com/feedbot/feedbot/opml"><body>'
            f'<outline text="X" type="feedbot" {attributes}/></body></opml>'
        ).encode()

    with pytest.raises(ConfigError, match="outline 'X': unknown source kind 'gopher'"):
        parse_opml(outline('feedbot:kind="gopher"'), DEFAULT_TOPICS)
    with pytest.raises(ConfigError, match="outline 'X': account: not an X handle"):
        parse_opml(outline('feedbot:kind="x-paste" feedbot:account="not a handle"'), DEFAULT_TOPICS)
    with pytest.raises(
        ConfigError, match="outline 'X': max_results: Input should be a valid integer"
    ):
        parse_opml(
            outline(
                'feedbot:kind="bluesky" feedbot:actor="a.bsky.social" feedbot:max_results="many"'
            ),
            DEFAULT_TOPICS,
        )
