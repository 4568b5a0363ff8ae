"""What ``feedbot run`` and ``feedbot worker`` do each time they wake, driven by an injected
clock (so tests run days of schedule in a second); :mod:`feedbot.scheduler` wakes them.

Each tick of ``feedbot run``::

    fetch every due source (batches claimed with leases; see feedbot.worker)
    → if anything was new or changed (or the stages' interval passed): resolve, research, tag
    → if the site is due (debounced: build_debounce_seconds after the first change): build it
    → if the digest is due (digest.send_at in digest.timezone, DST-safe): send it

A ``feedbot worker`` tick is the first line only: the stages, the site and the digest belong to
the one ``feedbot run`` instance, which holds the database's ``run`` lock (a row in
``instance_locks``, renewed on the heartbeat) so that a second one refuses to start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from feedbot.errors import ConfigError, FeedbotError
from feedbot.schedule import next_digest_at, parse_clock_time, policy_from, previous_digest_at
from feedbot.sources import FetchContext
from feedbot.sources import fetchers as source_fetchers
from feedbot.worker import Worker, dead_here, new_owner

if TYPE_CHECKING:
    from feedbot.app import App
    from feedbot.http import HttpClient

log = logging.getLogger(__name__)

LOCK_NAME = "run"
DIGEST_RETRY = timedelta(minutes=15)  # after a failed send, while the day lasts

Role = Literal["run", "worker"]


class InstanceLockedError(FeedbotError):
    """Another ``feedbot run`` holds this database."""


@dataclass(frozen=True)
class TickReport:
    fetched: int = 0
    new: int = 0
    updated: int = 0
    failed: int = 0
    tagged: int = 0
    built: bool = False
    digest: date | None = None  # the day whose digest was sent


class Runner:
    """One ``feedbot run`` (``role="run"``) or ``feedbot worker`` (``role="worker"``).
    ``build`` and ``send_digest`` default to the App's; tests count calls instead."""

    def __init__(
        self,
        app: App,
        role: Role = "run",
        *,
        owner: str | None = None,
        build: Callable[[], Any] | None = None,
        send_digest: Callable[[date], Any] | None = None,
    ) -> None:
        self.app = app
        self.role = role
        self.owner = owner or new_owner()
        self.clock = app.clock
        settings = app.settings
        self.policy = policy_from(settings.schedule)
        self.lease = timedelta(seconds=settings.schedule.lease_seconds)
        self.tick_every = timedelta(seconds=settings.schedule.tick_seconds)
        self.debounce = timedelta(seconds=settings.schedule.build_debounce_seconds)
        self._build = build or app.build
        self._send_digest = send_digest or (lambda day: app.send_digest(day))
        self.digest_at = parse_clock_time(settings.digest.send_at)
        self.digest_zone = settings.digest.zone(settings.timezone)
        self.wants_digest = send_digest is not None or bool(settings.digest.all_lists)
        self.next_digest: datetime | None = None
        self.build_due_at: datetime | None = None
        self.stages_due_at: datetime | None = None
        self.stopping = False
        self.idle = False  # the last tick found nothing due
        self._http: HttpClient | None = None
        self._worker: Worker | None = None
        self._locked = False

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Take the instance lock (``run``), open the HTTP client, release the leases of dead
        local processes, and plan the first site build and digest."""
        if self.role == "run":
            self._lock()
        app = self.app
        self._http = app.http_client()
        fetchers = source_fetchers(FetchContext(app.settings, self.clock, app.scholarly_client))
        self._worker = Worker(
            app.store, self._http, fetchers, self.policy, self.clock, owner=self.owner,
            lease=self.lease, batch=app.settings.schedule.claim_batch,
        )  # fmt: skip
        self._worker.reclaim_dead()
        now = self.clock()
        if self.role == "run":
            self.stages_due_at = now
            self.build_due_at = now  # the site reflects the database from the start
            if self.wants_digest:
                self.next_digest = self._first_digest(now)
        log.info("feedbot %s started as %s", self.role, self.owner)

    async def close(self) -> None:
        """Release this process's leases (their sources stay due) and its lock."""
        try:
            if self._worker is not None:
                released = self._worker.release()
                if released:
                    log.info("released %d sources still in flight; they stay due", released)
        finally:
            if self._http is not None:
                await self._http.aclose()
            if self._locked:
                self.app.store.release_lock(LOCK_NAME, self.owner)
                self._locked = False
        log.info("feedbot %s stopped", self.role)

    def _lock(self) -> None:
        store, now = self.app.store, self.clock()
        holder = store.acquire_lock(LOCK_NAME, self.owner, now, self.lease)
        if holder is not None and dead_here(holder):
            log.info("taking over the lock of %s, which is gone", holder)
            holder = store.acquire_lock(LOCK_NAME, self.owner, now, self.lease, take_over=holder)
        if holder is not None:
            raise InstanceLockedError(
                f"another 'feedbot run' ({holder}) is running on this database; stop it first "
                "(add processes with 'feedbot worker' instead)"
            )
        self._locked = True

    def heartbeat(self) -> bool:
        """Renew the lock and the leases of the sources in flight. False when the lock was
        lost (another instance took it over after it expired): the caller must stop."""
        if self._worker is not None:
            self._worker.renew()
        if self._locked:
            lost = not self.app.store.renew_lock(LOCK_NAME, self.owner, self.clock(), self.lease)
            if lost:
                log.error("lost the database's run lock to another instance; stopping")
                self._locked = False
                return False
        return True

    # -- one wake-up -------------------------------------------------------------------------

    async def tick(self) -> TickReport:
        """Fetch what is due; then (``run``) the stages, the site and the digest when due."""
        assert self._worker is not None, "start() first"
        results = await self._worker.drain(lambda: self.stopping)
        self.idle = not results
        new = sum(r.new for r in results)
        updated = sum(r.updated for r in results)
        failed = [r for r in results if r.status == "error"]
        for result in failed:
            log.warning("source %s failed: %s", result.name, result.error)
        if results:
            log.info(
                "fetched %d sources: %d new entries, %d updated, %d failed",
                len(results), new, updated, len(failed),
            )  # fmt: skip
        report = TickReport(len(results), new, updated, len(failed))
        if self.role != "run" or self.stopping:
            return report
        tagged = await self._stages(changed=bool(new or updated))
        built = await self._build_if_due()
        sent = await self._digest_if_due()
        return TickReport(len(results), new, updated, len(failed), tagged, built, sent)

    async def _stages(self, changed: bool) -> int:
        now = self.clock()
        if not changed and self.stages_due_at is not None and now < self.stages_due_at:
            return 0
        self.stages_due_at = now + self.policy.interval  # retries of failed lookups come due
        try:
            tagged = await self.app.after_ingest()
        except FeedbotError as e:
            log.error("links, research or tagging failed: %s", e)
            return 0
        if (changed or tagged) and self.build_due_at is None:
            self.build_due_at = self.clock() + self.debounce
        return tagged

    async def _build_if_due(self) -> bool:
        if self.build_due_at is None or self.clock() < self.build_due_at:
            return False
        try:
            await asyncio.to_thread(self._build)
        except FeedbotError as e:  # the previous site stays whole (builds swap in atomically)
            log.error("site build failed: %s", e)
            self.build_due_at = self.clock() + max(self.debounce, self.tick_every)
            return False
        self.build_due_at = None
        log.info("site built")
        return True

    async def _digest_if_due(self) -> date | None:
        if self.next_digest is None or self.clock() < self.next_digest:
            return None
        day = self.next_digest.astimezone(self.digest_zone).date()
        regular = next_digest_at(self.clock(), self.digest_at, self.digest_zone)
        try:
            report = await asyncio.to_thread(self._send_digest, day)
        except ConfigError as e:
            log.error("digest of %s not sent: %s", day, e)
            self.next_digest = regular
            return None
        except FeedbotError as e:
            log.error("digest of %s not sent, retrying: %s", day, e)
            self.next_digest = min(self.clock() + DIGEST_RETRY, regular)
            return None
        failed = getattr(report, "failed", ())
        if failed:
            log.error("digest of %s: %d deliveries failed, retrying", day, len(failed))
            self.next_digest = min(self.clock() + DIGEST_RETRY, regular)
        else:
            log.info("digest of %s sent", day)
            self.next_digest = regular
        return day

    def _first_digest(self, now: datetime) -> datetime:
        """When the first digest is due: now, when today's send time has passed (a digest
        missed while stopped goes out once; sends are recorded per recipient and day, so one
        already sent is not sent again), else today's or tomorrow's send time."""
        previous = previous_digest_at(now, self.digest_at, self.digest_zone)
        if previous.astimezone(self.digest_zone).date() == now.astimezone(self.digest_zone).date():
            return now
        return next_digest_at(now, self.digest_at, self.digest_zone)

    # -- when to wake next -------------------------------------------------------------------

    def wakeups(self) -> dict[str, datetime]:
        """The times something is due besides the regular tick: the digest and the site build
        (for ``run``), and the first source due."""
        times: dict[str, datetime] = {}
        if self.next_digest is not None:
            times["digest"] = self.next_digest
        if self.build_due_at is not None:
            times["build"] = self.build_due_at
        first = self.app.store.first_due_at(self.clock())
        if first is not None:
            times["due"] = first
        return times

    def next_wake(self) -> datetime:
        """The next moment there is something to do, at most a tick away."""
        now = self.clock()
        return max(now, min(now + self.tick_every, *self.wakeups().values()))
