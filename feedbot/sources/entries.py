"""Turning the raw fields of a parsed entry into a :class:`FetchedEntry`: one normalization for
every parser, so the fast XML path and feedparser produce identical records."""

from __future__ import annotations

import calendar
import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from feedbot.links.citation import Citation, format_authors
from feedbot.links.shares import shared_links
from feedbot.sanitize import clean_html, html_to_text
from feedbot.sources import FetchedEntry

MAX_GUID_LENGTH = 512


@dataclass(frozen=True)
class ParsedFeed:
    title: str | None
    site_url: str | None
    entries: tuple[FetchedEntry, ...]
    warnings: tuple[str, ...] = ()


def make_entry(
    *,
    guid: str | None,
    url: str | None,
    title: str,
    summary: str,
    content: str,
    author: str | None,
    published: datetime | None,
    updated: datetime | None,
    base_url: str | None,
) -> FetchedEntry:
    """Normalize raw entry fields: HTML sanitized (relative URLs resolved against ``base_url``),
    title and author as plain text, a summary that merely repeats the content's start dropped."""
    if content and summary and html_to_text(content).startswith(html_to_text(summary)):
        summary = ""
    summary_html = clean_html(summary, base_url)
    content_html = clean_html(content, base_url)
    plain_title = html_to_text(title)
    identity = (guid or "").strip() or url or fingerprint(plain_title, summary_html, content_html)
    shared = shared_links(url, summary_html, content_html)
    return FetchedEntry(
        guid=bounded_guid(identity),
        url=url,
        title=plain_title,
        summary_html=summary_html or content_html,
        content_html=content_html,
        author=html_to_text(author or "") or None,
        published_at=published or updated,
        updated_at=updated,
        links=shared.urls,
        partial_links=shared.partial,
        references=shared.references,
    )


def struct_time_to_datetime(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def fingerprint(*parts: str) -> str:
    return "sha1:" + hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()


def bounded_guid(guid: str) -> str:
    guid = guid.strip()
    return guid if len(guid) <= MAX_GUID_LENGTH else fingerprint(guid)


def dedupe(entries: Iterable[FetchedEntry]) -> tuple[FetchedEntry, ...]:
    """Keep the first entry of each guid: a feed that repeats a guid means one entry."""
    seen: set[str] = set()
    kept = []
    for entry in entries:
        if entry.guid not in seen:
            seen.add(entry.guid)
            kept.append(entry)
    return tuple(kept)


def paper_entry(citation: Citation, stamp: str | None, scheme: str) -> FetchedEntry:
    """The entry of a paper a research source lists: its identity URL, its abstract as summary,
    its citation attached."""
    url = citation.url
    if url is None:
        raise ValueError("a paper without DOI or arXiv id")
    return FetchedEntry(
        guid=f"{scheme}:{citation.doi or citation.arxiv_id}",
        url=url,
        title=citation.title,
        summary_html=citation.abstract or "",
        author=format_authors(citation.authors) or None,
        published_at=_timestamp(stamp),
        links=(url,),
        citation=citation,
    )


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
