"""Recover a truncated or missing DOI from citation text, and refuse when unsure.

Researchers paste references as text, often with the DOI cut short by the platform::

    Shintani, N. (2012). Input-based tasks and the acquisition of vocabulary and grammar: A
    process-product study. Language Teaching Research, 16(2), 253–279. doi.org/10.1177/136216…

:func:`parse_reference` reads such a string (APA/Harvard, Vancouver, MLA and Bluebook styles)
into a :class:`Reference`; :func:`recover` sends its text to a bibliographic search (Crossref's
``query.bibliographic``, passed in by the caller) and :func:`judge` checks every candidate
against what the reference says. A DOI is recovered only when exactly one candidate is
consistent; otherwise the reference stays unresolved and the note says why. Never a wrong DOI.

The checks (:func:`judge`):

* **Title** (hard): :func:`title_similarity` ≥ ``TITLE_THRESHOLD`` (0.9) *and* no significant
  word on one side only. The similarity is :class:`difflib.SequenceMatcher`'s character ratio
  over normalized titles (HTML tags and entities removed, diacritics stripped, casefolded,
  punctuation to spaces, spaces collapsed). Not a token-set ratio: that scores 1.0 whenever one
  title's words are a subset of the other's, which is exactly the shape of the dangerous decoys
  ("X" vs "X: A replication study", "Erratum: X"). The character ratio tolerates what really
  differs between a pasted reference and the registered metadata (case, hyphens and dashes,
  ``<scp>`` markup, a typo, British/American spelling) and penalizes added words in proportion.
  On long titles a three-word suffix still scores about 0.9, hence the word check: a word that
  is not a stopword, has three letters or more (or any digit) and has no counterpart on the other
  side rejects. A counterpart is the same word, or for words without digits one with a
  SequenceMatcher ratio ≥ ``WORD_THRESHOLD`` (0.8, "behaviour"/"behavior"). Numbers must be equal
  ("GPT-3" is not "GPT-4").
* **Year** (hard when both are known): equal. A difference of one year is tolerated only when
  volume and first page are both known on both sides and equal: the article is the same issue's,
  and Crossref's ``issued`` date is the online-first date while the reference cites the print
  issue. Without that confirmation a year apart is another work (an erratum, a follow-up, the
  preprint of the year before).
* **First author** (hard when the reference names authors): the reference's first family name is
  the candidate's first author's (diacritics folded or transliterated, "ü" = "ue"; spaces,
  hyphens and apostrophes ignored; or the words of one are among the words of the other, for
  particles and Crossref's mis-split names such as family "Alex Perkins"). A candidate without
  authors is rejected.
* **DOI prefix** (hard when the text had a truncated DOI): the candidate's DOI starts with it.
  A candidate without a DOI is always rejected (there would be nothing to recover).
* **Journal** (hard when both are known, unless volume and first page confirm): the same name
  after normalization ("&" = "and", stopwords dropped), or one an abbreviation of the other
  word by word ("Lang Teach Res", "Big Data Soc").
* **Volume** and **first page** (hard when both are known): equal. **Issue**: scored only.

The score (0..1, for ranking and ambiguity) is a weighted mean over the fields the reference
states: title 4 (its similarity), year 1 (0.5 when tolerated), first author 1, other authors 0.5
(share found), DOI prefix 1, journal 1, volume 0.5, issue 0.5, pages 0.5; a field the candidate
lacks counts 0. Two accepted candidates with different DOIs within ``AMBIGUITY_MARGIN`` (0.02)
make the reference ambiguous, so unresolved.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from urllib.parse import unquote

from feedbot.links.citation import Citation

__all__ = [
    "AMBIGUITY_MARGIN",
    "TITLE_THRESHOLD",
    "WORD_THRESHOLD",
    "Recovery",
    "Reference",
    "Search",
    "Verdict",
    "judge",
    "looks_like_reference",
    "parse_reference",
    "recover",
    "reference_query",
    "title_similarity",
]

TITLE_THRESHOLD = 0.9
WORD_THRESHOLD = 0.8
AMBIGUITY_MARGIN = 0.02


@dataclass(frozen=True)
class Reference:
    """What a citation string says. ``pages`` is normalized like :attr:`Citation.pages`
    ("253-279": hyphen, abbreviated end page expanded); ``doi_prefix`` is the DOI as far as the
    text shows it (cut short or whole), lowercase."""

    text: str
    authors: tuple[str, ...]  # family names, as written ("Shintani")
    year: int | None
    title: str | None
    container: str | None
    volume: str | None
    issue: str | None
    pages: str | None
    doi_prefix: str | None


@dataclass(frozen=True)
class Verdict:
    accepted: bool
    score: float  # 0..1
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Recovery:
    reference: Reference
    citation: Citation | None  # None: unresolved
    verdict: Verdict | None  # of the accepted candidate, or of the best rejected one
    note: str  # one line for users
    search_failed: bool = False  # the search itself failed: worth asking again later


Search = Callable[[str], Awaitable[list[Citation]]]


# -- text helpers ------------------------------------------------------------------------------

_WS = re.compile(r"\s+")
_TAG = re.compile(r"<[^>]{0,200}>")
_NON_WORD = re.compile(r"[\W_]+")
_STOPWORDS = frozenset(
    "a an the of and or in on for to with by at from as is are its via vs into".split()  # noqa: SIM905
)
_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ø": "oe", "æ": "ae"})


def _fold(text: str) -> str:
    """Strip diacritics (after NFKD) and casefold; "Ł" and "ø" have no decomposition: mapped."""
    text = text.replace("Ł", "L").replace("ł", "l").replace("Ø", "O").replace("ø", "o")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _normalize(text: str) -> str:
    """Titles and names compared: no markup, no diacritics, casefolded, words only."""
    text = _TAG.sub("", html.unescape(text)).replace("&", " and ")
    return _WS.sub(" ", _NON_WORD.sub(" ", _fold(text))).strip()


def _floor2(value: float) -> float:
    return math.floor(value * 100 + 1e-9) / 100


# -- links and DOI fragments -------------------------------------------------------------------

_LINK = re.compile(
    r"\bdoi\s*:\s*\S+"
    r"|\bhttps?://\S+"
    r"|\bwww\.\S+"
    r"|\b(?:[a-z0-9-]+\.)+[a-z]{2,}/\S*"
    r"|\b10\.\d{4,9}/\S+",
    re.IGNORECASE,
)
_DOI_IN_LINK = re.compile(r"(?:^|[/:\s])(10\.\d+(?:/[^\s…]*)?)")
_LINK_LEAD = re.compile(
    r"\s*\b(?:retrieved from|available (?:at|from)|accessed)\s*:?\s*$", re.IGNORECASE
)


def _strip_links(text: str) -> tuple[str, str | None]:
    """The text without URLs, DOIs and their ellipses, and the first DOI (or DOI start) seen."""
    prefix: str | None = None
    for match in _LINK.finditer(text):
        token = match.group()
        found = _DOI_IN_LINK.search(token)
        if prefix is None and found and ("doi" in token.lower() or "/" in found.group(1)):
            value = unquote(found.group(1)).replace("...", "").rstrip(".,;:)]}>'\"’”")
            if re.fullmatch(r"10\.\d+(?:/.*)?", value):
                prefix = value.lower()
    cleaned = _LINK.sub(" ", text)
    cleaned = _WS.sub(" ", cleaned).strip().rstrip("…").strip()
    cleaned = _LINK_LEAD.sub("", cleaned).strip()
    if cleaned.endswith("..."):
        cleaned = cleaned[:-3].rstrip()
    return cleaned, prefix


def reference_query(reference: Reference) -> str:
    """The bibliographic query for a reference: its text without links and DOI fragments."""
    return _strip_links(reference.text)[0]


# -- parsing -------------------------------------------------------------------------------

_PARTICLES = frozenset(
    "van von der den de del della di da dos das du la le ten ter bin ibn al el y st".split()  # noqa: SIM905
)
_PAGES = r"[A-Za-z]?\d+[A-Za-z]?(?:\s*[-–—]\s*[A-Za-z]?\d+[A-Za-z]?)?"
_YEAR = r"(?:1[5-9]|20)\d{2}"
_SENTENCE_BREAK = re.compile(r"(?<=[.?!])\s+")
_INITIALS = re.compile(r"(?:[^\W\d_]{1,2}\.[\s\-‐]*)+")
_ET_AL = re.compile(r",?\s*\bet\s+al\b\.?\s*$")


@dataclass(frozen=True)
class _Fields:
    authors: tuple[str, ...]
    year: int | None
    title: str | None
    container: str | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None


def _is_name_word(word: str) -> bool:
    return bool(word) and all(ch.isalpha() or ch in "'’-‐" for ch in word)


def _is_family(text: str, *, alone: bool = False) -> bool:
    """A family name: 1-4 words of letters, the last capitalized; other words capitalized too
    (double names) unless ``alone`` (no initials to confirm it: then only particles)."""
    words = text.split()
    if not 1 <= len(words) <= 4 or not all(_is_name_word(word) for word in words):
        return False
    last = words[-1].lstrip("'’")
    if not last or not last[0].isupper():
        return False
    for word in words[:-1]:
        if word.lower() in _PARTICLES:
            continue
        if alone or not word[0].isupper():
            return False
    return True


def _is_initials(text: str) -> bool:
    return bool(_INITIALS.fullmatch(text.strip())) and text.strip()[0].isupper()


def _capitalized_words(text: str, limit: int) -> bool:
    words = text.split()
    connectors = {"of", "for", "the", "and", "&", "on", "in", "de"}
    return 1 <= len(words) <= limit and all(
        word in connectors or (word[0].isupper() and not any(ch.isdigit() for ch in word))
        for word in words
    )


def _apa_authors(block: str) -> tuple[str, ...] | None:
    """Authors of an APA reference: "Shintani, N." / "Smith, J. A., & Jones, B." / "Brown, T.,
    … Amodei, D." / "Vaswani et al." / "Smith and Jones" / "OpenAI." (a group: only with its
    closing period)."""
    block = block.strip()
    et_al = bool(_ET_AL.search(block))
    body = _ET_AL.sub("", block).strip()
    group_period = body.endswith(".")
    body = re.sub(r"\s*(?:\.\.\.|…)\s*", ", ", body)
    body = re.sub(r",?\s+(?:&|and)\s+", ", ", body)
    parts = [part.strip() for part in body.split(",") if part.strip()]
    if not parts:
        return None
    families: list[str] = []
    if len(parts) > 1 and _is_initials(parts[1]):
        if len(parts) % 2:
            return None
        for family, initials in zip(parts[::2], parts[1::2], strict=True):
            if not _is_family(family) or not _is_initials(initials):
                return None
            families.append(family)
        return tuple(families)
    if (et_al or len(parts) > 1) and all(_is_family(part, alone=True) for part in parts):
        return tuple(parts)
    if group_period and not et_al and len(parts) == 1:
        name = parts[0].rstrip(".")
        if _capitalized_words(name, 10):
            return (name,)
    return None


def _clean_title(title: str) -> str:
    title = re.sub(r"\s*\[[^\]]{1,40}\]\s*$", "", title.strip())
    return title.rstrip(" .,").strip()


def _title_like(title: str | None) -> bool:
    if not title or len(title) < 3:
        return False
    first = title.lstrip("'‘\"“[(¿¡")[:1]
    return bool(first) and (first.isupper() or first.isdigit()) and any(c.isalpha() for c in title)


def _pages(pages: str | None) -> str | None:
    """Pages as in :class:`Citation`: "253–279" → "253-279"; "253-79" → "253-279"; "pp. 5" → "5"."""
    if not pages:
        return None
    pages = re.sub(r"^pp?\.\s*", "", pages.strip())
    pages = re.sub(r"\s*[-–—‐]\s*", "-", pages)
    first, _, last = pages.partition("-")
    if first.isdigit() and last.isdigit() and len(last) < len(first):
        last = first[: len(first) - len(last)] + last
    return f"{first}-{last}" if last else first


_APA_HEAD = re.compile(
    rf"^(?P<authors>[^()]{{1,600}}?)\s*\(\s*(?:(?P<year>{_YEAR})[a-z]?(?:,[^)]{{1,30}})?"
    r"|n\.\s?d\.|in press)\s*\)\.?(?:\s+(?P<rest>.+))?$",
    re.IGNORECASE,
)
_APA_CONFERENCE = re.compile(
    r"^(?P<title>.+?[.?!])\s+In\s+(?:[^()]{1,200}\(Eds?\.\),\s*)?(?P<container>.+?)\s*"
    r"\((?P<pages>(?:pp?\.\s*)[^)]+)\)\.?(?:\s+.*)?$"
)
_APA_JOURNAL = re.compile(
    r"^(?P<head>.+?),\s*(?P<volume>\d+[A-Za-z]?)\s*(?:\((?P<issue>[^)]{1,20})\))?"
    rf"(?:,\s*(?:pp?\.\s*|Article\s+)?(?P<pages>{_PAGES}))?\s*\.?$"
)
_QUOTED_TITLE = re.compile(r"^['‘\"“](?P<title>.+?)[.,?!]?['’\"”][.,]?\s+(?P<after>.+)$")


def _apa_rest(rest: str) -> tuple[str, str | None, str | None, str | None, str | None] | None:
    """Title, container, volume, issue, pages from what follows "(Year)."."""
    quoted = _QUOTED_TITLE.match(rest)  # Harvard: 'Title', Journal, 57(4), pp. 542–570.
    if quoted:
        journal = _APA_JOURNAL.match(quoted.group("after"))
        if journal:
            return (
                quoted.group("title"),
                journal.group("head").strip(),
                journal.group("volume"),
                journal.group("issue"),
                journal.group("pages"),
            )
        return quoted.group("title"), quoted.group("after").rstrip(". ") or None, None, None, None
    conference = _APA_CONFERENCE.match(rest)
    if conference:
        return (
            conference.group("title"),
            conference.group("container"),
            None,
            None,
            conference.group("pages"),
        )
    journal = _APA_JOURNAL.match(rest)
    if journal:
        head = journal.group("head")
        breaks = list(_SENTENCE_BREAK.finditer(head))
        if breaks:
            cut = breaks[-1]
            return (
                head[: cut.start()],
                head[cut.end() :].strip(),
                journal.group("volume"),
                journal.group("issue"),
                journal.group("pages"),
            )
    sentences = _SENTENCE_BREAK.split(rest, maxsplit=1)
    container = sentences[1].strip().rstrip(".").strip() if len(sentences) > 1 else None
    return sentences[0], container or None, None, None, None


def _parse_apa(text: str) -> _Fields | None:
    head = _APA_HEAD.match(text)
    if not head:
        return None
    authors = _apa_authors(head.group("authors"))
    if authors is None:
        return None
    year = int(head.group("year")) if head.group("year") else None
    rest = head.group("rest")
    if rest is None:  # "Vaswani et al. (2017)": a reference without a title
        return _Fields(authors, year, None) if year else None
    parsed = _apa_rest(rest.strip())
    if parsed is None:
        return None
    title, container, volume, issue, pages = parsed
    title = _clean_title(title)
    if not _title_like(title):
        return None
    return _Fields(authors, year, title, container, volume, issue, _pages(pages))


_VANCOUVER_VENUE = re.compile(
    rf"^(?P<before>.+)\.\s+(?P<year>{_YEAR})(?:\s+[A-Z][a-z]{{2}}(?:\s+\d{{1,2}})?)?\s*"
    r"(?:;\s*(?P<volume>\d+[A-Za-z]?)?\s*(?:\((?P<issue>[^)]{1,20})\))?)?"
    rf"\s*(?::\s*(?P<pages>{_PAGES}))?\s*\.?$"
)


def _vancouver_authors(block: str) -> tuple[str, ...] | None:
    """Vancouver authors: "Shintani N" / "Ting DSJ, Elangovan K, et al"."""
    body = re.sub(r",?\s*\bet\s+al\s*$", "", block.strip())
    families = []
    for item in body.split(","):
        family, _, initials = item.strip().rpartition(" ")
        if not (1 <= len(initials) <= 3 and initials.isalpha() and initials.isupper()):
            return None
        if not _is_family(family):
            return None
        families.append(family)
    return tuple(families) or None


def _parse_vancouver(text: str) -> _Fields | None:
    head = re.match(r"^(?P<authors>[^.]{2,600}?)\.\s+(?P<rest>.+)$", text)
    if not head:
        return None
    authors = _vancouver_authors(head.group("authors"))
    if authors is None:
        return None
    venue = _VANCOUVER_VENUE.match(head.group("rest"))
    if not venue:
        return None
    before = venue.group("before")
    breaks = list(_SENTENCE_BREAK.finditer(before))
    title, container = before, None
    if breaks:
        title, container = before[: breaks[-1].start()], before[breaks[-1].end() :].strip()
    title = _clean_title(title)
    if not _title_like(title):
        return None
    return _Fields(
        authors,
        int(venue.group("year")),
        title,
        container or None,
        venue.group("volume"),
        venue.group("issue"),
        _pages(venue.group("pages")),
    )


_MLA_HEAD = re.compile(
    r"^(?P<authors>[^\"“”]{2,300}?)\.\s+[\"“](?P<title>[^\"“”]{3,500}?)[\"”]\s*(?P<rest>.*)$"
)
_MLA7_VENUE = re.compile(
    rf"^(?P<container>.+?)\s+(?P<volume>\d+)(?:\.(?P<issue>\d+))?\s+\((?P<year>{_YEAR})\)"
    rf"(?:\s*:\s*(?P<pages>{_PAGES}))?"
)
_MLA9_VENUE = re.compile(
    r"^(?P<container>[^,]+?),\s*vol\.\s*(?P<volume>\d+[A-Za-z]?)(?:,\s*no\.\s*(?P<issue>[\w-]+))?"
    rf",\s*(?:[A-Z][a-z]{{2,8}}\.?\s+)?(?:\d{{1,2}}\s+)?(?P<year>{_YEAR})"
    rf"(?:,\s*pp?\.\s*(?P<pages>{_PAGES}))?"
)


def _mla_authors(block: str) -> tuple[str, ...] | None:
    """MLA authors: "Shintani, Natsuko" / "Citron, Danielle Keats, and Frank Pasquale" /
    "Smith, John, et al"."""
    body = _ET_AL.sub("", block.strip())
    first, _, others = body.partition(",")
    others = others.strip()
    given, _, more = others.partition(",")
    more = re.sub(r"^\s*(?:and\s+)?", "", more.strip())
    if not _is_family(first.strip()) or not given.strip():
        return None
    if not _capitalized_words(given.replace(".", ". "), 4):
        return None
    families = [first.strip()]
    for name in re.split(r",\s*(?:and\s+)?|\s+and\s+", more) if more else []:
        words = name.split()
        if not words or not _capitalized_words(name, 5) or not _is_family(words[-1]):
            return None
        families.append(words[-1])
    return tuple(families)


def _parse_mla(text: str) -> _Fields | None:
    head = _MLA_HEAD.match(text)
    if not head:
        return None
    authors = _mla_authors(head.group("authors"))
    title = _clean_title(head.group("title"))
    if authors is None or not _title_like(title):
        return None
    rest = head.group("rest").strip()
    venue = _MLA9_VENUE.match(rest) or _MLA7_VENUE.match(rest)
    if venue:
        return _Fields(
            authors,
            int(venue.group("year")),
            title,
            venue.group("container").strip(),
            venue.group("volume"),
            venue.group("issue"),
            _pages(venue.group("pages")),
        )
    year = re.search(rf"\b({_YEAR})\b", rest)
    container = re.split(r"[,.]\s|\s\(", rest, maxsplit=1)[0].strip(" .,") if rest else ""
    if container and re.fullmatch(rf"\(?{_YEAR}\)?", container):
        container = ""
    return _Fields(authors, int(year.group(1)) if year else None, title, container or None)


_BLUEBOOK = re.compile(
    r"^(?P<authors>[^,]{3,160}),\s+(?P<title>[^,].{2,400}?),\s+(?P<volume>\d{1,4})\s+"
    r"(?P<container>[A-Z][A-Za-z.&' ]{1,80}?)\s+(?P<page>\d{1,5})(?:,\s*\d+(?:[-–]\d+)?)?\s+"
    rf"\((?P<year>{_YEAR})\)\.?$"
)


def _parse_bluebook(text: str) -> _Fields | None:
    """Law reviews: "Danielle Keats Citron, Technological Due Process, 85 Wash. U. L. Rev. 1249
    (2008)." (authors given name first)."""
    match = _BLUEBOOK.match(text)
    if not match:
        return None
    families = []
    for name in re.split(r"\s*&\s*|\s+and\s+|,\s*", match.group("authors")):
        words = name.split()
        if not 2 <= len(words) <= 5 or not _capitalized_words(name.replace(".", ". "), 5):
            return None
        if not _is_family(words[-1]):
            return None
        families.append(words[-1])
    title = _clean_title(match.group("title"))
    if not _title_like(title):
        return None
    return _Fields(
        tuple(families),
        int(match.group("year")),
        title,
        match.group("container").strip(),
        match.group("volume"),
        None,
        match.group("page"),
    )


_PARSERS = (_parse_apa, _parse_mla, _parse_vancouver, _parse_bluebook)
_LEAD_IN = re.compile(r"^.{1,80}?(?:[:—–]|\s-)\s+")


def _parse_line(line: str) -> Reference | None:
    span = _WS.sub(" ", line).strip()
    starts = [span]
    lead = _LEAD_IN.match(span)
    if lead:  # "New paper: Shintani, N. (2012). …"
        starts.append(span[lead.end() :])
    for text in starts:
        cleaned, prefix = _strip_links(text)
        if not cleaned:
            continue
        for parser in _PARSERS:
            fields = parser(cleaned)
            if fields is not None:
                return Reference(
                    text,
                    fields.authors,
                    fields.year,
                    fields.title,
                    fields.container,
                    fields.volume,
                    fields.issue,
                    fields.pages,
                    prefix,
                )
    return None


def parse_reference(text: str) -> Reference | None:
    """The first reference in ``text`` (line by line, then the lines joined, for a reference
    wrapped over lines), or None when there is none. ``Reference.text`` is the reference's own
    text, links included (a lead-in such as "New paper:" left out)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    tries = [*lines, " ".join(lines)] if len(lines) > 1 else lines
    for candidate in tries:
        if len(candidate) > 3000:
            continue
        reference = _parse_line(candidate)
        if reference is not None:
            return reference
    return None


_LOOKS = re.compile(
    r"\b[^\W\d_][\w'’-]*,\s(?:[^\W\d_]{1,2}\.\s?){1,3}(?:,|&|\(|and\b)"  # Shintani, N. (
    rf"|\bet\sal\.?,?\s\(?{_YEAR}"  # Vaswani et al. (2017)
    rf"|\.\s\({_YEAR}[a-z]?\)\.\s"  # OpenAI. (2023).
    r"|\b\d{1,4}\s?\(\d{1,4}(?:[-–/]\d{1,4})?\),\s*(?:pp?\.\s*)?[A-Za-z]?\d+"  # 16(2), 253
    rf"|\b{_YEAR}(?:\s[A-Z][a-z]{{2}})?;\s?\d+(?:\(\d+\))?:\s?[A-Za-z]?\d+"  # 2012;16(2):253
    r"|\bvol\.\s?\d+,\s?no\.\s?\d+"  # vol. 16, no. 2
    rf"|\b\d{{1,4}}\.\d{{1,3}}\s\({_YEAR}\):"  # MLA: 16.2 (2012):
    r"|\b[^\W\d_]+,\s[A-Z][a-z]+\.\s[\"“]"  # MLA: Shintani, Natsuko. "
    rf"|\b\d{{1,4}}\s[A-Z][\w.&' ]{{1,60}}\s\d{{1,5}}\s\({_YEAR}\)"  # 85 Wash. L. Rev. 1 (2014)
)


_HAS_YEAR = re.compile(rf"(?<!\d){_YEAR}(?!\d)")


def looks_like_reference(text: str) -> bool:
    """A cheap pre-check for posts: an author-year pattern or a "Journal, 16(2), 253–279"-like
    venue. Meant to be true for what :func:`parse_reference` reads (every style in the tests),
    though a reference without venue numbers and without an APA or MLA author head (a
    Vancouver "Journal. 2019." with no volume) slips by; and it is true for some texts the
    parser then rejects ("As Smith et al. (2020) showed"). Text without a year is never one:
    that gate is a fast scan, and every style the parser reads states the year."""
    return _HAS_YEAR.search(text) is not None and _LOOKS.search(text) is not None


# -- judging -------------------------------------------------------------------------------


def title_similarity(a: str, b: str) -> float:
    """SequenceMatcher's ratio over normalized titles, 0..1."""
    left, right = _normalize(a), _normalize(b)
    if not left or not right:
        return 0.0
    return SequenceMatcher(None, left, right, autojunk=False).ratio()


def _significant(word: str) -> bool:
    return any(ch.isdigit() for ch in word) or (len(word) >= 3 and word not in _STOPWORDS)


def _unmatched_words(a: str, b: str) -> list[str]:
    """Significant words of either title without a counterpart in the other."""
    words_a, words_b = _normalize(a).split(), _normalize(b).split()
    missing: list[str] = []
    for words, others in ((words_a, words_b), (words_b, words_a)):
        pool = set(others)
        for word in words:
            if not _significant(word) or word in pool or word in missing:
                continue
            if not any(ch.isdigit() for ch in word) and any(
                not any(ch.isdigit() for ch in other)
                and SequenceMatcher(None, word, other, autojunk=False).ratio() >= WORD_THRESHOLD
                for other in pool
            ):
                continue
            missing.append(word)
    return missing


def _name_variants(name: str) -> list[list[str]]:
    """A family name's words, diacritics folded ("Müller" → muller) and transliterated (mueller);
    apostrophes dropped ("O'Neil" → oneil)."""
    unescaped = html.unescape(name).replace("'", "").replace("’", "")
    variants = []
    for variant in (_fold(unescaped), _fold(unescaped.lower().translate(_TRANSLIT))):
        words = re.findall(r"[^\W\d_]+", variant)
        if words and words not in variants:
            variants.append(words)
    return variants


def _same_name(reference_family: str, candidate_family: str) -> bool:
    for words_a in _name_variants(reference_family):
        for words_b in _name_variants(candidate_family):
            if "".join(words_a) == "".join(words_b):
                return True
            set_a, set_b = set(words_a), set(words_b)
            if set_a <= set_b or set_b <= set_a:
                return True
    return False


def _container_words(name: str) -> list[str]:
    return [word for word in _normalize(name).split() if word not in _STOPWORDS]


def _abbreviates(short: list[str], full: list[str]) -> bool:
    """Each word of ``short`` abbreviates the same-place word of ``full`` ("natl" ← "national")."""
    if len(short) != len(full):
        return False
    for abbreviation, word in zip(short, full, strict=True):
        if word.startswith(abbreviation):
            continue
        if abbreviation[0] != word[0]:
            return False
        rest = iter(word[1:])
        if not all(ch in rest for ch in abbreviation[1:]):
            return False
    return True


def _same_container(a: str, b: str) -> bool:
    words_a, words_b = _container_words(a), _container_words(b)
    if not words_a or not words_b:
        return False
    return words_a == words_b or _abbreviates(words_a, words_b) or _abbreviates(words_b, words_a)


def _first_page(pages: str) -> str:
    return re.split(r"\s*[-–—‐]\s*", pages.strip(), maxsplit=1)[0].casefold()


def _same_issue_confirmed(reference: Reference, candidate: Citation) -> bool:
    """Volume and first page known on both sides and equal: the same article of the same issue."""
    return bool(
        reference.volume
        and candidate.volume
        and reference.pages
        and candidate.pages
        and reference.volume.strip().casefold() == candidate.volume.strip().casefold()
        and _first_page(reference.pages) == _first_page(candidate.pages)
    )


@dataclass
class _Check:
    reason: str
    weight: float
    value: float
    fails: bool = False  # a hard failure: the candidate is rejected
    tag: str = ""  # for the one-line note, when it passed


def _checks(reference: Reference, candidate: Citation) -> list[_Check]:
    checks: list[_Check] = []
    confirmed = _same_issue_confirmed(reference, candidate)

    if reference.title is None:
        checks.append(_Check("the reference has no title", 4, 0.0, fails=True))
    else:
        similarity = title_similarity(reference.title, candidate.title or "")
        shown = f"{_floor2(similarity):.2f}"
        differing = _unmatched_words(reference.title, candidate.title or "")
        if similarity < TITLE_THRESHOLD:
            checks.append(
                _Check(
                    f"title similarity {shown} below {TITLE_THRESHOLD}", 4, similarity, fails=True
                )
            )
        elif differing:
            checks.append(
                _Check(
                    f"title similarity {shown} but the titles differ in: " + ", ".join(differing),
                    4,
                    similarity,
                    fails=True,
                )
            )
        else:
            checks.append(_Check(f"title similarity {shown}", 4, similarity, tag=f"title {shown}"))

    if reference.year is not None:
        if candidate.year is None:
            checks.append(_Check("candidate has no year", 1, 0.0))
        elif candidate.year == reference.year:
            checks.append(_Check("year matches", 1, 1.0, tag="year"))
        elif abs(candidate.year - reference.year) == 1 and confirmed:
            checks.append(
                _Check(
                    f"year {candidate.year} vs {reference.year} tolerated: volume "
                    "and first page match (online-first)",
                    1,
                    0.5,
                    tag="year±1",
                )
            )
        else:
            checks.append(
                _Check(f"year {candidate.year} differs from {reference.year}", 1, 0.0, fails=True)
            )

    if reference.authors:
        first = reference.authors[0]
        if not candidate.authors:
            checks.append(_Check("candidate lists no authors", 1, 0.0, fails=True))
        elif _same_name(first, candidate.authors[0].family):
            checks.append(_Check(f"first author {first} matches", 1, 1.0, tag="author"))
        else:
            checks.append(
                _Check(
                    f"first author {candidate.authors[0].family} differs from {first}",
                    1,
                    0.0,
                    fails=True,
                )
            )
        others = reference.authors[1:]
        if others:
            found = sum(
                any(_same_name(name, author.family) for author in candidate.authors)
                for name in others
            )
            checks.append(
                _Check(f"{found} of {len(others)} other authors found", 0.5, found / len(others))
            )

    if not candidate.doi:
        checks.append(_Check("candidate has no DOI", 0, 0.0, fails=True))
    if reference.doi_prefix:
        prefix = reference.doi_prefix
        if candidate.doi and candidate.doi.lower().startswith(prefix):
            checks.append(_Check(f"DOI prefix {prefix} matches", 1, 1.0, tag="prefix"))
        elif candidate.doi:
            checks.append(
                _Check(f"DOI {candidate.doi} does not start with {prefix}", 1, 0.0, fails=True)
            )
        else:
            checks.append(_Check(f"no DOI to compare with {prefix}", 1, 0.0, fails=True))

    if reference.container:
        if not candidate.container:
            checks.append(_Check("candidate has no journal", 1, 0.0))
        elif _same_container(reference.container, candidate.container):
            checks.append(_Check("journal matches", 1, 1.0, tag="journal"))
        elif confirmed:
            checks.append(
                _Check(
                    f"journal '{html.unescape(candidate.container)}' named "
                    f"differently from '{reference.container}', but volume and "
                    "first page match",
                    1,
                    0.5,
                )
            )
        else:
            checks.append(
                _Check(
                    f"journal '{html.unescape(candidate.container)}' differs from "
                    f"'{reference.container}'",
                    1,
                    0.0,
                    fails=True,
                )
            )

    first_pages = [_first_page(pages) if pages else None
                   for pages in (reference.pages, candidate.pages)]  # fmt: skip
    for field, stated, given, decisive in (
        ("volume", reference.volume, candidate.volume, True),
        ("issue", reference.issue, candidate.issue, False),
        ("first page", first_pages[0], first_pages[1], True),
    ):
        if stated:
            checks.append(_field_check(field, stated, given, decisive))
    return checks


def _field_check(field: str, wanted: str, found: str | None, decisive: bool) -> _Check:
    """Volume, issue or first page, at half weight; a mismatch rejects when ``decisive``."""
    if field == "first page":
        if not found:
            return _Check("candidate has no pages", 0.5, 0.0)
        if found == wanted:
            return _Check("pages match", 0.5, 1.0, tag="pages")
    else:
        if not found:
            return _Check(f"candidate has no {field}", 0.5, 0.0)
        if found.strip().casefold() == wanted.strip().casefold():
            return _Check(f"{field} {wanted} matches", 0.5, 1.0, tag=field)
    note = "" if decisive else " (not decisive)"
    return _Check(f"{field} {found} differs from {wanted}{note}", 0.5, 0.0, fails=decisive)


def _verdict(checks: list[_Check]) -> Verdict:
    total = sum(check.weight for check in checks)
    score = sum(check.weight * check.value for check in checks) / total if total else 0.0
    return Verdict(
        accepted=not any(check.fails for check in checks),
        score=round(score, 4),
        reasons=tuple(check.reason for check in checks),
    )


def judge(reference: Reference, candidate: Citation) -> Verdict:
    """Whether ``candidate`` is the work ``reference`` describes (see the module's docstring)."""
    return _verdict(_checks(reference, candidate))


# -- recovery ------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return _WS.sub(" ", text).strip()


async def recover(reference: Reference, search: Search) -> Recovery:
    """Search for ``reference`` and accept the single consistent candidate. Never raises (but
    lets cancellation through): a failing search leaves the reference unresolved."""
    if reference.title is None:
        return Recovery(
            reference,
            None,
            None,
            "unresolved: the reference has no title to check candidates against",
        )
    try:
        candidates = await search(reference_query(reference))
    except Exception as error:
        detail = _one_line(str(error))
        message = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
        return Recovery(
            reference, None, None, f"unresolved: search failed ({message})", search_failed=True
        )
    try:
        return _choose(reference, list(candidates))
    except Exception as error:  # a malformed candidate must not take the caller down
        return Recovery(
            reference,
            None,
            None,
            f"unresolved: could not judge the candidates ({type(error).__name__}: "
            f"{_one_line(str(error))})",
        )


def _choose(reference: Reference, candidates: list[Citation]) -> Recovery:
    if not candidates:
        return Recovery(reference, None, None, "unresolved: the search found no candidates")
    judged = []
    for candidate in candidates:
        checks = _checks(reference, candidate)
        judged.append((candidate, _verdict(checks), checks))
    accepted = [entry for entry in judged if entry[1].accepted]
    accepted.sort(key=lambda entry: -entry[1].score)  # stable: search order breaks ties
    distinct: list[tuple[Citation, Verdict, list[_Check]]] = []
    for entry in accepted:
        doi = (entry[0].doi or "").lower()
        if all((other[0].doi or "").lower() != doi for other in distinct):
            distinct.append(entry)
    if not distinct:
        best = max(judged, key=lambda entry: entry[1].score)
        failures = "; ".join(check.reason for check in best[2] if check.fails)
        return Recovery(
            reference,
            None,
            best[1],
            "unresolved: no candidate consistent with the reference "
            f"(best: {best[0].doi or best[0].title}: {failures})",
        )
    citation, verdict, checks = distinct[0]
    if len(distinct) > 1 and verdict.score - distinct[1][1].score <= AMBIGUITY_MARGIN + 1e-9:
        rival = distinct[1][0]
        undecided = replace(
            verdict, accepted=False, reasons=(*verdict.reasons, f"as consistent as {rival.doi}")
        )
        return Recovery(
            reference,
            None,
            undecided,
            f"unresolved: two candidates are equally consistent ({citation.doi}, {rival.doi})",
        )
    tags = ", ".join(check.tag for check in checks if check.tag and not check.fails)
    return Recovery(reference, citation, verdict, f"recovered {citation.doi} ({tags})")
