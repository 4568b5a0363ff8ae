"""X timelines pasted as text: what a user gets by selecting an account's page on x.com and
copying it, saved to a file.

    feedbot import x-paste timeline.txt [--account @mandercorn]

    [[sources]]
    name = "@mandercorn on X"
    kind = "x-paste"
    account = "@mandercorn"
    # path = "pastes/mandercorn.txt"   # optional: read again on every fetch when it changed

What a paste holds, and how it is read:

* A profile header, when the copy starts at the top of the page: the name, "26.5K posts", the
  "@handle" line and the bio (with its website, location, "Joined …", "N Following",
  "N Followers" and the tabs). It names the account; none of it is a post, and the bio's link is
  never a post's link.
* Then the posts, newest first, in one of two shapes:

  - Plain: the posts' texts, separated by blank lines (as in ``../shared/samples``). Each run of
    non-blank lines is one post; a blank line always ends a post.
  - With the page's chrome, as a browser copies the timeline: each post opens with its author
    ("Name", "@handle", "·", a date such as "Feb 17" or "3h"), maybe after "Name reposted" (a
    repost: credited to the author, with the account in ``reposted_by``), and ends with its
    counts (replies, reposts, likes, views: "12", "1.2K"). An author block inside a post, after
    "Quote" or straight after the post's text, opens the quoted post: its text is attached to the
    quoting post, in a blockquote, and its links count as shared by it. "Show more",
    "Replying to @…", "From example.org" and the like are left out.

* A thread's parts marked "(1/2)", "2/3" or "… (2/2)" that follow each other are one post; the
  marker is left out of its title.
* Display links cut short ("chalkbeat.org/2026/02/17/tea…") are kept as partial links, completed
  later from known links of the same host (see :mod:`feedbot.links.extract`).

Posts have no permalink in a paste: each is an entry without URL whose guid is a hash of its
normalized text (its first 200 characters, case and spacing folded; a thread's first part), so
importing the same paste again, or a newer one that overlaps it, adds nothing twice.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from feedbot.errors import FeedbotError, ParseError
from feedbot.sources import FetchedEntry, FetchOutcome, SourceKind
from feedbot.sources.entries import dedupe
from feedbot.sources.social import (
    FileImportFetcher,
    XOptions,
    normalized_text,
    post_entry,
    text_html,
    thread_marker,
    x_handle,
)

IDENTITY_CHARS = 200
_HANDLE = re.compile(r"^@([A-Za-z0-9_]{1,15})$")
_POSTS_COUNT = re.compile(r"^[\d.,]+\s*[KMB]?\s+(?:posts|tweets)$", re.IGNORECASE)
_COUNT = re.compile(r"^[\d.,]+\s*[KMB]?$")
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
_DATE = re.compile(
    rf"^(?:\d{{1,2}}[smhd]|now|{_MONTH} \d{{1,2}}(?:, \d{{4}})?|\d{{1,2}} {_MONTH}(?: \d{{4}})?)$"
)
_REPOSTED = re.compile(r"^(?:.{1,60} reposted|You reposted|.{1,60} Retweeted)$")
_PROFILE = re.compile(
    r"^(?:Joined \w+ \d{4}|[\d.,]+\s*[KMB]?\s+(?:Following|Followers|Subscriptions)|Followed by .*"
    r"|Not followed by anyone you.re following|Posts|Replies|Highlights|Articles|Media|Likes"
    r"|Follow|Following|Subscribe|Born .*)$"
)
_CHROME = re.compile(
    r"^(?:Show more|Show this thread|Show translation|Translate post|Pinned|Promoted|Ad"
    r"|Views|Replying to .*|From [\w.-]+\.\w+|Read \S+ repl(?:y|ies)|Embedded video|GIF|ALT"
    r"|\d{1,2}:\d{2}|Quote|Post|Repost|Undo repost|Bookmark|Share|Copy link)$"
)


@dataclass
class PastedPost:
    lines: list[str] = field(default_factory=list)
    name: str | None = None
    handle: str | None = None  # "@handle", when the paste shows the author
    reposted: bool = False
    published: datetime | None = None
    quoted: PastedPost | None = None
    first_text: str = ""  # the text before thread parts were joined: the post's identity
    last_part: tuple[int, int | None] | None = None  # its thread marker's (part, of)

    @property
    def text(self) -> str:
        return "\n".join(self.lines).strip()

    @property
    def author(self) -> str | None:
        if self.name and self.handle:
            return f"{self.name} ({self.handle})"
        return self.handle or self.name


@dataclass(frozen=True)
class PastedTimeline:
    account: str | None  # "@handle" of the profile header, if the paste has one
    display_name: str | None
    posts: tuple[PastedPost, ...]


def parse_paste(text: str, now: datetime | None = None) -> PastedTimeline:
    """Read a pasted timeline. ``now`` dates posts shown as "3h" or "Feb 17"."""
    now = now or datetime.now(UTC)
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    lines = [line.rstrip() for line in text.split("\n")]
    start, account, display = _header(lines)
    body = lines[start:]
    with_chrome = any(_author_at(body, i) for i in range(len(body)))
    posts = _chrome_posts(body, now) if with_chrome else _plain_posts(body)
    for post in posts:
        post.first_text = post.text
    return PastedTimeline(account, display, tuple(_join_threads(posts)))


def _header(lines: list[str]) -> tuple[int, str | None, str | None]:
    """Where the posts start, and the profile's handle and name, when the paste opens with it."""
    shown = [i for i, line in enumerate(lines) if line.strip()][:8]
    count_at = next((i for i in shown if _POSTS_COUNT.match(lines[i].strip())), None)
    handle_at = next(
        (i for i in shown if _HANDLE.match(lines[i].strip()) and not _author_at(lines, i - 1)),
        None,
    )
    if handle_at is not None and any(
        len(lines[i]) > 160 for i in shown if i < handle_at
    ):  # a long text first: that is a post, not a profile
        handle_at = None
    if count_at is None and handle_at is None:
        return 0, None, None
    display = None
    if count_at is not None and count_at > 0 and lines[count_at - 1].strip():
        display = lines[count_at - 1].strip()
    elif handle_at is not None and handle_at > 0 and lines[handle_at - 1].strip():
        display = lines[handle_at - 1].strip()
    if handle_at is None:
        assert count_at is not None
        return count_at + 1, None, display
    end = handle_at + 1
    while end < len(lines) and lines[end].strip() and not _starts_post(lines, end):
        end += 1  # the bio, its website, location, "Joined …"
    while (
        end < len(lines)
        and not _starts_post(lines, end)
        and (not lines[end].strip() or _PROFILE.match(lines[end].strip()))
    ):
        end += 1  # following counts and the tabs
    return end, "@" + lines[handle_at].strip()[1:], display


def _starts_post(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    return bool(_REPOSTED.match(line)) or line == "Pinned" or _author_at(lines, i) is not None


def _author_at(lines: list[str], i: int) -> tuple[str, str, int, str] | None:
    """(name, handle, next line, date) when an author block starts at line ``i``: a name, then
    "@handle", then "·" and/or a date."""
    if i < 0 or i + 2 >= len(lines):
        return None
    name, handle = lines[i].strip(), lines[i + 1].strip()
    if not name or not _HANDLE.match(handle) or _HANDLE.match(name):
        return None
    j = i + 2
    date = ""
    if lines[j].strip() == "·":
        j += 1
    if j < len(lines) and _DATE.match(lines[j].strip()):
        date = lines[j].strip()
        j += 1
    if j == i + 2:
        return None
    return name, handle, j, date


def _plain_posts(lines: list[str]) -> list[PastedPost]:
    """Each run of non-blank lines is a post; "Name reposted" heading a longer run marks a
    repost."""
    posts: list[PastedPost] = []
    block: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            block.append(line.strip())
            continue
        if len(block) > 1 and _REPOSTED.match(block[0]):
            post = PastedPost(reposted=True)
            block = block[1:]
        else:
            post = PastedPost()
        post.lines = [text for text in block if not _CHROME.match(text)]
        if post.lines:
            posts.append(post)
        block = []
    return posts


def _chrome_posts(lines: list[str], now: datetime) -> list[PastedPost]:
    posts: list[PastedPost] = []
    current: PastedPost | None = None
    quoted: PastedPost | None = None
    closed = True  # the current post has shown its counts
    reposted = quote_next = False
    gap = False  # a blank line since the last text
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        author = _author_at(lines, i)
        if not line:
            gap = True
        elif author is not None:
            name, handle, i, date = author
            post = PastedPost(name=name, handle=handle, published=_date(date, now))
            inside = current is not None and not closed and quoted is None
            if inside and current is not None and (quote_next or (current.lines and not gap)):
                current.quoted = quoted = post
            else:
                post.reposted, reposted = reposted, False
                posts.append(post)
                current, quoted, closed = post, None, False
            quote_next = gap = False
            continue
        elif _REPOSTED.match(line):
            reposted, closed = True, True
        elif line == "Quote":
            quote_next = True
        elif _COUNT.match(line):
            closed = True  # the counts end a post
        elif not _CHROME.match(line):
            if current is None or closed:
                current, quoted, closed = PastedPost(), None, False
                posts.append(current)
            (quoted or current).lines.append(line)
            gap = False
        i += 1
    return [post for post in posts if post.lines or post.quoted]


def _date(shown: str, now: datetime) -> datetime | None:
    """A post's date as the page shows it: "3h", "12m", "Feb 17", "Feb 17, 2025", "17 Feb"."""
    if not shown:
        return None
    relative = re.match(r"^(\d+)([smhd])$", shown)
    if relative:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[relative.group(2)]
        return now - timedelta(**{unit: int(relative.group(1))})
    if shown == "now":
        return now
    cleaned = re.sub(r"\b([A-Za-z]{3})[a-z]*\.?", r"\1", shown)  # "Sept." → "Sep"
    for form in ("%b %d, %Y", "%d %b %Y", "%b %d", "%d %b"):
        try:
            parsed = datetime.strptime(cleaned, form)
        except ValueError:
            continue
        if "%Y" not in form:  # this year, unless that is still to come
            parsed = parsed.replace(year=now.year)
            if parsed.replace(tzinfo=UTC) > now:
                parsed = parsed.replace(year=now.year - 1)
        return parsed.replace(tzinfo=UTC)
    return None


def _join_threads(posts: list[PastedPost]) -> list[PastedPost]:
    """A thread's consecutive parts ("(1/2)", "(2/2)") by one author become one post."""
    joined: list[PastedPost] = []
    for post in posts:
        if joined and _continues(joined[-1], post):
            previous = joined[-1]
            previous.lines.extend(["", *post.lines])
            previous.quoted = previous.quoted or post.quoted
            previous.last_part = thread_marker(post.text)
            continue
        post.last_part = thread_marker(post.text)
        joined.append(post)
    return joined


def _continues(previous: PastedPost, post: PastedPost) -> bool:
    before, after = previous.last_part, thread_marker(post.text)
    if before is None or after is None or previous.handle != post.handle:
        return False
    return after[0] == before[0] + 1 and after[1] in (before[1], None)


def post_identity(text: str) -> str:
    """The guid of a pasted post: a hash of its normalized text's beginning."""
    key = normalized_text(text)[:IDENTITY_CHARS]
    return "x-paste:" + hashlib.sha1(key.encode("utf-8")).hexdigest()


def paste_entries(timeline: PastedTimeline, account: str) -> tuple[FetchedEntry, ...]:
    """The entries of a pasted timeline's posts (of ``account``'s page)."""
    entries = []
    for post in timeline.posts:
        text = post.text or (post.quoted.text if post.quoted else "")
        content = text_html(post.text)
        if post.quoted is not None:
            head = f"<p>{html.escape(post.quoted.author)}:</p>" if post.quoted.author else ""
            content += f"<blockquote>{head}{text_html(post.quoted.text)}</blockquote>"
        own = post.handle is None or post.handle.casefold() == account.casefold()
        entries.append(
            post_entry(
                guid=post_identity(post.first_text or text),
                url=None,
                content_html=content,
                text=text,
                author=post.author,
                published=post.published,
                reposted_by=account if post.reposted or not own else None,
            )
        )
    return dedupe(entries)


def paste_outcome(
    timeline: PastedTimeline, options: XOptions, title: str | None = None
) -> FetchOutcome:
    if timeline.account and timeline.account.casefold() != options.account.casefold():
        raise FeedbotError(
            f"the paste is {timeline.account}'s timeline, but the account is {options.account}"
        )
    if not timeline.posts:
        raise ParseError("no posts found in the paste")
    name = timeline.display_name
    return FetchOutcome(
        status="ok",
        entries=paste_entries(timeline, options.account),
        title=title or (f"{name} ({options.account})" if name else None),
        site_url=options.default_url(),
    )


def read_paste(path: Path, now: datetime | None = None) -> PastedTimeline:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise FeedbotError(f"{path}: cannot read: {e.strerror or e}") from e
    return parse_paste(data.decode("utf-8", errors="replace"), now)


class XPasteFetcher(FileImportFetcher):
    def parse(self, path: Path, options: Any) -> FetchOutcome:
        return paste_outcome(read_paste(path, self.context.clock()), options)


def account_of(timeline: PastedTimeline, given: str | None) -> str:
    """The account a paste belongs to: ``given`` (``--account``), else its profile header's."""
    if given:
        account = x_handle(given)
        if timeline.account and timeline.account.casefold() != account.casefold():
            raise FeedbotError(f"the paste is {timeline.account}'s timeline, not {account}'s")
        return account
    if timeline.account:
        return timeline.account
    raise FeedbotError("the paste has no profile header naming its account: give --account @handle")


KIND = SourceKind(
    "x-paste",
    "an X account's timeline, pasted as text (`feedbot import x-paste`)",
    XPasteFetcher,
    XOptions,
)
