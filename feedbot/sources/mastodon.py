"""Mastodon sources: an account's posts, or a hashtag's, through an instance's public REST API.

    [[sources]]
    name = "Dan Meyer"
    kind = "mastodon"
    account = "@ddmeyer@mathstodon.xyz"

    [[sources]]
    name = "#edtech on mastodon.social"
    kind = "mastodon"
    hashtag = "edtech"
    instance_url = "https://mastodon.social"

The API followed (https://docs.joinmastodon.org/methods/accounts/, /methods/timelines/):

* ``GET /api/v1/accounts/lookup?acct=USER`` → an Account ``{id, acct, display_name, url}``.
* ``GET /api/v1/accounts/:id/statuses?limit=40`` (``exclude_replies``, ``exclude_reblogs``) and
  ``GET /api/v1/timelines/tag/:hashtag?limit=40`` → Statuses, newest first. A Status is
  ``{id, uri, url, created_at, content (HTML), spoiler_text, visibility, in_reply_to_id,
  account, reblog (the boosted Status, or null), card ({url, title, description} or null),
  media_attachments, quote ({state, quoted_status}, Mastodon 4.4+)}``.
* Pages are linked by the ``Link`` header: ``rel="next"`` goes back in time (``max_id``),
  ``rel="prev"`` forward (``min_id``). ``min_id`` pages forward from an id without a gap, where
  ``since_id`` would jump to the newest statuses and leave one.
* Public statuses need no token; some instances close their public timelines (401/422). An access
  token read from the environment variable named by ``token_env`` is sent as
  ``Authorization: Bearer``, for timelines that need one.
* Rate limits: 300 requests per 5 minutes per account or IP, announced by ``X-RateLimit-Limit``,
  ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (an ISO 8601 time); 429 when exceeded.

Incremental: the first fetch takes the newest ``max_results`` statuses (paging back by
``rel="next"``). The cursor keeps the account's id (so the lookup is made once) and the newest
status id; later fetches page forward from it with ``min_id`` (``rel="prev"``) until a page is
short, so stopping early (``max_results``, a spent quota) leaves no gap: the next fetch goes on.

Politeness: the shared HTTP client paces requests per host, retries 5xx/429 with backoff and
honours ``Retry-After``; the ``X-RateLimit-*`` headers are honoured on top (see
:mod:`feedbot.sources.social`).

Entries: a status is an entry under its permalink (``url``), so it is a post sharing the links of
its HTML (mentions and hashtags left out) and its card's URL. A boost is the boosted status,
credited to its author (``author``), with the booster in ``reposted_by``: fetched from the
booster's account, it is an entry of the booster's source, which the store credits as the sharer.
Direct messages are never taken.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from pydantic import Field, field_validator, model_validator

from feedbot.errors import FetchError, ParseError
from feedbot.http import HttpClient
from feedbot.sanitize import html_to_text
from feedbot.sources import FetchedEntry, FetchOutcome, SourceKind, SourceOptions, SourceState
from feedbot.sources.social import (
    RateLimit,
    Sleep,
    iso_datetime,
    link_header,
    obj,
    plain,
    post_entry,
    read_json,
)

if TYPE_CHECKING:
    from feedbot.sources import FetchContext

PAGE_SIZE = 40  # the API's largest page
MAX_PAGES = 100  # a guard against a server whose pages never end
_ACCOUNT = re.compile(r"^@?([A-Za-z0-9_][A-Za-z0-9_.-]*)@([A-Za-z0-9.-]+\.[A-Za-z0-9-]+)$")
_HASHTAG = re.compile(r"^#?(\w+)$")


class MastodonOptions(SourceOptions):
    account: str | None = Field(
        None, description="The account, '@user@instance' (e.g. '@ddmeyer@mathstodon.xyz')."
    )
    hashtag: str | None = Field(
        None, description="A hashtag, without '#', followed on `instance_url` instead."
    )
    instance_url: str | None = Field(
        None,
        description="The instance's base URL (e.g. 'https://mastodon.social'); default: the "
        "account's instance.",
    )
    token_env: str | None = Field(
        None,
        description="Name of an environment variable holding an access token, for timelines "
        "that are not public.",
    )
    boosts: bool = Field(
        True, description="Take the account's boosts (credited to the original author)."
    )
    replies: bool = Field(
        False, description="Take replies to others too (a thread's own replies are always taken)."
    )
    max_results: int = Field(200, ge=1, le=2000, description="Statuses taken in one fetch at most.")

    @field_validator("account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _ACCOUNT.match(value.strip())
        if not match:
            raise ValueError(f"not a Mastodon account: {value!r} (e.g. '@user@mastodon.social')")
        return f"@{match.group(1)}@{match.group(2).lower()}"

    @field_validator("hashtag")
    @classmethod
    def _hashtag(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = _HASHTAG.match(value.strip())
        if not match:
            raise ValueError(f"not a hashtag: {value!r} (e.g. 'edtech')")
        return match.group(1)

    @field_validator("instance_url")
    @classmethod
    def _instance(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^https?://[^\s/]+/?$", value.strip(), re.IGNORECASE):
            raise ValueError(f"expected the instance's base URL, e.g. 'https://mastodon.social' "
                             f"(got {value!r})")  # fmt: skip
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _one_timeline(self) -> MastodonOptions:
        if bool(self.account) == bool(self.hashtag):
            raise ValueError("give an account or a hashtag (one of them)")
        if self.hashtag and not self.instance_url:
            raise ValueError("a hashtag needs instance_url, the instance to follow it on")
        return self

    @property
    def user(self) -> str:
        return (self.account or "").split("@")[1]

    @property
    def instance(self) -> str:
        """The instance's base URL."""
        if self.instance_url:
            return self.instance_url
        return "https://" + (self.account or "").rsplit("@", 1)[1]

    def lookup_acct(self) -> str:
        """``acct`` for the lookup: the bare name on its own instance, ``user@domain`` elsewhere."""
        domain = (self.account or "").rsplit("@", 1)[1]
        return self.user if urlsplit(self.instance).hostname == domain else self.user + "@" + domain

    def default_url(self) -> str:
        if self.hashtag:
            return f"{self.instance}/tags/{self.hashtag}"
        return f"{self.instance}/@{self.lookup_acct()}"


class MastodonFetcher:
    def __init__(self, context: FetchContext | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.context = context
        self.sleep = sleep

    async def fetch(self, source: SourceState, http: HttpClient) -> FetchOutcome:
        options = MastodonOptions.model_validate(source.options)
        headers = {"Accept": "application/json"}
        if options.token_env:
            token = os.environ.get(options.token_env, "").strip()
            if not token:
                raise FetchError(f"environment variable {options.token_env} (token_env) is not set")
            headers["Authorization"] = f"Bearer {token}"
        limit = RateLimit("x-ratelimit-remaining", "x-ratelimit-reset", iso_datetime, self.sleep)
        state = _cursor(source.cursor)
        base = options.instance
        size = min(PAGE_SIZE, options.max_results)
        params: dict[str, str] = {"limit": str(size)}
        if options.account:
            account_id = state.get("account_id") or await _lookup(http, options, headers)
            endpoint = f"{base}/api/v1/accounts/{quote(str(account_id), safe='')}/statuses"
            if not options.boosts:
                params["exclude_reblogs"] = "true"
            if not options.replies:
                params["exclude_replies"] = "true"
            what = f"Mastodon statuses of {options.account}"
        else:
            account_id = None
            endpoint = f"{base}/api/v1/timelines/tag/{quote(options.hashtag or '', safe='')}"
            what = f"Mastodon timeline #{options.hashtag} on {base}"

        newest_before: str | None = state.get("newest")
        forward = newest_before is not None
        first = params | ({"min_id": newest_before} if newest_before else {})
        url: str | None = f"{endpoint}?{urlencode(first)}"
        statuses: list[dict[str, Any]] = []
        warnings: list[str] = []
        asked: set[str] = set()
        while url and url not in asked and len(asked) < MAX_PAGES:
            asked.add(url)
            response = await http.get(url, headers=headers)
            page = read_json(response, what)
            if not isinstance(page, list):
                raise ParseError(f"{what}: expected a list of statuses")
            page = [status for status in page if isinstance(status, dict) and status.get("id")]
            statuses.extend(page)
            if len(page) < size or len(statuses) >= options.max_results:
                break
            links = link_header(response.headers.get("link"))
            ids = [str(status["id"]) for status in page]
            if forward:  # newer: rel="prev", from the newest id of this page
                after = {"min_id": max(ids, key=_id_key)}
                url = links.get("prev") or f"{endpoint}?{urlencode(params | after)}"
            else:  # older: rel="next", from the oldest
                before = {"max_id": min(ids, key=_id_key)}
                url = links.get("next") or f"{endpoint}?{urlencode(params | before)}"
            warning = await limit.before_next(response, http)
            if warning:
                warnings.append(warning)
                break

        # Forward, the pages came oldest first: the oldest max_results are kept (the rest come
        # next time); back, the newest.
        statuses.sort(key=lambda status: _id_key(str(status["id"])), reverse=not forward)
        statuses = statuses[: options.max_results]
        ids = [str(status["id"]) for status in statuses]
        newest = max([*ids, *([newest_before] if newest_before else [])], key=_id_key, default=None)
        entries = []
        host = urlsplit(base).hostname or ""
        for status in statuses:
            if status.get("visibility") == "direct":
                continue
            shown = obj(status.get("reblog")) or status
            if options.hashtag and not options.replies and _replies_to_other(shown):
                continue
            entries.append(status_entry(status, host))
        cursor = {"newest": newest} | ({"account_id": account_id} if account_id else {})
        return FetchOutcome(
            status="ok",
            http_status=200,
            entries=tuple(entries),
            title=options.account or f"#{options.hashtag} on {host}",
            site_url=options.default_url(),
            warnings=tuple(warnings),
            cursor=json.dumps(cursor, sort_keys=True) if newest or account_id else None,
        )


async def _lookup(http: HttpClient, options: MastodonOptions, headers: dict[str, str]) -> str:
    url = f"{options.instance}/api/v1/accounts/lookup?{urlencode({'acct': options.lookup_acct()})}"
    response = await http.get(url, headers=headers)
    if response.status == 404:
        raise FetchError(f"Mastodon account {options.account} not found on {options.instance}")
    account = read_json(response, f"Mastodon account lookup of {options.account}")
    if not isinstance(account, dict) or not account.get("id"):
        raise ParseError(f"Mastodon account lookup of {options.account}: no account id")
    return str(account["id"])


def status_entry(status: dict[str, Any], instance_host: str) -> FetchedEntry:
    """The entry of one status: a boost is the boosted status, its booster in ``reposted_by``."""
    reblog = status.get("reblog")
    shown: dict[str, Any] = reblog if isinstance(reblog, dict) else status
    booster = _acct(status.get("account"), instance_host) if shown is not status else None
    permalink = plain(shown.get("url")) or plain(shown.get("uri")) or None
    content = plain(shown.get("content"))
    spoiler = plain(shown.get("spoiler_text")).strip()
    if spoiler:
        content = f"<p>{html.escape(spoiler)}</p>" + content
    quoted = _quoted(shown, instance_host)
    if quoted:
        content += quoted
    links = []
    card = shown.get("card")
    if isinstance(card, dict) and plain(card.get("url")):
        card_url = plain(card["url"])
        links.append(card_url)
        title = html.escape(plain(card.get("title")).strip() or card_url)
        description = html.escape(plain(card.get("description")).strip())
        content += f'<p><a href="{html.escape(card_url)}">{title}</a>'
        content += (f": {description}" if description else "") + "</p>"
    for media in shown.get("media_attachments") or ():
        if isinstance(media, dict) and plain(media.get("description")).strip():
            content += f"<p>[{html.escape(plain(media.get('type')) or 'media')}: "
            content += html.escape(plain(media["description"]).strip()) + "]</p>"
    text = html_to_text(content, lines=True)
    return post_entry(
        guid=plain(status.get("uri")) or plain(status.get("url")) or str(status["id"]),
        url=permalink,
        content_html=content,
        text=text,
        title=spoiler or None,
        author=_author(shown.get("account"), instance_host),
        published=iso_datetime(status.get("created_at")),
        extra_links=links,
        reposted_by=booster,
    )


def _quoted(status: dict[str, Any], instance_host: str) -> str:
    """A quoted status (Mastodon 4.4+ ``quote``), as a blockquote after the post."""
    quote_ = status.get("quote")
    quoted = quote_.get("quoted_status") if isinstance(quote_, dict) else None
    if not isinstance(quoted, dict):
        return ""
    who = html.escape(_author(quoted.get("account"), instance_host) or "")
    head = f"<p>{who}:</p>" if who else ""  # the quoted post is not a link of the quote
    return f"<blockquote>{head}{plain(quoted.get('content'))}</blockquote>"


def _acct(account: Any, instance_host: str) -> str | None:
    if not isinstance(account, dict) or not plain(account.get("acct")):
        return None
    acct = plain(account["acct"])
    return "@" + (acct if "@" in acct else f"{acct}@{instance_host}")


def _author(account: Any, instance_host: str) -> str | None:
    acct = _acct(account, instance_host)
    name = plain(account.get("display_name")).strip() if isinstance(account, dict) else ""
    if acct and name:
        return f"{name} ({acct})"
    return acct or name or None


def _replies_to_other(status: dict[str, Any]) -> bool:
    account = obj(status.get("account"))
    to = status.get("in_reply_to_account_id")
    return bool(status.get("in_reply_to_id")) and str(to) != str(account.get("id"))


def _id_key(status_id: str) -> tuple[int, str]:
    """Mastodon ids are numbers written as strings: longer is newer, then by digits."""
    return len(status_id), status_id


def _cursor(value: str | None) -> dict[str, Any]:
    if not value:
        return {}
    try:
        state = json.loads(value)
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


KIND = SourceKind(
    "mastodon",
    "an account's or a hashtag's posts on a Mastodon instance",
    MastodonFetcher,
    MastodonOptions,
)
