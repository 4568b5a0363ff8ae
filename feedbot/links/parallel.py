"""Resolving links in several processes, so a big backlog uses every core.

Following a link costs CPU (HTTP parsing, reading the page's head) more than it waits on the
network when the network is fast, and one Python process uses one core. With
``links.workers`` > 1 and enough URLs due, each worker process resolves its share with its own
event loop and HTTP client and sends the results back; the parent stays the only writer, storing
them in batches as they arrive, exactly as when resolving in-process. The politeness limits are
split between the workers (each gets its share of ``max_per_host`` and ``max_connections``, and
``min_host_interval_seconds`` times the number of workers), so together they keep them.

A worker that dies leaves its unfinished URLs due: the next run picks them up.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import queue
from collections.abc import Sequence
from multiprocessing.context import SpawnProcess
from typing import TYPE_CHECKING, Any

from feedbot.config import Settings
from feedbot.links.expand import Resolution

if TYPE_CHECKING:
    from feedbot.pipeline import Producer

log = logging.getLogger(__name__)

_DONE = "done"


def worker_settings(settings: Settings, workers: int) -> Settings:
    """``settings`` with the HTTP politeness limits divided among ``workers`` processes."""
    http = settings.http
    shared = http.model_copy(
        update={
            "max_per_host": max(1, http.max_per_host // workers),
            "max_connections": max(1, math.ceil(http.max_connections / workers)),
            "min_host_interval_seconds": http.min_host_interval_seconds * workers,
        }
    )
    return settings.model_copy(update={"http": shared})


def in_processes(settings: Settings, workers: int) -> Producer:
    """A producer for :func:`feedbot.pipeline.resolve` that spreads the URLs over ``workers``
    processes."""
    per_worker = worker_settings(settings, workers)

    async def produce(
        due: Sequence[tuple[int, str]], arrivals: asyncio.Queue[tuple[int, Resolution]]
    ) -> None:
        context = multiprocessing.get_context("spawn")
        results: Any = context.Queue(maxsize=10_000)
        shards = [list(due[i::workers]) for i in range(workers)]
        processes: list[SpawnProcess] = [
            context.Process(target=_work, args=(per_worker, shard, results), daemon=True)
            for shard in shards
            if shard
        ]
        for process in processes:
            process.start()
        loop = asyncio.get_running_loop()
        running = len(processes)
        try:
            while running:
                item = await loop.run_in_executor(None, _next, results, processes)
                if item is None:  # every worker has exited without saying it was done
                    break
                if item == _DONE:
                    running -= 1
                else:
                    for result in item:
                        arrivals.put_nowait(result)
        finally:
            for process in processes:
                if process.is_alive():
                    process.terminate()
                process.join(timeout=5)
            results.close()

    return produce


def _next(results: Any, processes: Sequence[SpawnProcess]) -> Any:
    while True:
        try:
            return results.get(timeout=0.2)
        except queue.Empty:
            if not any(process.is_alive() for process in processes):
                try:
                    return results.get_nowait()
                except queue.Empty:
                    return None


def _work(settings: Settings, due: list[tuple[int, str]], results: Any) -> None:
    """A worker process: resolve ``due`` and put the ``(id, Resolution)`` pairs on ``results``,
    in lists of whatever is ready (one pickling and one pipe write per list, not per result)."""
    from feedbot.http import HttpClient
    from feedbot.links.canonical import UrlRules
    from feedbot.pipeline import resolve_here

    async def run() -> None:
        rules = UrlRules(tuple(settings.links.tracking_parameters))
        local: asyncio.Queue[tuple[int, Resolution]] = asyncio.Queue()
        async with HttpClient(settings.http, settings.user_agent()) as http:
            produce = resolve_here(http, settings.links, rules)
            producing = asyncio.ensure_future(produce(due, local))
            sent = 0
            while sent < len(due):
                ready = [await local.get()]
                while not local.empty():
                    ready.append(local.get_nowait())
                await asyncio.get_running_loop().run_in_executor(None, results.put, ready)
                sent += len(ready)
            await producing

    try:
        asyncio.run(run())
    finally:
        results.put(_DONE)
