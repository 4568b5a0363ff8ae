"""RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents, overall and per topic.

RSS and Atom are written directly as text, escaped by the standard library's
``xml.sax.saxutils.escape`` (attribute values also as ElementTree escapes them): the bytes are
those ElementTree writes for the same tree indented by ``ET.indent``, which
tests/test_feeds_writer.py checks against an ElementTree reference, hostile text included. JSON
Feed is written by json. Item ids are the article's canonical URL, or a post's
``urn:feedbot:post:…`` identity (stable across builds); HTML content is sanitized again on the
way out. Dates: RFC 822 in RSS (``Sun, 22 Nov 2026 10:00:00 +0000``), RFC 3339 in Atom and JSON
Feed (``2026-11-22T10:00:00Z``), always with a zone. Nothing depends on the time of the build,
so an unchanged feed is the same bytes.

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
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape
from xml.sax.saxutils import escape as xml_escape

from feedbot.publish.pages import image_of, sharers
from feedbot.records import Item
from feedbot.sanitize import clean_html

ATOM_NS = "http://www.w3.org/2005/Atom"

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
    newest = max((item.date for item in items), default=None)
    return rss_of([rss_entry(item, body) for item in items], newest, title=title, link=link,
                  self_url=self_url, description=description)  # fmt: skip


def rss_entry(item: Item, body: Callable[[Item], str] = item_html) -> str:
    """One ``<item>`` of an RSS feed, as :func:`rss_of` places it."""
    href = item.href
    parts = ["    <item>\n", _element("      ", "title", item.title)]
    if href:
        parts.append(_element("      ", "link", href))
    permalink = ' isPermaLink="true"' if href else ' isPermaLink="false"'
    parts.append(_element("      ", "guid", item.url, permalink))
    parts.append(f"      <pubDate>{rfc822(item.date)}</pubDate>\n")  # a date: nothing to escape
    parts.append(_element("      ", "description", body(item)))
    for topic in item.topics:
        parts.append(_element("      ", "category", topic.name))
    parts.append("    </item>\n")
    return "".join(parts)


def rss_of(
    entries: Sequence[str], newest: datetime | None, *, title: str, link: str, self_url: str,
    description: str,
) -> bytes:  # fmt: skip
    """An RSS feed of its entries (:func:`rss_entry`); ``newest``: the newest one's date."""
    parts = [
        _DECLARATION,
        f'<rss xmlns:atom="{ATOM_NS}" version="2.0">\n  <channel>\n',
        _element("    ", "title", title),
        _element("    ", "link", link),
        _element("    ", "description", description),
        f'    <atom:link href="{_attribute(self_url)}" rel="self" type="application/rss+xml" />\n',
    ]
    if newest is not None:  # the newest item's date, not the build's: an unchanged feed stays
        parts.append(f"    <lastBuildDate>{rfc822(newest)}</lastBuildDate>\n")
    parts.append("    <generator>feedbot</generator>\n")
    parts += entries
    parts.append("  </channel>\n</rss>\n")
    return _encode(parts)


def atom(
    items: Sequence[Item], *, title: str, link: str, self_url: str, feed_id: str,
    body: Callable[[Item], str] = item_html,
) -> bytes:  # fmt: skip
    newest = max((item.date for item in items), default=None)
    return atom_of([atom_entry(item, body) for item in items], newest, title=title, link=link,
                   self_url=self_url, feed_id=feed_id)  # fmt: skip


def atom_entry(item: Item, body: Callable[[Item], str] = item_html) -> str:
    """One ``<atom:entry>`` of an Atom feed, as :func:`atom_of` places it."""
    href = item.href
    parts = ["  <atom:entry>\n", _element("    ", "atom:title", item.title),
             _element("    ", "atom:id", item.url)]  # fmt: skip
    if href:
        parts.append(f'    <atom:link rel="alternate" href="{_attribute(href)}" />\n')
    date = rfc3339(item.date)
    parts.append(f"    <atom:published>{date}</atom:published>\n")
    parts.append(f"    <atom:updated>{date}</atom:updated>\n")
    # An entry with no alternate link must carry its content (RFC 4287, 4.1.2).
    kind = "atom:summary" if href else "atom:content"
    parts.append(_element("    ", kind, body(item), ' type="html"'))
    for source in item.sources:
        parts.append("    <atom:contributor>\n")
        parts.append(_element("      ", "atom:name", source.name))
        parts.append("    </atom:contributor>\n")
    for topic in item.topics:
        term, label = _attribute(topic.id), _attribute(topic.name)
        parts.append(f'    <atom:category term="{term}" label="{label}" />\n')
    parts.append("  </atom:entry>\n")
    return "".join(parts)


def atom_of(
    entries: Sequence[str], newest: datetime | None, *, title: str, link: str, self_url: str,
    feed_id: str,
) -> bytes:  # fmt: skip
    """An Atom feed of its entries (:func:`atom_entry`); ``newest``: the newest one's date."""
    # An empty feed has never changed (the epoch), so it stays the same from build to build.
    updated = EPOCH if newest is None else newest
    # Every element prefixed atom:, as ElementTree wrote them (the namespace was registered as
    # "atom"): a default namespace would mean the same, in other bytes.
    parts = [
        _DECLARATION,
        f'<atom:feed xmlns:atom="{ATOM_NS}">\n',
        _element("  ", "atom:title", title),
        _element("  ", "atom:id", feed_id),
        f"  <atom:updated>{rfc3339(updated)}</atom:updated>\n",
        f'  <atom:link rel="alternate" href="{_attribute(link)}" />\n',
        f'  <atom:link rel="self" href="{_attribute(self_url)}" type="application/atom+xml" />\n',
        "  <atom:author>\n",
        _element("    ", "atom:name", title),
        "  </atom:author>\n",
        "  <atom:generator>feedbot</atom:generator>\n",
    ]
    parts += entries
    parts.append("</atom:feed>\n")
    return _encode(parts)


def json_feed(
    items: Sequence[Item], *, title: str, link: str, self_url: str, description: str,
    body: Callable[[Item], str] = item_html,
) -> bytes:  # fmt: skip
    return json_feed_of([json_entry(item, body) for item in items], title=title, link=link,
                        self_url=self_url, description=description)  # fmt: skip


def json_entry(item: Item, body: Callable[[Item], str] = item_html) -> str:
    """One item of a JSON Feed, serialized as :func:`json_feed_of` places it."""
    return json.dumps({
        "id": item.url,
        **({"url": item.href} if item.href else {}),
        "title": item.title,
        "content_html": body(item),
        "summary": item.summary_text,
        **({"image": image} if (image := image_of(item)) else {}),
        "date_published": rfc3339(item.date),
        "authors": [{"name": source.name} for source in item.sources],
        "tags": [topic.name for topic in item.topics],
        "_feedbot": {"shared_by": item.shared_by, "topics": [topic.id for topic in item.topics]},
    }, ensure_ascii=False)  # fmt: skip


def json_feed_of(
    entries: Sequence[str], *, title: str, link: str, self_url: str, description: str
) -> bytes:
    """A JSON Feed of its items (:func:`json_entry`): the bytes ``json.dumps`` gives for the
    whole document (one line: indenting takes json's pure-Python encoder, five times slower)."""
    head = json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": title, "home_page_url": link,
        "feed_url": self_url, "description": description,
    }, ensure_ascii=False)  # fmt: skip
    return f'{head[:-1]}, "items": [{", ".join(entries)}]}}\n'.encode()


# What ElementTree.tostring(..., encoding="utf-8", xml_declaration=True) writes first.
_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"

# ElementTree escapes these in attribute values too, beyond & < > (see _escape_attrib).
_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#09;"}


def _attribute(value: str) -> str:
    """An attribute value cleaned by ``xml_text`` and escaped as ElementTree escapes it."""
    return xml_escape(xml_text(value), _ATTRIBUTE_ENTITIES)


def _element(indent: str, tag: str, text: str, attributes: str = "") -> str:
    """One indented element with text and no children, and its line break: empty (after
    ``xml_text``) it is written ``<tag />``, as ElementTree writes it."""
    text = xml_text(text)
    if text:
        return f"{indent}<{tag}{attributes}>{xml_escape(text)}</{tag}>\n"
    return f"{indent}<{tag}{attributes} />\n"


def _encode(parts: list[str]) -> bytes:
    # Text and attribute values have been through xml_text, which drops lone surrogates; should
    # one slip through, it becomes a character reference (as ElementTree wrote it), not an error.
    return "".join(parts).encode("utf-8", "xmlcharrefreplace")
