"""arXiv identifiers: find them in text and URLs, and normalize them (pure functions).

Two schemes (https://info.arxiv.org/help/arxiv_identifier.html):

* new style, since April 2007: ``YYMM.NNNN`` (to 2014) or ``YYMM.NNNNN`` (since 2015), e.g.
  ``2401.01234``. Four digits are accepted only for 0704–1412, so a display cut short
  (``2401.0123…``) is not read as another paper; five digits are accepted from 0704 on (as
  arxiv-base's ``parse_arxiv_id`` and idutils do for ``1203.12345``);
* old style, 1991 to March 2007: ``archive[.SUBJECT]/YYMMNNN``, e.g. ``hep-th/9901001``,
  ``math.GT/0309136``. The subject class is not part of the identifier: the canonical form is
  ``math/0309136`` (arxiv-base's ``Identifier.id``, idutils' ``normalize_arxiv``). The archive
  must be one of arXiv's old archives.

A version suffix (``v2``) names a revision of the same paper: the normalized id drops it (see
:func:`arxiv_version`). ``hep-th/1601.07616`` (an archive before a new-style id, seen in the wild)
is ``1601.07616``. arXiv's DataCite DOIs, ``10.48550/arXiv.<id>``, stand for the id too.

In free text (:func:`arxiv_ids_in_text`) an id counts only after ``arXiv:`` / ``arXiv `` /
``arXiv.`` or in an arxiv.org URL: a bare ``2401.01234`` in prose is as likely a number, and a
bare ``math/0309136`` a path.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from feedbot.links.doi import normalize_doi

__all__ = [
    "ARXIV_ID_RE",
    "ARXIV_TEXT_RE",
    "arxiv_doi",
    "arxiv_id_from_doi",
    "arxiv_id_in_url",
    "arxiv_ids_in_text",
    "arxiv_version",
    "normalize_arxiv_id",
]

# arXiv's archives that minted old-style identifiers (1991 – March 2007).
OLD_ARCHIVES = frozenset(
    {"acc-phys", "adap-org", "alg-geom", "ao-sci", "astro-ph", "atom-ph", "bayes-an", "chao-dyn",
     "chem-ph", "cmp-lg", "comp-gas", "cond-mat", "cs", "dg-ga", "funct-an", "gr-qc", "hep-ex",
     "hep-lat", "hep-ph", "hep-th", "math", "math-ph", "mtrl-th", "nlin", "nucl-ex", "nucl-th",
     "patt-sol", "physics", "plasm-ph", "q-alg", "q-bio", "quant-ph", "solv-int", "supr-con"}
)  # fmt: skip
# Archives that may stand before a new-style id ("hep-ph/1203.12345").
_ARCHIVES = OLD_ARCHIVES | {"econ", "eess", "q-fin", "stat"}

_WORD = r"[a-z]+(?:-[a-z]+)?"
# One identifier, whole (version optional): new style, possibly after an archive, or old style.
ARXIV_ID_RE = re.compile(
    rf"(?:(?P<narchive>{_WORD})(?:\.{_WORD})?/)?(?P<yymm>\d{{4}})\.(?P<num>\d{{4,5}})"
    r"(?:v(?P<nv>\d+))?"
    rf"|(?P<archive>{_WORD})(?:\.{_WORD})?/(?P<oyymm>\d{{4}})(?P<onum>\d{{3}})(?:v(?P<ov>\d+))?",
    re.IGNORECASE,
)
_ID_IN_TEXT = (
    rf"(?:{_WORD}(?:\.{_WORD})?/)?\d{{4}}\.\d{{4,5}}(?:v\d+)?"
    rf"|{_WORD}(?:\.{_WORD})?/\d{{7}}(?:v\d+)?"
)
# An id after "arXiv:" / "arXiv " / "arXiv." or in an arxiv.org abs/pdf/html URL (subdomains such
# as export. and www. included; alphaxiv.org and the like are other sites).
ARXIV_TEXT_RE = re.compile(
    r"(?:(?<![\w-])arxiv\.org/(?:abs|pdf|html|format|ps)/(?:arxiv:)?"
    r"|(?<![\w-])arxiv(?:\s*:\s*|\s+|\.))"
    rf"(?P<id>{_ID_IN_TEXT})(?![\w])",
    re.IGNORECASE,
)
_URL_PATH_RE = re.compile(
    rf"/(?:abs|pdf|html|format|ps)/(?:arxiv:)?(?P<id>{_ID_IN_TEXT})(?:\.pdf)?(?:/.*)?",
    re.IGNORECASE,
)
_PREFIX_RE = re.compile(r"arxiv\s*:\s*", re.IGNORECASE)
_DOI_RE = re.compile(r"10\.48550/arxiv\.(?P<id>.+)")


def _parse(value: str) -> tuple[str, int | None] | None:
    """(canonical id, version or None) of a whole identifier, else None."""
    match = ARXIV_ID_RE.fullmatch(value)
    if match is None:
        return None
    if match.group("yymm"):
        yymm, num = match.group("yymm"), match.group("num")
        archive, version = match.group("narchive"), match.group("nv")
        if archive and archive.lower() not in _ARCHIVES:
            return None
        if not "01" <= yymm[2:] <= "12" or yymm < "0704" or int(num) == 0:
            return None
        if len(num) == 4 and yymm > "1412":
            return None
        canonical = f"{yymm}.{num}"
    else:
        archive, yymm, num = (
            match.group("archive").lower(),
            match.group("oyymm"),
            match.group("onum"),
        )
        version = match.group("ov")
        if archive not in OLD_ARCHIVES or not "01" <= yymm[2:] <= "12" or int(num) == 0:
            return None
        if not (yymm >= "9107" or yymm <= "0703"):  # arXiv opened in August 1991
            return None
        canonical = f"{archive}/{yymm}{num}"
    if version is None:
        return canonical, None
    if int(version) == 0:
        return None
    return canonical, int(version)


def _parse_any(value: str) -> tuple[str, int | None] | None:
    value = value.strip()
    if not value:
        return None
    lowered = value.lower()
    if "arxiv.org" in lowered and ("/" in lowered.split("arxiv.org", 1)[1]):
        return _parse_url(value)
    if "10.48550" in value:
        doi = normalize_doi(value)
        found = _DOI_RE.fullmatch(doi) if doi else None
        return _parse(found.group("id")) if found else None
    prefix = _PREFIX_RE.match(value)
    if prefix:
        value = value[prefix.end() :]
    return _parse(value)


def normalize_arxiv_id(value: str) -> str | None:
    """``"arXiv:2401.01234v2"`` → ``"2401.01234"``, ``"hep-th/9901001v1"`` → ``"hep-th/9901001"``,
    ``"math.GT/0309136"`` → ``"math/0309136"``; also an arXiv URL or arXiv DOI
    (``10.48550/arXiv.2401.01234``); None when ``value`` is not an arXiv identifier."""
    parsed = _parse_any(value)
    return parsed[0] if parsed else None


def arxiv_version(value: str) -> int | None:
    """The version ``value`` names (``"2401.01234v2"`` → 2), None when it names none or is not
    an arXiv identifier."""
    parsed = _parse_any(value)
    return parsed[1] if parsed else None


def arxiv_id_from_doi(doi: str) -> str | None:
    """``"10.48550/arXiv.2401.01234"`` (any DOI form) → ``"2401.01234"``; None for other DOIs."""
    normalized = normalize_doi(doi)
    found = _DOI_RE.fullmatch(normalized) if normalized else None
    return normalize_arxiv_id(found.group("id")) if found else None


def arxiv_doi(arxiv_id: str) -> str:
    """arXiv's DataCite DOI for a paper, lowercase: ``"2401.01234v2"`` →
    ``"10.48550/arxiv.2401.01234"``. Raises ValueError when ``arxiv_id`` is not an id."""
    canonical = normalize_arxiv_id(arxiv_id)
    if canonical is None:
        raise ValueError(f"not an arXiv identifier: {arxiv_id!r}")
    return f"10.48550/arxiv.{canonical}"


def arxiv_ids_in_text(text: str) -> list[str]:
    """Every arXiv id in free text, normalized, in order, deduplicated: ``arXiv:2401.01234``,
    ``arXiv 2401.01234v2``, ``arXiv:hep-th/9901001``, ``arxiv.org/abs/…``, ``/pdf/…``, ``/html/…``
    and arXiv DOIs; never a bare id."""
    if "arxiv" not in text.lower():
        return []
    found: list[str] = []
    for match in ARXIV_TEXT_RE.finditer(text):
        parsed = _parse(match.group("id"))
        if parsed is not None and parsed[0] not in found:
            found.append(parsed[0])
    return found


def arxiv_id_in_url(url: str) -> str | None:
    """The paper an arxiv.org URL shows: ``/abs/<id>``, ``/pdf/<id>`` (``.pdf``), ``/html/<id>``,
    ``/format/<id>``, on arxiv.org or a subdomain (``export.``, ``www.``); None otherwise."""
    parsed = _parse_url(url)
    return parsed[0] if parsed else None


def _parse_url(url: str) -> tuple[str, int | None] | None:
    url = url.strip()
    if "://" not in url:
        url = "https://" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"}:
        return None
    if host != "arxiv.org" and not host.endswith(".arxiv.org"):
        return None
    found = _URL_PATH_RE.fullmatch(unquote(parts.path))
    if found is None:
        return None
    return _parse(found.group("id"))
