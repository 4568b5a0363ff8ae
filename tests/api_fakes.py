"""Local servers that speak the documented shapes of the platforms' APIs (Mastodon, Bluesky).

:class:`ApiServer` is a :class:`FixtureServer` whose API routes see the query string (the plain
routes ignore it), so paging by ``max_id``/``min_id`` or ``cursor`` answers as the real services
do. With :class:`LoopbackTransport` it plays any host (``social.example``, ``public.api.bsky.app``).
Every API request is kept in ``calls`` as (host + path, query, headers).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from feedbot.fixture_server import FixtureServer, Route

Handler = Callable[[dict[str, str], dict[str, str]], Route]  # (query, headers) → answer


class ApiServer(FixtureServer):
    def __init__(self) -> None:
        super().__init__()
        self.api: dict[str, Handler] = {}  # "host/path" → handler of the query
        self.calls: list[tuple[str, dict[str, str], dict[str, str]]] = []
        server = self
        base: Any = self._server.RequestHandlerClass

        class QueryHandler(base):  # type: ignore[misc,valid-type]
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                host = self.headers.get("host", "").rsplit(":", 1)[0].lower()
                answer = server.api.get(host + parts.path)
                if answer is None:
                    super().do_GET()
                    return
                query = dict(parse_qsl(parts.query))
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.calls.append((host + parts.path, query, headers))
                server._record(host + parts.path, headers, int(self.client_address[1]))
                route = answer(query, headers)
                self._send(route.status, route.body, route.content_type, dict(route.headers), True)

        self._server.RequestHandlerClass = QueryHandler

    def calls_to(self, path: str) -> list[dict[str, str]]:
        return [query for where, query, _ in self.calls if where == path]


def json_route(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Route:
    return Route(
        body=json.dumps(value).encode(),
        status=status,
        content_type="application/json; charset=utf-8",
        headers=headers or {},
        conditional=False,
    )


# -- Mastodon ------------------------------------------------------------------------------

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def account(acct: str, account_id: str, name: str, host: str = "social.example") -> dict[str, Any]:
    user = acct.split("@")[0]
    home = acct.split("@")[1] if "@" in acct else host
    return {"id": account_id, "acct": acct, "username": user, "display_name": name,
            "url": f"https://{home}/@{user}"}  # fmt: skip


def status(
    status_id: int,
    who: dict[str, Any],
    content: str,
    *,
    host: str = "social.example",
    card: dict[str, Any] | None = None,
    reblog: dict[str, Any] | None = None,
    visibility: str = "public",
    in_reply_to: tuple[str, str] | None = None,  # (status id, account id)
    spoiler: str = "",
) -> dict[str, Any]:
    """A Status as the API returns it."""
    user = who["username"]
    home = who["url"].split("/")[2]
    url = None if reblog else f"https://{home}/@{user}/{status_id}"
    uri = f"https://{home}/users/{user}/statuses/{status_id}" + ("/activity" if reblog else "")
    return {
        "id": str(status_id),
        "uri": uri,
        "url": url,
        "created_at": (T0 + timedelta(minutes=status_id % 10_000))
        .isoformat()
        .replace("+00:00", ".000Z"),
        "content": "" if reblog else content,
        "spoiler_text": spoiler,
        "visibility": visibility,
        "in_reply_to_id": in_reply_to[0] if in_reply_to else None,
        "in_reply_to_account_id": in_reply_to[1] if in_reply_to else None,
        "account": who,
        "reblog": reblog,
        "card": card,
        "media_attachments": [],
    }


@dataclass
class MastodonApi:
    """The statuses endpoints of one instance: account lookup, an account's statuses and a
    hashtag's timeline, with ``limit``, ``max_id``, ``min_id``, ``since_id``,
    ``exclude_replies``, ``exclude_reblogs`` and ``Link`` headers as documented."""

    host: str = "social.example"
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # acct → Account
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # account id → all
    tags: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rate_headers: Callable[[], dict[str, str]] = dict
    token: str | None = None  # when set, a Bearer token is required

    def install(self, server: ApiServer) -> None:
        server.api[f"{self.host}/api/v1/accounts/lookup"] = self.lookup
        for account_id in self.statuses:
            path = f"/api/v1/accounts/{account_id}/statuses"
            server.api[self.host + path] = self._timeline(
                lambda a=account_id: self.statuses[a], path
            )
        for tag in self.tags:
            path = f"/api/v1/timelines/tag/{tag}"
            server.api[self.host + path] = self._timeline(lambda t=tag: self.tags[t], path)

    def lookup(self, query: dict[str, str], headers: dict[str, str]) -> Route:
        found = self.accounts.get(query.get("acct", ""))
        if found is None:
            return json_route({"error": "Record not found"}, 404)
        return json_route(found)

    def _timeline(self, everything: Callable[[], list[dict[str, Any]]], path: str) -> Handler:
        def answer(query: dict[str, str], headers: dict[str, str]) -> Route:
            if self.token and headers.get("authorization") != f"Bearer {self.token}":
                return json_route({"error": "This API requires an authenticated user"}, 401)
            chosen = sorted(everything(), key=lambda s: int(s["id"]), reverse=True)
            if query.get("exclude_replies") == "true":
                chosen = [s for s in chosen if not s["in_reply_to_id"]
                          or s["in_reply_to_account_id"] == s["account"]["id"]]  # fmt: skip
            if query.get("exclude_reblogs") == "true":
                chosen = [s for s in chosen if not s["reblog"]]
            limit = min(int(query.get("limit", "20")), 40)
            if "max_id" in query:
                chosen = [s for s in chosen if int(s["id"]) < int(query["max_id"])]
            if "since_id" in query:
                chosen = [s for s in chosen if int(s["id"]) > int(query["since_id"])]
            if "min_id" in query:  # the page right after min_id, still newest first
                after = [s for s in chosen if int(s["id"]) > int(query["min_id"])]
                page = sorted(after, key=lambda s: int(s["id"]))[:limit][::-1]
            else:
                page = chosen[:limit]
            answer_headers = dict(self.rate_headers())
            if page:
                keep = {k: v for k, v in query.items() if k not in ("max_id", "min_id", "since_id")}
                base = f"https://{self.host}{path}?"
                answer_headers["Link"] = (
                    f'<{base}{urlencode(keep | {"max_id": page[-1]["id"]})}>; rel="next", '
                    f'<{base}{urlencode(keep | {"min_id": page[0]["id"]})}>; rel="prev"'
                )
            return json_route(page, headers=answer_headers)

        return answer


# -- Bluesky -------------------------------------------------------------------------------


def profile(handle: str, name: str) -> dict[str, Any]:
    return {"did": f"did:plc:{handle.split('.')[0]}", "handle": handle, "displayName": name}


def link_facet(text: str, shown: str, uri: str, kind: str = "link") -> dict[str, Any]:
    """A rich-text facet over ``shown`` in ``text`` (offsets in UTF-8 bytes, as the API's)."""
    start = len(text[: text.index(shown)].encode())
    feature: dict[str, Any] = {"$type": f"app.bsky.richtext.facet#{kind}"}
    feature |= {"link": {"uri": uri}, "mention": {"did": uri}, "tag": {"tag": uri}}[kind]
    return {"index": {"byteStart": start, "byteEnd": start + len(shown.encode())},
            "features": [feature]}  # fmt: skip


def post(
    author: dict[str, Any], rkey: str, text: str, minute: int, *,
    facets: list[dict[str, Any]] | None = None, embed: dict[str, Any] | None = None,
    view: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A PostView."""
    when = (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", ".000Z")
    record: dict[str, Any] = {"$type": "app.bsky.feed.post", "text": text, "createdAt": when}
    if facets:
        record["facets"] = facets
    if embed:
        record["embed"] = embed
    value = {"uri": f"at://{author['did']}/app.bsky.feed.post/{rkey}", "cid": "bafy" + rkey,
             "author": author, "record": record, "indexedAt": when, "likeCount": 3}  # fmt: skip
    if view:
        value["embed"] = view
    return value


def repost(item: dict[str, Any], by: dict[str, Any], minute: int) -> dict[str, Any]:
    when = (T0 + timedelta(minutes=minute)).isoformat().replace("+00:00", ".000Z")
    return {"post": item, "reason": {"$type": "app.bsky.feed.defs#reasonRepost", "by": by,
                                     "indexedAt": when}}  # fmt: skip


@dataclass
class BlueskyApi:
    """``app.bsky.feed.getAuthorFeed`` of one AppView: newest first, ``cursor`` paging (its own
    page size, as servers may answer with fewer items than ``limit``)."""

    feeds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # actor → FeedViewPosts
    host: str = "public.api.bsky.app"
    page_size: int = 3
    rate_headers: Callable[[], dict[str, str]] = dict

    def install(self, server: ApiServer) -> None:
        server.api[f"{self.host}/xrpc/app.bsky.feed.getAuthorFeed"] = self.author_feed

    def author_feed(self, query: dict[str, str], headers: dict[str, str]) -> Route:
        feed = self.feeds.get(query.get("actor", ""))
        if feed is None:
            return json_route({"error": "InvalidRequest", "message": "Profile not found"}, 400)

        def when(item: dict[str, Any]) -> str:
            return str((item.get("reason") or item["post"]).get("indexedAt"))

        ordered = sorted(feed, key=when, reverse=True)
        start = int(query.get("cursor", "0"))
        size = min(self.page_size, int(query.get("limit", "50")))
        page = ordered[start : start + size]
        body: dict[str, Any] = {"feed": page}
        if start + size < len(ordered):
            body["cursor"] = str(start + size)
        return json_route(body, headers=self.rate_headers())
