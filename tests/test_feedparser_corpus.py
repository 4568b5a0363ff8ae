"""Acceptance: every feed test document of the feedparser project, and a sample of real captured
feeds, served over local HTTP and fetched as sources in one concurrent run.

What these tests prove:

* no exception escapes ``App.ingest()``, whatever the document (well-formed, ill-formed, odd
  encodings, misleading HTTP headers, HTML entities, JSON Feed);
* every source ends the run with a :class:`SourceResult`, and either has stored entries, is a real
  feed with no entries (status ok, and feedparser agrees it is a feed without entries), or has a
  readable one-line ``last_error`` that is not an "unexpected error" (our code crashing);
* nearly all the well-formed documents that have entries upstream give us entries;
* a second run (the server answers 304 to the ETag) stores nothing twice;
* for the real feeds, the entries we store with a link match feed-rs's expected parse.
"""

from __future__ import annotations

import json
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
# Folders of real-feeds/ sampled; only feed documents (not the projects' expected-output JSON).
REAL_FEED_FOLDERS = (
    "feed-rs",
    "rss-parser/input",
    "miniflux/parser/testdata",
    "ai-rss-feeds/head",
    "arxiv",
    "juriscraper-law/pacer/rss_feeds",
)
FEED_SUFFIXES = (".xml", ".json", ".rss", ".atom")
# Enough in flight that 2,000 local documents take seconds, not minutes.
HTTP = {"max_per_host": 16, "max_connections": 32, "retries": 0, "timeout_seconds": 30}
MAX_ERROR_LENGTH = 300


@dataclass(frozen=True)
class Document:
    """One test document: where it lives, how it is served, what upstream expects of it."""

    rel: str  # path relative to the corpus's tests/ folder, e.g. "wellformed/rss/foo.xml"
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
        """Upstream's expectation looks at an entry: the document has at least one."""
        return "entries[0]" in self.expect or "len(entries) ==" in self.expect


def feedparser_documents(corpora: Path) -> list[Document]:
    """All 2,106 XML test documents of the manifest, plus the JSON Feed example."""
    folder = corpora / FEEDPARSER_TESTS
    manifest = json.loads((folder / "feedparser_expectations_manifest.json").read_text("utf-8"))
    documents = []
    for record in manifest:
        headers = dict(record["http_headers"] or {})
        # The server sends Content-Type itself; upstream's header names vary in case.
        declared = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        headers = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        documents.append(
            Document(
                rel=record["path"].removeprefix("tests/"),
                body=(folder / record["path"]).read_bytes(),
                # Upstream reads files without HTTP: no charset, so the document's own XML
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
                rel=str(path.relative_to(folder / "tests")),
                body=body,
                content_type="application/feed+json",
                expect=json.loads(body).get("__TEST__", ""),
            )
        )
    return documents


def serve(server: FixtureServer, documents: list[Document]) -> None:
    for document in documents:
        server.routes[document.route] = Route(
            body=document.body, content_type=document.content_type, headers=document.headers
        )


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
    """Source name → the URL of each entry stored for it (None for entries without a link)."""
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


def feedparser_oracle(document: Document, url: str) -> Any:
    """feedparser's own verdict on the document, as served (same headers)."""
    headers = {"content-type": document.content_type, "content-location": url}
    headers |= {k.lower(): v for k, v in document.headers.items()}
    return feedparser.parse(document.body, response_headers=headers)


# -- the feedparser corpus -----------------------------------------------------------------------


@dataclass
class CorpusRun:
    documents: list[Document]
    urls: dict[str, str]
    first: dict[str, SourceResult]
    second: dict[str, SourceResult]
    status: dict[str, SourceStatus]
    counts_after_first: dict[str, int]
    counts_after_second: dict[str, int]
    seconds: float


@pytest.fixture
def corpus_run(
    corpora: Path, server: FixtureServer, make_app: Callable[..., App]
) -> CorpusRun:
    """Serve every document, configure one source each, ingest twice."""
    documents = feedparser_documents(corpora)
    assert len(documents) == 2_107  # 2,106 XML documents + the JSON Feed example
    serve(server, documents)
    urls = {document.name: server.url(document.route) for document in documents}
    sources = [{"name": name, "url": url, "topics": []} for name, url in urls.items()]
    app = make_app(sources, http=HTTP)
    started = time.monotonic()
    first = app.ingest()  # any exception escaping here fails the test
    after_first = app.store.counts()
    second = app.ingest()
    seconds = time.monotonic() - started
    run = CorpusRun(
        documents=documents,
        urls=urls,
        first={result.name: result for result in first},
        second={result.name: result for result in second},
        status={row.name: row for row in app.store.status()},
        counts_after_first=after_first,
        counts_after_second=app.store.counts(),
        seconds=seconds,
    )
    assert len(run.first) == len(first), "a source got two results in one run"
    return run


def test_feedparser_corpus_every_document_yields_entries_or_a_readable_error(
    corpus_run: CorpusRun,
) -> None:
    """Every one of the 2,107 documents: no crash, and entries, a real empty feed, or a
    readable error on its source."""
    run = corpus_run
    names = {document.name for document in run.documents}
    assert set(run.first) == names, "every source gets a result"
    assert set(run.status) == names

    outcomes: Counter[tuple[str, str]] = Counter()
    crashes, unreadable, unexplained, fake_empty = [], [], [], []
    for document in run.documents:
        result, row = run.first[document.name], run.status[document.name]
        outcome = outcome_of(result, row)
        outcomes[(document.group, outcome)] += 1
        if (result.error or "").startswith("unexpected error"):
            crashes.append(f"{document.rel}: {result.error}")
        if outcome == "entries":
            assert result.status == "ok", document.rel
            assert result.new == row.entries, document.rel
        elif outcome == "empty feed":
            oracle = feedparser_oracle(document, run.urls[document.name])
            is_json = document.content_type == "application/feed+json"
            if not is_json and (not oracle.get("version") or oracle.entries):
                fake_empty.append(f"{document.rel}: version={oracle.get('version')!r}, "
                                  f"{len(oracle.entries)} entries upstream")  # fmt: skip
            assert row.last_error is None, document.rel
        elif outcome == "error":
            if not is_readable_error(row.last_error):
                unreadable.append(f"{document.rel}: {row.last_error!r}")
            assert row.last_error == result.error, document.rel
        else:
            unexplained.append(f"{document.rel}: {result}")

    summary = Counter()
    for (_, outcome), n in outcomes.items():
        summary[outcome] += n
    print(f"\nfeedparser corpus: {len(run.documents)} documents in {run.seconds:.1f}s (2 runs):",
          dict(summary))  # fmt: skip
    for group in sorted({group for group, _ in outcomes}):
        print(f"  {group:28}", {o: n for (g, o), n in sorted(outcomes.items()) if g == group})
    for line in crashes + unreadable:
        print("  PROBLEM", line)

    assert not crashes, f"{len(crashes)} documents crashed our code: {crashes[:10]}"
    assert not unreadable, f"{len(unreadable)} unreadable errors: {unreadable[:10]}"
    assert not unexplained, unexplained[:10]
    assert not fake_empty, f"ok without entries but not an empty feed: {fake_empty[:10]}"
    assert summary["entries"] > 1_900, summary  # the run really ingested the corpus


def test_feedparser_corpus_wellformed_documents_with_entries_give_entries(
    corpus_run: CorpusRun,
) -> None:
    """At least 95% of the well-formed documents whose upstream expectation reads an entry give
    us entries; the misses are listed."""
    run = corpus_run
    chosen = [
        d for d in run.documents if d.rel.startswith("wellformed/") and d.upstream_has_entries
    ]
    assert len(chosen) > 1_000
    missed = [d for d in chosen if run.status[d.name].entries == 0]
    for document in missed:
        result = run.first[document.name]
        print(f"  no entries: {document.rel}: {result.status} {result.error or ''}")
    share = 1 - len(missed) / len(chosen)
    print(f"\nwell-formed with entries upstream: {len(chosen) - len(missed)}/{len(chosen)} "
          f"({share:.1%}) gave entries")  # fmt: skip
    assert share >= 0.95, [d.rel for d in missed[:20]]
    # The entity documents are one entry each with one HTML entity: all must come through.
    entities = [d for d in run.documents if d.group == "entities"]
    assert len(entities) == 256
    assert all(run.status[d.name].entries == 1 for d in entities), [
        d.rel for d in entities if run.status[d.name].entries != 1
    ][:10]
    # The JSON Feed example has two items.
    [example] = [d for d in run.documents if d.group == "json"]
    assert run.status[example.name].entries == 2


def test_feedparser_corpus_second_run_stores_nothing_twice(corpus_run: CorpusRun) -> None:
    """Run two: conditional GETs answered 304 (except where the document's own ETag header
    defeats it), no new or updated entries, and the same row counts."""
    run = corpus_run
    assert set(run.second) == set(run.first)
    assert run.counts_after_second == run.counts_after_first
    changed = [r for r in run.second.values() if r.new or r.updated]
    assert not changed, changed[:10]
    was_ok = [name for name, r in run.first.items() if r.status == "ok"]
    not_modified = [name for name in was_ok if run.second[name].status == "not_modified"]
    print(f"\nsecond run: {len(not_modified)}/{len(was_ok)} answered 304")
    assert len(not_modified) >= 0.98 * len(was_ok)
    # Failures stay failures with the same message, and are counted.
    for name, result in run.first.items():
        if result.status == "error":
            assert run.second[name].error == result.error, name
            assert run.status[name].consecutive_failures == 2, name


# -- real captured feeds -------------------------------------------------------------------------

REAL_NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def real_feed_files(corpora: Path) -> list[str]:
    """Paths (relative to real-feeds/) of the feed documents sampled."""
    root = corpora / REAL_FEEDS
    found = []
    for folder in REAL_FEED_FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if not path.is_file() or path.suffix not in FEED_SUFFIXES:
                continue
            if path.name.endswith(".serde.json"):  # feed-rs's expected parse
                continue
            if path.suffix == ".json" and path.with_suffix(".xml").exists():
                continue  # juriscraper's expected parse of the same-named .xml
            found.append(str(path.relative_to(root)))
    return found


def _corpora_path() -> Path:
    import os

    repo = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("FEEDBOT_CORPORA") or repo.parent / "shared" / "corpora")


REAL_FILES = real_feed_files(_corpora_path()) if (_corpora_path() / REAL_FEEDS).is_dir() else []

# Where feedbot and feed-rs's expected parse legitimately disagree on whether an entry has a link.
LINK_DIVERGENCES = {
    # RSS 2.0: a <guid> without isPermaLink="false" IS the permalink (RSS 2.0 spec, "guid");
    # feed-rs only reads <link>, so it expects no link; we publish the guid URL.
    "feed-rs/rss2/rss_2.0_spec_1.xml": "RSS guid is a permalink by default",
    # Atom entry with no <link> but an http(s) <id>: feedparser marks it guidislink and we use it;
    # feed-rs keeps links empty.
    "feed-rs/atom/atom_xml_base.xml": "Atom http(s) id used as the link",
}


@dataclass
class RealRun:
    results: dict[str, SourceResult]
    status: dict[str, SourceStatus]
    urls: dict[str, list[str | None]]


@pytest.fixture(scope="module")
def real_run(
    corpora: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RealRun]:
    """Serve every sampled real feed and fetch them all in one run."""
    root = corpora / REAL_FEEDS
    assert REAL_FILES, "no real feeds found"
    folder = tmp_path_factory.mktemp("real-feeds")
    with FixtureServer() as server:
        sources = []
        for rel in REAL_FILES:
            path = root / rel
            content_type = {
                ".json": "application/feed+json",
                ".rss": "application/rss+xml",
                ".atom": "application/atom+xml",
            }.get(path.suffix, "application/xml")  # no charset: the document declares its own
            server.routes["/real/" + rel] = Route(body=path.read_bytes(), content_type=content_type)
            sources.append({"name": "real " + rel, "url": server.url("/real/" + rel)})
        settings = settings_from_dict(
            {
                "title": "Real feeds",
                "base_url": "https://digest.example.org/",
                "database_url": f"sqlite:///{folder / 'feedbot.db'}",
                "http": {"allow_private_networks": True, **HTTP},
                "sources": sources,
            },
            folder / "feedbot.toml",
        )
        app = open_app(settings, clock=lambda: REAL_NOW)
        try:
            results = app.ingest()
            yield RealRun(
                results={r.name.removeprefix("real "): r for r in results},
                status={row.name.removeprefix("real "): row for row in app.store.status()},
                urls={k.removeprefix("real "): v for k, v in stored_urls(app).items()},
            )
        finally:
            app.close()


@pytest.mark.parametrize("rel", REAL_FILES)
def test_real_feed_yields_entries_or_a_readable_error(real_run: RealRun, rel: str) -> None:
    """Each real feed: stored entries, or a readable error; never our code crashing."""
    result, row = real_run.results[rel], real_run.status[rel]
    assert not (result.error or "").startswith("unexpected error"), result.error
    if result.status == "ok":
        assert row.entries > 0 or result.new == 0
        assert row.last_error is None
    else:
        assert result.status == "error"
        assert is_readable_error(row.last_error), row.last_error
    if row.entries:
        urls = real_run.urls.get(rel, [])
        assert all(url is None or re.match(r"^https?://", url) for url in urls), urls[:5]


def test_real_feed_sample_mostly_yields_entries(real_run: RealRun) -> None:
    """The sample is real feeds: all but the deliberately broken or non-feed ones give entries."""
    without = sorted(rel for rel, row in real_run.status.items() if row.entries == 0)
    print("\nreal feeds without entries:", {rel: real_run.results[rel].error for rel in without})
    assert len(REAL_FILES) >= 130
    assert len(without) <= 0.05 * len(REAL_FILES), without


FEED_RS_EXPECTED = [rel for rel in REAL_FILES if rel.startswith("feed-rs/")]


def _expected_links(corpora: Path, rel: str) -> int | None:
    expectation = (corpora / REAL_FEEDS / rel).with_suffix("")
    expectation = expectation.with_name(expectation.name + ".serde.json")
    if not expectation.exists():
        return None
    model = json.loads(expectation.read_text("utf-8"))
    return sum(1 for entry in model["entries"] if entry.get("links"))


@pytest.mark.parametrize(
    "rel", [rel for rel in FEED_RS_EXPECTED if _expected_links(_corpora_path(), rel) is not None]
)
def test_feed_rs_entries_with_a_link_match_the_expected_parse(
    real_run: RealRun, corpora: Path, rel: str
) -> None:
    """As many stored entries carry a link as feed-rs's expected model has entries with links
    (relative links are resolved against the feed URL, so they count too)."""
    expected = _expected_links(corpora, rel)
    stored = sum(1 for url in real_run.urls.get(rel, []) if url)
    if rel in LINK_DIVERGENCES:
        assert stored > expected, f"divergence gone? {LINK_DIVERGENCES[rel]}"
        return
    assert real_run.results[rel].status == "ok", real_run.results[rel].error
    assert stored == expected


def test_feed_rs_invalid_feed_is_a_readable_error(real_run: RealRun) -> None:
    """feed-rs's own must-fail document, and its non-feed XML samples, fail readably or are a
    feed with no entries; never a crash."""
    for rel in ("feed-rs/rss2/rss_2.0_invalid_1.xml", "feed-rs/xml/xml_sample_1.xml"):
        result, row = real_run.results[rel], real_run.status[rel]
        assert row.entries == 0, rel
        assert result.status == "error" and is_readable_error(row.last_error), (rel, result)


def test_entries_are_counted_per_source(real_run: RealRun) -> None:
    """The status rows agree with the entries table."""
    for rel, row in real_run.status.items():
        assert row.entries == len(real_run.urls.get(rel, [])), rel


