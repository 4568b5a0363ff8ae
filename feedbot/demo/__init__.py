"""``feedbot demo``: the whole pipeline on bundled example sources, offline.

A local fixture server plays the web: it serves the example feeds in ``demo/sources/`` and, for
every link in them, a small article page with OpenGraph metadata under the link's own host and
path; the two short links redirect (``t.co`` to a utm-tagged article, ``bit.ly`` to an AMP page
whose ``rel=canonical`` names the article). It also plays the research services from
``demo/research/``: doi.org content negotiation (CSL-JSON), the Crossref REST API (a journal's
works and a bibliographic search) and the arXiv API, for an arXiv source, a Crossref source and a
researcher's Mastodon feed whose posts cite papers in their text. The demo writes a config
pointing at all of it, fetches, resolves links, researches papers, tags, builds the site and
feeds, and writes the latest day's digest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from feedbot.app import open_app
from feedbot.config import load_settings
from feedbot.fixture_server import FixtureServer, LoopbackTransport, Route
from feedbot.pipeline import SourceResult
from feedbot.publish.site import day_of
from feedbot.sources.feed import parse_feed

SOURCES_DIR = Path(__file__).resolve().parent / "sources"
RESEARCH_DIR = Path(__file__).resolve().parent / "research"

DEMO_SOURCES: tuple[tuple[str, str, list[str]], ...] = (
    ("Education Weekly", "education-weekly.xml", ["education"]),
    ("AI Research Notes", "ai-research.atom", ["ai"]),
    ("Law & Policy Brief", "law-and-policy.json", ["law"]),
    ("Curator's Picks", "curators-picks.xml", []),
)


# The research sources of the demo (beside the feeds above): kind-specific settings included.
DEMO_RESEARCH_SOURCES: tuple[dict[str, object], ...] = (
    {"name": "@l2research@scholar.social", "feed": "l2research-mastodon.rss",
     "topics": ["education"]},
    {"name": "arXiv: tutoring (cs.CL)", "kind": "arxiv", "categories": ["cs.CL"],
     "query": "tutoring"},
    {"name": "Language Teaching Research", "kind": "crossref", "issn": "1362-1688",
     "topics": ["education"]},
)  # fmt: skip

# Short links of the demo feeds and where they lead.
DEMO_REDIRECTS = {
    "t.co/4JZ31G6lc7": "https://www.reuters.com/legal/litigation/authors-class-action-over-ai-"
    "training-data-survives-motion-dismiss-2026-11-23/?utm_source=twitter&utm_medium=social",
    "bit.ly/3Fz8QaL": "https://docketdispatch.org/2026/11/22/ninth-circuit-off-campus-student-"
    "speech/amp/",
}


@dataclass(frozen=True)
class DemoReport:
    config: Path
    site: Path
    digest: Path | None
    results: tuple[SourceResult, ...]
    items: int


def demo_config(base_url: str) -> str:
    document = tomlkit.document()
    document.add(tomlkit.comment("Written by `feedbot demo`: example sources on a local server."))
    document["title"] = "feedbot demo"
    document["base_url"] = "http://localhost:8000/"
    document["timezone"] = "UTC"
    http = tomlkit.table()
    http["allow_private_networks"] = True
    http["max_per_host"] = 8
    document["http"] = http
    research = tomlkit.table()
    research.add(tomlkit.comment("The local server plays doi.org, Crossref and arXiv."))
    research["doi_base_url"] = f"{base_url}/doi"
    research["crossref_base_url"] = f"{base_url}/crossref"
    research["arxiv_base_url"] = f"{base_url}/arxiv/api/query"
    research["mailto"] = "demo@feedbot.localhost"
    research["arxiv_interval_seconds"] = 0  # a local server: no need to wait 3 s
    document["research"] = research
    digest = tomlkit.table()
    digest["from_address"] = "digest@feedbot.localhost"
    digest["to"] = ["curator@feedbot.localhost"]
    document["digest"] = digest
    sources = tomlkit.aot()
    for name, file, topics in DEMO_SOURCES:
        entry = tomlkit.table()
        entry["name"] = name
        entry["url"] = f"{base_url}/feeds/{file}"
        if topics:
            entry["topics"] = topics
        sources.append(entry)
    for research_source in DEMO_RESEARCH_SOURCES:
        entry = tomlkit.table()
        for key, value in research_source.items():
            if key == "feed":
                entry["url"] = f"{base_url}/research/{value}"
            else:
                entry[key] = value
        sources.append(entry)
    document["sources"] = sources
    return tomlkit.dumps(document)


def run_demo(
    directory: Path, progress: Callable[[SourceResult], None] = lambda result: None
) -> DemoReport:
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "feedbot.toml"
    with FixtureServer() as server:
        serve_demo_web(server)
        config_path.write_text(demo_config(server.base_url), encoding="utf-8")
        app = open_app(load_settings(config_path), transport=LoopbackTransport(server))
        results = app.fetch(progress)
    report = app.build()
    items = app.items()
    digest_path = None
    if items:
        day = max(day_of(item, app.settings) for item in items)
        digest_path = directory / f"digest-{day.isoformat()}.eml"
        app.write_digest(day, digest_path)
    return DemoReport(config_path, report.out_dir, digest_path, tuple(results), len(items))


def serve_demo_web(server: FixtureServer) -> None:
    """The feeds, an article page for every link they share, and the short links' redirects."""
    articles: dict[str, tuple[str, str, str]] = {}  # URL → (title, summary, date)
    serve_research_services(server)
    feeds = server.add_directory(SOURCES_DIR, "/feeds")
    feeds.append("/research/l2research-mastodon.rss")
    for path in feeds:
        if path.endswith(".md"):
            continue
        feed = parse_feed(server.routes[path].body, server.url(path))
        for entry in feed.entries:
            for link in entry.links:
                date = entry.published_at.isoformat() if entry.published_at else ""
                articles.setdefault(link.split("?")[0], (entry.title, entry.summary_html, date))
    for short, target in DEMO_REDIRECTS.items():
        shared_as = articles.pop("https://" + short)
        articles.setdefault(target.split("?")[0].removesuffix("amp/"), shared_as)
        server.routes[short] = Route(status=301, headers={"Location": target}, conditional=False)
    amp = DEMO_REDIRECTS["bit.ly/3Fz8QaL"]
    canonical = amp.removesuffix("amp/")
    server.routes[_route_key(amp)] = Route(
        body=_article_page(canonical, *articles[canonical]), content_type="text/html"
    )
    for url, (title, summary, date) in articles.items():
        server.routes.setdefault(
            _route_key(url),
            Route(body=_article_page(url, title, summary, date), content_type="text/html"),
        )


def serve_research_services(server: FixtureServer) -> None:
    """doi.org (CSL-JSON per DOI), Crossref (a journal's works, a bibliographic search) and the
    arXiv API (one answer for every query) under ``/doi``, ``/crossref`` and ``/arxiv``."""
    server.add_directory(RESEARCH_DIR, "/research")
    csl = "application/vnd.citationstyles.csl+json"
    for file in sorted((RESEARCH_DIR / "csl").glob("*.json")):
        doi = file.stem.replace("_", "/", 1).lower()
        server.routes[f"/doi/{doi}"] = Route(body=file.read_bytes(), content_type=csl)
    json_type = "application/json"
    server.routes["/crossref/journals/1362-1688/works"] = Route(
        body=(RESEARCH_DIR / "crossref-journal-1362-1688.json").read_bytes(),
        content_type=json_type,
        conditional=False,
    )
    server.routes["/crossref/works"] = Route(
        body=(RESEARCH_DIR / "crossref-search.json").read_bytes(),
        content_type=json_type,
        conditional=False,
    )
    server.routes["/arxiv/api/query"] = Route(
        body=(RESEARCH_DIR / "arxiv.atom").read_bytes(),
        content_type="application/atom+xml; charset=utf-8",
        conditional=False,
    )


def _route_key(url: str) -> str:
    return url.split("://", 1)[1].split("?")[0]


def _article_page(url: str, title: str, summary_html: str, date: str) -> bytes:
    from html import escape

    from feedbot.sanitize import html_to_text

    host = url.split("/")[2].removeprefix("www.")
    summary = escape(html_to_text(summary_html))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{escape(title)} | {escape(host)}</title>
<link rel="canonical" href="{escape(url)}">
<meta property="og:title" content="{escape(title)}">
<meta property="og:site_name" content="{escape(host)}">
<meta property="og:description" content="{summary}">
<meta property="article:published_time" content="{escape(date)}">
</head><body><h1>{escape(title)}</h1><p>{summary}</p>
<p>(A fictional article page served by the feedbot demo.)</p></body></html>
""".encode()
