"""The static site: incremental builds (identical to full ones, rewriting only what changed),
crash safety, pagination that keeps old pages stable, and what the pages show and declare
(sharers, posts without an address, images, OpenGraph, feeds, sitemap, accessibility basics).

Sites are built from records straight into tmp_path on the real file system."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from feedbot.config import Settings, settings_from_dict
from feedbot.errors import PublishError
from feedbot.publish import site
from feedbot.publish.output import MANIFEST, OutputTree
from feedbot.publish.pages import paginate
from feedbot.publish.render import make_environment
from feedbot.records import Item, MentionRef, SourceRef, SourceStatus, TopicRef

START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
TOPICS = [TopicRef("education", "Education"), TopicRef("ai", "AI"), TopicRef("law", "Law")]
ALPHA, BETA, GAMMA = (
    SourceRef("Alpha", "alpha"),
    SourceRef("Beta", "beta"),
    SourceRef("Gamma", "gamma"),
)


def status(source: SourceRef, **changes: Any) -> SourceStatus:
    values: dict[str, Any] = dict(
        name=source.name, slug=source.slug, kind="feed", url=f"https://{source.slug}.example/feed",
        active=True, title=None, last_fetched_at=START, last_success_at=START, last_error=None,
        last_error_at=None, last_warning=None, consecutive_failures=0, entries=10,
    )  # fmt: skip
    values.update(changes)
    return SourceStatus(**values)


def item(number: int, *, hours: float | None = None, **changes: Any) -> Item:
    """Item ``number``: one every 7 hours back from START, in a topic and a source by number."""
    when = START - timedelta(hours=7 * number if hours is None else hours)
    source = (ALPHA, BETA, GAMMA)[number % 3]
    url = f"https://news.example.org/story-{number}"
    values: dict[str, Any] = dict(
        id=number, url=url, title=f"Story number {number}",
        summary_html=f"<p>Summary of story {number}.</p>", summary_text=f"Summary of story {number}.",
        date=when, first_seen_at=when, sources=(source,),
        topics=(TOPICS[number % 3],) if number % 4 else (),
        reached_by=(url,), mention_count=1,
        mentions=(MentionRef(source, f"Story number {number}", url, url, when),),
    )  # fmt: skip
    values.update(changes)
    return Item(**values)


def newest_first(items: list[Item]) -> list[Item]:
    return sorted(items, key=lambda i: (i.date, i.url), reverse=True)


@pytest.fixture
def build(tmp_path: Path) -> Callable[..., site.BuildReport]:
    def run(
        items: list[Item], out: str = "site", sources: list[SourceStatus] | None = None,
        full: bool = False, templates: Path | None = None, **overrides: Any,
    ) -> site.BuildReport:  # fmt: skip
        settings = make_settings(tmp_path, out, **overrides)
        env = make_environment(settings.zone, templates)
        found = sources if sources is not None else [status(s) for s in (ALPHA, BETA, GAMMA)]
        return site.build_site(newest_first(items), TOPICS, found, settings, env, START, full=full)

    return run


def make_settings(tmp_path: Path, out: str, **overrides: Any) -> Settings:
    document = {"title": "Test site", "base_url": "https://example.org/news/",
                "timezone": "Europe/Berlin", "output_dir": out, "home_items": 6, "page_size": 5,
                "feed_items": 8, **overrides}  # fmt: skip
    return settings_from_dict(document, tmp_path / "feedbot.toml")


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


# -- pagination ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "front", "size", "expected"),
    [
        (0, 3, 2, [(None, range(0, 0))]),
        (3, 3, 2, [(None, range(0, 3))]),
        (4, 3, 2, [(None, range(0, 3)), (1, range(3, 4))]),
        (8, 3, 2, [(None, range(0, 3)), (3, range(3, 4)), (2, range(4, 6)), (1, range(6, 8))]),
    ],
)
def test_numbered_pages_count_from_the_oldest(
    count: int, front: int, size: int, expected: list[Any]
) -> None:
    assert paginate(count, front, size) == expected


def test_old_pages_keep_their_items_and_bytes_as_new_items_arrive(
    build: Callable[..., site.BuildReport], tmp_path: Path
) -> None:
    items = [item(n) for n in range(40)]
    report = build(items)
    before = tree(report.out_dir)
    newer = [item(-n, hours=-n) for n in range(1, 4)]  # three newer items
    after_report = build(items + newer)
    after = tree(after_report.out_dir)
    numbered = re.compile(r"(page/|topics/\w+\.|sources/\w+\.|days/[\d-]+\.)(\d+)\.html")
    highest: dict[str, int] = {}
    for path in before:
        if found := numbered.fullmatch(path):
            highest[found[1]] = max(highest.get(found[1], 0), int(found[2]))
    # Every numbered page but the newest of its listing is exactly as it was.
    stable = [p for p in before if (f := numbered.fullmatch(p)) and int(f[2]) < highest[f[1]]]
    assert len(stable) >= 8 and "page/1.html" in stable
    assert [p for p in stable if after[p] != before[p]] == []
    assert after["index.html"] != before["index.html"]
    assert "Story number -3" in after["index.html"].decode()


# -- incremental builds --------------------------------------------------------------------------


def changed_world(items: list[Item]) -> tuple[list[Item], list[SourceStatus]]:
    """New items, an old item re-tagged and shared once more, one item gone, one source gone."""
    items = [i for i in items if i.id != 17]  # its paper page and search entry go with it
    items = [
        replace(i, topics=(TOPICS[2],), sources=(*i.sources, GAMMA)) if i.id == 25 else i
        for i in items
    ]
    items += [item(-n, hours=-2 * n) for n in range(1, 8)]
    items = [i for i in items if BETA not in i.sources or i.id < 0] + [
        replace(i, sources=(ALPHA,)) for i in items if BETA in i.sources and i.id >= 0
    ]
    return items, [status(ALPHA), status(GAMMA)]


def with_papers(items: list[Item]) -> list[Item]:
    return [replace(i, doi=f"10.1234/x{i.id}") if i.id % 5 == 2 else i for i in items]


def test_an_incremental_build_gives_the_same_tree_as_a_full_build(
    build: Callable[..., site.BuildReport],
) -> None:
    items = with_papers([item(n) for n in range(60)])
    first = build(items, out="step")
    assert first.written == len(tree(first.out_dir)) - 1  # everything but the manifest
    changed, sources = changed_world(items)
    step = build(changed, out="step", sources=sources)
    whole = build(changed, out="whole", sources=sources)
    assert tree(step.out_dir) == tree(whole.out_dir)
    assert step.deleted > 0 and not (step.out_dir / "sources/beta.html").exists()
    assert not (step.out_dir / f"papers/{item(17).anchor}.html").exists()
    assert 0 < step.written < whole.written


def test_a_build_with_nothing_new_writes_nothing(build: Callable[..., site.BuildReport]) -> None:
    items = with_papers([item(n) for n in range(30)])
    first = build(items)
    mtimes = {p: p.stat().st_mtime_ns for p in first.out_dir.rglob("*")}
    again = build(items)
    assert (again.written, again.deleted) == (0, 0)
    assert again.unchanged == len(tree(first.out_dir)) - 1
    assert {p: p.stat().st_mtime_ns for p in first.out_dir.rglob("*")} == mtimes


def test_only_files_whose_bytes_change_are_written(
    build: Callable[..., site.BuildReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [item(n) for n in range(40)]
    report = build(items)
    before = tree(report.out_dir)
    written: list[str] = []
    original = OutputTree.commit

    def spy(self: OutputTree) -> Any:
        stats = original(self)
        written.extend(stats.written_paths)
        return stats

    monkeypatch.setattr(OutputTree, "commit", spy)
    retitled = [replace(i, title="A better title") if i.id == 22 else i for i in items]
    build(retitled)
    after = tree(report.out_dir)
    differ = {p for p in after if before.get(p) != after[p]} - {MANIFEST}
    assert set(written) == differ
    assert {"index.html", "page/1.html"} & differ == set()  # story 22 is on neither
    assert any(p.startswith("days/") for p in differ) and "search/2026-11.js" in differ


@pytest.mark.parametrize(
    "manifest",
    ['{"format": 1, "fingerprint": "x", "files": {"index.html": ["a", "b"]}}',
     '{"format": 2, "fingerprint": "x", "files": {"index.html": 7}}', "{not json"],
)  # fmt: skip
def test_a_manifest_of_another_format_or_broken_makes_a_build_that_rewrites_all(
    build: Callable[..., site.BuildReport], manifest: str
) -> None:
    items = [item(n) for n in range(10)]
    first = build(items)
    written = tree(first.out_dir)
    (first.out_dir / MANIFEST).write_text(manifest)

    again = build(items)

    assert (again.written, again.unchanged) == (len(written) - 1, 0)  # nothing taken on trust
    assert tree(first.out_dir) == written  # and the same site, manifest included


def test_foreign_files_in_the_output_are_left_alone(
    build: Callable[..., site.BuildReport],
) -> None:
    report = build([item(n) for n in range(10)])
    (report.out_dir / "CNAME").write_text("news.example.org\n")
    (report.out_dir / "sources/notes.txt").write_text("mine\n")
    build([item(n) for n in range(3)], sources=[status(ALPHA)])
    assert (report.out_dir / "CNAME").read_text() == "news.example.org\n"
    assert (report.out_dir / "sources/notes.txt").exists()
    assert not (report.out_dir / "sources/beta.html").exists()


def test_a_changed_template_rewrites_the_pages_it_changes(
    build: Callable[..., site.BuildReport], tmp_path: Path
) -> None:
    items = [item(n) for n in range(12)]
    build(items)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "_card.html").write_text(
        '{% extends "default:_card.html" %}', encoding="utf-8"
    )  # the same output: nothing to write
    same = build(items, templates=mine)
    assert same.written == 0
    (mine / "404.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>Lost</h1>{% endblock %}', encoding="utf-8"
    )
    other = build(items, templates=mine)
    assert other.written == 1
    assert "<h1>Lost</h1>" in (other.out_dir / "404.html").read_text()


def test_full_rebuild_repairs_files_changed_by_hand(
    build: Callable[..., site.BuildReport],
) -> None:
    items = [item(n) for n in range(12)]
    report = build(items)
    pristine = tree(report.out_dir)
    (report.out_dir / "index.html").write_text("vandalised")
    (report.out_dir / "topics/ai.html").unlink()
    repaired_missing = build(items)  # a missing file is noticed by an ordinary build
    assert (report.out_dir / "topics/ai.html").read_bytes() == pristine["topics/ai.html"]
    assert repaired_missing.written == 1
    full = build(items, full=True)  # an edited one only by --full
    assert tree(report.out_dir) == pristine
    assert full.written == len(pristine) - 1


def test_a_second_build_at_the_same_time_is_refused(
    build: Callable[..., site.BuildReport], tmp_path: Path
) -> None:
    report = build([item(1)])
    with (
        OutputTree(report.out_dir, "x"),
        pytest.raises(PublishError, match="another feedbot build is writing"),
    ):
        build([item(1), item(2)])
    assert build([item(1), item(2)]).written > 0  # the lock went with the first build


def test_a_crash_while_committing_leaves_whole_files_and_the_next_build_completes_it(
    build: Callable[..., site.BuildReport], monkeypatch: pytest.MonkeyPatch
) -> None:
    items = [item(n) for n in range(30)]
    report = build(items)
    before = tree(report.out_dir)
    changed = [replace(i, title=f"Renamed {i.id}") for i in items]
    replaced = 0
    real_replace = os.replace

    def power_cut_after_five(source: Any, target: Any) -> None:
        nonlocal replaced
        if replaced == 5:
            raise OSError(5, "Input/output error")
        replaced += 1
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", power_cut_after_five)
    with pytest.raises(PublishError, match="the next build completes it"):
        build(changed)
    monkeypatch.undo()
    whole = build(changed, out="whole")
    expected = tree(whole.out_dir)
    halfway = tree(report.out_dir)
    mixed = [p for p in halfway if p != MANIFEST and halfway[p] != before.get(p)]
    assert len(mixed) == 5 and all(halfway[p] == expected[p] for p in mixed)
    assert halfway[MANIFEST] == before[MANIFEST]
    build(changed)
    assert tree(report.out_dir) == expected


# -- what pages show -----------------------------------------------------------------------------


class Page(HTMLParser):
    """Tags, headings and text of one page, for checks on structure."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.headings: list[int] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]


def test_every_page_is_accessible_and_declares_itself(
    build: Callable[..., site.BuildReport],
) -> None:
    items = with_papers([item(n) for n in range(40)])
    items[3] = replace(items[3], image_url="https://img.example.org/3.jpg")
    report = build(items)
    pages = sorted(report.out_dir.rglob("*.html"))
    assert len(pages) > 40
    sitemap = (report.out_dir / "sitemap.xml").read_text()
    for path in pages:
        relative = path.relative_to(report.out_dir).as_posix()
        page = Page(path.read_text())
        html = page.find("html")[0]
        assert html["lang"] == "en", relative
        assert [t for t, _ in page.tags].count("main") == 1, relative
        assert page.find("header") and page.find("footer") and page.find("nav"), relative
        first_link = next(a for t, a in page.tags if t == "a")
        assert first_link == {"class": "skip-link", "href": "#main"}, relative
        assert page.find("main", id="main"), relative
        assert page.headings[0] == 1 and page.headings.count(1) == 1, relative
        assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False)), (
            relative,
            page.headings,
        )
        assert all("alt" in img for img in page.find("img")), relative
        scripts = page.find("script")
        assert len(scripts) == 2, relative  # ours, by address: no inline script
        assert all(
            re.fullmatch(r"(\.\./)*(/news/)?static/(theme|site)\.js", s["src"]) for s in scripts
        )
        og = {m["property"]: m["content"] for m in page.find("meta") if "property" in m}
        assert {"og:title", "og:url", "og:type", "og:site_name"} <= set(og), relative
        if relative != "404.html":
            assert og["og:url"].startswith("https://example.org/news/"), relative
            assert f"<loc>{og['og:url']}</loc>" in sitemap, relative
        alternates = {
            os.path.normpath(os.path.join(os.path.dirname(relative), a["href"])).removeprefix(
                "/news/"
            )
            for a in page.find("link", rel="alternate")
        }
        topic = re.match(r"topics/(\w+)\.", relative)
        expected = (
            {f"topics/{topic[1]}.xml", f"topics/{topic[1]}.atom", f"topics/{topic[1]}.json"}
            if topic
            else {"feed.xml", "atom.xml", "feed.json"}
        )
        assert alternates == expected, relative
    assert "404.html" not in sitemap
    assert sitemap.count("<loc>") == len(pages) - 1


def test_topic_pages_point_at_their_own_feeds_and_home_at_the_site_feeds(
    build: Callable[..., site.BuildReport],
) -> None:
    report = build([item(n) for n in range(10)])
    topic = Page((report.out_dir / "topics/law.html").read_text())
    hrefs = {a["type"]: a["href"] for a in topic.find("link", rel="alternate")}
    assert hrefs == {
        "application/rss+xml": "../topics/law.xml",
        "application/atom+xml": "../topics/law.atom",
        "application/feed+json": "../topics/law.json",
    }
    home = Page((report.out_dir / "index.html").read_text())
    assert {a["href"] for a in home.find("link", rel="alternate")} == {
        "feed.xml", "atom.xml", "feed.json"
    }  # fmt: skip
    for href in hrefs.values():
        assert (report.out_dir / "topics" / href).resolve().is_file()


def test_cards_show_sharers_posts_images_and_topic_reasons(
    build: Callable[..., site.BuildReport],
) -> None:
    when = START - timedelta(hours=1)
    boosted = item(
        1, hours=1, sources=(ALPHA, BETA), topics=(TopicRef("ai", "AI", "keyword AI (+1.00)"),),
        image_url="https://img.example.org/pic.jpg", site_name="News Example",
        mentions=(
            MentionRef(ALPHA, "post", "https://social.example/@ann/1", "https://t.co/x", when,
                       author="@ann", reposted_by="@bob"),
            MentionRef(BETA, "entry", None, "https://news.example.org/story-1", when),
        ),
    )  # fmt: skip
    post = item(
        2, hours=2, url="urn:feedbot:post:x:123", title="A thought with no link",
        summary_html="<p>First line of a long post.</p><p>Second <b>line</b>"
        "<script>alert(1)</script>.</p>",
        summary_text="First line of a long post. Second line.",
        image_url="javascript:alert(1)",
    )  # fmt: skip
    hostile_image = item(3, hours=3, image_url="data:image/png;base64,AAAA")
    report = build([boosted, post, hostile_image])
    home = (report.out_dir / "index.html").read_text()

    def card(one: Item) -> str:
        start = home.index(f'id="{one.anchor}"')
        return home[start : home.index("</article>", start)]

    shown = card(boosted)
    assert "shared by 2:" in shown
    assert (
        '<a class="post" href="https://social.example/@ann/1" rel="noopener noreferrer">@ann, boosted by @bob</a>'
        in shown
    )
    assert 'href="sources/beta.html">Beta</a>' in shown
    assert 'title="Why AI: keyword AI (+1.00)"' in shown and "News Example" in shown
    image = Page(shown).find("img")[0]
    assert image["src"] == "https://img.example.org/pic.jpg"
    assert image["loading"] == "lazy" and image["alt"] == ""
    text = card(post)
    assert '<h3 class="item-title">A thought with no link</h3>' in text  # not a link
    assert "urn:feedbot" not in text and "<img" not in text
    assert "First line of a long post.</p><p>Second <b>line</b>.</p>" in text  # whole, clean
    assert "<script" not in text and "alert" not in home
    assert "<img" not in card(hostile_image)


def test_the_search_index_has_every_item_where_the_site_shows_it(
    build: Callable[..., site.BuildReport],
) -> None:
    items = [item(n, hours=24 * 20 * n) for n in range(6)]  # over several months
    report = build(items)
    months = (report.out_dir / "search/index.js").read_text()
    names = json.loads(months.split("=", 1)[1].rstrip(";\n"))
    assert names == sorted(names, reverse=True) and len(names) >= 3
    found = {}
    for name in names:
        text = (report.out_dir / f"search/{name}.js").read_text()
        assert text.startswith("(window.FEEDBOT_SEARCH_DATA = window.FEEDBOT_SEARCH_DATA || {})")
        for entry in json.loads(text.split(f'["{name}"] = ', 1)[1].rstrip(";\n")):
            found[entry[0]] = entry
    assert set(found) == {i.title for i in items}
    _, href, page, day, sources, topics, summary = found["Story number 4"]
    assert day == items[4].date.astimezone(ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%d")
    assert href == "https://news.example.org/story-4" and summary == "Summary of story 4."
    assert sources == "Beta" and topics == ""
    target, anchor = page.split("#")
    assert anchor == item(4).anchor and anchor in (report.out_dir / target).read_text()


def test_robots_sitemap_and_404(build: Callable[..., site.BuildReport]) -> None:
    report = build([item(n) for n in range(8)])
    robots = (report.out_dir / "robots.txt").read_text()
    assert robots == "User-agent: *\nAllow: /\n\nSitemap: https://example.org/news/sitemap.xml\n"
    sitemap = (report.out_dir / "sitemap.xml").read_text()
    assert "<loc>https://example.org/news/</loc>" in sitemap  # not …/index.html
    assert "<loc>https://example.org/news/topics/law.html</loc>" in sitemap
    missing = Page((report.out_dir / "404.html").read_text())
    hrefs = [a["href"] for a in missing.find("a")] + [link["href"] for link in missing.find("link")]
    assert all(h.startswith(("/news/", "#", "https://")) for h in hrefs), hrefs


def test_page_size_is_a_setting(build: Callable[..., site.BuildReport]) -> None:
    report = build([item(n) for n in range(30)], page_size=10, home_items=10)
    assert sorted(p.name for p in (report.out_dir / "page").iterdir()) == ["1.html", "2.html"]
    front = (report.out_dir / "index.html").read_text()
    assert front.count('<article class="item') == 10
    assert '<a rel="next" href="page/2.html">Older →</a>' in front
