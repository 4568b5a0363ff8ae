"""What the social source kinds (Mastodon, Bluesky, X) share: a post as a :class:`FetchedEntry`,
its title, plain text as HTML, JSON API responses, ``Link`` headers and rate-limit headers.

A post becomes an entry through :func:`post_entry`, which runs the same sanitizing and link
extraction as every feed entry (:func:`feedbot.sources.entries.make_entry`): its permalink makes it
a post, so it shares the outbound links of its HTML and text, and a display URL cut short with
"…" is kept as a partial link. The links an API gives besides the text (a Mastodon card, a Bluesky
external embed) are added to those. A post keeps its whole text as its content, so one that
links nowhere can still be shown; its title is its first sentence or line.

Politeness: every request goes through the one :class:`~feedbot.http.HttpClient` (per-host pacing,
retries with backoff, ``Retry-After`` on 429/503). :class:`RateLimit` adds the platforms' own
quota headers: when a response says no requests are left, the next one waits for the reset when
that is within ``http.max_retry_after_seconds``; otherwise the fetch stops where it is, keeps what
it has and says so in a warning, and the next fetch goes on from its cursor.

X is imported from files rather than fetched: :class:`XOptions` (an ``account`` and an optional
``path``) and :class:`FileImportFetcher` are shared by its two kinds, the archive and the paste.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from feedbot.errors import FetchError, ParseError
from feedbot.http import HttpClient, Response, reason_phrase
from feedbot.links.shares import post_identity
from feedbot.sanitize import excerpt
from feedbot.sources import FetchedEntry, FetchOutcome, SourceOptions, SourceState
from feedbot.sources.entries import make_entry

if TYPE_CHECKING:
    from feedbot.sources import FetchContext

TITLE_LIMIT = 120
MIN_TITLE = 40  # a first sentence shorter than this takes the next one along
Sleep = Callable[[float], Awaitable[None]]

# A thread's part: "(1/2)" or "1/" opening a post, "(1/2)" or "1/2" closing it (a bare "3/4"
# opening a post is more often a fraction: "3/4 of teachers…").
_THREAD_START = re.compile(r"^\s*(?:\((\d{1,3})\s*/\s*(\d{1,3})\)|(\d{1,3})/)(?=\s)")
_THREAD_END = re.compile(r"\s\(?(\d{1,3})\s*/\s*(\d{1,3})\)?\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'“‘(\[]?[A-Z0-9@#])")


def thread_marker(text: str) -> tuple[int, int | None] | None:
    """``(part, of)`` when ``text`` is marked as a thread's part: "(1/2) …", "2/ …", "… (2/3)"."""
    match = _THREAD_START.match(text) or _THREAD_END.search(text)
    if match is None:
        return None
    groups = [group for group in match.groups() if group is not None]
    part, total = int(groups[0]), groups[1] if len(groups) > 1 else None
    if part < 1 or (total is not None and not 0 < part <= int(total)):
        return None
    return part, int(total) if total is not None else None


def without_thread_marker(text: str) -> str:
    if thread_marker(text) is None:
        return text.strip()
    return _THREAD_END.sub("", _THREAD_START.sub("", text, count=1), count=1).strip()


def post_title(text: str, limit: int = TITLE_LIMIT) -> str:
    """A post's title: its first line, or first sentence, cut at a word to ``limit`` characters;
    a thread marker ("(1/2)") left out."""
    text = without_thread_marker(text)
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    sentences = _SENTENCE_END.split(first)
    title = sentences[0]
    for sentence in sentences[1:]:
        if len(title) >= MIN_TITLE:
            break
        title += " " + sentence  # "Shintani, N. (2012)." alone says too little
    return excerpt(" ".join(title.split()), limit)


def text_html(text: str) -> str:
    """Plain text as escaped HTML: paragraphs at blank lines, ``<br>`` at line breaks."""
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in part.splitlines()) + "</p>"
        for part in paragraphs
        if part.strip()
    )


def normalized_text(text: str) -> str:
    """Text compared across copies: Unicode NFKC, case folded, white space folded."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def post_entry(
    *,
    guid: str,
    url: str | None,
    content_html: str,
    text: str,
    author: str | None,
    published: datetime | None,
    extra_links: Iterable[str] = (),
    reposted_by: str | None = None,
    title: str | None = None,
) -> FetchedEntry:
    """The entry of one post. ``content_html`` is sanitized here; ``text`` (plain) gives the
    title; ``extra_links`` are links the platform gives beside the text (cards, embeds)."""
    entry = make_entry(
        guid=guid,
        url=url,
        title=html.escape(title or post_title(text)),
        summary="",
        content=content_html,
        author=html.escape(author) if author else None,
        published=published,
        updated=None,
        base_url=url,
    )
    links = [link for link in entry.links if link != url]
    for link in extra_links:
        if link and link.lower().startswith(("http://", "https://")) and link not in links:
            links.append(link)
    if not links:
        # A post that links nowhere is its own item: under its permalink, or for a post with
        # no web address (a pasted X post) under an identity that is never fetched.
        links = [url or post_identity(entry.guid)]
    return replace(entry, links=tuple(links), reposted_by=reposted_by)


def iso_datetime(value: Any) -> datetime | None:
    """An ISO 8601 / RFC 3339 timestamp ("2026-02-17T10:00:00.000Z") as an aware datetime."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_json(response: Response, what: str) -> Any:
    """The JSON body of an API response; a 4xx is a :class:`FetchError` naming ``what``."""
    if response.status >= 400:
        detail = ""
        try:
            body = json.loads(response.content)
            if isinstance(body, dict):
                detail = next((str(body[key]) for key in ("error_description", "message", "error")
                               if body.get(key)), "")  # fmt: skip
        except (ValueError, UnicodeDecodeError):
            pass
        message = f"{what}: HTTP {response.status} {reason_phrase(response.status)}"
        raise FetchError(message + (f" ({detail[:200]})" if detail else ""))
    if response.status != 200:
        raise FetchError(f"{what}: unexpected HTTP {response.status}")
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as e:
        raise ParseError(f"{what}: the response is not JSON ({e})") from e


_LINK_PART = re.compile(r"<([^>]*)>\s*((?:;\s*[^;,]+)*)")


def link_header(value: str | None) -> dict[str, str]:
    """``rel`` → URL of an RFC 8288 ``Link`` header."""
    links: dict[str, str] = {}
    for match in _LINK_PART.finditer(value or ""):
        url, params = match.group(1).strip(), match.group(2)
        rel = re.search(r"""rel\s*=\s*"?([^";]+)"?""", params)
        if rel:
            for name in rel.group(1).split():
                links.setdefault(name.lower(), url)
    return links


class RateLimit:
    """A platform's quota headers: requests left (``remaining``) and when the quota resets
    (``reset``, read by ``parse_reset`` into a datetime)."""

    def __init__(
        self,
        remaining: str,
        reset: str,
        parse_reset: Callable[[str], datetime | None],
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.remaining = remaining
        self.reset = reset
        self.parse_reset = parse_reset
        self.sleep = sleep
        self.clock = clock

    async def before_next(self, response: Response, http: HttpClient) -> str | None:
        """Wait, if the quota is spent, until it resets. Returns a warning instead of waiting
        when the reset is further away than the client's ``max_retry_after_seconds``."""
        left = response.headers.get(self.remaining, "").strip()
        if not left.lstrip("-").isdigit() or int(left) > 0:
            return None
        when = self.parse_reset(response.headers.get(self.reset, "").strip())
        if when is None:
            return None
        wait = (when - self.clock()).total_seconds()
        if wait <= 0:
            return None
        if wait > http.settings.max_retry_after_seconds:
            return (
                f"rate limit reached; the quota resets in {wait:.0f}s, so this fetch stopped "
                "early and the next one goes on from here"
            )
        await self.sleep(wait)
        return None


def epoch_seconds(value: str) -> datetime | None:
    """A reset given as Unix seconds (Bluesky's ``ratelimit-reset``)."""
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def obj(value: Any) -> dict[str, Any]:
    """A JSON value that should be an object, as a dict (anything else as {})."""
    return value if isinstance(value, dict) else {}


def plain(value: Any) -> str:
    """A JSON value that should be text, as text (anything else as "")."""
    return value if isinstance(value, str) else ""


# -- X: imported rather than fetched -----------------------------------------------------------

_X_HANDLE = re.compile(r"^@?([A-Za-z0-9_]{1,15})$")


def x_handle(value: str) -> str:
    """An X handle as ``@name``; raises ValueError for anything else."""
    match = _X_HANDLE.match(value.strip())
    if not match:
        raise ValueError(f"not an X handle: {value!r} (e.g. '@mandercorn')")
    return "@" + match.group(1)


class XOptions(SourceOptions):
    """An X account's settings: its posts are imported (``feedbot import``), not fetched."""

    account: str = Field(description="The X account, '@handle'.")
    path: str | None = Field(
        None,
        description="A file read again on every fetch when it changed (relative to the config "
        "file); without it, posts come only from 'feedbot import'.",
    )

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        return x_handle(value)

    def default_url(self) -> str:
        return f"https://x.com/{self.account.removeprefix('@')}"


class FileImportFetcher:
    """The fetcher of a kind whose posts come from a file. With ``path`` set, the file is read on
    each fetch and parsed when its size or modification time changed (that pair is the ETag);
    without it there is nothing to fetch, and the answer is "not modified"."""

    options: type[XOptions] = XOptions

    def __init__(self, context: FetchContext) -> None:
        self.context = context

    def parse(self, path: Path, options: Any) -> FetchOutcome:
        raise NotImplementedError

    async def fetch(self, source: SourceState, http: HttpClient) -> FetchOutcome:
        options = self.options.model_validate(source.options)
        if not options.path:
            return FetchOutcome(status="not_modified")
        path = self.context.settings.base_dir / options.path
        try:
            stat = await asyncio.to_thread(path.stat)
        except OSError as e:
            raise FetchError(f"{path}: cannot read: {e.strerror or e}") from e
        etag = f"{stat.st_size}-{stat.st_mtime_ns}"
        if etag == source.etag:
            return FetchOutcome(status="not_modified")
        outcome = await asyncio.to_thread(self.parse, path, options)
        return replace(outcome, etag=etag)
