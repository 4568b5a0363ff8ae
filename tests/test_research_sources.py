"""The research source kinds end to end: ``kind = "arxiv"`` and ``kind = "crossref"`` fetched by
the App from a local server playing export.arxiv.org and api.crossref.org (through
:class:`LoopbackTransport`), and their settings: validated per kind, stored with the source, and
a changed setting starting the source afresh.

The answers are in ``tests/data/research`` (see its SOURCE.txt). The fixture server records host
and path only, so query strings are checked on the client side (:class:`RecordingTransport`),
which can also swap a route before a request to serve a search page by page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy import select

from feedbot.app import App, open_app
from feedbot.config import ResearchSettings, Settings, load_settings, settings_from_dict
from feedbot.errors import ConfigError
from feedbot.fixture_server import FixtureServer, LoopbackTransport, Route
from feedbot.http import HttpClient
from feedbot.links.scholarly import CROSSREF_SELECT, ScholarlyClient
from feedbot.sources import FetchOutcome, registry
from feedbot.sources.arxiv import ArxivOptions
from feedbot.store import links_t
from tests.conftest import Clock

DATA = Path(__file__).resolve().parent / "data" / "research"
ARXIV_API = "export.arxiv.org/api/query"
LTR_WORKS = "api.crossref.org/journals/1362-1688/works"
CROSSREF_WORKS = "api.crossref.org/works"
MAILTO = "feedbot@example.org"
ATOM = "application/atom+xml; charset=utf-8"

ARXIV_SOURCE: dict[str, Any] = {
    "name": "cs.CL tutoring",
    "kind": "arxiv",
    "categories": ["cs.CL"],
    "query": "tutoring",
}
LTR_SOURCE: dict[str, Any] = {
    "name": "Language Teaching Research",
    "kind": "crossref",
    "issn": "1362-1688",
}

# The papers of arxiv-query.atom, newest first, and the one arxiv-query-newer.atom adds.
SOCRATIC = "https://arxiv.org/abs/2611.05002"
FEEDBACK = "https://arxiv.org/abs/2611.04001"
SHINTANI_PREPRINT = "https://arxiv.org/abs/1109.04321"
PEER = "https://arxiv.org/abs/2611.06003"


# -- harness -------------------------------------------------------------------------------


class RecordingTransport(LoopbackTransport):
    """Loopback, remembering every full URL; ``before(url)`` runs first (to swap a route)."""

    def __init__(
        self, server: FixtureServer, before: Callable[[httpx.URL], None] | None = None
    ) -> None:
        super().__init__(server)
        self.urls: list[str] = []
        self.before = before

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        if self.before is not None:
            self.before(request.url)
        return await super().handle_async_request(request)

    def queries(self, endpoint: str) -> list[dict[str, str]]:
        """The query parameters of each request to ``endpoint`` (host and path), in order."""
        found = []
        for url in self.urls:
            parts = urlsplit(url)
            if parts.netloc + parts.path == endpoint:
                found.append(dict(parse_qsl(parts.query, keep_blank_values=True)))
        return found


@dataclass
class Research:
    app: App
    transport: RecordingTransport

    def items(self) -> dict[str, Any]:
        return {item.url: item for item in self.app.items()}

    def cursor(self) -> str | None:
        [source] = self.app.store.active_sources()
        return source.cursor


MakeResearch = Callable[..., Research]


@pytest.fixture
def make_research(
    server: FixtureServer, make_settings: Callable[..., Settings], database_url: str, clock: Clock
) -> MakeResearch:
    """An App whose every request goes to ``server``; research lookups on, arXiv unpaced."""

    def make(
        sources: list[dict[str, Any]],
        before: Callable[[httpx.URL], None] | None = None,
        research: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> Research:
        settings = make_settings(
            sources,
            database_url=database_url,
            research={"resolve": True, "arxiv_interval_seconds": 0} | (research or {}),
            **overrides,
        )
        transport = RecordingTransport(server, before)
        return Research(open_app(settings, clock=clock, transport=transport), transport)

    return make


def atom(name: str) -> Route:
    return Route(body=(DATA / name).read_bytes(), content_type=ATOM, conditional=False)


def atom_entries(name: str, start: int, stop: int) -> Route:
    """The answer ``name`` with only its entries ``start:stop``: one page of a search."""
    text = (DATA / name).read_text(encoding="utf-8")
    entries = re.findall(r"  <entry>.*?</entry>\n", text, re.DOTALL)
    head = text[: text.index("  <entry>")]
    return Route(
        body=(head + "".join(entries[start:stop]) + "</feed>\n").encode(),
        content_type=ATOM,
        conditional=False,
    )


def works(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


def work_list(data: dict[str, Any], start: int = 0, stop: int | None = None) -> Route:
    """A Crossref work-list answer, optionally cut to the items ``start:stop``."""
    page = json.loads(json.dumps(data))
    page["message"]["items"] = page["message"]["items"][start:stop]
    return Route(body=json.dumps(page).encode(), content_type="application/json", conditional=False)


def paper_states(app: App) -> dict[str, str | None]:
    with app.store.engine.connect() as conn:
        rows = conn.execute(select(links_t.c.url, links_t.c.paper_state))
        return {row.url: row.paper_state for row in rows}


# -- arXiv ---------------------------------------------------------------------------------


def test_arxiv_source_asks_for_the_newest_papers_and_each_is_an_item_with_its_citation(
    make_research: MakeResearch, server: FixtureServer
) -> None:
    server.routes[ARXIV_API] = atom("arxiv-query.atom")
    research = make_research([ARXIV_SOURCE])
    [result] = research.app.fetch()
    assert (result.status, result.new, result.error) == ("ok", 3, None)

    assert research.transport.queries(ARXIV_API) == [
        {
            "search_query": "(cat:cs.CL) AND (all:tutoring)",
            "sortBy": "submittedDate",
            "sortOrder": "descending",
            "start": "0",
            "max_results": "100",  # a page: PAGE_SIZE, below max_results (200)
        }
    ]
    items = research.items()
    assert list(items) == [SOCRATIC, FEEDBACK, SHINTANI_PREPRINT]  # newest first, no version suffix
    socratic = items[SOCRATIC]
    assert (socratic.arxiv_id, socratic.doi) == ("2611.05002", None)
    assert socratic.title == "Socratic Tutoring Dialogues with Retrieval-Augmented Language Models"
    assert socratic.citation is not None
    assert [(a.family, a.given) for a in socratic.citation.authors] == [
        ("Tanaka", "Mei"),
        ("Ortiz", "Rafael"),
    ]
    assert socratic.citation.year == 2026
    assert socratic.citation.open_access_url == "https://arxiv.org/pdf/2611.05002v2"
    assert socratic.citation_text == (
        "Tanaka, M., & Ortiz, R. (2026). Socratic Tutoring Dialogues with Retrieval-Augmented "
        "Language Models. arXiv:2611.05002."
    )
    assert [(m.source.name, m.shared_url) for m in socratic.mentions] == [
        ("cs.CL tutoring", SOCRATIC)
    ]
    assert socratic.date == datetime(2026, 11, 20, 17, 30, tzinfo=UTC)
    assert items[SHINTANI_PREPRINT].citation_text == (
        "Shintani, N. (2011). Input-based tasks and the acquisition of vocabulary and grammar: "
        "a process-product study. arXiv:1109.04321."
    )
    # The citation came with the entry: the research stage asked nothing more.
    assert all("id_list" not in query for query in research.transport.queries(ARXIV_API))
    assert server.hits[ARXIV_API] == 1
    assert {paper_states(research.app)[url] for url in items} == {"ok"}
    assert research.cursor() == "2026-11-20T17:30:00Z"
    report = research.app.research()
    assert (report.cited, report.failed) == (0, 0)
    assert server.hits[ARXIV_API] == 1


def test_arxiv_source_refetch_adds_nothing_and_a_newer_answer_adds_only_the_new_paper(
    make_research: MakeResearch, server: FixtureServer
) -> None:
    server.routes[ARXIV_API] = atom("arxiv-query.atom")
    research = make_research([ARXIV_SOURCE])
    research.app.fetch()

    [again] = research.app.fetch()
    assert (again.status, again.new, again.updated) == ("ok", 0, 0)
    assert len(research.items()) == 3
    assert research.app.store.counts()["entries"] == 3
    assert research.cursor() == "2026-11-20T17:30:00Z"

    server.routes[ARXIV_API] = atom("arxiv-query-newer.atom")  # one new paper, then the old
    [newer] = research.app.fetch()
    assert (newer.status, newer.new, newer.updated) == ("ok", 1, 0)
    items = research.items()
    assert list(items) == [PEER, SOCRATIC, FEEDBACK, SHINTANI_PREPRINT]
    assert items[PEER].citation_text == (
        "Berg, J., Wei, L., & Okafor, S. (2026). Peer Tutoring Transcripts as Training Data for "
        "Feedback Generation. arXiv:2611.06003."
    )
    assert research.cursor() == "2026-11-22T09:00:00Z"
    assert research.app.store.counts()["entries"] == 4
    assert server.hits[ARXIV_API] == 3  # one search per fetch, never a lookup by id


def test_arxiv_source_pages_back_until_the_previous_newest_paper(
    make_research: MakeResearch, server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("feedbot.sources.arxiv.PAGE_SIZE", 2)
    answer = {"name": "arxiv-query.atom"}

    def page(url: httpx.URL) -> None:
        start = int(url.params["start"])
        size = int(url.params["max_results"])
        server.routes[ARXIV_API] = atom_entries(answer["name"], start, start + size)

    research = make_research([ARXIV_SOURCE], before=page)
    [first] = research.app.fetch()
    assert first.new == 3
    asked = [(q["start"], q["max_results"]) for q in research.transport.queries(ARXIV_API)]
    assert asked == [("0", "2"), ("2", "2")]  # the second page is short: the end
    assert list(research.items()) == [SOCRATIC, FEEDBACK, SHINTANI_PREPRINT]

    answer["name"] = "arxiv-query-newer.atom"
    research.transport.urls.clear()
    [second] = research.app.fetch()
    assert second.new == 1
    # The first page already reaches the newest paper of the previous fetch: no second page.
    asked = [(q["start"], q["max_results"]) for q in research.transport.queries(ARXIV_API)]
    assert asked == [("0", "2")]
    assert len(research.items()) == 4


@pytest.mark.parametrize(
    ("max_results", "pages", "taken"),
    [
        (3, [("0", "2"), ("2", "1")], [PEER, SOCRATIC, FEEDBACK]),
        (10, [("0", "2"), ("2", "2"), ("4", "2")], [PEER, SOCRATIC, FEEDBACK, SHINTANI_PREPRINT]),
    ],
)
def test_arxiv_source_takes_max_results_at_most(
    make_research: MakeResearch,
    server: FixtureServer,
    monkeypatch: pytest.MonkeyPatch,
    max_results: int,
    pages: list[tuple[str, str]],
    taken: list[str],
) -> None:
    monkeypatch.setattr("feedbot.sources.arxiv.PAGE_SIZE", 2)

    def page(url: httpx.URL) -> None:
        start = int(url.params["start"])
        size = int(url.params["max_results"])
        server.routes[ARXIV_API] = atom_entries("arxiv-query-newer.atom", start, start + size)

    research = make_research([ARXIV_SOURCE | {"max_results": max_results}], before=page)
    [result] = research.app.fetch()
    asked = [(q["start"], q["max_results"]) for q in research.transport.queries(ARXIV_API)]
    assert asked == pages
    assert result.new == len(taken)
    assert list(research.items()) == taken


def test_arxiv_error_answer_is_the_sources_error_and_its_items_stay(
    make_research: MakeResearch, server: FixtureServer
) -> None:
    server.routes[ARXIV_API] = atom("arxiv-query.atom")
    research = make_research([ARXIV_SOURCE])
    research.app.fetch()

    server.routes[ARXIV_API] = Route(
        status=400, body=(DATA / "arxiv-error.atom").read_bytes(), content_type=ATOM
    )
    [result] = research.app.fetch()
    error = "arxiv: arXiv API error: start must be an integer greater than or equal to 0"
    assert (result.status, result.error) == ("error", error)
    [status] = research.app.store.status()
    assert (status.last_error, status.consecutive_failures, status.entries) == (error, 1, 3)
    assert list(research.items()) == [SOCRATIC, FEEDBACK, SHINTANI_PREPRINT]
    assert research.cursor() == "2026-11-20T17:30:00Z"  # the next fetch starts where it was


def test_arxiv_source_without_papers_warns_on_its_first_fetch(
    make_research: MakeResearch, server: FixtureServer
) -> None:
    server.routes[ARXIV_API] = atom_entries("arxiv-query.atom", 0, 0)
    research = make_research([ARXIV_SOURCE])
    [result] = research.app.fetch()
    assert (result.status, result.new) == ("ok", 0)
    assert result.warnings == ("arXiv has no papers for '(cat:cs.CL) AND (all:tutoring)'",)
    assert research.cursor() is None


# -- Crossref ------------------------------------------------------------------------------


def test_crossref_journal_source_end_to_end(
    make_research: MakeResearch, server: FixtureServer
) -> None:
    server.routes[LTR_WORKS] = work_list(works("crossref-journal-works.json"))
    research = make_research([LTR_SOURCE], research={"mailto": MAILTO})
    [result] = research.app.fetch()
    assert (result.status, result.new, result.error) == ("ok", 4, None)

    [asked] = research.transport.queries(LTR_WORKS)
    assert re.fullmatch(r"from-created-date:\d{4}-\d{2}-\d{2}", asked.pop("filter"))
    assert asked == {
        "sort": "created",
        "order": "desc",
        "select": CROSSREF_SELECT,
        "rows": "100",
        "offset": "0",
        "mailto": MAILTO,
    }
    items = research.items()
    assert list(items) == [
        "https://doi.org/10.1177/13621688261401234",
        "https://doi.org/10.1177/13621688261400007",
        "https://doi.org/10.1177/13621688261398765",
        "https://doi.org/10.1177/13621688261390001",
    ]
    feedback = items["https://doi.org/10.1177/13621688261398765"]
    assert (feedback.doi, feedback.arxiv_id) == ("10.1177/13621688261398765", None)
    assert feedback.citation_text == (
        "Sato, Y. (2026). Corrective feedback on written drafts: What learners notice. "
        "Language Teaching Research, 30(6), 1201–1224."
    )
    assert [m.source.name for m in feedback.mentions] == ["Language Teaching Research"]
    # Every request went to Crossref's journal list: no doi.org lookup of works already cited.
    assert {urlsplit(url).netloc for url in research.transport.urls} == {"api.crossref.org"}
    assert research.cursor() == "2026-11-20T08:15:00Z"

    server.routes[LTR_WORKS] = work_list(works("crossref-journal-works-later.json"))
    research.transport.urls.clear()
    [later] = research.app.fetch()
    [asked] = research.transport.queries(LTR_WORKS)
    assert asked["filter"] == "from-created-date:2026-11-20"  # the cursor's day
    # The answer repeats the works of the cursor's day; only the one created after it is new.
    assert (later.new, later.updated) == (1, 0)
    assert list(research.items()) == [
        "https://doi.org/10.1177/13621688261409999",
        "https://doi.org/10.1177/13621688261401234",
        "https://doi.org/10.1177/13621688261400007",
        "https://doi.org/10.1177/13621688261398765",
        "https://doi.org/10.1177/13621688261390001",
    ]
    assert research.cursor() == "2026-11-21T10:30:00Z"

    server.routes[LTR_WORKS] = Route(status=500, body=b"", content_type="text/plain")
    [failed] = research.app.fetch()
    assert (failed.status, failed.error) == ("error", "crossref: HTTP 500 Internal Server Error")
    [status] = research.app.store.status()
    assert status.last_error == "crossref: HTTP 500 Internal Server Error"
    assert len(research.items()) == 5
    assert research.cursor() == "2026-11-21T10:30:00Z"


def test_crossref_first_fetch_window_follows_the_app_clock(
    make_research: MakeResearch, server: FixtureServer, clock: Clock
) -> None:
    """The App's clock is the only clock (STYLE: "clock … passed down"): the first fetch goes
    back ``first_days`` from the App's today, not the machine's."""
    clock.now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    server.routes[LTR_WORKS] = work_list(works("crossref-journal-works.json"), 0, 0)
    research = make_research([LTR_SOURCE | {"first_days": 10}])
    research.app.fetch()
    [asked] = research.transport.queries(LTR_WORKS)
    assert asked["filter"] == "from-created-date:2025-02-19"


def test_crossref_query_source_searches_works(
    make_research: MakeResearch, server: FixtureServer
) -> None:
    server.routes[CROSSREF_WORKS] = work_list(works("crossref-journal-works.json"))
    source = {"name": "Crossref: tutoring", "kind": "crossref", "query": "intelligent tutoring"}
    research = make_research([source])
    [result] = research.app.fetch()
    assert (result.status, result.new) == ("ok", 4)
    [asked] = research.transport.queries(CROSSREF_WORKS)
    assert asked["query"] == "intelligent tutoring"
    assert "query.bibliographic" not in asked
    assert "mailto" not in asked  # none configured
    assert (asked["sort"], asked["order"], asked["rows"], asked["offset"]) == (
        "created",
        "desc",
        "100",
        "0",
    )
    assert server.hits[LTR_WORKS] == 0
    [status] = research.app.store.status()
    assert status.title == "Crossref: query 'intelligent tutoring'"


def test_crossref_source_pages_by_offset(
    make_research: MakeResearch, server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("feedbot.sources.crossref.PAGE_SIZE", 2)
    data = works("crossref-journal-works.json")

    def page(url: httpx.URL) -> None:
        offset = int(url.params["offset"])
        server.routes[LTR_WORKS] = work_list(data, offset, offset + int(url.params["rows"]))

    research = make_research([LTR_SOURCE | {"max_results": 3}], before=page)
    [result] = research.app.fetch()
    asked = [(q["offset"], q["rows"]) for q in research.transport.queries(LTR_WORKS)]
    assert asked == [("0", "2"), ("2", "1")]
    assert result.new == 3


def test_crossref_paging_goes_on_past_a_work_it_cannot_read(
    make_research: MakeResearch, server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full page is not the last one because one of its works had no title: the page length
    Crossref answered with decides, or the works after it are never fetched (the cursor moves
    past them)."""
    monkeypatch.setattr("feedbot.sources.crossref.PAGE_SIZE", 2)
    data = works("crossref-journal-works.json")
    first, *rest = data["message"]["items"]
    untitled = {"DOI": "10.1177/13621688261400001", "type": "journal-article",
                "created": {"date-parts": [[2026, 11, 20]], "date-time": "2026-11-20T07:30:00Z"}}  # fmt: skip
    data["message"]["items"] = [first, untitled, *rest]

    def page(url: httpx.URL) -> None:
        offset = int(url.params["offset"])
        server.routes[LTR_WORKS] = work_list(data, offset, offset + int(url.params["rows"]))

    research = make_research([LTR_SOURCE], before=page)
    [result] = research.app.fetch()
    asked = [q["offset"] for q in research.transport.queries(LTR_WORKS)]
    assert asked == ["0", "2", "4"]
    assert result.new == 4
    assert len(research.items()) == 4


def test_research_sources_ask_the_configured_base_urls(
    make_research: MakeResearch, server: FixtureServer
) -> None:
    server.routes["arxiv-mirror.example.org/api/query"] = atom("arxiv-query.atom")
    server.routes["crossref-mirror.example.org/v1/journals/1362-1688/works"] = work_list(
        works("crossref-journal-works.json")
    )
    research = make_research(
        [ARXIV_SOURCE, LTR_SOURCE],
        research={
            "arxiv_base_url": "https://arxiv-mirror.example.org/api/query",
            "crossref_base_url": "https://crossref-mirror.example.org/v1/",
        },
    )
    results = research.app.fetch()
    assert {r.name: (r.status, r.new) for r in results} == {
        "cs.CL tutoring": ("ok", 3),
        "Language Teaching Research": ("ok", 4),
    }
    assert server.hits[ARXIV_API] == server.hits[LTR_WORKS] == 0
    assert {urlsplit(url).netloc for url in research.transport.urls} == {
        "arxiv-mirror.example.org",
        "crossref-mirror.example.org",
    }


# -- pacing ----------------------------------------------------------------------------------


@dataclass
class FakeTime:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_arxiv_requests_of_one_run_keep_one_pace(
    make_research: MakeResearch, server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """feedbot/sources/arxiv.py: "one request every research.arxiv_interval_seconds shared with
    the citation lookups of the same run". A run that searches arXiv for a source, then looks up
    a shared arXiv link, waits the interval between the two. Time is fake: the clock moves only
    when the client sleeps."""
    fake = FakeTime()
    original = ScholarlyClient.__init__

    def faked(
        self: ScholarlyClient, http: HttpClient, settings: ResearchSettings, **_: Any
    ) -> None:
        original(self, http, settings, clock=fake.clock, sleep=fake.sleep)

    monkeypatch.setattr(ScholarlyClient, "__init__", faked)
    server.routes[ARXIV_API] = atom("arxiv-query.atom")
    server.routes["/links.xml"] = Route(
        body=b'<?xml version="1.0"?><rss version="2.0"><channel><title>Links</title><item>'
        b"<title>A preprint</title><link>https://arxiv.org/abs/2401.01234</link><guid>p1</guid>"
        b"</item></channel></rss>"
    )
    sources = [ARXIV_SOURCE, {"name": "Links", "url": server.url("/links.xml")}]
    research = make_research(sources, research={"arxiv_interval_seconds": 3})
    research.app.fetch()
    kinds = [
        "id_list" if "id_list" in q else "search" for q in research.transport.queries(ARXIV_API)
    ]
    assert kinds == ["search", "id_list"]
    assert fake.sleeps == [3.0]


# -- settings ------------------------------------------------------------------------------


def source_settings(source: dict[str, Any]) -> Settings:
    return settings_from_dict({"sources": [{"name": "S"} | source]})


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ({"kind": "arxiv", "categories": ["cs.CL"], "issn": "1362-1688"},
         "sources[0].issn: unknown setting for an 'arxiv' source"),
        ({"kind": "crossref", "issn": "1362-1688", "categories": ["cs.CL"]},
         "sources[0].categories: unknown setting for a 'crossref' source"),
        ({"url": "https://example.org/feed.xml", "query": "tutoring"},
         "sources[0].query: unknown setting for a 'feed' source"),
        ({"kind": "arxiv", "categories": ["Computation and Language"]},
         "sources[0].categories: not an arXiv category: 'Computation and Language' (e.g. 'cs.AI')"),
        ({"kind": "arxiv", "categories": "cs.CL"}, "sources[0].categories: Input should be a valid list"),
        ({"kind": "arxiv", "query": "   "}, "sources[0]: give categories, a query, or both"),
        ({"kind": "crossref", "issn": "1362-168"},
         "sources[0].issn: not an ISSN: '1362-168' (e.g. '1362-1688')"),
        ({"kind": "crossref"}, "sources[0]: give an issn, a query, or both"),
        ({"kind": "crossref", "query": "x", "max_results": 0},
         "sources[0].max_results: Input should be greater than or equal to 1"),
        ({"kind": "feed"}, "sources[0].url: required for a 'feed' source"),
    ],
)  # fmt: skip
def test_kind_settings_are_validated(source: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError) as raised:
        source_settings(source)
    assert str(raised.value) == f"config: {error}"


def test_an_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as raised:
        source_settings({"kind": "rss", "url": "https://example.org/feed.xml"})
    message = str(raised.value)
    head = "config: sources[0].kind: unknown source kind 'rss'; known kinds are "
    assert message.startswith(head)
    assert message.removeprefix(head).split(", ") == list(registry())
    assert {"feed", "arxiv", "crossref"} <= set(registry())


@pytest.mark.parametrize(
    ("issn", "normalized"),
    [("13621688", "1362-1688"), ("1362-1688", "1362-1688"), (" 1477-095x ", "1477-095X")],
)
def test_issn_is_normalized(issn: str, normalized: str) -> None:
    [source] = source_settings({"kind": "crossref", "issn": issn}).sources
    assert source.options == {
        "issn": normalized,
        "query": None,
        "max_results": 200,
        "first_days": 30,
    }
    assert source.location == f"https://api.crossref.org/journals/{normalized}/works"


@pytest.mark.parametrize(
    ("options", "search_query"),
    [
        ({"categories": ["cs.CL"], "query": "tutoring"}, "(cat:cs.CL) AND (all:tutoring)"),
        ({"categories": ["cs.CL", "cs.CY", "astro-ph.GA", "math"]},
         "(cat:cs.CL OR cat:cs.CY OR cat:astro-ph.GA OR cat:math)"),
        ({"query": "  intelligent   tutoring "}, "(all:intelligent AND all:tutoring)"),
        ({"categories": ["cs.AI"], "query": 'ti:tutoring OR abs:"language learning"'},
         '(cat:cs.AI) AND (ti:tutoring OR abs:"language learning")'),
    ],
)  # fmt: skip
def test_arxiv_search_query(options: dict[str, Any], search_query: str) -> None:
    assert ArxivOptions.model_validate(options).search_query() == search_query


def test_arxiv_query_of_the_documented_example() -> None:
    """The example of feedbot/sources/arxiv.py's docstring: an OR and a quoted phrase, without
    field prefixes. Split into ``all:`` words, it asks arXiv for ``all:OR`` and an unbalanced
    ``all:"language``; the phrase must stay one term and OR stay the operator."""
    options = ArxivOptions.model_validate(
        {"categories": ["cs.CL", "cs.CY"], "query": 'tutoring OR "language learning"'}
    )
    assert options.search_query() == (
        '(cat:cs.CL OR cat:cs.CY) AND (all:tutoring OR all:"language learning")'
    )


def test_kinds_without_url_build_their_location(tmp_path: Path) -> None:
    config = tmp_path / "feedbot.toml"
    config.write_text(
        "[[sources]]\n"
        'name = "cs.CL tutoring"\nkind = "arxiv"\ncategories = ["cs.CL"]\nquery = "tutoring"\n'
        "[[sources]]\n"
        'name = "LTR"\nkind = "crossref"\nissn = "13621688"\n'
        "[[sources]]\n"
        'name = "Mirror"\nkind = "arxiv"\ncategories = ["cs.CL"]\n'
        'url = "https://arxiv-mirror.example.org/api/query"\n'
        "[[sources]]\n"
        'name = "Blog"\nurl = "https://blog.example.org/feed.xml"\n',
        encoding="utf-8",
    )
    arxiv, crossref, mirror, blog = load_settings(config).sources
    assert arxiv.location == (
        "https://export.arxiv.org/api/query?search_query=%28cat%3Acs.CL%29%20AND%20%28all%3Atutoring%29"
    )
    assert arxiv.options == {"categories": ["cs.CL"], "query": "tutoring", "max_results": 200}
    assert crossref.location == "https://api.crossref.org/journals/1362-1688/works"
    assert mirror.location == "https://arxiv-mirror.example.org/api/query"
    assert (blog.kind, blog.location, blog.options) == (
        "feed",
        "https://blog.example.org/feed.xml",
        {},
    )
    assert {"feed", "arxiv", "crossref"} <= set(registry())


def test_options_are_stored_and_a_changed_option_resets_the_cursor(
    make_settings: Callable[..., Settings], any_database_url: str, clock: Clock
) -> None:
    def configured(**changes: Any) -> Settings:
        arxiv = ARXIV_SOURCE | changes
        return make_settings([arxiv, LTR_SOURCE], database_url=any_database_url)

    app = open_app(configured(), clock=clock)
    store = app.store
    arxiv, crossref = store.active_sources()
    assert (arxiv.kind, arxiv.url, arxiv.cursor) == (
        "arxiv",
        configured().sources[0].location,
        None,
    )
    assert arxiv.options == {"categories": ["cs.CL"], "query": "tutoring", "max_results": 200}
    assert crossref.options == {
        "issn": "1362-1688",
        "query": None,
        "max_results": 200,
        "first_days": 30,
    }
    now = clock()
    for source, cursor in ((arxiv, "2026-11-20T17:30:00Z"), (crossref, "2026-11-20T08:15:00Z")):
        store.save_outcome(source.id, FetchOutcome("ok", 200, cursor=cursor), now, now)

    def cursors() -> dict[str, str | None]:
        return {source.name: source.cursor for source in store.active_sources()}

    assert cursors() == {"cs.CL tutoring": "2026-11-20T17:30:00Z",
                         "Language Teaching Research": "2026-11-20T08:15:00Z"}  # fmt: skip
    # A successful fetch without a new cursor keeps the old one.
    store.save_outcome(arxiv.id, FetchOutcome("ok", 200), now, now)
    assert cursors()["cs.CL tutoring"] == "2026-11-20T17:30:00Z"

    store.sync_sources(configured().sources, now)  # the same config
    store.sync_sources(configured(topics=["ai"]).sources, now)  # topics are not what was fetched
    assert cursors()["cs.CL tutoring"] == "2026-11-20T17:30:00Z"

    store.sync_sources(configured(max_results=50).sources, now)  # same URL, other options
    assert cursors() == {"cs.CL tutoring": None,
                         "Language Teaching Research": "2026-11-20T08:15:00Z"}  # fmt: skip
    [arxiv, _] = store.active_sources()
    assert arxiv.options == {"categories": ["cs.CL"], "query": "tutoring", "max_results": 50}

    store.save_outcome(arxiv.id, FetchOutcome("ok", 200, cursor="2026-11-22T09:00:00Z"), now, now)
    store.sync_sources(configured(max_results=50, query="feedback").sources, now)
    [arxiv, _] = store.active_sources()
    assert arxiv.cursor is None
    assert arxiv.url.endswith("%28cat%3Acs.CL%29%20AND%20%28all%3Afeedback%29")
