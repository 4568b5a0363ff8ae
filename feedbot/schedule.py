"""The schedule is data: when each source is next due, and when the digest is, as pure functions
of ``now`` and what is known of the source. Nothing here reads the clock, the network or the
database; :mod:`feedbot.runner` and :mod:`feedbot.worker` apply these decisions, and
:mod:`feedbot.scheduler` only wakes them.

The next fetch of a source, after a fetch that finished at ``now``::

    base   = interval × 2^failures, at most max_interval  (exponential backoff, capped)
    hinted = the longest of the server's hints: Retry-After (after a 429/503), Cache-Control
             max-age / Expires, the feed's <ttl>; each at most max_interval
    delay  = base × (1 ± jitter)              when the hints ask for less than base
             hinted × (1 + jitter)            when they ask for more (never earlier than asked)
    delay  = max(delay, min_interval)         (the floor: never faster)
    when   = now + delay, moved out of the feed's <skipHours>/<skipDays> (GMT, as RSS says)

The jitter is deterministic: a hash of the source and ``now`` picks the point in ±jitter, so the
same inputs give the same answer (tests can replay a schedule) while sources sharing an interval
spread out instead of firing together. Because the next due time counts from when a fetch
finished, not from when it was due, a source that was due many times during downtime is
fetched once when work resumes: missed runs coalesce.

A source that has been failing for ``pause_after`` without a success is paused: it is not
claimed any more, and ``feedbot status`` flags it until ``feedbot sources resume NAME`` (or a
change of its URL or settings in the config) resumes it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from feedbot.config import ScheduleSettings

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Policy:
    """The schedule's settings (``[schedule]``), as durations."""

    interval: timedelta = timedelta(hours=1)
    min_interval: timedelta = timedelta(minutes=5)
    max_interval: timedelta = timedelta(hours=24)
    jitter: float = 0.1
    pause_after: timedelta = timedelta(hours=72)


def policy_from(settings: ScheduleSettings) -> Policy:
    """The policy of the ``[schedule]`` settings."""
    return Policy(
        interval=timedelta(minutes=settings.interval_minutes),
        min_interval=timedelta(minutes=settings.min_interval_minutes),
        max_interval=timedelta(hours=settings.max_interval_hours),
        jitter=settings.jitter,
        pause_after=timedelta(hours=settings.pause_after_hours),
    )


@dataclass(frozen=True)
class Hints:
    """What the source said about its own schedule.

    ``ttl``, ``skip_hours`` and ``skip_days`` come from the feed document and are kept with the
    source (a ``304`` repeats none of them); ``max_age`` and ``retry_after`` come with one
    response and count for the next fetch only."""

    retry_after: timedelta | None = None
    max_age: timedelta | None = None
    ttl: timedelta | None = None
    skip_hours: frozenset[int] = frozenset()  # 0-23, GMT
    skip_days: frozenset[str] = frozenset()  # "Monday"…

    def stored(self) -> dict[str, Any]:
        """The part kept with the source, as JSON."""
        return {
            "ttl": self.ttl.total_seconds() if self.ttl else None,
            "skip_hours": sorted(self.skip_hours),
            "skip_days": [day for day in DAY_NAMES if day in self.skip_days],
        }


def hints_from_json(value: Mapping[str, Any] | None) -> Hints:
    """The stored part of :class:`Hints` back from JSON (missing or odd values ignored)."""
    if not value:
        return Hints()
    ttl = value.get("ttl")
    hours = value.get("skip_hours") or []
    days = value.get("skip_days") or []
    return Hints(
        ttl=timedelta(seconds=float(ttl)) if isinstance(ttl, int | float) and ttl > 0 else None,
        skip_hours=frozenset(h for h in hours if isinstance(h, int) and 0 <= h <= 23),
        skip_days=frozenset(d for d in days if d in DAY_NAMES),
    )


@dataclass(frozen=True)
class SourceSchedule:
    """What the schedule knows of one source when it is claimed."""

    key: str  # what seeds its jitter: the source's name
    interval: timedelta | None = None  # its own interval; None: the policy's
    consecutive_failures: int = 0  # before this fetch
    failing_since: datetime | None = None
    hints: Hints = field(default_factory=Hints)  # the stored ones (ttl, skip hours and days)


@dataclass(frozen=True)
class Decision:
    """The schedule of a source after one fetch."""

    next_due_at: datetime
    failing_since: datetime | None  # when the current run of failures began
    paused: bool  # failing for the policy's pause_after: stop claiming it


@dataclass(frozen=True)
class ScheduleUpdate:
    """A source's schedule after a fetch, as the store saves it (releasing the lease that
    ``owner`` holds on it, in the transaction that stores the fetch)."""

    source_id: int
    owner: str
    next_due_at: datetime
    failing_since: datetime | None
    paused_at: datetime | None
    hints: dict[str, Any]  # Hints.stored(): the feed's ttl and skip hours and days


def jitter_unit(key: str, now: datetime) -> float:
    """A deterministic number in [-1, 1] for this source at this moment."""
    digest = hashlib.sha256(f"{key}\x1f{now.astimezone(UTC).isoformat()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**63 - 1.0


def backoff(interval: timedelta, failures: int, cap: timedelta) -> timedelta:
    """``interval`` doubled for each consecutive failure, at most ``cap`` (never below
    ``interval`` itself: a source asking for a long interval keeps it)."""
    if failures <= 0:
        return interval
    doubled = interval.total_seconds() * 2.0 ** min(failures, 64)
    return max(interval, timedelta(seconds=min(doubled, cap.total_seconds())))


def next_fetch_after(
    now: datetime,
    interval: timedelta,
    *,
    jitter: float,
    failures: int,
    key: str,
    policy: Policy,
    hints: Hints = Hints(),
) -> datetime:
    """When to fetch a source next, its fetch having finished at ``now`` (see the module
    docstring for the formula)."""
    base = backoff(interval, failures, policy.max_interval)
    asked = [hints.ttl, hints.max_age, hints.retry_after if failures else None]
    hinted = max((min(h, policy.max_interval) for h in asked if h), default=timedelta(0))
    unit = jitter_unit(key, now)
    # A server's hint is a minimum: jitter only ever lengthens it.
    delay = hinted * (1 + jitter * abs(unit)) if hinted > base else base * (1 + jitter * unit)
    delay = max(delay, policy.min_interval)
    return skip_forward(now + delay, hints.skip_hours, hints.skip_days)


def skip_forward(when: datetime, skip_hours: Iterable[int], skip_days: Iterable[str]) -> datetime:
    """``when``, or the start of the first hour after it that the feed does not ask to skip
    (``<skipHours>`` are GMT hours, ``<skipDays>`` GMT days). A feed that skips every hour or
    every day is ignored."""
    hours, days = frozenset(skip_hours), frozenset(skip_days)
    if len(hours) >= 24:
        hours = frozenset()
    if len(days) >= 7:
        days = frozenset()
    if not hours and not days:
        return when
    utc = when.astimezone(UTC)
    for _ in range(24 * 8):
        if utc.hour not in hours and DAY_NAMES[utc.weekday()] not in days:
            return utc
        utc = utc.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return when


def decide(
    schedule: SourceSchedule,
    policy: Policy,
    now: datetime,
    *,
    failed: bool,
    hints: Hints = Hints(),
) -> Decision:
    """The source's schedule after a fetch that finished at ``now``: next due, the start of its
    run of failures, and whether it is now paused. ``hints`` are this response's (a failure's
    Retry-After; a success's cache lifetime, and its document's ttl and skip hours, which replace
    the stored ones)."""
    interval = schedule.interval or policy.interval
    stored = schedule.hints
    if failed:
        failures = schedule.consecutive_failures + 1
        since = schedule.failing_since or now
        effective = Hints(retry_after=hints.retry_after, ttl=stored.ttl,
                          skip_hours=stored.skip_hours, skip_days=stored.skip_days)  # fmt: skip
    else:
        failures = 0
        since = None
        effective = hints
    paused = since is not None and now - since >= policy.pause_after
    due = next_fetch_after(now, interval, jitter=policy.jitter, failures=failures,
                           key=schedule.key, policy=policy, hints=effective)  # fmt: skip
    return Decision(due, since, paused)


# -- hints in HTTP headers and feed documents --------------------------------------------------


def cache_lifetime(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """How long a response may be cached: ``Cache-Control: max-age`` (``s-maxage`` is for shared
    caches; ``no-cache``/``no-store`` mean none), else ``Expires`` minus ``Date`` (or ``now``)."""
    control = headers.get("cache-control", "")
    directives: dict[str, str] = {}
    for part in control.split(","):
        name, _, value = part.strip().partition("=")
        if name:
            directives[name.strip().lower()] = value.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return None
    age = directives.get("max-age")
    if age is not None:
        return timedelta(seconds=int(age)) if age.isdigit() and int(age) > 0 else None
    expires = _http_date(headers.get("expires"))
    if expires is None:
        return None
    origin = _http_date(headers.get("date")) or now
    lifetime = expires - origin
    return lifetime if lifetime > timedelta(0) else None


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# -- the digest --------------------------------------------------------------------------------


def local_time(day: date, at: time, zone: tzinfo) -> datetime:
    """``at`` on ``day`` in ``zone``, as an aware UTC datetime. A time the clocks skip (02:30 on
    the night they spring forward) is moved on by the gap (03:30); a time they pass twice (01:30
    when they fall back) is its first occurrence."""
    # PEP 495: with fold=0 a skipped time takes the offset from before the change, which lands
    # it after the gap by the gap's length; a repeated time is read as its first occurrence.
    return datetime.combine(day, at).replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_digest_at(after: datetime, at: time, zone: tzinfo) -> datetime:
    """The first moment strictly after ``after`` that is ``at`` o'clock in ``zone`` (UTC)."""
    day = after.astimezone(zone).date() - timedelta(days=1)
    for _ in range(4):
        when = local_time(day, at, zone)
        if when > after:
            return when
        day += timedelta(days=1)
    raise AssertionError("unreachable: a local time recurs every day")


def previous_digest_at(now: datetime, at: time, zone: tzinfo) -> datetime:
    """The last moment at or before ``now`` that was ``at`` o'clock in ``zone`` (UTC)."""
    day = now.astimezone(zone).date() + timedelta(days=1)
    for _ in range(4):
        when = local_time(day, at, zone)
        if when <= now:
            return when
        day -= timedelta(days=1)
    raise AssertionError("unreachable: a local time recurs every day")


def parse_clock_time(value: str) -> time:
    """``"07:00"`` → 07:00. Raises ValueError for anything else."""
    hours, sep, minutes = value.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"expected a time as HH:MM, got {value!r}")
    return time(int(hours), int(minutes))
