"""``feedbot status``: each source's health as lines for people or JSON for scripts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from feedbot.records import SourceStatus


def state(row: SourceStatus) -> str:
    """``inactive`` (removed from the config), ``PAUSED``, ``FAILING`` or ``ok``."""
    if not row.active:
        return "inactive"
    if row.paused_at is not None:
        return "PAUSED"
    # last_error is cleared by a success: set, the last fetch failed (also after a resume,
    # which starts the count of failures afresh)
    return "FAILING" if row.consecutive_failures or row.last_error else "ok"


def _when(value: datetime | None, default: str = "never") -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else default


def status_lines(row: SourceStatus, now: datetime) -> list[str]:
    """The source's line, and under it what needs attention (a pause, the last error, a
    warning) and who is fetching it now."""
    added = f" (+{row.entries_added_24h} in 24 h)" if row.entries_added_24h else ""
    first = f"{row.name}: {state(row)}; {row.entries} entries{added}; "
    first += f"last success {_when(row.last_success_at)}"
    if row.active and row.paused_at is None:
        due = row.next_due_at
        first += "; next due " + ("now" if due is None or due <= now else _when(due))
    lines = [first]
    if row.paused_at is not None:
        lines.append(
            f"    paused {_when(row.paused_at)} after failing since {_when(row.failing_since)}; "
            f"resume with: feedbot sources resume {row.name!r}"
        )
    if row.last_error:
        when = _when(row.last_error_at, "?")
        times = f", {row.consecutive_failures}× in a row" if row.consecutive_failures else ""
        lines.append(f"    last error ({when}{times}): {row.last_error}")
    elif row.last_warning:
        lines.append(f"    warning: {row.last_warning}")
    if row.lease_owner and row.lease_expires_at and row.lease_expires_at > now:
        lines.append(f"    being fetched by {row.lease_owner}")
    return lines


def status_json(row: SourceStatus) -> dict[str, Any]:
    """The source's status as a JSON object (times in ISO 8601, UTC)."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "name": row.name,
        "kind": row.kind,
        "url": row.url,
        "state": state(row).lower(),
        "active": row.active,
        "paused": row.paused_at is not None,
        "entries": row.entries,
        "entries_added_24h": row.entries_added_24h,
        "last_fetched_at": iso(row.last_fetched_at),
        "last_success_at": iso(row.last_success_at),
        "last_error": row.last_error,
        "last_error_at": iso(row.last_error_at),
        "last_warning": row.last_warning,
        "consecutive_failures": row.consecutive_failures,
        "failing_since": iso(row.failing_since),
        "paused_at": iso(row.paused_at),
        "next_due_at": iso(row.next_due_at),
        "interval_seconds": row.interval_seconds,
        "lease_owner": row.lease_owner,
        "lease_expires_at": iso(row.lease_expires_at),
    }
