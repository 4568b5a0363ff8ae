"""Outbound links a social post or feed entry shares, from its HTML and/or its plain text.

Rules (pure functions: no network, no database):

* HTML: every ``<a href>``, resolved against ``base_url``, http(s) only, not ``#fragment`` links
  within the page. The platform's own anchors are skipped: Mastodon's mentions and hashtags
  (``class="mention"``/``"hashtag"``, ``rel="tag"``) and any href :func:`is_platform_link`
  recognises (profiles, hashtags, searches). The visible text is searched too, for URLs typed as
  text (separators at block boundaries; inline spans, such as Mastodon's ``invisible`` and
  ``ellipsis`` ones, read as one string). A visible URL that only displays an href of the same
  post is not added again: anchor text that is the href or cut from it, a typed URL equal to an
  href. A "…" display that a URL of the post completes is that URL, not a partial link.
* Plain text: linkify-it-py, fuzzy links on (bare domains, TLDs from the Public Suffix List as well
  as linkify's own), e-mail addresses off; a bare domain gets ``https://``. Trailing punctuation
  is trimmed as linkify does, and also runs of ``.,:;`` and non-ASCII closing quotes, brackets and
  stops (” 」 。). Text right after ``@``, ``#`` or ``$`` (mentions, hashtags, cashtags) and the
  part of an e-mail address before its ``@`` are not links.
* A display URL cut short (ending in, or directly followed by, "…" or "...") is a
  :class:`PartialLink`, never a URL.
* URLs are kept as written (only made absolute, or given ``https://``), deduplicated by exact
  string in order of first appearance.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import BeautifulSoup, CData, NavigableString, Tag
from linkify_it import LinkifyIt
from publicsuffixlist import PSLFILE

from feedbot.links import ExtractedLinks, PartialLink

__all__ = ["ExtractedLinks", "PartialLink", "extract_links", "is_platform_link", "links_in_text"]


# A platform's own pages, not links a post shares: (host, path), both matched in full against the
# lowercase host without "www." and the path (query and fragment ignored); host None: any host.
_PLATFORM_PAGES: tuple[tuple[str | None, str], ...] = (
    (  # X/Twitter profiles and their tabs, hashtags, search, intents (not /<user>/status/<id>)
        r"(?:mobile\.)?(?:twitter|x)\.com",
        r"/(?:hashtag|search|intent|share|explore)(?:/.*)?"
        r"|/[A-Za-z0-9_]{1,15}(?:/(?:with_replies|media|likes|followers|following))?/?",
    ),
    (None, r"/@[^/]+/?"),  # Mastodon, Threads (also Medium, YouTube) profiles: not /@user/<id>
    (None, r"/tags/[^/]+/?"),  # Mastodon hashtags
    (r"bsky\.app", r"/profile/[^/]+/?|/hashtag/.+|/search"),  # not /profile/<handle>/post/<id>
    (r"instagram\.com", r"/[^/]+/?"),  # profile roots (posts are /p/<id>/, /reel/<id>/)
    (r"(?:[a-z]{2}\.)?linkedin\.com", r"/(?:in|company)/[^/]+/?"),
)
_PLATFORM_RE = [
    (re.compile(host) if host else None, re.compile(path)) for host, path in _PLATFORM_PAGES
]

_ELLIPSES = ("…", "...")
_STOPS = frozenset({"Pe", "Pf", "Pi", "Po"})  # closing, quote, other punctuation
_NOT_AFTER = "@#$"  # a mention, hashtag or cashtag, not a link
# Invisible formatting (bidi marks and isolates, zero-width characters) never belongs to a URL;
# read as spaces (same length, so offsets hold) or linkify takes them for letters.
_INVISIBLE = dict.fromkeys(
    [*range(0x200B, 0x2010), *range(0x202A, 0x202F), 0x2060, *range(0x2066, 0x206A), 0xFEFF], " "
)
# Elements rendered apart from their neighbours; text in any other element runs on, so a URL
# split over inline spans or <wbr> still reads whole.
_BLOCKS = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
     "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "img", "li", "main",
     "nav", "ol", "p", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"}
)  # fmt: skip


def is_platform_link(url: str) -> bool:
    """True for a social platform's own profile, hashtag, mention, search or intent URL."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").removeprefix("www.")
    except ValueError:
        return False
    return any(
        (host_re is None or host_re.fullmatch(host)) and path_re.fullmatch(parts.path)
        for host_re, path_re in _PLATFORM_RE
    )


def links_in_text(text: str) -> ExtractedLinks:
    """The URLs and cut-short display URLs in plain ``text``."""
    return extract_links(text=text)


def extract_links(
    html: str | None = None, text: str | None = None, base_url: str | None = None
) -> ExtractedLinks:
    """The links in a post's ``html`` (anchors, then visible text) and plain ``text``."""
    segments = _html_segments(html, base_url) if html else []
    if text:
        segments.append((text, None))
    shown = [_display(href) for _, href in segments if href]
    shown_whole = {key.rstrip("/") for key in shown}
    urls: dict[str, None] = {}
    partial: list[PartialLink] = []
    for chunk, href in segments:
        if href:
            urls[href] = None
        for found in _scan(chunk):
            if isinstance(found, PartialLink):
                if href is None:  # in an anchor's text, the anchor's href is the link
                    partial.append(found)
            elif href:  # anchor text: new unless it shows an href or the start of one
                if not any(key.startswith(_display(found)) for key in shown):
                    urls[found] = None
            elif _display(found).rstrip("/") not in shown_whole:
                urls[found] = None
    keys = [_display(url) for url in urls]  # a cut display a URL of the post completes is that URL
    partial = [p for p in partial if not any(k.startswith(_display(p.prefix)) for k in keys)]
    return ExtractedLinks(tuple(urls), tuple(dict.fromkeys(partial)))


def _html_segments(html: str, base_url: str | None) -> list[tuple[str, str | None]]:
    """The visible text, cut at the anchors kept: (text, None) and (anchor text, its URL)."""
    segments: list[tuple[str, str | None]] = []
    words: list[str] = []

    def flush() -> None:
        if words:
            segments.append(("".join(words), None))
            words.clear()

    def walk(tag: Tag, into: list[str]) -> None:
        for child in tag.children:
            if type(child) in (NavigableString, CData):  # not comments, scripts, styles
                into.append(str(child))
            elif isinstance(child, Tag):
                url = _anchor_url(child, base_url) if child.name == "a" else None
                if url == "":  # the platform's own link: its text is no link either
                    continue
                if url:
                    flush()
                    inner: list[str] = []
                    walk(child, inner)
                    segments.append(("".join(inner), url))
                    continue
                gap = " " if child.name in _BLOCKS else ""
                into.append(gap)
                walk(child, into)
                into.append(gap)

    walk(BeautifulSoup(html, "html.parser"), words)
    flush()
    return segments


def _anchor_url(anchor: Tag, base_url: str | None) -> str | None:
    """An anchor's absolute http(s) URL; "" for the platform's own; None if it has none."""
    href = anchor.get("href")
    if not isinstance(href, str) or href.strip().startswith("#"):  # none, or within the page
        return None
    classes = anchor.get_attribute_list("class")
    if "mention" in classes or "hashtag" in classes or "tag" in anchor.get_attribute_list("rel"):
        return ""
    try:
        url = urljoin(base_url or "", href.strip())
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
    except ValueError:
        return None
    return "" if is_platform_link(url) else url


def _scan(text: str) -> Iterator[str | PartialLink]:
    """URLs and partial display URLs in ``text``, in order, duplicates included."""
    text = text.translate(_INVISIBLE)
    for match in _linkify().match(text) or ():
        start, end, raw = match.index, match.last_index, match.raw
        if start and text[start - 1] in _NOT_AFTER:
            continue
        if not match.schema and text.startswith("@", end):  # name.surname@example.org
            continue
        if not match.schema and _looks_like_a_file_name(raw):
            continue
        while _closes_sentence(raw[-1]):
            raw = raw[:-1]
        cut = next((e for e in _ELLIPSES if text.startswith(e, start + len(raw))), "")
        if cut or raw.endswith(_ELLIPSES):
            yield _partial(raw + cut)
        else:
            yield raw if match.schema else "https://" + raw


# TLDs that are also common file extensions: "train.py" or "notes.zip" written bare, with no
# path, is a file name far more often than a web site (README.md, train.py).
FILE_EXTENSION_TLDS = frozenset({"py", "zip", "mov", "md"})


def _looks_like_a_file_name(raw: str) -> bool:
    host, slash, _ = raw.partition("/")
    return not slash and host.rsplit(".", 1)[-1].lower() in FILE_EXTENSION_TLDS


def _closes_sentence(char: str) -> bool:
    """Trailing punctuation linkify leaves on a URL: runs of ``.,:;``, and non-ASCII quotes,
    brackets and stops (” » 」 。 、); not "…", which marks a cut URL."""
    if char in ".,:;":
        return True
    return char != "…" and not char.isascii() and unicodedata.category(char) in _STOPS


def _partial(text: str) -> PartialLink:
    body = re.sub(r"^https?://", "", text, flags=re.IGNORECASE)
    prefix = "https://" + re.sub(r"(?:…|\.\.\.)$", "", body)
    try:
        host = urlsplit(prefix).hostname or ""
    except ValueError:
        host = ""
    return PartialLink(text, host.removeprefix("www."), prefix)


def _display(url: str) -> str:
    """How a URL may be shown: no scheme, no "www.", escapes decoded, lowercase."""
    return re.sub(r"^https?://(?:www\.)?", "", unquote(url).lower())


@functools.cache
def _tlds() -> list[str]:
    """Every top-level label of the bundled Public Suffix List, as regular expressions."""
    with open(PSLFILE, encoding="utf-8") as rules:
        lines = (line.split()[0] for line in rules if line.strip() and not line.startswith("//"))
        return sorted({re.escape(rule.rsplit(".", 1)[-1]) for rule in lines})


@functools.cache
def _linkify() -> LinkifyIt:
    linkify = LinkifyIt(options={"fuzzy_email": False})
    for schema in ("ftp:", "mailto:", "//"):
        linkify.add(schema, None)
    return linkify.tlds(_tlds(), keep_old=True)
