"""The digest sent through a real SMTP server (aiosmtpd on 127.0.0.1, started by each test):
headers, both parts, grouping by topic, one message per recipient, exactly once across re-runs,
resuming after a refused recipient, a server that is down or a run that crashed, STARTTLS and
implicit TLS with login, dry runs, empty days, and the command line."""

from __future__ import annotations

import email
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from feedbot.app import App, open_app
from feedbot.config import Settings
from feedbot.errors import ConfigError
from feedbot.fixture_server import FixtureServer, LoopbackTransport, Route
from feedbot.publish.delivery import SENDING_LEASE
from tests.api_fakes import ApiServer, MastodonApi, account, status
from tests.conftest import Clock
from tests.test_transport_tls import make_certificate

FETCHED = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # when the feeds are read
SEND = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # after the 07:00 cut-off of 2026-11-23
DAY = date(2026, 11, 23)

EDUCATION = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Education Weekly</title>
<link>https://edu.example.org/</link><description>d</description>
<item><title>Teachers try AI tutors in reading class</title><link>https://news.example.org/tutors</link>
<guid>e1</guid><pubDate>Sun, 22 Nov 2026 09:00:00 GMT</pubDate><author>jo@edu.example.org (Jo Reporter)</author>
<description>Schools test machine learning tutors with third graders.</description></item>
<item><title>School board approves the new teacher contract</title><link>https://news.example.org/contract</link>
<guid>e2</guid><pubDate>Sun, 22 Nov 2026 08:00:00 GMT</pubDate><description>Teachers and the district agree.</description></item>
</channel></rss>"""

AI = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>AI Notes</title>
<link>https://ai.example.org/</link><description>d</description>
<item><title>AI tutors in the classroom, reviewed</title><link>https://news.example.org/tutors?utm_source=ainotes</link>
<guid>a1</guid><pubDate>Sun, 22 Nov 2026 09:30:00 GMT</pubDate><description>Our take on the tutors.</description></item>
<item><title>A benchmark for language model agents</title><link>https://ai.example.org/agents</link>
<guid>a2</guid><pubDate>Sun, 22 Nov 2026 07:00:00 GMT</pubDate><description>Large language models and tool use, measured.</description></item>
</channel></rss>"""

LATER = b"""<item><title>Neural networks grade essays: a study</title><link>https://ai.example.org/grading</link>
<guid>a3</guid><pubDate>Mon, 23 Nov 2026 11:00:00 GMT</pubDate><description>Machine learning and essays.</description></item>
</channel></rss>"""


# -- the SMTP server -------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps every accepted message and refuses chosen recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:  # fmt: skip
        if address.lower() in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def parsed(self) -> list[EmailMessage]:
        found = []
        for _, _, content in self.messages:
            message = email.message_from_bytes(content, policy=default_policy)
            assert isinstance(message, EmailMessage)
            found.append(message)
        return found

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.parsed() if address in str(m["To"])]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_server(inbox: Inbox, port: int | None = None, **options: Any) -> Iterator[int]:
    port = port or free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


# -- the app -----------------------------------------------------------------------------------


@pytest.fixture
def feeds() -> Iterator[FixtureServer]:
    with FixtureServer({"/edu.xml": Route(body=EDUCATION), "/ai.xml": Route(body=AI)}) as server:
        yield server


SOURCES = [("Education Weekly", "/edu.xml", ["education"]), ("AI Notes", "/ai.xml", ["ai"])]


@pytest.fixture
def make_digest_app(
    feeds: FixtureServer, make_settings: Callable[..., Settings], clock: Clock, database_url: str
) -> Callable[..., App]:
    """An app whose feeds were read at FETCHED, its clock at SEND, with this [digest] table."""

    def make(digest: dict[str, Any], port: int, *, db: str | None = None, **smtp: Any) -> App:
        settings = digest_settings(make_settings, feeds, digest, port, db or database_url, **smtp)
        clock.now = FETCHED
        app = open_app(settings, clock=clock)
        app.fetch()
        clock.now = SEND
        return app

    return make


def digest_settings(
    make_settings: Callable[..., Settings], feeds: FixtureServer, digest: dict[str, Any],
    port: int, database_url: str, **smtp: Any,
) -> Settings:  # fmt: skip
    sources = [{"name": n, "url": feeds.url(p), "topics": t} for n, p, t in SOURCES]
    table = {"from_address": "Digest <digest@example.org>", **digest,
             "smtp": {"host": "127.0.0.1", "port": port, "security": "none",
                      "timeout_seconds": 5, **smtp}}  # fmt: skip
    return make_settings(sources, database_url=database_url, digest=table)


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None, f"no {kind} part"
    return str(part.get_content())


def text_sections(text: str) -> dict[str, list[str]]:
    """Section name → the titles listed under it, in order, from the plain-text part."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("== ") and line.endswith(" =="):
            current = sections.setdefault(line.strip("= "), [])
        elif line.startswith("* ") and current is not None:
            current.append(line[2:])
    return sections


# -- tests -------------------------------------------------------------------------------------


def test_each_recipient_gets_one_message_with_headers_both_parts_and_topics(
    make_digest_app: Callable[..., App],
) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        app = make_digest_app({
            "to": ["Ann Reader <ann@example.org>", "bob@example.org"],
            "lists": [
                {"name": "ai", "title": "AI only", "recipients": ["carol@example.org"],
                 "topics": ["ai"], "subject": "{list}: {date}"},
                {"name": "popular", "recipients": ["dan@example.org"], "min_shared_by": 2},
            ],
            "unsubscribe_url": "https://digest.example.org/leave?list={list}&email={email}",
            "unsubscribe_one_click": True,
        }, port)  # fmt: skip
        report = app.send_digest(DAY)
        assert [(d.list_name, d.recipient, d.state) for d in report.deliveries] == [
            ("daily", "ann@example.org", "sent"),
            ("daily", "bob@example.org", "sent"),
            ("ai", "carol@example.org", "sent"),
            ("popular", "dan@example.org", "sent"),
        ]
        # one message per recipient, each addressed to that recipient alone
        assert sorted(rcpts[0] for _, rcpts, _ in inbox.messages) == [
            "ann@example.org", "bob@example.org", "carol@example.org", "dan@example.org"]  # fmt: skip
        assert all(len(rcpts) == 1 for _, rcpts, _ in inbox.messages)
        assert {sender for sender, _, _ in inbox.messages} == {"digest@example.org"}

        items = {item.title: item for item in app.items()}
        assert len(items) == 3  # the tutors article is one item, shared by both feeds
        tutors = items["Teachers try AI tutors in reading class"]
        assert tutors.shared_by == 2 and tutors.url == "https://news.example.org/tutors"

        [ann] = inbox.to("ann@example.org")
        assert ann["To"] == "Ann Reader <ann@example.org>"
        assert ann["From"] == "Digest <digest@example.org>"
        assert ann["Subject"] == "Test digest — 2026-11-23"
        assert parsedate_to_datetime(str(ann["Date"])) == SEND
        assert re.fullmatch(r"<digest\.2026-11-23\.daily\.[0-9a-f]{16}@digest\.example\.org>",
                            str(ann["Message-ID"]))  # fmt: skip
        assert ann["List-Id"] == '"Test digest: daily" <daily.digest.example.org>'
        assert ann["List-Unsubscribe"] == (
            "<mailto:digest@example.org?subject=unsubscribe%20daily>, "
            "<https://digest.example.org/leave?list=daily&email=ann%40example.org>"
        )
        assert ann["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert ann.get_content_type() == "multipart/alternative"
        ids = {str(m["Message-ID"]) for m in inbox.parsed()}
        assert len(ids) == 4

        # Both parts say the same: every item, under the first of its topics, once.
        text, html = body(ann, "plain"), body(ann, "html")
        expected: dict[str, list[str]] = {}
        order = ["Education", "AI", "Law"]
        for item in app.items():
            first = min((t.name for t in item.topics), key=order.index)
            expected.setdefault(first, []).append(item.title)
        sections = text_sections(text)
        assert list(sections) == [name for name in order if name in expected]
        assert {k: sorted(v) for k, v in sections.items()} == {
            k: sorted(v) for k, v in expected.items()
        }
        assert sections["Education"][0] == tutors.title  # shared by 2 ranks first
        for title, item in items.items():
            assert text.count(f"* {title}") == 1
            assert html.count(f">{title}</a>") == 1 and f'href="{item.url}"' in html
        h2 = re.findall(r"<h2[^>]*>([^<]+)</h2>", html)
        assert h2 == list(sections)
        assert "Shared by 2: Education Weekly (Jo Reporter), AI Notes" in text
        assert "Shared by 2: Education Weekly (Jo Reporter), AI Notes" in html
        assert "Schools test machine learning tutors" in text and "Schools test machine" in html
        # e-mail safe HTML: tables for layout, inline styles, no stylesheet, no script
        assert "<table" in html and 'style="' in html
        for banned in ("<script", "<style", "<link", "javascript:"):
            assert banned not in html.lower()
        assert "https://digest.example.org/leave?list=daily&amp;email=ann%40example.org" in html

        # The topic list: AI only, its own subject; the popular list: shared by 2 or more.
        [carol] = inbox.to("carol@example.org")
        assert carol["Subject"] == "AI only: 2026-11-23"
        assert carol["List-Id"] == '"Test digest: AI only" <ai.digest.example.org>'
        carol_sections = text_sections(body(carol, "plain"))
        assert list(carol_sections) == ["AI"]
        assert sorted(carol_sections["AI"]) == sorted(
            title for title, item in items.items() if "ai" in [t.id for t in item.topics]
        )
        [dan] = inbox.to("dan@example.org")
        assert [t for ts in text_sections(body(dan, "plain")).values() for t in ts] == [
            tutors.title
        ]

        # Re-running sends nothing again.
        again = app.send_digest(DAY)
        assert [d.state for d in again.deliveries] == ["already_sent"] * 4
        assert len(inbox.messages) == 4
        assert {d.state for d in app.store.digest_deliveries(DAY)} == {"sent"}


def test_a_refused_recipient_is_recorded_and_the_next_run_sends_only_it(
    make_digest_app: Callable[..., App], any_database_url: str,
    make_settings: Callable[..., Settings], feeds: FixtureServer, clock: Clock,
) -> None:  # fmt: skip
    inbox = Inbox()
    inbox.refuse = {"bob@example.org"}
    digest = {"to": ["ann@example.org", "bob@example.org", "cy@example.org"]}
    with smtp_server(inbox) as port:
        app = make_digest_app(digest, port, db=any_database_url)
        report = app.send_digest(DAY)
        assert [(d.recipient, d.state) for d in report.deliveries] == [
            ("ann@example.org", "sent"), ("bob@example.org", "failed"), ("cy@example.org", "sent")]  # fmt: skip
        [failed] = report.failed
        assert failed.error == "recipient refused: 550 5.1.1 <bob@example.org>: mailbox unavailable"
        recorded = {d.recipient: d for d in app.store.digest_deliveries(DAY)}
        assert (recorded["bob@example.org"].state, recorded["bob@example.org"].attempts) == (
            "failed",
            1,
        )
        assert recorded["bob@example.org"].error == failed.error
        assert len(inbox.messages) == 2

        # Meanwhile the config changes and new items arrive; the resend is still the message
        # rendered the first time (same bytes, same Message-ID), and only Bob gets it.
        inbox.refuse = set()
        feeds.routes["/ai.xml"] = Route(body=AI.replace(b"</channel></rss>", LATER))
        clock.now = SEND - timedelta(minutes=30)  # before the cut-off: would be in the window
        app.fetch()
        clock.now = SEND + timedelta(hours=1)
        renamed = digest_settings(make_settings, feeds, digest, port, any_database_url)
        renamed = renamed.model_copy(update={"title": "Renamed digest"})
        app = open_app(renamed, clock=clock)
        report = app.send_digest(DAY)
        assert [(d.recipient, d.state) for d in report.deliveries] == [
            ("ann@example.org", "already_sent"), ("bob@example.org", "sent"),
            ("cy@example.org", "already_sent")]  # fmt: skip
        assert len(inbox.messages) == 3
        _, rcpts, content = inbox.messages[-1]
        assert rcpts == ["bob@example.org"]
        stored = recorded["bob@example.org"].message.encode("ascii")
        assert content.replace(b"\r\n", b"\n") == stored.replace(b"\r\n", b"\n")
        [bob] = inbox.to("bob@example.org")
        assert bob["Subject"] == "Test digest — 2026-11-23"  # not the renamed title
        assert "Neural networks grade essays" not in body(bob, "plain")
        after = {d.recipient: d for d in app.store.digest_deliveries(DAY)}
        assert (after["bob@example.org"].state, after["bob@example.org"].attempts) == ("sent", 2)
        assert after["bob@example.org"].sent_at == SEND + timedelta(hours=1)
        app.close()


def test_a_server_that_is_down_is_recorded_and_the_next_run_sends(
    make_digest_app: Callable[..., App],
) -> None:
    port = free_port()  # nothing listens there yet
    app = make_digest_app({"to": ["ann@example.org", "bob@example.org"]}, port)
    report = app.send_digest(DAY)
    assert [d.state for d in report.deliveries] == ["failed", "failed"]
    assert all(d.error and f"SMTP 127.0.0.1:{port}" in d.error for d in report.deliveries)
    assert "refused" in (report.deliveries[0].error or "").lower()
    assert [(d.state, d.attempts) for d in app.store.digest_deliveries(DAY)] == [("failed", 1)] * 2

    inbox = Inbox()
    with smtp_server(inbox, port):
        report = app.send_digest(DAY)
    assert [d.state for d in report.deliveries] == ["sent", "sent"]
    assert sorted(rcpts[0] for _, rcpts, _ in inbox.messages) == [
        "ann@example.org",
        "bob@example.org",
    ]


def test_a_run_that_died_while_sending_is_taken_over_after_the_lease(
    make_digest_app: Callable[..., App], clock: Clock,
) -> None:  # fmt: skip
    """A row left ``sending`` (the process died between the server's 250 and recording it)
    is left alone while another run may still be sending it, then sent again, same message."""
    inbox = Inbox()
    with smtp_server(inbox) as port:
        app = make_digest_app({"to": ["ann@example.org"]}, port)
        report = app.send_digest(DAY, dry_run=True, out_dir=None)
        assert app.store.digest_deliveries(DAY) == []  # a dry run records nothing
        # Record the day as a real run would, then die right after claiming the delivery.
        inbox.refuse = {"ann@example.org"}
        app.send_digest(DAY)
        inbox.refuse = set()
        [row] = app.store.digest_deliveries(DAY)
        assert app.store.claim_digest_delivery(row.id, clock(), clock() - SENDING_LEASE)
        assert not app.store.claim_digest_delivery(row.id, clock(), clock() - SENDING_LEASE)

        clock.now = SEND + SENDING_LEASE / 2
        report = app.send_digest(DAY)
        assert [(d.state, d.error) for d in report.deliveries] == [
            ("busy", "being sent by another run")]  # fmt: skip
        assert inbox.messages == []

        clock.now = SEND + SENDING_LEASE * 2
        report = app.send_digest(DAY)
        assert [d.state for d in report.deliveries] == ["sent"]
        [ann] = inbox.parsed()
        assert str(ann["Message-ID"]) == row.message_id
        assert app.store.digest_deliveries(DAY)[0].attempts == 3


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    key, cert = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


class Accounts:
    """An aiosmtpd authenticator that knows one login and notes whether TLS was on."""

    def __init__(self) -> None:
        self.logins: list[tuple[str, bool]] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:  # fmt: skip
        assert isinstance(auth_data, LoginPassword)
        ok = (auth_data.login, auth_data.password) == (b"digest-bot", b"s3cret pass")
        encrypted = server.transport.get_extra_info("ssl_object") is not None
        self.logins.append((auth_data.login.decode(), encrypted))
        return AuthResult(success=ok, handled=False)


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_login(
    security: str, certificate: tuple[Path, Path], make_digest_app: Callable[..., App],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    inbox, accounts = Inbox(), Accounts()
    context = server_tls(certificate)
    if security == "starttls":
        options = {"tls_context": context, "require_starttls": True, "auth_required": True}
    else:
        # aiosmtpd counts only STARTTLS as TLS for AUTH; the authenticator checks the session.
        options = {"ssl_context": context, "auth_require_tls": False}
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "s3cret pass")
    with smtp_server(inbox, authenticator=accounts, **options) as port:
        app = make_digest_app({"to": ["ann@example.org"], "empty": "note"}, port, security=security,
                              username="digest-bot", password_env="DIGEST_SMTP_PASSWORD",
                              ca_file=str(certificate[1]))  # fmt: skip
        report = app.send_digest(DAY)
        assert [(d.state, d.error) for d in report.deliveries] == [("sent", None)]
        assert accounts.logins == [("digest-bot", True)]
        assert [rcpts for _, rcpts, _ in inbox.messages] == [["ann@example.org"]]

        # A wrong password is recorded for the recipient; fixing it, the next run sends.
        monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "wrong")
        report = app.send_digest(DAY - timedelta(days=1))
        [failed] = report.deliveries
        assert failed.state == "failed" and "login refused: 535" in (failed.error or "")
        monkeypatch.setenv("DIGEST_SMTP_PASSWORD", "s3cret pass")
        assert [d.state for d in app.send_digest(DAY - timedelta(days=1)).deliveries] == ["sent"]


def test_an_untrusted_certificate_is_refused_and_recorded(
    certificate: tuple[Path, Path], make_digest_app: Callable[..., App]
) -> None:
    inbox = Inbox()
    options = {"tls_context": server_tls(certificate), "require_starttls": True}
    with smtp_server(inbox, **options) as port:
        app = make_digest_app({"to": ["ann@example.org"]}, port, security="starttls")
        [delivery] = app.send_digest(DAY).deliveries
    assert delivery.state == "failed"
    assert "TLS certificate not trusted" in (delivery.error or "")
    assert inbox.messages == []


def test_a_server_without_starttls_is_not_used_in_the_clear(
    make_digest_app: Callable[..., App],
) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:  # plain SMTP: no STARTTLS offered
        app = make_digest_app({"to": ["ann@example.org"]}, port, security="starttls")
        [delivery] = app.send_digest(DAY).deliveries
    assert (delivery.state, delivery.error) == (
        "failed", f"SMTP 127.0.0.1:{port}: the server does not offer STARTTLS")  # fmt: skip
    assert inbox.messages == []


def test_dry_run_writes_eml_and_html_and_records_nothing(
    make_digest_app: Callable[..., App], tmp_path: Path
) -> None:
    app = make_digest_app({"to": ["ann@example.org"], "lists": [
        {"name": "ai", "recipients": ["carol@example.org"], "topics": ["ai"]}]}, free_port())  # fmt: skip
    report = app.send_digest(DAY, dry_run=True, out_dir=tmp_path / "preview")
    assert [(d.state, d.path) for d in report.deliveries] == [
        ("written", tmp_path / "preview/daily-ann-example-org.eml"),
        ("written", tmp_path / "preview/ai-carol-example-org.eml"),
    ]
    for delivery in report.deliveries:
        assert delivery.path is not None
        message = email.message_from_bytes(delivery.path.read_bytes(), policy=default_policy)
        assert isinstance(message, EmailMessage)
        preview = delivery.path.with_suffix(".html").read_text(encoding="utf-8")
        assert preview == body(message, "html") and preview.startswith("<!doctype html>")
        assert delivery.recipient in str(message["To"])
    assert app.store.digest_deliveries() == []
    assert app.store.digest_windows(DAY)[0] is None


def test_empty_days_are_skipped_or_get_a_short_note(
    make_digest_app: Callable[..., App], clock: Clock
) -> None:
    inbox = Inbox()
    with smtp_server(inbox) as port:
        app = make_digest_app({"to": ["ann@example.org"], "lists": [
            {"name": "law", "recipients": ["lou@example.org"], "topics": ["law"]}]}, port)  # fmt: skip
        report = app.send_digest(DAY)
        assert [(d.recipient, d.state, d.items) for d in report.deliveries] == [
            ("ann@example.org", "sent", 3), ("lou@example.org", "skipped", 0)]  # fmt: skip
        assert len(inbox.messages) == 1
        assert [d.state for d in app.send_digest(DAY).deliveries] == ["already_sent", "skipped"]

    inbox = Inbox()
    with smtp_server(inbox) as port:
        app = make_digest_app({"to": ["ann@example.org"], "empty": "note"}, port)
        app.send_digest(DAY)
        clock.now = SEND + timedelta(days=1)
        report = app.send_digest(DAY + timedelta(days=1))  # nothing new since the 23rd
        assert [(d.state, d.items) for d in report.deliveries] == [("sent", 0)]
        last = inbox.parsed()[-1]
        assert "Nothing new since the last digest." in body(last, "plain")
        assert "Nothing new since the last digest." in body(last, "html")


def test_each_article_is_in_one_digest_only(
    make_digest_app: Callable[..., App], feeds: FixtureServer, clock: Clock
) -> None:
    """The next day's digest starts where the previous one ended: new items only."""
    inbox = Inbox()
    with smtp_server(inbox) as port:
        app = make_digest_app({"to": ["ann@example.org"]}, port)
        first = app.send_digest(DAY)
        assert (first.window_start, first.window_end) == (
            datetime(2026, 11, 22, 7, tzinfo=UTC), datetime(2026, 11, 23, 7, tzinfo=UTC))  # fmt: skip
        feeds.routes["/ai.xml"] = Route(body=AI.replace(b"</channel></rss>", LATER))
        clock.now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
        app.fetch()
        clock.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
        second = app.send_digest()  # today: the 24th
        assert second.day == date(2026, 11, 24)
        assert second.window_start == first.window_end
    day1, day2 = (text_sections(body(m, "plain")) for m in inbox.parsed())
    titles1 = {t for ts in day1.values() for t in ts}
    titles2 = {t for ts in day2.values() for t in ts}
    assert titles2 == {"Neural networks grade essays: a study"}
    assert len(titles1) == 3 and not titles1 & titles2


def test_boosts_show_who_boosted(
    make_settings: Callable[..., Settings], database_url: str, clock: Clock
) -> None:
    """A Mastodon boost: the post's author and, beside it, the account that boosted it."""
    curator = account("curator", "7", "Curator C")
    alice = account("alice@other.example", "90", "Alice A")
    essay = "https://news.example.com/ai-law-essay"
    post = status(555, alice, "<p>A brilliant essay on AI and the law.</p>",
                  card={"url": essay, "title": "AI, the law and the republic",
                        "description": "An essay on courts and machine learning."})  # fmt: skip
    fake = MastodonApi(accounts={"curator": curator},
                       statuses={"7": [status(1002, curator, "", reblog=post)]})  # fmt: skip
    inbox = Inbox()
    with ApiServer() as api, smtp_server(inbox) as port:
        fake.install(api)
        source = {"name": "Curator", "kind": "mastodon", "account": "@curator@social.example"}
        settings = make_settings([source], database_url=database_url, digest={
            "to": ["ann@example.org"],
            "smtp": {"host": "127.0.0.1", "port": port, "security": "none"}})  # fmt: skip
        clock.now = FETCHED
        app = open_app(settings, clock=clock, transport=LoopbackTransport(api))
        app.fetch()
        clock.now = SEND
        assert [d.state for d in app.send_digest(DAY).deliveries] == ["sent"]
    [message] = inbox.parsed()
    line = "From Curator (Alice A (@alice@other.example); boosted by @curator@social.example)"
    assert line in body(message, "plain")
    assert line in body(message, "html")


# -- settings and the command line -------------------------------------------------------------


def test_sending_needs_a_server_and_the_password_from_the_environment(
    make_digest_app: Callable[..., App], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_digest_app({"to": ["ann@example.org"]}, free_port(), host=None)
    with pytest.raises(ConfigError, match=r"digest\.smtp\.host: required"):
        app.send_digest(DAY)
    assert app.send_digest(DAY, dry_run=True).deliveries[0].state == "written"

    monkeypatch.delenv("FEEDBOT_SMTP_PASSWORD", raising=False)
    app = make_digest_app({"to": ["ann@example.org"]}, free_port(), security="tls",
                          username="bot")  # fmt: skip
    with pytest.raises(ConfigError, match=r"FEEDBOT_SMTP_PASSWORD \(digest\.smtp\.password_env\)"):
        app.send_digest(DAY)
    assert app.store.digest_deliveries() == []  # nothing recorded for a config error


def test_a_future_day_or_no_recipients_is_an_error(make_digest_app: Callable[..., App]) -> None:
    from feedbot.errors import PublishError

    app = make_digest_app({"to": ["ann@example.org"]}, free_port())
    with pytest.raises(PublishError, match="not due yet"):
        app.send_digest(DAY + timedelta(days=1))
    app = make_digest_app({}, free_port())
    with pytest.raises(ConfigError, match=r"digest\.to: the digest has no recipients"):
        app.send_digest(DAY, dry_run=True)


def feedbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import os

    environment = {
        k: v for k, v in os.environ.items() if k not in ("FEEDBOT_CONFIG", "DATABASE_URL")
    }
    return subprocess.run([sys.executable, "-m", "feedbot", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=environment | (env or {}))  # fmt: skip


def test_the_digest_commands(tmp_path: Path, feeds: FixtureServer) -> None:
    inbox = Inbox()
    port = free_port()
    (tmp_path / "feedbot.toml").write_text(f"""
[http]
allow_private_networks = true
min_host_interval_seconds = 0
[links]
resolve = false
[research]
resolve = false
[digest]
to = ["ann@example.org", "bob@example.org"]
send_at = "23:59"
empty = "note"
[digest.smtp]
host = "127.0.0.1"
port = {port}
security = "none"
timeout_seconds = 5
[[sources]]
name = "AI Notes"
url = "{feeds.url("/ai.xml")}"
""")
    assert feedbot("fetch", cwd=tmp_path).returncode == 0

    down = feedbot("digest", "send", cwd=tmp_path)
    assert down.returncode == 1, down.stderr
    assert "Traceback" not in down.stderr and len(down.stderr.strip().splitlines()) == 1
    failed = re.search(r"digest of (\d{4}-\d\d-\d\d): 2 of 2 deliveries failed \(ann@example\.org: "
                       rf"SMTP 127\.0\.0\.1:{port}", down.stderr)  # fmt: skip
    assert failed, down.stderr
    today = failed[1]
    assert "run it again to send them" in down.stderr

    dry = feedbot("digest", "send", "--dry-run", "--out", "preview", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert sorted(p.name for p in (tmp_path / "preview").iterdir()) == [
        "daily-ann-example-org.eml", "daily-ann-example-org.html",
        "daily-bob-example-org.eml", "daily-bob-example-org.html"]  # fmt: skip
    assert "2 written" in dry.stdout

    with smtp_server(inbox, port):
        sent = feedbot("digest", "send", cwd=tmp_path)
        assert sent.returncode == 0, sent.stderr
        assert f"Digest of {today}" in sent.stdout and "2 sent" in sent.stdout
        again = feedbot("digest", "send", cwd=tmp_path)
        assert "2 already sent" in again.stdout
    assert len(inbox.messages) == 2

    listed = feedbot("digest", "status", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{today} daily ann@example.org: sent ")
    assert "2 attempts" in lines[0]

    written = feedbot("digest", "--date", "2026-11-22", "--out", "day.eml", cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    assert "A benchmark for language model agents" in (tmp_path / "day.eml").read_text()

    (tmp_path / "feedbot.toml").write_text("[digest.smtp]\npassword = 'hunter2'\n")
    broken = feedbot("digest", "send", cwd=tmp_path)
    assert broken.returncode == 2
    assert "digest.smtp.password: never put the password in the config file" in broken.stderr
