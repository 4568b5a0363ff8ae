"""X (Twitter) account archives: the posts of the archive X lets every account download.

    feedbot import x-archive ~/Downloads/twitter-2026-02-18.zip

    [[sources]]
    name = "@mandercorn on X"
    kind = "x-archive"
    account = "@mandercorn"
    # path = "archives/twitter.zip"   # optional: read again on every fetch when it changed

The archive's shape (the zip's ``data/`` folder; older archives say ``tweet`` for ``tweets``):

* ``data/tweets.js`` (and ``tweets-part1.js``… for big accounts) is JavaScript around JSON:
  ``window.YTD.tweets.part0 = [ {"tweet": {...}}, ... ]``. A tweet has ``id_str``, ``full_text``
  (with ``&amp; &lt; &gt;`` escaped, and every link written as a ``https://t.co/…`` short link),
  ``created_at`` (``"Wed Oct 10 20:19:24 +0000 2018"``), ``entities.urls[]`` ``{url,
  expanded_url, display_url}`` (what each t.co link stands for), ``entities.media[]`` (photos,
  whose t.co link ends the text), ``in_reply_to_screen_name``, ``in_reply_to_status_id_str``.
  A retweet is stored as its text, ``"RT @user: …"``, cut to 140 characters.
* ``data/account.js``: ``window.YTD.account.part0 = [{"account": {"username", "accountDisplayName",
  …}}]``.

Accepted: the zip, the unpacked folder, or a ``tweets.js`` file on its own (the account then
comes from ``--account``). Each tweet is an entry under its permalink
``https://x.com/HANDLE/status/ID`` (guid ``x:ID``, so importing again adds nothing), sharing the
``expanded_url`` of its links, never the t.co short links or the photos. A retweet is credited to
the retweeted account (``author``), with the archive's account in ``reposted_by``. Replies to
other accounts are left out unless ``replies = true``; a thread's own replies are kept.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from feedbot.errors import FeedbotError, ParseError
from feedbot.sources import FetchedEntry, FetchOutcome, SourceKind
from feedbot.sources.social import FileImportFetcher, XOptions, obj, plain, post_entry, x_handle

_TWEET_FILES = re.compile(r"(?:^|/)(?:data/)?tweets?(?:-part\d+)?\.js$")
_RETWEET = re.compile(r"^RT @([A-Za-z0-9_]{1,15}): ")
_CUT_SHORT_LINK = re.compile(r"\s*https?://t\.co/\S*…$")


class XArchiveOptions(XOptions):
    replies: bool = Field(False, description="Take replies to other accounts too.")


@dataclass(frozen=True)
class Archive:
    account: str | None  # "@handle", from account.js
    display_name: str | None
    tweets: tuple[dict[str, Any], ...]


def read_archive(path: Path) -> Archive:
    """The tweets (and the account, when the archive says) of a zip, a folder or a tweets.js."""
    try:
        if path.is_dir():
            files = {str(p.relative_to(path)): p.read_bytes() for p in _archive_files(path)}
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = [n for n in archive.namelist() if _wanted(n)]
                files = {name: archive.read(name) for name in names}
        else:
            files = {path.name: path.read_bytes()}
    except (OSError, zipfile.BadZipFile) as e:
        raise FeedbotError(
            f"{path}: cannot read the archive: {getattr(e, 'strerror', None) or e}"
        ) from e
    tweets: list[dict[str, Any]] = []
    account = display = None
    for name in sorted(files):
        if name.rsplit("/", 1)[-1] == "account.js":
            found = _ytd(files[name], name)
            first = obj(obj(found[0] if found else None).get("account"))
            if plain(first.get("username")):
                account = x_handle(first["username"])
                display = plain(first.get("accountDisplayName")) or None
        elif _TWEET_FILES.search(name):
            for record in _ytd(files[name], name):
                tweet = record.get("tweet", record) if isinstance(record, dict) else None
                if isinstance(tweet, dict) and plain(tweet.get("id_str") or tweet.get("id")):
                    tweets.append(tweet)
    if not tweets and not any(_TWEET_FILES.search(name) for name in files):
        raise ParseError(f"{path}: no tweets.js in it: not an X archive")
    return Archive(account, display, tuple(tweets))


def _archive_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.js") if _wanted(str(p.relative_to(folder)))]


def _wanted(name: str) -> bool:
    return bool(_TWEET_FILES.search(name)) or name.rsplit("/", 1)[-1] == "account.js"


def _ytd(data: bytes, name: str) -> list[Any]:
    """The JSON array of a ``window.YTD.<part>.partN = [...]`` file (or of plain JSON)."""
    text = data.decode("utf-8-sig", errors="replace").strip()
    if not text.startswith("["):
        head, equals, rest = text.partition("=")
        if not equals or "window.YTD" not in head:
            raise ParseError(f"{name}: not an X archive file (no 'window.YTD.… = [')")
        text = rest.strip().rstrip(";")
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ParseError(f"{name}: the archive's JSON is broken: {e}") from e
    if not isinstance(value, list):
        raise ParseError(f"{name}: expected a list of records")
    return value


def archive_entries(
    archive: Archive, account: str, replies: bool = False
) -> tuple[FetchedEntry, ...]:
    """The entries of an archive's tweets, newest first."""
    handle = account.removeprefix("@")
    entries = []
    for tweet in archive.tweets:
        to = plain(tweet.get("in_reply_to_screen_name"))
        if to and to.casefold() != handle.casefold() and not replies:
            continue
        entries.append(tweet_entry(tweet, handle))
    entries.sort(key=lambda e: e.published_at.timestamp() if e.published_at else 0, reverse=True)
    return tuple(entries)


def tweet_entry(tweet: dict[str, Any], handle: str) -> FetchedEntry:
    tweet_id = plain(tweet.get("id_str")) or str(tweet.get("id"))
    text = html.unescape(plain(tweet.get("full_text") or tweet.get("text")))
    entities = obj(tweet.get("entities"))
    retweet = _RETWEET.match(text)
    author = reposted_by = None
    if retweet:
        author, reposted_by = "@" + retweet.group(1), "@" + handle
        text = _CUT_SHORT_LINK.sub("…", text[retweet.end() :])
    links: dict[str, tuple[str, str]] = {}  # t.co URL → (expanded URL, display)
    for url in entities.get("urls") or ():
        if isinstance(url, dict) and plain(url.get("url")) and plain(url.get("expanded_url")):
            shown = plain(url.get("display_url")) or plain(url["expanded_url"])
            links[url["url"]] = (url["expanded_url"], shown)
    media = {plain(m.get("url")) for m in entities.get("media") or () if isinstance(m, dict)}
    content = _tweet_html(text, links, media - {""})
    plain_text = re.sub(r"https://t\.co/\w+", lambda m: links.get(m.group(0), ("", ""))[1], text)
    return post_entry(
        guid=f"x:{tweet_id}",
        url=f"https://x.com/{handle}/status/{tweet_id}",
        content_html=content,
        text=plain_text,
        author=author or "@" + handle,
        published=_created(tweet.get("created_at")),
        extra_links=[expanded for expanded, _ in links.values()],
        reposted_by=reposted_by,
    )


def _tweet_html(text: str, links: dict[str, tuple[str, str]], media: set[str]) -> str:
    """The text as HTML: each t.co link an anchor to its expanded URL, photo links dropped."""
    parts = re.split(r"(https://t\.co/\w+)", text)
    out = []
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out.append(html.escape(part).replace("\n", "<br>"))
        elif part in links:
            expanded, shown = links[part]
            out.append(f'<a href="{html.escape(expanded)}">{html.escape(shown)}</a>')
        elif part not in media:
            out.append(html.escape(part))
    return "<p>" + "".join(out).strip() + "</p>"


def _created(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip(), "%a %b %d %H:%M:%S %z %Y")
    except ValueError:
        return None


def archive_outcome(archive: Archive, options: XArchiveOptions) -> FetchOutcome:
    if archive.account and archive.account.casefold() != options.account.casefold():
        raise FeedbotError(
            f"the archive is {archive.account}'s, but the source's account is {options.account}"
        )
    return FetchOutcome(
        status="ok",
        entries=archive_entries(archive, options.account, options.replies),
        title=f"{archive.display_name} ({options.account})" if archive.display_name else None,
        site_url=options.default_url(),
    )


class XArchiveFetcher(FileImportFetcher):
    options = XArchiveOptions

    def parse(self, path: Path, options: Any) -> FetchOutcome:
        return archive_outcome(read_archive(path), options)


KIND = SourceKind(
    "x-archive",
    "an X account's posts, from its downloaded archive (`feedbot import x-archive`)",
    XArchiveFetcher,
    XArchiveOptions,
)
