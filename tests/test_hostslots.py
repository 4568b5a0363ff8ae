"""A machine's worker slots (feedbot.hostslots): real lock files, a real process killed with
SIGKILL while it holds one, and the standby's wait ending when a slot is freed or the worker is
stopped."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from feedbot.hostslots import (
    HostSlots,
    SlotsUnusable,
    machine_cpus,
    slot_count,
    slots_folder,
    wait_for_slot,
)

WAIT = 30.0


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A database's slots, laid out as slots_folder lays them out in the temporary folder."""
    return tmp_path / "feedbot-uid" / "worker-slots" / "db"


def test_slot_count_reads_the_setting() -> None:
    assert slot_count("unlimited") is None
    assert slot_count(3) == 3
    assert slot_count("cpus") == machine_cpus() == len(os.sched_getaffinity(0))


def test_one_folder_per_database_whatever_its_password() -> None:
    one = slots_folder("postgresql+psycopg://feedbot:secret@db.example.org/feeds")
    assert one == slots_folder("postgresql+psycopg://feedbot:changed@db.example.org/feeds")
    assert one != slots_folder("postgresql+psycopg://feedbot:secret@db.example.org/other")
    assert one != slots_folder("sqlite:///feedbot.db")
    assert "secret" not in str(one)
    assert one.parent.parent.name == f"feedbot-{os.getuid()}"


def test_no_more_holders_than_slots_and_a_released_slot_is_taken_again(folder: Path) -> None:
    first, second, third = (HostSlots(folder, 2) for _ in range(3))
    assert first.take("host:1:a") == 0
    assert first.take("host:1:a") == 0  # already held: the same slot, not another
    assert second.take("host:2:b") == 1
    assert third.take("host:3:c") is None
    assert sorted(third.holders()) == ["host:1:a", "host:2:b"]
    first.release()
    assert third.take("host:3:c") == 0
    assert sorted(first.holders()) == ["host:2:b", "host:3:c"]
    assert first.take("host:1:a") is None
    second.release()
    third.release()


def test_a_process_killed_while_holding_a_slot_frees_it(folder: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from feedbot.hostslots import HostSlots
            slots = HostSlots(Path({str(folder)!r}), 1)
            assert slots.take("host:child:x") == 0
            print("held", flush=True)
            time.sleep(600)
        """)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        mine = HostSlots(folder, 1)
        assert mine.take("host:me:y") is None
        assert mine.holders() == ["host:child:x"]
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(WAIT)
        assert holder.stdout is not None
        holder.stdout.close()
    assert mine.take("host:me:y") == 0  # no cleanup ran; the kernel dropped the lock
    assert mine.holders() == ["host:me:y"]
    mine.release()


def test_a_standby_takes_the_slot_once_it_is_freed(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    active, standby = HostSlots(folder, 1), HostSlots(folder, 1)
    assert active.take("host:1:active") == 0

    async def main() -> bool:
        asyncio.get_running_loop().call_later(1.5, active.release)
        return await asyncio.wait_for(wait_for_slot(standby, "host:2:standby", asyncio.Event()),
                                      WAIT)  # fmt: skip

    caplog.set_level("INFO", "feedbot.hostslots")
    assert asyncio.run(main()) is True
    assert standby.held == 0 and standby.holders() == ["host:2:standby"]
    messages = [record.getMessage() for record in caplog.records]
    assert messages[0].startswith("standing by: this machine's 1 worker slot for this database")
    assert "(host:1:active;" in messages[0]
    assert messages[-1] == "took worker slot 0 of 1 on this machine"
    standby.release()


def test_a_standby_stopped_while_waiting_takes_nothing(folder: Path) -> None:
    active, standby = HostSlots(folder, 1), HostSlots(folder, 1)
    assert active.take("host:1:active") == 0

    async def main() -> bool:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.3, stop.set)
        return await asyncio.wait_for(wait_for_slot(standby, "host:2:standby", stop), WAIT)

    assert asyncio.run(main()) is False
    assert standby.held is None
    active.release()
    assert standby.holders() == ["host:1:active"]  # the last holder's name stays written


def test_the_users_folder_is_made_private_and_planted_links_are_refused(
    folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    base = folder.parent.parent
    base.mkdir(mode=0o755)
    base.chmod(0o755)
    slots = HostSlots(folder, 1)
    assert slots.take("host:1:a") == 0
    assert base.stat().st_mode & 0o777 == 0o700  # no one else may plant files in it
    slots.release()

    # A slot file that is a link (to a file of ours that opening for writing would clobber).
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (folder / "slot-0").unlink()
    (folder / "slot-0").symlink_to(victim)
    with pytest.raises(SlotsUnusable, match="slot-0"):
        HostSlots(folder, 1).take("host:2:b")
    assert victim.read_text() == "precious"

    # The user's folder itself a link (to a folder someone else controls).
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "worker-slots" / "db").mkdir(parents=True)
    linked = tmp_path / "linked"
    linked.symlink_to(elsewhere)
    with pytest.raises(SlotsUnusable, match="not a folder of this user's"):
        HostSlots(linked / "worker-slots" / "db", 1).take("host:3:c")

    # A worker then fetches uncapped and says why, rather than stopping.
    async def main() -> bool:
        stopped = asyncio.Event()
        slots = HostSlots(linked / "worker-slots" / "db", 1)
        return await asyncio.wait_for(wait_for_slot(slots, "host:4:d", stopped), WAIT)

    caplog.set_level("INFO", "feedbot.hostslots")
    assert asyncio.run(main()) is True
    assert [r.levelname for r in caplog.records] == ["ERROR"]
    assert "running without a worker slot" in caplog.records[0].getMessage()
