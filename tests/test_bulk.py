"""Many rows in one statement (feedbot.bulk), on SQLite and on PostgreSQL, where the rows travel
as array parameters: the same rows come back, clashes are skipped, JSON and times survive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import select

from feedbot.app import App
from feedbot.bulk import among, among_pairs, insert_rows
from feedbot.store import entries_t, links_t, resolutions_t, sources_t

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def test_insert_rows_skips_clashes_and_returns_only_the_rows_it_made(
    make_app: Callable[..., App], any_database_url: str
) -> None:
    engine = make_app([], database_url=any_database_url).store.engine
    eastern = timezone(timedelta(hours=-5))
    rows = [
        {"url": "https://a.example/1", "first_seen_at": NOW, "read_at": None},
        {"url": "https://a.example/2", "first_seen_at": NOW.astimezone(eastern),
         "read_at": NOW + timedelta(minutes=1)},
    ]  # fmt: skip
    with engine.begin() as conn:
        made = insert_rows(conn, links_t, rows, unique=["url"], returning=["id", "url"])
        first = {row.url: row.id for row in made}
        # one clash, one new: only the new one is made and returned
        again = [rows[1] | {"read_at": None}, {"url": "https://a.example/3", "first_seen_at": NOW,
                                              "read_at": None}]  # fmt: skip
        second = [row.url for row in insert_rows(conn, links_t, again, unique=["url"],
                                                 returning=["url"])]  # fmt: skip
    assert sorted(first) == ["https://a.example/1", "https://a.example/2"]
    assert second == ["https://a.example/3"]
    with engine.connect() as conn:
        stored = {row.url: row for row in conn.execute(select(links_t))}
    assert len(stored) == 3
    assert stored["https://a.example/2"].first_seen_at == NOW  # the same instant, in UTC
    assert stored["https://a.example/2"].read_at == NOW + timedelta(minutes=1)  # not replaced
    assert stored["https://a.example/1"].read_at is None
    assert stored["https://a.example/1"].paper_attempts == 0  # a column's default still applies


def test_json_columns_keep_lists_and_none(
    make_app: Callable[..., App], any_database_url: str
) -> None:
    engine = make_app([], database_url=any_database_url).store.engine
    with engine.begin() as conn:
        link = insert_rows(conn, links_t, [{"url": "https://b.example/", "first_seen_at": NOW}],
                           returning=["id"]).scalar_one()  # fmt: skip
        chains = [[], [["https://t.co/x", 301], ["https://b.example/", 200]]]
        insert_rows(
            conn,
            resolutions_t,
            [{"url": f"https://t.co/{i}", "link_id": link, "chain": chain, "attempts": 0,
              "outcome": "pending"} for i, chain in enumerate(chains)],
        )  # fmt: skip
    with engine.connect() as conn:
        query = select(resolutions_t.c.url, resolutions_t.c.chain)
        stored = {row.url: row.chain for row in conn.execute(query)}
    assert stored == {"https://t.co/0": [], "https://t.co/1": chains[1]}


def test_among_and_among_pairs_select_exactly_the_values_given(
    make_app: Callable[..., App], any_database_url: str
) -> None:
    store = make_app(
        [{"name": n, "url": f"https://{n}.example/feed"} for n in ("a", "b")],
        database_url=any_database_url,
    ).store
    with store.engine.begin() as conn:
        ids = {row.name: row.id for row in conn.execute(select(sources_t.c.name, sources_t.c.id))}
        insert_rows(
            conn,
            entries_t,
            [{"source_id": ids[name], "guid": guid, "title": "", "content_hash": ""}
             for name in ("a", "b") for guid in ("1", "2")],
        )  # fmt: skip
    e = entries_t.c
    with store.engine.connect() as conn:
        # (a, 1) and (b, 2) only: not the crossed pairs (a, 2) and (b, 1)
        wanted = [(ids["a"], "1"), (ids["b"], "2"), (ids["b"], "9")]
        pairs = conn.execute(select(e.source_id, e.guid).where(
            among_pairs(conn, (e.source_id, e.guid), wanted))).all()  # fmt: skip
        guids = conn.execute(
            select(e.guid).where(among(conn, e.guid, ["2", "3"])).distinct()
        ).scalars()
        assert sorted(pairs) == sorted(wanted[:2])
        assert list(guids) == ["2"]
        assert conn.execute(select(e.id).where(among(conn, e.guid, []))).all() == []
