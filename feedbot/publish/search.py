"""The site's search index: plain script files the browser loads, one per month.

Search runs in the reader's browser (``static/site.js``) over every item's title, summary,
sources and topics, with no server. The index is JavaScript that assigns to a global rather than
JSON that is fetched, so that it loads from ``file://`` too (browsers refuse ``fetch()`` there).

* ``search/index.js`` lists the months, newest first;
* ``search/YYYY-MM.js`` holds that month's items: ``[title, href, page, date, sources,
  topics, summary]``, where ``page`` is the item's place on its day page (from the site's root).

Months keep the files small and stable: a new item rewrites its month only. Each month's file
is its days' parts joined, so that a build can keep the parts of the days that did not change.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from feedbot.records import Item

SUMMARY_CHARS = 200  # of each summary, in the index


def fields(item: Item) -> list[str]:
    """What the index holds of an item wherever it is listed: ``[title, href, anchor, sources,
    topics, summary]``."""
    summary = item.summary_text
    if len(summary) > SUMMARY_CHARS:
        summary = summary[:SUMMARY_CHARS].rsplit(" ", 1)[0] + "…"
    return [
        item.title,
        item.href or "",
        item.anchor,
        ", ".join(source.name for source in item.sources),
        ", ".join(topic.name for topic in item.topics),
        summary,
    ]


def entry(item_fields: Sequence[str], page: str, day: str) -> list[str]:
    """One item of the index, from its :func:`fields`, its place on the site and its day
    (ISO)."""
    title, href, anchor, sources, topics, summary = item_fields
    return [title, href, f"{page}#{anchor}", day, sources, topics, summary]


def day_part(entries: Sequence[list[str]]) -> str:
    """One day's entries (:func:`entry`) as they appear in its month's file."""
    return _js_json(entries)[1:-1]


def shard_js(month: str, day_parts: Sequence[str]) -> bytes:
    """A month's file, of its days' parts (:func:`day_part`), newest first."""
    data = ",".join(part for part in day_parts if part)
    return (
        "(window.FEEDBOT_SEARCH_DATA = window.FEEDBOT_SEARCH_DATA || {})"
        f"[{json.dumps(month)}] = [{data}];\n"
    ).encode()


def index_js(months: Sequence[str]) -> bytes:
    return f"window.FEEDBOT_SEARCH_SHARDS = {_js_json(list(months))};\n".encode()


def _js_json(value: object) -> str:
    # JSON is JavaScript, except that older engines reject raw U+2028/U+2029 in strings.
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def group_by_day(days: Sequence[str], indexes: Mapping[int, str]) -> dict[str, list[int]]:
    """Item indexes by day (each item's local day, ISO), newest first (items come newest
    first); only items that have a page."""
    grouped: dict[str, list[int]] = {}
    for index, day in enumerate(days):
        if index in indexes:
            grouped.setdefault(day, []).append(index)
    return grouped
