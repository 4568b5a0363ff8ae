"""The feeds against their specifications: the elements each format requires (RSS 2.0, Atom as
RFC 4287 defines it, JSON Feed 1.1), date formats (RFC 822, RFC 3339), stable ids, escaping and
sanitizing; and each feed read back by feedparser, as feed readers would."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import feedparser
import pytest

from feedbot.config import settings_from_dict
from feedbot.links.citation import Author, Citation
from feedbot.publish import site
from feedbot.publish.feeds import rfc822, rfc3339
from feedbot.publish.render import make_environment
from feedbot.records import Item, MentionRef, SourceRef, SourceStatus, TopicRef

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "https://example.org/digest/"
TOPICS = [TopicRef("education", "Education"), TopicRef("ai", "AI")]
SOURCE = SourceRef("Notes & Links", "notes-links")
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d\d:\d\d:\d\d ([+-]\d{4}|GMT)$"
)


def make_item(number: int, **changes: Any) -> Item:
    when = NOW - timedelta(hours=3 * number)
    url = f"https://news.example.org/{number}"
    values: dict[str, Any] = dict(
        id=number, url=url, title=f"Item {number}", summary_html=f"<p>About {number}.</p>",
        summary_text=f"About {number}.", date=when, first_seen_at=when, sources=(SOURCE,),
        topics=(TOPICS[number % 2],), reached_by=(url,), mention_count=1,
        mentions=(MentionRef(SOURCE, f"Item {number}", url, url, when),),
    )  # fmt: skip
    values.update(changes)
    return Item(**values)


def examples() -> list[Item]:
    hostile = make_item(
        1,
        title="Tom & Jerry <b>bold</b> \x0b \"quoted\"",
        summary_html='<p onclick="x()">Kept <em>emphasis</em><script>alert(1)</script>'
        '<img src="javascript:alert(2)"></p>',
        summary_text="Kept emphasis",
    )  # fmt: skip
    post = make_item(
        2, url="urn:feedbot:post:x:77", title="A post with no address",
        summary_html="<p>Only text.</p>", summary_text="Only text.",
        date=datetime(2026, 11, 23, 9, 30, tzinfo=ZoneInfo("America/New_York")),
    )  # fmt: skip
    paper = make_item(
        3, url="https://doi.org/10.1234/abc", doi="10.1234/abc",
        citation=Citation("A paper", doi="10.1234/abc", authors=(Author("Ng", "A."),), year=2026),
        image_url="https://img.example.org/p.png",
    )  # fmt: skip
    return [hostile, post, paper, *(make_item(n) for n in range(4, 9))]


@pytest.fixture
def build(tmp_path: Path) -> Callable[[list[Item]], Path]:
    def run(items: list[Item]) -> Path:
        settings = settings_from_dict(
            {"title": "Spec & Co", "base_url": BASE, "feed_items": 50}, tmp_path / "feedbot.toml"
        )
        env = make_environment(settings.zone)
        sources = [SourceStatus(SOURCE.name, SOURCE.slug, "feed", "https://n.example/f", True,
                                None, NOW, NOW, None, None, None, 0, 1)]  # fmt: skip
        ordered = sorted(items, key=lambda i: (i.date, i.url), reverse=True)
        return site.build_site(ordered, TOPICS, sources, settings, env, NOW).out_dir

    return run


def feed_files(out: Path, kind: str) -> list[Path]:
    patterns = {"rss": ["feed.xml", "topics/*.xml"], "atom": ["atom.xml", "topics/*.atom"],
                "json": ["feed.json", "topics/*.json"]}[kind]  # fmt: skip
    found = [p for pattern in patterns for p in sorted(out.glob(pattern))]
    assert len(found) == 1 + len(TOPICS)
    return found


def test_rss_has_what_rss_2_requires(build: Callable[[list[Item]], Path]) -> None:
    items = examples()
    out = build(items)
    by_url = {item.url: item for item in items}
    for path in feed_files(out, "rss"):
        root = ET.fromstring(path.read_bytes())
        assert root.tag == "rss" and root.get("version") == "2.0"
        channel = root.find("channel")
        assert channel is not None
        for required in ("title", "link", "description"):
            assert (channel.findtext(required) or "").strip(), (path.name, required)
        assert channel.findtext("link", "").startswith(BASE)
        [self_link] = channel.findall(f"{ATOM}link")
        assert self_link.get("rel") == "self"
        assert self_link.get("href") == BASE + path.relative_to(out).as_posix()
        entries = channel.findall("item")
        assert entries
        for entry in entries:
            assert entry.findtext("title") or entry.findtext("description")
            guid = entry.find("guid")
            assert guid is not None and guid.text in by_url
            item = by_url[guid.text]
            assert guid.get("isPermaLink") == ("true" if item.href else "false")
            assert entry.findtext("link") == item.href  # none for a post without an address
            published = entry.findtext("pubDate", "")
            assert RFC822.match(published), published
            assert parsedate_to_datetime(published) == item.date
        newest = max(parsedate_to_datetime(e.findtext("pubDate", "")) for e in entries)
        assert parsedate_to_datetime(channel.findtext("lastBuildDate", "")) == newest


def test_atom_has_what_rfc_4287_requires(build: Callable[[list[Item]], Path]) -> None:
    items = examples()
    out = build(items)
    by_url = {item.url: item for item in items}
    for path in feed_files(out, "atom"):
        root = ET.fromstring(path.read_bytes())
        assert root.tag == f"{ATOM}feed"
        for required in ("id", "title", "updated"):
            assert len(root.findall(f"{ATOM}{required}")) == 1, required
        assert urlsplit(root.findtext(f"{ATOM}id", "")).scheme == "https"
        assert root.findtext(f"{ATOM}author/{ATOM}name")  # entries inherit the feed's author
        links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
        assert links["self"] == BASE + path.relative_to(out).as_posix()
        assert links["alternate"].startswith(BASE)
        updated = root.findtext(f"{ATOM}updated", "")
        assert RFC3339.match(updated)
        ids = []
        for entry in root.findall(f"{ATOM}entry"):
            for required in ("id", "title", "updated"):
                assert len(entry.findall(f"{ATOM}{required}")) == 1, required
            entry_id = entry.findtext(f"{ATOM}id", "")
            ids.append(entry_id)
            item = by_url[entry_id]
            assert urlsplit(entry_id).scheme in ("https", "urn")  # an IRI
            for when in ("updated", "published"):
                stamp = entry.findtext(f"{ATOM}{when}", "")
                assert RFC3339.match(stamp), stamp
                assert datetime.fromisoformat(stamp) == item.date
            alternate = [e for e in entry.findall(f"{ATOM}link") if e.get("rel") == "alternate"]
            if item.href:
                assert [e.get("href") for e in alternate] == [item.href]
            else:  # RFC 4287 4.1.1: an entry with no alternate link must have content
                assert alternate == [] and entry.find(f"{ATOM}content") is not None
            for body in ("summary", "content"):
                found = entry.find(f"{ATOM}{body}")
                if found is not None:
                    assert found.get("type") == "html"
        assert len(ids) == len(set(ids))
        assert updated == max(entry.findtext(f"{ATOM}updated", "") for entry in
                              root.findall(f"{ATOM}entry"))  # fmt: skip


def test_json_feed_has_what_version_1_1_requires(build: Callable[[list[Item]], Path]) -> None:
    items = examples()
    out = build(items)
    by_url = {item.url: item for item in items}
    for path in feed_files(out, "json"):
        document = json.loads(path.read_bytes())
        assert document["version"] == "https://jsonfeed.org/version/1.1"
        assert document["title"]
        assert document["feed_url"] == BASE + path.relative_to(out).as_posix()
        assert document["home_page_url"].startswith(BASE)
        ids = [entry["id"] for entry in document["items"]]
        assert len(ids) == len(set(ids)) and all(isinstance(i, str) for i in ids)
        for entry in document["items"]:
            item = by_url[entry["id"]]
            assert entry.get("content_html") or entry.get("content_text")
            assert entry.get("url") == item.href
            assert RFC3339.match(entry["date_published"])
            assert datetime.fromisoformat(entry["date_published"]) == item.date
            assert all(set(a) == {"name"} and a["name"] for a in entry["authors"])
            assert all(key.startswith("_") or key in JSON_FEED_ITEM_KEYS for key in entry)
        assert all(key.startswith("_") or key in JSON_FEED_KEYS for key in document)
    overall = json.loads((out / "feed.json").read_bytes())
    [paper] = [e for e in overall["items"] if e["id"] == "https://doi.org/10.1234/abc"]
    assert paper["image"] == "https://img.example.org/p.png"
    assert "<cite>Ng, A. (2026). A paper.</cite>" in paper["content_html"]


JSON_FEED_KEYS = {"version", "title", "home_page_url", "feed_url", "description", "user_comment",
                  "next_url", "icon", "favicon", "authors", "language", "expired", "hubs", "items"}  # fmt: skip
JSON_FEED_ITEM_KEYS = {"id", "url", "external_url", "title", "content_html", "content_text",
                       "summary", "image", "banner_image", "date_published", "date_modified",
                       "authors", "tags", "language", "attachments"}  # fmt: skip


def test_feedparser_reads_every_feed_back(build: Callable[[list[Item]], Path]) -> None:
    items = examples()
    out = build(items)
    newest_first = sorted(items, key=lambda i: (i.date, i.url), reverse=True)
    for kind in ("rss", "atom"):
        overall = feed_files(out, kind)[0]
        parsed = feedparser.parse(overall.read_bytes())
        assert not parsed.bozo, parsed.get("bozo_exception")
        assert parsed.version == {"rss": "rss20", "atom": "atom10"}[kind]
        assert [e.id for e in parsed.entries] == [i.url for i in newest_first]
        assert [e.title for e in parsed.entries] == [i.title.replace("\x0b", "") for i in
                                                     newest_first]  # fmt: skip
        for entry, item in zip(parsed.entries, newest_first, strict=True):
            assert datetime(*entry.published_parsed[:6], tzinfo=UTC) == item.date
        for topic_feed in feed_files(out, kind)[1:]:
            assert not feedparser.parse(topic_feed.read_bytes()).bozo


def test_content_is_escaped_and_sanitized(build: Callable[[list[Item]], Path]) -> None:
    out = build(examples())
    rss = feedparser.parse((out / "feed.xml").read_bytes())
    [hostile] = [e for e in rss.entries if e.id == "https://news.example.org/1"]
    assert hostile.title == 'Tom & Jerry <b>bold</b>  "quoted"'  # text, exactly (minus \x0b)
    body = hostile.description
    assert "<em>emphasis</em>" in body
    assert "script" not in body and "onclick" not in body and "javascript:" not in body
    document = json.loads((out / "feed.json").read_bytes())
    [entry] = [e for e in document["items"] if e["id"] == "https://news.example.org/1"]
    assert entry["title"] == 'Tom & Jerry <b>bold</b> \x0b "quoted"'  # JSON escapes what it must
    assert "script" not in entry["content_html"] and "onclick" not in entry["content_html"]
    raw = (out / "feed.xml").read_text()
    assert "Tom &amp; Jerry &lt;b&gt;bold&lt;/b&gt;" in raw
    assert "From Notes &amp;amp; Links." in raw  # HTML-escaped in the HTML, then XML-escaped


def test_ids_and_bytes_are_stable_across_builds(build: Callable[[list[Item]], Path]) -> None:
    items = examples()
    out = build(items)
    first = {p.name: p.read_bytes() for p in out.glob("*") if p.suffix in (".xml", ".json")}
    ids = [e.id for e in feedparser.parse(first["atom.xml"]).entries]
    again = build(items)
    assert {
        p.name: p.read_bytes() for p in again.glob("*") if p.suffix in (".xml", ".json")
    } == first
    retitled = [replace(i, title=i.title + " (updated)") for i in items]
    out = build(retitled)
    assert [e.id for e in feedparser.parse((out / "atom.xml").read_bytes()).entries] == ids


def test_dates_are_rfc_822_and_rfc_3339_in_any_zone() -> None:
    when = datetime(2026, 3, 8, 1, 30, 15, 123456, tzinfo=ZoneInfo("America/New_York"))
    assert rfc822(when) == "Sun, 08 Mar 2026 01:30:15 -0500"
    assert rfc3339(when) == "2026-03-08T06:30:15Z"
    assert rfc3339(datetime(2026, 3, 8, 6, 30, 15)) == "2026-03-08T06:30:15Z"  # naive: UTC
