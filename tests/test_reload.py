"""A daemon picks up its edited config file: ConfigWatch decides (real files), and a real
`feedbot run` subprocess restarts itself in place when a source is added, and goes on unchanged
when the file is broken or only touched."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from feedbot.config import load_settings
from feedbot.fixture_server import FixtureServer, Route
from feedbot.reload import ConfigWatch
from feedbot.store import Store
from tests.test_run import WAIT, entries_of, rss, site, start_run, store, wait_for

__all__ = ["site", "store"]  # fixtures

SOURCE = '[[sources]]\nname = "a"\nurl = "https://example.org/a.xml"\n'


def test_a_change_counts_only_when_it_loads_and_differs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "feedbot.toml"
    path.write_text('title = "one"\n' + SOURCE)
    watch = ConfigWatch(path, load_settings(path), load_settings)
    caplog.set_level("INFO", "feedbot.reload")
    assert watch.changed() is False  # nothing happened

    path.write_text('title = "one"\n' + SOURCE)  # rewritten the same: nothing to do
    os.utime(path, ns=(1, 1))
    assert watch.changed() is False and watch.changed() is False
    assert caplog.records == []

    path.write_text('title = "one"\n[schedule]\nclaim_batch = 0\n' + SOURCE)
    assert watch.changed() is False  # first seen: looked at again before it counts
    assert caplog.records == []
    assert watch.changed() is False  # settled, but does not load: reported, ignored
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "schedule.claim_batch" in errors[0]
    assert errors[0].endswith("still running with the configuration it started with")
    assert watch.changed() is False
    assert len([r for r in caplog.records if r.levelname == "ERROR"]) == 1  # once per change

    # Caught half-written (valid TOML, but with none of the sources), then finished before
    # the next look: the half is never acted on.
    path.write_text('title = "two"\n')
    assert watch.changed() is False
    path.write_text('title = "two"\n' + SOURCE)
    os.utime(path, ns=(2, 2))
    assert watch.changed() is False  # changed again since: looked at once more
    assert watch.changed() is True
    assert watch.changed(asked=True) is True  # still differs from the running one
    caplog.clear()

    same = ConfigWatch(path, load_settings(path), load_settings)
    assert same.changed(asked=True) is False  # SIGHUP with nothing new
    assert [r.getMessage() for r in caplog.records] == [
        f"{path} has not changed; nothing to reload"
    ]


def test_run_restarts_itself_with_an_edited_config_and_ignores_a_broken_one(
    site: tuple[FixtureServer, Path], store: Store, tmp_path: Path
) -> None:
    server, config = site
    server.routes["/stall.xml"].delay = 0
    server.routes["/late.xml"] = Route(rss("late"))
    log_path = tmp_path / "run.log"

    def messages() -> list[str]:
        return [json.loads(line)["message"] for line in log_path.read_text().splitlines()
                if line.startswith("{")]  # fmt: skip

    with log_path.open("w") as log:
        daemon = start_run(config, "--log-format", "json", log=log)
        try:
            wait_for(lambda: log_path.exists() and any("started as" in m for m in messages())
                     and entries_of(store, "stall") == 3, "the first fetches", daemon)  # fmt: skip
            good = config.read_text()

            config.write_text(good + "[[sources\n")  # a half-saved edit
            wait_for(lambda: any("invalid TOML" in m for m in messages()),
                     "the broken config to be reported", daemon)  # fmt: skip
            daemon.send_signal(signal.SIGHUP)  # asked to reload a file that does not load
            wait_for(lambda: sum("invalid TOML" in m for m in messages()) == 2,
                     "SIGHUP to be answered", daemon)  # fmt: skip
            assert sum("started as" in m for m in messages()) == 1  # not restarted

            config.write_text(
                good + f'[[sources]]\nname = "late"\nurl = "{server.url("/late.xml")}"\n'
            )
            wait_for(lambda: entries_of(store, "late") == 3, "the added source to be fetched",
                     daemon)  # fmt: skip
            assert daemon.poll() is None
            said = messages()
            assert f"{config} changed: restarting with it" in said
            assert sum("started as" in m for m in said) == 2
            # the same process id, restarted: the first instance released its lock and slot
            assert {m.split(":")[1] for m in said if m.startswith("feedbot run started as")} \
                == {str(daemon.pid)}  # fmt: skip
        finally:
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(WAIT)
    assert daemon.returncode == 0, log_path.read_text()
    assert "Traceback" not in log_path.read_text()
    # The other feeds were fetched once: due again only in an hour, restart or not.
    assert {path: server.hits[path] for path in server.routes} == {
        **{f"/feed{i}.xml": 1 for i in range(5)}, "/stall.xml": 1, "/late.xml": 1
    }  # fmt: skip
