"""The daily digest: what goes in it and how it reads. Pure: the items, the settings and the
clock's reading come in; sections, windows and ready ``EmailMessage`` objects come out. Sending
and recording them is :mod:`feedbot.publish.delivery`'s job.

Which items a digest covers. The digest of day D is due at ``digest.send_at`` on D, in
``digest.timezone``: that instant is D's *cut-off*. It covers the items feedbot first saw after
the previous digest's window ended, up to and including D's cut-off (or now, when sent before
it). The first digest ever covers the 24 hours before its cut-off. Each window is recorded when
the day is first sent, so windows never overlap: every article is in at most one digest, and
in it once (under the first of its topics the list takes).

How it is ordered. Sections follow the taxonomy; topic-less items come last under "Other".
Within a section the items rank by their weighted share count (each sharing source counts its
``weight``, 1 by default), then the plain count of sources, then the newest first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, quote
from urllib.parse import quote as url_quote
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment

from feedbot.config import DEFAULT_LIST, DigestListSettings, Settings, split_address
from feedbot.records import Item, TopicRef

FIRST_WINDOW = timedelta(days=1)  # what the first digest ever covers


@dataclass(frozen=True)
class DigestSection:
    topic: TopicRef | None  # None: items with no topic
    items: tuple[Item, ...]


@dataclass(frozen=True)
class DigestContent:
    """One list's digest of one day, before it is addressed to anyone."""

    day: date
    digest_list: DigestListSettings
    sections: tuple[DigestSection, ...]
    left_out: int  # items beyond max_items_per_topic, on the site only
    empty_note: str = "Nothing new since the last digest."

    @property
    def count(self) -> int:
        return sum(len(section.items) for section in self.sections)


# -- when ------------------------------------------------------------------------------------


def digest_zone(settings: Settings) -> ZoneInfo:
    """The zone of ``digest.send_at``: ``digest.timezone``, else the top-level ``timezone``."""
    return settings.digest.zone(settings.timezone)


def send_time(day: date, settings: Settings) -> datetime:
    """The instant (aware UTC) the digest of ``day`` is due: ``send_at`` on that day, local
    time. A time the clocks skip (02:30 when they spring forward) moves on by the gap (03:30);
    a time they pass twice is its first occurrence (PEP 495's ``fold=0``), as the scheduler
    reads it."""
    hours, minutes = (int(part) for part in settings.digest.send_at.split(":"))
    return datetime.combine(day, time(hours, minutes), digest_zone(settings)).astimezone(UTC)


def digest_window(
    day: date,
    settings: Settings,
    now: datetime,
    previous_end: datetime | None,
    next_start: datetime | None,
) -> tuple[datetime, datetime]:
    """The window ``(start, end]`` of first-seen times that ``day``'s digest covers, when it
    has none recorded yet: from where the previous digest ended (the first ever: a day before
    the cut-off) to the cut-off, or ``now`` if earlier, and never into a later digest's."""
    end = min(send_time(day, settings), now)
    if next_start is not None:
        end = min(end, next_start)
    start = previous_end if previous_end is not None else send_time(day, settings) - FIRST_WINDOW
    return min(start, end), end


# -- what ------------------------------------------------------------------------------------


def items_of_day(items: Sequence[Item], day: date, settings: Settings) -> list[Item]:
    """The items dated ``day`` in the site's time zone (the one-day digest file)."""
    zone = settings.zone
    return [item for item in items if item.date.astimezone(zone).date() == day]


def items_in_window(items: Sequence[Item], start: datetime, end: datetime) -> list[Item]:
    """The items feedbot first saw after ``start``, up to and including ``end``."""
    return [item for item in items if start < item.first_seen_at <= end]


def for_list(items: Sequence[Item], digest_list: DigestListSettings) -> list[Item]:
    """The items a list takes: in one of its topics (any item when it names none) and shared
    by at least its ``min_shared_by`` sources."""
    wanted = set(digest_list.topics)
    return [
        item
        for item in items
        if item.shared_by >= digest_list.min_shared_by
        and (not wanted or any(topic.id in wanted for topic in item.topics))
    ]


def source_weights(settings: Settings) -> dict[str, float]:
    return {source.name: source.weight for source in settings.sources}


def rank_key(item: Item, weights: Mapping[str, float]) -> tuple[float, int, float]:
    """Most shared first (each source counting its weight), then more sources, then newer."""
    weighted = sum(weights.get(source.name, 1.0) for source in item.sources)
    return (-weighted, -item.shared_by, -item.date.timestamp())


def group_by_topic(
    items: Sequence[Item],
    topics: Sequence[TopicRef],
    weights: Mapping[str, float] | None = None,
) -> list[DigestSection]:
    """Each item once, under the first of its topics in taxonomy order; topic-less items last.
    Within a section, items are ranked by :func:`rank_key` (ties keep their order)."""
    order = {topic.id: index for index, topic in enumerate(topics)}
    buckets: dict[str | None, list[Item]] = {}
    for item in items:
        known = sorted((t for t in item.topics if t.id in order), key=lambda t: order[t.id])
        buckets.setdefault(known[0].id if known else None, []).append(item)
    for bucket in buckets.values():
        bucket.sort(key=lambda item: rank_key(item, weights or {}))
    sections = [
        DigestSection(topic, tuple(buckets[topic.id])) for topic in topics if topic.id in buckets
    ]
    if None in buckets:
        sections.append(DigestSection(None, tuple(buckets[None])))
    return sections


def digest_content(
    items: Sequence[Item],
    topics: Sequence[TopicRef],
    day: date,
    digest_list: DigestListSettings,
    settings: Settings,
    empty_note: str = "Nothing new since the last digest.",
) -> DigestContent:
    """The list's sections of ``items`` (already chosen by window or day): its topics only
    (in a list without topics, topic-less items go under "Other"), ranked, capped."""
    chosen = for_list(items, digest_list)
    if digest_list.topics:
        topics = [topic for topic in topics if topic.id in digest_list.topics]
    cap = settings.digest.max_items_per_topic
    sections = group_by_topic(chosen, topics, source_weights(settings))
    left_out = sum(max(len(section.items) - cap, 0) for section in sections)
    capped = tuple(DigestSection(s.topic, s.items[:cap]) for s in sections)
    return DigestContent(day, digest_list, capped, left_out, empty_note)


def sharers(item: Item) -> str:
    """Who shared the item: its sources in order, each with the posts' authors and who
    boosted them: ``"Mastodon AI (@ada@x.social, boosted by @bob@y.social), Weekly"``."""
    people: dict[str, tuple[list[str], list[str]]] = {
        source.name: ([], []) for source in item.sources
    }
    for mention in item.mentions:
        authors, boosters = people.setdefault(mention.source.name, ([], []))
        author = _person(mention.author)
        if author and author not in authors:
            authors.append(author)
        if mention.reposted_by and mention.reposted_by not in boosters:
            boosters.append(mention.reposted_by)
    parts = []
    for name, (authors, boosters) in people.items():
        notes = [", ".join(authors)] if authors else []
        if boosters:
            notes.append("boosted by " + ", ".join(boosters))
        parts.append(f"{name} ({'; '.join(notes)})" if notes else name)
    return ", ".join(parts)


def _person(author: str | None) -> str | None:
    """An RSS ``author`` is often "ada@example.org (Ada Lovelace)": the name says it best."""
    if author is None:
        return None
    named = re.match(r"^\S+@\S+\s+\((.+)\)$", author.strip())
    return named[1].strip() if named else author.strip() or None


# -- how -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    """Who a digest message is for, and how they leave the list."""

    to: tuple[str, ...]  # the To: addresses, as configured ("Ada <ada@example.org>")
    recipient: str | None  # the one address it is for (None: the one-day file)
    message_id: str
    date: datetime


def message_id(day: date, list_name: str, recipient: str, settings: Settings) -> str:
    """A Message-ID that is the same on every attempt for this day, list and recipient."""
    key = hashlib.sha1(recipient.casefold().encode("utf-8")).hexdigest()[:16]
    host = urlsplit(settings.base_url).hostname or "feedbot.localhost"
    return f"<digest.{day.isoformat()}.{list_name}.{key}@{host}>"


def list_heading(digest_list: DigestListSettings, settings: Settings) -> str | None:
    """The list's name as the digest shows it, or None for the default list when it is the
    only one (the digest is then simply the site's)."""
    if digest_list.name == DEFAULT_LIST and not digest_list.title and not settings.digest.lists:
        return None
    return digest_list.display_name


def list_id(digest_list: DigestListSettings, settings: Settings) -> str:
    """RFC 2919 List-Id: a phrase naming the list, and ``<name.site-host>``. An ASCII phrase
    is quoted; one with other characters is left bare, without specials, for the e-mail
    library to encode word by word (an encoded word may not stand inside quotes)."""
    host = urlsplit(settings.base_url).hostname or "feedbot.localhost"
    heading = list_heading(digest_list, settings)
    phrase = f"{settings.title}: {heading}" if heading else settings.title
    if phrase.isascii():
        phrase = f'"{quote(phrase)}"'
    else:
        phrase = " ".join(re.sub(r'[()<>\[\]:;@\\,."]', " ", phrase).split())
    return f"{phrase} <{digest_list.name}.{host}>"


def unsubscribe_links(
    digest_list: DigestListSettings, recipient: str | None, settings: Settings
) -> tuple[str, str | None]:
    """The ``mailto:`` and (when configured) the web address that take ``recipient`` off
    the list. ``{list}`` and ``{email}`` in ``digest.unsubscribe_url`` are filled in."""
    digest = settings.digest
    _, address = split_address(digest.unsubscribe_mailto or digest.from_address)
    mailto = f"mailto:{address}?subject=" + url_quote(f"unsubscribe {digest_list.name}")
    url = None
    if digest.unsubscribe_url:
        url = digest.unsubscribe_url.replace("{list}", url_quote(digest_list.name, safe=""))
        url = url.replace("{email}", url_quote(recipient or "", safe=""))
    return mailto, url


def build_message(
    content: DigestContent, envelope: Envelope, settings: Settings, env: Environment
) -> EmailMessage:
    """The digest as a multipart/alternative message: a plain-text part that says everything
    the HTML part says, then the HTML part (inline CSS, tables, no script)."""
    digest = settings.digest
    digest_list = content.digest_list
    mailto, url = unsubscribe_links(digest_list, envelope.recipient, settings)
    context = {
        "title": settings.title,
        "list_title": digest_list.display_name,
        "list_heading": list_heading(digest_list, settings),
        "list_name": digest_list.name,
        "day": content.day,
        "sections": content.sections,
        "count": content.count,
        "left_out": content.left_out,
        "empty_note": content.empty_note,
        "site_url": settings.base_url,
        "sharers": sharers,
        "recipient": envelope.recipient,
        "unsubscribe_url": url,
        "unsubscribe_address": mailto.removeprefix("mailto:").split("?", 1)[0],
    }
    message = EmailMessage(policy=DIGEST_POLICY)
    message["Subject"] = (digest_list.subject or digest.subject).format(
        title=settings.title, date=content.day.isoformat(), list=digest_list.display_name
    )
    message["From"] = _address(digest.from_address)
    if envelope.to:
        message["To"] = [_address(value) for value in envelope.to]
    message["Date"] = format_datetime(envelope.date)
    message["Message-ID"] = envelope.message_id
    message["List-Id"] = list_id(digest_list, settings)
    message["List-Unsubscribe"] = ", ".join(f"<{link}>" for link in (mailto, url) if link)
    if url and digest.unsubscribe_one_click:
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Quoted-printable keeps the message 7-bit: any server takes it, and it is stored as text.
    text = env.get_template("email/digest.txt").render(**context)
    message.set_content(text, cte="quoted-printable")
    html = env.get_template("email/digest.html").render(**context)
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


class _DigestPolicy(EmailPolicy):
    """The default policy, except that List-* headers may run to RFC 5322's 998 characters: a
    long unsubscribe URL folded at 78 would be split into encoded words no client can use."""

    def fold(self, name: str, value: str) -> str:
        return super(_DigestPolicy, self._for(name)).fold(name, value)

    def fold_binary(self, name: str, value: str) -> bytes:
        return super(_DigestPolicy, self._for(name)).fold_binary(name, value)

    def _for(self, name: str) -> _DigestPolicy:
        return self.clone(max_line_length=998) if name.lower().startswith("list-") else self


DIGEST_POLICY = _DigestPolicy()


def _address(value: str) -> Address:
    name, addr = split_address(value)
    username, domain = addr.rsplit("@", 1)
    return Address(display_name=name, username=username, domain=domain)


def build_digest(
    items: Sequence[Item],
    topics: Sequence[TopicRef],
    day: date,
    settings: Settings,
    env: Environment,
    now: datetime,
) -> EmailMessage:
    """The one-day digest file: every item dated ``day`` (in the site's time zone), every
    topic, addressed to ``digest.to`` (the default list)."""
    everyone = DigestListSettings(name=DEFAULT_LIST, recipients=settings.digest.to)
    chosen = items_of_day(items, day, settings)
    content = digest_content(chosen, topics, day, everyone, settings, "Nothing new on this day.")
    envelope = Envelope(
        tuple(settings.digest.to),
        None,
        message_id(day, everyone.name, ",".join(settings.digest.to) or "file", settings),
        now,
    )
    return build_message(content, envelope, settings, env)
