"""RSS, Atom and JSON Feed sources: conditional GET, then parse.

XML feeds are parsed by feedparser (which copes with ill-formed documents and every RSS/Atom
dialect); JSON Feed 1.0/1.1 is parsed here, since feedparser 6 does not read it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser

from feedbot.errors import ParseError
from feedbot.http import HttpClient
from feedbot.sanitize import html_to_text, is_web_url
from feedbot.schedule import DAY_NAMES, cache_lifetime
from feedbot.sources import (
    FetchedEntry,
    FetchOutcome,
    SourceKind,
    SourceState,
    conditional_fetch,
)
from feedbot.sources.entries import ParsedFeed, dedupe, make_entry, struct_time_to_datetime
from feedbot.sources.fastxml import parse_simple_feed

# feedparser's own sanitizer and relative-URL resolver re-parse every piece of HTML in pure
# Python; nh3 (clean_html) does both jobs after parsing.
feedparser.SANITIZE_HTML = False
feedparser.RESOLVE_RELATIVE_URIS = False

_JSON_TYPES = ("application/feed+json", "application/json", "text/json")
FEED_MEDIA_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)


class FeedFetcher:
    """Fetches an RSS/Atom/JSON feed with a conditional GET, and reads the schedule's hints: the
    response's cache lifetime and the feed's ``<ttl>``, ``<skipHours>`` and ``<skipDays>``."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock

    async def fetch(self, source: SourceState, http: HttpClient) -> FetchOutcome:
        accept = ("application/atom+xml, application/rss+xml, application/feed+json, "
                  "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")  # fmt: skip
        response = await conditional_fetch(http, source, accept)
        lifetime = cache_lifetime(response.headers, self.clock())
        max_age = lifetime.total_seconds() if lifetime else None
        if response.status == 304:
            return FetchOutcome(status="not_modified", http_status=304, max_age_seconds=max_age)
        parsed = parse_feed(response.content, response.url, response.headers)
        ttl, skip_hours, skip_days = feed_hints(response.content)
        return FetchOutcome(
            status="ok",
            http_status=response.status,
            entries=parsed.entries,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            title=parsed.title,
            site_url=parsed.site_url,
            warnings=parsed.warnings,
            max_age_seconds=max_age,
            ttl_minutes=ttl,
            skip_hours=skip_hours,
            skip_days=skip_days,
        )


KIND = SourceKind(
    "feed", "RSS, Atom or JSON Feed at `url`", lambda context: FeedFetcher(context.clock)
)

_TTL = re.compile(rb"<ttl>\s*(\d{1,7})\s*</ttl>")
_SKIP_HOURS = re.compile(rb"<skipHours>(.*?)</skipHours>", re.DOTALL)
_SKIP_DAYS = re.compile(rb"<skipDays>(.*?)</skipDays>", re.DOTALL)
_HOUR = re.compile(rb"<hour>\s*(\d{1,2})\s*</hour>")
_DAY = re.compile(rb"<day>\s*([A-Za-z]{3,9})\s*</day>")


def feed_hints(content: bytes) -> tuple[float | None, tuple[int, ...], tuple[str, ...]]:
    """An RSS channel's ``<ttl>`` (minutes), ``<skipHours>`` (GMT hours 0-23; 24 read as 0) and
    ``<skipDays>`` (``Monday``…), read from the document as written: they mean the same in
    every RSS dialect, and neither parser keeps all of them."""
    if b"<ttl>" not in content and b"<skip" not in content:
        return None, (), ()
    found = _TTL.search(content)
    ttl = float(found.group(1)) if found and int(found.group(1)) > 0 else None
    hours: set[int] = set()
    for block in _SKIP_HOURS.findall(content):
        hours.update(int(h) % 24 for h in _HOUR.findall(block) if int(h) <= 24)
    days: set[str] = set()
    for block in _SKIP_DAYS.findall(content):
        days.update(d.decode().capitalize() for d in _DAY.findall(block))
    known = [day for day in DAY_NAMES if day in days]
    return ttl, tuple(sorted(hours)), tuple(known)


def parse_feed(content: bytes, url: str, headers: Mapping[str, str] | None = None) -> ParsedFeed:
    """Parse a feed document of any supported format. Raises :class:`ParseError`."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if not content.strip():
        raise ParseError("empty response: no feed document")
    if content_type in _JSON_TYPES or content.lstrip()[:1] == b"{":
        return parse_json_feed(content, url)
    return parse_xml_feed(content, url, headers)


def parse_xml_feed(content: bytes, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    """The fast path when it is sure of the document, feedparser otherwise."""
    simple = parse_simple_feed(content, url, headers)
    if simple is not None:
        return simple
    return parse_with_feedparser(content, url, headers)


def parse_with_feedparser(content: bytes, url: str, headers: Mapping[str, str]) -> ParsedFeed:
    response_headers = dict(headers)
    response_headers.setdefault("content-location", url)
    try:
        result = feedparser.parse(content, response_headers=response_headers)
    except Exception as e:  # feedparser promises not to raise; a broken document proved otherwise
        raise ParseError(f"feed could not be parsed: {type(e).__name__}: {e}") from e
    warnings: tuple[str, ...] = ()
    if not result.entries and not result.get("version") and _looks_like_html(content):
        raise ParseError(_html_page_message(content, url))
    if result.get("bozo"):
        problem = _bozo_message(result.get("bozo_exception"))
        if not result.entries and not result.get("version"):
            raise ParseError(f"not a readable feed: {problem}")
        warnings = (f"feed is not well-formed, parsed leniently: {problem}",)
    if not result.get("version") and not result.entries:
        raise ParseError("no RSS, Atom or JSON feed found in the response")
    feed = result.feed
    entries = dedupe(_xml_entry(entry, url) for entry in result.entries)
    site = feed.get("link")
    return ParsedFeed(
        title=html_to_text(feed.get("title", "")) or None,
        site_url=site if is_web_url(site) else None,
        entries=entries,
        warnings=warnings,
    )


def _looks_like_html(content: bytes) -> bool:
    head = content[:4096].lower()
    return any(tag in head for tag in (b"<html", b"<!doctype html", b"<head", b"<body"))


def _html_page_message(content: bytes, url: str) -> str:
    """Say that a web page came back, and name the feeds it advertises, if any."""
    from urllib.parse import urljoin

    from bs4 import BeautifulSoup

    soup = BeautifulSoup(content[:262_144], "html.parser")
    advertised = [
        urljoin(url, str(link.get("href")))
        for link in soup.find_all("link", href=True)
        if "alternate" in (link.get("rel") or [])
        and str(link.get("type", "")).lower() in FEED_MEDIA_TYPES
    ]
    feeds = [feed for feed in advertised if is_web_url(feed)]
    message = "no RSS, Atom or JSON feed found: the URL returned an HTML page"
    if feeds:
        message += "; the page advertises " + ", ".join(feeds[:3])
    return message


def _bozo_message(exception: Any) -> str:
    if exception is None:
        return "unknown problem"
    text = str(exception).strip() or type(exception).__name__
    return text.splitlines()[0][:200]


def _xml_entry(entry: Any, feed_url: str) -> FetchedEntry:
    link = entry.get("link")
    if not is_web_url(link):
        link = next(
            (
                alt.get("href")
                for alt in entry.get("links", [])
                if alt.get("rel", "alternate") == "alternate" and is_web_url(alt.get("href"))
            ),
            None,
        )
    contents = entry.get("content") or []
    detail = entry.get("summary_detail") or (contents[0] if contents else {})
    return make_entry(
        guid=entry.get("id"),
        url=link,
        title=entry.get("title", ""),
        summary=entry.get("summary", ""),
        content="\n".join(part.get("value", "") for part in contents if part.get("value")),
        author=entry.get("author"),
        published=struct_time_to_datetime(
            entry.get("published_parsed") or entry.get("created_parsed")
        ),
        # dict.get: FeedParserDict.get would quietly answer with the published date instead
        updated=struct_time_to_datetime(dict.get(entry, "updated_parsed")),
        base_url=detail.get("base") or feed_url,
    )


def parse_json_feed(content: bytes, url: str) -> ParsedFeed:
    """Parse a JSON Feed (https://jsonfeed.org/version/1.1, 1.0 accepted)."""
    try:
        document = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ParseError(f"invalid JSON Feed: {e}") from e
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise ParseError("JSON document is not a JSON Feed (no jsonfeed.org 'version')")
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError("invalid JSON Feed: 'items' is missing or not a list")
    entries = dedupe(_json_entry(item, url) for item in items if isinstance(item, dict))
    home = document.get("home_page_url")
    return ParsedFeed(
        title=html.unescape(_text(document.get("title"))).strip() or None,
        site_url=home if isinstance(home, str) and is_web_url(home) else None,
        entries=entries,
    )


def _json_entry(item: dict[str, Any], feed_url: str) -> FetchedEntry:
    url = next(
        (
            u
            for u in (item.get("url"), item.get("external_url"))
            if isinstance(u, str) and is_web_url(u)
        ),
        None,
    )
    content = _text(item.get("content_html"))
    if not content and item.get("content_text"):
        content = "<p>" + html.escape(_text(item.get("content_text"))) + "</p>"
    summary = _text(item.get("summary"))
    authors = item.get("authors") or (
        [item["author"]] if isinstance(item.get("author"), dict) else []
    )
    author = next((a.get("name") for a in authors if isinstance(a, dict) and a.get("name")), None)
    return make_entry(
        guid=_text(item.get("id")),
        url=url,
        title=_text(item.get("title")),  # plain text by the spec, but entities abound in practice
        summary=html.escape(summary) if summary else "",
        content=content,
        author=_text(author),
        published=_json_date(item.get("date_published")),
        updated=_json_date(item.get("date_modified")),
        base_url=url or feed_url,
    )


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _json_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        # Not RFC 3339 as the spec asks; real feeds also send RFC 822 dates.
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
