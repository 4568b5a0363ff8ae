"""Sharing the fetching: claims, leases and the instance lock in the store (SQLite and
PostgreSQL), processes claiming at once, and four `feedbot worker` processes on PostgreSQL with
200 feeds, one of them killed with SIGKILL while it holds sources."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from feedbot.app import App, open_app
from feedbot.config import load_settings
from feedbot.fixture_server import FixtureServer, Route
from feedbot.models import FetchLog, Source
from feedbot.pgcluster import PostgresCluster
from feedbot.records import FetchReport
from feedbot.schedule import ScheduleUpdate
from feedbot.sources import FetchedEntry, FetchOutcome
from feedbot.store import Store
from feedbot.worker import dead_here

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)
sources_t = Source.__table__
fetch_log_t = FetchLog.__table__


def feeds(n: int) -> list[dict[str, Any]]:
    return [{"name": f"s{i:03d}", "url": f"https://example.org/{i}.xml"} for i in range(n)]


def set_due(store: Store, when: datetime | None, names: list[str] | None = None) -> None:
    with store.engine.begin() as conn:
        query = update(sources_t).values(next_due_at=when)
        if names is not None:
            query = query.where(sources_t.c.name.in_(names))
        conn.execute(query)


def release(store: Store, owner: str, ids: list[int], due: datetime) -> None:
    """Save an empty successful fetch of each source with its next due time."""
    reports = [FetchReport(i, NOW, NOW, outcome=FetchOutcome("not_modified")) for i in ids]
    updates = [ScheduleUpdate(i, owner, due, None, None, {}) for i in ids]
    store.save_fetches(reports, schedule=updates)


# -- the store ---------------------------------------------------------------------------------


def test_claims_take_the_oldest_due_first_each_source_once(
    make_app: Callable[..., App], any_database_url: str
) -> None:
    store = make_app(feeds(6), database_url=any_database_url).store
    # s000 and s001 never scheduled (due at once), s002… due at different times, s005 later
    for name, minutes in [("s002", -30), ("s003", -90), ("s004", -60), ("s005", 30)]:
        set_due(store, NOW + timedelta(minutes=minutes), [name])
    first = store.claim_due("a", NOW, LEASE, 3)
    assert [state.name for state, _ in first] == ["s000", "s001", "s003"]
    second = store.claim_due("b", NOW, LEASE, 10)
    assert [state.name for state, _ in second] == ["s004", "s002"]  # none of a's; not s005
    assert store.claim_due("c", NOW, LEASE, 10) == []
    assert store.first_due_at(NOW) == NOW + timedelta(minutes=5)  # when a's leases expire
    # a lease that expired (its holder died) makes the source claimable again, oldest first
    later = NOW + LEASE
    assert [s.name for s, _ in store.claim_due("c", later, LEASE, 2)] == ["s000", "s001"]
    # the old holder's results are saved, but the schedule is not theirs to set any more
    ids = {state.name: state.id for state, _ in first}
    release(store, "a", list(ids.values()), NOW + timedelta(hours=1))
    rows = {row.name: row for row in store.status(NOW)}
    assert rows["s000"].lease_owner == "c" and rows["s000"].next_due_at is None
    assert rows["s003"].lease_owner is None
    assert rows["s003"].next_due_at == NOW + timedelta(hours=1)
    assert rows["s003"].last_success_at == NOW  # the fetch itself was stored


def test_leases_renew_release_and_survive_only_their_owner(
    make_app: Callable[..., App], any_database_url: str
) -> None:
    store = make_app(feeds(4), database_url=any_database_url).store
    claimed = [state.id for state, _ in store.claim_due("a", NOW, LEASE, 2)]
    assert store.renew_leases("a", claimed, NOW + 2 * LEASE) == 2
    assert store.renew_leases("b", claimed, NOW + 3 * LEASE) == 0
    assert store.claim_due("b", NOW + LEASE, LEASE, 10).__len__() == 2  # only the other two
    assert store.lease_owners() == {"a", "b"}
    assert store.release_leases("a") == 2
    assert [s.id for s, _ in store.claim_due("c", NOW, LEASE, 10)] == claimed  # still due


def test_paused_and_removed_sources_are_not_claimed_until_resumed(
    make_app: Callable[..., App], any_database_url: str
) -> None:
    app = make_app(feeds(3), database_url=any_database_url)
    store = app.store
    with store.engine.begin() as conn:
        conn.execute(update(sources_t).where(sources_t.c.name == "s000").values(paused_at=NOW))
    store.sync_sources(app.settings.sources[:2], NOW)  # s002 removed from the config
    assert [s.name for s, _ in store.claim_due("a", NOW, LEASE, 10)] == ["s001"]
    assert store.resume_source("s000") and not store.resume_source("nope")
    assert [s.name for s, _ in store.claim_due("a", NOW, LEASE, 10)] == ["s000"]


def test_one_run_lock_per_database(make_app: Callable[..., App], any_database_url: str) -> None:
    store = make_app([], database_url=any_database_url).store
    assert store.acquire_lock("run", "h:1:a", NOW, LEASE) is None
    assert store.acquire_lock("run", "h:1:a", NOW, LEASE) is None  # its own: renewed
    assert store.acquire_lock("run", "h:2:b", NOW, LEASE) == "h:1:a"
    assert store.renew_lock("run", "h:1:a", NOW + LEASE / 2, LEASE)
    assert store.acquire_lock("run", "h:2:b", NOW + LEASE, LEASE) == "h:1:a"  # renewed: held
    assert store.acquire_lock("run", "h:2:b", NOW, LEASE, take_over="h:1:a") is None
    assert not store.renew_lock("run", "h:1:a", NOW, LEASE)  # it knows it lost the lock
    assert store.acquire_lock("run", "h:3:c", NOW + 2 * LEASE, LEASE) is None  # expired
    store.release_lock("run", "h:3:c")
    assert store.acquire_lock("run", "h:4:d", NOW, LEASE) is None


def test_only_dead_processes_of_this_machine_are_judged_dead() -> None:
    import socket

    host = socket.gethostname()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert dead_here(f"{host}:{child.pid}:x")
    assert not dead_here(f"{host}:{os.getpid()}:x")  # ourselves
    assert not dead_here(f"{host}:{os.getppid()}:x")  # alive
    assert not dead_here(f"elsewhere.example:{child.pid}:x")  # another machine: its lease expires
    assert not dead_here("garbage")


def test_processes_claiming_at_once_never_share_a_source(
    make_app: Callable[..., App], any_database_url: str
) -> None:
    store = make_app(feeds(200), database_url=any_database_url).store
    claims: dict[str, list[int]] = {}
    start = threading.Barrier(8)

    def claimer(owner: str) -> None:
        start.wait()
        got: list[int] = []
        while batch := store.claim_due(owner, NOW, LEASE, 7):
            got += [state.id for state, _ in batch]
        claims[owner] = got

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    every = [source_id for got in claims.values() for source_id in got]
    assert len(claims) == 8 and len(every) == len(set(every)) == 200
    assert sum(1 for got in claims.values() if got) >= 2


def test_batches_sharing_links_in_crossed_orders_never_deadlock(
    make_app: Callable[..., App], postgres: PostgresCluster
) -> None:
    """Two processes store batches whose sources share the same links, listed in opposite
    orders, at the same moment, round after round: each batch is one transaction that waits
    for the other at worst (the links are taken in one global order), never a deadlock."""
    store = make_app(feeds(40), database_url=postgres.new_database()).store
    ids = [state.id for state in store.active_sources()]
    shared = [f"https://news.example.com/story/{i}" for i in range(20)]
    errors: list[BaseException] = []

    def save(sources: list[int], links: list[str], round_: int, start: threading.Barrier) -> None:
        reports = [
            FetchReport(source_id, NOW, NOW, outcome=FetchOutcome("ok", entries=(
                FetchedEntry(f"{round_}-{source_id}", None, "post", links=(link, *links[:3])),
            )))
            for source_id, link in zip(sources, links, strict=True)
        ]  # fmt: skip
        start.wait()
        try:
            store.save_fetches(reports)
        except BaseException as e:  # reported below
            errors.append(e)

    for round_ in range(8):
        start = threading.Barrier(2)
        threads = [
            threading.Thread(target=save, args=(ids[:20], shared, round_, start)),
            threading.Thread(target=save, args=(ids[20:], shared[::-1], round_, start)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == []
    with store.engine.connect() as conn:
        deadlocks = conn.exec_driver_sql(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).scalar()
        mentions = conn.exec_driver_sql("SELECT count(*) FROM mentions").scalar()
    assert deadlocks == 0
    # every entry mentions its links: its own story and the first three (one of them its own
    # for the first three sources of each batch)
    assert mentions == 8 * 2 * (20 * 4 - 3)


# -- four worker processes on PostgreSQL -------------------------------------------------------


def rss(i: int) -> bytes:
    items = "".join(
        f"<item><title>Story {j} of {i}</title><link>https://f{i}.example.org/{j}</link></item>"
        for j in range(2)
    )
    return (f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>F{i}"
            f"</title><link>https://f{i}.example.org/</link>{items}</channel></rss>").encode()  # fmt: skip


WAIT = 60.0  # generous bounds for things that take a second or two (no timing asserts)


class Workers:
    """`feedbot worker` processes with JSON logs in files."""

    def __init__(self, config: Path, logs: Path) -> None:
        self.config, self.logs = config, logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, n: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("FEEDBOT_CONFIG", "DATABASE_URL")}
        for i in range(n):
            with (self.logs / f"worker{i}.log").open("wb") as log:
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "feedbot", "--config", str(self.config), "worker",
                     "--log-format", "json"],
                    env=env, stdout=subprocess.DEVNULL, stderr=log,
                ))  # fmt: skip

    def messages(self, i: int) -> list[str]:
        text = (self.logs / f"worker{i}.log").read_text()
        return [json.loads(line)["message"] for line in text.splitlines() if line.startswith("{")]

    def stop(self) -> list[int | None]:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(WAIT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return [process.returncode for process in self.processes]


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def farm(tmp_path: Path, postgres: PostgresCluster) -> Iterator[tuple[FixtureServer, Path]]:
    """200 feeds on a local server, and a config on a new PostgreSQL database for them."""
    with FixtureServer({f"/f/{i}.xml": Route(rss(i)) for i in range(200)}) as server:
        sources = "".join(
            f'[[sources]]\nname = "f{i:03d}"\nurl = "{server.url(f"/f/{i}.xml")}"\n'
            for i in range(200)
        )
        config = tmp_path / "feedbot.toml"
        config.write_text(
            f'database_url = "{postgres.new_database()}"\n'
            "[http]\nallow_private_networks = true\nretries = 0\ntimeout_seconds = 120\n"
            "min_host_interval_seconds = 0\nmax_per_host = 8\n"
            "[schedule]\nclaim_batch = 10\ntick_seconds = 0.1\nlease_seconds = 3\n"
            'workers_per_host = "unlimited"\n' + sources
        )
        yield server, config


def test_four_workers_share_200_feeds_and_take_over_from_one_killed_mid_lease(
    farm: tuple[FixtureServer, Path], tmp_path: Path
) -> None:
    server, config = farm
    app = open_app(load_settings(config))
    store = app.store
    set_due(store, datetime.now(UTC) + timedelta(days=1))  # nothing due until all are up
    workers = Workers(config, tmp_path)
    workers.start(4)
    try:
        wait_until(lambda: all(any("started as" in m for m in workers.messages(i))
                               for i in range(4)), "four workers to start")  # fmt: skip

        def fetches() -> int:
            with store.engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(fetch_log_t)).scalar())

        def settled() -> bool:
            with store.engine.connect() as conn:
                return not conn.execute(
                    select(func.count()).where(sources_t.c.lease_owner.is_not(None))
                ).scalar()

        # Two due periods: every source is fetched exactly once in each.
        for period in (1, 2):
            set_due(store, datetime.now(UTC))
            wait_until(lambda n=period: fetches() == 200 * n and settled(), f"period {period}")
            assert Counter(server.hits.values()) == {period: 200}
            assert sorted(server.hits) == sorted(f"/f/{i}.xml" for i in range(200))

        def shares() -> list[int]:
            return [
                sum(int(m.split()[1]) for m in workers.messages(i) if m.startswith("fetched "))
                for i in range(4)
            ]

        # A worker logs what it fetched once its tick is over, a moment after the last commit.
        wait_until(lambda: sum(shares()) >= 400, "the workers to log their fetches")
        assert sum(shares()) == 400 and sum(1 for share in shares() if share) >= 2, shares()

        # Six sources stall (fewer than http.max_per_host, so all are in flight at once):
        # whoever claims them holds them (renewing the leases) while the server does not answer. That worker is killed; once its leases expire, the others
        # take the sources over and fetch them.
        stalled = [f"f{i:03d}" for i in range(6)]
        for i in range(6):
            server.routes[f"/f/{i}.xml"].delay = 600
        set_due(store, datetime.now(UTC), stalled)
        wait_until(lambda: all(server.hits[f"/f/{i}.xml"] == 3 for i in range(6)),
                   "the stalled fetches to start")  # fmt: skip
        with store.engine.connect() as conn:
            held = conn.execute(
                select(sources_t.c.lease_owner, sources_t.c.lease_expires_at)
                .where(sources_t.c.name.in_(stalled))
            ).all()  # fmt: skip
        holders = {int(owner.split(":")[1]) for owner, _ in held}
        alive = [p for p in workers.processes if p.pid not in holders]
        assert holders and alive, "every worker holds stalled sources"
        for process in workers.processes:
            if process.pid in holders:
                process.kill()
                process.wait(WAIT)
        killed_at = datetime.now(UTC)
        expired = max(expires for _, expires in held)
        for i in range(6):
            server.routes[f"/f/{i}.xml"].delay = 0
        wait_until(lambda: fetches() == 406 and settled(), "the stalled sources to be taken over")
        assert Counter(server.hits.values()) == {2: 194, 4: 6}  # nothing fetched twice at once
        with store.engine.connect() as conn:
            taken_over = conn.execute(
                select(fetch_log_t.c.started_at)
                .join(sources_t, sources_t.c.id == fetch_log_t.c.source_id)
                .where(sources_t.c.name.in_(stalled), fetch_log_t.c.started_at > killed_at)
            ).scalars().all()  # fmt: skip
        # each taken over once, after the lease ran out (the holder renewed it till it died)
        assert len(taken_over) == 6 and min(taken_over) >= expired
        assert all(row.consecutive_failures == 0 for row in store.status() if row.name in stalled)
    finally:
        codes = workers.stop()
        app.close()
    assert [code for code in codes if code != -signal.SIGKILL] == [0] * (4 - len(holders))
    logs = "".join((tmp_path / f"worker{i}.log").read_text() for i in range(4))
    assert "Traceback" not in logs
    assert not re.search(r'"level": "error"', logs)


def test_workers_beyond_the_machines_slots_stand_by_and_take_over_from_one_killed(
    farm: tuple[FixtureServer, Path], tmp_path: Path
) -> None:
    server, config = farm
    config.write_text(config.read_text().replace('"unlimited"', "2"))
    app = open_app(load_settings(config))
    store = app.store
    set_due(store, datetime.now(UTC) + timedelta(days=1))
    workers = Workers(config, tmp_path)
    workers.start(3)
    try:

        def started(i: int) -> bool:
            return any("started as" in m for m in workers.messages(i))

        def standing_by(i: int) -> bool:
            return any(m.startswith("standing by") for m in workers.messages(i))

        wait_until(lambda: sum(map(started, range(3))) == 2
                   and sum(map(standing_by, range(3))) == 1, "two workers and a standby")  # fmt: skip
        (standby,) = [i for i in range(3) if standing_by(i)]
        active = [i for i in range(3) if i != standby]
        assert not started(standby)
        # it names the slots' holders (a holder that has locked its slot but not yet written
        # its name is left out)
        first = workers.messages(standby)[0]
        named = re.search(r"taken \((.*); \[schedule\] workers_per_host\)", first)
        assert named, first
        holders = {owner.split(":")[1] for owner in named[1].split(", ") if ":" in owner}
        assert holders <= {str(workers.processes[i].pid) for i in active}

        def fetches() -> int:
            with store.engine.connect() as conn:
                return int(conn.execute(select(func.count()).select_from(fetch_log_t)).scalar())

        def fetched(i: int) -> int:
            return sum(int(m.split()[1]) for m in workers.messages(i) if m.startswith("fetched "))

        set_due(store, datetime.now(UTC))
        wait_until(lambda: fetches() == 200 and sum(map(fetched, range(3))) == 200, "period 1")
        assert Counter(server.hits.values()) == {1: 200}
        assert fetched(standby) == 0

        # One active worker dies without a word; the standby takes its slot and fetches.
        victim = workers.processes[active[0]]
        victim.kill()
        victim.wait(WAIT)
        wait_until(lambda: started(standby), "the standby to take the freed slot")
        assert "took worker slot" in " ".join(workers.messages(standby))
        set_due(store, datetime.now(UTC))
        wait_until(lambda: fetches() == 400, "period 2")
        wait_until(lambda: sum(map(fetched, range(3))) == 400, "the workers to log period 2")
        assert Counter(server.hits.values()) == {2: 200}
        assert fetched(standby) > 0
    finally:
        codes = workers.stop()
        app.close()
    assert codes[active[0]] == -signal.SIGKILL
    assert [codes[i] for i in (standby, active[1])] == [0, 0]
    logs = "".join((tmp_path / f"worker{i}.log").read_text() for i in range(3))
    assert "Traceback" not in logs
    assert not re.search(r'"level": "error"', logs)


def test_a_deadlock_or_serialization_failure_is_retried_and_nothing_else() -> None:
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    from feedbot.errors import StoreError
    from feedbot.worker import _retryable

    def wrapped(original: Exception) -> StoreError:
        try:
            try:
                raise OperationalError("INSERT …", {}, original)
            except OperationalError as e:
                raise StoreError("database write failed: deadlock detected") from e
        except StoreError as error:
            return error

    assert _retryable(wrapped(psycopg.errors.DeadlockDetected()))
    assert _retryable(wrapped(psycopg.errors.SerializationFailure()))
    assert not _retryable(wrapped(psycopg.errors.UniqueViolation()))
    assert not _retryable(StoreError("cannot open database"))
