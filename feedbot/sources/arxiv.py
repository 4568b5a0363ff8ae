"""arXiv query sources: new submissions in some categories and/or matching some terms.

    [[sources]]
    name = "New in cs.CL about tutoring"
    kind = "arxiv"
    categories = ["cs.CL", "cs.CY"]
    query = "tutoring OR \"language learning\""

Each fetch asks the arXiv API (``research.arxiv_base_url``, one request every
``research.arxiv_interval_seconds`` shared with the citation lookups of the same run) for the
newest submissions first, and pages back until it reaches the newest paper of the previous fetch
(the source's cursor, a ``published`` timestamp) or ``max_results``. Every paper is an entry
whose link is its abstract page and which carries its citation, so it needs no second lookup.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from pydantic import Field, field_validator, model_validator

from feedbot.http import HttpClient
from feedbot.sources import (
    FetchContext,
    FetchedEntry,
    FetchOutcome,
    SourceKind,
    SourceOptions,
    SourceState,
)
from feedbot.sources.entries import paper_entry

PAGE_SIZE = 100  # papers per API request
_CATEGORY = re.compile(r"^[a-z-]+(?:\.[A-Za-z-]+)?$")


class ArxivOptions(SourceOptions):
    categories: list[str] = Field(
        default_factory=list, description="arXiv categories, any of them (e.g. cs.AI, cs.CL)."
    )
    query: str | None = Field(
        None,
        description="Search terms: plain words (all must match, in any field) or arXiv's "
        "query syntax ('ti:tutoring OR abs:\"language learning\"').",
    )
    max_results: int = Field(200, ge=1, le=2000, description="Papers taken in one fetch at most.")

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: list[str]) -> list[str]:
        for category in value:
            if not _CATEGORY.match(category):
                raise ValueError(f"not an arXiv category: {category!r} (e.g. 'cs.AI')")
        return value

    @model_validator(mode="after")
    def _something(self) -> ArxivOptions:
        if not self.categories and not (self.query or "").strip():
            raise ValueError("give categories, a query, or both")
        return self

    def search_query(self) -> str:
        """The ``search_query`` of the API: ``(cat:cs.AI OR cat:cs.CL) AND (all:…)``."""
        parts = []
        if self.categories:
            parts.append("(" + " OR ".join(f"cat:{c}" for c in self.categories) + ")")
        query = (self.query or "").strip()
        if query:
            parts.append(f"({arxiv_terms(query)})")
        return " AND ".join(parts)

    def default_url(self) -> str:
        return "https://export.arxiv.org/api/query?search_query=" + quote(self.search_query())


class ArxivFetcher:
    def __init__(self, context: FetchContext) -> None:
        self.context = context

    async def fetch(self, source: SourceState, http: HttpClient) -> FetchOutcome:
        options = ArxivOptions.model_validate(source.options)
        client = self.context.scholarly(http)
        newest_before = source.cursor
        entries: list[FetchedEntry] = []
        newest = newest_before
        start = 0
        while len(entries) < options.max_results:
            size = min(PAGE_SIZE, options.max_results - len(entries))
            page = await client.arxiv_query(options.search_query(), start, size)
            reached_old = False
            for citation, published in page:
                if newest_before and published and published <= newest_before:
                    reached_old = True
                    break
                entries.append(paper_entry(citation, published, "arxiv"))
                if published and (newest is None or published > newest):
                    newest = published
            if reached_old or len(page) < size:
                break
            start += size
        warnings: tuple[str, ...] = ()
        if not entries and source.cursor is None:
            warnings = (f"arXiv has no papers for {options.search_query()!r}",)
        return FetchOutcome(
            status="ok",
            http_status=200,
            entries=tuple(entries[: options.max_results]),
            title=f"arXiv: {options.search_query()}",
            site_url="https://arxiv.org/",
            cursor=newest,
            warnings=warnings,
        )


_TOKEN = re.compile(r'[()]|[^\s()"]*"[^"]*"|[^\s()]+')
_OPERATORS = frozenset({"AND", "OR", "ANDNOT"})


def arxiv_terms(query: str) -> str:
    """A query in arXiv's syntax: words and quoted phrases without a field prefix search all
    fields (``all:``), ``AND``/``OR``/``ANDNOT`` and parentheses are kept, and terms side by
    side must all match. ``tutoring OR "language learning"`` →
    ``all:tutoring OR all:"language learning"``; ``ti:tutoring`` stays as it is."""
    out: list[str] = []
    after_term = False
    for token in _TOKEN.findall(query):
        if token in _OPERATORS:
            out.append(token)
            after_term = False
            continue
        if after_term and token != ")":
            out.append("AND")
        if token in "()":
            out.append(token)
            after_term = token == ")"
            continue
        prefixed = re.match(r"^[a-z_]+:", token) is not None
        out.append(token if prefixed else f"all:{token}")
        after_term = True
    return " ".join(out).replace("( ", "(").replace(" )", ")")


KIND = SourceKind(
    "arxiv",
    "new arXiv papers in `categories` and/or matching `query`",
    ArxivFetcher,
    ArxivOptions,
)
