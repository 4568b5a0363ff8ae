"""Crossref sources: new works of a journal (by ISSN), or new works matching a query.

    [[sources]]
    name = "Language Teaching Research"
    kind = "crossref"
    issn = "1362-1688"

    [[sources]]
    name = "Crossref: AI tutoring"
    kind = "crossref"
    query = "intelligent tutoring systems"

Each fetch asks the Crossref REST API (``research.crossref_base_url``, polite pool with
``research.mailto``, paced by the ``x-rate-limit-*`` headers like every Crossref request) for
works created since the previous fetch (the source's cursor, the newest ``created`` timestamp
seen; ``filter=from-created-date:``), newest first, paging by ``offset`` up to ``max_results``.
The first fetch takes the last ``first_days`` days. Every work is an entry whose link is its
``https://doi.org/`` URL and which carries its citation.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta
from urllib.parse import quote

from pydantic import Field, field_validator, model_validator

from feedbot.http import HttpClient
from feedbot.links.scholarly import CROSSREF_SELECT
from feedbot.sources import (
    FetchContext,
    FetchedEntry,
    FetchOutcome,
    SourceKind,
    SourceOptions,
    SourceState,
)
from feedbot.sources.entries import paper_entry

PAGE_SIZE = 100  # works per API request
_ISSN = re.compile(r"^\d{4}-?\d{3}[\dXx]$")


class CrossrefOptions(SourceOptions):
    issn: str | None = Field(None, description="The journal's ISSN (print or electronic).")
    query: str | None = Field(
        None, description="Words to match in the works' metadata (Crossref's query)."
    )
    max_results: int = Field(200, ge=1, le=2000, description="Works taken in one fetch at most.")
    first_days: int = Field(
        30, ge=1, le=3650, description="How far back the first fetch goes, in days."
    )

    @field_validator("issn")
    @classmethod
    def _issn(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _ISSN.match(value.strip()):
            raise ValueError(f"not an ISSN: {value!r} (e.g. '1362-1688')")
        digits = value.strip().replace("-", "").upper()
        return f"{digits[:4]}-{digits[4:]}"

    @model_validator(mode="after")
    def _something(self) -> CrossrefOptions:
        if not self.issn and not (self.query or "").strip():
            raise ValueError("give an issn, a query, or both")
        return self

    def path(self) -> str:
        return f"/journals/{self.issn}/works" if self.issn else "/works"

    def default_url(self) -> str:
        if self.issn:
            return f"https://api.crossref.org/journals/{self.issn}/works"
        return "https://api.crossref.org/works?query=" + quote((self.query or "").strip())


class CrossrefFetcher:
    def __init__(self, context: FetchContext) -> None:
        self.context = context

    async def fetch(self, source: SourceState, http: HttpClient) -> FetchOutcome:
        options = CrossrefOptions.model_validate(source.options)
        client = self.context.scholarly(http)
        since = source.cursor
        if since:
            from_date = since[:10]
        else:
            today = self.context.clock().astimezone(UTC).date()
            from_date = (today - timedelta(days=options.first_days)).isoformat()
        params = {
            "filter": f"from-created-date:{from_date}",
            "sort": "created",
            "order": "desc",
            "select": CROSSREF_SELECT,
        }
        if options.query and options.query.strip():
            params["query"] = options.query.strip()
        entries: list[FetchedEntry] = []
        newest = since
        offset = 0
        while len(entries) < options.max_results:
            size = min(PAGE_SIZE, options.max_results - len(entries))
            page, listed = await client.crossref_works(
                options.path(), params | {"rows": str(size), "offset": str(offset)}
            )
            for citation, created in page:
                if since and created and created <= since:
                    continue  # seen by the previous fetch (the filter works by day)
                if citation.doi is None:
                    continue
                entries.append(paper_entry(citation, created, "doi"))
                if created and (newest is None or created > newest):
                    newest = created
            if listed < size:
                break
            offset += size
        where = (
            f"ISSN {options.issn}" if options.issn else f"query {(options.query or '').strip()!r}"
        )
        return FetchOutcome(
            status="ok",
            http_status=200,
            entries=tuple(entries[: options.max_results]),
            title=f"Crossref: {where}",
            cursor=newest,
        )


KIND = SourceKind(
    "crossref",
    "new works of a journal (`issn`) and/or matching `query`, from Crossref",
    CrossrefFetcher,
    CrossrefOptions,
)
