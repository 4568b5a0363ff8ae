"""The offline demo (the README's first command) on its bundled sources: feeds, a researcher's
Mastodon posts, an arXiv source and a Crossref source, with doi.org, Crossref and arXiv played by
the local server. What a new user sees first must work: papers with citations, a DOI recovered
from a pasted reference, a preprint linked to its published version."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from feedbot.app import open_app
from feedbot.config import load_settings
from feedbot.demo import DemoReport, run_demo
from feedbot.export import item_record

SHINTANI = "https://doi.org/10.1177/1362168811431377"
PREPRINT = "https://arxiv.org/abs/2607.01234"
PUBLISHED = "https://doi.org/10.1177/13621688261187342"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoReport:
    return run_demo(tmp_path_factory.mktemp("demo"))


def records(demo: DemoReport) -> dict[str, dict[str, object]]:
    app = open_app(load_settings(demo.config))
    try:
        return {item.url: item_record(item) for item in app.items()}
    finally:
        app.close()


def test_every_demo_source_is_fetched(demo: DemoReport) -> None:
    assert {r.name: r.status for r in demo.results} == {
        "Education Weekly": "ok",
        "AI Research Notes": "ok",
        "Law & Policy Brief": "ok",
        "Curator's Picks": "ok",
        "@l2research@scholar.social": "ok",
        "arXiv: tutoring (cs.CL)": "ok",
        "Language Teaching Research": "ok",
    }, [r.error for r in demo.results]
    assert demo.digest is not None and demo.digest.exists()


def test_the_pasted_reference_becomes_its_paper(demo: DemoReport) -> None:
    shintani = records(demo)[SHINTANI]
    assert shintani["citation"] == (
        "Shintani, N. (2012). Input-based tasks and the acquisition of vocabulary and grammar: "
        "A process-product study. Language Teaching Research, 16(2), 253–279."
    )
    assert shintani["sources"] == ["@l2research@scholar.social"]
    # The post that only cited it is a mention of the paper, not an item of its own.
    assert not any("scholar.social/@l2research/1135400" in url for url in records(demo))


def test_papers_from_feeds_sources_and_posts_carry_citations(demo: DemoReport) -> None:
    found = records(demo)
    papers = {url: r for url, r in found.items() if r["doi"] or r["arxiv_id"]}
    assert set(papers) >= {
        SHINTANI,
        PREPRINT,
        PUBLISHED,
        "https://arxiv.org/abs/2611.04217",  # shared by a feed, listed by the arXiv source
        "https://arxiv.org/abs/2611.07731",  # only from the arXiv source
        "https://doi.org/10.1177/13621688261190015",  # only from the Crossref source
        "https://doi.org/10.1080/1475939x.2026.2419873",  # a publisher page, cited by doi.org
    }
    assert all(r["citation"] for r in papers.values()), [u for u, r in papers.items()
                                                         if not r["citation"]]  # fmt: skip
    assert set(found[PUBLISHED]["sources"]) == {"Language Teaching Research", "AI Research Notes"}


def test_the_preprint_and_its_published_version_point_at_each_other(demo: DemoReport) -> None:
    found = records(demo)
    assert found[PREPRINT]["versions"] == [PUBLISHED]
    assert found[PUBLISHED]["versions"] == [PREPRINT]
    papers = BeautifulSoup((demo.site / "papers.html").read_text(), "html.parser")
    links = {a.get_text(strip=True): a["href"] for a in papers.select(".item-version a")}
    assert links["Preprint arXiv:2607.01234"] == PREPRINT
    assert links["Published version doi:10.1177/13621688261187342"] == PUBLISHED


def test_references_command_says_what_was_recovered(demo: DemoReport) -> None:
    from click.testing import CliRunner

    from feedbot.cli import cli

    result = CliRunner().invoke(cli, ["--config", str(demo.config), "references", "--json"])
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    reference = json.loads(line)
    assert reference["state"] == "recovered"
    assert reference["doi"] == "10.1177/1362168811431377"
    assert reference["text"].startswith("Shintani, N. (2012).")


def test_the_demo_config_validates_and_lists_every_kind(demo: DemoReport) -> None:
    settings = load_settings(Path(demo.config))
    assert {source.kind for source in settings.sources} == {"feed", "arxiv", "crossref"}
