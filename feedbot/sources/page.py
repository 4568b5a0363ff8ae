"""Web pages without a feed: a list page read with CSS selectors.

    [[sources]]
    name = "District news"
    kind = "page"
    url = "https://district.example.org/news/"
    selectors = { item = "article.news", link = "h2 a", date = "time", summary = "p.lede" }
    # respect_robots = true

Each element the ``item`` selector matches on the page is an entry. Within it, ``link`` (default
``a``) gives its URL (``href``; the item itself when it is the anchor), made absolute against the
page (or its ``<base href>``); ``title`` its title (default: the link's text); ``date`` its date
(a ``datetime`` or ``content`` attribute, else the text, read leniently: ISO 8601, RFC 822 and the
common written forms such as "March 3, 2026"); ``summary`` its summary (the element's HTML,
sanitized). Selectors are CSS as soupsieve reads them (what browsers accept, ``:has()`` and
``:-soup-contains()`` included). ``feedbot sources test NAME`` fetches the page once and prints
what they found.

Politeness: the page's ``robots.txt`` is read first (once per host and run, through the same HTTP
client) and obeyed for the user agent token ``feedbot``, unless ``respect_robots = false``. A
robots.txt answering 4xx allows everything; one that cannot be read (5xx, no connection) means
"disallowed", as RFC 9309 asks. Pages are fetched with conditional GET (ETag, Last-Modified).

Errors, recorded on the source: a response that is not an HTML page, a page that cannot be read,
an ``item`` selector that matches nothing, a selector that is not valid CSS. Items without a link
are left out with a warning, as are dates that cannot be read.
"""

from __future__ import annotations

import asyncio
import calendar
import html
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

from bs4 import BeautifulSoup, Tag
from pydantic import BaseModel, ConfigDict, Field, field_validator

from feedbot.errors import FetchError, ParseError
from feedbot.http import HttpClient
from feedbot.sanitize import is_web_url
from feedbot.sources import (
    FetchedEntry,
    FetchOutcome,
    SourceKind,
    SourceOptions,
    SourceState,
    conditional_get,
)
from feedbot.sources.entries import dedupe, make_entry

if TYPE_CHECKING:
    from feedbot.sources import FetchContext

ROBOTS_AGENT = "feedbot"
_HTML_TYPES = ("text/html", "application/xhtml+xml", "")
_DATE_FORMATS = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%B %d %Y", "%b %d %Y",
                 "%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d")  # fmt: skip


class Selectors(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str = Field(description="CSS selector of each item on the page (required).")
    link: str = Field("a", description="Selector of the item's link, within the item.")
    title: str | None = Field(None, description="Selector of its title (default: the link's text).")
    date: str | None = Field(None, description="Selector of its date.")
    summary: str | None = Field(None, description="Selector of its summary.")

    @field_validator("item", "link", "title", "date", "summary")
    @classmethod
    def _valid_css(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import soupsieve

        try:
            soupsieve.compile(value)
        except (soupsieve.SelectorSyntaxError, ValueError) as e:
            raise ValueError(
                f"not a valid CSS selector: {value!r} ({str(e).splitlines()[0]})"
            ) from e
        return value


class PageOptions(SourceOptions):
    selectors: Selectors = Field(
        description="CSS selectors: item (required), link ('a'), title, date, summary."
    )
    respect_robots: bool = Field(True, description="Obey the site's robots.txt.")


class PageFetcher:
    def __init__(self, context: FetchContext | None = None) -> None:
        self.context = context
        self._robots: dict[str, RobotFileParser | str] = {}  # origin → rules, or why unreadable
        self._locks: dict[str, asyncio.Lock] = {}

    async def fetch(self, source: SourceState, http: HttpClient) -> FetchOutcome:
        options = PageOptions.model_validate(source.options)
        if options.respect_robots:
            await self._check_robots(source.url, http)
        accept = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
        response = await conditional_get(http, source, accept)
        if response is None:
            return FetchOutcome(status="not_modified", http_status=304)
        if response.content_type not in _HTML_TYPES:
            raise ParseError(
                f"not an HTML page: the response is {response.content_type} ({response.url})"
            )
        title, entries, warnings = parse_page(response.content, response.url, options.selectors)
        return FetchOutcome(
            status="ok",
            http_status=response.status,
            entries=entries,
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            title=title,
            site_url=response.url,
            warnings=warnings,
        )

    async def _check_robots(self, url: str, http: HttpClient) -> None:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        async with self._locks.setdefault(origin, asyncio.Lock()):
            if origin not in self._robots:
                self._robots[origin] = await _read_robots(origin, http)
        rules = self._robots[origin]
        if isinstance(rules, str):
            raise FetchError(
                f"{origin}/robots.txt could not be read ({rules}): not fetching, as RFC 9309 "
                "asks; set respect_robots = false to fetch anyway"
            )
        if not rules.can_fetch(ROBOTS_AGENT, url):
            raise FetchError(
                f"{origin}/robots.txt disallows {url} for feedbot "
                "(set respect_robots = false to fetch it anyway)"
            )


async def _read_robots(origin: str, http: HttpClient) -> RobotFileParser | str:
    """The rules of ``origin``'s robots.txt, or the reason it could not be read."""
    rules = RobotFileParser(origin + "/robots.txt")
    try:
        response = await http.get(origin + "/robots.txt", headers={"Accept": "text/plain"})
    except FetchError as e:
        return str(e)
    if 400 <= response.status < 500:
        rules.parse([])  # none: everything allowed
    elif response.status != 200:
        return f"HTTP {response.status}"
    else:
        rules.parse(response.content.decode("utf-8", errors="replace").splitlines())
    return rules


def parse_page(
    content: bytes, url: str, selectors: Selectors
) -> tuple[str | None, tuple[FetchedEntry, ...], tuple[str, ...]]:
    """The page's title, its items as entries, and warnings. Raises :class:`ParseError` when it
    is not an HTML page or ``selectors.item`` matches nothing."""
    if not content.strip():
        raise ParseError("empty response: no page")
    head = content[:2048]
    if b"\x00" in head or (b"<" not in content[:65536]):
        raise ParseError("the response is not an HTML page (no markup in it)")
    try:
        soup = BeautifulSoup(content, "html.parser")
    except Exception as e:  # html.parser gives up on some broken documents
        raise ParseError(f"the page could not be parsed: {type(e).__name__}: {e}") from e
    base_tag = soup.find("base", href=True)
    base = urljoin(url, str(base_tag["href"])) if isinstance(base_tag, Tag) else url
    items = soup.select(selectors.item)
    if not items:
        raise ParseError(f"the item selector {selectors.item!r} matches nothing on the page")
    entries: list[FetchedEntry] = []
    no_link = no_title = bad_dates = 0
    for item in items:
        link = _link(item, selectors.link, base)
        if link is None:
            no_link += 1
            continue
        title_tag = _one(item, selectors.title) if selectors.title else None
        anchor = item if item.name == "a" else item.select_one(selectors.link)
        title = _text(title_tag) or _text(anchor)
        if not title:
            no_title += 1
        published = None
        if selectors.date:
            date_tag = _one(item, selectors.date)
            published = _date(date_tag) if date_tag is not None else None
            if published is None:
                bad_dates += 1
        summary_tag = _one(item, selectors.summary) if selectors.summary else None
        entries.append(
            make_entry(
                guid=link,
                url=link,
                title=html.escape(title or link),
                summary=summary_tag.decode_contents() if summary_tag is not None else "",
                content="",
                author=None,
                published=published,
                updated=None,
                base_url=base,
            )
        )
    warnings = []
    if no_link:
        warnings.append(
            f"{no_link} of {len(items)} items have no link matching {selectors.link!r}: left out"
        )
    if no_title:
        warnings.append(f"{no_title} items have no title text; their URL is their title")
    if bad_dates:
        warnings.append(f"{bad_dates} items have no readable date under {selectors.date!r}")
    if not entries:
        raise ParseError(
            f"the item selector {selectors.item!r} matches {len(items)} elements, but none has a "
            f"link matching {selectors.link!r}"
        )
    page_title = _text(soup.title) if soup.title else None
    return page_title or None, dedupe(entries), tuple(warnings)


def _one(item: Tag, selector: str) -> Tag | None:
    return item if item.css.match(selector) else item.select_one(selector)


def _link(item: Tag, selector: str, base: str) -> str | None:
    anchor = item if item.name == "a" and item.get("href") else item.select_one(selector)
    if anchor is None:
        return None
    href = anchor.get("href") or anchor.get("src") or ""
    if not isinstance(href, str) or not href.strip() or href.strip().startswith("#"):
        return None
    url = urljoin(base, href.strip())
    return url if is_web_url(url) else None


def _text(tag: Any) -> str:
    return " ".join(tag.get_text(" ").split()) if isinstance(tag, Tag) else ""


def _date(tag: Tag) -> datetime | None:
    """A date from ``datetime``/``content``/``title`` attributes or the text, read leniently."""
    candidates = [tag.get(name) for name in ("datetime", "content", "title")] + [_text(tag)]
    for value in candidates:
        if isinstance(value, str) and value.strip():
            parsed = parse_date(value.strip())
            if parsed is not None:
                return parsed
    return None


def parse_date(value: str) -> datetime | None:
    """ISO 8601, RFC 822 and the other forms feedparser knows, then written dates."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        pass
    from feedparser.datetimes import _parse_date

    struct: time.struct_time | None = _parse_date(value)
    if struct is not None:
        return datetime.fromtimestamp(calendar.timegm(struct), UTC)
    cleaned = " ".join(value.replace(",", ", ").split()).replace(" ,", ",")
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(cleaned, form).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


KIND = SourceKind(
    "page",
    "a web page without a feed, read with CSS `selectors`",
    PageFetcher,
    PageOptions,
)
