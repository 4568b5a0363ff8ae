"""A paper, as the research services describe it, and its formatted citation.

:class:`Citation` is what doi.org (CSL-JSON), the Crossref REST API and the arXiv API are all
turned into, so everything downstream (merging, publishing, export) sees one shape.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Author:
    family: str  # or the whole name of an organisation
    given: str = ""

    @property
    def initials(self) -> str:
        """``"Nobuhiro"`` → ``"N."``; ``"Jean-Paul"`` → ``"J.-P."``."""
        parts = []
        for word in self.given.replace(".", " ").split():
            parts.append("-".join(piece[:1].upper() + "." for piece in word.split("-") if piece))
        return " ".join(parts)


@dataclass(frozen=True)
class Citation:
    """One scholarly work. ``doi`` is lowercase; ``arxiv_id`` has no version suffix."""

    title: str
    doi: str | None = None
    arxiv_id: str | None = None
    authors: tuple[Author, ...] = ()
    container: str | None = None  # journal, proceedings or book title
    year: int | None = None
    month: int | None = None
    day: int | None = None
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None  # "253-279" or an article number
    publisher: str | None = None
    type: str | None = None  # CSL type: "article-journal", "paper-conference", "article"…
    abstract: str | None = None  # sanitized HTML
    open_access_url: str | None = None
    # DOIs of the same work in another form (a preprint's published version, or the reverse).
    related_dois: tuple[str, ...] = field(default=())
    issns: tuple[str, ...] = ()  # of the journal, "1362-1688"
    subjects: tuple[str, ...] = ()  # Crossref's subject areas of the journal
    categories: tuple[str, ...] = ()  # arXiv categories, primary first ("cs.CL", "cs.AI")

    @property
    def url(self) -> str | None:
        """Where the paper lives: its DOI, else its arXiv abstract page."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        if self.arxiv_id:
            return f"https://arxiv.org/abs/{self.arxiv_id}"
        return None


def format_citation(citation: Citation) -> str:
    """An APA-like reference: ``Shintani, N. (2012). Title. Journal, 16(2), 253–279.``"""
    authors = format_authors(citation.authors)
    year = f"({citation.year})" if citation.year else "(n.d.)"
    parts = [f"{authors} {year}." if authors else f"{year}."]
    parts.append(citation.title.rstrip(".") + ".")
    if citation.container:
        where = citation.container
        if citation.volume:
            where += f", {citation.volume}"
            if citation.issue:
                where += f"({citation.issue})"
        if citation.pages:
            where += f", {citation.pages.replace('-', '–')}"
        parts.append(where + ".")
    elif citation.arxiv_id:
        parts.append(f"arXiv:{citation.arxiv_id}.")
    return " ".join(parts)


def version_urls(citation: Citation) -> tuple[str, ...]:
    """The identity URLs of the other forms of the same work its metadata names: the published
    DOI of a preprint, the arXiv page of a published paper's preprint."""
    from feedbot.links.arxiv import arxiv_id_from_doi

    urls = []
    for doi in citation.related_dois:
        arxiv = arxiv_id_from_doi(doi)
        url = f"https://arxiv.org/abs/{arxiv}" if arxiv else f"https://doi.org/{doi}"
        if url != citation.url and url not in urls:
            urls.append(url)
    return tuple(urls)


def format_authors(authors: tuple[Author, ...]) -> str:
    """APA's author list: ``Smith, J., Lee, K., & Ito, A.``; past 20 names, the first 19, "…"
    and the last."""
    names = [f"{a.family}, {a.initials}".rstrip(", ") for a in authors]
    if len(names) > 20:
        names = [*names[:19], "…", names[-1]]
    if not names:
        return ""
    return ", ".join(names[:-1]) + (", & " if len(names) > 1 else "") + names[-1]


def citation_to_json(citation: Citation) -> dict[str, Any]:
    return asdict(citation)


def citation_from_json(data: dict[str, Any]) -> Citation:
    """The inverse of :func:`citation_to_json`; unknown keys (from a newer feedbot) ignored."""
    known = {name for name in Citation.__dataclass_fields__}
    values = {key: value for key, value in data.items() if key in known}
    values["authors"] = tuple(Author(**author) for author in values.get("authors") or ())
    for name in ("related_dois", "issns", "subjects", "categories"):
        values[name] = tuple(values.get(name) or ())
    return Citation(**values)
