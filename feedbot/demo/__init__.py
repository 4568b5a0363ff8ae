"""``feedbot demo``: the whole pipeline on bundled example sources, offline.

A local fixture server serves the example feeds in ``demo/sources/``; the demo writes a config
pointing at it, fetches, tags, builds the site and feeds, and writes the latest day's digest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import tomlkit

from feedbot.app import open_app
from feedbot.config import load_settings
from feedbot.fixture_server import FixtureServer
from feedbot.pipeline import SourceResult
from feedbot.publish.site import day_of

SOURCES_DIR = Path(__file__).resolve().parent / "sources"

DEMO_SOURCES: tuple[tuple[str, str, list[str]], ...] = (
    ("Education Weekly", "education-weekly.xml", ["education"]),
    ("AI Research Notes", "ai-research.atom", ["ai"]),
    ("Law & Policy Brief", "law-and-policy.json", ["law"]),
    ("Curator's Picks", "curators-picks.xml", []),
)


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
    document["sources"] = sources
    return tomlkit.dumps(document)


def run_demo(
    directory: Path, progress: Callable[[SourceResult], None] = lambda result: None
) -> DemoReport:
    directory.mkdir(parents=True, exist_ok=True)
    config_path = directory / "feedbot.toml"
    with FixtureServer() as server:
        server.add_directory(SOURCES_DIR, "/feeds")
        config_path.write_text(demo_config(server.base_url), encoding="utf-8")
        app = open_app(load_settings(config_path))
        results = app.fetch(progress)
    report = app.build()
    items = app.items()
    digest_path = None
    if items:
        day = max(day_of(item, app.settings) for item in items)
        digest_path = directory / f"digest-{day.isoformat()}.eml"
        app.write_digest(day, digest_path)
    return DemoReport(config_path, report.out_dir, digest_path, tuple(results), len(items))
