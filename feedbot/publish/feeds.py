"""RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents, overall and per topic.

Built with ElementTree and json, so escaping is never hand-written. Item ids are the article's
canonical URL, or a post's ``urn:feedbot:post:…`` identity (stable across builds); HTML content
is sanitized again on the way out. Dates: RFC 822 in RSS (``Sun, 22 Nov 2026 10:00:00 +0000``),
RFC 3339 in Atom and JSON Feed (``2026-11-22T10:00:00Z``), always with a zone. Nothing depends
on the time of the build, so an unchanged feed is the same bytes.

What each format requires, and where it is here:

* RSS 2.0: channel ``title``, ``link``, ``description``; each item a ``title`` or a
  ``description`` (both here) and a ``guid`` (``isPermaLink`` only when it is a web address).
* Atom (RFC 4287): feed ``id``, ``title``, ``updated``, an ``author`` (the feed's, which its
  entries inherit), ``link rel="self"``; each entry ``id``, ``title``, ``updated``, and
  ``content`` when it has no ``link rel="alternate"`` (a post with no web address).
* JSON Feed 1.1: ``version``, ``title``; each item an ``id`` and ``content_html``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape

from feedbot.publish.pages import image_of, sharers
from feedbot.records import Item
from feedbot.sanitize import clean_html

ATOM_NS = "http://www.w3.org/2005/Atom"
ET.register_namespace("atom", ATOM_NS)

# Characters XML 1.0 forbids; a hostile or broken source may send them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def rfc822(value: datetime) -> str:
    """An RSS date: ``Sun, 22 Nov 2026 10:00:00 +0000`` (RFC 822 with a four-digit year)."""
    return format_datetime(_aware(value))


def rfc3339(value: datetime) -> str:
    """An Atom/JSON Feed date: ``2026-11-22T10:00:00Z`` (UTC, whole seconds)."""
    return _aware(value).astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def item_html(item: Item) -> str:
    """The HTML body of an item in a feed: its sanitized summary and who shared it."""
    names = ", ".join(
        escape(sharer.name) + (f" ({escape('; '.join(sharer.people))})" if sharer.people else "")
        for sharer in sharers(item)
    )
    shared = (
        f"<p>Shared by {item.shared_by}: {names}.</p>"
        if item.shared_by > 1
        else (f"<p>From {names}.</p>")
    )
    summary = clean_html(item.summary_html)
    if item.citation_text:
        versions = "".join(
            f'<p><a href="{escape(url)}">{escape(label)}</a></p>'
            for label, url in item.version_links
        )
        summary = f"<p><cite>{escape(item.citation_text)}</cite></p>{versions}\n{summary}".rstrip()
    return f"{summary}\n{shared}" if summary else shared


def rss(
    items: Sequence[Item], *, title: str, link: str, self_url: str, description: str,
    body: Callable[[Item], str] = item_html,
) -> bytes:  # fmt: skip
    root = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(root, "channel")
    _sub(channel, "title", title)
    _sub(channel, "link", link)
    _sub(channel, "description", description)
    ET.SubElement(
        channel,
        f"{{{ATOM_NS}}}link",
        {"href": self_url, "rel": "self", "type": "application/rss+xml"},
    )
    if items:  # the newest item's date, not the build's: an unchanged feed stays unchanged
        _sub(channel, "lastBuildDate", rfc822(max(item.date for item in items)))
    _sub(channel, "generator", "feedbot")
    for item in items:
        node = ET.SubElement(channel, "item")
        _sub(node, "title", item.title)
        if item.href:
            _sub(node, "link", item.href)
        _sub(node, "guid", item.url, {"isPermaLink": "true" if item.href else "false"})
        _sub(node, "pubDate", rfc822(item.date))
        _sub(node, "description", body(item))
        for topic in item.topics:
            _sub(node, "category", topic.name)
    return _xml_bytes(root)


def atom(
    items: Sequence[Item], *, title: str, link: str, self_url: str, feed_id: str,
    body: Callable[[Item], str] = item_html,
) -> bytes:  # fmt: skip
    root = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(root, f"{{{ATOM_NS}}}title", title)
    _sub(root, f"{{{ATOM_NS}}}id", feed_id)
    # The newest entry's date; an empty feed has never changed (the epoch), so it stays the same
    # from build to build.
    updated = max((item.date for item in items), default=EPOCH)
    _sub(root, f"{{{ATOM_NS}}}updated", rfc3339(updated))
    ET.SubElement(root, f"{{{ATOM_NS}}}link", {"rel": "alternate", "href": link})
    ET.SubElement(
        root,
        f"{{{ATOM_NS}}}link",
        {"rel": "self", "href": self_url, "type": "application/atom+xml"},
    )
    author = ET.SubElement(root, f"{{{ATOM_NS}}}author")
    _sub(author, f"{{{ATOM_NS}}}name", title)
    _sub(root, f"{{{ATOM_NS}}}generator", "feedbot")
    for item in items:
        entry = ET.SubElement(root, f"{{{ATOM_NS}}}entry")
        _sub(entry, f"{{{ATOM_NS}}}title", item.title)
        _sub(entry, f"{{{ATOM_NS}}}id", item.url)
        if item.href:
            ET.SubElement(entry, f"{{{ATOM_NS}}}link", {"rel": "alternate", "href": item.href})
        _sub(entry, f"{{{ATOM_NS}}}published", rfc3339(item.date))
        _sub(entry, f"{{{ATOM_NS}}}updated", rfc3339(item.date))
        # An entry with no alternate link must carry its content (RFC 4287, 4.1.2).
        kind = "summary" if item.href else "content"
        _sub(entry, f"{{{ATOM_NS}}}{kind}", body(item), {"type": "html"})
        for source in item.sources:
            contributor = ET.SubElement(entry, f"{{{ATOM_NS}}}contributor")
            _sub(contributor, f"{{{ATOM_NS}}}name", source.name)
        for topic in item.topics:
            ET.SubElement(entry, f"{{{ATOM_NS}}}category", {"term": topic.id, "label": topic.name})
    return _xml_bytes(root)


def json_feed(
    items: Sequence[Item], *, title: str, link: str, self_url: str, description: str,
    body: Callable[[Item], str] = item_html,
) -> bytes:  # fmt: skip
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": link,
        "feed_url": self_url,
        "description": description,
        "items": [
            {
                "id": item.url,
                **({"url": item.href} if item.href else {}),
                "title": item.title,
                "content_html": body(item),
                "summary": item.summary_text,
                **({"image": image} if (image := image_of(item)) else {}),
                "date_published": rfc3339(item.date),
                "authors": [{"name": source.name} for source in item.sources],
                "tags": [topic.name for topic in item.topics],
                "_feedbot": {
                    "shared_by": item.shared_by,
                    "topics": [topic.id for topic in item.topics],
                },
            }
            for item in items
        ],
    }
    # One line: indenting takes json's pure-Python encoder, five times slower than its C one.
    return json.dumps(document, ensure_ascii=False).encode("utf-8") + b"\n"


def _sub(
    parent: ET.Element, tag: str, text: str, attributes: dict[str, str] | None = None
) -> ET.Element:
    node = ET.SubElement(parent, tag, attributes or {})
    node.text = xml_text(text)
    return node


def _xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
