"""The schedule as data: next-due times, jitter, backoff, server hints, pauses, the digest's
local time across DST, and a fake clock driving `feedbot run`'s core through days."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from feedbot.app import App
from feedbot.fixture_server import FixtureServer, Route
from feedbot.runner import Runner
from feedbot.schedule import (
    Hints,
    Policy,
    SourceSchedule,
    backoff,
    cache_lifetime,
    decide,
    local_time,
    next_digest_at,
    next_fetch_after,
    parse_clock_time,
    previous_digest_at,
    skip_forward,
)
from feedbot.sources.feed import feed_hints

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
POLICY = Policy(
    interval=HOUR,
    min_interval=timedelta(minutes=5),
    max_interval=timedelta(hours=24),
    jitter=0.1,
    pause_after=timedelta(hours=48),
)
NEW_YORK = ZoneInfo("America/New_York")
NO_HINTS = Hints()


def after(now: datetime = NOW, failures: int = 0, hints: Hints = NO_HINTS, key: str = "a",
          interval: timedelta = HOUR, policy: Policy = POLICY) -> timedelta:  # fmt: skip
    when = next_fetch_after(now, interval, jitter=policy.jitter, failures=failures, key=key,
                            policy=policy, hints=hints)  # fmt: skip
    return when - now


# -- the policy --------------------------------------------------------------------------------


def test_jitter_stays_within_its_bounds_is_reproducible_and_spreads_sources() -> None:
    delays = [after(NOW + timedelta(minutes=i), key=f"source-{i % 7}") for i in range(500)]
    assert all(timedelta(minutes=54) <= d <= timedelta(minutes=66) for d in delays)
    assert len(set(delays)) > 400  # sources sharing an interval do not fire together
    assert min(delays) < timedelta(minutes=56) and max(delays) > timedelta(minutes=64)
    assert after(key="x") == after(key="x")  # a pure function: the same inputs, the same time
    assert after(key="x") != after(key="y")


def test_backoff_doubles_per_failure_up_to_the_cap() -> None:
    assert [backoff(HOUR, n, timedelta(hours=24)) for n in range(7)] == [
        HOUR, 2 * HOUR, 4 * HOUR, 8 * HOUR, 16 * HOUR, 24 * HOUR, 24 * HOUR,
    ]  # fmt: skip
    # a source whose own interval is longer than the cap keeps it
    assert backoff(48 * HOUR, 3, 24 * HOUR) == 48 * HOUR
    assert backoff(HOUR, 10_000, 24 * HOUR) == 24 * HOUR
    for failures, base in [(1, 2), (3, 8), (9, 24)]:
        delay = after(failures=failures)
        assert base * HOUR * 0.9 <= delay <= base * HOUR * 1.1


def test_never_faster_than_the_floor() -> None:
    assert after(interval=timedelta(seconds=10)) == timedelta(minutes=5)


def test_server_hints_are_minimums_that_jitter_only_lengthens() -> None:
    three_hours = timedelta(hours=3)
    for i in range(50):
        now = NOW + timedelta(minutes=i)
        for hints in (Hints(max_age=three_hours), Hints(ttl=three_hours)):
            assert three_hours <= after(now, hints=hints) <= three_hours * 1.1
        # Retry-After counts after a failure (a 429/503), over the backoff when longer
        retried = after(now, failures=1, hints=Hints(retry_after=three_hours))
        assert three_hours <= retried <= three_hours * 1.1
    # a hint shorter than the interval changes nothing; one past the cap is capped
    assert after(hints=Hints(max_age=timedelta(minutes=1))) == after()
    assert after(hints=Hints(retry_after=timedelta(days=30)), failures=1) <= 24 * HOUR * 1.1


def test_skip_hours_and_days_move_a_fetch_to_the_next_allowed_hour() -> None:
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # a Monday
    assert skip_forward(late, {23, 0, 1}, ()) == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    assert skip_forward(late, (), {"Monday", "Tuesday"}) == datetime(2026, 11, 25, 0, 0, tzinfo=UTC)
    assert skip_forward(late, {5}, ()) == late
    assert skip_forward(late, range(24), ()) == late  # skipping every hour is ignored
    # due at about 22:25, which the feed skips (and 23:00): midnight instead
    delay = after(datetime(2026, 11, 23, 21, 30, tzinfo=UTC),
                  hints=Hints(skip_hours=frozenset({22, 23})))  # fmt: skip
    assert delay == timedelta(hours=2.5)


def test_a_source_failing_for_pause_after_is_paused() -> None:
    schedule = SourceSchedule("a")
    first = decide(schedule, POLICY, NOW, failed=True)
    assert first.failing_since == NOW and not first.paused
    later = SourceSchedule("a", consecutive_failures=5, failing_since=NOW)
    assert not decide(later, POLICY, NOW + timedelta(hours=47), failed=True).paused
    assert decide(later, POLICY, NOW + timedelta(hours=48), failed=True).paused
    recovered = decide(later, POLICY, NOW + timedelta(hours=47), failed=False)
    assert recovered.failing_since is None and not recovered.paused
    assert recovered.next_due_at - (NOW + timedelta(hours=47)) <= HOUR * 1.1


def test_cache_lifetime_from_cache_control_or_expires() -> None:
    assert cache_lifetime({"cache-control": "public, max-age=600"}, NOW) == timedelta(minutes=10)
    assert cache_lifetime({"cache-control": "no-cache, max-age=600"}, NOW) is None
    assert cache_lifetime({"cache-control": "max-age=0"}, NOW) is None
    expires = {"date": "Mon, 23 Nov 2026 18:00:00 GMT", "expires": "Mon, 23 Nov 2026 20:00:00 GMT"}
    assert cache_lifetime(expires, NOW) == 2 * HOUR
    assert cache_lifetime({"expires": "Mon, 23 Nov 2026 19:00:00 GMT"}, NOW) == HOUR
    assert cache_lifetime({"expires": "0"}, NOW) is None
    assert cache_lifetime({}, NOW) is None


def test_feed_hints_read_ttl_and_skip_hours_and_days() -> None:
    rss = (b"<rss version='2.0'><channel><title>t</title><ttl>90</ttl>"
           b"<skipHours><hour>0</hour><hour>24</hour><hour> 7 </hour><hour>99</hour></skipHours>"
           b"<skipDays><day>Saturday</day><day>sunday</day><day>Funday</day></skipDays>"
           b"</channel></rss>")  # fmt: skip
    assert feed_hints(rss) == (90.0, (0, 7), ("Saturday", "Sunday"))
    assert feed_hints(b"<feed xmlns='http://www.w3.org/2005/Atom'/>") == (None, (), ())


def test_clock_times() -> None:
    assert parse_clock_time("07:00") == time(7, 0)
    for bad in ("7", "07:0", "ab:cd", "07-00"):
        with pytest.raises(ValueError):
            parse_clock_time(bad)


# -- the digest's time -------------------------------------------------------------------------


def test_the_digest_is_at_07_00_new_york_time_across_both_dst_changes() -> None:
    seven = time(7, 0)
    when, times = datetime(2026, 10, 30, 12, 0, tzinfo=UTC), []
    for _ in range(4):
        when = next_digest_at(when, seven, NEW_YORK)
        times.append(when)
    assert times == [
        datetime(2026, 10, 31, 11, 0, tzinfo=UTC),  # EDT, UTC-4
        datetime(2026, 11, 1, 12, 0, tzinfo=UTC),  # clocks fell back at 02:00: EST, UTC-5
        datetime(2026, 11, 2, 12, 0, tzinfo=UTC),
        datetime(2026, 11, 3, 12, 0, tzinfo=UTC),
    ]
    assert all(t.astimezone(NEW_YORK).time() == seven for t in times)
    spring = next_digest_at(datetime(2026, 3, 7, 12, 0, tzinfo=UTC), seven, NEW_YORK)
    assert spring == datetime(2026, 3, 8, 11, 0, tzinfo=UTC)  # 07:00 EDT on the changeover day
    # exactly at the time: the next one is tomorrow's; just before: today's
    assert next_digest_at(times[1], seven, NEW_YORK) == times[2]
    assert previous_digest_at(times[1], seven, NEW_YORK) == times[1]
    assert previous_digest_at(times[1] - timedelta(seconds=1), seven, NEW_YORK) == times[0]


def test_local_times_the_clocks_skip_or_repeat() -> None:
    # 02:30 does not exist on 2026-03-08 in New York: the digest goes at 03:30 EDT
    skipped = local_time(date(2026, 3, 8), time(2, 30), NEW_YORK)
    assert skipped == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    # 01:30 happens twice on 2026-11-01: the first one (EDT)
    repeated = local_time(date(2026, 11, 1), time(1, 30), NEW_YORK)
    assert repeated == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    assert next_digest_at(repeated, time(1, 30), NEW_YORK) == datetime(2026, 11, 2, 6, 30,
                                                                       tzinfo=UTC)  # fmt: skip


# -- a fake clock through days -----------------------------------------------------------------


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def rss(name: str, extra: str = "", items: int = 2) -> bytes:
    entries = "".join(
        f"<item><title>{name} story {i}</title><link>https://{name}.example.org/{i}</link>"
        f"<guid>https://{name}.example.org/{i}</guid>"
        f"<pubDate>Thu, 29 Oct 2026 0{i}:00:00 GMT</pubDate></item>"
        for i in range(items)
    )
    return (f"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel>"
            f"<title>{name}</title><link>https://{name}.example.org/</link>{extra}{entries}"
            "</channel></rss>").encode()  # fmt: skip


START = datetime(2026, 10, 30, 8, 0, tzinfo=UTC)  # 04:00 in New York, before the digest
DOWN = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # 05:00 EST: the daemon stops…
UP = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)  # …and starts again at 10:00 EST
END = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)


def test_a_fake_clock_drives_the_daemon_through_days(
    make_app: Callable[..., App], server: FixtureServer
) -> None:
    server.routes.update({
        "/steady.xml": Route(rss("steady")),
        "/fast.xml": Route(rss("fast")),
        "/broken.xml": Route(b"oops", status=500, content_type="text/plain"),
        "/limited.xml": Route(b"slow down", status=429, content_type="text/plain",
                              headers={"Retry-After": "10800"}),
        "/cached.xml": Route(rss("cached"), headers={"Cache-Control": "max-age=10800"}),
        "/ttl.xml": Route(rss("ttl", "<ttl>120</ttl><skipHours><hour>0</hour><hour>1</hour>"
                                     "<hour>2</hour><hour>3</hour></skipHours>")),
    })  # fmt: skip
    names = {"/steady.xml": "Steady", "/fast.xml": "Fast", "/broken.xml": "Broken",
             "/limited.xml": "Limited", "/cached.xml": "Cached", "/ttl.xml": "Ttl"}  # fmt: skip
    sources = [{"name": name, "url": server.url(path)} for path, name in names.items()]
    sources[1]["interval_minutes"] = 20
    clock = FakeClock(START)
    app = make_app(
        sources,
        schedule={"interval_minutes": 60, "jitter": 0.1, "min_interval_minutes": 5,
                  "max_interval_hours": 24, "pause_after_hours": 48, "tick_seconds": 86400,
                  "build_debounce_seconds": 60},
        digest={"send_at": "07:00", "timezone": "America/New_York"},
    )  # fmt: skip
    app.clock = clock
    fetched: dict[str, list[datetime]] = {path: [] for path in names}
    builds: list[datetime] = []
    digests: list[tuple[datetime, date]] = []

    async def run_until(end: datetime, hook: Callable[[], None] = lambda: None) -> None:
        runner = Runner(app, "run", build=lambda: builds.append(clock.now),
                        send_digest=lambda day: digests.append((clock.now, day)))  # fmt: skip
        await runner.start()
        try:
            while clock.now < end:
                before = dict(server.hits)
                await runner.tick()
                for path in names:
                    fetched[path] += [clock.now] * (server.hits[path] - before.get(path, 0))
                if fetched["/limited.xml"]:  # after its first 429, the server recovers
                    server.routes["/limited.xml"] = Route(rss("limited"))
                hook()
                clock.now = runner.next_wake()
        finally:
            await runner.close()

    def gaps(path: str) -> list[timedelta]:
        times = fetched[path]
        return [b - a for a, b in itertools.pairwise(times)]

    asyncio.run(run_until(DOWN))

    # intervals, with jitter in its bounds (and actually varying)
    steady = gaps("/steady.xml")
    assert len(steady) >= 60
    assert all(timedelta(minutes=54) <= g <= timedelta(minutes=66) for g in steady)
    assert len(set(steady)) > 10
    assert all(timedelta(minutes=18) <= g <= timedelta(minutes=22) for g in gaps("/fast.xml"))
    # backoff: 2 h, 4 h, 8 h, 16 h, 24 h (the cap), each ±10 %; paused once failing for 48 h
    broken = gaps("/broken.xml")
    assert len(broken) == 5, fetched["/broken.xml"]
    for gap, hours in zip(broken, [2, 4, 8, 16, 24], strict=True):
        assert hours * HOUR * 0.9 <= gap <= hours * HOUR * 1.1
    [broken_status] = [s for s in app.store.status(clock.now) if s.name == "Broken"]
    assert broken_status.paused_at == fetched["/broken.xml"][-1]
    assert broken_status.failing_since == START and broken_status.consecutive_failures == 6
    # Retry-After: 3 h after the 429, then the usual hour
    limited = gaps("/limited.xml")
    assert timedelta(hours=3) <= limited[0] <= timedelta(hours=3.3)
    assert all(timedelta(minutes=54) <= g <= timedelta(minutes=66) for g in limited[1:])
    # Cache-Control max-age (on the 200 and on every 304) and the feed's <ttl> and <skipHours>
    assert all(timedelta(hours=3) <= g <= timedelta(hours=3.3) for g in gaps("/cached.xml"))
    assert all(g >= timedelta(hours=2) for g in gaps("/ttl.xml"))
    assert all(t.hour not in {0, 1, 2, 3} for t in fetched["/ttl.xml"])
    # the site: built at start (with the first entries), then once, a debounce after the one
    # later change (Limited's first entries); never after 304s or failures
    assert builds == [START, fetched["/limited.xml"][1] + timedelta(seconds=60)]

    # Downtime: five hours stopped. On restart every due source is fetched once (coalesced, not
    # once per missed interval), and the digest missed at 07:00 goes out once. Two hours later
    # the paused source is resumed.
    counts = {path: len(times) for path, times in fetched.items()}
    at_restart: dict[str, int] = {}
    resumed: list[datetime] = []

    def phase_two() -> None:
        if not at_restart:
            at_restart.update({path: len(t) - counts[path] for path, t in fetched.items()})
        if not resumed and clock.now >= UP + 2 * HOUR:
            assert app.store.resume_source("Broken")
            resumed.append(clock.now)

    clock.now = UP
    asyncio.run(run_until(END, phase_two))
    assert at_restart == {
        "/steady.xml": 1, "/fast.xml": 1, "/limited.xml": 1, "/cached.xml": 1, "/ttl.xml": 1,
        "/broken.xml": 0,  # paused
    }  # fmt: skip
    assert next(t for t in fetched["/steady.xml"] if t >= UP) == UP
    assert builds[2:] == [UP]  # the restart builds once; nothing changed since
    # resumed: fetched at the next wake-up, then backing off afresh (2 h, 4 h, 8 h)
    after_resume = [t for t in fetched["/broken.xml"] if t >= resumed[0]]
    assert after_resume[0] - resumed[0] <= 25 * timedelta(minutes=1)
    assert len(after_resume) == 4, after_resume
    for (a, b), hours in zip(itertools.pairwise(after_resume), [2, 4, 8],
                             strict=True):  # fmt: skip
        assert hours * HOUR * 0.9 <= b - a <= hours * HOUR * 1.1

    # the digest, at 07:00 in New York every day, across the fall-back on 1 November
    assert digests == [
        (datetime(2026, 10, 30, 11, 0, tzinfo=UTC), date(2026, 10, 30)),
        (datetime(2026, 10, 31, 11, 0, tzinfo=UTC), date(2026, 10, 31)),
        (datetime(2026, 11, 1, 12, 0, tzinfo=UTC), date(2026, 11, 1)),
        (UP, date(2026, 11, 2)),  # missed while stopped: sent once, on restart
        (datetime(2026, 11, 3, 12, 0, tzinfo=UTC), date(2026, 11, 3)),
    ]


# -- feedbot status and sources resume ---------------------------------------------------------


def test_status_shows_the_schedule_and_resume_brings_a_paused_source_back(
    tmp_path: Path, server: FixtureServer
) -> None:
    import json
    import os
    import subprocess
    import sys

    from sqlalchemy import update

    from feedbot.config import load_settings
    from feedbot.models import Source

    server.routes["/ok.xml"] = Route(rss("ok"))
    (tmp_path / "feedbot.toml").write_text(
        "[http]\nallow_private_networks = true\nretries = 0\n"
        f'[[sources]]\nname = "Good"\nurl = "{server.url("/ok.xml")}"\ninterval_minutes = 30\n'
        f'[[sources]]\nname = "Gone"\nurl = "{server.url("/missing.xml")}"\n'
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FEEDBOT_CONFIG", "DATABASE_URL")}

    def feedbot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "feedbot", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    assert feedbot("fetch").returncode == 0
    app = open_app_for(tmp_path)
    paused_at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with app.store.engine.begin() as conn:
        conn.execute(update(Source.__table__).where(Source.__table__.c.name == "Gone")
                     .values(paused_at=paused_at, failing_since=paused_at - 3 * 24 * HOUR))  # fmt: skip
    app.close()

    text = feedbot("status")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith("Gone: PAUSED; 0 entries; last success never")
    assert "paused 2026-11-20 09:00 UTC after failing since 2026-11-17 09:00 UTC" in lines[1]
    assert "feedbot sources resume 'Gone'" in lines[1]
    assert "last error" in lines[2] and "404" in lines[2]
    assert lines[3].startswith("Good: ok; 2 entries (+2 in 24 h); last success ")
    assert lines[3].endswith("next due now")  # `fetch` does not schedule: the daemon will
    records = [json.loads(line) for line in feedbot("status", "--json").stdout.splitlines()]
    assert [(r["name"], r["state"], r["paused"]) for r in records] == [
        ("Gone", "paused", True), ("Good", "ok", False)
    ]  # fmt: skip
    assert records[1]["interval_seconds"] == 1800 and records[1]["entries"] == 2
    assert records[0]["paused_at"] == "2026-11-20T09:00:00+00:00"

    resumed = feedbot("sources", "resume", "Gone")
    assert resumed.returncode == 0 and "Resumed Gone" in resumed.stdout
    assert feedbot("status").stdout.startswith("Gone: FAILING")
    missing = feedbot("sources", "resume", "Nope")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "feedbot: error: no source named 'Nope' (see 'feedbot status')"
    assert load_settings(tmp_path / "feedbot.toml").sources[0].interval_minutes == 30


def open_app_for(folder: Path) -> App:
    from feedbot.app import open_app
    from feedbot.config import load_settings

    return open_app(load_settings(folder / "feedbot.toml"))


def test_the_sites_sources_page_says_failing_and_paused_as_status_does(
    server: FixtureServer, make_app: Callable[..., App]
) -> None:
    from sqlalchemy import update

    from feedbot.models import Source
    from feedbot.status import state

    server.routes["/ok.xml"] = Route(rss("ok"))
    app = make_app([{"name": "Good", "url": server.url("/ok.xml")},
                    {"name": "Gone", "url": server.url("/gone.xml")},
                    {"name": "Resumed", "url": server.url("/resumed.xml")}])  # fmt: skip
    app.fetch()
    paused_at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    with app.store.engine.begin() as conn:  # as the daemon leaves a source failing for days
        conn.execute(update(Source.__table__).where(Source.__table__.c.name == "Gone")
                     .values(paused_at=paused_at, failing_since=paused_at - 72 * HOUR))  # fmt: skip
    # Resumed: its failures forgotten for pausing, but its last fetch still failed.
    assert app.store.resume_source("Resumed")
    states = {row.name: state(row) for row in app.store.status()}
    assert states == {"Good": "ok", "Gone": "PAUSED", "Resumed": "FAILING"}

    app.build()

    out = app.settings.output_path
    rows = {
        name: row for row in (out / "sources/index.html").read_text().split("<tr>")[2:]
        for name in ("Good", "Gone", "Resumed") if f">{name}</a>" in row
    }  # fmt: skip
    assert "paused since" in rows["Gone"] and "404" in rows["Gone"]
    assert "failing" in rows["Resumed"] and "404" in rows["Resumed"]
    assert "source-error" not in rows["Good"] and ">ok<" in rows["Good"]
    assert "404" in (out / "sources/resumed.html").read_text()  # its own page says so too
