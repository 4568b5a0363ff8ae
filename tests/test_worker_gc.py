"""The garbage collector of `feedbot worker` and `feedbot run` (feedbot.gcsettings): start-up's
objects frozen, the youngest generation collected less often, cycles made later still freed.
Each check runs in a fresh Python process, so that this one's collector is left as it is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from feedbot.fixture_server import FixtureServer, Route
from feedbot.gcsettings import YOUNG_THRESHOLD

PROBE = """
import gc, json, weakref
from feedbot.gcsettings import settle_after_start
if {start_threshold}:
    gc.set_threshold({start_threshold}, 10, 10)
before = gc.get_freeze_count()
frozen = settle_after_start()
class Node:
    pass
node = Node()
node.me = node  # a reference cycle: only the collector can free it
ref = weakref.ref(node)
del node
alive_before_collect = ref() is not None
gc.collect()
print(json.dumps({{"before": before, "frozen": frozen, "threshold": gc.get_threshold()[0],
                  "alive_before_collect": alive_before_collect, "freed": ref() is None}}))
"""


def probe(start_threshold: int = 0) -> dict[str, int | bool]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(start_threshold=start_threshold)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    result: dict[str, int | bool] = json.loads(done.stdout)
    return result


def test_settling_freezes_start_up_and_still_frees_later_cycles() -> None:
    found = probe()
    assert found["before"] == 0
    assert found["frozen"] > 1000  # the modules' objects, at least
    assert found["threshold"] == YOUNG_THRESHOLD > 700
    assert found["alive_before_collect"] is True  # reference counting cannot free a cycle
    assert found["freed"] is True  # the collector still does


def test_settling_never_lowers_a_higher_threshold() -> None:
    assert probe(start_threshold=YOUNG_THRESHOLD * 3)["threshold"] == YOUNG_THRESHOLD * 3


def rss() -> bytes:
    return (b"<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>F</title>"
            b"<link>https://f.example.org/</link><item><title>Story</title>"
            b"<link>https://f.example.org/1</link></item></channel></rss>")  # fmt: skip


def test_feedbot_worker_settles_its_collector_and_fetches(tmp_path: Path) -> None:
    with FixtureServer({"/f.xml": Route(rss())}) as server:
        config = tmp_path / "feedbot.toml"
        config.write_text(
            f'database_url = "sqlite:///{tmp_path / "feedbot.db"}"\n'
            "[http]\nallow_private_networks = true\nretries = 0\n"
            f'[[sources]]\nname = "f"\nurl = "{server.url("/f.xml")}"\n'
        )
        env = {k: v for k, v in os.environ.items() if k not in ("FEEDBOT_CONFIG", "DATABASE_URL")}
        done = subprocess.run(
            [sys.executable, "-m", "feedbot", "-vv", "--config", str(config), "worker",
             "--until-idle"],
            capture_output=True, text=True, timeout=120, env=env,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    frozen = [line for line in done.stderr.splitlines() if "start-up objects frozen" in line]
    assert len(frozen) == 1, done.stderr
    assert f"generation 0 collected every {YOUNG_THRESHOLD} allocations" in frozen[0]
    assert "fetched 1 sources: 1 new entries" in done.stderr
