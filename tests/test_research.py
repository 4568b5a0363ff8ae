"""Papers end to end: DOIs and arXiv ids found in links and in posts' text, each paper one item
under its identity URL with its citation from (local servers speaking) doi.org, Crossref and the
arXiv API; citation texts whose DOI is recovered by a Crossref search; failed lookups retried
with backoff on the App's clock; a preprint and its published version linked both ways."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from html import escape
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from feedbot.app import App, open_app
from feedbot.cli import cli
from feedbot.config import Settings
from feedbot.export import item_record
from feedbot.fixture_server import FixtureServer, LoopbackTransport, Route
from feedbot.records import Item
from feedbot.store import links_t
from tests.conftest import Clock

DOI = "10.1177/1362168811431377"
CSL = {
    "type": "article-journal",
    "DOI": DOI,
    "title": "Input-based tasks and the acquisition of vocabulary and grammar: "
    "A process-product study",
    "author": [{"family": "Shintani", "given": "Natsuko"}],
    "container-title": "Language Teaching Research",
    "volume": "16",
    "issue": "2",
    "page": "253-279",
    "issued": {"date-parts": [[2012, 4]]},
    "publisher": "SAGE Publications",
}
ARXIV = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <title>arXiv Query</title><id>http://arxiv.org/api/x</id><updated>2024-01-05T00:00:00Z</updated>
  <entry>
    <id>http://arxiv.org/abs/2401.01234v2</id>
    <updated>2024-01-05T00:00:00Z</updated><published>2024-01-02T00:00:00Z</published>
    <title>Long-Horizon Agents Fail Quietly</title>
    <summary>We audit tool-use errors.</summary>
    <author><name>Ada Lovelace</name></author>
    <link href="http://arxiv.org/abs/2401.01234v2" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/2401.01234v2" rel="related" type="application/pdf"/>
    <arxiv:primary_category term="cs.AI" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>
"""


def rss(*links: str) -> bytes:
    items = "".join(
        f"<item><title>Post {i}</title><link>{link}</link><guid>g{i}</guid>"
        f"<pubDate>Sun, 22 Nov 2026 10:00:00 GMT</pubDate></item>"
        for i, link in enumerate(links)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def test_every_form_of_a_paper_is_one_item_with_its_citation(
    server: FixtureServer, make_settings: Callable[..., Settings], database_url: str, clock: Any
) -> None:
    publisher = "https://journals.sagepub.com/doi/full/" + DOI
    server.routes["/a.xml"] = Route(
        body=rss(f"https://doi.org/{DOI}", "https://arxiv.org/abs/2401.01234v1")
    )
    server.routes["/b.xml"] = Route(body=rss(publisher, "https://arxiv.org/pdf/2401.01234v2"))
    server.routes["doi.org/" + DOI] = Route(
        body=json.dumps(CSL).encode(), content_type="application/vnd.citationstyles.csl+json"
    )
    server.routes["export.arxiv.org/api/query"] = Route(
        body=ARXIV.encode(), content_type="application/atom+xml"
    )
    settings = make_settings(
        [{"name": "A", "url": server.url("/a.xml")}, {"name": "B", "url": server.url("/b.xml")}],
        database_url=database_url,
        research={"resolve": True, "arxiv_interval_seconds": 0},
    )
    app = open_app(settings, clock=clock, transport=LoopbackTransport(server))
    app.fetch()

    items = {item.url: item for item in app.items()}
    assert set(items) == {f"https://doi.org/{DOI}", "https://arxiv.org/abs/2401.01234"}
    paper = items[f"https://doi.org/{DOI}"]
    assert (paper.doi, paper.shared_by, paper.title) == (DOI, 2, CSL["title"])
    assert paper.citation_text == (
        "Shintani, N. (2012). Input-based tasks and the acquisition of vocabulary and grammar: "
        "A process-product study. Language Teaching Research, 16(2), 253–279."
    )
    preprint = items["https://arxiv.org/abs/2401.01234"]
    assert (preprint.arxiv_id, preprint.shared_by) == ("2401.01234", 2)
    assert preprint.citation_text == (
        "Lovelace, A. (2024). Long-Horizon Agents Fail Quietly. arXiv:2401.01234."
    )
    assert server.hits["export.arxiv.org/api/query"] == 1  # both ids' versions: one lookup

    record = item_record(paper)
    assert (record["doi"], record["year"], record["container"], record["pages"]) == (
        DOI,
        2012,
        "Language Teaching Research",
        "253-279",
    )
    assert record["authors"] == ["Shintani, Natsuko"]

    report = app.build()
    papers_page = (report.out_dir / "papers.html").read_text()
    assert f'href="https://doi.org/{DOI}"' in papers_page
    assert "Language Teaching Research, 16(2), 253–279." in papers_page

    hits = dict(server.hits)
    app.fetch()  # nothing new: no lookup again, nothing duplicated
    assert server.hits["doi.org/" + DOI] == hits["doi.org/" + DOI]
    assert len(app.items()) == 2


# -- harness for the tests below -------------------------------------------------------------

RESEARCH_DATA = Path(__file__).resolve().parent / "data" / "research"
PROFILE = "https://mastodon.social/@someone"
SEARCH = "api.crossref.org/works"
PAPER = f"https://doi.org/{DOI}"


def mastodon_rss(*posts: tuple[str, str]) -> bytes:
    """A Mastodon account's RSS as Mastodon serves it: items without titles, linking the status
    permalink, the post's HTML escaped in the description. ``posts`` are (status id, text); a
    blank line in the text starts a new paragraph."""

    def html(text: str) -> str:
        return "".join(f"<p>{escape(part, quote=False)}</p>" for part in text.split("\n\n"))

    items = "".join(
        f'<item><guid isPermaLink="true">{PROFILE}/{status}</guid><link>{PROFILE}/{status}</link>'
        f"<pubDate>Sun, 22 Nov 2026 10:00:00 GMT</pubDate>"
        f"<description>{escape(html(text))}</description></item>"
        for status, text in posts
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Someone</title>'
        f"<link>{PROFILE}</link><description>Public posts from @someone@mastodon.social"
        f"</description>{items}</channel></rss>"
    ).encode()


def research_app(
    server: FixtureServer,
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: Clock,
    sources: list[dict[str, Any]],
    **research: Any,
) -> App:
    settings = make_settings(
        sources,
        database_url=database_url,
        research={"resolve": True, "arxiv_interval_seconds": 0} | research,
    )
    return open_app(settings, clock=clock, transport=LoopbackTransport(server))


def by_url(app: App) -> dict[str, Item]:
    return {item.url: item for item in app.items()}


def paper_state(app: App, url: str) -> tuple[str | None, str | None, int]:
    """(paper_state, paper_note, paper_attempts) of the link at ``url``."""
    query = select(links_t.c.paper_state, links_t.c.paper_note, links_t.c.paper_attempts)
    with app.store.engine.connect() as conn:
        row = conn.execute(query.where(links_t.c.url == url)).one()
    return row.paper_state, row.paper_note, row.paper_attempts


def cli_stdout(app: App, tmp_path: Path, *args: str) -> str:
    """``feedbot ARGS`` on the App's database, as the click runner sees it."""
    config = tmp_path / "cli.toml"
    config.write_text(f'database_url = "{app.settings.database_url}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def csl_route(csl: dict[str, Any]) -> Route:
    return Route(
        body=json.dumps(csl).encode(), content_type="application/vnd.citationstyles.csl+json"
    )


def crossref_search(*items: dict[str, Any]) -> Route:
    """A ``/works?query.bibliographic=`` answer listing ``items``."""
    answer = json.loads((RESEARCH_DATA / "crossref-shintani-search.json").read_text("utf-8"))
    answer["message"]["items"] = list(items)
    answer["message"]["total-results"] = len(items)
    return Route(body=json.dumps(answer).encode(), content_type="application/json")


def search_items() -> tuple[dict[str, Any], dict[str, Any]]:
    """The recorded search's candidates: the right work, then a decoy of the same journal whose
    DOI starts the same (10.1177/136216…) but whose title differs."""
    answer = json.loads((RESEARCH_DATA / "crossref-shintani-search.json").read_text("utf-8"))
    right, decoy = answer["message"]["items"]
    assert (right["DOI"], decoy["DOI"]) == (DOI, "10.1177/1362168812436922")
    return right, decoy


def recorded(corpora: Path, name: str) -> Route:
    """A recorded doi.org / Crossref answer from corpora/doi-arxiv/habanero-crossref."""
    data = json.loads(
        (corpora / "doi-arxiv" / "habanero-crossref" / f"{name}.json").read_text("utf-8")
    )
    response = data["interactions"][0]["response"]
    body = response["body"]
    return Route(
        body=body.encode() if isinstance(body, str) else json.dumps(body).encode(),
        status=response["status"]["code"],
        content_type=(response.get("content_type") or ["application/json"])[0],
        conditional=False,
    )


DOI_ORG_404 = (
    "test-content_negotation__test_content_negotiation_raises_an_http_error_with_bad_requests"
)
CROSSREF_404 = "test-works__test_works_bad_id_warn"
SHINTANI_CITATION = (
    "Shintani, N. (2012). Input-based tasks and the acquisition of vocabulary and grammar: "
    "A process-product study. Language Teaching Research, 16(2), 253–279."
)


# -- DOIs and arXiv ids written in posts -----------------------------------------------------


def test_dois_and_arxiv_ids_in_a_posts_text_are_papers_it_shares(
    server: FixtureServer, make_settings: Callable[..., Settings], database_url: str, clock: Clock
) -> None:
    with_ids = (
        "Two papers for Friday's reading group: doi:10.1234/abcd.5678 and arXiv:2401.01234v2."
    )
    look_alike = (
        "Upgraded to version 10.12 of the app. Also 2401.01234 without arXiv prefix, and "
        "2401.01234v2 alone; see 10.1234 for details."
    )
    server.routes["/@someone.rss"] = Route(
        body=mastodon_rss(("113456789012345678", with_ids), ("113456789012345679", look_alike))
    )
    server.routes["doi.org/10.1234/abcd.5678"] = csl_route(
        {
            "type": "article-journal",
            "DOI": "10.1234/abcd.5678",
            "title": "Reading groups and retention",
            "author": [{"family": "Ngata", "given": "Aroha"}],
            "container-title": "Journal of Examples",
            "issued": {"date-parts": [[2025, 6]]},
        }
    )
    server.routes["export.arxiv.org/api/query"] = Route(
        body=ARXIV.encode(), content_type="application/atom+xml"
    )
    sources = [{"name": "Someone", "url": server.url("/@someone.rss")}]
    app = research_app(server, make_settings, database_url, clock, sources)
    app.fetch()

    items = by_url(app)
    doi_url, arxiv_url = "https://doi.org/10.1234/abcd.5678", "https://arxiv.org/abs/2401.01234"
    # The post with identifiers shares the two papers (not itself); the other is its own item.
    assert set(items) == {doi_url, arxiv_url, f"{PROFILE}/113456789012345679"}
    for url in (doi_url, arxiv_url):
        assert [(m.url, m.shared_url) for m in items[url].mentions] == [
            (f"{PROFILE}/113456789012345678", url)
        ]
    assert items[doi_url].doi == "10.1234/abcd.5678"
    assert items[doi_url].citation_text == (
        "Ngata, A. (2025). Reading groups and retention. Journal of Examples."
    )
    assert (items[arxiv_url].arxiv_id, items[arxiv_url].title) == (
        "2401.01234",
        "Long-Horizon Agents Fail Quietly",
    )
    other = items[f"{PROFILE}/113456789012345679"]
    assert (other.doi, other.arxiv_id, other.citation) == (None, None, None)
    assert app.store.references() == []
    assert server.hits["doi.org/10.1234/abcd.5678"] == 1
    assert server.hits["export.arxiv.org/api/query"] == 1


# -- citation texts whose DOI is recovered ---------------------------------------------------


@pytest.fixture
def shintani(samples: Path) -> str:
    """The pasted reference of the sample timeline, its DOI cut short: doi.org/10.1177/136216…"""
    text = (samples / "x-timeline-pasted.txt").read_text(encoding="utf-8")
    [line] = [line.strip() for line in text.splitlines() if line.startswith("Shintani")]
    assert line.endswith("doi.org/10.1177/136216…")
    return line


SHINTANI_POST = f"{PROFILE}/113500000000000001"


def reference_app(
    server: FixtureServer,
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: Clock,
    shintani: str,
    **research: Any,
) -> App:
    server.routes["/@someone.rss"] = Route(body=mastodon_rss(("113500000000000001", shintani)))
    sources = [{"name": "Someone", "url": server.url("/@someone.rss")}]
    return research_app(server, make_settings, database_url, clock, sources, **research)


def test_a_citation_text_in_a_post_recovers_its_doi(
    server: FixtureServer,
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: Clock,
    shintani: str,
    tmp_path: Path,
) -> None:
    server.routes[SEARCH] = crossref_search(*search_items())
    app = reference_app(server, make_settings, database_url, clock, shintani)
    app.fetch()

    items = by_url(app)
    paper = items[PAPER]
    assert (paper.doi, paper.title, paper.citation_text) == (DOI, CSL["title"], SHINTANI_CITATION)
    assert [(m.source.name, m.url, m.shared_url) for m in paper.mentions] == [
        ("Someone", SHINTANI_POST, PAPER)
    ]
    assert "https://doi.org/10.1177/1362168812436922" not in items  # the decoy
    note = (
        "recovered 10.1177/1362168811431377 "
        "(title 1.00, year, author, prefix, journal, volume, issue, pages)"
    )
    assert app.store.references() == [(shintani, "recovered", DOI, note)]
    assert server.hits[SEARCH] == 1
    assert server.hits[f"doi.org/{DOI}"] == 0  # the search answered with the citation

    app.fetch()  # nothing new: no search again, the item still shared once
    assert server.hits[SEARCH] == 1
    assert by_url(app)[PAPER].mention_count == 1

    [line] = cli_stdout(app, tmp_path, "references", "--json").splitlines()
    assert json.loads(line) == {"text": shintani, "state": "recovered", "doi": DOI, "note": note}


def test_a_pasted_reference_stops_being_an_item_of_its_own_once_recovered(
    server: FixtureServer,
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: Clock,
    samples: Path,
) -> None:
    """A pasted X post has no web address: until its reference is recovered it is an item of
    its own text; then it is a mention of the paper, and its own item goes."""
    from feedbot.sources import FetchOutcome
    from feedbot.sources.xpaste import paste_entries, read_paste

    server.routes[SEARCH] = crossref_search(*search_items())
    source = {"name": "Mark on X", "kind": "x-paste", "account": "@mandercorn"}
    app = research_app(server, make_settings, database_url, clock, [source])
    timeline = read_paste(samples / "x-timeline-pasted.txt", clock())
    [post] = [e for e in paste_entries(timeline, "@mandercorn") if e.title.startswith("Shintani")]
    [state] = app.store.active_sources()
    app.store.save_outcome(state.id, FetchOutcome(status="ok", entries=(post,)), clock(), clock())
    [own] = app.items()
    assert own.is_post and own.href is None and own.title.startswith("Shintani, N. (2012).")

    app.research()
    [paper] = app.items()
    assert (paper.url, paper.doi) == (PAPER, DOI)
    assert [(m.source.name, m.url) for m in paper.mentions] == [("Mark on X", None)]


def test_an_edited_post_still_shares_the_paper_its_citation_text_recovered(
    server: FixtureServer,
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: Clock,
    shintani: str,
) -> None:
    """Mastodon posts get edited. An edit elsewhere in the post leaves its citation text, hence
    its reference row (recovered, never searched again), as it was: the paper it recovered must
    stay shared by the post. The reference here gives no DOI at all, so no truncated link can
    bring the paper back either."""
    reference = shintani.removesuffix(" doi.org/10.1177/136216…")
    server.routes[SEARCH] = crossref_search(*search_items())
    app = reference_app(server, make_settings, database_url, clock, reference)
    server.routes["/@someone.rss"] = Route(
        body=mastodon_rss(
            ("113500000000000001", f"Great read for the reading group:\n\n{reference}")
        )
    )
    app.fetch()
    assert [(text, state) for text, state, _, _ in app.store.references()] == [
        (reference, "recovered")
    ]
    assert [m.url for m in by_url(app)[PAPER].mentions] == [SHINTANI_POST]

    edited = f"Great read for the reading group (thanks, Ana!):\n\n{reference}"
    server.routes["/@someone.rss"] = Route(body=mastodon_rss(("113500000000000001", edited)))
    clock.now += timedelta(hours=1)
    [result] = app.fetch()
    assert (result.new, result.updated) == (0, 1)
    assert [(text, state) for text, state, _, _ in app.store.references()] == [
        (reference, "recovered")
    ]
    assert server.hits[SEARCH] == 1
    items = by_url(app)
    assert PAPER in items, "the recovered paper lost the post that shared it"
    assert [m.url for m in items[PAPER].mentions] == [SHINTANI_POST]


def _ambiguous() -> list[dict[str, Any]]:
    right, _ = search_items()
    return [right, right | {"DOI": "10.1177/1362168812436922"}]


def _inconsistent() -> list[dict[str, Any]]:
    right, decoy = search_items()
    wrong = right | {
        "issued": {"date-parts": [[2015, 1, 9]]},
        "published": {"date-parts": [[2015, 1, 9]]},
        "published-print": {"date-parts": [[2015, 2]]},
        "author": [{"given": "Rod", "family": "Ellis", "sequence": "first"}],
    }
    return [wrong, decoy]


@pytest.mark.parametrize(
    ("candidates", "note"),
    [
        (_ambiguous,
         "unresolved: two candidates are equally consistent "
         "(10.1177/1362168811431377, 10.1177/1362168812436922)"),
        (_inconsistent,
         "unresolved: no candidate consistent with the reference (best: "
         "10.1177/1362168811431377: year 2015 differs from 2012; first author Ellis differs "
         "from Shintani)"),
    ],
    ids=["ambiguous", "inconsistent"],
)  # fmt: skip
def test_a_citation_text_without_a_single_consistent_candidate_stays_unresolved(
    server: FixtureServer,
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: Clock,
    shintani: str,
    candidates: Callable[[], list[dict[str, Any]]],
    note: str,
) -> None:
    server.routes[SEARCH] = crossref_search(*candidates())
    app = reference_app(server, make_settings, database_url, clock, shintani)
    app.fetch()
    assert app.store.references() == [(shintani, "unresolved", None, note)]
    assert set(by_url(app)) == {SHINTANI_POST}  # the post itself; no paper, never a wrong DOI
    clock.now += timedelta(days=30)
    app.research()  # unresolved is an answer, not a failure: not asked again
    assert server.hits[SEARCH] == 1


def test_a_failed_search_is_retried_after_backoff_then_recovers(
    server: FixtureServer,
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: Clock,
    shintani: str,
) -> None:
    server.routes[SEARCH] = Route(status=500, body=b"", content_type="text/plain")
    app = reference_app(
        server, make_settings, database_url, clock, shintani, retry_hours=1, max_attempts=3
    )
    app.fetch()
    failed = "unresolved: search failed (FetchError: crossref: HTTP 500 Internal Server Error)"
    assert app.store.references() == [(shintani, "error", None, failed)]
    assert server.hits[SEARCH] == 1

    app.research()  # an immediate re-run waits for the backoff
    clock.now += timedelta(minutes=59)
    app.research()
    assert server.hits[SEARCH] == 1
    clock.now += timedelta(minutes=1)  # retry_hours after the first failure
    app.research()
    assert server.hits[SEARCH] == 2
    assert app.store.references() == [(shintani, "error", None, failed)]

    server.routes[SEARCH] = crossref_search(*search_items())  # Crossref is back
    clock.now += timedelta(hours=1, minutes=59)  # the second wait is twice as long
    app.research()
    assert server.hits[SEARCH] == 2
    clock.now += timedelta(minutes=1)
    report = app.research()
    assert (report.recovered, report.unresolved) == (1, 0)
    assert server.hits[SEARCH] == 3
    [(_, state, doi, _)] = app.store.references()
    assert (state, doi) == ("recovered", DOI)
    assert by_url(app)[PAPER].citation_text == SHINTANI_CITATION


def test_a_failing_search_is_asked_max_attempts_times_at_most(
    server: FixtureServer,
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: Clock,
    shintani: str,
) -> None:
    server.routes[SEARCH] = Route(status=500, body=b"", content_type="text/plain")
    app = reference_app(
        server, make_settings, database_url, clock, shintani, retry_hours=1, max_attempts=2
    )
    app.fetch()
    for hours in (1, 100, 10_000):
        clock.now += timedelta(hours=hours)
        app.research()
    assert server.hits[SEARCH] == 2
    [(_, state, doi, _)] = app.store.references()
    assert (state, doi) == ("error", None)


# -- failed lookups --------------------------------------------------------------------------


def test_doi_lookup_failures_are_recorded_and_errors_retried_after_backoff(
    server: FixtureServer,
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: Clock,
    corpora: Path,
) -> None:
    missing, flaky = "10.5555/missing.1", "10.5555/flaky.2"
    server.routes["/a.xml"] = Route(
        body=rss(f"https://doi.org/{missing}", f"https://doi.org/{flaky}")
    )
    server.routes[f"doi.org/{missing}"] = recorded(corpora, DOI_ORG_404)
    server.routes["api.crossref.org/works/10.5555%2Fmissing.1"] = recorded(corpora, CROSSREF_404)
    # A registration agency without content negotiation lands on a web page; Crossref is down.
    server.routes[f"doi.org/{flaky}"] = Route(
        body=b"<!doctype html><title>Article</title>", content_type="text/html"
    )
    server.routes["api.crossref.org/works/10.5555%2Fflaky.2"] = Route(
        status=500, body=b"", content_type="text/plain"
    )
    sources = [{"name": "A", "url": server.url("/a.xml")}]
    app = research_app(server, make_settings, database_url, clock, sources, retry_hours=1)
    app.fetch()

    assert paper_state(app, f"https://doi.org/{missing}") == (
        "not_found",
        "doi.org: HTTP 404; crossref: HTTP 404",
        1,
    )
    flaky_error = (
        "doi.org: the answer is not valid JSON (text/html); "
        "crossref: HTTP 500 Internal Server Error"
    )
    assert paper_state(app, f"https://doi.org/{flaky}") == ("error", flaky_error, 1)
    assert by_url(app)[f"https://doi.org/{flaky}"].citation is None
    asked = {path: server.hits[path] for path in list(server.hits) if "10.5555" in path}
    assert set(asked.values()) == {1}

    app.research()  # not on an immediate re-run
    assert {path: server.hits[path] for path in asked} == asked
    clock.now += timedelta(hours=1)
    app.research()  # the error is due again; not_found never is
    assert server.hits[f"doi.org/{flaky}"] == 2
    assert server.hits[f"doi.org/{missing}"] == 1
    assert paper_state(app, f"https://doi.org/{flaky}") == ("error", flaky_error, 2)

    server.routes[f"doi.org/{flaky}"] = csl_route(CSL | {"DOI": flaky, "title": "Fixed at last"})
    clock.now += timedelta(hours=2)
    report = app.research()
    assert (report.cited, report.failed) == (1, 0)
    assert paper_state(app, f"https://doi.org/{flaky}") == ("ok", None, 3)
    item = by_url(app)[f"https://doi.org/{flaky}"]
    assert (item.title, item.doi) == ("Fixed at last", flaky)
    clock.now += timedelta(days=365)
    app.research()
    assert server.hits[f"doi.org/{missing}"] == 1
    assert server.hits[f"doi.org/{flaky}"] == 3


def test_a_lookup_timeout_is_an_error_and_the_run_goes_on(
    server: FixtureServer,
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: Clock,
    corpora: Path,
) -> None:
    slow = "10.5555/slow.3"
    server.routes["/a.xml"] = Route(body=rss(f"https://doi.org/{slow}", PAPER))
    server.routes[f"doi.org/{slow}"] = Route(body=b"{}", content_type="application/json", delay=1.5)
    server.routes["api.crossref.org/works/10.5555%2Fslow.3"] = recorded(corpora, CROSSREF_404)
    server.routes[f"doi.org/{DOI}"] = csl_route(CSL)
    settings = make_settings(
        [{"name": "A", "url": server.url("/a.xml")}],
        database_url=database_url,
        http={"timeout_seconds": 0.5, "retries": 0},
        research={"resolve": True},
    )
    app = open_app(settings, clock=clock, transport=LoopbackTransport(server))
    [result] = app.fetch()
    assert result.status == "ok"
    assert paper_state(app, f"https://doi.org/{slow}") == (
        "error",
        "doi.org: timed out after 0.5s; crossref: HTTP 404",
        1,
    )
    assert paper_state(app, PAPER)[0] == "ok"
    assert by_url(app)[PAPER].citation_text == SHINTANI_CITATION


# -- preprint and published version ----------------------------------------------------------


def test_a_preprint_and_its_published_version_name_each_other(
    server: FixtureServer,
    make_settings: Callable[..., Settings],
    database_url: str,
    clock: Clock,
    tmp_path: Path,
) -> None:
    preprint_url = "https://arxiv.org/abs/1109.04321"  # its arxiv:doi is the published DOI
    server.routes["export.arxiv.org/api/query"] = Route(
        body=(RESEARCH_DATA / "arxiv-query.atom").read_bytes(), content_type="application/atom+xml"
    )
    server.routes["/reading.xml"] = Route(body=rss(PAPER))
    server.routes[f"doi.org/{DOI}"] = csl_route(CSL)
    sources: list[dict[str, Any]] = [
        {"name": "cs.CL tutoring", "kind": "arxiv", "categories": ["cs.CL"], "query": "tutoring"},
        {"name": "Reading list", "url": server.url("/reading.xml")},
    ]
    app = research_app(server, make_settings, database_url, clock, sources)
    app.fetch()

    items = by_url(app)
    published, preprint = items[PAPER], items[preprint_url]
    assert published.citation_text == SHINTANI_CITATION
    assert preprint.citation is not None and preprint.citation.related_dois == (DOI,)
    assert published.versions == (preprint_url,)
    assert preprint.versions == (PAPER,)
    assert published.version_links == (("Preprint arXiv:1109.04321", preprint_url),)
    assert preprint.version_links == ((f"Published version doi:{DOI}", PAPER),)
    others = [item for url, item in items.items() if url not in (PAPER, preprint_url)]
    assert len(others) == 2 and all(item.versions == () for item in others)

    report = app.build()
    index = (report.out_dir / "index.html").read_text(encoding="utf-8")

    def card(item: Item) -> str:
        start = index.index(f'id="{item.anchor}"')
        return index[start : index.index("</article>", start)]

    assert (
        f'<p class="item-version"><a href="{preprint_url}">Preprint arXiv:1109.04321</a></p>'
        in card(published)
    )
    assert f'<p class="item-version"><a href="{PAPER}">Published version doi:{DOI}</a></p>' in card(
        preprint
    )
    assert all("item-version" not in card(item) for item in others)

    records = {
        record["url"]: record
        for record in map(json.loads, cli_stdout(app, tmp_path, "export").splitlines())
    }
    assert records[PAPER]["versions"] == [preprint_url]
    assert records[preprint_url]["versions"] == [PAPER]
    assert records[preprint_url]["arxiv_id"] == "1109.04321"
    assert all(records[item.url]["versions"] == [] for item in others)
