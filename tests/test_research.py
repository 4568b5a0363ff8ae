"""Papers end to end: DOIs and arXiv ids found in links, each paper one item under its identity
URL with its citation from (local servers speaking) doi.org and the arXiv API."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from feedbot.app import open_app
from feedbot.config import Settings
from feedbot.export import item_record
from feedbot.fixture_server import FixtureServer, LoopbackTransport, Route

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
