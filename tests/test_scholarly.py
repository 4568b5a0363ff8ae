"""DOIs and arXiv ids to citations: the parsers against recorded doi.org / Crossref answers
(``corpora/doi-arxiv``) and an arXiv Atom feed written after the arXiv API manual, then the client
end to end over real HTTP on loopback, with doi.org, api.crossref.org and export.arxiv.org played
by one :class:`FixtureServer` through :class:`LoopbackTransport`.

Pacing is asserted on a fake clock and sleep: no test sleeps for real except the timeout test,
whose server waits 0.4 s.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from feedbot.config import HttpSettings, ResearchSettings
from feedbot.errors import FetchError
from feedbot.fixture_server import FixtureServer, LoopbackTransport, Route
from feedbot.http import HttpClient
from feedbot.links.citation import Author, Citation
from feedbot.links.scholarly import (
    CSL_JSON,
    Lookup,
    ScholarlyClient,
    abstract_html,
    citation_from_crossref,
    citation_from_csl,
    citations_from_arxiv_atom,
    rate_limit_interval,
    split_name,
)

T = TypeVar("T")
MAILTO = "feedbot@example.org"

# -- recorded bodies ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded(corpora: Path) -> Callable[[str, int], dict[str, Any]]:
    """``recorded("test-works__test_works_with_one_id", 0)`` → that interaction's response."""
    folder = corpora / "doi-arxiv" / "habanero-crossref"

    def response(name: str, index: int = 0) -> dict[str, Any]:
        data = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        answer: dict[str, Any] = data["interactions"][index]["response"]
        return answer

    return response


@pytest.fixture(scope="module")
def fixtures(corpora: Path) -> Path:
    return corpora / "doi-arxiv" / "commonmeta" / "fixtures"


def body_of(response: dict[str, Any]) -> bytes:
    body = response["body"]
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


def replay(response: dict[str, Any], **extra: Any) -> Route:
    """A route answering as the recorded response did: status, content type and body."""
    content_type = (response.get("content_type") or ["application/json"])[0]
    return Route(
        body=body_of(response),
        status=response["status"]["code"],
        content_type=content_type,
        conditional=False,
        **extra,
    )


# -- CSL-JSON (doi.org content negotiation) ---------------------------------------------------------


def test_csl_from_crossref_content_negotiation(recorded: Any) -> None:
    csl = recorded("test-content_negotation__test_content_negotiation_citeproc_json", 1)["body"]
    citation = citation_from_csl(csl)
    assert citation.title == "The Structure of Ordinary Water"
    assert citation.doi == "10.1126/science.169.3946.635"
    assert citation.authors == (Author(family="Frank", given="Henry S."),)
    assert (citation.year, citation.month, citation.day) == (1970, 8, 14)
    assert citation.container == "Science"
    assert (citation.volume, citation.issue, citation.pages) == ("169", "3946", "635-641")
    assert citation.publisher == "American Association for the Advancement of Science (AAAS)"
    assert citation.type == "article-journal"  # Crossref's CSL says "journal-article"
    assert citation.abstract is not None
    assert citation.abstract.startswith("<p>The train of thought pursued in this article")
    assert "jats" not in citation.abstract
    # A similarity-checking link without an open licence is not open access.
    assert citation.open_access_url is None
    assert citation.related_dois == ()
    assert citation.issns == ("0036-8075", "1095-9203")  # the journal's, for topic rules
    assert citation.url == "https://doi.org/10.1126/science.169.3946.635"


def test_csl_from_datacite(fixtures: Path) -> None:
    csl = json.loads((fixtures / "citeproc.json").read_text(encoding="utf-8"))
    assert citation_from_csl(csl) == Citation(
        title="Eating your own Dog Food",
        doi="10.5438/4k3m-nyvg",
        authors=(Author(family="Fenner", given="Martin"),),
        container="DataCite Blog",
        year=2016,
        month=12,
        day=20,
        publisher="DataCite",  # {"name": "DataCite"} in this CSL
        type="post-weblog",
        abstract="<p>Eating your own dog food is a slang term to describe that an organization "
        "should itself use the products and services it provides. For DataCite this means that "
        "we should use DOIs with appropriate metadata and strategies for long-term preservation "
        "for...</p>",
    )


@pytest.mark.parametrize("name", ["datacite.json", "crosscite.json"])
def test_csl_parser_rejects_other_json_shapes(fixtures: Path, name: str) -> None:
    """DataCite's own JSON is not CSL: its titles are a list of objects, so no title."""
    data = json.loads((fixtures / name).read_text(encoding="utf-8"))
    with pytest.raises(ValueError, match="no title"):
        citation_from_csl(data)


@pytest.mark.parametrize("value", [[], "text", 3, None])
def test_csl_parser_rejects_non_objects(value: Any) -> None:
    with pytest.raises(ValueError, match="expected a CSL-JSON object"):
        citation_from_csl(value)


def test_csl_names_particles_literal_and_raw_dates() -> None:
    citation = citation_from_csl(
        {
            "title": "On <i>Things</i> &amp; Stuff",
            "DOI": "10.5555/ABC.Def",
            "author": [
                {"family": "Beethoven", "given": "Ludwig", "non-dropping-particle": "van"},
                {"literal": "The Royal Society"},
                {"given": "Madonna"},
            ],
            "container-title": ["", "Journal of Examples"],
            "issued": {"raw": "2021-07"},
            "page": "12–19",
            "volume": 7,
            "type": "proceedings-article",
        }
    )
    assert citation.title == "On Things & Stuff"
    assert citation.doi == "10.5555/abc.def"
    assert citation.authors == (
        Author(family="van Beethoven", given="Ludwig"),
        Author(family="The Royal Society"),
        Author(family="Madonna"),
    )
    assert citation.container == "Journal of Examples"
    assert (citation.year, citation.month, citation.day) == (2021, 7, None)
    assert (citation.pages, citation.volume) == ("12-19", "7")
    assert citation.type == "paper-conference"


# -- Crossref REST API works ------------------------------------------------------------------------


def test_crossref_work_plos(recorded: Any) -> None:
    message = recorded("test-works__test_works_with_one_id")["body"]["message"]
    citation = citation_from_crossref(message)
    assert citation.title == (
        "Methylphenidate Exposure Induces Dopamine Neuron Loss and Activation of Microglia in "
        "the Basal Ganglia of Mice"
    )
    assert citation.doi == "10.1371/journal.pone.0033693"
    assert citation.authors[0] == Author(family="Sadasivan", given="Shankar")
    assert [a.family for a in citation.authors] == [
        "Sadasivan", "Pond", "Pani", "Qu", "Jiao", "Smeyne"
    ]  # fmt: skip
    assert (citation.year, citation.month, citation.day) == (2012, 3, 21)
    assert citation.container == "PLoS ONE"
    assert (citation.volume, citation.issue, citation.pages) == ("7", "3", "e33693")
    assert citation.publisher == "Public Library of Science (PLoS)"
    assert citation.type == "article-journal"
    assert citation.abstract is None
    # CC BY for every version ("unspecified") and a version-of-record link.
    assert citation.open_access_url == "http://dx.plos.org/10.1371/journal.pone.0033693"


def test_crossref_work_elife_open_access_pdf(fixtures: Path) -> None:
    message = json.loads((fixtures / "crossref.json").read_text(encoding="utf-8"))
    citation = citation_from_crossref(message)
    assert citation.title == (
        "Automated quantitative histology reveals vascular morphodynamics during Arabidopsis "
        "hypocotyl secondary growth"
    )
    assert citation.doi == "10.7554/elife.01567"
    assert citation.authors[0] == Author(family="Sankar", given="Martial")
    assert (citation.year, citation.month, citation.day) == (2014, 2, 11)
    assert (citation.container, citation.volume, citation.issue, citation.pages) == (
        "eLife", "3", None, None
    )  # fmt: skip
    # The PDF is preferred over the XML of the same version of record.
    assert citation.open_access_url == (
        "https://cdn.elifesciences.org/articles/01567/elife-01567-v1.pdf"
    )
    # "is-supplemented-by" (a Dryad dataset) is not the same work.
    assert citation.related_dois == ()
    assert citation.abstract is not None
    assert citation.abstract.startswith("<p>Among various advantages, their small size")
    assert citation.abstract.endswith("equidistant phloem pole formation.</p>")


def test_crossref_licence_not_yet_in_force_is_not_open(fixtures: Path) -> None:
    message = json.loads((fixtures / "crossref.json").read_text(encoding="utf-8"))
    assert citation_from_crossref(message, today=date(2014, 2, 10)).open_access_url is None
    assert citation_from_crossref(message, today=date(2014, 2, 11)).open_access_url is not None


def test_crossref_works_article_number_dates_and_types(recorded: Any) -> None:
    answers = [recorded("test-works__test_works_with_many_ids", i) for i in range(5)]
    rows = [citation_from_crossref(a["body"]["message"]) for a in answers]
    summary = [
        (c.doi, c.authors[0].family, c.year, c.container, c.volume, c.issue, c.pages, c.type)
        for c in rows
    ]
    assert summary == [
        ("10.1016/j.neurobiolaging.2010.03.024", "Lee", 2012, "Neurobiology of Aging", "33",
         "3", "588-602", "article-journal"),
        ("10.1002/jor.1100150407", "Lieber", 1997, "Journal of Orthopaedic Research", "15", "4",
         "519-527", "article-journal"),
        # No page: the article number stands in.
        ("10.1038/srep16696", "Tosatto", 2015, "Scientific Reports", "5", "1", "16696",
         "article-journal"),
        # issued is [[null]] and no other publication date: no year rather than a wrong one.
        ("10.1109/icdcsw.2003.1203662", "Arya", None,
         "23rd International Conference on Distributed Computing Systems Workshops, 2003. "
         "Proceedings.", None, None, "877-882", "paper-conference"),
        ("10.3892/ijo_00000353", "Stravopodis", 2009, "International Journal of Oncology", None,
         None, None, "article-journal"),
    ]  # fmt: skip
    assert rows[2].open_access_url == "https://www.nature.com/articles/srep16696.pdf"


def test_crossref_relations_and_jats_abstracts(recorded: Any) -> None:
    items = recorded("test-works__test_works_field_queries")["body"]["message"]["items"]
    by_doi = {c.doi: c for c in map(citation_from_crossref, items)}

    published = by_doi["10.1002/ece3.2314"]
    assert published.title == (
        "After the games are over: life‐history trade‐offs drive dispersal attenuation "
        "following range expansion"
    )
    assert published.related_dois == ("10.1101/014852",)  # relation has-preprint
    assert (published.year, published.month, published.day) == (2016, 8, 18)
    assert (published.volume, published.issue, published.pages) == ("6", "18", "6425-6434")
    assert published.abstract is not None
    # <jats:title>Abstract</jats:title> is dropped; <jats:p> becomes <p>.
    assert published.abstract.startswith("<p>Increased dispersal propensity often evolves")
    assert "Abstract" not in published.abstract

    preprint = by_doi["10.1101/014852"]
    assert (preprint.type, preprint.year) == ("article", 2015)  # posted-content

    treebase = by_doi["10.1111/j.2041-210x.2012.00247.x"]
    # <scp> tags stripped (Crossref's record has no spaces around them).
    assert treebase.title == (
        "Treebase: anRpackage for discovery, access and manipulation of online phylogenies"
    )
    assert treebase.authors[1] == Author(family="Temple Lang", given="Duncan")
    assert treebase.container == "Methods in Ecology and Evolution"
    assert (treebase.year, treebase.month) == (2012, 10)  # published-online before print
    assert treebase.abstract is not None
    assert treebase.abstract.startswith(
        "<ul><li><p>The TreeBASE portal is an important and rapidly growing repository"
    )
    assert "<i>programmatic</i>" in treebase.abstract
    assert (
        '<a href="http://cran.r-project.org/web/packages/treebase" '
        'rel="noopener noreferrer nofollow">'
    ) in treebase.abstract
    assert "jats" not in treebase.abstract and "Summary" not in treebase.abstract
    # Wiley's own licence is not an open one.
    assert treebase.open_access_url is None

    crab = by_doi["10.1111/1365-2664.14881"]
    assert crab.abstract is not None and "(<i>Carcinus maenas</i>)" in crab.abstract
    assert crab.open_access_url == (
        "https://besjournals.onlinelibrary.wiley.com/doi/pdf/10.1111/1365-2664.14881"
    )

    # has-review relations are not the same work.
    assert by_doi["10.1111/ele.14024"].related_dois == ()


def test_crossref_titles_with_escaped_entities(fixtures: Path) -> None:
    items = json.loads((fixtures / "crossref-list.json").read_text(encoding="utf-8"))["items"]
    titles = {c.doi: c.title for c in map(citation_from_crossref, items)}
    assert titles["10.1306/00aa9ad4-1730-11d7-8645000102c1865d"] == (
        "Abstract: Utilizing Geologic Knowledge and Technology in Mitigation of Public Policy "
        "Issues in Urban Settings through Adaptation of Risk Analysis"
    )  # "&amp;nbsp;" in the record
    assert titles["10.1002/mmnd.4800460214"].startswith(
        "Naumann, C. M., Tarmann, G. M. & W. G. Tremewan (1999)"
    )


def test_crossref_relations_read_only_same_work_dois() -> None:
    citation = citation_from_crossref(
        {
            "title": ["A preprint"],
            "DOI": "10.1101/2024.01.01.123456",
            "type": "posted-content",
            "relation": {
                "is-preprint-of": [{"id-type": "doi", "id": "10.1038/S41586-024-00001-X",
                                    "asserted-by": "subject"}],
                "is-version-of": {"id-type": "doi", "id": "10.1101/2024.01.01.123456"},
                "has-version": [{"id-type": "uri", "id": "https://example.org/v2"}],
                "references": [{"id-type": "doi", "id": "10.5555/cited"}],
            },
        }
    )  # fmt: skip
    assert citation.related_dois == ("10.1038/s41586-024-00001-x",)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"DOI": "10.5555/x"}, "no title"),
        ({"title": []}, "no title"),
        ({"title": ["<i></i>"]}, "no title"),
        ("a string", "expected a Crossref work object"),
    ],
)
def test_crossref_parser_rejects_works_without_title(message: Any, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        citation_from_crossref(message)


def test_abstract_html_from_jats_and_plain_text() -> None:
    jats = (
        "<jats:sec><jats:title>Background</jats:title><jats:p>a &amp; b<jats:sup>2</jats:sup>"
        '<jats:break/>see <jats:ext-link xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xlink:href="https://example.org/x?a=1&amp;b=2">this</jats:ext-link>'
        "<script>alert(1)</script></jats:p></jats:sec>"
    )
    assert abstract_html(jats) == (
        "<div><p><b>Background</b></p><p>a &amp; b<sup>2</sup><br>see <a "
        'href="https://example.org/x?a=1&amp;b=2" rel="noopener noreferrer nofollow">this</a>'
        "</p></div>"
    )
    assert abstract_html("Plain x < y & z.\n\n  Second\n paragraph. ") == (
        "<p>Plain x &lt; y &amp; z.</p><p>Second paragraph.</p>"
    )
    assert abstract_html("<jats:p> </jats:p>") is None
    assert abstract_html(None) is None


# -- arXiv Atom -------------------------------------------------------------------------------------

# An id_list answer shaped as in the arXiv API user manual (§3.3, §4.1): feed metadata with
# OpenSearch elements, then one entry per paper. The hep-ex entry is the manual's own example;
# 1902.02534 carries the metadata of the arXiv page in corpora/doi-arxiv/commonmeta/fixtures;
# 2401.01234 is made up (DOI prefix 10.5555 is Crossref's test prefix).
ARXIV_FEED = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query%3D%26id_list%3D2401.01234%2Chep-ex%2F0307015%2C1902.02534%2C2401.99999%26start%3D0%26max_results%3D4" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=&amp;id_list=2401.01234,hep-ex/0307015,1902.02534,2401.99999&amp;start=0&amp;max_results=4</title>
  <id>http://arxiv.org/api/cHxbiOdZaP56ODnBPIenZhzg5f8</id>
  <updated>2024-02-01T00:00:00-05:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">3</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">4</opensearch:itemsPerPage>
  <entry>
    <id>http://arxiv.org/abs/2401.01234v2</id>
    <updated>2024-01-20T09:12:44Z</updated>
    <published>2024-01-02T18:00:00Z</published>
    <title>Input-based tasks and vocabulary learning:
  a process-product   replication</title>
    <summary>  We replicate an input-based task study with 120 learners. Gains were larger
after input-based tasks (p &lt; 0.05) than after production-based ones.
</summary>
    <author>
      <name>Ana Mar\xc3\xada de la Fuente</name>
      <arxiv:affiliation xmlns:arxiv="http://arxiv.org/schemas/atom">Universidad de Ejemplo</arxiv:affiliation>
    </author>
    <author>
      <name>Nobuhiro Shintani</name>
    </author>
    <author>
      <name>Charles W. Smith Jr.</name>
    </author>
    <arxiv:doi xmlns:arxiv="http://arxiv.org/schemas/atom">10.5555/TEST.2024.01234</arxiv:doi>
    <link title="doi" href="http://dx.doi.org/10.5555/TEST.2024.01234" rel="related"/>
    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">21 pages, 3 figures</arxiv:comment>
    <arxiv:journal_ref xmlns:arxiv="http://arxiv.org/schemas/atom">Language Teaching Research 28(2), 253-279 (2024)</arxiv:journal_ref>
    <link href="http://arxiv.org/abs/2401.01234v2" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/2401.01234v2" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
  <entry xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
    <id xmlns="http://www.w3.org/2005/Atom">http://arxiv.org/abs/hep-ex/0307015</id>
    <published xmlns="http://www.w3.org/2005/Atom">2003-07-07T13:46:39-04:00</published>
    <updated xmlns="http://www.w3.org/2005/Atom">2003-07-07T13:46:39-04:00</updated>
    <title xmlns="http://www.w3.org/2005/Atom">Multi-Electron Production at High Transverse Momenta in ep Collisions at
  HERA</title>
    <summary xmlns="http://www.w3.org/2005/Atom">  Multi-electron production is studied at high electron transverse momentum in
positron- and electron-proton collisions using the H1 detector at HERA.
</summary>
    <author xmlns="http://www.w3.org/2005/Atom">
      <name xmlns="http://www.w3.org/2005/Atom">H1 Collaboration</name>
    </author>
    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">23 pages, 8 figures and 4 tables</arxiv:comment>
    <arxiv:journal_ref xmlns:arxiv="http://arxiv.org/schemas/atom">Eur.Phys.J. C31 (2003) 17-29</arxiv:journal_ref>
    <link xmlns="http://www.w3.org/2005/Atom" href="http://arxiv.org/abs/hep-ex/0307015v1" rel="alternate" type="text/html"/>
    <link xmlns="http://www.w3.org/2005/Atom" title="pdf" href="http://arxiv.org/pdf/hep-ex/0307015v1" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="hep-ex" scheme="http://arxiv.org/schemas/atom"/>
    <category term="hep-ex" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
  <entry>
    <id>https://arxiv.org/abs/1902.02534v2</id>
    <updated>2019-06-21T10:05:11Z</updated>
    <published>2019-02-07T10:10:41Z</published>
    <title>Crowdsourcing open citations with CROCI -- An analysis of the current status
  of open citations, and a proposal</title>
    <summary>  In this paper, we analyse the current availability of open citations data in
one particular dataset, namely COCI (the OpenCitations Index of Crossref open
DOI-to-DOI citations; http://opencitations.net/index/coci) provided by
OpenCitations.
</summary>
    <author><name>Ivan Heibi</name></author>
    <author><name>Silvio Peroni</name></author>
    <author><name>David Shotton</name></author>
    <link href="https://arxiv.org/abs/1902.02534v2" rel="alternate" type="text/html"/>
    <link title="pdf" href="https://arxiv.org/pdf/1902.02534v2" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="cs.DL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.DL" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
</feed>
"""

# The manual's §3.4 error answer.
ARXIV_ERROR = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">
  <link xmlns="http://www.w3.org/2005/Atom" href="http://arxiv.org/api/query?search_query=&amp;id_list=1234.12345" rel="self" type="application/atom+xml"/>
  <title xmlns="http://www.w3.org/2005/Atom">ArXiv Query: search_query=&amp;id_list=1234.12345</title>
  <id xmlns="http://www.w3.org/2005/Atom">http://arxiv.org/api/kvuntZ8c9a4Eq5CF7KY03nMug+Q</id>
  <updated xmlns="http://www.w3.org/2005/Atom">2007-10-12T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">0</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:itemsPerPage>
  <entry xmlns="http://www.w3.org/2005/Atom">
    <id xmlns="http://www.w3.org/2005/Atom">http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>
    <title xmlns="http://www.w3.org/2005/Atom">Error</title>
    <summary xmlns="http://www.w3.org/2005/Atom">incorrect id format for 1234.12345</summary>
    <updated xmlns="http://www.w3.org/2005/Atom">2007-10-12T00:00:00-04:00</updated>
    <link xmlns="http://www.w3.org/2005/Atom" href="http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345" rel="alternate" type="text/html"/>
    <author xmlns="http://www.w3.org/2005/Atom">
      <name xmlns="http://www.w3.org/2005/Atom">arXiv api core</name>
    </author>
  </entry>
</feed>
"""


def test_arxiv_atom_entries() -> None:
    papers = citations_from_arxiv_atom(ARXIV_FEED)
    assert list(papers) == ["2401.01234", "hep-ex/0307015", "1902.02534"]
    assert papers["2401.01234"] == Citation(
        title="Input-based tasks and vocabulary learning: a process-product replication",
        arxiv_id="2401.01234",
        authors=(
            Author(family="de la Fuente", given="Ana María"),
            Author(family="Shintani", given="Nobuhiro"),
            Author(family="Smith Jr.", given="Charles W."),
        ),
        year=2024,
        month=1,
        day=2,
        publisher="arXiv",
        type="article",
        abstract="<p>We replicate an input-based task study with 120 learners. Gains were larger "
        "after input-based tasks (p &lt; 0.05) than after production-based ones.</p>",
        open_access_url="https://arxiv.org/pdf/2401.01234v2",
        related_dois=("10.5555/test.2024.01234",),  # arxiv:doi and the doi link, once
        categories=("cs.CL",),  # the primary category first, each once
    )
    old_style = papers["hep-ex/0307015"]
    assert old_style.categories == ("hep-ex",)
    assert old_style.title == (
        "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA"
    )
    assert old_style.authors == (Author(family="H1 Collaboration"),)
    assert (old_style.year, old_style.month, old_style.day) == (2003, 7, 7)
    assert old_style.open_access_url == "https://arxiv.org/pdf/hep-ex/0307015v1"
    assert old_style.related_dois == ()
    assert old_style.url == "https://arxiv.org/abs/hep-ex/0307015"
    croci = papers["1902.02534"]
    assert croci.authors[0] == Author(family="Heibi", given="Ivan")
    assert (croci.year, croci.month, croci.day) == (2019, 2, 7)
    assert croci.title == (
        "Crowdsourcing open citations with CROCI -- An analysis of the current status of open "
        "citations, and a proposal"
    )


def test_arxiv_atom_without_entries_is_empty() -> None:
    """A well-formed id arXiv does not have: the feed answers with no entry."""
    feed = ARXIV_FEED.split(b"<entry>")[0] + b"</feed>"
    assert citations_from_arxiv_atom(feed) == {}


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (ARXIV_ERROR, "arXiv API error: incorrect id format for 1234.12345"),
        (b"Rate exceeded.", "arXiv is throttling"),
        (b"<html><body>Service unavailable</body>", "not well-formed XML"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "not an Atom feed"),
        (b'<!DOCTYPE feed [<!ENTITY a "aaaa">]><feed xmlns="http://www.w3.org/2005/Atom"/>',
         "DOCTYPE"),
        (b"", "not well-formed XML"),
    ],
)  # fmt: skip
def test_arxiv_atom_errors(content: bytes, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        citations_from_arxiv_atom(content)


# -- identifiers, names, headers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Nobuhiro Shintani", Author("Shintani", "Nobuhiro")),
        ("Ludwig van Beethoven", Author("van Beethoven", "Ludwig")),
        ("Shintani, Nobuhiro", Author("Shintani", "Nobuhiro")),
        ("The ATLAS Collaboration", Author("The ATLAS Collaboration")),
        ("Plato", Author("Plato")),
    ],
)
def test_split_name(name: str, expected: Author) -> None:
    assert split_name(name) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"x-rate-limit-limit": "50", "x-rate-limit-interval": "1s"}, 0.02),
        ({"x-rate-limit-limit": "5", "x-rate-limit-interval": "1s"}, 0.2),
        ({"x-rate-limit-limit": "1", "x-rate-limit-interval": "1m"}, 10.0),  # capped
        ({"x-rate-limit-limit": "0", "x-rate-limit-interval": "1s"}, None),
        ({"x-rate-limit-limit": "50"}, None),
        ({"x-rate-limit-limit": "fifty", "x-rate-limit-interval": "1s"}, None),
        ({}, None),
    ],
)
def test_rate_limit_interval(headers: dict[str, str], expected: float | None) -> None:
    assert rate_limit_interval(headers) == expected


# -- the client over loopback ----------------------------------------------------------------------


class RecordingTransport(LoopbackTransport):
    """Loopback, remembering every full URL: the fixture server records paths only."""

    def __init__(self, server: FixtureServer, urls: list[str]) -> None:
        super().__init__(server)
        self.urls = urls

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return await super().handle_async_request(request)


@dataclass
class FakeTime:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@dataclass
class Harness:
    """Runs ``use(client)`` with a fresh HttpClient and ScholarlyClient on the fixture server."""

    server: FixtureServer
    time: FakeTime = field(default_factory=FakeTime)
    urls: list[str] = field(default_factory=list)
    research: dict[str, Any] = field(default_factory=lambda: {"mailto": MAILTO})
    http: dict[str, Any] = field(default_factory=dict)

    def __call__(self, use: Callable[[ScholarlyClient], Awaitable[T]]) -> T:
        async def main() -> T:
            settings = HttpSettings.model_validate(
                {"allow_private_networks": True, "retries": 0, "timeout_seconds": 5,
                 "min_host_interval_seconds": 0} | self.http
            )  # fmt: skip
            transport = RecordingTransport(self.server, self.urls)
            async with HttpClient(settings, "feedbot-test/1", transport=transport) as http:
                client = ScholarlyClient(
                    http,
                    ResearchSettings.model_validate(self.research),
                    clock=self.time.clock,
                    sleep=self.time.sleep,
                    today=lambda: date(2026, 11, 23),
                )
                return await use(client)

        return asyncio.run(main())


@pytest.fixture(scope="module")
def shared_server() -> Iterator[FixtureServer]:
    with FixtureServer() as running:
        yield running


@pytest.fixture
def server(shared_server: FixtureServer) -> FixtureServer:
    """One server for the module (stopping one takes half a second), emptied for each test."""
    shared_server.routes.clear()
    shared_server.hits.clear()
    shared_server.requests.clear()
    shared_server.client_ports.clear()
    return shared_server


@pytest.fixture
def run(server: FixtureServer) -> Harness:
    return Harness(server)


SCIENCE = "10.1126/science.169.3946.635"
PLOS = "10.1371/journal.pone.0033693"
CROSSREF_PLOS = "api.crossref.org/works/10.1371%2Fjournal.pone.0033693"


def serve_science_negotiation(server: FixtureServer, recorded: Any) -> None:
    """doi.org answers content negotiation with a 302 to Crossref's transform, as recorded."""
    redirect = recorded("test-content_negotation__test_content_negotiation", 0)
    target = "https://api.crossref.org/v1/works/10.1126%2Fscience.169.3946.635/transform"
    server.routes[f"doi.org/{SCIENCE}"] = replay(redirect, headers={"Location": target})
    csl = recorded("test-content_negotation__test_content_negotiation_citeproc_json", 1)
    server.routes["api.crossref.org/v1/works/10.1126%2Fscience.169.3946.635/transform"] = Route(
        body=body_of(csl), content_type=CSL_JSON, conditional=False
    )


def serve_plos_work(server: FixtureServer, recorded: Any, **extra: Any) -> None:
    server.routes[CROSSREF_PLOS] = replay(recorded("test-works__test_works_with_one_id"), **extra)


def serve_doi_org_404(server: FixtureServer, recorded: Any, doi: str) -> None:
    answer = recorded(
        "test-content_negotation__test_content_negotiation_raises_an_http_error_with_bad_requests"
    )
    server.routes[f"doi.org/{doi}"] = replay(answer)


def test_doi_content_negotiation(run: Harness, server: FixtureServer, recorded: Any) -> None:
    serve_science_negotiation(server, recorded)
    result = run(lambda client: client.doi("https://doi.org/10.1126/SCIENCE.169.3946.635"))
    assert (result.status, result.source, result.error) == ("ok", "doi.org", None)
    assert result.citation is not None
    assert result.citation.title == "The Structure of Ordinary Water"
    assert result.citation.doi == SCIENCE
    assert run.urls == [
        f"https://doi.org/{SCIENCE}",
        "https://api.crossref.org/v1/works/10.1126%2Fscience.169.3946.635/transform",
    ]
    asked = dict(server.requests)[f"doi.org/{SCIENCE}"]
    assert asked["accept"] == "application/vnd.citationstyles.csl+json"


def test_doi_org_404_falls_back_to_crossref(
    run: Harness, server: FixtureServer, recorded: Any
) -> None:
    serve_doi_org_404(server, recorded, PLOS)
    serve_plos_work(server, recorded)
    result = run(lambda client: client.doi(PLOS.upper()))
    assert (result.status, result.source) == ("ok", "crossref")
    assert result.citation is not None
    assert result.citation.doi == PLOS
    assert result.citation.container == "PLoS ONE"
    assert server.hits[f"doi.org/{PLOS}"] == 1
    assert server.hits[CROSSREF_PLOS] == 1
    assert run.urls[1] == f"https://{CROSSREF_PLOS}?mailto={MAILTO}"


def test_doi_not_found_at_either(run: Harness, server: FixtureServer, recorded: Any) -> None:
    doi = "10.1371/notarealdoi"
    serve_doi_org_404(server, recorded, doi)
    server.routes["api.crossref.org/works/10.1371%2Fnotarealdoi"] = replay(
        recorded("test-works__test_works_bad_id_warn")
    )
    result = run(lambda client: client.doi(doi))
    assert result == Lookup(
        None, "not_found", "doi.org: HTTP 404; crossref: HTTP 404", source="crossref"
    )


def test_not_a_doi_is_not_found_without_asking(run: Harness, server: FixtureServer) -> None:
    result = run(lambda client: client.doi("foo"))
    assert (result.status, result.error) == ("not_found", "not a DOI: 'foo'")
    assert run.urls == []


def test_doi_org_garbage_falls_back(run: Harness, server: FixtureServer, recorded: Any) -> None:
    # A registration agency without content negotiation: doi.org lands on the publisher's page.
    server.routes[f"doi.org/{PLOS}"] = Route(
        body=b"<!doctype html><title>Article</title>", content_type="text/html"
    )
    serve_plos_work(server, recorded)
    result = run(lambda client: client.doi(PLOS))
    assert (result.status, result.source) == ("ok", "crossref")


def test_doi_org_other_json_shape_falls_back(
    run: Harness, server: FixtureServer, recorded: Any, fixtures: Path
) -> None:
    server.routes[f"doi.org/{PLOS}"] = Route(
        body=(fixtures / "datacite.json").read_bytes(), content_type="application/json"
    )
    serve_plos_work(server, recorded)
    assert run(lambda client: client.doi(PLOS)).source == "crossref"


def test_doi_garbage_from_both_is_an_error(run: Harness, server: FixtureServer) -> None:
    page = Route(body=b"<html><body>Maintenance</body></html>", content_type="text/html")
    server.routes[f"doi.org/{PLOS}"] = page
    server.routes[CROSSREF_PLOS] = page
    result = run(lambda client: client.doi(PLOS))
    assert result == Lookup(
        None,
        "error",
        "doi.org: the answer is not valid JSON (text/html); crossref: the answer is not valid JSON (text/html)",
        source="crossref",
    )


def test_doi_error_and_crossref_404_is_an_error_not_not_found(
    run: Harness, server: FixtureServer, recorded: Any
) -> None:
    """Only when both services say "no such DOI" is it not found."""
    server.routes[f"doi.org/{PLOS}"] = Route(status=500, body=b"oops", content_type="text/plain")
    server.routes[CROSSREF_PLOS] = replay(recorded("test-works__test_works_bad_id_warn"))
    result = run(lambda client: client.doi(PLOS))
    assert result.status == "error"
    assert result.error == "doi.org: HTTP 500 Internal Server Error; crossref: HTTP 404"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"<html>Resource moved</html>", "crossref: the answer is not valid JSON (application/json)"),
        (b'{"status": "ok", "message-type": "work", "message": []}',
         "crossref: the work is not a JSON object"),
        (b'{"status": "ok", "message-type": "work", "message": {"DOI": "10.1371/x"}}',
         "crossref: no title"),
        (b'{"status": "ok", "message-type": "work-list", "message": {"items": []}}',
         "crossref: expected a Crossref work, got 'work-list'"),
        (b'["not", "an", "envelope"]', "crossref: not a Crossref API answer (no message)"),
        (b'{"status": "ok", "message": {"title": ["Trunc', "crossref: the answer is not valid JSON (application/json)"),
        (b"[" * 100_000, "crossref: JSON nested too deeply"),
    ],
)  # fmt: skip
def test_crossref_work_garbage_is_an_error(
    run: Harness, server: FixtureServer, body: bytes, error: str
) -> None:
    server.routes[CROSSREF_PLOS] = Route(body=body, content_type="application/json")
    result = run(lambda client: client.crossref_work(PLOS))
    assert result == Lookup(None, "error", error, source="crossref")


def test_timeout_is_an_error_then_falls_back(
    run: Harness, server: FixtureServer, recorded: Any
) -> None:
    run.http = {"timeout_seconds": 0.1}
    slow = Route(body=b"{}", content_type="application/json", delay=0.4)
    server.routes[CROSSREF_PLOS] = slow
    assert run(lambda client: client.crossref_work(PLOS)) == Lookup(
        None, "error", "crossref: timed out after 0.1s", source="crossref"
    )
    server.routes[f"doi.org/{PLOS}"] = slow
    serve_plos_work(server, recorded)
    assert run(lambda client: client.doi(PLOS)).source == "crossref"


def test_too_many_requests_is_an_error_and_slows_down(run: Harness, server: FixtureServer) -> None:
    run.http = {"retries": 1}
    server.routes[CROSSREF_PLOS] = Route(
        status=429, body=b"Too many", content_type="text/plain", headers={"Retry-After": "0"}
    )

    async def use(client: ScholarlyClient) -> tuple[Lookup, float]:
        return await client.crossref_work(PLOS), client.crossref_pacer.interval

    result, interval = run(use)
    assert result == Lookup(None, "error", "crossref: HTTP 429 Too Many Requests", "crossref")
    assert server.hits[CROSSREF_PLOS] == 2  # HttpClient retried once, after Retry-After
    assert interval == 1.0  # was 0.1: the next Crossref request waits longer


def test_crossref_rate_limit_headers_pace_the_next_requests(
    run: Harness, server: FixtureServer, recorded: Any
) -> None:
    body = body_of(recorded("test-works__test_works_with_one_id"))
    limits = {"a": ("2", "1s"), "b": ("50", "1s"), "c": ("50", "1s")}
    for name, (limit, interval) in limits.items():
        server.routes[f"api.crossref.org/works/10.5555%2F{name}"] = Route(
            body=body,
            content_type="application/json",
            headers={"X-Rate-Limit-Limit": limit, "X-Rate-Limit-Interval": interval},
        )

    async def use(client: ScholarlyClient) -> list[str]:
        return [(await client.crossref_work(f"10.5555/{n}")).status for n in limits]

    assert run(use) == ["ok", "ok", "ok"]
    # 2 per second after the first answer, 50 per second after the second.
    assert run.time.sleeps == [0.5, 0.02]


def test_crossref_pace_before_any_headers(
    run: Harness, server: FixtureServer, recorded: Any
) -> None:
    serve_plos_work(server, recorded)

    async def use(client: ScholarlyClient) -> None:
        await client.crossref_work(PLOS)
        await client.crossref_work(PLOS)

    run(use)
    assert run.time.sleeps == [0.1]  # polite pool (mailto set): 10 a second until told
    run.research = {}
    run.time.sleeps.clear()
    run(use)
    assert run.time.sleeps == [0.2]


def test_mailto_goes_to_crossref_only(run: Harness, server: FixtureServer, recorded: Any) -> None:
    serve_doi_org_404(server, recorded, PLOS)
    serve_plos_work(server, recorded)
    server.routes["api.crossref.org/works"] = replay(recorded("test-works__test_works_query"))
    server.routes["export.arxiv.org/api/query"] = Route(body=ARXIV_FEED)

    async def use(client: ScholarlyClient) -> None:
        await client.doi(PLOS)
        await client.crossref_search("ecology")
        await client.arxiv(["2401.01234"])

    run(use)
    assert [url.split("?")[0] for url in run.urls] == [
        f"https://doi.org/{PLOS}",
        f"https://{CROSSREF_PLOS}",
        "https://api.crossref.org/works",
        "https://export.arxiv.org/api/query",
    ]
    crossref = [url for url in run.urls if "api.crossref.org" in url]
    others = [url for url in run.urls if "api.crossref.org" not in url]
    assert all(url.endswith(f"mailto={MAILTO}") for url in crossref)
    assert not any("mailto" in url for url in others)
    # The server records host and path only, so the query string is checked client-side.
    assert [key for key, _ in server.requests][1:3] == [CROSSREF_PLOS, "api.crossref.org/works"]


def test_crossref_search(run: Harness, server: FixtureServer, recorded: Any) -> None:
    server.routes["api.crossref.org/works"] = replay(recorded("test-works__test_works_query"))
    found = run(
        lambda client: client.crossref_search(
            "  Shintani, N. (2012). Input-based tasks.\n Language Teaching Research ", rows=2
        )
    )
    assert [(c.doi, c.title, c.container, c.year, c.type) for c in found] == [
        ("10.1093/obo/9780199830060-0238", "Communicating Ecology", "Ecology", 2022, "entry"),
        ("10.1093/obo/9780199830060-0023", "Chemical Ecology", "Ecology", 2012, "entry"),
    ]
    assert run.urls == [
        "https://api.crossref.org/works?query.bibliographic=Shintani,+N.+%282012%29.+"
        "Input-based+tasks.+Language+Teaching+Research&rows=2&select=DOI,title,author,"
        "container-title,short-container-title,issued,published,published-print,"
        "published-online,volume,issue,page,article-number,publisher,type,relation,abstract,"
        f"link,license,created,subject,ISSN&mailto={MAILTO}"
    ]


def test_crossref_search_with_select_keeps_what_it_can(
    run: Harness, server: FixtureServer, recorded: Any
) -> None:
    """Items of a select'ed answer carry only some fields; those without a title are skipped."""
    answer = recorded("test-works__test_works_with_select_param")
    answer["body"]["message"]["items"][1] = {"DOI": "10.5555/untitled"}
    server.routes["api.crossref.org/works"] = replay(answer)
    found = run(lambda client: client.crossref_search("ecology", rows=20))
    assert len(found) == len(answer["body"]["message"]["items"]) - 1
    assert (found[0].doi, found[0].title) == (
        "10.1093/obo/9780199830060-0238",
        "Communicating Ecology",
    )
    assert found[1].doi == "10.1093/obo/9780199830060-0023"


@pytest.mark.parametrize(
    "route",
    [
        Route(status=500, body=b"", content_type="text/plain"),
        Route(status=400, body=b'{"status": "failed"}', content_type="application/json"),
        Route(body=b"<html>", content_type="text/html"),
        Route(body=b'{"status": "ok", "message-type": "work-list", "message": {}}',
              content_type="application/json"),
    ],
)  # fmt: skip
def test_crossref_search_failures_raise_a_fetch_error(
    run: Harness, server: FixtureServer, route: Route
) -> None:
    server.routes["api.crossref.org/works"] = route
    with pytest.raises(FetchError, match=r"^crossref: "):
        run(lambda client: client.crossref_search("anything"))


def test_arxiv_batch_in_one_request(run: Harness, server: FixtureServer) -> None:
    server.routes["export.arxiv.org/api/query"] = Route(
        body=ARXIV_FEED, content_type="application/atom+xml; charset=utf-8"
    )
    ids = ["arXiv:2401.01234v1", "hep-ex/0307015v1", "1902.02534", "2401.99999", "nonsense",
           "2401.01234"]  # fmt: skip
    results = run(lambda client: client.arxiv(ids))
    assert server.hits["export.arxiv.org/api/query"] == 1
    assert run.urls == [
        "https://export.arxiv.org/api/query?id_list=2401.01234,hep-ex/0307015,1902.02534,"
        "2401.99999&max_results=4"
    ]
    assert list(results) == ids
    assert {key: (r.status, r.source) for key, r in results.items()} == {
        "arXiv:2401.01234v1": ("ok", "arxiv"),
        "2401.01234": ("ok", "arxiv"),
        "hep-ex/0307015v1": ("ok", "arxiv"),
        "1902.02534": ("ok", "arxiv"),
        "2401.99999": ("not_found", "arxiv"),
        "nonsense": ("not_found", None),
    }
    first = results["arXiv:2401.01234v1"].citation
    assert first is not None and first.arxiv_id == "2401.01234"
    assert first.related_dois == ("10.5555/test.2024.01234",)
    assert results["nonsense"].error == "not an arXiv id: 'nonsense'"


def test_arxiv_one_request_every_three_seconds(run: Harness, server: FixtureServer) -> None:
    server.routes["export.arxiv.org/api/query"] = Route(body=ARXIV_FEED)
    many = [f"2301.{n:05d}" for n in range(1, 102)]

    async def use(client: ScholarlyClient) -> list[dict[str, Lookup]]:
        return [await client.arxiv(["2401.01234"]), await client.arxiv(many)]

    single, batch = run(use)
    assert single["2401.01234"].status == "ok"
    assert {r.status for r in batch.values()} == {"not_found"}
    assert server.hits["export.arxiv.org/api/query"] == 3  # 1 + 100 ids + 1 id
    assert "max_results=100" in run.urls[1] and run.urls[2].endswith(
        "id_list=2301.00101&max_results=1"
    )
    assert run.time.sleeps == [3.0, 3.0]


def test_arxiv_interval_is_a_setting(run: Harness, server: FixtureServer) -> None:
    server.routes["export.arxiv.org/api/query"] = Route(body=ARXIV_FEED)
    run.research = {"arxiv_interval_seconds": 5}

    async def use(client: ScholarlyClient) -> None:
        await asyncio.gather(client.arxiv(["2401.01234"]), client.arxiv(["1902.02534"]))

    run(use)
    assert run.time.sleeps == [5.0]  # concurrent calls are serialized too


@pytest.mark.parametrize(
    ("route", "error"),
    [
        (Route(status=400, body=ARXIV_ERROR),
         "arxiv: arXiv API error: incorrect id format for 1234.12345"),
        (Route(status=200, body=ARXIV_ERROR),
         "arxiv: arXiv API error: incorrect id format for 1234.12345"),
        (Route(status=200, body=b"Rate exceeded.", content_type="text/plain"),
         "arxiv: arXiv is throttling requests (Rate exceeded.)"),
        (Route(status=403, body=b"<html>Forbidden</html>", content_type="text/html"),
         "arxiv: HTTP 403 Forbidden"),
        (Route(status=503, body=b"", content_type="text/plain"),
         "arxiv: HTTP 503 Service Unavailable"),
    ],
)  # fmt: skip
def test_arxiv_failures_are_errors(
    run: Harness, server: FixtureServer, route: Route, error: str
) -> None:
    server.routes["export.arxiv.org/api/query"] = route
    results = run(lambda client: client.arxiv(["2402.00001", "2401.01234v2"]))
    assert results == {
        "2402.00001": Lookup(None, "error", error, "arxiv"),
        "2401.01234v2": Lookup(None, "error", error, "arxiv"),
    }


def test_doi_with_reserved_characters_is_escaped(run: Harness, server: FixtureServer) -> None:
    doi = "10.1002/(SICI)1097-4636(199706)35:4<489::AID-JBM9>3.0.CO;2-E"
    result = run(lambda client: client.doi(doi))
    assert result.status == "not_found"  # the server knows neither: 404 twice
    assert run.urls == [
        "https://doi.org/10.1002/%28sici%291097-4636%28199706%2935%3A4%3C489%3A%3Aaid-jbm9%3E3.0.co%3B2-e",
        "https://api.crossref.org/works/10.1002%2F%28sici%291097-4636%28199706%2935%3A4%3C489%3A%3Aaid-jbm9%3E3.0.co%3B2-e"
        f"?mailto={MAILTO}",
    ]
