"""A fast path for the common case: well-formed UTF-8 RSS 2.0 and Atom 1.0 feeds that use only
elements whose meaning is plain, read with the standard library's C XML parser.

feedparser is tolerant and thorough, and about seven times slower. Anything this path is not
sure about (a DOCTYPE or entities, another encoding, xml:base, inline XHTML, an element outside
the lists below, a repeated field) returns ``None`` and feedparser reads the document instead.
A test checks that both paths give identical records on every real-world feed this path takes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urljoin

from feedparser.datetimes import _parse_date

from feedbot.sanitize import html_to_text, is_web_url
from feedbot.sources import FetchedEntry
from feedbot.sources.entries import ParsedFeed, dedupe, make_entry, struct_time_to_datetime

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
DC = "{http://purl.org/dc/elements/1.1/}"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"

# Elements we read, or may ignore because feedparser draws none of our fields from them.
_RSS_ITEM = frozenset(
    {"title", "link", "guid", "description", "pubDate", "author", "category", "comments",
     "enclosure", "source", f"{CONTENT}encoded", f"{DC}creator", f"{DC}subject"}
)  # fmt: skip
_RSS_CHANNEL = frozenset(
    {"title", "link", "description", "language", "copyright", "managingEditor", "webMaster",
     "pubDate", "lastBuildDate", "category", "generator", "docs", "cloud", "ttl", "image",
     "rating", "textInput", "skipHours", "skipDays", "item", f"{ATOM}link"}
)  # fmt: skip
_ATOM_ENTRY = frozenset(
    {f"{ATOM}{name}" for name in
     ("id", "title", "link", "summary", "content", "published", "updated", "author", "category",
      "contributor", "rights")}
)  # fmt: skip
_ATOM_FEED = frozenset(
    {f"{ATOM}{name}" for name in
     ("id", "title", "subtitle", "link", "updated", "author", "contributor", "category",
      "generator", "icon", "logo", "rights", "entry")}
)  # fmt: skip
_SINGLE = frozenset(
    {"title", "link", "guid", "description", "pubDate", "author", f"{CONTENT}encoded",
     f"{DC}creator", f"{ATOM}id", f"{ATOM}title", f"{ATOM}summary", f"{ATOM}content",
     f"{ATOM}published", f"{ATOM}updated"}
)  # fmt: skip
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']""")
_UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


def parse_simple_feed(content: bytes, url: str, headers: Mapping[str, str]) -> ParsedFeed | None:
    """The feed, or ``None`` when the document is not one this path is sure about."""
    if not _plain_utf8(content, headers):
        return None
    try:
        root = ET.fromstring(content)
    except (ET.ParseError, ValueError):  # ValueError: an encoding expat cannot read
        return None
    if any(XML_BASE in element.attrib for element in root.iter()):
        return None
    if root.tag == "rss" and root.get("version") == "2.0":
        return _rss(root, url)
    if root.tag == f"{ATOM}feed":
        return _atom(root, url)
    return None


def _plain_utf8(content: bytes, headers: Mapping[str, str]) -> bool:
    head = content[:1024]
    if b"<!DOCTYPE" in head or b"<!doctype" in head:
        return False
    charset = re.search(r"charset=([\w.-]+)", headers.get("content-type", ""), re.IGNORECASE)
    if charset and charset.group(1).lower() not in _UTF8:
        return False
    declared = _DECLARED_ENCODING.match(head.removeprefix(b"\xef\xbb\xbf"))
    if declared and declared.group(1).decode().lower() not in _UTF8:
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _only(element: ET.Element, allowed: frozenset[str], leaves: bool = False) -> bool:
    """Only ``allowed`` children, the single-valued ones once, and (``leaves``) no grandchildren
    except an Atom author's (feedparser reads fields out of nested elements in its own ways)."""
    seen: set[str] = set()
    for child in element:
        if child.tag not in allowed:
            return False
        if leaves and len(child) and child.tag != f"{ATOM}author":
            return False
        if child.tag in _SINGLE:
            if child.tag in seen:
                return False
            seen.add(child.tag)
    return True


def _text(element: ET.Element, tag: str) -> str:
    child = element.find(tag)
    if child is None:
        return ""
    if len(child):  # markup inside: not plain text or escaped HTML
        raise _NotSimple
    return (child.text or "").strip()


class _NotSimple(Exception):
    pass


def _date(value: str) -> datetime | None:
    return struct_time_to_datetime(_parse_date(value.strip())) if value.strip() else None


def _rss(root: ET.Element, url: str) -> ParsedFeed | None:
    channel = root.find("channel")
    if channel is None or len(root) != 1 or not _only(channel, _RSS_CHANNEL):
        return None
    try:
        entries = []
        for item in channel.findall("item"):
            if not _only(item, _RSS_ITEM, leaves=True):
                return None
            entries.append(_rss_item(item, url))
        title = html_to_text(_text(channel, "title")) or None
        site = urljoin(url, _text(channel, "link").strip()) or None
    except _NotSimple:
        return None
    return ParsedFeed(title=title, site_url=site if is_web_url(site) else None,
                      entries=dedupe(entries))  # fmt: skip


def _rss_item(item: ET.Element, feed_url: str) -> FetchedEntry:
    link = _text(item, "link")
    guid_element = item.find("guid")
    guid = _text(item, "guid")
    if guid and guid_element is not None and guid_element.get("isPermaLink", "true") != "false":
        guid = urljoin(feed_url, guid)  # a permalink guid is a URL, resolved as feedparser does
        link = link or guid
    if link:
        link = urljoin(feed_url, link)
    author = _text(item, "author") or _text(item, f"{DC}creator")
    if item.find("author") is not None and item.find(f"{DC}creator") is not None:
        raise _NotSimple  # which one feedparser keeps is its business
    return make_entry(
        guid=guid,
        url=link if is_web_url(link) else None,
        title=_text(item, "title"),
        summary=_text(item, "description"),
        content=_text(item, f"{CONTENT}encoded"),
        author=author,
        published=_date(_text(item, "pubDate")),
        updated=None,
        base_url=feed_url,
    )


def _atom(root: ET.Element, url: str) -> ParsedFeed | None:
    if not _only(root, _ATOM_FEED):
        return None
    try:
        entries = []
        for entry in root.findall(f"{ATOM}entry"):
            if not _only(entry, _ATOM_ENTRY, leaves=True):
                return None
            entries.append(_atom_entry(entry, url))
        title = html_to_text(_atom_text(root, "title")) or None
    except _NotSimple:
        return None
    site = _alternate(root, url)
    return ParsedFeed(title=title, site_url=site if is_web_url(site) else None,
                      entries=dedupe(entries))  # fmt: skip


def _atom_text(element: ET.Element, name: str) -> str:
    child = element.find(f"{ATOM}{name}")
    if child is None:
        return ""
    if child.get("type", "text") not in ("text", "html") or child.get("src") or len(child):
        raise _NotSimple
    return (child.text or "").strip()


def _alternate(element: ET.Element, base: str) -> str | None:
    for link in element.findall(f"{ATOM}link"):
        if not link.get("href"):
            raise _NotSimple
        if link.get("rel", "alternate") == "alternate":
            return urljoin(base, link.get("href", "").strip())
    return None


def _atom_entry(entry: ET.Element, feed_url: str) -> FetchedEntry:
    if len(entry.findall(f"{ATOM}author")) > 1:
        raise _NotSimple
    author = entry.find(f"{ATOM}author")
    name = email = ""
    if author is not None:
        name = (author.findtext(f"{ATOM}name") or "").strip()
        email = (author.findtext(f"{ATOM}email") or "").strip()
    if name and email:
        name = f"{name} ({email})"  # feedparser's form
    guid = _atom_text(entry, "id")
    if guid:
        guid = urljoin(feed_url, guid)  # an Atom id is an IRI; feedparser resolves it
    link = _alternate(entry, feed_url) or (guid if is_web_url(guid) else None)
    updated = _date(_atom_text(entry, "updated"))
    return make_entry(
        guid=guid,
        url=link if is_web_url(link) else None,
        title=_atom_text(entry, "title"),
        summary=_atom_text(entry, "summary"),
        content=_atom_text(entry, "content"),
        author=name or email,
        published=_date(_atom_text(entry, "published")),
        updated=updated,
        base_url=feed_url,
    )
