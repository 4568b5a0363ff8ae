"""Metadata read from the head of an article page: a pure function, no network, no database.

``read_metadata`` reads OpenGraph (``og:*``, ``article:*``), Twitter card, plain ``<meta>``,
JSON-LD (schema.org), Highwire ``citation_*``, Dublin Core (``dc.*``/``dcterms.*``) and PRISM
tags, plus ``<title>``, ``<html lang>``, ``<link rel=canonical>``, ``<base href>``, meta refresh
and the JavaScript redirects of link-shortener interstitials. It accepts pages cut off anywhere
(callers stream only the head, see ``head_complete``) and never raises.

Precedence, first non-empty value wins:

- title: og:title, twitter:title, JSON-LD headline/name, citation_title, dc.title, <title>
- description: og:description, twitter:description, description, JSON-LD description,
  dc.description
- site_name: og:site_name, JSON-LD publisher.name, application-name, twitter:site (minus "@")
- author: JSON-LD author names, author, article:author, every citation_author, dc.creator
- published_at (first value that parses): article:published_time, JSON-LD datePublished,
  citation_publication_date, citation_date, dc.date, date
- language: <html lang>, og:locale, content-language, JSON-LD inLanguage
- image_url (first valid http(s) URL): og:image, og:image:secure_url, og:image:url,
  twitter:image, twitter:image:src, JSON-LD image

JSON-LD nodes are taken from top-level objects, lists and ``@graph``; only Article, NewsArticle,
BlogPosting, ScholarlyArticle, Report, other ``*Article`` types and WebPage are used, in that
order, and ``{"@id": ...}`` references are followed within the page.
"""

from __future__ import annotations

import codecs
import html as htmllib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from itertools import chain
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

_T = TypeVar("_T")
_TEXT_LIMIT = 1000
_TITLE_LIMIT = 500
_MAX_REFRESH_DELAY = 10
_SCHOLARLY_PREFIXES = ("citation_", "dc.", "dcterms.", "prism.")
_LD_RANK = {"Article": 0, "NewsArticle": 1, "BlogPosting": 2, "ScholarlyArticle": 3, "Report": 4}
_LD_OTHER_ARTICLE_RANK, _LD_WEBPAGE_RANK = 5, 6
# WHATWG: these labels mean windows-1252 (and a UTF-16 label found in the bytes means UTF-8).
_ENCODING_ALIASES = {"iso8859-1": "cp1252", "ascii": "cp1252"}

_TAG = re.compile(r"<!--.*?(?:-->|\Z)|</?[A-Za-z][^<>]*>", re.S)
_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_HEAD_END = re.compile(rb"</head(?![\w-])|<body(?![\w-])", re.I)
_PARTIAL_DATE = re.compile(r"(\d{4})(?:[-/.](\d{1,2})(?:[-/.](\d{1,2}))?)?")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_REFRESH = re.compile(r"\s*(\d+)(?:\.[\d.]*)?[\s;,]*(?:url\s*=\s*)?(.*)", re.I | re.S)
# Comments go first so a commented-out redirect does not count; the lookbehind spares "https://".
_JS_COMMENT = re.compile(r"""(?<![:\w"'\\])(?:/\*.*?(?:\*/|\Z)|//[^\n]*)""", re.S)
_JS_REDIRECT = re.compile(
    r"(?<![\w$.])(?:(?:window|document|top|self|parent)\s*\.\s*)*location\s*"
    r"(?:(?:\.\s*href\s*)?=(?!=)|\.\s*(?:replace|assign)\s*\()\s*"
    r"""(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')\s*\)?(?=[ \t]*(?:[;,}\r\n]|$))"""
)
_JS_DECLARATION = re.compile(r"\b(?:var|let|const)\s+$")
_JS_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.S)


@dataclass(frozen=True)
class PageMetadata:
    title: str | None = None
    description: str | None = None
    site_name: str | None = None
    author: str | None = None  # several authors joined with ", "
    published_at: datetime | None = None  # UTC; date-only values are midnight UTC
    language: str | None = None  # "en", "en-GB"
    image_url: str | None = None
    canonical_url: str | None = None
    og_url: str | None = None
    refresh_url: str | None = None
    script_redirect_url: str | None = None
    # citation_*, dc.*, dcterms.*, prism.* tags by lowercased name, values in document order
    citation: dict[str, list[str]] = field(default_factory=dict)


def head_complete(data: bytes) -> bool:
    """True once ``data`` holds ``</head>`` or an opening ``<body`` tag: enough to stop reading."""
    return _HEAD_END.search(data) is not None


def read_metadata(html: str | bytes, url: str, encoding: str | None = None) -> PageMetadata:
    """Read the metadata of the page ``html`` fetched from ``url`` (see the module docstring).

    ``encoding`` applies to bytes only; without it the ``<meta charset>`` of the first 2 KB is
    used, else UTF-8. URLs are made absolute against ``url`` and ``<base href>``.
    """
    text = _decode(html, encoding) if isinstance(html, bytes) else html
    soup = _Page.parse(text)
    named, equiv = _meta_tags(soup)
    nodes, ids = _json_ld(soup)
    base_tag = soup.find("base", href=True)
    base = (_absolute(_attr(base_tag, "href"), url) if base_tag else None) or url

    def meta(*keys: str) -> Iterator[str]:
        return (value for key in keys for value in named.get(key, ()))

    def ld(*keys: str) -> Iterator[Any]:
        return (node.get(key) for node in nodes for key in keys)

    title_tag = soup.find("title")
    html_tag = soup.find("html")
    authors = (
        [name for node in nodes for name in _ld_names(node.get("author"), ids)],
        list(meta("author")),
        [value for value in meta("article:author") if not _looks_like_url(value)],
        list(meta("citation_author")),
        list(meta("dc.creator", "dcterms.creator")),
    )
    publisher = (name for node in nodes for name in _ld_names(node.get("publisher"), ids)[:1])
    twitter_site = (value.strip().lstrip("@") for value in meta("twitter:site"))
    dates = chain(
        meta("article:published_time"),
        ld("datePublished"),
        meta("citation_publication_date", "citation_date", "dc.date", "dcterms.date", "date"),
    )
    languages = chain(
        [_attr(html_tag, "lang") or _attr(html_tag, "xml:lang")] if html_tag else [],
        meta("og:locale"),
        equiv.get("content-language", ()),
        meta("content-language"),
        ld("inLanguage"),
    )
    images = chain(
        meta("og:image", "og:image:secure_url", "og:image:url"),
        meta("twitter:image", "twitter:image:src"),
        (image for node in nodes for image in _ld_images(node.get("image"), ids)),
    )
    canonicals = (
        _attr(link, "href") for link in soup.find_all("link", href=True) if _is_canonical(link)
    )
    return PageMetadata(
        title=_first_text(
            chain(
                meta("og:title", "twitter:title"),
                ld("headline", "name"),
                meta("citation_title", "dc.title", "dcterms.title"),
                [title_tag.get_text()] if title_tag else [],
            ),
            _TITLE_LIMIT,
        ),
        description=_first_text(
            chain(
                meta("og:description", "twitter:description", "description"),
                ld("description"),
                meta("dc.description", "dcterms.description"),
            )
        ),
        site_name=_first_text(
            chain(meta("og:site_name"), publisher, meta("application-name"), twitter_site)
        ),
        author=next(filter(None, (_join_names(names) for names in authors)), None),
        published_at=_first_parsed(dates, _parse_date),
        language=_first_parsed(languages, _language),
        image_url=_first_url(images, base),
        canonical_url=_first_url(canonicals, base),
        og_url=_first_url(meta("og:url"), base),
        refresh_url=_first_url(map(_refresh_target, equiv.get("refresh", ())), base),
        script_redirect_url=_first_url(_script_redirects(soup), base),
        citation={
            key: [" ".join(value.split()) for value in values]
            for key, values in named.items()
            if key.startswith(_SCHOLARLY_PREFIXES)
        },
    )


def _decode(data: bytes, encoding: str | None) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", "replace")
    label = encoding
    if not label and (match := _CHARSET.search(data[:2048])):
        label = match.group(1).decode("ascii")
    try:
        name = codecs.lookup(label or "utf-8").name
        if not encoding and name.startswith("utf-16"):
            name = "utf-8"
        return data.decode(_ENCODING_ALIASES.get(name, name), "replace")
    except (LookupError, ValueError):  # unknown label, or a codec that is not a text encoding
        return data.decode("utf-8", "replace")


class _Element:
    """A tag of interest, with its attributes and (for title and script) its text."""

    __slots__ = ("attrs", "name", "text")

    def __init__(self, name: str, attrs: dict[str, str]) -> None:
        self.name = name
        self.attrs = attrs
        self.text: list[str] = []

    def get(self, name: str) -> str | None:
        return self.attrs.get(name)

    def get_text(self) -> str:
        return "".join(self.text)


class _Page(HTMLParser):
    """The few elements metadata lives in, collected in one pass of the standard library's
    tolerant HTML tokenizer (BeautifulSoup builds a whole tree, several times slower)."""

    WANTED = frozenset({"base", "html", "link", "meta", "script", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[_Element] = []
        self._open: _Element | None = None

    @classmethod
    def parse(cls, text: str) -> _Page:
        page = cls()
        try:
            page.feed(text)
            page.close()
        except (AssertionError, ValueError):  # markup the tokenizer gives up on: keep what it read
            pass
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.WANTED:
            return
        element = _Element(tag, {name: value or "" for name, value in reversed(attrs)})
        self.elements.append(element)
        if tag in ("title", "script"):
            self._open = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._open = None

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and self._open.name == tag:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.text.append(data)

    def find(self, name: str, href: bool = False) -> _Element | None:
        return next(iter(self.find_all(name, href)), None)

    def find_all(self, name: str, href: bool = False) -> list[_Element]:
        return [e for e in self.elements if e.name == name and (not href or "href" in e.attrs)]


def _attr(tag: Any, name: str) -> str:
    value = tag.get(name) if isinstance(tag, _Element) else None
    return value if isinstance(value, str) else ""


def _meta_tags(soup: _Page) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Non-empty ``content`` of the meta tags by lowercased name/property, and by http-equiv."""
    named: dict[str, list[str]] = {}
    equiv: dict[str, list[str]] = {}
    for tag in soup.find_all("meta"):
        content = _attr(tag, "content")
        if not content.strip():
            continue
        keys = dict.fromkeys(_attr(tag, attr).strip().lower() for attr in ("name", "property"))
        for key in filter(None, keys):
            named.setdefault(key, []).append(content)
        if key := _attr(tag, "http-equiv").strip().lower():
            equiv.setdefault(key, []).append(content)
    return named, equiv


def _json_ld(soup: _Page) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """The usable JSON-LD nodes, best first, and every node with an ``@id`` by its id."""
    found: list[dict[str, Any]] = []
    for script in soup.find_all("script"):
        if _attr(script, "type").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.get_text(), strict=False)
        except (ValueError, RecursionError):
            continue
        for item in _as_list(data):
            if isinstance(item, dict):
                graph = item.get("@graph")
                found.append(item)
                found.extend(g for g in _as_list(graph) if isinstance(g, dict))
    ids = {node["@id"]: node for node in found if isinstance(node.get("@id"), str)}
    ranked = sorted((rank, i) for i, node in enumerate(found) if (rank := _ld_rank(node)) != -1)
    return [found[i] for _, i in ranked], ids


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _ld_rank(node: dict[str, Any]) -> int:
    """Preference of a JSON-LD node by its @type, lowest first; -1 for a node not to use."""
    ranks: list[int] = []
    for type_ in _as_list(node.get("@type")):
        if isinstance(type_, str):
            name = type_.rsplit("/", 1)[-1].rsplit(":", 1)[-1]  # "schema:X", "https://schema.org/X"
            if name in _LD_RANK:
                ranks.append(_LD_RANK[name])
            elif name.endswith("Article"):
                ranks.append(_LD_OTHER_ARTICLE_RANK)
            elif name == "WebPage":
                ranks.append(_LD_WEBPAGE_RANK)
    return min(ranks, default=-1)


def _ld_items(value: Any, ids: dict[str, dict[str, Any]]) -> Iterator[Any]:
    """The items of a JSON-LD value (one or a list), with ``{"@id": ...}`` references followed."""
    for item in _as_list(value):
        if isinstance(item, dict) and isinstance(ref := item.get("@id"), str) and ref in ids:
            yield {**ids[ref], **item}
        else:
            yield item


def _ld_names(value: Any, ids: dict[str, dict[str, Any]]) -> list[str]:
    names = (item.get("name") if isinstance(item, dict) else item for item in _ld_items(value, ids))
    return [name for name in names if isinstance(name, str)]


def _ld_images(value: Any, ids: dict[str, dict[str, Any]]) -> Iterator[str]:
    for item in _ld_items(value, ids):
        image = item.get("url") or item.get("contentUrl") if isinstance(item, dict) else item
        if isinstance(image, str):
            yield image


def _clean(value: str, limit: int = _TEXT_LIMIT) -> str | None:
    # Unescape first: attribute values are sometimes escaped twice ("&amp;amp;", "&lt;em&gt;").
    text = " ".join(_TAG.sub("", htmllib.unescape(value)).split())
    return text[:limit].rstrip() or None


def _first_text(values: Iterable[Any], limit: int = _TEXT_LIMIT) -> str | None:
    cleaned = (_clean(value, limit) for value in values if isinstance(value, str))
    return next(filter(None, cleaned), None)


def _first_parsed(values: Iterable[Any], parse: Callable[[str], _T | None]) -> _T | None:
    return next(filter(None, (parse(value) for value in values if isinstance(value, str))), None)


def _join_names(names: list[str]) -> str | None:
    cleaned = [name for name in map(_clean, names) if name and not _looks_like_url(name)]
    return _clean(", ".join(dict.fromkeys(cleaned)))


def _looks_like_url(value: str) -> bool:
    return re.match(r"\s*(?:https?:|//|www\.)", value, re.I) is not None


def _absolute(value: str, base: str) -> str | None:
    value = re.sub(r"[\t\n\r]", "", value).strip()
    if not value:
        return None
    try:
        resolved = urljoin(base, value)
        parts = urlsplit(resolved)
    except ValueError:  # e.g. a malformed IPv6 host
        return None
    return resolved if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _first_url(values: Iterable[str | None], base: str) -> str | None:
    return next(filter(None, (_absolute(value, base) for value in values if value)), None)


def _is_canonical(link: Any) -> bool:
    rel = link.get("rel") if isinstance(link, _Element) else None
    rels = rel.split() if isinstance(rel, str) else list(rel or ())
    return "canonical" in (r.lower() for r in rels)


def _parse_date(value: str) -> datetime | None:
    value = value.strip()
    try:
        if match := _PARTIAL_DATE.fullmatch(value):  # citation formats: 2012/04/01, 2012-04, 2012
            year, month, day = (int(part or 1) for part in match.groups())
            parsed = datetime(year, month, day)
        else:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = parsedate_to_datetime(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, TypeError, OverflowError, IndexError):
        return None


def _language(value: str) -> str | None:
    tag = value.split(",")[0].strip().replace("_", "-")
    if not _LANGUAGE.fullmatch(tag):
        return None
    primary, *rest = tag.split("-")
    subtags = [s.upper() if len(s) == 2 else s.title() if len(s) == 4 else s.lower() for s in rest]
    return "-".join([primary.lower(), *subtags])


def _refresh_target(content: str) -> str | None:
    match = _REFRESH.fullmatch(content)
    if not match or len(match.group(1)) > 5 or int(match.group(1)) > _MAX_REFRESH_DELAY:
        return None
    target = match.group(2).strip()
    if target[:1] in ("'", '"'):
        target = target[1:].split(target[0], 1)[0]
    return target or None


def _script_redirects(soup: _Page) -> Iterator[str]:
    """String literals assigned to ``location`` (or passed to replace/assign) in inline scripts."""
    for script in soup.find_all("script"):
        kind = _attr(script, "type").strip().lower()
        if _attr(script, "src") or (kind and kind != "module" and "script" not in kind):
            continue
        code = _JS_COMMENT.sub("", script.get_text())
        for match in _JS_REDIRECT.finditer(code):
            literal = match.group(1) if match.group(1) is not None else match.group(2)
            target = _JS_ESCAPE.sub(_js_unescape_one, literal)
            declared = _JS_DECLARATION.search(code, 0, match.start())  # var location = "..."
            if target and not target.startswith("#") and not declared:
                yield target


def _js_unescape_one(match: re.Match[str]) -> str:
    escape = match.group(1)
    return chr(int(escape[1:], 16)) if len(escape) > 1 else escape
