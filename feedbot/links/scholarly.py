"""DOIs and arXiv ids to citations: doi.org content negotiation, the Crossref REST API and the
arXiv API, read into :class:`~feedbot.links.citation.Citation`.

The parsers are pure functions (:func:`citation_from_csl`, :func:`citation_from_crossref`,
:func:`citations_from_arxiv_atom`): they raise ``ValueError`` with one readable line for a
document of the wrong shape. :class:`ScholarlyClient` never raises for bad input or a failing
service: every lookup ends as a :class:`Lookup` (``ok``, ``not_found`` or ``error``).

Politeness: Crossref requests carry ``mailto`` (its "polite pool") and are paced by the
``x-rate-limit-limit`` / ``x-rate-limit-interval`` headers of its last answer; arXiv requests are
serialized, one every ``arxiv_interval_seconds``. Retries on 429/5xx and ``Retry-After`` are
:class:`~feedbot.http.HttpClient`'s.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import re
import time
import weakref
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any, Literal
from urllib.parse import quote, urlencode

from feedbot.config import ResearchSettings
from feedbot.errors import FetchError
from feedbot.http import HttpClient, Response, reason_phrase
from feedbot.links.arxiv import normalize_arxiv_id
from feedbot.links.citation import Author, Citation
from feedbot.links.doi import normalize_doi
from feedbot.sanitize import clean_html, html_to_text

log = logging.getLogger(__name__)

CSL_JSON = "application/vnd.citationstyles.csl+json"
ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"

# The fields a bibliographic search asks Crossref for (names from the API's select list).
CROSSREF_SELECT = (
    "DOI,title,author,container-title,short-container-title,issued,published,published-print,"
    "published-online,volume,issue,page,article-number,publisher,type,relation,abstract,link,"
    "license,created,subject,ISSN"
)
ARXIV_BATCH = 100  # ids per arXiv API request
MAX_RATE_INTERVAL = 10.0  # never wait longer than this between two Crossref requests

Status = Literal["ok", "not_found", "error"]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Lookup:
    """The outcome of one lookup, never an exception. ``error`` is one line (for ``error``, and
    a note for ``not_found``); ``source`` names the service that answered."""

    citation: Citation | None
    status: Literal["ok", "not_found", "error"]
    error: str | None = None
    source: str | None = None  # "doi.org", "crossref", "arxiv"


# -- identifiers -----------------------------------------------------------------------------


# -- shared field readers ---------------------------------------------------------------------


def _text(value: object) -> str | None:
    """A string field, or the first non-empty string of a list field; stripped, or None."""
    if isinstance(value, list):
        for item in value:
            text = _text(item)
            if text:
                return text
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _plain(value: object) -> str | None:
    """A title-like field as plain text: tags dropped (``<i>``, MathML), entities decoded (twice
    when the record escaped them twice, as ``&amp;nbsp;``), white space folded."""
    text = _text(value)
    if not text:
        return None
    text = html_to_text(text)
    if _ENTITY.search(text):
        text = " ".join(html.unescape(text).split())
    return text or None


def _title(data: Mapping[str, Any]) -> str:
    title = _plain(data.get("title"))
    if not title:
        raise ValueError("no title")
    return title


def _authors(value: object) -> tuple[Author, ...]:
    """CSL / Crossref names: given + family, or ``literal`` / ``name`` for an organisation."""
    if not isinstance(value, list):
        return ()
    authors: list[Author] = []
    for person in value:
        if not isinstance(person, Mapping):
            continue
        family = _plain(person.get("family"))
        given = _plain(person.get("given")) or ""
        particle = _plain(person.get("non-dropping-particle"))
        if family and particle:
            family = f"{particle} {family}"
        dropping = _plain(person.get("dropping-particle"))
        if given and dropping:
            given = f"{given} {dropping}"
        if family:
            authors.append(Author(family=family, given=given))
            continue
        whole = _plain(person.get("literal")) or _plain(person.get("name")) or given
        if whole:
            authors.append(Author(family=whole))
    return tuple(authors)


def _date_parts(value: object) -> tuple[int, int | None, int | None] | None:
    """``{"date-parts": [[2012, 3, 21]]}`` → (2012, 3, 21); parts may be missing or strings;
    ``{"raw": "2016-12-20"}`` is read too. ``None`` when there is no year."""
    if not isinstance(value, Mapping):
        return None
    parts = value.get("date-parts")
    numbers: list[int] = []
    if isinstance(parts, list) and parts and isinstance(parts[0], list):
        for part in parts[0][:3]:
            if isinstance(part, bool):
                break
            if isinstance(part, int):
                numbers.append(part)
            elif isinstance(part, str) and part.strip().isdigit():
                numbers.append(int(part))
            else:
                break
    else:
        raw = _text(value.get("raw")) or _text(value.get("literal"))
        found = re.match(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", raw or "")
        if found:
            numbers = [int(g) for g in found.groups() if g]
    if not numbers or not 1 <= numbers[0] <= 9999:
        return None
    year = numbers[0]
    month = numbers[1] if len(numbers) > 1 and 1 <= numbers[1] <= 12 else None
    day = numbers[2] if month and len(numbers) > 2 and 1 <= numbers[2] <= 31 else None
    return year, month, day


def _first_date(
    data: Mapping[str, Any], keys: Iterable[str]
) -> tuple[int | None, int | None, int | None]:
    for key in keys:
        parts = _date_parts(data.get(key))
        if parts:
            return parts
    return None, None, None


def _pages(data: Mapping[str, Any]) -> str | None:
    pages = _text(data.get("page")) or _text(data.get("article-number"))
    if not pages:
        return None
    return re.sub(r"\s*[‐-―−-]\s*", "-", pages)


def _publisher(value: object) -> str | None:
    if isinstance(value, Mapping):  # some CSL writers give {"name": "DataCite"}
        return _plain(value.get("name"))
    return _plain(value)


def _doi_field(value: object) -> str | None:
    text = _text(value)
    return normalize_doi(text) if text else None


# Crossref work types → CSL types (the CSL that Crossref's content negotiation returns keeps
# Crossref's own names, so both parsers map them).
CROSSREF_TO_CSL = {
    "journal-article": "article-journal",
    "proceedings-article": "paper-conference",
    "posted-content": "article",
    "book-chapter": "chapter",
    "book-section": "chapter",
    "book-part": "chapter",
    "book-track": "chapter",
    "book": "book",
    "monograph": "book",
    "edited-book": "book",
    "reference-book": "book",
    "book-set": "book",
    "book-series": "book",
    "proceedings": "book",
    "proceedings-series": "book",
    "dissertation": "thesis",
    "report": "report",
    "report-component": "report",
    "report-series": "report",
    "dataset": "dataset",
    "database": "dataset",
    "reference-entry": "entry",
    "peer-review": "review",
    "standard": "standard",
    "journal": "periodical",
    "journal-issue": "periodical",
    "journal-volume": "periodical",
    "component": "document",
    "grant": "document",
    "other": "document",
}
CSL_TYPES = frozenset(
    {"article", "article-journal", "article-magazine", "article-newspaper", "bill", "book",
     "broadcast", "chapter", "classic", "collection", "dataset", "document", "entry",
     "entry-dictionary", "entry-encyclopedia", "event", "figure", "graphic", "hearing",
     "interview", "legal_case", "legislation", "manuscript", "map", "motion_picture",
     "musical_score", "pamphlet", "paper-conference", "patent", "performance", "periodical",
     "personal_communication", "post", "post-weblog", "regulation", "report", "review",
     "review-book", "software", "song", "speech", "standard", "thesis", "treaty", "webpage"}
)  # fmt: skip


def csl_type(value: object) -> str | None:
    """A CSL type from a CSL or Crossref type name; ``None`` for an unknown one."""
    name = _text(value)
    if not name:
        return None
    name = name.lower()
    if name in CROSSREF_TO_CSL:
        return CROSSREF_TO_CSL[name]
    return name if name in CSL_TYPES else None


# Relations that make another DOI the same work in another form.
SAME_WORK_RELATIONS = (
    "is-preprint-of",
    "has-preprint",
    "is-version-of",
    "has-version",
    "is-identical-to",
    "is-same-as",
)


def _related_dois(data: Mapping[str, Any], own: str | None) -> tuple[str, ...]:
    relation = data.get("relation")
    if not isinstance(relation, Mapping):
        return ()
    found: list[str] = []
    for name in SAME_WORK_RELATIONS:
        targets = relation.get(name)
        if isinstance(targets, Mapping):
            targets = [targets]
        if not isinstance(targets, list):
            continue
        for target in targets:
            if not isinstance(target, Mapping):
                continue
            if str(target.get("id-type", "")).lower() != "doi":
                continue
            doi = _doi_field(target.get("id"))
            if doi and doi != own and doi not in found:
                found.append(doi)
    return tuple(found)


_OPEN_LICENSES = (
    "creativecommons.org/",
    "www.elsevier.com/open-access/userlicense",
    "www.apache.org/licenses/",
    "www.gnu.org/licenses/",
    "opensource.org/licenses/",
)


def _is_open_license(url: str) -> bool:
    lowered = url.lower().split("://", 1)[-1]
    return any(lowered.startswith(pattern) for pattern in _OPEN_LICENSES)


def _open_access_url(data: Mapping[str, Any], today: date | None) -> str | None:
    """A full-text link of the version of record (else the accepted manuscript) whose version
    carries an open licence (Creative Commons and the like) in force ``today``."""
    licenses = data.get("license")
    links = data.get("link")
    if not isinstance(licenses, list) or not isinstance(links, list):
        return None
    open_versions: set[str] = set()
    for licence in licenses:
        if not isinstance(licence, Mapping):
            continue
        url = _text(licence.get("URL"))
        if not url or not _is_open_license(url):
            continue
        start = _date_parts(licence.get("start"))
        if today and start and date(start[0], start[1] or 1, start[2] or 1) > today:
            continue  # embargoed: open later
        open_versions.add(str(licence.get("content-version") or "unspecified").lower())
    if not open_versions:
        return None
    preferred = {"application/pdf": 0, "text/html": 1, "unspecified": 2}
    candidates: list[tuple[int, int, str]] = []
    for link in links:
        if not isinstance(link, Mapping):
            continue
        url = _text(link.get("URL"))
        version = str(link.get("content-version") or "").lower()
        if not url or not url.lower().startswith(("http://", "https://")):
            continue
        if version not in ("vor", "am"):
            continue
        if version not in open_versions and "unspecified" not in open_versions:
            continue
        kind = str(link.get("content-type") or "unspecified").lower()
        candidates.append((0 if version == "vor" else 1, preferred.get(kind, 3), url))
    return min(candidates)[2] if candidates else None


# -- abstracts ----------------------------------------------------------------------------------

_JATS_TITLE_ABSTRACT = re.compile(
    r"<(?:jats:)?title\b[^>]*>\s*(?:abstract|summary)\s*:?\s*</(?:jats:)?title>", re.IGNORECASE
)
_JATS_TAG = re.compile(
    r"<(/?)(?:jats:)?(list-item|ext-link|p|italic|bold|sup|sub|underline|sc|monospace|title|sec"
    r"|list|break|strike)(?=[\s/>])([^>]*?)/?>",
    re.IGNORECASE,
)
_EMPTY_PARAGRAPH = re.compile(r"<p>\s*</p>")
_JATS_HTML = {
    "p": "p", "italic": "i", "bold": "b", "sup": "sup", "sub": "sub", "underline": "u",
    "sc": "span", "monospace": "code", "sec": "div", "list": "ul", "list-item": "li",
    "strike": "s",
}  # fmt: skip
_HREF = re.compile(r"""(?:xlink:)?href\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(r"</?[A-Za-z][\w:-]*[^>]*>")


def _jats_tag(match: re.Match[str]) -> str:
    closing, name, attributes = match.group(1), match.group(2).lower(), match.group(3)
    if name == "break":
        return "<br>"
    if name == "title":
        return "</b></p>" if closing else "<p><b>"
    if name == "ext-link":
        if closing:
            return "</a>"
        href = _HREF.search(attributes)
        return f'<a href="{html.escape(html.unescape(href.group(2)))}">' if href else "<a>"
    return f"<{closing}{_JATS_HTML[name]}>"


def abstract_html(value: object) -> str | None:
    """An abstract as sanitized HTML: JATS (``<jats:p>``, ``<jats:italic>``…) turned into plain
    HTML first; plain text becomes paragraphs."""
    text = _text(value)
    if not text:
        return None
    if _HTML_TAG.search(text):
        text = _JATS_TITLE_ABSTRACT.sub("", text, count=1)
        text = _JATS_TAG.sub(_jats_tag, text)
        cleaned = _EMPTY_PARAGRAPH.sub("", clean_html(text))
    else:
        paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
        cleaned = "".join(f"<p>{html.escape(p, quote=False)}</p>" for p in paragraphs if p)
    return cleaned if html_to_text(cleaned) else None


# -- the parsers --------------------------------------------------------------------------------


def citation_from_csl(data: Mapping[str, Any], *, today: date | None = None) -> Citation:
    """A citation from CSL-JSON (doi.org content negotiation, for Crossref and DataCite DOIs).
    Crossref's CSL also carries ``relation``, ``link`` and ``license``, read as in
    :func:`citation_from_crossref`. Raises ``ValueError`` for a document that is not CSL."""
    if not isinstance(data, Mapping):
        raise ValueError(f"expected a CSL-JSON object, got {type(data).__name__}")
    dates = ("issued", "published", "published-print", "published-online", "created")
    containers = (
        "container-title", "container-title-short", "short-container-title", "journalAbbreviation"
    )  # fmt: skip
    return _citation(data, dates, containers, today)


def citation_from_crossref(message: Mapping[str, Any], *, today: date | None = None) -> Citation:
    """A citation from one Crossref REST API work (the ``message`` of ``/works/{doi}``, or an item
    of a ``/works`` query). ``today`` (optional) leaves out licences not yet in force. Raises
    ``ValueError`` for a work without a title."""
    if not isinstance(message, Mapping):
        raise ValueError(f"expected a Crossref work object, got {type(message).__name__}")
    dates = ("issued", "published", "published-print", "published-online")
    return _citation(message, dates, ("container-title", "short-container-title"), today)


def _citation(
    data: Mapping[str, Any],
    dates: tuple[str, ...],
    containers: tuple[str, ...],
    today: date | None,
) -> Citation:
    """The fields CSL-JSON and Crossref's work JSON share; they differ in which date and
    container keys exist, tried in the given order."""
    title = _title(data)
    doi = _doi_field(data.get("DOI"))
    year, month, day = _first_date(data, dates)
    container = next(filter(None, (_plain(data.get(key)) for key in containers)), None)
    return Citation(
        title=title,
        doi=doi,
        authors=_authors(data.get("author")),
        container=container,
        year=year,
        month=month,
        day=day,
        volume=_text(data.get("volume")),
        issue=_text(data.get("issue")),
        pages=_pages(data),
        publisher=_publisher(data.get("publisher")),
        type=csl_type(data.get("type")),
        abstract=abstract_html(data.get("abstract")),
        open_access_url=_open_access_url(data, today),
        related_dois=_related_dois(data, doi),
        issns=_issns(data.get("ISSN")),
        subjects=tuple(s for s in map(_plain, _as_list(data.get("subject"))) if s),
    )


def _as_list(value: object) -> list[object]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _issns(value: object) -> tuple[str, ...]:
    """``["13621688", "1477-0954"]`` → ``("1362-1688", "1477-0954")``; what is not an ISSN is
    dropped."""
    found: list[str] = []
    for item in _as_list(value):
        digits = str(item).strip().replace("-", "").upper()
        if re.fullmatch(r"\d{7}[\dX]", digits):
            issn = f"{digits[:4]}-{digits[4:]}"
            if issn not in found:
                found.append(issn)
    return tuple(found)


_NAME_PARTICLES = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "du", "la",
     "le", "ten", "ter", "bin", "ibn", "al", "el", "zu", "af"}
)  # fmt: skip
_NAME_SUFFIXES = frozenset({"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"})
_ORGANISATION = re.compile(r"\b(collaboration|consortium|team|group|project)\b", re.IGNORECASE)


def split_name(name: str) -> Author:
    """``"Nobuhiro Shintani"`` → Author("Shintani", "Nobuhiro"); particles stay with the family
    name (``"Ludwig van Beethoven"`` → ``van Beethoven``); collaborations are organisations."""
    words = name.replace(",", " , ").split()
    if "," in words:  # "Shintani, Nobuhiro"
        at = words.index(",")
        family = " ".join(words[:at])
        given = " ".join(w for w in words[at + 1 :] if w != ",")
        return Author(family=family or given, given=given if family else "")
    if len(words) <= 1 or _ORGANISATION.search(name):
        return Author(family=" ".join(words))
    suffix = ""
    if words[-1].lower() in _NAME_SUFFIXES and len(words) > 2:
        suffix = " " + words.pop()
    start = len(words) - 1
    while start > 1 and words[start - 1].lower() in _NAME_PARTICLES:
        start -= 1
    return Author(family=" ".join(words[start:]) + suffix, given=" ".join(words[:start]))


def _iso_date(value: str | None) -> tuple[int | None, int | None, int | None]:
    found = re.match(r"^\s*(\d{4})-(\d{2})-(\d{2})", value or "")
    if not found:
        return None, None, None
    try:
        when = date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None, None, None
    return when.year, when.month, when.day


def _arxiv_id_from_url(url: str) -> str | None:
    found = re.search(r"arxiv\.org/abs/(.+?)/?$", url.strip(), re.IGNORECASE)
    return normalize_arxiv_id(found.group(1)) if found else None


def _folded(element: ET.Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def citations_from_arxiv_atom(content: bytes) -> dict[str, Citation]:
    """The papers of an arXiv API answer (Atom), keyed by arXiv id without version. Raises
    ``ValueError`` for a document that is not an Atom feed, or an API error entry."""
    return {paper.arxiv_id or "": paper for paper, _ in arxiv_entries(content)}


def arxiv_entries(content: bytes) -> list[tuple[Citation, str]]:
    """The papers of an arXiv API answer in its order, each with its ``published`` timestamp
    (ISO 8601, as arXiv writes it). Raises ``ValueError`` like :func:`citations_from_arxiv_atom`."""
    head = content[:2048].lower()
    if b"<!doctype" in head or b"<!entity" in head:
        raise ValueError("not an arXiv API answer: the document declares a DOCTYPE")
    if content.lstrip().startswith(b"Rate exceeded"):
        raise ValueError("arXiv is throttling requests (Rate exceeded.)")
    try:
        root = ET.fromstring(content)
    except (ET.ParseError, ValueError) as e:
        raise ValueError(f"not well-formed XML: {e}") from None
    if root.tag != f"{ATOM}feed":
        raise ValueError(f"not an Atom feed (root element {root.tag!r})")
    papers: list[tuple[Citation, str]] = []
    for entry in root.iter(f"{ATOM}entry"):
        entry_id = _folded(entry.find(f"{ATOM}id"))
        if "/api/errors" in entry_id:
            message = _folded(entry.find(f"{ATOM}summary")) or entry_id
            raise ValueError(f"arXiv API error: {message}")
        arxiv_id = _arxiv_id_from_url(entry_id)
        title = _folded(entry.find(f"{ATOM}title"))
        if not arxiv_id or not title:
            continue  # an empty entry: arXiv's answer for an id it does not have
        authors = tuple(
            split_name(name)
            for name in (_folded(a.find(f"{ATOM}name")) for a in entry.findall(f"{ATOM}author"))
            if name
        )
        related: list[str] = []
        for value in _folded(entry.find(f"{ARXIV}doi")).split():
            doi = normalize_doi(value)
            if doi and doi not in related:
                related.append(doi)
        pdf_url = None
        for link in entry.findall(f"{ATOM}link"):
            href = (link.get("href") or "").strip()
            if link.get("title") == "doi":
                doi = normalize_doi(href)
                if doi and doi not in related:
                    related.append(doi)
            elif pdf_url is None and (
                link.get("title") == "pdf" or link.get("type") == "application/pdf"
            ):
                pdf_url = re.sub(r"^http://(?:export\.)?arxiv\.org/", "https://arxiv.org/", href)
        published = _folded(entry.find(f"{ATOM}published"))
        year, month, day = _iso_date(published)
        paper = Citation(
            title=title,
            arxiv_id=arxiv_id,
            authors=authors,
            year=year,
            month=month,
            day=day,
            publisher="arXiv",
            type="article",
            abstract=abstract_html(_folded(entry.find(f"{ATOM}summary"))),
            open_access_url=pdf_url if pdf_url and pdf_url.startswith("http") else None,
            related_dois=tuple(related),
        )
        primary = entry.find(f"{ARXIV}primary_category")
        terms = [primary.get("term") if primary is not None else None]
        terms += [c.get("term") for c in entry.findall(f"{ATOM}category")]
        categories = tuple(dict.fromkeys(t.strip() for t in terms if t and t.strip()))
        if categories:
            paper = replace(paper, categories=categories)
        papers.append((paper, published))
    return papers


# -- pacing ---------------------------------------------------------------------------------------


class LoopLock:
    """An :class:`asyncio.Lock` per event loop: a client outlives one ``asyncio.run`` (the
    stages of a run each have theirs), and a lock must never wait on another loop."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    async def __aenter__(self) -> None:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        await lock.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self._locks[asyncio.get_running_loop()].release()


class Pacer:
    """Keeps ``interval`` seconds between the starts of requests to one service."""

    def __init__(self, interval: float, clock: Clock, sleep: Sleep) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._last_start: float | None = None
        self._lock = LoopLock()

    async def wait(self) -> None:
        """Wait for this request's turn."""
        async with self._lock:
            now = self._clock()
            start = now if self._last_start is None else max(now, self._last_start + self.interval)
            self._last_start = start
            if start > now:
                await self._sleep(start - now)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def rate_limit_interval(headers: Mapping[str, str]) -> float | None:
    """Seconds per request from Crossref's ``x-rate-limit-limit: 50`` and
    ``x-rate-limit-interval: 1s``; ``None`` when absent or unreadable."""
    limit = (headers.get("x-rate-limit-limit") or "").strip()
    window = _DURATION.match(headers.get("x-rate-limit-interval") or "")
    if not limit.isdigit() or int(limit) <= 0 or not window:
        return None
    seconds = float(window.group(1)) * _UNITS[(window.group(2) or "s").lower()]
    return min(seconds / int(limit), MAX_RATE_INTERVAL)


# -- the client -----------------------------------------------------------------------------------


class _Failed(Exception):
    """One service's failure inside a lookup: ``not_found`` or ``error``."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ScholarlyClient:
    """Resolves DOIs (doi.org, then Crossref) and arXiv ids (the arXiv API) to citations."""

    def __init__(
        self,
        http: HttpClient,
        settings: ResearchSettings,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self.http = http
        self.settings = settings
        self._today = today
        # Crossref's polite pool allows more than the public one; its headers then say exactly.
        self.crossref_pacer = Pacer(0.1 if settings.mailto else 0.2, clock, sleep)
        self.arxiv_pacer = Pacer(settings.arxiv_interval_seconds, clock, sleep)
        self._arxiv_lock = LoopLock()

    # -- DOIs --

    async def doi(self, doi: str) -> Lookup:
        """Content negotiation at doi.org (CSL-JSON, any registration agency); the Crossref API
        when that fails. ``not_found`` only when both say the DOI does not exist."""
        normalized = normalize_doi(doi)
        if normalized is None:
            return Lookup(None, "not_found", f"not a DOI: {doi!r}"[:200])
        url = f"{self.settings.doi_base_url.rstrip('/')}/{_doi_path(normalized)}"
        try:
            response = await self.http.get(url, {"Accept": CSL_JSON})
            self._note_rate_limit(response)
            if response.status in (400, 404, 410):
                raise _Failed("not_found", f"doi.org: HTTP {response.status}")
            if response.status != 200:
                raise _Failed("error", f"doi.org: {_status_line(response.status)}")
            citation = citation_from_csl(_json(response), today=self._today())
        except _Failed as e:
            first = e
        except FetchError as e:
            first = _Failed("error", f"doi.org: {e}")
        except (ValueError, TypeError) as e:
            first = _Failed("error", f"doi.org: {_one_line(e)}")
        else:
            if citation.doi is None:
                citation = _with_doi(citation, normalized)
            return Lookup(citation, "ok", source="doi.org")
        log.info("doi.org lookup of %s failed (%s); asking Crossref", normalized, first.message)
        second = await self.crossref_work(normalized)
        if second.status == "ok":
            return second
        if first.status == "not_found" and second.status == "not_found":
            return Lookup(None, "not_found", f"{first.message}; {second.error}", "crossref")
        return Lookup(None, "error", f"{first.message}; {second.error}", "crossref")

    async def crossref_work(self, doi: str) -> Lookup:
        """``GET /works/{doi}`` at Crossref."""
        normalized = normalize_doi(doi)
        if normalized is None:
            return Lookup(None, "not_found", f"not a DOI: {doi!r}"[:200], "crossref")
        url = self._crossref_url(f"/works/{quote(normalized, safe='')}", {})
        try:
            response = await self._crossref_get(url)
            if response.status == 404:
                return Lookup(None, "not_found", "crossref: HTTP 404", "crossref")
            if response.status != 200:
                return Lookup(
                    None, "error", f"crossref: {_status_line(response.status)}", "crossref"
                )
            message = _crossref_message(_json(response), "work")
            if not isinstance(message, Mapping):
                raise ValueError("the work is not a JSON object")
            citation = citation_from_crossref(message, today=self._today())
        except FetchError as e:
            return Lookup(None, "error", f"crossref: {e}", "crossref")
        except (ValueError, TypeError) as e:
            return Lookup(None, "error", f"crossref: {_one_line(e)}", "crossref")
        if citation.doi is None:
            citation = _with_doi(citation, normalized)
        return Lookup(citation, "ok", source="crossref")

    async def crossref_search(self, bibliographic: str, rows: int = 5) -> list[Citation]:
        """The works Crossref ranks best for a reference's text, best first. Raises
        :class:`FetchError` when Crossref cannot be asked or its answer cannot be read."""
        query = " ".join(bibliographic.split())[:1000]
        if not query:
            return []
        params = {
            "query.bibliographic": query,
            "rows": str(max(1, min(rows, 100))),
            "select": CROSSREF_SELECT,
        }
        works, _ = await self.crossref_works("/works", params)
        return [citation for citation, _ in works]

    async def crossref_works(
        self, path: str, params: Mapping[str, str]
    ) -> tuple[list[tuple[Citation, str | None]], int]:
        """A page of a Crossref work list (``/works``, ``/journals/{issn}/works``…): each work
        with its ``created`` timestamp (ISO 8601, for incremental fetching), in Crossref's order,
        and how many items the page held (works that cannot be read are skipped, logged, but
        still count for paging). Raises :class:`FetchError`."""
        url = self._crossref_url(path, params)
        try:
            response = await self._crossref_get(url)
            if response.status != 200:
                raise ValueError(_status_line(response.status))
            message = _crossref_message(_json(response), "work-list")
            items = message.get("items") if isinstance(message, Mapping) else None
            if not isinstance(items, list):
                raise ValueError("the answer has no list of items")
        except FetchError as e:
            raise FetchError(f"crossref: {e}") from e
        except (ValueError, TypeError) as e:
            raise FetchError(f"crossref: {_one_line(e)}") from e
        found: list[tuple[Citation, str | None]] = []
        today = self._today()
        for item in items:
            try:
                citation = citation_from_crossref(item, today=today)
            except (ValueError, TypeError) as e:
                log.info("crossref: skipped a work: %s", _one_line(e))
                continue
            created = item.get("created") if isinstance(item, Mapping) else None
            stamp = created.get("date-time") if isinstance(created, Mapping) else None
            found.append((citation, stamp if isinstance(stamp, str) else None))
        return found, len(items)

    def _crossref_url(self, path: str, params: Mapping[str, str]) -> str:
        query = dict(params)
        if self.settings.mailto:
            query["mailto"] = self.settings.mailto
        url = self.settings.crossref_base_url.rstrip("/") + path
        return f"{url}?{urlencode(query, safe=',@')}" if query else url

    async def _crossref_get(self, url: str) -> Response:
        await self.crossref_pacer.wait()
        try:
            response = await self.http.get(url, {"Accept": "application/json"})
        except FetchError as e:
            if str(e).startswith("HTTP 429"):  # HttpClient's retries ran out: slow down
                pacer = self.crossref_pacer
                pacer.interval = min(max(pacer.interval * 2, 1.0), MAX_RATE_INTERVAL)
            raise
        self._note_rate_limit(response)
        return response

    def _note_rate_limit(self, response: Response) -> None:
        """Crossref states its current limit on every answer (a doi.org answer that ends at
        Crossref's content negotiation carries it too)."""
        interval = rate_limit_interval(response.headers)
        if interval is not None:
            self.crossref_pacer.interval = interval

    # -- arXiv --

    async def arxiv(self, ids: Sequence[str]) -> dict[str, Lookup]:
        """Each id (as given, any version) → its paper, from the arXiv API, 100 ids a request,
        one request every ``arxiv_interval_seconds``."""
        results: dict[str, Lookup] = {}
        wanted: dict[str, list[str]] = {}  # versionless id → the ids given for it
        for given in ids:
            normalized = normalize_arxiv_id(given)
            if normalized is None:
                results[given] = Lookup(None, "not_found", f"not an arXiv id: {given!r}"[:200])
            else:
                wanted.setdefault(normalized, []).append(given)
        keys = list(wanted)
        for start in range(0, len(keys), ARXIV_BATCH):
            batch = keys[start : start + ARXIV_BATCH]
            outcome = await self._arxiv_batch(batch)
            for key in batch:
                for given in wanted[key]:
                    results[given] = outcome[key]
        return {given: results[given] for given in ids}

    async def _arxiv_batch(self, batch: list[str]) -> dict[str, Lookup]:
        params = urlencode({"id_list": ",".join(batch), "max_results": len(batch)}, safe=",/")
        base = self.settings.arxiv_base_url
        url = f"{base}{'&' if '?' in base else '?'}{params}"
        try:
            async with self._arxiv_lock:  # one request at a time, as arXiv asks
                await self.arxiv_pacer.wait()
                response = await self.http.get(url, {"Accept": "application/atom+xml"})
            if response.status != 200:
                raise ValueError(_arxiv_error(response) or _status_line(response.status))
            papers = citations_from_arxiv_atom(response.content)
        except (FetchError, ValueError) as e:
            message = f"arxiv: {_one_line(e)}"
            return {key: Lookup(None, "error", message, "arxiv") for key in batch}
        return {
            key: Lookup(papers[key], "ok", source="arxiv")
            if key in papers
            else Lookup(None, "not_found", "arxiv: no such paper", "arxiv")
            for key in batch
        }

    async def arxiv_query(
        self, search_query: str, start: int, max_results: int
    ) -> list[tuple[Citation, str]]:
        """A page of an arXiv API search, newest submissions first: each paper with its
        ``published`` timestamp. Raises :class:`FetchError`."""
        params = urlencode(
            {
                "search_query": search_query,
                "sortBy": "submittedDate",
                "sortOrder": "descending",
                "start": start,
                "max_results": max_results,
            }
        )
        base = self.settings.arxiv_base_url
        url = f"{base}{'&' if '?' in base else '?'}{params}"
        try:
            async with self._arxiv_lock:
                await self.arxiv_pacer.wait()
                response = await self.http.get(url, {"Accept": "application/atom+xml"})
            if response.status != 200:
                raise ValueError(_arxiv_error(response) or _status_line(response.status))
            return arxiv_entries(response.content)
        except FetchError as e:
            raise FetchError(f"arxiv: {e}") from e
        except ValueError as e:
            raise FetchError(f"arxiv: {_one_line(e)}") from e


def _arxiv_error(response: Response) -> str | None:
    """What arXiv's Atom error entry says about a failed request (it explains a 400 so)."""
    try:
        citations_from_arxiv_atom(response.content)
    except ValueError as e:
        return str(e) if str(e).startswith("arXiv API error") else None
    return None


def _doi_path(doi: str) -> str:
    """A DOI as a URL path: reserved characters escaped, ``/`` kept, dot segments defused."""
    segments = quote(doi, safe="/").split("/")
    return "/".join(s.replace(".", "%2E") if s in (".", "..") else s for s in segments)


def _json(response: Response) -> Any:
    try:
        return json.loads(response.content)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    except ValueError:
        kind = response.content_type or "no content type"
        raise ValueError(f"the answer is not valid JSON ({kind})") from None


def _crossref_message(body: object, expected: str) -> object:
    if not isinstance(body, Mapping) or "message" not in body:
        raise ValueError("not a Crossref API answer (no message)")
    kind = body.get("message-type")
    if kind is not None and kind != expected:
        raise ValueError(f"expected a Crossref {expected}, got {kind!r}")
    return body["message"]


def _with_doi(citation: Citation, doi: str) -> Citation:
    return replace(citation, doi=doi)


def _status_line(status: int) -> str:
    return f"HTTP {status} {reason_phrase(status)}".rstrip()


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]
