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
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from feedbot.config import LinkSettings, ResearchSettings
from feedbot.errors import FeedbotError
from feedbot.http import HttpClient, RetryLaterError
from feedbot.links.canonical import UrlRules
from feedbot.links.citation import Citation
from feedbot.links.expand import Expander, Resolution
from feedbot.records import FetchReport, LinkFacts, SaveResult, TagInput
from feedbot.sources import Fetcher, SourceState
from feedbot.store import Store
from feedbot.tagging import ItemText, Tagger

if TYPE_CHECKING:
    from feedbot.links.scholarly import ScholarlyClient

log = logging.getLogger(__name__)

WRITE_BATCH = 200  # results written in one transaction at most
# A batch takes results while they keep coming: it is written once none came for WRITE_PAUSE
# seconds (or none is outstanding), WRITE_WINDOW seconds after its first at the latest. A
# transaction costs mostly its statements, whatever its rows: a worker storing its claimed
# sources in one batch, however slowly they arrive while other processes share the CPU, pays
# that once; results that are in do not wait for a slow source.
WRITE_PAUSE = 0.05
WRITE_WINDOW = 1.0

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
    fetchers: Mapping[str, Fetcher],
    clock: Clock,
    progress: Callable[[SourceResult], None] = lambda result: None,
    save: Callable[[list[FetchReport]], list[SaveResult]] | None = None,
) -> list[SourceResult]:
    """Fetch every source concurrently with the fetcher of its kind and store each result as
    it arrives (with ``save``, when given: a worker also sets each source's next due time and
    releases its lease in the same transaction)."""
    arrivals: asyncio.Queue[FetchReport] = asyncio.Queue()
    save = save or store.save_fetches

    async def fetch(source: SourceState) -> None:
        started = clock()
        try:
            fetcher = fetchers.get(source.kind)
            if fetcher is None:
                raise FeedbotError(f"unknown source kind {source.kind!r}")
            outcome = await fetcher.fetch(source, http)
        except RetryLaterError as e:
            report = FetchReport(source.id, started, clock(), error=str(e),
                                 retry_after=e.retry_after)  # fmt: skip
            await arrivals.put(report)
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
            saved = save(batch)
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


# Resolves the URLs it is given and puts each result on the queue; see feedbot.links.parallel.
Producer = Callable[
    [Sequence[tuple[int, str]], "asyncio.Queue[tuple[int, Resolution]]"],
    Coroutine[Any, Any, None],
]


def resolve_here(http: HttpClient, settings: LinkSettings, rules: UrlRules) -> Producer:
    """Resolve in this process, on this event loop, through ``http``."""
    expander = Expander(http, settings, rules)

    async def produce(
        due: Sequence[tuple[int, str]], arrivals: asyncio.Queue[tuple[int, Resolution]]
    ) -> None:
        async def one(resolution_id: int, url: str) -> None:
            try:
                result = await expander.resolve(url)
            except Exception as e:  # a bug or a library surprise: recorded, never fatal
                log.exception("unexpected error resolving %s", url)
                result = expander.broken(url, f"unexpected error: {type(e).__name__}: {e}")
            await arrivals.put((resolution_id, result))

        tasks = [asyncio.create_task(one(rid, url)) for rid, url in due]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    return produce


async def resolve(
    store: Store,
    produce: Producer,
    settings: LinkSettings,
    clock: Clock,
    due: Sequence[tuple[int, str]] | None = None,
    progress: Callable[[Resolution], None] = lambda result: None,
) -> ResolveReport:
    """Resolve every shared URL that is new or due for a retry (or just ``due``) with
    ``produce``, storing the results in batches as they arrive; then complete truncated URLs
    from the links now known. URLs a producer could not finish stay due for the next run."""
    if due is None:
        due = store.resolutions_due(clock(), settings.max_attempts)
    arrivals: asyncio.Queue[tuple[int, Resolution]] = asyncio.Queue()
    producing = asyncio.create_task(produce(due, arrivals))
    resolved = failed = 0
    try:
        while resolved + failed < len(due):
            if producing.done() and arrivals.empty():
                producing.result()  # re-raises what stopped the producer, if anything
                break
            waiting = asyncio.create_task(arrivals.get())
            await asyncio.wait({waiting, producing}, return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():
                waiting.cancel()
                continue
            batch = await _next_batch(arrivals, len(due) - resolved - failed, waiting.result())
            store.save_resolutions(batch, clock(), settings.retry_hours, settings.max_attempts)
            for _, result in batch:
                if result.succeeded:
                    resolved += 1
                else:
                    failed += 1
                progress(result)
    finally:
        producing.cancel()
        await asyncio.gather(producing, return_exceptions=True)
    return ResolveReport(resolved, failed, store.complete_partial_links())


async def _next_batch(
    arrivals: asyncio.Queue[T], outstanding: int, first: T | None = None
) -> list[T]:
    """The next arrival (``first``, when already taken) and those that follow it, each within
    ``WRITE_PAUSE`` seconds of the one before, for ``WRITE_WINDOW`` seconds at most and up to
    ``WRITE_BATCH``; done at once when nothing is outstanding."""
    batch = [first if first is not None else await arrivals.get()]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WRITE_WINDOW
    while len(batch) < min(WRITE_BATCH, outstanding):
        try:
            async with asyncio.timeout_at(min(deadline, loop.time() + WRITE_PAUSE)):
                batch.append(await arrivals.get())
        except TimeoutError:
            break
    return batch


def tag(store: Store, tagger: Tagger, everything: bool = False) -> int:
    """Assign topics to the links that are new or changed, or were tagged under another
    taxonomy, model or set of labels (every link with ``everything``)."""
    defaults = store.source_defaults()
    due = store.links_to_tag(tagger.fingerprint, everything)
    items = [tag_input(link, defaults) for link in due]
    tags = {
        link.id: [(a.topic_id, a.score, a.reason) for a in assigned]
        for link, assigned in zip(due, tagger.tag_many(items), strict=True)
    }
    store.save_tags(tags, tagger.fingerprint)
    return len(tags)


def tag_input(link: TagInput, source_defaults: Mapping[int, Sequence[str]]) -> ItemText:
    """What the tagger reads of a link: its title and text, URL, the default topics of the
    sources that shared it, and for papers their journal, ISSNs, subjects and arXiv
    categories."""
    paper = link.citation
    topics = sorted({t for sid in link.source_ids for t in source_defaults.get(sid, ())})
    return ItemText(
        title=link.title or "",
        summary=" ".join(text for text in link.texts if text),
        url=link.url,
        source_topics=tuple(topics),
        arxiv_categories=paper.categories if paper else (),
        journal=(paper.container or "") if paper else "",
        issns=paper.issns if paper else (),
        subjects=paper.subjects if paper else (),
    )


@dataclass(frozen=True)
class ResearchReport:
    papers: int  # links found to be papers this run
    cited: int  # citations looked up successfully
    failed: int  # lookups that failed (retried later) or found nothing
    recovered: int = 0  # citation texts whose DOI was recovered
    unresolved: int = 0  # citation texts left unresolved (the note says why)


def identify_paper(facts: LinkFacts) -> tuple[str | None, str | None]:
    """``(doi, arxiv id)`` of a link: from its URL, the URLs its resolutions reached, or its
    page's scholarly meta tags; ``(None, None)`` when it is not a paper."""
    from feedbot.links.arxiv import arxiv_id_from_doi, arxiv_id_in_url, normalize_arxiv_id
    from feedbot.links.doi import doi_in_metadata, doi_in_url

    urls = [facts.url, *facts.urls]
    doi = next(filter(None, map(doi_in_url, urls)), None) or doi_in_metadata(facts.citation)
    arxiv = arxiv_id_from_doi(doi) if doi else None
    if arxiv:
        return None, arxiv
    if doi:
        return doi, None
    declared = [normalize_arxiv_id(v) for v in facts.citation.get("citation_arxiv_id", ())]
    found = [*map(arxiv_id_in_url, urls), *declared]
    return None, next(filter(None, found), None)


async def research(
    store: Store, client: ScholarlyClient | None, clock: Clock, settings: ResearchSettings
) -> ResearchReport:
    """Find the papers among the links (each paper becomes one item under its DOI or arXiv
    id); then, with a ``client``, recover the DOIs of citation texts in posts and turn DOIs and
    arXiv ids into citations. Failed lookups are retried with backoff in later runs."""
    found = {facts.id: identify_paper(facts) for facts in store.links_to_identify()}
    store.set_identifiers(found, clock())
    papers = sum(1 for ids in found.values() if ids != (None, None))
    if client is None:
        return ResearchReport(papers, 0, 0)
    recovered, unresolved = await recover_references(store, client, clock, settings)
    due = store.papers_due(clock(), settings.max_attempts, settings.retry_hours)
    results: list[tuple[int, str, Citation | None, str | None]] = []
    by_doi = [(link_id, doi) for link_id, doi, _ in due if doi]
    lookups = await asyncio.gather(*(client.doi(doi) for _, doi in by_doi))
    for (link_id, _), lookup in zip(by_doi, lookups, strict=True):
        results.append((link_id, lookup.status, lookup.citation, lookup.error))
    by_arxiv = {arxiv: link_id for link_id, doi, arxiv in due if arxiv and not doi}
    if by_arxiv:
        answers = await client.arxiv(sorted(by_arxiv))
        for arxiv, link_id in by_arxiv.items():
            answer = answers.get(arxiv)
            if answer is None:
                results.append((link_id, "not_found", None, "arXiv did not answer for it"))
            else:
                results.append((link_id, answer.status, answer.citation, answer.error))
    store.save_papers(results, clock())
    cited = sum(1 for _, state, _, _ in results if state == "ok")
    return ResearchReport(papers, cited, len(results) - cited, recovered, unresolved)


async def recover_references(
    store: Store, client: ScholarlyClient, clock: Clock, settings: ResearchSettings
) -> tuple[int, int]:
    """Search Crossref for the citation texts found in posts and keep the DOI of each only
    when exactly one candidate is consistent (see :mod:`feedbot.links.recover`). Returns
    (recovered, unresolved); a failed search is retried in a later run."""
    from feedbot.links.recover import parse_reference, recover

    results: list[tuple[int, str, Citation | None, str]] = []
    for reference_id, text in store.references_due(
        clock(), settings.max_attempts, settings.retry_hours
    ):
        reference = parse_reference(text)
        if reference is None:
            results.append((reference_id, "unresolved", None, "unresolved: not a reference"))
            continue
        recovery = await recover(reference, client.crossref_search)
        if recovery.citation is not None:
            state = "recovered"
        else:
            state = "error" if recovery.search_failed else "unresolved"
        results.append((reference_id, state, recovery.citation, recovery.note))
    store.save_recoveries(results, clock())
    recovered = sum(1 for _, state, _, _ in results if state == "recovered")
    return recovered, sum(1 for _, state, _, _ in results if state == "unresolved")
