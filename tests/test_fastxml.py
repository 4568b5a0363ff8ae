"""The fast XML path must agree with feedparser on every real-world document it accepts, and
accept the common case (so the agreement is not vacuous)."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedbot.sources.fastxml import parse_simple_feed
from feedbot.sources.feed import parse_with_feedparser

SUFFIXES = {".xml", ".rss", ".atom", ".html"}


def documents(corpora: Path) -> list[Path]:
    found = [
        path
        for folder in (
            "real-feeds",
            "feedparser-tests/tests/wellformed/rss",
            "feedparser-tests/tests/wellformed/atom10",
            "feedparser-tests/tests/wellformed/base",
        )
        for path in sorted((corpora / folder).rglob("*"))
        if path.suffix in SUFFIXES and path.is_file()
    ]
    assert len(found) > 500
    return found


def test_fast_path_agrees_with_feedparser_wherever_it_answers(corpora: Path) -> None:
    url = "https://feeds.example.org/section/feed.xml"
    headers = {"content-type": "application/xml"}
    taken, disagreements = [], []
    for path in documents(corpora):
        content = path.read_bytes()
        fast = parse_simple_feed(content, url, headers)
        if fast is None:
            continue
        taken.append(path)
        slow = parse_with_feedparser(content, url, headers)
        if fast.entries != slow.entries or fast.title != slow.title:
            first = next(
                ((a, b) for a, b in zip(fast.entries, slow.entries, strict=False) if a != b),
                (fast.title, slow.title),
            )
            disagreements.append(f"{path.relative_to(corpora)}: {first}")
    print(f"fast path took {len(taken)} documents")
    assert not disagreements, "\n".join(disagreements[:10])
    real = [p for p in taken if "real-feeds" in p.parts]
    assert len(real) >= 25, "the fast path should take the common real-world feeds"


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (b'<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel/></rss>', "another encoding"),
        (b'<!DOCTYPE rss [<!ENTITY x "y">]><rss version="2.0"><channel><title>&x;</title></channel></rss>', "a DOCTYPE"),
        (b'<rss version="2.0"><channel><item><title>a &nbsp; b</title></item></channel></rss>', "an HTML entity"),
        (b'<rss version="0.91"><channel/></rss>', "an older RSS"),
        (b'<rss version="2.0"><channel><item><media:title xmlns:media="http://search.yahoo.com/mrss/">x</media:title></item></channel></rss>', "an unknown element"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="http://a/"><entry/></feed>', "xml:base"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></title></entry></feed>', "inline XHTML"),
        (b'<rss version="2.0"><channel><item><title>a</title><title>b</title></item></channel></rss>', "a repeated field"),
        (b"<rss version='2.0'><channel><item><title>Fish & chips</title></item></channel></rss>", "ill-formed"),
    ],
)  # fmt: skip
def test_fast_path_declines_what_it_is_not_sure_of(document: bytes, reason: str) -> None:
    assert parse_simple_feed(document, "https://x.example.org/", {}) is None, reason
