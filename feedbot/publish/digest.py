"""The daily digest: one day's items, grouped by topic, as a multipart/alternative email
(plain text first, HTML second) ready to be written to a ``.eml`` file or sent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import urlsplit

from jinja2 import Environment

from feedbot.config import Settings
from feedbot.records import Item, TopicRef


@dataclass(frozen=True)
class DigestSection:
    topic: TopicRef | None  # None: items with no topic
    items: tuple[Item, ...]


def items_of_day(items: Sequence[Item], day: date, settings: Settings) -> list[Item]:
    zone = settings.zone
    return [item for item in items if item.date.astimezone(zone).date() == day]


def group_by_topic(items: Sequence[Item], topics: Sequence[TopicRef]) -> list[DigestSection]:
    """Each item once, under the first of its topics in taxonomy order; topic-less items last.
    Within a section the most shared come first (the curation signal), then the newest."""
    order = {topic.id: index for index, topic in enumerate(topics)}
    buckets: dict[str | None, list[Item]] = {}
    for item in items:
        known = sorted((t for t in item.topics if t.id in order), key=lambda t: order[t.id])
        buckets.setdefault(known[0].id if known else None, []).append(item)
    for bucket in buckets.values():
        bucket.sort(key=lambda item: -item.shared_by)  # stable: newest first among equals
    sections = [
        DigestSection(topic, tuple(buckets[topic.id])) for topic in topics if topic.id in buckets
    ]
    if None in buckets:
        sections.append(DigestSection(None, tuple(buckets[None])))
    return sections


def build_digest(
    items: Sequence[Item],
    topics: Sequence[TopicRef],
    day: date,
    settings: Settings,
    env: Environment,
    now: datetime,
) -> EmailMessage:
    """The digest email for ``day`` (in the configured time zone)."""
    chosen = items_of_day(items, day, settings)
    sections = [
        DigestSection(s.topic, s.items[: settings.digest.max_items_per_topic])
        for s in group_by_topic(chosen, topics)
    ]
    context = {
        "title": settings.title,
        "day": day,
        "sections": sections,
        "count": len(chosen),
        "site_url": settings.base_url,
    }
    message = EmailMessage()
    message["Subject"] = settings.digest.subject.format(title=settings.title, date=day.isoformat())
    message["From"] = settings.digest.from_address
    if settings.digest.to:
        message["To"] = ", ".join(settings.digest.to)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid("digest", domain=urlsplit(settings.base_url).hostname)
    message.set_content(env.get_template("email/digest.txt").render(**context))
    message.add_alternative(env.get_template("email/digest.html").render(**context), subtype="html")
    return message
