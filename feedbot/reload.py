"""Picking up an edited config file in ``feedbot run`` and ``feedbot worker`` without a restart.

The daemon looks at its config file every couple of seconds (and at once on SIGHUP). When the
file has changed, and stayed the same from one look to the next, into a valid configuration
that differs from the one running, the daemon stops as on SIGTERM (fetches in flight abandoned
and their leases released, the lock and the worker slot given back) and executes itself again,
with the same arguments and process id: a start from scratch, so sources added or removed, a
new schedule, new HTTP limits or a new topic taxonomy all take effect, with nothing to update
in place. A file that does not load (invalid TOML, a bad value) is reported once per change and
the daemon goes on with what it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from feedbot.config import Settings
from feedbot.errors import ConfigError

log = logging.getLogger(__name__)

LOOK_EVERY_SECONDS = 2.0

Stamp = tuple[int, int, int] | None  # the file's inode, modification time (ns) and size


def _stamp(path: Path) -> Stamp:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


class ConfigWatch:
    """Tells whether ``path`` now holds a valid configuration other than ``running``."""

    def __init__(self, path: Path, running: Settings, load: Callable[[Path], Settings]) -> None:
        self.path = path
        self.running = running
        self.load = load
        self.seen = _stamp(path)
        self.settling: Stamp = None

    def changed(self, asked: bool = False) -> bool:
        """True when the file changed (or ``asked``: SIGHUP) into a valid, different
        configuration. A change counts once two looks in a row find the file the same: an
        editor writing it in place (truncate, then write) can be caught half-way, and half a
        file may well be valid TOML, with fewer sources or another database. A change that does
        not load is logged once and ignored."""
        stamp = _stamp(self.path)
        if not asked:
            if stamp == self.seen:
                return False
            if stamp != self.settling:  # changed since the last look: look again first
                self.settling = stamp
                return False
        self.seen, self.settling = stamp, None
        try:
            settings = self.load(self.path)
        except ConfigError as e:
            log.error("%s; still running with the configuration it started with", e)
            return False
        if settings == self.running:
            if asked:
                log.info("%s has not changed; nothing to reload", self.path)
            return False
        log.info("%s changed: restarting with it", self.path)
        return True


async def watch(config: ConfigWatch, stop: asyncio.Event, reload: asyncio.Event) -> None:
    """Until ``stop``: look at the file every :data:`LOOK_EVERY_SECONDS`, and at once on
    SIGHUP; on a change, set ``reload`` and ``stop``."""
    loop = asyncio.get_running_loop()
    asked = asyncio.Event()
    loop.add_signal_handler(signal.SIGHUP, asked.set)
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asked.wait(), LOOK_EVERY_SECONDS)
            if config.changed(asked.is_set()):
                reload.set()
                stop.set()
            asked.clear()
    finally:
        loop.remove_signal_handler(signal.SIGHUP)


def restart() -> None:
    """Execute this program again with its arguments (same process id, so a supervisor or a
    pid file still names it). Every file and connection this process opened is closed by the
    exec (Python opens them close-on-exec); standard output and error carry on."""
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, sys.orig_argv)
