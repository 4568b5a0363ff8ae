"""Resolving a backlog in worker processes: the same results as in-process, each URL fetched
once, the politeness limits shared between the workers, the parent the only writer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from feedbot.app import App, open_app
from feedbot.config import Settings
from feedbot.fixture_server import FixtureServer, Route
from feedbot.links.parallel import in_processes, worker_settings
from feedbot.pipeline import resolve

PAGE = (
    '<html lang="en"><head><title>Story {i}</title>'
    '<meta property="og:title" content="Story {i}">'
    '<meta property="og:site_name" content="Local News"></head><body>text</body></html>'
)


def test_worker_settings_split_the_politeness_limits(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        http={"max_per_host": 8, "max_connections": 64, "min_host_interval_seconds": 0.1}
    )
    shared = worker_settings(settings, 3).http
    assert (shared.max_per_host, shared.max_connections) == (2, 22)
    assert abs(shared.min_host_interval_seconds - 0.3) < 1e-9
    assert worker_settings(settings, 16).http.max_per_host == 1


def test_two_worker_processes_resolve_a_backlog_like_one_process(
    server: FixtureServer, make_settings: Callable[..., Settings], database_url: str, clock: Any
) -> None:
    n = 40
    for i in range(n):
        server.routes[f"/s/{i}"] = Route(
            status=301, headers={"Location": server.url(f"/a/{i % 20}")}, conditional=False
        )
    for i in range(20):
        server.routes[f"/a/{i}"] = Route(body=PAGE.format(i=i).encode(), content_type="text/html")
    settings = make_settings(database_url=database_url, links={"resolve": True, "workers": 2})
    app: App = open_app(settings, clock=clock)
    urls = [server.url(f"/s/{i}") for i in range(n)]
    ids = app.store.remember_urls(urls, clock())
    due = [(ids[url], url) for url in urls]

    report = asyncio.run(resolve(app.store, in_processes(settings, 2), settings.links, clock, due))

    assert (report.resolved, report.failed) == (n, 0)
    found = app.store.cached_resolutions(urls)
    assert {found[url].link_url for url in urls} == {server.url(f"/a/{i}") for i in range(20)}
    assert {found[url].title for url in urls} == {f"Story {i}" for i in range(20)}
    assert all(server.hits[f"/s/{i}"] == 1 for i in range(n))  # one HEAD each, no GET
    # Each article page: HEAD + GET for every short link that reached it, two links per page.
    assert all(server.hits[f"/a/{i}"] == 4 for i in range(20))
    assert app.store.counts()["links"] == 20
    assert app.store.resolutions_due(clock(), settings.links.max_attempts) == []
