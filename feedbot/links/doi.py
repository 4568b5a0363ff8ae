"""DOIs: find them in text, URLs and page metadata, and normalize them (pure functions).

A DOI is ``10.<registrant>/<suffix>``: the registrant is 4 to 9 digits with optional ``.<digits>``
subdivisions (``10.1000.10/123456``), or an ISBN-A (``10.978.8898392/315``, whose suffix is all
digits); the suffix is anything up to whitespace or ``"`` and must hold a letter or digit.

Normalized form (:func:`normalize_doi`): no ``doi:`` / ``https://doi.org/`` / ``info:doi/``
prefix, URL-decoded, lowercase (DOIs are case-insensitive), trailing punctuation dropped:
``. , ; : ! ?``, quotes, and a closing ``) ] } >`` only when it has no partner inside the DOI, so
``10.1130/2013.2502(04)`` and old Wiley SICI DOIs (``…(199601)99:1<135::aid-ajpa8>3.0.co;2-#``)
keep theirs. Trailing periods are always dropped ("non-strict" in altmetric/identifiers' terms):
a real DOI ending in a period is rare, a sentence ending after one is not.

A DOI directly followed by ``…`` or by three or more periods (``...``) is taken as cut short, as X
displays long links (``doi.org/10.1177/136216…``): it is never a DOI, only a
:class:`TruncatedDoi` whose prefix the recovery step can check a candidate against.

In free text (:func:`dois_in_text`) a DOI is found wherever ``10.`` starts it after a non-word
character: bare in prose, after ``doi:`` / ``DOI``, or inside a URL. A DOI inside a URL counts only
when :func:`doi_in_url` accepts that URL (doi.org and dx.doi.org, or a publisher path or query that
holds the DOI text as such); any other URL that merely contains ``10.…/…`` is ignored, because the
rest of its path (``v1``, ``.full.pdf``, ``/figures``) cannot be told apart from the DOI.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "DOI_PREFIX_RE",
    "DOI_RE",
    "DOI_TEXT_RE",
    "TruncatedDoi",
    "doi_in_metadata",
    "doi_in_url",
    "dois_in_text",
    "normalize_doi",
    "truncated_dois_in_text",
]

# The DOI prefix: directory "10", registrant (with subdivisions), or an ISBN-A's registrant.
_PREFIX = r"10\.(?:\d{4,9}(?:\.\d+)*|97[89]\.\d{2,8})"
DOI_PREFIX_RE = re.compile(_PREFIX)
# A whole DOI, before trailing punctuation is judged (see normalize_doi).
DOI_RE = re.compile(rf"(?P<prefix>{_PREFIX})/(?P<suffix>[^\s\"]+)")
# A DOI in free text: "10." after a non-word character (not "110.1234/…", not "v1.10.1234/…"),
# the prefix, "/" (or "%2F" in a URL), then the rest of the token; CJK sentence punctuation, which
# runs on without a space, ends it.
DOI_TEXT_RE = re.compile(
    rf"(?<![0-9A-Za-z_.]){_PREFIX}(?:/|%2[Ff])[^\s\"。，、；！？「」『』【】]*"
)
# "doi.org/10.11…": a DOI cut before its "/", only after an explicit DOI marker.
_TRUNCATED_PREFIX_RE = re.compile(
    r"(?:(?<![\w.-])(?:dx\.)?doi\.org/|(?<![\w-])doi:\s?)(10(?:\.\d*)*)(…|\.\.\.)", re.IGNORECASE
)
_ISBN_A_RE = re.compile(r"10\.97[89]\.\d{2,8}/\d{1,7}")
_NAMED_PREFIX_RE = re.compile(
    r"(?:doi:\s*|doi\s+|info:doi/|urn:doi:|(?:dx\.|www\.)?doi\.org/|hdl\.handle\.net/)",
    re.IGNORECASE,
)
_ELLIPSIS_DOTS_RE = re.compile(r"\.{3,}")
_PERCENT_RE = re.compile(r"%[0-9A-Fa-f]{2}")
_HAS_WORD_RE = re.compile(r"[^\W_]")

# Trailing characters that end a sentence or a quotation, never a DOI (periods included: we are
# "non-strict"). A closing bracket ends a DOI where no opening one inside the DOI matches it.
_TRAILING = ".,;:!?'\"”’»›。，；：！？、"
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<", "」": "「", "』": "『", "）": "（"}
_TAIL_CHARS = _TRAILING + "".join(_CLOSERS) + "…"
_OPENERS = frozenset("\"'<([{“‘«「『（")

# Hosts whose path is a DOI (the DOI Foundation's resolvers; every "10." handle is a DOI).
_RESOLVERS = frozenset({"doi.org", "dx.doi.org", "hdl.handle.net"})
# Publisher paths that embed the DOI text: /doi/10.…, /doi/full/10.…, /article/10.…, …
_PUBLISHER_PATH_RE = re.compile(
    r"/(?:doi|doifinder|article|articles)/"
    r"(?:(?:abs|full|pdf|epdf|pdfdirect|pdfplus|epub|reader|book|fullhtml|ref|suppl)/)?"
    r"(?:doi:)?(?P<doi>10\..+)$",
    re.IGNORECASE,
)
# A view of the article after its DOI in a publisher path: ".../10.1111/xyz/epdf".
_VIEW_SUFFIX_RE = re.compile(
    r"/(?:abstract|abs|full|fulltext|pdf|epdf|pdfdirect|epub|html|references|citedby|"
    r"figures|suppinfo|summary|meta)/?$",
    re.IGNORECASE,
)
# Query parameters whose whole value may be a DOI (?doi=10.…, PLOS ?id=10.1371/…, OpenURL rft_id,
# Dataverse persistentId=doi:10.…, PLOS fetchObject ?uri=info:doi/10.…).
_QUERY_KEYS = frozenset({"doi", "id", "uri", "rft_id", "rft.doi", "persistentid", "article_doi"})
# How a URL in text leads up to its DOI, for a DOI cut short inside it.
_URL_LEAD_RE = re.compile(
    r"(?:(?:^|[/.])(?:dx\.)?doi\.org/|(?:^|[/.])hdl\.handle\.net/"
    r"|/(?:doi|doifinder|article|articles)/"
    r"(?:(?:abs|full|pdf|epdf|pdfdirect|pdfplus|epub|reader|book|fullhtml|ref|suppl)/)?(?:doi:)?"
    r"|[?&](?:doi|id|uri|rft_id|rft\.doi|persistentid|article_doi)="
    r"(?:doi:|info:doi/)?)$",
    re.IGNORECASE,
)
_LEAD_LIMIT = 300  # characters looked back for the URL or marker a DOI belongs to


@dataclass(frozen=True)
class TruncatedDoi:
    """A DOI cut short with "…" or "...": never a DOI, but its prefix narrows the search."""

    text: str  # as it appeared, e.g. "doi.org/10.1177/136216…"
    prefix: str  # normalized start of the DOI, e.g. "10.1177/136216"


def normalize_doi(value: str) -> str | None:
    """``"https://doi.org/10.1000/ABC."``, ``"doi:10.1000/abc"``, ``"10.1000%2Fabc"`` →
    ``"10.1000/abc"``; None when ``value`` is not (only) a DOI, or is one cut short."""
    value = value.strip()
    if "10." not in value:
        return None
    if "://" in value:
        try:
            host = (urlsplit(value).hostname or "").removeprefix("www.")
        except ValueError:
            return None
        return doi_in_url(value) if host in _RESOLVERS else None
    named = _NAMED_PREFIX_RE.match(value)
    if named:
        value = value[named.end() :]
    return _clean(_unquote(value))


def _unquote(value: str) -> str:
    return unquote(value) if "%" in value and _PERCENT_RE.search(value) else value


def _clean(value: str) -> str | None:
    """The normalized DOI when ``value`` is one DOI (with trailing punctuation), else None."""
    value = _balanced(value)
    if _cut_at(value) is not None:
        return None
    value = value.rstrip(_TRAILING)
    match = DOI_RE.fullmatch(value)
    if match is None:
        return None
    suffix = match.group("suffix")
    if not _HAS_WORD_RE.search(suffix) and not any(
        ord(ch) > 0x7F and not _is_punctuation(ch) for ch in suffix
    ):
        return None
    if match.group("prefix").startswith(("10.978.", "10.979.")) and not _ISBN_A_RE.fullmatch(value):
        return None
    return value.lower()


def _is_punctuation(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def _balanced(value: str) -> str:
    """``value`` up to its first closing bracket that no opening one matches: the end of a DOI
    in ``(10.1130/2013.2502(04))``, ``[text](https://doi.org/10.…){target=_blank}``."""
    if not any(closer in value for closer in _CLOSERS):
        return value
    depth = dict.fromkeys(_CLOSERS.values(), 0)
    for i, ch in enumerate(value):
        if ch in depth:
            depth[ch] += 1
        elif ch in _CLOSERS:
            opener = _CLOSERS[ch]
            if depth[opener] == 0:
                return value[:i]
            depth[opener] -= 1
    return value


def _cut_at(token: str) -> int | None:
    """Where ``token`` is cut short: at its first "…", or at a run of three or more periods
    followed only by punctuation; None when it is whole."""
    cut = token.find("…")
    if cut >= 0:
        return cut
    if "..." in token:
        for run in _ELLIPSIS_DOTS_RE.finditer(token):
            if not token[run.end() :].strip(_TAIL_CHARS):
                return run.start()
    return None


def _lead(text: str, start: int) -> str:
    """The part of the whitespace-delimited token before ``start``: a URL up to its DOI,
    ``doi:``, or nothing."""
    i = start
    floor = max(0, start - _LEAD_LIMIT)
    while i > floor:
        ch = text[i - 1]
        if ch.isspace() or ch in _OPENERS:
            break
        i -= 1
    return text[i:start]


def _scan(text: str) -> tuple[list[str], list[TruncatedDoi]]:
    dois: list[str] = []
    cut: list[TruncatedDoi] = []
    for match in DOI_TEXT_RE.finditer(text):
        token = _balanced(match.group())
        lead = _lead(text, match.start())
        in_url = "/" in lead or "=" in lead
        at = _cut_at(token)
        if at is not None:
            head = token[:at]
            if in_url and (not _URL_LEAD_RE.search(lead) or any(c in head for c in "?#&")):
                continue
            shown = lead + token[: at + _ellipsis_len(token, at)]
            cut.append(TruncatedDoi(text=shown, prefix=_unquote(head).lower()))
            continue
        doi = doi_in_url(lead + token) if in_url else _clean(_unquote(token))
        if doi is not None and doi not in dois:
            dois.append(doi)
    if "…" in text or "..." in text:
        for short in _TRUNCATED_PREFIX_RE.finditer(text):
            cut.append(TruncatedDoi(text=short.group(), prefix=short.group(1)))
        cut.sort(key=lambda t: text.find(t.text))
    unique: list[TruncatedDoi] = []
    for item in cut:
        if item not in unique:
            unique.append(item)
    return dois, unique


def _ellipsis_len(token: str, at: int) -> int:
    if token[at] == "…":
        return 1
    run = _ELLIPSIS_DOTS_RE.match(token, at)
    return run.end() - at if run else 0


def dois_in_text(text: str) -> list[str]:
    """Every whole DOI in free text, normalized, in order of first appearance, deduplicated:
    ``doi:10.…``, ``DOI 10.…``, ``https://doi.org/10.…``, ``dx.doi.org/10.…``, publisher URLs
    (see :func:`doi_in_url`) and bare ``10.1177/1362168811431377`` in prose. A DOI cut short is
    left out (see :func:`truncated_dois_in_text`). Unescaping HTML is the caller's job."""
    if "10." not in text:
        return []
    return _scan(text)[0]


def truncated_dois_in_text(text: str) -> list[TruncatedDoi]:
    """DOIs cut short with "…" or "..." (``doi.org/10.1177/136216…``), in order, deduplicated."""
    if "10" not in text or ("…" not in text and "..." not in text):
        return []
    return _scan(text)[1]


def doi_in_url(url: str) -> str | None:
    """The DOI a URL holds as text: doi.org / dx.doi.org (and hdl.handle.net) links; publisher
    paths ``/doi/10.…``, ``/doi/{abs,full,pdf,epdf,…}/10.…``, ``/article/10.…``,
    ``/articles/10.…`` (a trailing ``/epdf``, ``/abstract``… view dropped); a query parameter
    (``doi``, ``id``, ``uri``, ``rft_id``, ``persistentId``…) whose whole value is a DOI. Nothing
    else: not ScienceDirect's PII, not nature.com/articles/<suffix>, not a short DOI."""
    if "10." not in url and "10%2" not in url.upper():
        return None
    if "://" not in url:
        url = "https://" + url.lstrip("/")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").removeprefix("www.")
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not host:
        return None
    if host in _RESOLVERS:
        path = parts.path.removeprefix("/")
        if url.endswith("#") and not parts.fragment:  # an old SICI DOI ends in "#"
            path += "#"
        return _clean(_balanced(_unquote(path)).rstrip("/"))
    path = unquote(parts.path)
    found = _PUBLISHER_PATH_RE.search(path)
    if found:
        doi = _VIEW_SUFFIX_RE.sub("", _balanced(found.group("doi"))).rstrip("/")
        cleaned = _clean(doi)
        if cleaned is not None:
            return cleaned
    if parts.query:
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            if key.lower() in _QUERY_KEYS and "10." in value:
                candidate = value.strip()
                if candidate.lower().startswith("info:doi/"):
                    candidate = candidate[len("info:doi/") :]
                cleaned = normalize_doi(candidate)
                if cleaned is not None:
                    return cleaned
    return None


# Meta tags that carry a paper's DOI, by lowercased name, most specific first.
_DOI_META = ("citation_doi", "prism.doi", "bepress_citation_doi", "dc.identifier.doi")
_IDENTIFIER_META = ("dc.identifier", "dcterms.identifier")


def doi_in_metadata(citation: Mapping[str, Sequence[str]]) -> str | None:
    """The DOI a page's meta tags declare (keys lowercased): ``citation_doi``, ``prism.doi``,
    ``bepress_citation_doi``, then ``dc.identifier`` / ``dcterms.identifier`` values that are a
    DOI (``doi:10.…``, ``https://doi.org/10.…``, ``10.…``; ISBNs, URNs and plain URLs are not)."""
    for key in (*_DOI_META, *_IDENTIFIER_META):
        values = citation.get(key)
        if not values:
            continue
        for value in [values] if isinstance(values, str) else values:
            doi = normalize_doi(value)
            if doi is None and "://" in value:
                doi = doi_in_url(value.strip())
            if doi is not None:
                return doi
    return None
