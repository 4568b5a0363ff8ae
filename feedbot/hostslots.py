"""How many ``feedbot worker`` processes of one database fetch at once on one machine.

Parsing and storing feeds is CPU work, and a worker already overlaps its network waits with
many connections (``[http] max_connections``), so processes beyond the machine's CPUs add no
throughput: they only share the same cores and pay for it in context switches and cold caches
(measured: ~10 % more CPU a feed with 4 workers on 2 cores). So a worker first takes one of
this machine's ``[schedule] workers_per_host`` slots for its database, and holds it for its whole
life. A worker that finds every slot taken waits as a standby, looking again every second, and
takes over the slot of a worker that stops or dies.

A slot is an exclusive ``flock`` on a file in a per-user folder of the machine's temporary
directory, one folder per database. The kernel drops the lock when its holder exits, however
it exits (kill -9 included), so a dead worker never keeps its slot. Each slot file holds its
holder's name (``host:pid:nonce``) for the standby's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import stat
import tempfile
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # not a POSIX system: workers are not capped
    fcntl = None  # type: ignore[assignment]

LOOK_AGAIN_SECONDS = 1.0


def machine_cpus() -> int:
    """The CPUs this process may run on (its affinity, which containers and ``taskset`` set)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def slot_count(setting: int | str) -> int | None:
    """``[schedule] workers_per_host`` as a number of slots; None means no cap."""
    if setting == "unlimited":
        return None
    if setting == "cpus":
        return machine_cpus()
    return int(setting)


def slots_folder(database_url: str) -> Path:
    """This user's folder of slots for the database at ``database_url`` (its password left out
    of the name, so changing it keeps the slots)."""
    shown = make_url(database_url).render_as_string(hide_password=True)
    key = hashlib.sha256(shown.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"feedbot-{os.getuid()}" / "worker-slots" / key


class SlotsUnusable(OSError):
    """The slots' folder cannot be trusted or made (see :meth:`HostSlots.take`)."""


def _private_folder(folder: Path) -> None:
    """Make ``folder`` (and its parent, the user's folder in the shared temporary directory)
    as this user's alone, and refuse one that is another user's or a symlink: in a shared
    ``/tmp`` someone else could plant either, to hold every slot or to have a slot file
    truncate a file of ours."""
    base = folder.parent.parent
    for path in (base, folder.parent, folder):
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            raise SlotsUnusable(f"{path} is not a folder of this user's")
        if path == base and info.st_mode & 0o077:
            path.chmod(0o700)


class HostSlots:
    """``count`` slots in ``folder``; :meth:`take` holds at most one of them for this object."""

    def __init__(self, folder: Path, count: int) -> None:
        if count < 1:
            raise ValueError("a cap needs at least one slot")
        self.folder = folder
        self.count = count
        self.held: int | None = None
        self._file: IO[str] | None = None

    def take(self, owner: str) -> int | None:
        """Take a free slot without waiting, writing ``owner`` in it. Returns its number, or
        None when all are taken (or already held by this object: its number). Raises
        :class:`SlotsUnusable` when the folder is not this user's own."""
        if self.held is not None:
            return self.held
        if fcntl is None:
            self.held = 0
            return 0
        _private_folder(self.folder)
        for number in range(self.count):
            path = self.folder / f"slot-{number}"
            flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW
            try:
                handle = os.fdopen(os.open(path, flags, 0o600), "r+", encoding="utf-8")
            except OSError as e:
                raise SlotsUnusable(f"{path}: {e.strerror}") from e
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            handle.truncate(0)
            handle.write(owner)
            handle.flush()
            self._file, self.held = handle, number
            return number
        return None

    def holders(self) -> list[str]:
        """The names written in the slots (a slot's last holder stays written after it left)."""
        names = []
        for number in range(self.count):
            try:
                names.append((self.folder / f"slot-{number}").read_text(encoding="utf-8"))
            except OSError:
                continue
        return [name for name in names if name]

    def release(self) -> None:
        """Give the slot back (closing the file drops the lock)."""
        if self._file is not None:
            self._file.close()
        self._file, self.held = None, None


def take_if_free(slots: HostSlots, owner: str) -> int | None:
    """Take a slot without waiting (``feedbot run``, which is counted but never waits)."""
    try:
        return slots.take(owner)
    except SlotsUnusable as e:
        log.error("running without a worker slot (workers_per_host): %s", e)
        return None


async def wait_for_slot(slots: HostSlots, owner: str, stop: asyncio.Event) -> bool:
    """Take a slot, waiting as a standby while all are taken. False when ``stop`` was set
    first. A folder of slots that cannot be used is logged and the worker runs uncapped: the
    cap saves CPU, and is not worth stopping the fetching for."""
    waiting = False
    while True:
        try:
            if slots.take(owner) is not None:
                break
        except SlotsUnusable as e:
            log.error("running without a worker slot (workers_per_host): %s", e)
            return True
        if not waiting:
            log.info(
                "standing by: this machine's %d worker slot%s for this database %s taken "
                "(%s; [schedule] workers_per_host); fetching starts when one is free",
                slots.count, "s" if slots.count > 1 else "",
                "are" if slots.count > 1 else "is", ", ".join(slots.holders()) or "?",
            )  # fmt: skip
            waiting = True
        try:
            await asyncio.wait_for(stop.wait(), LOOK_AGAIN_SECONDS)
        except TimeoutError:
            continue
        return False
    if waiting:
        log.info("took worker slot %d of %d on this machine", slots.held, slots.count)
    return True
