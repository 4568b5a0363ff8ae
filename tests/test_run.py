"""`feedbot run`, the daemon: the APScheduler wiring wakes the runner when asked; a real
subprocess killed with SIGKILL mid-fetch and restarted loses and duplicates nothing; SIGTERM
stops it cleanly; a second instance on the same database refuses to start."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import func, select

from feedbot.db import make_engine
from feedbot.fixture_server import FixtureServer, Route
from feedbot.models import Entry, FetchLog, InstanceLock, Link, Mention, Source
from feedbot.scheduler import serve
from feedbot.store import Store

STALL_SECONDS = 60.0  # the stalled feed answers after this long: the fetch is surely in flight
WAIT = 30.0  # generous bounds for things that take well under a second (no timing asserts)


# -- the APScheduler wiring, in process --------------------------------------------------------


class CountingRunner:
    """Stands in for the Runner: counts its wake-ups, and asks to be woken for a "digest" 0.3 s
    after it starts, with a tick far longer than the test (only the wiring's date job can wake
    it in time)."""

    def __init__(self) -> None:
        self.stopping = False
        self.idle = False
        self.started = self.closed = self.ticks = self.beats = 0
        self.digests: list[datetime] = []
        self.digest_at: datetime | None = None

    async def start(self) -> None:
        self.started += 1
        self.digest_at = datetime.now(UTC) + timedelta(seconds=0.3)

    async def tick(self) -> None:
        self.ticks += 1
        if self.digest_at is not None and datetime.now(UTC) >= self.digest_at:
            self.digests.append(datetime.now(UTC))
            self.digest_at = None

    def heartbeat(self) -> bool:
        self.beats += 1
        return True

    def wakeups(self) -> dict[str, datetime]:
        return {"digest": self.digest_at} if self.digest_at else {}

    async def close(self) -> None:
        self.closed += 1


def test_the_scheduler_wakes_the_runner_at_the_times_it_asks_for() -> None:
    runner = CountingRunner()

    async def main() -> bool:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(1.5, stop.set)
        return await serve(runner, tick_seconds=3600, heartbeat_seconds=0.2, stop=stop,
                           signals=False)  # fmt: skip

    assert asyncio.run(main()) is True
    assert runner.started == runner.closed == 1
    assert len(runner.digests) == 1  # woken by the date job the runner asked for, once
    assert runner.ticks == 2  # the first tick at start, then the digest's wake-up; no more
    assert runner.beats >= 3


def test_losing_the_lock_stops_the_daemon() -> None:
    runner = CountingRunner()
    runner.heartbeat = lambda: False  # type: ignore[method-assign]

    async def main() -> bool:
        return await serve(runner, tick_seconds=3600, heartbeat_seconds=0.1, signals=False)

    assert asyncio.run(asyncio.wait_for(main(), WAIT)) is False
    assert runner.closed == 1


# -- the real daemon, in a subprocess ----------------------------------------------------------


def rss(name: str, items: int = 3) -> bytes:
    entries = "".join(
        f"<item><title>{name} story {i}</title><link>https://{name}.example.org/{i}</link>"
        f"<guid>https://{name}.example.org/{i}</guid></item>"
        for i in range(items)
    )
    return (f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel>"
            f"<title>{name}</title><link>https://{name}.example.org/</link>{entries}"
            "</channel></rss>").encode()  # fmt: skip


FEEDS = [f"feed{i}" for i in range(5)]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[FixtureServer, Path]]:
    """Five feeds and one that stalls, and a config for them."""
    routes = {f"/{name}.xml": Route(rss(name)) for name in FEEDS}
    routes["/stall.xml"] = Route(rss("stall"), delay=STALL_SECONDS)
    with FixtureServer(routes) as server:
        sources = "".join(
            f'[[sources]]\nname = "{name}"\nurl = "{server.url(f"/{name}.xml")}"\n'
            for name in [*FEEDS, "stall"]
        )
        config = tmp_path / "feedbot.toml"
        config.write_text(
            "[http]\nallow_private_networks = true\nretries = 0\ntimeout_seconds = 120\n"
            "min_host_interval_seconds = 0\n"
            "[links]\nresolve = false\n[research]\nresolve = false\n"
            "[schedule]\ntick_seconds = 0.2\nbuild_debounce_seconds = 0\nlease_seconds = 60\n"
            + sources
        )
        yield server, config


def start_run(config: Path, *args: str, log: IO[str]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDBOT_CONFIG", "DATABASE_URL")}
    return subprocess.Popen(
        [sys.executable, "-m", "feedbot", "--config", str(config), "run", *args],
        env=env, stdout=subprocess.DEVNULL, stderr=log, text=True,
    )  # fmt: skip


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert process.poll() is None, f"feedbot run exited ({process.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def count(store: Store, model: Any, *where: Any) -> int:
    table = model.__table__
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def source_row(store: Store, name: str) -> Any:
    with store.engine.connect() as conn:
        return conn.execute(select(Source.__table__).where(Source.__table__.c.name == name)).one()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    engine = make_engine(f"sqlite:///{tmp_path / 'feedbot.db'}")
    yield Store(engine)
    engine.dispose()


def entries_of(store: Store, name: str) -> int:
    with store.engine.connect() as conn:
        source_id = conn.execute(
            select(Source.__table__.c.id).where(Source.__table__.c.name == name)
        ).scalar_one_or_none()
    if source_id is None:
        return 0
    return count(store, Entry, Entry.__table__.c.source_id == source_id)


def test_run_killed_mid_fetch_and_restarted_loses_and_duplicates_nothing(
    site: tuple[FixtureServer, Path], store: Store, tmp_path: Path
) -> None:
    server, config = site
    with (tmp_path / "first.log").open("w") as log:
        first = start_run(config, log=log)
        try:
            wait_for(lambda: server.hits["/stall.xml"] == 1
                     and all(entries_of(store, name) == 3 for name in FEEDS),
                     "the other feeds to be stored while the stalled one is in flight",
                     first)  # fmt: skip
            assert source_row(store, "stall").lease_owner.split(":")[1] == str(first.pid)
        finally:
            first.kill()  # SIGKILL: no cleanup at all
            first.wait(WAIT)
    assert first.returncode == -signal.SIGKILL
    assert entries_of(store, "stall") == 0
    # The dead process's lock and lease are still in the database.
    assert count(store, InstanceLock) == 1
    assert source_row(store, "stall").lease_owner is not None

    server.routes["/stall.xml"].delay = 0  # the server answers now
    with (tmp_path / "second.log").open("w") as log:
        second = start_run(config, "--log-format", "json", log=log)
        try:
            # The new process takes over the dead one's lock and lease at once (same machine,
            # its pid is gone), fetches the stalled feed, and rebuilds the site.
            wait_for(lambda: entries_of(store, "stall") == 3
                     and source_row(store, "stall").lease_owner is None
                     and (config.parent / "site" / "index.html").exists(),
                     "the stalled feed to be fetched after the restart", second)  # fmt: skip
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(WAIT)
    assert second.returncode == 0, (tmp_path / "second.log").read_text()

    # Nothing lost, nothing twice: every feed's 3 entries once, one link and one mention each.
    assert {name: entries_of(store, name) for name in [*FEEDS, "stall"]} == dict.fromkeys(
        [*FEEDS, "stall"], 3
    )
    assert count(store, Entry) == count(store, Link) == count(store, Mention) == 18
    # The other feeds were not due again (their next fetch is an hour away): fetched once each.
    assert {path: server.hits[path] for path in server.routes} == {
        **{f"/{name}.xml": 1 for name in FEEDS}, "/stall.xml": 2
    }  # fmt: skip
    assert count(store, FetchLog) == 6  # the killed fetch left no row: it never finished
    assert count(store, InstanceLock) == 0  # released on SIGTERM
    assert all(source_row(store, name).lease_owner is None for name in [*FEEDS, "stall"])
    assert all(source_row(store, name).next_due_at is not None for name in [*FEEDS, "stall"])
    lines = [json.loads(line) for line in (tmp_path / "second.log").read_text().splitlines()]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    assert any("taking over the lock" in line["message"] for line in lines)


def test_sigterm_mid_fetch_stops_cleanly_and_a_second_run_refuses(
    site: tuple[FixtureServer, Path], store: Store, tmp_path: Path
) -> None:
    server, config = site
    with (tmp_path / "run.log").open("w") as log:
        daemon = start_run(config, log=log)
        try:
            wait_for(lambda: server.hits["/stall.xml"] == 1, "the stalled fetch to start",
                     daemon)  # fmt: skip
            env = {k: v for k, v in os.environ.items() if k != "FEEDBOT_CONFIG"}
            second = subprocess.run(
                [sys.executable, "-m", "feedbot", "--config", str(config), "run"],
                env=env, capture_output=True, text=True, timeout=WAIT,
            )  # fmt: skip
            assert second.returncode == 1
            lines = second.stderr.strip().splitlines()
            assert len(lines) == 1, second.stderr
            line = lines[0]
            assert line.startswith("feedbot: error: another 'feedbot run' (")
            assert f":{daemon.pid}:" in line and "feedbot worker" in line
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(WAIT)  # the fetch in flight is abandoned, not waited for (60 s)
    log_text = (tmp_path / "run.log").read_text()
    assert daemon.returncode == 0, log_text
    assert "Traceback" not in log_text
    assert "released 1 sources not fetched; they stay due" in log_text
    stalled = source_row(store, "stall")
    # Rolled back: no entries, no fetch log row; its lease released and still due at once.
    assert entries_of(store, "stall") == 0
    assert stalled.lease_owner is None and stalled.next_due_at is None
    assert stalled.last_fetched_at is None
    assert all(entries_of(store, name) == 3 for name in FEEDS)
    assert count(store, InstanceLock) == 0


def test_run_counts_among_the_machines_worker_slots(
    site: tuple[FixtureServer, Path], tmp_path: Path
) -> None:
    """With one slot, `feedbot run` holds it and workers stand by; when the run stops one worker
    takes the slot over; SIGTERM stops a standby cleanly."""
    _server, config = site
    config.write_text(
        config.read_text().replace("[schedule]\n", "[schedule]\nworkers_per_host = 1\n")
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDBOT_CONFIG", "DATABASE_URL")}
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    workers: list[subprocess.Popen[str]] = []
    with (tmp_path / "run.log").open("w") as log:
        daemon = start_run(config, log=log)
        try:
            wait_for(lambda: "started as" in (tmp_path / "run.log").read_text(), "the run to start",
                     daemon)  # fmt: skip
            for path in logs:
                with path.open("w") as worker_log:
                    workers.append(subprocess.Popen(
                        [sys.executable, "-m", "feedbot", "--config", str(config), "worker"],
                        env=env, stdout=subprocess.DEVNULL, stderr=worker_log, text=True,
                    ))  # fmt: skip
            for path, worker in zip(logs, workers, strict=True):
                wait_for(lambda p=path: "standing by" in p.read_text(), "a worker to stand by",
                         worker)  # fmt: skip
                assert f":{daemon.pid}:" in path.read_text()  # it names the holder
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(WAIT)
            wait_for(lambda: any("started as" in path.read_text() for path in logs),
                     "a worker to take over", workers[0])  # fmt: skip
            time.sleep(2)  # more than a standby's second between looks: still one holder
            (taker,) = [i for i, path in enumerate(logs) if "started as" in path.read_text()]
            assert "took worker slot 0 of 1" in logs[taker].read_text()
            assert workers[1 - taker].poll() is None  # the other stands by still
        finally:
            for process in (daemon, *workers):
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
                    process.wait(WAIT)
    assert [p.returncode for p in (daemon, *workers)] == [0, 0, 0]
    text = "".join(path.read_text() for path in [*logs, tmp_path / "run.log"])
    assert "Traceback" not in text
    assert "started as" not in logs[1 - taker].read_text()
