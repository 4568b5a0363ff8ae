"""Claiming due sources, fetching them and saving the results: the work ``feedbot worker``
processes share, and the ingest part of ``feedbot run``.

    claim (one statement: due, unleased, oldest first; FOR UPDATE SKIP LOCKED on PostgreSQL)
      → fetch concurrently (pipeline.ingest, one HTTP client)
      → save each batch of results + set each source's next due time + release its lease,
        in one transaction (store.save_fetches with the schedule's updates)

A lease is an owner (``host:pid:nonce``) and an expiry in the source's row. While a fetch runs
its lease is renewed (:meth:`Worker.renew`, on the heartbeat); a process that dies stops
renewing, and once the lease expires any process may claim the source. A process that finds
leases of dead processes of its own machine (the pid is gone) releases them at once. Stopping
(SIGTERM) cancels the fetches in flight and releases their leases, the sources still due: work
either completes in one transaction or is done again, never half.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta

from feedbot import pipeline
from feedbot.errors import StoreError
from feedbot.http import HttpClient
from feedbot.pipeline import SourceResult
from feedbot.records import FetchReport, SaveResult
from feedbot.schedule import (
    Hints,
    Policy,
    ScheduleUpdate,
    SourceSchedule,
    decide,
)
from feedbot.sources import Fetcher, FetchOutcome
from feedbot.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def new_owner() -> str:
    """This process's name in leases and locks: ``host:pid:nonce`` (the nonce tells a restarted
    process with a reused pid from its predecessor)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def dead_here(
    owner: str, host: str | None = None, alive: Callable[[int], bool] = pid_alive
) -> bool:
    """True when ``owner`` names a process of this machine that is gone. Owners on other
    machines are never judged: their leases and locks expire instead."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    if parts[0] != (host or socket.gethostname()):
        return False
    return int(parts[1]) != os.getpid() and not alive(int(parts[1]))


def schedule_updates(
    reports: Sequence[FetchReport],
    claimed: Mapping[int, SourceSchedule],
    policy: Policy,
    owner: str,
) -> list[ScheduleUpdate]:
    """Each fetched source's schedule after its fetch (see :func:`feedbot.schedule.decide`)."""
    updates = []
    for report in reports:
        schedule = claimed[report.source_id]
        outcome = report.outcome
        if outcome is None:
            retry = timedelta(seconds=report.retry_after) if report.retry_after else None
            hints = Hints(retry_after=retry)
            stored = schedule.hints
        else:
            hints = outcome_hints(outcome, schedule.hints)
            stored = hints
        decision = decide(schedule, policy, report.finished_at, failed=outcome is None,
                          hints=hints)  # fmt: skip
        paused = report.finished_at if decision.paused else None
        if paused:
            log.warning(
                "source %s paused: failing since %s (resume: feedbot sources resume %s)",
                schedule.key,
                f"{decision.failing_since:%Y-%m-%d %H:%M} UTC",
                schedule.key,
            )
        updates.append(
            ScheduleUpdate(report.source_id, owner, decision.next_due_at,
                           decision.failing_since, paused, stored.stored())
        )  # fmt: skip
    return updates


def outcome_hints(outcome: FetchOutcome, stored: Hints) -> Hints:
    """The hints of a successful fetch: its cache lifetime, and the document's ttl and skip
    hours (a 304 has no document: the stored ones stay)."""
    max_age = timedelta(seconds=outcome.max_age_seconds) if outcome.max_age_seconds else None
    if outcome.status == "not_modified":
        return Hints(max_age=max_age, ttl=stored.ttl, skip_hours=stored.skip_hours,
                     skip_days=stored.skip_days)  # fmt: skip
    ttl = timedelta(minutes=outcome.ttl_minutes) if outcome.ttl_minutes else None
    return Hints(max_age=max_age, ttl=ttl, skip_hours=frozenset(outcome.skip_hours),
                 skip_days=frozenset(outcome.skip_days))  # fmt: skip


# PostgreSQL's "deadlock detected" and "could not serialize". A batch takes the rows other
# processes write too in one global order (see Store.save_fetches), so two workers storing
# batches that share links wait for each other but do not deadlock; writes outside that order
# (the stages of `feedbot run` merging links, a paper's other versions being stamped) still
# can, and the database then aborts one transaction, which is simply run again (every write in
# it is idempotent).
RETRY_SQLSTATES = frozenset({"40P01", "40001"})
SAVE_ATTEMPTS = 5


def save_batch(
    store: Store, batch: Sequence[FetchReport], updates: Sequence[ScheduleUpdate]
) -> list[SaveResult]:
    """``store.save_fetches`` of the batch and its schedule (one transaction), run again when
    the database aborted it for a deadlock with another process."""
    for attempt in range(1, SAVE_ATTEMPTS + 1):
        try:
            return store.save_fetches(batch, schedule=updates)
        except StoreError as e:
            if attempt == SAVE_ATTEMPTS or not _retryable(e):
                raise
            log.info("storing %d results again after: %s", len(batch), e)
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")


def _retryable(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        original = getattr(seen, "orig", None)
        if getattr(original, "sqlstate", None) in RETRY_SQLSTATES:
            return True
        seen = seen.__cause__
    return False


class Worker:
    """Claims due sources in batches and fetches them through ``http``. Not thread-safe: one
    per event loop."""

    def __init__(
        self,
        store: Store,
        http: HttpClient,
        fetchers: Mapping[str, Fetcher],
        policy: Policy,
        clock: Clock,
        *,
        owner: str,
        lease: timedelta,
        batch: int,
    ) -> None:
        self.store = store
        self.http = http
        self.fetchers = fetchers
        self.policy = policy
        self.clock = clock
        self.owner = owner
        self.lease = lease
        self.batch = batch
        self.in_flight: dict[int, SourceSchedule] = {}

    async def run_once(self) -> list[SourceResult]:
        """Claim one batch of due sources, fetch them, save the results with their next due
        times. Returns the results: none when nothing was due."""
        claims = self.store.claim_due(self.owner, self.clock(), self.lease, self.batch)
        if not claims:
            return []
        self.in_flight.update({state.id: schedule for state, schedule in claims})

        def save(batch: list[FetchReport]) -> list[SaveResult]:
            updates = schedule_updates(batch, self.in_flight, self.policy, self.owner)
            saved = save_batch(self.store, batch, updates)
            for report in batch:
                self.in_flight.pop(report.source_id, None)
            return saved

        states = [state for state, _ in claims]
        try:
            return await pipeline.ingest(self.store, self.http, states, self.fetchers,
                                         self.clock, save=save)  # fmt: skip
        finally:
            if self.in_flight:  # stopped or failed part-way: what was not saved is due again
                self._release_in_flight()

    async def drain(self, should_stop: Callable[[], bool] = lambda: False) -> list[SourceResult]:
        """Claim and fetch batch after batch until nothing is due (or ``should_stop``)."""
        results: list[SourceResult] = []
        while not should_stop():
            done = await self.run_once()
            if not done:
                break
            results.extend(done)
        return results

    def renew(self) -> None:
        """Extend the leases of the sources being fetched (called on the heartbeat)."""
        if self.in_flight:
            self.store.renew_leases(self.owner, list(self.in_flight), self.clock() + self.lease)

    def _release_in_flight(self) -> None:
        try:
            released = self.store.release_leases(self.owner)
        except StoreError as e:  # the database is away: the leases expire instead
            log.error("could not release %d leases: %s", len(self.in_flight), e)
        else:
            log.info("released %d sources not fetched; they stay due", released)
        self.in_flight.clear()

    def release(self) -> int:
        """Release every lease this worker holds; their sources stay due as they were."""
        self.in_flight.clear()
        return self.store.release_leases(self.owner)

    def reclaim_dead(self) -> int:
        """Release the leases of dead processes of this machine (a crash, kill -9): their
        sources are due again at once instead of when the leases expire."""
        released = 0
        for owner in self.store.lease_owners():
            if dead_here(owner):
                count = self.store.release_leases(owner)
                log.info("released %d leases of %s, which is gone", count, owner)
                released += count
        return released
