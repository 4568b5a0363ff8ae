"""APScheduler wiring only: wake the runner (:mod:`feedbot.runner`) on its tick, at the times it
asks for (the digest, a debounced site build, the first source due), and on the heartbeat; stop
cleanly on SIGTERM/SIGINT. Every decision is the runner's, made with its clock.

APScheduler 3 (``AsyncIOScheduler``) runs in the process's event loop; its jobs only set an
event that the one loop task waiting on it turns into :meth:`Runner.tick` calls, so ticks never
overlap and a stop can cancel the tick in flight (fetches in flight are abandoned and their
leases released; every write is one transaction, so nothing is left half-written).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from feedbot.errors import FeedbotError

log = logging.getLogger(__name__)


class Wakeable(Protocol):
    """What the wiring drives (:class:`feedbot.runner.Runner`)."""

    stopping: bool
    idle: bool

    async def start(self) -> None: ...
    async def tick(self) -> object: ...
    def heartbeat(self) -> bool: ...
    def wakeups(self) -> dict[str, datetime]: ...
    async def close(self) -> None: ...


async def serve(
    runner: Wakeable,
    *,
    tick_seconds: float,
    heartbeat_seconds: float,
    until_idle: bool = False,
    stop: asyncio.Event | None = None,
    signals: bool = True,
    admit: Callable[[asyncio.Event], Awaitable[bool]] | None = None,
) -> bool:
    """Run until SIGTERM/SIGINT (or ``stop`` is set, or with ``until_idle`` until a tick finds
    nothing due). Returns False when the runner lost its lock (another instance took over).

    ``admit`` is awaited before the runner starts (a worker waiting for a slot on its machine,
    :func:`feedbot.hostslots.wait_for_slot`); when it returns False (stopped while waiting), the
    runner never starts."""
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    if signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    wake = asyncio.Event()
    healthy = True

    async def wake_up() -> None:  # a coroutine: APScheduler runs plain functions in threads
        wake.set()

    async def beat() -> None:
        nonlocal healthy
        try:
            if not runner.heartbeat():
                healthy = False
                stop.set()
        except FeedbotError as e:  # the database is away: retried on the next beat
            log.error("heartbeat failed: %s", e)

    scheduler = AsyncIOScheduler(event_loop=loop, timezone=UTC)
    started = False
    try:
        if admit is not None and not await admit(stop):
            return healthy
        await runner.start()  # refuses (raises) before anything needs undoing
        started = True
        scheduler.add_job(wake_up, IntervalTrigger(seconds=tick_seconds, timezone=UTC),
                          id="tick", next_run_time=datetime.now(UTC), **_ONCE)  # fmt: skip
        scheduler.add_job(beat, IntervalTrigger(seconds=heartbeat_seconds, timezone=UTC),
                          id="heartbeat", **_ONCE)  # fmt: skip
        scheduler.start()
        ticking = asyncio.create_task(_ticks(runner, scheduler, wake, wake_up, stop, until_idle))
        stopped = asyncio.create_task(stop.wait())
        await asyncio.wait({ticking, stopped}, return_when=asyncio.FIRST_COMPLETED)
        runner.stopping = True
        for task in (ticking, stopped):
            task.cancel()
        results = await asyncio.gather(ticking, stopped, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        if started:
            await runner.close()
    return healthy


_ONCE = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


async def _ticks(
    runner: Wakeable,
    scheduler: AsyncIOScheduler,
    wake: asyncio.Event,
    wake_up: Callable[[], Awaitable[None]],
    stop: asyncio.Event,
    until_idle: bool,
) -> None:
    while not stop.is_set():
        await wake.wait()
        wake.clear()
        try:
            await runner.tick()
        except FeedbotError as e:  # e.g. the database restarting: the regular tick retries
            log.error("%s", e)
            continue
        except Exception:  # a bug: logged; the daemon goes on with the regular tick
            log.exception("unexpected error in a tick")
            continue
        if until_idle and runner.idle:
            stop.set()
            return
        try:
            wakeups = runner.wakeups()
        except FeedbotError as e:
            log.error("%s", e)
            continue
        now = datetime.now(UTC)
        for name, when in wakeups.items():
            if when <= now and runner.idle:
                continue  # due but not claimable by us (held, or just taken): the tick retries
            # Wake at the moment asked for (a little after, so the runner's clock has passed
            # it), unless the regular tick comes first.
            when = max(when, now) + timedelta(milliseconds=5)
            scheduler.add_job(wake_up, DateTrigger(when, timezone=UTC), id=f"at-{name}",
                              replace_existing=True, **_ONCE)  # fmt: skip
