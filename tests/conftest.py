"""Shared fixtures: the corpora folder, a local HTTP server, settings in a temporary folder,
a fixed clock, and a throwaway PostgreSQL cluster for the store tests."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedbot.app import App, open_app
from feedbot.config import Settings, settings_from_dict
from feedbot.fixture_server import FixtureServer
from feedbot.pgcluster import PostgresCluster, PostgresMissing, throwaway_cluster

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
FIXED_NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _dispose_engines(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Close every database engine a test opened, so no connection outlives its test."""
    import feedbot.app
    from feedbot.db import make_engine

    engines = []

    def tracking(url: str) -> Any:
        engine = make_engine(url)
        engines.append(engine)
        return engine

    monkeypatch.setattr(feedbot.app, "make_engine", tracking)
    yield
    for engine in engines:
        engine.dispose()


@pytest.fixture(scope="session")
def corpora() -> Path:
    """The shared real-world corpora: $FEEDBOT_CORPORA, else ../shared/corpora beside the repo."""
    path = Path(os.environ.get("FEEDBOT_CORPORA") or REPO.parent / "shared" / "corpora")
    if not (path / "feedparser-tests").is_dir():
        pytest.fail(f"corpora not found at {path}; set FEEDBOT_CORPORA to the corpora folder")
    return path


@pytest.fixture(scope="session")
def samples(corpora: Path) -> Path:
    return corpora.parent / "samples"


@pytest.fixture
def server() -> Iterator[FixtureServer]:
    with FixtureServer() as running:
        yield running


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = FIXED_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings for a config file in tmp_path, private networks allowed (the server is local)."""

    def make(sources: list[dict[str, Any]] | None = None, **overrides: Any) -> Settings:
        data: dict[str, Any] = {
            "title": "Test digest",
            "base_url": "https://digest.example.org/",
            "http": {
                "allow_private_networks": True,
                "retries": 0,
                "timeout_seconds": 5,
                "min_host_interval_seconds": 0,
            },
            # Links point at hosts of the real web, unreachable here: the tests that resolve
            # links turn this on and serve the articles themselves.
            "links": {"resolve": False},
            "research": {"resolve": False},
            "sources": sources or [],
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return settings_from_dict(data, tmp_path / "feedbot.toml")

    return make


@pytest.fixture
def make_app(
    make_settings: Callable[..., Settings], clock: Clock, database_url: str
) -> Callable[..., App]:
    def make(sources: list[dict[str, Any]] | None = None, **overrides: Any) -> App:
        overrides.setdefault("database_url", database_url)
        return open_app(make_settings(sources, **overrides), clock=clock)

    return make


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite by default; the store tests parametrize this over PostgreSQL too."""
    return f"sqlite:///{tmp_path / 'feedbot.db'}"


# -- PostgreSQL ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throwaway cluster for the session (initdb; see feedbot.pgcluster, which the
    benchmarks use too)."""
    started = time.monotonic()
    try:
        with throwaway_cluster() as cluster:
            print(f"postgres cluster started in {time.monotonic() - started:.1f}s")
            yield cluster
    except PostgresMissing as e:
        pytest.fail(f"{e}; the Postgres tests need it")


@pytest.fixture(params=["sqlite", "postgres"])
def any_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both databases: tests using this run once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'feedbot.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.new_database()
