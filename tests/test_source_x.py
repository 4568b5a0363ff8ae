"""X: the account archive (``window.YTD.tweets.part0 = [...]``) and timelines pasted as text
(the shared sample, and a copy with the page's chrome), imported with ``feedbot import``."""

from __future__ import annotations

import json
import shutil
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from feedbot.app import open_app
from feedbot.config import Settings, load_settings
from feedbot.errors import FeedbotError
from feedbot.links.shares import post_identity
from feedbot.sources.xarchive import archive_entries, read_archive
from feedbot.sources.xpaste import parse_paste, paste_entries, read_paste
from feedbot.store import partial_links_t
from tests.conftest import DATA, FIXED_NOW
from tests.test_cli import assert_one_line_error, feedbot

SOURCES = DATA / "sources"
BIO_LINK = "https://t.co/4JZ31G6lc7"
CONFIG = "[links]\nresolve = false\n[research]\nresolve = false\n"


@pytest.fixture
def sample(samples: Path) -> Path:
    return samples / "x-timeline-pasted.txt"


def test_the_pasted_sample_has_six_posts_read_right(sample: Path) -> None:
    timeline = read_paste(sample, FIXED_NOW)
    # The profile header (name, "26.5K posts", handle and bio) names the account; it is no post.
    assert (timeline.account, timeline.display_name) == ("@mandercorn", "Mark Anderson")
    entries = paste_entries(timeline, "@mandercorn")
    assert [entry.title for entry in entries] == [
        "Three days ago I left autoresearch tuning nanochat for ~2 days on depth=12 model.",
        'Just dropped a new paper: "World Properties without World Models: Recovering Spatial and '
        "Temporal Structure from…",
        "New research on a federal program found that when top teachers transferred to high-need "
        "schools, their performance…",
        "New article on prophets and AI (with Amanda Lagerkvist and Blazenka Scheuer) "
        "cambridge.org/core/journals/…",
        "A quite brilliant essay on AI, the law, and the future of the republic.",
        "Shintani, N. (2012). Input-based tasks and the acquisition of vocabulary and grammar: "
        "A process-product study.",
    ]
    karpathy, paper, chalkbeat, prophets, essay, shintani = entries
    # The long reposted text is one post, the text after its cut link included.
    assert "github.com/karpathy/nanoc… All LLM frontier labs will do this." in karpathy.content_html
    assert karpathy.content_html.endswith("falls into this bucket too.</p>")
    # The thread marker stays in the text, not in the title.
    assert paper.content_html.startswith("<p>(1/2) Just dropped a new paper")
    # The bio's link is no post's link; cut display links are partial links, never links.
    assert all(BIO_LINK not in e.content_html and BIO_LINK not in e.links for e in entries)
    # No post has a web address; a post that links nowhere is its own item, under an identity.
    assert all(entry.url is None for entry in entries)
    assert all(entry.links == (post_identity(entry.guid),) for entry in entries)
    assert [[p.text for p in e.partial_links] for e in entries] == [
        ["github.com/karpathy/nanoc…"], [], ["chalkbeat.org/2026/02/17/tea…"],
        ["cambridge.org/core/journals/…"], [], ["doi.org/10.1177/136216…"],
    ]  # fmt: skip
    assert [p.prefix for p in chalkbeat.partial_links] == ["https://chalkbeat.org/2026/02/17/tea"]
    assert shintani.references and shintani.references[0].startswith("Shintani, N. (2012).")
    # Linkless posts keep their whole text, for the site to show.
    assert "there is no such thing as private property rights in America." in essay.content_html
    assert prophets.author is None and prophets.reposted_by is None
    assert len({entry.guid for entry in entries}) == 6


def test_importing_a_paste_twice_or_an_overlapping_newer_one_adds_nothing_twice(
    sample: Path, tmp_path: Path
) -> None:
    (tmp_path / "feedbot.toml").write_text(CONFIG)
    first = feedbot("import", "x-paste", str(sample), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Added the source '@mandercorn on X' (x-paste)" in first.stdout
    assert "Imported 6 posts" in first.stdout and "6 new, 0 updated" in first.stdout
    [source] = load_settings(tmp_path / "feedbot.toml").sources
    assert (source.name, source.kind, source.options["account"]) == (
        "@mandercorn on X",
        "x-paste",
        "@mandercorn",
    )

    again = feedbot("import", "x-paste", str(sample), cwd=tmp_path)
    assert "0 new, 0 updated" in again.stdout, again.stderr

    # A newer paste, copied without the header: one new post on top, then posts seen before
    # (spaced and cased a little differently, as copies are).
    posts = sample.read_text().split("\n\n\n\n\n")[1].strip().split("\n\n")
    newer = tmp_path / "newer.txt"
    newer.write_text("Brand new: tutoring at scale, what worked. example.org/tutoring\n\n"
                     + "\n\n".join(posts[:2]).replace("Three days ago", "Three  days ago") + "\n")  # fmt: skip
    overlap = feedbot("import", "x-paste", str(newer), "--account", "mandercorn", cwd=tmp_path)
    assert "Imported 3 posts" in overlap.stdout and "1 new, 0 updated" in overlap.stdout, (
        overlap.stderr
    )
    stranger = feedbot("import", "x-paste", str(sample), "--account", "@someoneelse", cwd=tmp_path)
    assert_one_line_error(stranger, 1, "the paste is @mandercorn's timeline, not @someoneelse's")

    settings = load_settings(tmp_path / "feedbot.toml")
    app = open_app(settings)
    assert app.store.counts()["entries"] == 7
    with app.store.engine.connect() as conn:
        partial = sorted(row.text for row in conn.execute(select(partial_links_t)))
    assert partial == ["cambridge.org/core/journals/…", "chalkbeat.org/2026/02/17/tea…",
                       "doi.org/10.1177/136216…", "github.com/karpathy/nanoc…"]  # fmt: skip
    # Seven items: the post with a whole link is that link; the six others are the posts.
    items = app.items()
    assert len(items) == 7
    [tutoring] = [item for item in items if item.href]
    assert tutoring.url == "https://example.org/tutoring"
    assert [s.name for s in tutoring.sources] == ["@mandercorn on X"]
    assert all(item.is_post and item.url.startswith("urn:feedbot:post:") for item in items
               if item is not tutoring)  # fmt: skip
    app.close()


def test_a_paste_with_the_pages_chrome() -> None:
    timeline = read_paste(SOURCES / "x-timeline-with-chrome.txt", FIXED_NOW)
    assert timeline.account == "@mandercorn"
    entries = paste_entries(timeline, "@mandercorn")
    pinned, chalkbeat, quote, thread = entries
    # The profile's website and bio are no post; the pinned post is one.
    assert pinned.links == ("https://mandercorn.com/reading-list",)
    assert pinned.published_at == datetime(2026, 1, 5, tzinfo=UTC)
    # A repost: credited to its author, the account reposted it.
    assert (chalkbeat.author, chalkbeat.reposted_by) == ("Chalkbeat (@Chalkbeat)", "@mandercorn")
    assert "From chalkbeat.org" not in chalkbeat.content_html
    # A quote: the quoted post is attached to the quoting one, in a blockquote.
    assert quote.title == "A quite brilliant essay on AI, the law, and the future of the republic."
    assert (
        "<blockquote><p>Law Prof (@lawprof):</p><p>Essay: if the government" in quote.content_html
    )
    assert [p.text for p in quote.partial_links] == ["lawfaremedia.org/article/ai-law…"]
    assert "Show more" not in quote.content_html and "5.1K" not in quote.content_html
    # A thread's two parts are one post, dated from "3h".
    assert (
        thread.title
        == "Just dropped a new paper on world models in static word embeddings. arxiv.org/abs/2602.0…"
    )
    assert "(2/2) Code and data" in thread.content_html
    assert [p.text for p in thread.partial_links] == [
        "arxiv.org/abs/2602.0…",
        "github.com/mandercorn/wor…",
    ]
    assert thread.published_at == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    # The same post pasted plainly is the same post.
    plain = paste_entries(parse_paste(chalkbeat_text(chalkbeat.content_html)), "@mandercorn")
    assert plain[0].guid == chalkbeat.guid


def chalkbeat_text(content_html: str) -> str:
    from feedbot.sanitize import html_to_text

    return html_to_text(content_html)


def test_a_thread_in_plain_text_and_a_paste_without_account() -> None:
    timeline = parse_paste("(1/3) One idea.\n\n(2/3) Two ideas example.org/two\n\n(3/3) Three.\n\n"
                           "3/4 of teachers agree (1/2 of them strongly).\n")  # fmt: skip
    assert timeline.account is None
    entries = paste_entries(timeline, "@m")
    assert [e.title for e in entries] == [
        "One idea.",
        "3/4 of teachers agree (1/2 of them strongly).",
    ]
    assert entries[0].links == ("https://example.org/two",)
    from feedbot.sources.xpaste import account_of

    with pytest.raises(FeedbotError, match="give --account @handle"):
        account_of(timeline, None)


def archive_zip(tmp_path: Path) -> Path:
    path = tmp_path / "twitter-2026-02-18-abc.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for file in (SOURCES / "x-archive" / "data").iterdir():
            archive.write(file, f"data/{file.name}")
        archive.writestr("data/tweets_media/1890000000000000001-GjXyZabcdEF.jpg", b"\xff\xd8")
    return path


def test_an_archive_in_its_real_shape(tmp_path: Path) -> None:
    archive = read_archive(archive_zip(tmp_path))
    assert (archive.account, archive.display_name, len(archive.tweets)) == (
        "@mandercorn",
        "Mark Anderson",
        6,
    )
    entries = {e.guid: e for e in archive_entries(archive, "@mandercorn")}
    assert "x:1889000000000000002" not in entries  # a reply to someone else
    chalkbeat = entries["x:1891567331450060936"]
    assert chalkbeat.url == "https://x.com/mandercorn/status/1891567331450060936"
    assert chalkbeat.links == ("https://www.chalkbeat.org/2026/02/17/teacher-transfer-study/",)
    assert chalkbeat.partial_links == ()  # the display "chalkbeat.org/…/tea…" is the link's
    assert chalkbeat.published_at == datetime(2026, 2, 17, 14, 5, 9, tzinfo=UTC)
    retweet = entries["x:1891222000111222333"]
    assert (retweet.author, retweet.reposted_by) == ("@karpathy", "@mandercorn")
    assert (
        retweet.title
        == "Three days ago I left autoresearch tuning nanochat for ~2 days on depth=12 model."
    )
    assert retweet.links == (retweet.url,)  # no link: its own item, under its permalink
    photo = entries["x:1890000000000000001"]
    assert photo.title == "Our new reading corner & what it changed"
    assert "t.co" not in photo.content_html and photo.links == (photo.url,)
    quote = entries["x:1888500000000000003"]
    assert quote.links == ("https://www.lawfaremedia.org/article/ai-law-and-the-republic",
                           "https://twitter.com/lawprof/status/1888000000000000000")  # fmt: skip
    assert "&gt; 1/2" in quote.content_html
    thread = entries["x:1888500000000000004"]  # a reply to itself: the thread goes on
    assert thread.links == ("https://github.com/karpathy/nanochat/commit/6f1a9c2",)
    with_replies = archive_entries(archive, "@mandercorn", replies=True)
    assert len(with_replies) == 6


def test_import_an_archive_zip_folder_or_tweets_js(tmp_path: Path, sample: Path) -> None:
    (tmp_path / "feedbot.toml").write_text(CONFIG)
    first = feedbot("import", "x-paste", str(sample), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    # The account has an X source already: the archive goes into it.
    result = feedbot("import", "x-archive", str(archive_zip(tmp_path)), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Imported 5 posts" in result.stdout and "into @mandercorn on X: 5 new" in result.stdout
    assert len(load_settings(tmp_path / "feedbot.toml").sources) == 1
    folder = tmp_path / "unpacked"
    shutil.copytree(SOURCES / "x-archive", folder)
    again = feedbot("import", "x-archive", str(folder), cwd=tmp_path)
    assert "5 posts" in again.stdout and "0 new, 0 updated" in again.stdout, again.stderr
    bare = folder / "data" / "tweets.js"
    assert_one_line_error(
        feedbot("import", "x-archive", str(bare), cwd=tmp_path),
        1,
        "the archive has no account.js: give --account @handle",
    )
    other = feedbot("import", "x-archive", str(bare), "--account", "@otheraccount", cwd=tmp_path)
    assert "Added the source '@otheraccount on X' (x-archive)" in other.stdout, other.stderr
    broken = tmp_path / "tweets.js"
    broken.write_text('window.YTD.tweets.part0 = [ {"tweet" : ')
    assert_one_line_error(
        feedbot("import", "x-archive", str(broken), "--account", "@m", cwd=tmp_path), 1,
        "tweets.js: the archive's JSON is broken",
    )  # fmt: skip
    settings = load_settings(tmp_path / "feedbot.toml")
    app = open_app(settings)
    items = {item.url: item for item in app.items()}
    chalkbeat = items["https://www.chalkbeat.org/2026/02/17/teacher-transfer-study/"]
    assert {s.name for s in chalkbeat.sources} == {"@mandercorn on X", "@otheraccount on X"}
    app.close()


def test_a_source_with_a_path_reads_its_file_when_it_changed(
    tmp_path: Path, make_settings: Callable[..., Settings], database_url: str, clock: Any,
) -> None:  # fmt: skip
    paste = tmp_path / "pastes" / "mark.txt"
    paste.parent.mkdir()
    paste.write_text("Read this: https://example.org/one\n")
    source = {
        "name": "Mark",
        "kind": "x-paste",
        "account": "@mandercorn",
        "path": "pastes/mark.txt",
    }
    missing = {"name": "Gone", "kind": "x-archive", "account": "@gone", "path": "nowhere.zip"}
    plain = {"name": "Imported only", "kind": "x-archive", "account": "@imported"}
    app = open_app(make_settings([source, missing, plain], database_url=database_url), clock=clock)
    results = {r.name: r for r in app.fetch()}
    assert (results["Mark"].status, results["Mark"].new) == ("ok", 1)
    assert results["Gone"].status == "error" and "nowhere.zip: cannot read" in (
        results["Gone"].error or ""
    )
    assert results["Imported only"].status == "not_modified"
    assert {r.name: r.status for r in app.fetch()}["Mark"] == "not_modified"
    paste.write_text("A new one: https://example.org/two\n\nRead this: https://example.org/one\n")
    again = {r.name: r for r in app.fetch()}["Mark"]
    assert (again.status, again.new) == ("ok", 1)
    assert {item.url for item in app.items()} == {
        "https://example.org/one",
        "https://example.org/two",
    }


def test_the_archive_file_shape_is_checked(tmp_path: Path) -> None:
    from feedbot.errors import ParseError

    not_js = tmp_path / "tweets.js"
    not_js.write_text(json.dumps({"tweets": []}))
    with pytest.raises(ParseError, match="not an X archive file"):
        read_archive(not_js)
    other = tmp_path / "notes.zip"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ParseError, match=r"no tweets\.js in it"):
        read_archive(other)


def test_pasted_posts_are_items_of_the_site_feeds_export_and_digest(
    sample: Path, tmp_path: Path
) -> None:
    """A pasted post has no web address; it is still an item everywhere, shown with its text
    and no link. Once its cut link is known whole, it is a mention of that article instead."""
    (tmp_path / "feedbot.toml").write_text(CONFIG)
    assert feedbot("import", "x-paste", str(sample), cwd=tmp_path).returncode == 0
    build = feedbot("build", cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    site = tmp_path / "site"
    home = (site / "index.html").read_text()
    essay_text = "there is no such thing as private property rights in America."
    assert essay_text in home
    assert home.count('class="item"') == 6
    # Its title is text, not a link to nowhere.
    assert "urn:feedbot:post:" not in home
    assert '<h3 class="item-title">A quite brilliant essay on AI' in home

    feed = json.loads((site / "feed.json").read_text())
    essay = next(i for i in feed["items"] if i["title"].startswith("A quite brilliant essay"))
    assert essay["id"].startswith("urn:feedbot:post:") and "url" not in essay
    assert essay_text in essay["content_html"]
    atom = (site / "atom.xml").read_text()
    import feedparser  # every entry keeps its identity; a post with no link carries content

    parsed = feedparser.parse(atom)
    assert len(parsed.entries) == 6 and not parsed.bozo
    post = next(e for e in parsed.entries if e.id == essay["id"])
    assert essay_text in post.content[0].value and not post.get("links")
    rss = feedparser.parse((site / "feed.xml").read_text())
    assert {e.id for e in rss.entries} == {i["id"] for i in feed["items"]}

    exported = [json.loads(line) for line in feedbot("export", cwd=tmp_path).stdout.splitlines()]
    assert len(exported) == 6
    assert all(r["is_post"] and r["url"] is None and r["id"].startswith("urn:") for r in exported)

    digest = tmp_path / "digest.eml"
    day = datetime.now(UTC).date().isoformat()
    sent = feedbot("digest", "--date", day, "--out", str(digest), cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    assert "private property rights" in digest.read_text()

    # Another source shares the Chalkbeat article whole: the post's cut link completes, and the
    # post is no longer an item of its own but a mention of that article.
    article = "https://chalkbeat.org/2026/02/17/teacher-transfer-program-study"
    other = tmp_path / "other.txt"
    other.write_text(f"A study worth reading: {article}\n")
    assert (
        feedbot("import", "x-paste", str(other), "--account", "@reader", cwd=tmp_path).returncode
        == 0
    )
    settings = load_settings(tmp_path / "feedbot.toml")
    app = open_app(settings)
    items = app.items()
    [chalkbeat] = [item for item in items if item.url == article]
    assert sorted(s.name for s in chalkbeat.sources) == ["@mandercorn on X", "@reader on X"]
    assert not any(i.is_post and i.title.startswith("New research on a federal") for i in items)
    assert len(items) == 6  # five posts of their own, and the article
    app.close()
