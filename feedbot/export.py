"""``feedbot export``: every item with its fields, as JSON lines or CSV, for data portability."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any

from feedbot.links.citation import Author
from feedbot.records import Item

FIELDS = (
    "title", "url", "canonical_url", "id", "is_post", "reached_by", "sources", "shared_by",
    "mentions", "topics", "date", "first_seen_at", "summary", "site_name", "author",
    "published_at", "language", "image_url", "doi", "arxiv_id", "citation", "authors", "year",
    "container", "volume", "issue", "pages", "publisher", "type", "versions",
)  # fmt: skip


def item_record(item: Item) -> dict[str, Any]:
    """One article (or a post that linked nowhere: ``is_post``, and ``url`` is None when it has
    no web address; ``id`` is its stable identity either way): its canonical URL, the URLs it
    was shared as, the distinct sources that shared it (``shared_by`` counts them) and every
    post that did (``mentions``, with the post's author and who reposted it); for papers, the
    DOI, arXiv id and citation fields, and the URLs of the work's other versions (its preprint
    or its published form)."""
    paper = item.citation
    return {
        "title": item.title,
        "url": item.href,
        "canonical_url": item.href,
        "id": item.url,
        "is_post": item.is_post,
        "reached_by": list(item.reached_by),
        "sources": [source.name for source in item.sources],
        "shared_by": item.shared_by,
        "mentions": [
            {
                "source": mention.source.name,
                "title": mention.title,
                "url": mention.url,
                "shared_url": mention.shared_url,
                "author": mention.author,
                "reposted_by": mention.reposted_by,
                "date": mention.date.isoformat(),
            }
            for mention in item.mentions
        ],
        "topics": [topic.id for topic in item.topics],
        "date": item.date.isoformat(),
        "first_seen_at": item.first_seen_at.isoformat(),
        "summary": item.summary_text,
        "site_name": item.site_name,
        "author": item.author,
        "published_at": item.published_at.isoformat() if item.published_at else None,
        "language": item.language,
        "image_url": item.image_url,
        "doi": item.doi,
        "arxiv_id": item.arxiv_id,
        "citation": item.citation_text,
        "authors": [_name(author) for author in paper.authors] if paper else [],
        "year": paper.year if paper else None,
        "container": paper.container if paper else None,
        "volume": paper.volume if paper else None,
        "issue": paper.issue if paper else None,
        "pages": paper.pages if paper else None,
        "publisher": paper.publisher if paper else None,
        "type": paper.type if paper else None,
        "versions": list(item.versions),
    }


def _name(author: Author) -> str:
    return f"{author.family}, {author.given}" if author.given else author.family


def to_jsonl(items: Iterable[Item]) -> str:
    return "".join(json.dumps(item_record(item), ensure_ascii=False) + "\n" for item in items)


def to_csv(items: Sequence[Item]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS)
    writer.writeheader()
    for item in items:
        record = item_record(item)
        for key in ("reached_by", "sources", "topics", "authors"):
            record[key] = "; ".join(record[key])
        record["mentions"] = "; ".join(
            f"{m['source']}: {m['url'] or m['shared_url']}" for m in record["mentions"]
        )
        writer.writerow(record)
    return buffer.getvalue()
