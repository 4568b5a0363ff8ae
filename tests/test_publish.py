"""Publishing behaviour beyond the golden files: atomic builds, template overrides, the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from feedbot.app import App
from feedbot.errors import PublishError
from feedbot.fixture_server import FixtureServer, Route
from feedbot.publish import site
from feedbot.publish.pages import Page
from tests.conftest import Clock

REPO = Path(__file__).resolve().parent.parent

FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Notes</title><link>https://n.example.org/</link>
<description>d</description><item><title>School boards and the law</title><link>https://n.example.org/1</link>
<guid>1</guid><pubDate>Sun, 22 Nov 2026 10:00:00 GMT</pubDate><description>A court ruling.</description></item>
</channel></rss>"""


@pytest.fixture
def app(server: FixtureServer, make_app: Callable[..., App]) -> App:
    server.routes["/notes.xml"] = Route(body=FEED)
    built = make_app([{"name": "Notes", "url": server.url("/notes.xml")}])
    built.fetch()
    return built


def test_a_failed_build_leaves_the_previous_site_intact(
    app: App, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> None:
    report = app.build()

    def tree() -> dict[Path, bytes]:
        return {
            p.relative_to(report.out_dir): p.read_bytes()
            for p in report.out_dir.rglob("*")
            if p.is_file()
        }

    before = tree()
    app.settings = app.settings.model_copy(update={"title": "Renamed"})  # every page changes
    original = site.Renderer.page

    def template_breaks(self: site.Renderer, page: Page, root: str | None = None) -> bytes:
        if page.path == "sources/index.html":  # late in the build: many pages rendered already
            raise PublishError("cannot render sources/index.html")
        return original(self, page, root)

    monkeypatch.setattr(site.Renderer, "page", template_breaks)
    with pytest.raises(PublishError):
        app.build()
    monkeypatch.undo()

    write_bytes = Path.write_bytes

    def disk_fills_up_at_feed_json(self: Path, data: bytes) -> int:
        if self.name == "feed.json":
            raise OSError(28, "No space left on device")
        return write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", disk_fills_up_at_feed_json)
    with pytest.raises(PublishError, match="No space left on device"):
        app.build()
    monkeypatch.undo()
    assert tree() == before
    leftovers = [p.name for p in report.out_dir.parent.iterdir() if ".building-" in p.name]
    assert leftovers == []
    renamed = app.build()  # and the next build goes through
    assert renamed.written > 0
    assert "<title>Renamed</title>" in (report.out_dir / "index.html").read_text()


def test_a_rebuild_replaces_changed_files_whole_and_clears_a_killed_build_s_leftovers(
    app: App, clock: Clock
) -> None:
    report = app.build()
    out = report.out_dir
    index = out / "index.html"
    reader = index.open("rb")  # a visitor's server holding the old page open
    # What a build killed mid-way leaves: its staging folder, old versions linked in it.
    leftover = out.parent / f".{out.name}.building-killed"
    (leftover / ".superseded").mkdir(parents=True)
    os.link(index, leftover / ".superseded" / "0")
    old = reader.read()
    app.settings = app.settings.model_copy(update={"title": "Renamed"})  # every page changes

    renamed = app.build()

    assert renamed.written > 0
    assert "<title>Renamed</title>" in index.read_text()
    assert b"<title>Renamed</title>" not in old  # the old file, untouched under the reader
    reader.seek(0)
    assert reader.read() == old
    reader.close()
    assert [p.name for p in out.parent.iterdir() if ".building-" in p.name] == []


def test_user_templates_override_ours_and_can_extend_them(
    server: FixtureServer, make_app: Callable[..., App], tmp_path: Path
) -> None:
    server.routes["/notes.xml"] = Route(body=FEED)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine/base.html").write_text(
        '{% extends "default:base.html" %}{% block title %}My own title{% endblock %}'
    )
    app = make_app([{"name": "Notes", "url": server.url("/notes.xml")}], templates_dir="mine")
    app.fetch()
    report = app.build()
    home = (report.out_dir / "index.html").read_text()
    assert "<title>My own title</title>" in home
    assert "School boards and the law" in home  # the rest of our template still renders


def test_a_user_template_can_place_the_cards_one_by_one(
    server: FixtureServer, make_app: Callable[..., App], tmp_path: Path
) -> None:
    server.routes["/notes.xml"] = Route(body=FEED)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine/index.html").write_text(
        '{% extends "default:base.html" %}{% block main %}<ol>{% for card in cards %}'
        '<li class="mine">{{ card }}</li>{% endfor %}</ol><p>{{ cards|length }} cards, '
        "first: {{ cards[:1]|first|striptags|truncate(60) }}</p>{% endblock %}"
    )
    app = make_app([{"name": "Notes", "url": server.url("/notes.xml")}], templates_dir="mine")
    app.fetch()
    home = (app.build().out_dir / "index.html").read_text()
    mine = home.split('<li class="mine">', 1)[1]
    assert mine.lstrip().startswith("<")  # the card's own HTML, not escaped text
    assert "&lt;" not in mine.split("</ol>", 1)[0]
    assert "School boards and the law" in mine
    assert "<p>1 cards, first: School boards and the law" in home


def test_a_broken_user_template_is_a_clear_error(
    server: FixtureServer, make_app: Callable[..., App], tmp_path: Path
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine/index.html").write_text("{% if %}")
    app = make_app([], templates_dir="mine")
    with pytest.raises(PublishError, match=r"cannot render index\.html with index\.html: "):
        app.build()


def test_wheel_carries_templates_static_and_migrations_and_runs(tmp_path: Path) -> None:
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path / "dist"), str(REPO)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("feedbot-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for needed in ("feedbot/_resources/templates/base.html", "feedbot/_resources/static/style.css",
                   "feedbot/_resources/migrations/env.py", "feedbot/demo/sources/education-weekly.xml"):  # fmt: skip
        assert needed in names
    assert any(n.startswith("feedbot/_resources/migrations/versions/") for n in names)

    target = tmp_path / "installed"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    demo = subprocess.run(
        [sys.executable, "-c", "import feedbot, sys; print(feedbot.__file__); "
         "from feedbot.cli import main; sys.argv=['feedbot','demo','--dir','d']; main()"],
        cwd=run_dir, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert demo.stdout.splitlines()[0].startswith(str(target))  # the wheel's copy ran, not ours
    assert (run_dir / "d/site/index.html").exists()
    assert (run_dir / "d/site/static/style.css").exists()
