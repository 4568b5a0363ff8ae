"""Acceptance: "Every document of ../shared/corpora/feedparser-tests/ (the feedparser project's own
test feeds, well-formed and ill-formed) served over local HTTP and fetched as a source: no exception
escapes, and each either yields entries or records a readable error on its source." Plus a sample
of real captured feeds from ../shared/corpora/real-feeds/.

What these tests prove:

* no exception escapes ``App.ingest()``, whatever the document (well-formed, ill-formed, odd
  encodings, misleading HTTP headers, HTML entities, JSON Feed), and every source gets a result;
* each source either has stored entries, or is a real feed with no entries (status ok, feedparser
  agrees it reads a feed with no entries, and an ill-formed one carries a readable "parsed
  leniently" warning), or has a readable one-line ``last_error`` that is not an "unexpected error"
  (an unexpected error is our code crashing, a bug);
* at least 95% of the well-formed documents whose upstream expectation reads ``entries[0]`` give
  entries; HTML entities reach the source title decoded;
* a second run (conditional GET, the server answers 304) stores nothing twice;
* the real feeds give entries or readable errors, and for feed-rs's documents as many stored entries
  carry a link as feed-rs's expected parse has entries with links (divergences explained below).
"""

from __future__ import annotations

import ast
import json
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import select

from feedbot.app import App, open_app
from feedbot.config import settings_from_dict
from feedbot.fixture_server import FixtureServer, Route
from feedbot.pipeline import SourceResult
from feedbot.records import SourceStatus
from feedbot.store import entries_t, sources_t

# -- helpers -------------------------------------------------------------------------------------

FEEDPARSER_TESTS = "feedparser-tests"
REAL_FEEDS = "real-feeds"
# Folders of real-feeds/ sampled. Only feed documents: feed-rs's *.serde.json and juriscraper's
# same-named *.json are those projects' expected parses, not feeds.
REAL_FEED_FOLDERS = (
    "feed-rs",
    "rss-parser/input",
    "miniflux/parser/testdata",
    "ai-rss-feeds/head",
    "arxiv",
    "juriscraper-law/pacer/rss_feeds",
)
FEED_SUFFIXES = (".xml", ".json", ".rss", ".atom")
# Enough requests in flight that 2,000 local documents take seconds, not minutes.
HTTP = {"max_per_host": 16, "max_connections": 32, "retries": 0, "timeout_seconds": 30}
MAX_ERROR_LENGTH = 300


def corpora_path() -> Path:
    """Where conftest's ``corpora`` fixture looks (needed at collection, for parametrize)."""
    repo = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("FEEDBOT_CORPORA") or repo.parent / "shared" / "corpora")


@dataclass(frozen=True)
class Document:
    """One feedparser test document: how it is served and what upstream expects of it."""

    rel: str  # relative to the corpus's tests/ folder, e.g. "wellformed/rss/item_title.xml"
    body: bytes
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)
    expect: str = ""

    @property
    def name(self) -> str:
        return "fp " + self.rel

    @property
    def route(self) -> str:
        return "/fp/" + self.rel

    @property
    def group(self) -> str:
        """``wellformed/rss``, ``illformed``, ``encoding``, ``entities``, ``json`` …"""
        parts = self.rel.split("/")
        return "/".join(parts[:2]) if parts[0] == "wellformed" else parts[0]

    @property
    def upstream_has_entries(self) -> bool:
        """Upstream's expectation reads an entry, so the document has at least one."""
        return "entries[0]" in self.expect

    @property
    def expected_feed_title(self) -> str | None:
        """For ``Expect: feed['title'] == '…'`` documents (the entity tests): that title."""
        match = re.fullmatch(r"feed\['title'\] == ('.*')", self.expect.strip())
        return ast.literal_eval(match.group(1)) if match else None


def feedparser_documents(corpora: Path) -> list[Document]:
    """The manifest's 2,106 XML test documents, plus the JSON Feed example."""
    folder = corpora / FEEDPARSER_TESTS
    manifest = json.loads((folder / "feedparser_expectations_manifest.json").read_text("utf-8"))
    documents = []
    for record in manifest:
        headers = dict(record["http_headers"] or {})
        # The server sends Content-Type itself; upstream spells the header name variously.
        declared = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        documents.append(
            Document(
                rel=record["path"].removeprefix("tests/"),
                body=(folder / record["path"]).read_bytes(),
                # Upstream parses these from disk: without a charset, the document's own XML
                # declaration or BOM decides (RFC 3023 for application/xml).
                content_type=declared if declared is not None else "application/xml",
                headers=headers,
                expect=record["expect"],
            )
        )
    for path in sorted((folder / "tests" / "json").glob("*.json")):
        body = path.read_bytes()
        documents.append(
            Document(
                rel=path.relative_to(folder / "tests").as_posix(),
                body=body,
                content_type="application/feed+json",
                expect=json.loads(body).get("__TEST__", ""),
            )
        )
    return documents


def is_readable_error(message: str | None) -> bool:
    """A message a person can act on: one short line, no traceback, not our code crashing."""
    return bool(
        message
        and message.strip()
        and "\n" not in message
        and "\r" not in message
        and "Traceback" not in message
        and len(message) < MAX_ERROR_LENGTH
        and not message.startswith("unexpected error")
    )


def stored_urls(app: App) -> dict[str, list[str | None]]:
    """Source name → the URL of each entry stored for it (None for an entry without a link)."""
    query = select(sources_t.c.name, entries_t.c.url).join(
        entries_t, entries_t.c.source_id == sources_t.c.id
    )
    found: dict[str, list[str | None]] = {}
    with app.store.engine.connect() as conn:
        for name, url in conn.execute(query):
            found.setdefault(name, []).append(url)
    return found


def outcome_of(result: SourceResult, row: SourceStatus) -> str:
    if row.entries > 0:
        return "entries"
    if result.status == "ok":
        return "empty feed"
    if result.status == "error":
        return "error"
    return f"unexplained {result.status}"


def feedparser_verdict(body: bytes, content_type: str, url: str, **headers: str) -> Any:
    """feedparser's own reading of a document as it was served (the oracle for empty feeds)."""
    response_headers = {"content-type": content_type, "content-location": url}
    response_headers |= {k.lower(): v for k, v in headers.items()}
    return feedparser.parse(body, response_headers=response_headers)


def empty_feed_problem(result: SourceResult, verdict: Any, is_json: bool) -> str | None:
    """Why an ok-but-empty source is not a legitimate empty feed (None when it is)."""
    if is_json:
        return None  # feedparser does not read JSON Feed; parse_json_feed checked the version
    if not verdict.get("version") or verdict.entries:
        return f"feedparser sees version={verdict.get('version')!r}, {len(verdict.entries)} entries"
    if verdict.get("bozo") and not (
        result.warnings and all(is_readable_error(w) for w in result.warnings)
    ):
        return f"ill-formed, no entries, and no readable warning: {result.warnings!r}"
    return None


# -- the feedparser corpus -----------------------------------------------------------------------


def test_feedparser_corpus_every_document_is_entries_an_empty_feed_or_a_readable_error(
    corpora: Path, server: FixtureServer, make_app: Callable[..., App]
) -> None:
    """All 2,107 documents as sources of one app, ingested concurrently, twice. Every problem
    found is listed before the test fails."""
    documents = feedparser_documents(corpora)
    assert len(documents) == 2_107  # 2,106 XML documents + the JSON Feed example
    for document in documents:
        server.routes[document.route] = Route(
            body=document.body, content_type=document.content_type, headers=document.headers
        )
    urls = {document.name: server.url(document.route) for document in documents}
    app = make_app([{"name": n, "url": u, "topics": []} for n, u in urls.items()], http=HTTP)

    started = time.monotonic()
    first_run = app.ingest()  # an exception escaping here fails the test
    counts_after_first = app.store.counts()
    seconds = time.monotonic() - started
    first = {result.name: result for result in first_run}
    status = {row.name: row for row in app.store.status()}
    problems: dict[str, list[str]] = {}

    def problem(kind: str, text: str) -> None:
        problems.setdefault(kind, []).append(text)

    # 1. One result per source, and each outcome accounted for.
    assert len(first) == len(first_run) == len(documents), "one result per source"
    assert set(first) == set(status) == set(urls)
    outcomes: Counter[tuple[str, str]] = Counter()
    for document in documents:
        result, row = first[document.name], status[document.name]
        outcome = outcome_of(result, row)
        outcomes[(document.group, outcome)] += 1
        if (result.error or "").startswith("unexpected error"):
            problem("crash (bug in feedbot)", f"{document.rel}: {result.error}")
        if outcome == "entries":
            if result.status != "ok" or result.new != row.entries:
                problem("inconsistent", f"{document.rel}: {result} vs {row.entries} stored")
        elif outcome == "empty feed":
            verdict = feedparser_verdict(
                document.body, document.content_type, urls[document.name], **document.headers
            )
            is_json = document.content_type == "application/feed+json"
            if why := empty_feed_problem(result, verdict, is_json):
                problem("ok without entries, not an empty feed", f"{document.rel}: {why}")
            if row.last_error is not None:
                problem("inconsistent", f"{document.rel}: ok but last_error={row.last_error!r}")
        elif outcome == "error":
            if not is_readable_error(row.last_error):
                problem("unreadable error", f"{document.rel}: {row.last_error!r}")
            if row.last_error != result.error:
                problem("inconsistent", f"{document.rel}: {row.last_error!r} != {result.error!r}")
        else:
            problem("unexplained", f"{document.rel}: {result}")

    totals: Counter[str] = Counter()
    for (_, outcome), n in outcomes.items():
        totals[outcome] += n
    print(
        f"\nfeedparser corpus: {len(documents)} documents, first run {seconds:.1f}s:", dict(totals)
    )
    for group in sorted({group for group, _ in outcomes}):
        print(f"  {group:27}", {o: n for (g, o), n in sorted(outcomes.items()) if g == group})
    errors = Counter(
        re.sub(r"\d+", "N", first[d.name].error or "")[:70]
        for d in documents
        if first[d.name].status == "error"
    )
    print("  errors:", dict(errors))
    # The run really ingested the corpus (many upstream documents test channel elements only).
    if totals["entries"] < 1_100 or totals["error"] > 0.02 * len(documents):
        problem("aggregate", f"too few entries or too many errors: {dict(totals)}")

    # 2. Well-formed documents that have entries upstream give entries (>= 95%).
    chosen = [d for d in documents if d.rel.startswith("wellformed/") and d.upstream_has_entries]
    assert len(chosen) > 1_000
    missed = [d.rel for d in chosen if status[d.name].entries == 0]
    share = 1 - len(missed) / len(chosen)
    print(
        f"  well-formed with entries upstream: {len(chosen) - len(missed)}/{len(chosen)} "
        f"({share:.1%}) gave entries; missed: {missed}"
    )
    if share < 0.95:
        problem("aggregate", f"only {share:.1%} of well-formed documents gave entries")
    [example] = [d for d in documents if d.group == "json"]
    if status[example.name].entries != 2:
        problem("json", f"JSON Feed example: {status[example.name].entries} entries, expected 2")

    # 3. HTML entities (which only a lenient parser reads) reach the source title decoded; the
    #    expected title is folded the way feedbot folds white space.
    titled = [d for d in documents if d.group == "entities" and d.expected_feed_title]
    assert len(titled) == 251
    for document in titled:
        expected = re.sub(r"\s+", " ", document.expected_feed_title or "").strip()
        if status[document.name].title != expected:
            problem(
                "entity title", f"{document.rel}: {status[document.name].title!r} != {expected!r}"
            )

    # 4. Second run: 304s, nothing new, nothing updated, same row counts; failures stay failures.
    second = {result.name: result for result in app.ingest()}
    assert set(second) == set(first)
    if app.store.counts() != counts_after_first:
        problem("second run", f"counts {counts_after_first} became {app.store.counts()}")
    for name, result in second.items():
        if result.new or result.updated:
            problem("second run", f"{name}: {result.new} new, {result.updated} updated")
        if first[name].status == "error" and result.error != first[name].error:
            problem("second run", f"{name}: error {first[name].error!r} → {result.error!r}")
    was_ok = [name for name, result in first.items() if result.status == "ok"]
    not_modified = [name for name in was_ok if second[name].status == "not_modified"]
    print(
        f"  second run: {len(not_modified)}/{len(was_ok)} answered 304; counts unchanged:",
        app.store.counts() == counts_after_first,
    )
    if len(not_modified) < 0.98 * len(was_ok):  # only a document's own ETag header defeats it
        problem("second run", f"only {len(not_modified)}/{len(was_ok)} not modified")

    for kind, lines in problems.items():
        print(f"  PROBLEM {kind} ({len(lines)}):", *lines[:15], sep="\n    ")
    assert not problems, {kind: lines[:5] for kind, lines in problems.items()}


# -- real captured feeds -------------------------------------------------------------------------

REAL_NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
REAL_TYPES = {
    ".json": "application/feed+json",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
}


def real_feed_files(corpora: Path) -> list[str]:
    """Paths (relative to real-feeds/) of the feed documents sampled."""
    root = corpora / REAL_FEEDS
    if not root.is_dir():
        return []  # the corpora fixture fails the tests below with a clear message
    found = []
    for folder in REAL_FEED_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file() or path.suffix not in FEED_SUFFIXES:
                continue
            if path.name.endswith(".serde.json"):  # feed-rs's expected parse
                continue
            if path.suffix == ".json" and path.with_suffix(".xml").exists():
                continue  # juriscraper's expected parse of the same-named .xml
            found.append(path.relative_to(root).as_posix())
    return found


def expected_entries_with_links(corpora: Path, rel: str) -> int | None:
    """Entries with at least one link in feed-rs's expected parse (None: no expectation)."""
    path = corpora / REAL_FEEDS / rel
    expectation = path.with_name(path.stem + ".serde.json")
    if not expectation.exists():
        return None
    model = json.loads(expectation.read_text("utf-8"))
    return sum(1 for entry in model["entries"] if entry.get("links"))


REAL_FILES = real_feed_files(corpora_path())
FEED_RS_WITH_EXPECTATION = [
    rel
    for rel in REAL_FILES
    if rel.startswith("feed-rs/") and expected_entries_with_links(corpora_path(), rel) is not None
]

# Where feedbot and feed-rs's expected parse disagree on whether an entry has a link, and why
# neither is a bug: the stored count is higher, by design.
LINK_DIVERGENCES = {
    # RSS 2.0 spec: a <guid> without isPermaLink="false" is the item's permalink; feed-rs only
    # reads <link>, so it expects no links; feedbot publishes the guid URLs.
    "feed-rs/rss2/rss_2.0_spec_1.xml": "RSS <guid> is a permalink by default",
    # Atom entry without <link> whose <id> is an http(s) URL: feedparser reports guidislink and
    # feedbot uses the id as the link; feed-rs keeps links empty.
    "feed-rs/atom/atom_xml_base.xml": "http(s) Atom <id> used as the link",
}


@dataclass
class RealRun:
    results: dict[str, SourceResult]
    status: dict[str, SourceStatus]
    urls: dict[str, list[str | None]]
    seconds: float


@pytest.fixture(scope="module")
def real_run(corpora: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealRun]:
    """Serve every sampled real feed and fetch them all in one run (module-scoped, so the
    parametrized tests below share it: hence our own server and app, not the per-test ones)."""
    root = corpora / REAL_FEEDS
    folder = tmp_path_factory.mktemp("real-feeds")
    with FixtureServer() as server:
        sources = []
        for rel in REAL_FILES:
            path = root / rel
            # No charset: each document's own declaration decides, as with a file.
            content_type = REAL_TYPES.get(path.suffix, "application/xml")
            server.routes["/real/" + rel] = Route(body=path.read_bytes(), content_type=content_type)
            sources.append({"name": "real " + rel, "url": server.url("/real/" + rel)})
        settings = settings_from_dict(
            {
                "title": "Real feeds",
                "base_url": "https://digest.example.org/",
                "database_url": f"sqlite:///{folder / 'feedbot.db'}",
                "http": {"allow_private_networks": True, "min_host_interval_seconds": 0, **HTTP},
                "links": {"resolve": False},  # their links lead to the real web
                "research": {"resolve": False},
                "sources": sources,
            },
            folder / "feedbot.toml",
        )
        app = open_app(settings, clock=lambda: REAL_NOW)
        try:
            started = time.monotonic()
            results = app.ingest()
            seconds = time.monotonic() - started
            assert len(results) == len(REAL_FILES)
            yield RealRun(
                results={r.name.removeprefix("real "): r for r in results},
                status={row.name.removeprefix("real "): row for row in app.store.status()},
                urls={k.removeprefix("real "): v for k, v in stored_urls(app).items()},
                seconds=seconds,
            )
        finally:
            app.close()


@pytest.mark.parametrize("rel", REAL_FILES)
def test_real_feed_yields_entries_or_a_readable_error(
    real_run: RealRun, corpora: Path, rel: str
) -> None:
    """Each real feed: stored entries with web links only, a legitimate empty feed, or a
    readable error; never our code crashing."""
    result, row = real_run.results[rel], real_run.status[rel]
    assert not (result.error or "").startswith("unexpected error"), result.error
    if row.entries:
        assert result.status == "ok" and result.new == row.entries
        urls = real_run.urls[rel]
        assert all(url is None or re.match(r"^https?://", url) for url in urls), urls[:5]
    elif result.status == "ok":
        path = corpora / REAL_FEEDS / rel
        content_type = REAL_TYPES.get(path.suffix, "application/xml")
        verdict = feedparser_verdict(path.read_bytes(), content_type, "http://127.0.0.1/" + rel)
        why = empty_feed_problem(result, verdict, content_type == "application/feed+json")
        assert why is None, why
        assert row.last_error is None
    else:
        assert result.status == "error"
        assert is_readable_error(row.last_error), row.last_error
        assert row.last_error == result.error


def test_real_feed_sample_gives_entries(real_run: RealRun) -> None:
    """The sample is real feeds: only the deliberately broken and non-feed samples may come back
    without entries, and the non-feeds as errors."""
    assert len(REAL_FILES) >= 130
    without = sorted(rel for rel, row in real_run.status.items() if row.entries == 0)
    print(
        f"\nreal feeds: {len(REAL_FILES)} fetched in {real_run.seconds:.1f}s; without entries:",
        {rel: real_run.results[rel].error or "ok, empty" for rel in without},
    )
    assert set(without) <= {
        "feed-rs/rss2/rss_2.0_invalid_1.xml",  # truncated before its first item: no entries
        "feed-rs/xml/xml_sample_1.xml",  # not feeds
        "feed-rs/xml/xml_sample_2.xml",
        "rss-parser/input/unrecognized.rss",  # an HTML "Document Moved" page (no expected parse)
    }, without
    not_feeds = (
        "feed-rs/xml/xml_sample_1.xml",
        "feed-rs/xml/xml_sample_2.xml",
        "rss-parser/input/unrecognized.rss",
    )
    for rel in not_feeds:
        assert real_run.results[rel].status == "error", rel


@pytest.mark.parametrize("rel", FEED_RS_WITH_EXPECTATION)
def test_feed_rs_entries_with_a_link_match_the_expected_parse(
    real_run: RealRun, corpora: Path, rel: str
) -> None:
    """As many stored entries carry a link as feed-rs's expected model has entries with links
    (relative links count: feedbot resolves them against the feed URL)."""
    expected = expected_entries_with_links(corpora, rel)
    assert expected is not None
    stored = sum(1 for url in real_run.urls.get(rel, []) if url)
    assert real_run.results[rel].status == "ok", real_run.results[rel].error
    assert len(real_run.urls.get(rel, [])) > 0
    if rel in LINK_DIVERGENCES:
        assert stored > expected, f"the known divergence is gone: {LINK_DIVERGENCES[rel]}"
    else:
        assert stored == expected
