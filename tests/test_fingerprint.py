"""Fingerprints of what pages are made from must be equal for equal inputs, in any process:
an incremental build compares the ones it works out with those a previous process stored."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from feedbot.publish import fingerprint
from feedbot.records import Item, SourceRef, TopicRef


def item(title: str) -> Item:
    when = datetime(2026, 11, 20, 9, tzinfo=UTC)
    return Item(
        id=1, url="https://example.org/a", title=title, summary_html="<p>s</p>",
        summary_text="s", date=when, first_seen_at=when, sources=(SourceRef("Alpha", "alpha"),),
        topics=(TopicRef("ai", "AI", "keyword title: model (+1.00)"),),
        reached_by=("https://example.org/a",), mention_count=1,
    )  # fmt: skip


def test_an_interned_and_a_fresh_copy_of_a_string_give_the_same_fingerprint() -> None:
    interned = sys.intern("index.html")
    fresh = "".join(["index", ".html"])
    assert interned is not fresh

    assert fingerprint.combine((), interned, interned) == fingerprint.combine((), fresh, fresh)
    assert fingerprint.digest(item(interned)) == fingerprint.digest(item(fresh))


def test_another_process_gives_the_same_digest_and_a_change_gives_another() -> None:
    code = (
        "from tests.test_fingerprint import item; from feedbot.publish import fingerprint; "
        "print(fingerprint.digest(item('Title')).hex())"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()

    assert other == fingerprint.digest(item("Title")).hex()
    assert other != fingerprint.digest(item("Title, changed")).hex()
