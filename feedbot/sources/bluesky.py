"""Bluesky sources: an account's posts and reposts, through the public AppView's XRPC API.

    [[sources]]
    name = "Alice on Bluesky"
    kind = "bluesky"
    actor = "alice.bsky.social"

The API followed (https://docs.bsky.app/docs/api/app-bsky-feed-get-author-feed):

* ``GET {appview_url}/xrpc/app.bsky.feed.getAuthorFeed?actor=HANDLE&limit=100&filter=…
  &cursor=…`` → ``{cursor, feed: [FeedViewPost]}``, newest first, no authentication.
* A FeedViewPost is ``{post, reason?}``. ``post`` is ``{uri (at://DID/app.bsky.feed.post/RKEY),
  cid, author {did, handle, displayName}, record {text, createdAt, facets, embed}, embed (the
  hydrated view), indexedAt}``; ``reason`` ``{$type: app.bsky.feed.defs#reasonRepost, by
  {handle, displayName}, indexedAt}`` marks a repost.
* Links: rich-text facets ``{index {byteStart, byteEnd}, features [{$type:
  app.bsky.richtext.facet#link, uri}]}`` over the UTF-8 bytes of the text (whose display is often
  cut short: "example.org/some/lo…"), and external embeds ``app.bsky.embed.external``
  ``{external {uri, title, description}}``. The full URIs are taken, never the display text.
* Quotes: ``app.bsky.embed.record`` (or ``recordWithMedia``), hydrated in ``post.embed`` as
  ``app.bsky.embed.record#view`` ``{record: app.bsky.embed.record#viewRecord {uri, author,
  value (the quoted post's record), embeds}}``: the quoted text is shown in a blockquote, and its
  links are shared too.
* Rate limits: the AppView allows 3000 requests per 5 minutes per IP and announces its quota in
  ``ratelimit-limit``, ``ratelimit-remaining``, ``ratelimit-reset`` (Unix seconds) and
  ``ratelimit-policy``; 429 when exceeded.

Incremental: each fetch pages back (``cursor``) from the newest item until it reaches one seen
before: the source's cursor is the newest time seen (a repost's ``indexedAt``, else the post's),
so items older than it end the paging. The first fetch takes ``max_results`` at most.

Entries: a post is an entry under its permalink ``https://bsky.app/profile/HANDLE/post/RKEY``,
sharing the links of its facets and embeds. A repost is the reposted post, credited to its
author, with the reposter in ``reposted_by`` (the source's account, credited as the sharer).
"""

from __future__ import annotations

import asyncio
import html
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlencode

from pydantic import Field, field_validator

from feedbot.errors import ParseError
from feedbot.http import HttpClient
from feedbot.sources import FetchedEntry, FetchOutcome, SourceKind, SourceOptions, SourceState
from feedbot.sources.social import (
    RateLimit,
    Sleep,
    epoch_seconds,
    iso_datetime,
    obj,
    plain,
    post_entry,
    read_json,
)

if TYPE_CHECKING:
    from feedbot.sources import FetchContext

PAGE_SIZE = 100  # the API's largest page
MAX_PAGES = 50
_ACTOR = re.compile(r"^(?:did:[a-z]+:[A-Za-z0-9._:%-]+|[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)$")
REPOST = "app.bsky.feed.defs#reasonRepost"
LINK = "app.bsky.richtext.facet#link"
MENTION = "app.bsky.richtext.facet#mention"
TAG = "app.bsky.richtext.facet#tag"


class BlueskyOptions(SourceOptions):
    actor: str = Field(
        description="The account: its handle ('alice.bsky.social', '@' optional) or its DID."
    )
    appview_url: str = Field(
        "https://public.api.bsky.app",
        description="The AppView serving the public XRPC API.",
    )
    reposts: bool = Field(True, description="Take the account's reposts (credited to the author).")
    replies: bool = Field(
        False,
        description="Take replies to others too (the account's own threads are always taken).",
    )
    max_results: int = Field(200, ge=1, le=2000, description="Posts taken in one fetch at most.")

    @field_validator("actor")
    @classmethod
    def _actor(cls, value: str) -> str:
        actor = value.strip().removeprefix("@")
        if not _ACTOR.match(actor):
            raise ValueError(f"not a Bluesky handle or DID: {value!r} (e.g. 'alice.bsky.social')")
        return actor if actor.startswith("did:") else actor.lower()

    @field_validator("appview_url")
    @classmethod
    def _base(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value.strip(), re.IGNORECASE):
            raise ValueError("expected an http:// or https:// URL")
        return value.strip().rstrip("/")

    def feed_filter(self) -> Literal["posts_and_author_threads", "posts_with_replies"]:
        return "posts_with_replies" if self.replies else "posts_and_author_threads"

    def default_url(self) -> str:
        return f"https://bsky.app/profile/{self.actor}"


class BlueskyFetcher:
    def __init__(self, context: FetchContext | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.context = context
        self.sleep = sleep

    async def fetch(self, source: SourceState, http: HttpClient) -> FetchOutcome:
        options = BlueskyOptions.model_validate(source.options)
        limit = RateLimit("ratelimit-remaining", "ratelimit-reset", epoch_seconds, self.sleep)
        newest_before = iso_datetime(source.cursor)
        endpoint = f"{options.appview_url}/xrpc/app.bsky.feed.getAuthorFeed"
        what = f"Bluesky feed of {options.actor}"
        params = {"actor": options.actor, "limit": str(PAGE_SIZE), "filter": options.feed_filter()}
        items: list[dict[str, Any]] = []
        warnings: list[str] = []
        newest = newest_before
        page_cursor: str | None = None
        asked: set[str] = set()
        while len(items) < options.max_results and len(asked) < MAX_PAGES:
            url = (
                f"{endpoint}?{urlencode(params | ({'cursor': page_cursor} if page_cursor else {}))}"
            )
            if url in asked:
                break
            asked.add(url)
            response = await http.get(url, headers={"Accept": "application/json"})
            body = read_json(response, what)
            feed = body.get("feed") if isinstance(body, dict) else None
            if not isinstance(feed, list):
                raise ParseError(f"{what}: no 'feed' list in the response")
            reached_old = False
            for item in feed:
                if not isinstance(item, dict) or not isinstance(item.get("post"), dict):
                    continue
                when = _sort_time(item)
                if newest_before and when and when <= newest_before:
                    reached_old = True
                    continue
                if when and (newest is None or when > newest):
                    newest = when
                items.append(item)
            page_cursor = plain(body.get("cursor")) or None
            if reached_old or not page_cursor or not feed:
                break
            warning = await limit.before_next(response, http)
            if warning:
                warnings.append(warning)
                break
        entries = []
        for item in items[: options.max_results]:
            reposted = _is_repost(item)
            if reposted and not options.reposts:
                continue
            entry = feed_item_entry(item)
            if entry is not None:
                entries.append(entry)
        return FetchOutcome(
            status="ok",
            http_status=200,
            entries=tuple(entries),
            title=f"@{options.actor} on Bluesky",
            site_url=options.default_url(),
            warnings=tuple(warnings),
            cursor=newest.isoformat() if newest else None,
        )


def feed_item_entry(item: dict[str, Any]) -> FetchedEntry | None:
    """The entry of one FeedViewPost; a repost is the reposted post, its reposter aside."""
    post = item["post"]
    record = obj(post.get("record"))
    uri = plain(post.get("uri"))
    author = obj(post.get("author"))
    if not uri or not record:
        return None
    permalink = post_url(uri, plain(author.get("handle")) or plain(author.get("did")))
    content, links = _rendered(record, post.get("embed"))
    reposter = None
    published = iso_datetime(record.get("createdAt")) or iso_datetime(post.get("indexedAt"))
    guid = uri
    if _is_repost(item):
        by = obj(item["reason"].get("by"))
        reposter = "@" + (plain(by.get("handle")) or plain(by.get("did")) or "unknown")
        published = iso_datetime(item["reason"].get("indexedAt")) or published
        guid = f"repost:{uri}"  # the account may have posted it too: two entries of the source
    return post_entry(
        guid=guid,
        url=permalink,
        content_html=content,
        text=plain(record.get("text")),
        author=_name(author),
        published=published,
        extra_links=links,
        reposted_by=reposter,
    )


def post_url(uri: str, handle: str) -> str | None:
    """``at://DID/app.bsky.feed.post/RKEY`` → ``https://bsky.app/profile/HANDLE/post/RKEY``."""
    match = re.match(r"^at://([^/]+)/app\.bsky\.feed\.post/([^/?#]+)$", uri)
    if not match:
        return None
    profile = quote(handle or match.group(1), safe=":.")
    return f"https://bsky.app/profile/{profile}/post/{match.group(2)}"


def rich_text(text: str, facets: Any) -> tuple[str, list[str]]:
    """The HTML of a post's text with its facets as anchors (a link's full URI as the href, the
    display text as shown), and the link URIs in order."""
    data = text.encode("utf-8")
    spans: list[tuple[int, int, str, str]] = []  # start, end, kind, value
    for facet in facets if isinstance(facets, list) else ():
        index = facet.get("index") if isinstance(facet, dict) else None
        if not isinstance(index, dict):
            continue
        start, end = index.get("byteStart"), index.get("byteEnd")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(data)):
            continue
        for feature in facet.get("features") or ():
            if not isinstance(feature, dict):
                continue
            kind = plain(feature.get("$type"))
            value = plain(feature.get("uri") or feature.get("did") or feature.get("tag"))
            if kind in (LINK, MENTION, TAG) and value:
                spans.append((start, end, kind, value))
                break
    spans.sort()
    parts: list[str] = []
    links: list[str] = []
    position = 0
    for start, end, kind, value in spans:
        if start < position:
            continue  # overlapping facets: the first wins
        parts.append(_text(data[position:start]))
        shown = _text(data[start:end])
        if kind == LINK:
            links.append(value)
            href = value
        elif kind == MENTION:
            href = f"https://bsky.app/profile/{quote(value, safe=':')}"
        else:
            href = f"https://bsky.app/hashtag/{quote(value, safe='')}"
        parts.append(f'<a href="{html.escape(href)}">{shown}</a>')
        position = end
    parts.append(_text(data[position:]))
    body = "".join(parts)
    paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    return "".join("<p>" + p.strip().replace("\n", "<br>") + "</p>" for p in paragraphs), links


def _text(data: bytes) -> str:
    return html.escape(data.decode("utf-8", errors="replace"))


def _rendered(record: dict[str, Any], view: Any) -> tuple[str, list[str]]:
    """A post's HTML (text, external card, quoted post) and the links it shares, in order."""
    content, links = rich_text(plain(record.get("text")), record.get("facets"))
    external = _external(record.get("embed")) or _external(view)
    if external:
        uri, title, description = external
        links.append(uri)
        content += f'<p><a href="{html.escape(uri)}">{html.escape(title or uri)}</a>'
        content += (f": {html.escape(description)}" if description else "") + "</p>"
    quoted = _quoted_view(view)
    if quoted is not None:
        value = obj(quoted.get("value"))
        embeds = quoted.get("embeds") if isinstance(quoted.get("embeds"), list) else []
        quoted_html, quoted_links = _rendered(value, embeds[0] if embeds else None)
        author = obj(quoted.get("author"))
        who = html.escape(_name(author) or "")  # the quoted post is not a link of the quote
        head = f"<p>{who}:</p>" if who else ""
        content += f"<blockquote>{head}{quoted_html}</blockquote>"
        links.extend(link for link in quoted_links if link not in links)
    return content, links


def _external(embed: Any) -> tuple[str, str, str] | None:
    """An external link card: in a record (``app.bsky.embed.external``), in a view
    (``…external#view``), or as the media beside a quote (``recordWithMedia``)."""
    if not isinstance(embed, dict):
        return None
    kind = plain(embed.get("$type"))
    if kind.startswith("app.bsky.embed.recordWithMedia"):
        return _external(embed.get("media"))
    if not kind.startswith("app.bsky.embed.external"):
        return None
    external = embed.get("external")
    if not isinstance(external, dict) or not plain(external.get("uri")):
        return None
    return (
        plain(external["uri"]),
        plain(external.get("title")).strip(),
        plain(external.get("description")).strip(),
    )


def _quoted_view(view: Any) -> dict[str, Any] | None:
    """The quoted post of a hydrated embed view, when it is a post one may see."""
    if not isinstance(view, dict):
        return None
    kind = plain(view.get("$type"))
    if kind.startswith("app.bsky.embed.recordWithMedia"):
        return _quoted_view(view.get("record"))
    if not kind.startswith("app.bsky.embed.record"):
        return None
    record = view.get("record")
    if (
        isinstance(record, dict)
        and plain(record.get("$type")) == "app.bsky.embed.record#viewRecord"
    ):
        return record
    return None


def _is_repost(item: dict[str, Any]) -> bool:
    reason = item.get("reason")
    return isinstance(reason, dict) and plain(reason.get("$type")) == REPOST


def _sort_time(item: dict[str, Any]) -> datetime | None:
    if _is_repost(item):
        return iso_datetime(item["reason"].get("indexedAt"))
    post = item["post"]
    record = obj(post.get("record"))
    return iso_datetime(post.get("indexedAt")) or iso_datetime(record.get("createdAt"))


def _name(author: dict[str, Any]) -> str | None:
    handle = plain(author.get("handle"))
    name = plain(author.get("displayName")).strip()
    if handle and name:
        return f"{name} (@{handle})"
    return ("@" + handle if handle else name) or None


KIND = SourceKind(
    "bluesky",
    "an account's posts and reposts on Bluesky",
    BlueskyFetcher,
    BlueskyOptions,
)
