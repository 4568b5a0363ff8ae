"""The digest's pure decisions: when a day's digest is due and what window it covers, which items
a list takes and in what order, how sharers and posts without a web address read, and the
settings' errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from feedbot.config import DigestListSettings, Settings, settings_from_dict
from feedbot.errors import ConfigError
from feedbot.publish.digest import (
    Envelope,
    build_message,
    digest_content,
    digest_window,
    for_list,
    group_by_topic,
    items_in_window,
    list_id,
    send_time,
    sharers,
)
from feedbot.publish.render import make_environment
from feedbot.records import Item, MentionRef, SourceRef, TopicRef

EDU, AI, LAW = TopicRef("education", "Education"), TopicRef("ai", "AI"), TopicRef("law", "Law")
TOPICS = [EDU, AI, LAW]
NOON = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def settings(**values: Any) -> Settings:
    return settings_from_dict({"base_url": "https://digest.example.org/", **values})


def source(name: str) -> SourceRef:
    return SourceRef(name, name.lower().replace(" ", "-"))


def item(
    n: int, *, sources: tuple[str, ...] = ("Weekly",), topics: tuple[TopicRef, ...] = (EDU,),
    date: datetime = NOON, seen: datetime = NOON, url: str | None = None,
    mentions: tuple[MentionRef, ...] = (), summary: str = "",
) -> Item:  # fmt: skip
    return Item(
        id=n, url=url or f"https://news.example.org/{n}", title=f"Item {n}",
        summary_html=f"<p>{summary}</p>", summary_text=summary, date=date, first_seen_at=seen,
        sources=tuple(source(s) for s in sources), topics=topics, reached_by=(),
        mention_count=len(sources), mentions=mentions,
    )  # fmt: skip


# -- when --------------------------------------------------------------------------------------


def test_the_digest_is_due_at_send_at_in_its_own_time_zone() -> None:
    berlin = settings(timezone="UTC", digest={"send_at": "07:30", "timezone": "Europe/Berlin"})
    assert send_time(date(2026, 11, 23), berlin) == datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
    assert send_time(date(2026, 7, 1), berlin) == datetime(2026, 7, 1, 5, 30, tzinfo=UTC)
    # the top-level time zone when the digest names none
    tokyo = settings(timezone="Asia/Tokyo")
    assert send_time(date(2026, 11, 23), tokyo) == datetime(2026, 11, 22, 22, 0, tzinfo=UTC)
    # a time the clocks skip is the same wall time after the change (02:30 → 03:30 CEST)
    night = settings(digest={"send_at": "02:30", "timezone": "Europe/Berlin"})
    assert send_time(date(2026, 3, 29), night) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_the_window_runs_from_the_previous_digest_to_the_cut_off() -> None:
    s = settings()  # 07:00 UTC
    day = date(2026, 11, 23)
    cut = datetime(2026, 11, 23, 7, tzinfo=UTC)
    late = cut + timedelta(hours=5)
    # the first digest ever: the day before the cut-off
    assert digest_window(day, s, late, None, None) == (cut - timedelta(days=1), cut)
    # after a previous digest: from where it ended, however long ago
    before = datetime(2026, 11, 20, 7, tzinfo=UTC)
    assert digest_window(day, s, late, before, None) == (before, cut)
    # sent before its cut-off: up to now, and the next day goes on from there
    early = cut - timedelta(hours=2)
    assert digest_window(day, s, early, before, None) == (before, early)
    # a past day sent after a later one: never into the later one's window
    later_start = cut - timedelta(hours=3)
    assert digest_window(day, s, late, before, later_start) == (before, later_start)
    # a previous end after the later start: an empty window, never a reversed one
    overlapping = digest_window(day, s, late, cut + timedelta(hours=1), later_start)
    assert overlapping == (later_start, later_start)


def test_items_are_chosen_by_when_feedbot_first_saw_them() -> None:
    start, end = NOON, NOON + timedelta(days=1)
    items = [item(1, seen=start), item(2, seen=start + timedelta(seconds=1)), item(3, seen=end),
             item(4, seen=end + timedelta(seconds=1), date=start)]  # fmt: skip
    assert [i.id for i in items_in_window(items, start, end)] == [2, 3]


# -- what and in what order --------------------------------------------------------------------


def test_lists_filter_by_topic_and_shared_by() -> None:
    items = [item(1, topics=(EDU, AI)), item(2, topics=(LAW,), sources=("A", "B")),
             item(3, topics=())]  # fmt: skip
    assert [i.id for i in for_list(items, DigestListSettings(name="all"))] == [1, 2, 3]
    ai_law = DigestListSettings(name="x", topics=["ai", "law"])
    assert [i.id for i in for_list(items, ai_law)] == [1, 2]
    popular = DigestListSettings(name="p", min_shared_by=2)
    assert [i.id for i in for_list(items, popular)] == [2]
    # an item in Education and AI sits under AI in a list that takes only AI
    content = digest_content(items, TOPICS, date(2026, 11, 23), ai_law, settings())
    assert [(s.topic, [i.id for i in s.items]) for s in content.sections] == [(AI, [1]), (LAW, [2])]


def test_ranking_weighs_sources_then_counts_then_recency() -> None:
    older = NOON - timedelta(hours=3)
    items = [
        item(1, sources=("A",), date=NOON),
        item(2, sources=("A", "B"), date=older),
        item(3, sources=("Trusted",), date=older),
        item(4, sources=("A",), date=NOON + timedelta(hours=1)),
        item(5, sources=("Muted", "A"), date=NOON),
    ]
    plain = group_by_topic(items, TOPICS)
    assert [i.id for i in plain[0].items] == [5, 2, 4, 1, 3]  # equal counts: newer first
    weights = {"Trusted": 3.0, "Muted": 0.0}
    weighted = group_by_topic(items, TOPICS, weights)
    # Trusted's one share counts 3; Muted adds nothing but still counts as a second source
    assert [i.id for i in weighted[0].items] == [3, 2, 5, 4, 1]


def test_each_topic_is_capped_and_the_rest_counted() -> None:
    items = [item(n) for n in range(5)] + [item(9, topics=(AI,))]
    content = digest_content(items, TOPICS, date(2026, 11, 23), DigestListSettings(name="d"),
                             settings(digest={"max_items_per_topic": 2}))  # fmt: skip
    assert [len(s.items) for s in content.sections] == [2, 1]
    assert (content.count, content.left_out) == (3, 3)


def test_sharers_name_authors_and_boosters() -> None:
    day = NOON
    mentions = (
        MentionRef(source("Curator"), "", "https://social.example/@alice/5", "https://x.org/a", day,
                   author="Alice A (@alice@other.example)", reposted_by="@curator@social.example"),
        MentionRef(source("Curator"), "", "https://social.example/@bob/6", "https://x.org/a", day,
                   author="Bob B (@bob@social.example)"),
        MentionRef(source("Weekly"), "", "https://weekly.example.org/1", "https://x.org/a", day,
                   author="jo@weekly.example.org (Jo Reporter)"),
        MentionRef(source("Plain"), "", None, "https://x.org/a", day),
    )  # fmt: skip
    shared = item(1, sources=("Curator", "Weekly", "Plain"), mentions=mentions)
    assert sharers(shared) == (
        "Curator (Alice A (@alice@other.example), Bob B (@bob@social.example); "
        "boosted by @curator@social.example), Weekly (Jo Reporter), Plain"
    )


# -- how it reads ------------------------------------------------------------------------------


def render(items: list[Item], s: Settings, recipient: str = "ann@example.org") -> EmailMessage:
    digest_list = s.digest.all_lists[0]
    content = digest_content(items, TOPICS, date(2026, 11, 23), digest_list, s)
    envelope = Envelope((recipient,), recipient, "<x@digest.example.org>", NOON)
    return build_message(content, envelope, s, make_environment(s.zone))


def parts(message: EmailMessage) -> tuple[str, str]:
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_a_post_without_a_web_address_shows_its_text_and_no_link() -> None:
    post = item(1, url="urn:feedbot:post:x:1234", summary="Grading essays with a rubric today.")
    linked = item(2, summary="An article.")
    text, html = parts(render([post, linked], settings(digest={"to": ["ann@example.org"]})))
    assert "urn:feedbot" not in text and "urn:feedbot" not in html
    assert "* Item 1\n  From Weekly\n  Grading essays with a rubric today." in text
    assert "* Item 2\n  https://news.example.org/2\n" in text
    assert ">Item 1</p>" in html and 'href="https://news.example.org/2"' in html
    assert "Grading essays with a rubric today." in html


def test_papers_show_their_citation_and_other_versions() -> None:
    from feedbot.links.citation import Author, Citation

    citation = Citation(title="Tutors at scale", authors=(Author("Lovelace", "Ada"),), year=2026,
                        container="Journal of Learning", doi="10.1234/jl.2026.5")  # fmt: skip
    paper = item(1, url="https://doi.org/10.1234/jl.2026.5")
    paper = replace(paper, citation=citation, versions=("https://arxiv.org/abs/2611.00001",))
    text, html = parts(render([paper], settings(digest={"to": ["ann@example.org"]})))
    assert paper.citation_text and paper.citation_text in text
    assert paper.citation_text in html.replace("&amp;", "&")
    assert "Preprint arXiv:2611.00001: https://arxiv.org/abs/2611.00001" in text
    assert 'href="https://arxiv.org/abs/2611.00001"' in html


def test_hostile_text_is_escaped_in_html_and_kept_in_text() -> None:
    bad = replace(
        item(1),
        title='<script>alert("x")</script> & co',
        summary_text="<img src=x onerror=alert(1)>",
    )
    text, html = parts(render([bad], settings(digest={"to": ["ann@example.org"]})))
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert '<script>alert("x")</script> & co' in text


def test_list_id_and_subject_with_other_characters() -> None:
    s = settings(title="Veille « IA » — été", digest={"lists": [
        {"name": "ia", "title": "Intelligence artificielle", "recipients": ["a@example.org"]}]})  # fmt: skip
    [ia] = s.digest.all_lists
    assert list_id(ia, s) == "Veille « IA » — été Intelligence artificielle <ia.digest.example.org>"
    message = render([item(1)], s, "a@example.org")
    raw = bytes(message)
    assert raw.isascii()  # headers encoded, bodies quoted-printable: any server takes it
    assert all(len(line) <= 998 for line in raw.split(b"\n"))
    assert (
        message["List-Id"]
        == "Veille « IA » — été Intelligence artificielle <ia.digest.example.org>"
    )
    assert message["Subject"] == "Veille « IA » — été — 2026-11-23"


def test_a_long_unsubscribe_url_stays_one_literal_header() -> None:
    url = (
        "https://lists.example.org/a/long/path/unsubscribe?list={list}&email={email}&t=" + "x" * 80
    )
    s = settings(digest={"to": ["ann@example.org"], "unsubscribe_url": url})
    raw = bytes(render([item(1)], s))
    [header] = [line for line in raw.split(b"\n") if line.startswith(b"List-Unsubscribe:")]
    expected = url.replace("{list}", "daily").replace("{email}", "ann%40example.org")
    assert header.decode().endswith(f", <{expected}>")
    assert b"=?utf-8?" not in header and len(header) <= 998


# -- settings ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digest", "error"),
    [
        ({"send_at": "7:00"}, "digest.send_at: expected a 24-hour time HH:MM"),
        ({"timezone": "Mars/Olympus"}, "digest.timezone: unknown time zone 'Mars/Olympus'"),
        ({"empty": "never"}, "digest.empty: Input should be 'skip' or 'note'"),
        (
            {"to": ["ann@example.org", "not an address"]},
            "digest.to[1]: 'not an address' is not an e-mail address",
        ),
        ({"from_address": "x\r\nBcc: a@b.org"}, "digest.from_address: "),
        ({"subject": "{title} {day}"}, "digest.subject: cannot fill in '{title} {day}'"),
        ({"lists": [{"name": "AI list"}]}, "digest.lists[0].name: String should match pattern"),
        (
            {"lists": [{"name": "ai", "topics": ["robots"]}]},
            "digest.lists[0].topics: unknown topic 'robots'",
        ),
        ({"lists": [{"name": "ai"}, {"name": "ai"}]}, "digest.lists[1].name: 'ai' is another list"),
        (
            {"to": ["a@b.org"], "lists": [{"name": "daily"}]},
            "digest.lists[0].name: 'daily' is the default list",
        ),
        (
            {"lists": [{"name": "ai", "min_shared_by": 0}]},
            "digest.lists[0].min_shared_by: Input should be greater than or equal to 1",
        ),
        (
            {"lists": [{"name": "ai", "recipients": ["bad"]}]},
            "digest.lists[0].recipients[0]: 'bad' is not an e-mail address",
        ),
        (
            {"unsubscribe_url": "mailto:x@y.org"},
            "digest.unsubscribe_url: expected an http:// or https:// URL",
        ),
        (
            {"unsubscribe_url": "http://x.org/u", "unsubscribe_one_click": True},
            "digest.unsubscribe_one_click: needs an https:// unsubscribe_url",
        ),
        (
            {"smtp": {"password": "hunter2"}},
            "digest.smtp.password: never put the password in the config file",
        ),
        (
            {"smtp": {"security": "ssl"}},
            "digest.smtp.security: Input should be 'starttls', 'tls' or 'none'",
        ),
        ({"smtp": {"port": 0}}, "digest.smtp.port: Input should be greater than or equal to 1"),
        (
            {"smtp": {"username": "bot", "security": "none"}},
            "digest.smtp.username: a login needs security 'starttls' or 'tls'",
        ),
        ({"smtp": {"hots": "mail.example.org"}}, "digest.smtp.hots: unknown setting"),
    ],
)
def test_digest_settings_errors_name_the_key(digest: dict[str, Any], error: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(digest=digest)
    assert error in str(raised.value)


def test_source_weight_is_a_setting_of_every_kind() -> None:
    s = settings(sources=[{"name": "A", "url": "https://a.example.org/feed", "weight": 2.5}])
    assert s.sources[0].weight == 2.5
    with pytest.raises(ConfigError, match=r"sources\[0\]\.weight"):
        settings(sources=[{"name": "A", "url": "https://a.example.org/feed", "weight": -1}])


def test_every_digest_setting_is_documented_in_the_readme() -> None:
    from pathlib import Path

    from feedbot.config import DigestListSettings as Lists
    from feedbot.config import SmtpSettings

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    missing = [f"digest.smtp.{name}" for name in SmtpSettings.model_fields
               if f"`digest.smtp.{name}`" not in readme]  # fmt: skip
    missing += [
        f"[[digest.lists]] {name}" for name in Lists.model_fields if f"`{name}`" not in readme
    ]
    assert "`[[digest.lists]]`" in readme
    assert "`weight`" in readme
    assert not missing, missing
