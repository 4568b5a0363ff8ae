"""Golden files for what users see: pages of each kind, the three feed formats and the digest,
rendered from the example feeds with a fixed clock. Set FEEDBOT_REGEN_GOLDEN=1 to rewrite them
after an intended change, then review the diff."""

from __future__ import annotations

import difflib
import email
import os
import re
from datetime import date
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from feedbot.app import App
from feedbot.demo import DEMO_SOURCES, SOURCES_DIR
from feedbot.fixture_server import FixtureServer

GOLDEN = Path(__file__).resolve().parent / "golden"
REGENERATE = os.environ.get("FEEDBOT_REGEN_GOLDEN") == "1"

SITE_FILES = [
    "index.html",  # the home page's front
    "page/1.html",  # its oldest numbered page
    "days/index.html",
    "days/2026-11-22.html",
    "days/2026-11-23.1.html",
    "topics/law.html",
    "topics/law.1.html",
    "sources/index.html",
    "sources/curator-s-picks.html",
    "papers.html",
    "papers/item-6fad78bdf9cd.html",  # a paper's own page
    "404.html",
    "feed.xml",
    "atom.xml",
    "feed.json",
    "topics/ai.xml",
    "topics/law.atom",
    "topics/education.json",
    "search/index.js",
    "search/2026-11.js",
    "sitemap.xml",
    "robots.txt",
]


def scrub(text: str, server: FixtureServer) -> str:
    text = text.replace(server.base_url, "http://fixture.test")
    text = re.sub(r"Message-ID:\s*<[^>]+>", "Message-ID: <scrubbed>", text)
    return re.sub(r"={15}\d+==", "===BOUNDARY==", text)


def check(name: str, actual: str) -> None:
    path = GOLDEN / name
    if REGENERATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path}; run with FEEDBOT_REGEN_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), actual.splitlines(True), f"golden/{name}", "actual", n=2
            )
        )
        pytest.fail(f"{name} differs from its golden file:\n{diff[:6000]}")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, FixtureServer]:
    from feedbot.app import open_app
    from feedbot.config import settings_from_dict
    from tests.conftest import Clock

    folder = tmp_path_factory.mktemp("golden")
    with FixtureServer() as server:
        server.add_directory(SOURCES_DIR, "/feeds")
        settings = settings_from_dict(
            {
                "title": "Golden digest",
                "base_url": "https://digest.example.org/",
                "timezone": "America/New_York",
                "home_items": 6,
                "page_size": 4,  # so that listings have numbered pages
                "http": {
                    "allow_private_networks": True,
                    "min_host_interval_seconds": 0,
                    "retries": 0,
                },
                "links": {"resolve": False},  # their links lead to the real web
                "research": {"resolve": False},
                "digest": {"from_address": "digest@example.org", "to": ["reader@example.org"]},
                "sources": [
                    {"name": name, "url": server.url(f"/feeds/{file}"), "topics": topics}
                    for name, file, topics in DEMO_SOURCES
                ],
            },
            folder / "feedbot.toml",
        )
        app: App = open_app(settings, clock=Clock())
        app.fetch()
        report = app.build()
        digest = folder / "digest.eml"
        app.write_digest(date(2026, 11, 22), digest)
        app.close()
        yield report.out_dir, digest, server


@pytest.mark.parametrize("name", SITE_FILES)
def test_site_and_feeds_match_golden(built: tuple[Path, Path, FixtureServer], name: str) -> None:
    site, _, server = built
    check(f"site/{name}", scrub((site / name).read_text(encoding="utf-8"), server))


def test_digest_matches_golden(built: tuple[Path, Path, FixtureServer]) -> None:
    _, digest, server = built
    message = email.message_from_bytes(digest.read_bytes(), policy=default_policy)
    assert isinstance(message, EmailMessage)
    headers = "".join(
        f"{key}: {value}\n" for key, value in message.items() if key != "Content-Type"
    )
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    check("digest/headers.txt", scrub(headers, server))
    check("digest/digest.txt", scrub(text.get_content(), server))
    check("digest/digest.html", scrub(html.get_content(), server))


def test_golden_files_are_all_used() -> None:
    expected = {f"site/{name}" for name in SITE_FILES} | {
        "digest/headers.txt",
        "digest/digest.txt",
        "digest/digest.html",
    }
    present = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*") if p.is_file()}
    assert present == expected
