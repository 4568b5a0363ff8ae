"""The command line as users run it: a subprocess, exit codes, one-line errors, never a
traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from feedbot.cli import cli
from feedbot.fixture_server import FixtureServer, Route

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Class notes</title>
<link>https://notes.example.org/</link><description>d</description>
<item><title>Teachers and AI tutors in the classroom</title><link>https://notes.example.org/1</link>
<guid>n1</guid><pubDate>Sun, 22 Nov 2026 10:00:00 GMT</pubDate><description>About school.</description></item>
</channel></rss>"""


def feedbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in ("FEEDBOT_CONFIG", "DATABASE_URL")
    }
    return subprocess.run(
        [sys.executable, "-m", "feedbot", *args],
        cwd=cwd, env=environment | (env or {}), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert text in result.stderr


def test_init_then_add_then_fetch_build_digest_export(tmp_path: Path) -> None:
    with FixtureServer({"/notes.xml": Route(body=FEED)}) as server:
        assert feedbot("init", cwd=tmp_path).returncode == 0
        config = tmp_path / "feedbot.toml"
        text = config.read_text()
        config.write_text(
            text.replace("# allow_private_networks = false", "allow_private_networks = true")
        )
        added = feedbot(
            "sources",
            "add",
            "Class notes",
            server.url("/notes.xml"),
            "--topic",
            "education",
            cwd=tmp_path,
        )
        assert added.returncode == 0, added.stderr
        assert "# Reference: README.md" in config.read_text()  # comments survive the edit
        listed = feedbot("sources", "list", cwd=tmp_path)
        assert f"Class notes\t{server.url('/notes.xml')}  [education]" in listed.stdout
        fetched = feedbot("fetch", cwd=tmp_path)
        assert fetched.returncode == 0, fetched.stderr
        assert "1 new entries" in fetched.stdout
    built = feedbot("build", cwd=tmp_path)
    assert built.returncode == 0 and (tmp_path / "site/index.html").exists()
    digest = feedbot("digest", "--date", "2026-11-22", "--out", "d.eml", cwd=tmp_path)
    assert digest.returncode == 0, digest.stderr
    assert "Teachers and AI tutors" in (tmp_path / "d.eml").read_text()
    exported = feedbot("export", cwd=tmp_path)
    [record] = [json.loads(line) for line in exported.stdout.splitlines()]
    assert record["title"] == "Teachers and AI tutors in the classroom"
    assert record["sources"] == ["Class notes"] and record["shared_by"] == 1
    assert set(record["topics"]) == {"education", "ai"}
    csv_out = feedbot("export", "--format", "csv", cwd=tmp_path)
    assert csv_out.stdout.splitlines()[0].startswith("title,url,canonical_url")
    status = feedbot("status", cwd=tmp_path)
    assert "Class notes: ok; 1 entries" in status.stdout
    removed = feedbot("sources", "remove", "Class notes", cwd=tmp_path)
    assert removed.returncode == 0 and "Class notes" not in config.read_text()


def test_failed_sources_exit_zero_and_are_listed(tmp_path: Path) -> None:
    (tmp_path / "feedbot.toml").write_text(
        "[http]\nallow_private_networks = true\nretries = 0\n"
        '[[sources]]\nname = "Dead"\nurl = "http://127.0.0.1:9/feed"\n'
    )
    result = feedbot("fetch", cwd=tmp_path)
    assert result.returncode == 0
    assert "1 failed" in result.stdout
    assert "failed: Dead: cannot connect" in result.stderr


def test_guard_is_on_by_default(tmp_path: Path) -> None:
    with FixtureServer({"/notes.xml": Route(body=FEED)}) as server:
        (tmp_path / "feedbot.toml").write_text(
            f'[[sources]]\nname = "Local"\nurl = "{server.url("/notes.xml")}"\n'
        )
        result = feedbot("fetch", cwd=tmp_path)
        assert server.hits["/notes.xml"] == 0
    assert "not a public address" in result.stderr


def test_broken_config_exits_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "feedbot.toml").write_text("[http]\ntimeout_seconds = 'soon'\n")
    result = feedbot("fetch", cwd=tmp_path)
    assert_one_line_error(
        result, 2, "feedbot.toml: http.timeout_seconds: Input should be a valid number"
    )


def test_missing_config_exits_2(tmp_path: Path) -> None:
    result = feedbot("--config", "elsewhere.toml", "status", cwd=tmp_path)
    assert_one_line_error(result, 2, "elsewhere.toml: config file not found")


def test_config_path_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/my.toml").write_text('title = "From env"\n')
    result = feedbot("status", cwd=tmp_path, env={"FEEDBOT_CONFIG": str(tmp_path / "conf/my.toml")})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "conf/feedbot.db").exists()  # the database lives beside the config


def test_broken_database_exits_1_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "feedbot.toml").write_text('database_url = "sqlite:///no/such/dir/x.db"\n')
    result = feedbot("status", cwd=tmp_path)
    assert_one_line_error(result, 1, "cannot open database")
    (tmp_path / "feedbot.toml").write_text('database_url = "nosuchdb://x"\n')
    result = feedbot("status", cwd=tmp_path)
    assert_one_line_error(result, 1, "is not usable")


def test_a_database_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "feedbot.db").write_bytes(b"this is not a database" * 100)
    (tmp_path / "feedbot.toml").write_text("")
    result = feedbot("status", cwd=tmp_path)
    assert_one_line_error(result, 1, "database")


def test_opml_round_trip(tmp_path: Path) -> None:
    (tmp_path / "feedbot.toml").write_text("")
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="Education"><outline text="Chalkbeat" type="rss" xmlUrl="https://www.chalkbeat.org/arc/outboundfeeds/rss/"/></outline>'
        '<outline text="Misc"><outline text="Law blog" type="rss" xmlUrl="https://lawblog.example.org/feed" category="law"/></outline>'
        '<outline text="no url"/></body></opml>'
    )
    result = feedbot("sources", "import-opml", str(opml), cwd=tmp_path)
    assert result.returncode == 0 and "Imported 2 of 2" in result.stdout
    again = feedbot("sources", "import-opml", str(opml), cwd=tmp_path)
    assert "Imported 0 of 2" in again.stdout
    exported = feedbot("sources", "export-opml", cwd=tmp_path).stdout
    assert 'xmlUrl="https://www.chalkbeat.org/arc/outboundfeeds/rss/"' in exported
    assert 'category="education"' in exported and 'category="law"' in exported
    broken = tmp_path / "broken.opml"
    broken.write_text("<opml><body><outline")
    assert_one_line_error(
        feedbot("sources", "import-opml", str(broken), cwd=tmp_path), 2, "not a readable OPML file"
    )


def _commands(group: object, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    import click

    found = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


@pytest.mark.parametrize("command", _commands(cli), ids=" ".join)
def test_every_command_has_help_and_is_in_the_readme(command: tuple[str, ...]) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert f"feedbot {' '.join(command)}" in readme


def test_resolve_shows_where_a_short_link_leads(tmp_path: Path) -> None:
    page = (
        b'<html><head><title>x</title><meta property="og:title" content="The Article">'
        b"</head><body></body></html>"
    )
    routes = {
        "/s/1": Route(status=301, headers={"Location": "/a?utm_source=x"}, conditional=False),
        "/a": Route(body=page, content_type="text/html"),
    }
    with FixtureServer(routes) as server:
        (tmp_path / "feedbot.toml").write_text(
            "[http]\nallow_private_networks = true\nmin_host_interval_seconds = 0\n"
        )
        first = feedbot("resolve", "--json", server.url("/s/1"), cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        record = json.loads(first.stdout)
        assert record["outcome"] == "ok"
        assert (record["canonical_url"], record["title"]) == (server.url("/a"), "The Article")
        assert [hop[1:] for hop in record["chain"]] == [[301, "redirect"], [200, "final"]]
        hits = dict(server.hits)
        text = feedbot("resolve", server.url("/s/1"), cwd=tmp_path)  # from the cache
        assert text.returncode == 0 and "ok: " + server.url("/a") in text.stdout
        assert dict(server.hits) == hits
        bad = feedbot("resolve", "ftp://example.org/x", cwd=tmp_path)
        assert bad.returncode == 2 and "not an http(s) URL" in bad.stderr
