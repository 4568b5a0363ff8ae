"""The built site in a real headless browser: Debian's Chromium driven by Playwright (no browser
download: ``executable_path``), over a local HTTP server on 127.0.0.1, and from ``file://``.

Checked as a reader would meet it: the home page renders with no console errors; the search
finds items by title, summary, source and topic, also offline from files; the dark theme
applies from the system setting and from the toggle, which persists; the keyboard reaches the
skip link and the search box, with a visible focus ring; text contrast meets WCAG AA in both
themes; a phone-sized window has no sideways scrolling. Screenshots go to the test's tmp_path.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from feedbot.config import settings_from_dict
from feedbot.publish import site
from feedbot.publish.render import make_environment
from feedbot.records import Item, MentionRef, SourceRef, SourceStatus, TopicRef

CHROMIUM = os.environ.get("FEEDBOT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
TOPICS = [TopicRef("education", "Education"), TopicRef("ai", "AI"), TopicRef("law", "Law")]
SOURCES = [SourceRef("Chalk Notes", "chalk-notes"), SourceRef("Model Watch", "model-watch")]
LIGHT_BG, DARK_BG = "rgb(251, 251, 248)", "rgb(21, 24, 28)"


def make_items() -> list[Item]:
    items = []
    for number in range(120):
        when = NOW - timedelta(hours=5 * number)
        source = SOURCES[number % 2]
        url = f"https://news.example.org/{number}"
        title = f"Story {number}: " + ("tutoring pilot expands" if number % 2 else "benchmarks")
        if number == 42:
            title = "Zebra crossings near schools get a redesign"
        items.append(
            Item(
                id=number, url=url, title=title,
                summary_html=f"<p>Summary {number} about the quokka census.</p>"
                if number == 77 else f"<p>Summary {number}.</p>",
                summary_text="Summary 77 about the quokka census."
                if number == 77 else f"Summary {number}.",
                date=when, first_seen_at=when, sources=(source,),
                topics=(TOPICS[number % 3],), reached_by=(url,), mention_count=1,
                mentions=(MentionRef(source, title, url, url, when),),
            )
        )  # fmt: skip
    return items


@dataclass
class Site:
    folder: Path
    url: str  # served over HTTP, ending in /


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


# A 1×1 PNG, served beside the site as an item's picture.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e7a5d3"
    "7a0000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser")
    out = folder / "site"
    out.mkdir()
    handler = functools.partial(_Quiet, directory=str(out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        settings = settings_from_dict(
            {"title": "Browser digest", "base_url": "https://example.org/", "page_size": 20,
             "home_items": 20},
            folder / "feedbot.toml",
        )  # fmt: skip
        statuses = [
            SourceStatus(s.name, s.slug, "feed", f"https://{s.slug}.example/feed", True, None,
                         NOW, NOW, None, None, None, 0, 60)
            for s in SOURCES
        ]  # fmt: skip
        items = [replace(i, image_url=url + "pixel.png") if i.id == 1 else i for i in make_items()]
        report = site.build_site(
            items, TOPICS, statuses, settings, make_environment(settings.zone), NOW
        )
        (report.out_dir / "pixel.png").write_bytes(PIXEL)
        yield Site(report.out_dir, url)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: install Debian's chromium package "
            "(scripts/test.sh does), or set FEEDBOT_CHROMIUM to its path"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Tab:
    page: Any
    errors: list[str]


@pytest.fixture
def tab(browser: Any) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    # Nothing may leave the machine: every request but the local server's fails the test.
    context.route("https://**/*", lambda route: route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield Tab(page, errors)
    finally:
        context.close()


def background(page: Any) -> str:
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


def test_home_page_renders_without_console_errors(built: Site, tab: Tab, tmp_path: Path) -> None:
    page = tab.page
    page.goto(built.url + "index.html")
    page.wait_for_load_state("load")
    assert page.title() == "Browser digest"
    assert page.locator("h1").inner_text() == "Latest"
    assert page.locator("article.item").count() == 20
    assert page.locator("#site-search").is_visible()  # added by site.js: the script ran
    shot = tmp_path / "home.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    picture = page.locator("img.item-image").first
    picture.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('img.item-image').complete")
    assert picture.evaluate("img => img.naturalWidth") == 1  # lazy, but loaded when in view
    assert tab.errors == []


def search(page: Any, query: str) -> list[str]:
    page.fill("#site-search", query)
    page.wait_for_selector("#search-results:not([hidden]) .search-status")
    page.wait_for_function(
        "q => document.querySelector('.search-status').textContent.includes(q)", arg=query
    )
    return [str(t) for t in page.locator("#search-results ol li > a").all_inner_texts()]


def test_search_finds_items_by_title_summary_source_and_topic(
    built: Site, tab: Tab, tmp_path: Path
) -> None:
    page = tab.page
    page.goto(built.url + "topics/law.html")  # search works from any page, at any depth
    assert search(page, "zebra crossings") == ["Zebra crossings near schools get a redesign"]
    link = page.locator("#search-results ol li > a").first
    assert link.get_attribute("href") == "https://news.example.org/42"
    day_link = page.locator("#search-results .meta a").first
    target = str(day_link.get_attribute("href"))
    assert target.startswith("../days/") and "#item-" in target
    assert search(page, "quokka") == ["Story 77: tutoring pilot expands"]  # in its summary
    by_source = search(page, "model watch")
    assert len(by_source) == 50  # 60 items; the best 50 are shown
    assert "60 items match" in page.locator(".search-status").inner_text()
    assert search(page, "education benchmarks")  # a topic and a title word together
    assert search(page, "no-such-thing-anywhere") == []
    assert "Nothing matches" in page.locator(".search-status").inner_text()
    page.screenshot(path=str(tmp_path / "search.png"))
    day_link_page = target.split("#")[0].removeprefix("../")
    assert (built.folder / day_link_page).is_file()
    assert tab.errors == []


def test_search_works_offline_from_files(built: Site, tab: Tab) -> None:
    page = tab.page
    page.goto((built.folder / "days/index.html").as_uri())
    assert search(page, "zebra") == ["Zebra crossings near schools get a redesign"]
    assert tab.errors == []


def test_dark_theme_follows_the_system_and_the_toggle_which_persists(
    built: Site, tab: Tab, tmp_path: Path
) -> None:
    page = tab.page
    page.emulate_media(color_scheme="dark")
    page.goto(built.url + "index.html")
    assert background(page) == DARK_BG
    page.screenshot(path=str(tmp_path / "dark.png"))
    page.emulate_media(color_scheme="light")
    assert background(page) == LIGHT_BG
    toggle = page.locator("button.theme-toggle")
    assert toggle.get_attribute("aria-pressed") == "false"
    toggle.click()
    assert background(page) == DARK_BG
    assert toggle.get_attribute("aria-pressed") == "true"
    page.goto(built.url + "sources/index.html")  # another page: the choice is remembered
    assert background(page) == DARK_BG
    page.locator("button.theme-toggle").click()
    assert background(page) == LIGHT_BG
    assert tab.errors == []


def test_keyboard_reaches_the_skip_link_and_the_search_box(built: Site, tab: Tab) -> None:
    page = tab.page
    page.goto(built.url + "index.html")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.className")
    assert focused == "skip-link"
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["y"] >= 0  # shown when focused
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.goto(built.url + "index.html")
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "site-search":
            break
    else:
        pytest.fail("Tab never reached the search box")
    page.keyboard.type("zebra")
    page.wait_for_selector("#search-results:not([hidden]) li")
    page.keyboard.press("Escape")
    assert page.locator("#search-results").is_hidden()
    page.locator("h1").click()
    page.keyboard.press("/")  # the shortcut
    assert page.evaluate("document.activeElement.id") == "site-search"


CONTRAST = """
() => {
  const rgb = s => s.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const lum = c => { const v = c.map(x => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
                     return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const bg = el => { for (let e = el; e; e = e.parentElement) { const c = getComputedStyle(e).backgroundColor;
                     if (!c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c; } return 'rgb(255,255,255)'; };
  const ratio = el => { const a = lum(rgb(getComputedStyle(el).color)), b = lum(rgb(bg(el)));
                        return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); };
  const out = {};
  for (const sel of ['body', '.item-meta', '.item-sharers', '.item-title a', '.topic', '.site-nav a',
                     '.feed-links', '.site-footer', '.list-heading']) {
    const el = document.querySelector(sel); if (el) out[sel] = ratio(el);
  }
  return out;
}
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_meets_wcag_aa(built: Site, tab: Tab, scheme: str) -> None:
    page = tab.page
    page.emulate_media(color_scheme=scheme)
    page.goto(built.url + "index.html")
    ratios = page.evaluate(CONTRAST)
    assert len(ratios) == 9
    low = {selector: round(r, 2) for selector, r in ratios.items() if r < 4.5}
    assert low == {}


def test_a_phone_sized_window_does_not_scroll_sideways(built: Site, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.route("https://**/*", lambda route: route.abort())
        for path in ("index.html", "sources/index.html", "days/index.html"):
            page.goto(built.url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360, (path, width)
        assert page.locator("#site-search").is_visible()
    finally:
        context.close()
