"""The stages of a run, in order: ingest → resolve → tag. (Publishing is :mod:`feedbot.publish`.)

    for each due source, concurrently:   fetch (HttpClient) → parse (sources/*) → shared links ─┐
    one writer, in batches of arrivals:  store.save_fetches (one transaction a batch) ◄───────────┘
    for each URL not resolved yet:       expand (links/expand) → canonical + metadata ─┐
    one writer, in batches of arrivals:  store.save_resolutions (merges into links) ◄──┘
                                         store.complete_partial_links
    then:                                tag the links that are new or changed

A failing source is recorded and the run goes on. A database failure stops the run; every source
stored before it stays stored, and the next run picks up from there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from feedbot.config import LinkSettings
from feedbot.errors import FeedbotError
from feedbot.http import HttpClient
from feedbot.links.expand import Expander, Resolution
from feedbot.records import FetchReport
from feedbot.sources import SourceState, registry
from feedbot.store import Store
from feedbot.tagging import Tagger

log = logging.getLogger(__name__)

WRITE_BATCH = 200  # results written in one transaction at most
WRITE_WINDOW = 0.05  # seconds a batch waits for more results

Clock = Callable[[], datetime]
T = TypeVar("T")


@dataclass(frozen=True)
class SourceResult:
    name: str
    status: str  # "ok", "not_modified" or "error"
    new: int = 0
    updated: int = 0
    error: str | None = None
    warnings: tuple[str, ...] = ()


async def ingest(
    store: Store,
    http: HttpClient,
    sources: Sequence[SourceState],
    clock: Clock,
    progress: Callable[[SourceResult], None] = lambda result: None,
) -> list[SourceResult]:
    """Fetch every source concurrently and store each result as it arrives."""
    fetchers = registry()
    arrivals: asyncio.Queue[FetchReport] = asyncio.Queue()

    async def fetch(source: SourceState) -> None:
        started = clock()
        try:
            fetcher = fetchers.get(source.kind)
            if fetcher is None:
                raise FeedbotError(f"unknown source kind {source.kind!r}")
            outcome = await fetcher.fetch(source, http)
        except FeedbotError as e:
            await arrivals.put(FetchReport(source.id, started, clock(), error=str(e)))
        except Exception as e:  # a bug or a library surprise: recorded, never fatal to the run
            log.exception("unexpected error fetching %s", source.name)
            error = f"unexpected error: {type(e).__name__}: {e}"
            await arrivals.put(FetchReport(source.id, started, clock(), error=error))
        else:
            await arrivals.put(FetchReport(source.id, started, clock(), outcome=outcome))

    tasks = [asyncio.create_task(fetch(source)) for source in sources]
    by_id = {source.id: source for source in sources}
    results: list[SourceResult] = []
    try:
        while len(results) < len(tasks):
            # Everything that has arrived is written in one transaction: cheap when hundreds of
            # feeds answer 304 at once, and a crash loses at most the batch being written.
            batch = await _next_batch(arrivals, len(tasks) - len(results))
            saved = store.save_fetches(batch)
            for report, result in zip(batch, saved, strict=True):
                source = by_id[report.source_id]
                if report.outcome is None:
                    done = SourceResult(source.name, "error", error=report.error)
                else:
                    outcome = report.outcome
                    done = SourceResult(
                        source.name,
                        outcome.status,
                        result.new,
                        result.updated,
                        None,
                        outcome.warnings,
                    )
                results.append(done)
                progress(done)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return results


@dataclass(frozen=True)
class ResolveReport:
    resolved: int  # URLs that reached an article (or a PDF, an image…)
    failed: int  # URLs whose chain broke; retried later
    completed_partials: int  # truncated display URLs completed by a known link


async def resolve(
    store: Store,
    http: HttpClient,
    settings: LinkSettings,
    clock: Clock,
    due: Sequence[tuple[int, str]] | None = None,
    progress: Callable[[Resolution], None] = lambda result: None,
) -> ResolveReport:
    """Resolve every shared URL that is new or due for a retry (or just ``due``), storing the
    results in batches as they arrive; then complete truncated URLs from the links now known."""
    if due is None:
        due = store.resolutions_due(clock(), settings.max_attempts)
    expander = Expander(http, settings, store.rules)
    arrivals: asyncio.Queue[tuple[int, Resolution]] = asyncio.Queue()

    async def one(resolution_id: int, url: str) -> None:
        try:
            result = await expander.resolve(url)
        except Exception as e:  # a bug or a library surprise: recorded, never fatal to the run
            log.exception("unexpected error resolving %s", url)
            result = expander.broken(url, f"unexpected error: {type(e).__name__}: {e}")
        await arrivals.put((resolution_id, result))

    tasks = [asyncio.create_task(one(rid, url)) for rid, url in due]
    resolved = failed = 0
    try:
        while resolved + failed < len(tasks):
            batch = await _next_batch(arrivals, len(tasks) - resolved - failed)
            store.save_resolutions(batch, clock(), settings.retry_hours, settings.max_attempts)
            for _, result in batch:
                if result.succeeded:
                    resolved += 1
                else:
                    failed += 1
                progress(result)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return ResolveReport(resolved, failed, store.complete_partial_links())


async def _next_batch(arrivals: asyncio.Queue[T], outstanding: int) -> list[T]:
    """The next arrival and whatever else arrives within ``WRITE_WINDOW`` seconds."""
    batch = [await arrivals.get()]
    deadline = asyncio.get_running_loop().time() + WRITE_WINDOW
    while len(batch) < min(WRITE_BATCH, outstanding):
        while not arrivals.empty() and len(batch) < WRITE_BATCH:
            batch.append(arrivals.get_nowait())
        if len(batch) >= outstanding or asyncio.get_running_loop().time() >= deadline:
            break
        await asyncio.sleep(WRITE_WINDOW / 10)
    return batch


def tag(store: Store, tagger: Tagger, everything: bool = False) -> int:
    """Assign topics to links that are new or changed (all links with ``everything``)."""
    defaults = store.source_defaults()
    tags = {}
    for link_id, title, text, source_ids in store.links_to_tag(everything):
        source_topics = {topic for sid in source_ids for topic in defaults.get(sid, ())}
        tags[link_id] = [
            (a.topic_id, a.score, a.reason) for a in tagger.tag(title, text, source_topics)
        ]
    store.save_tags(tags)
    return len(tags)
