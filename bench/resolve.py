"""Link-resolution benchmark: feedbot follows N short links to their articles, cold then cached.

A local server (separate processes, see ``_common.LinkServer``) serves N short links, each 1 to 3
redirect hops from a small article page (link ``i`` takes ``1 + i % 3``: a 301 from the short
link, then 302s). Short links and intermediate hops live on 4 shortener hosts (127.0.0.2–5),
articles on 8 publisher hosts (127.0.0.6–13): distinct loopback addresses on one port, so the
per-host limit (``[http] max_per_host``, default 8) caps each host without serializing the run.
feedbot reaches them over real loopback TCP with its own transport.

feedbot resolves each link the way ``feedbot fetch`` does: ``HEAD`` every hop, then ``HEAD`` and
``GET`` the article, reading its ``<head>`` for the title, description and canonical URL, and
stores the result in its SQLite cache. In this process, with the call alone timed
(``time.perf_counter``; importing feedbot and opening the database are timed separately):

* cold: a fresh database, ``App.resolve_urls(all N URLs)`` — all network;
* cached: ``App.resolve_urls`` again with the same URLs, ``--cached-runs`` times (median
  reported) — every URL a cache hit, answered from the database without a single request.

Settings: ``max_per_host`` 8, ``max_connections`` 64, ``retries`` 0, and the politeness delay
``min_host_interval_seconds`` set to 0 (its default of 0.1 s between two requests to one host
would cap each host at 10 requests/s by design, measuring the delay rather than feedbot).

Checked before any figure is printed: every link's outcome is ``ok`` with its article's URL as
canonical (a handful of failures, ``--max-failures``, are reported, more fail the benchmark); the
server answered exactly the expected requests (one ``HEAD`` per hop, ``HEAD`` + ``GET`` per
article, none misdirected); a cached run sent no request at all and returned the same answers.

Targets: cold ≥ 500 links/s, cached ≥ 20,000 links/s (``--check`` exits 1 when one is missed).
feedbot resolves a backlog this large in ``[links] workers`` processes (default: one per core);
"feedbot CPU" counts this process and those workers. Peak RSS is this process's ``ru_maxrss``,
plus the largest worker's (the server runs in other processes), reported only.

    .venv/bin/python bench/resolve.py             # 10,000 links
    .venv/bin/python bench/resolve.py --quick     # 1,000 links, a smoke test

The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BenchError,
    LinkFarm,
    LinkServer,
    emit_json,
    peak_rss_mb,
    rounded,
    run_in_workdir,
)

COLD_TARGET = 500.0  # links/s
CACHED_TARGET = 20_000.0  # links/s
DEFAULT_LINKS = 10_000
QUICK_LINKS = 1_000


def main(argv: list[str] | None = None) -> int:
    return run_in_workdir("resolve", _parse_args(argv), _run)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time feedbot resolving N local short links, cold and then from its cache.",
    )
    parser.add_argument(
        "--links",
        type=int,
        default=None,
        help=f"number of short links (default {DEFAULT_LINKS:,}; {QUICK_LINKS:,} with --quick)",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_LINKS:,} links, for a smoke test"
    )
    parser.add_argument(
        "--per-host", type=int, default=8, help="feedbot's [http] max_per_host (default 8)"
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=64,
        help="feedbot's [http] max_connections, all hosts (default 64)",
    )
    parser.add_argument(
        "--max-hops",
        type=int,
        default=3,
        help="link i takes 1 + i %% MAX_HOPS redirects to its article (default 3)",
    )
    parser.add_argument(
        "--shorteners", type=int, default=4, help="shortener hosts, 127.0.0.2 up (default 4)"
    )
    parser.add_argument(
        "--publishers", type=int, default=8, help="article hosts, after the shorteners (default 8)"
    )
    parser.add_argument(
        "--cached-runs",
        type=int,
        default=3,
        help="cached runs; the median is reported (default 3: they are short, noisy)",
    )
    parser.add_argument(
        "--server-processes",
        type=int,
        default=max(1, min(4, (os.cpu_count() or 2) - 1)),
        help="processes serving the links (default: CPUs - 1, at most 4)",
    )
    parser.add_argument(
        "--max-failures",
        type=int,
        default=5,
        help="links allowed not to resolve to their article before the run fails (default 5)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="[links] workers: link-resolving processes (0: one per core, at most 4)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a target is missed (for CI)"
    )
    args = parser.parse_args(argv)
    if args.links is None:
        args.links = QUICK_LINKS if args.quick else DEFAULT_LINKS
    positive = (
        args.links,
        args.per_host,
        args.max_connections,
        args.max_hops,
        args.shorteners,
        args.publishers,
        args.cached_runs,
        args.server_processes,
    )
    if min(positive) < 1:
        parser.error(
            "--links, --per-host, --max-connections, --max-hops, --shorteners, --publishers, "
            "--cached-runs and --server-processes must be positive"
        )
    if args.shorteners + args.publishers > 250:
        parser.error("--shorteners + --publishers: at most 250 loopback hosts")
    if args.max_hops > 10:
        parser.error("--max-hops: at most 10 (feedbot's default [links] max_hops)")
    return args


def _run(args: argparse.Namespace, workdir: Path) -> int:
    _clean_environment()
    n = args.links
    hosts = [f"127.0.0.{2 + k}" for k in range(args.shorteners + args.publishers)]
    layout = LinkFarm(
        n,
        max_hops=args.max_hops,
        shorteners=tuple(hosts[: args.shorteners]),
        publishers=tuple(hosts[args.shorteners :]),
    )
    hops = layout.total_hops
    expected = {
        "HEAD 301": n,
        "HEAD 302": hops - n,
        "HEAD 200": n,
        "GET 200": n,
    }
    requests = sum(expected.values())
    print(
        f"resolve benchmark: {n:,} short links, {hops:,} redirect hops (1–{args.max_hops} per "
        f"link) + HEAD and GET of each article = {requests:,} requests; "
        f"{args.shorteners} shortener + {args.publishers} article hosts "
        f"({layout.shorteners[0]}–{layout.publishers[-1]}); server in "
        f"{args.server_processes} process(es); {os.cpu_count()} CPUs; "
        f"Python {sys.version.split()[0]}",
        flush=True,
    )
    print(
        f"feedbot [http]: max_per_host = {args.per_host}, max_connections = "
        f"{args.max_connections}, retries = 0, min_host_interval_seconds = 0 (politeness delay "
        "off for the measurement; its default 0.1 s would cap each host at 10 requests/s)",
        flush=True,
    )
    # The server is forked before feedbot is imported: small children, no threads yet.
    with LinkServer(layout, args.server_processes) as server:
        farm = server.farm
        urls = [farm.short_url(i) for i in range(n)]
        articles = [farm.article_url(i) for i in range(n)]

        started = time.perf_counter()
        from feedbot.app import open_app
        from feedbot.config import settings_from_dict

        settings = settings_from_dict(_settings(args, workdir), workdir / "feedbot.toml")
        app = open_app(settings)
        startup_seconds = time.perf_counter() - started
        baseline_rss_mb = peak_rss_mb()
        try:
            # -- cold --------------------------------------------------------------------------
            server.reset_counts()
            server_cpu_before = server.cpu_seconds()
            cpu_before = _cpu_seconds()
            started = time.perf_counter()
            cold = app.resolve_urls(urls)
            cold_seconds = time.perf_counter() - started
            cold_cpu = _cpu_seconds() - cpu_before
            server_cpu_after = server.cpu_seconds()
            cold_server_cpu = (
                server_cpu_after - server_cpu_before
                if server_cpu_after is not None and server_cpu_before is not None
                else None
            )
            cold_counts = server.counts()
            cold_rss_mb = peak_rss_mb()
            worker_rss_mb = _workers_peak_rss_mb()
            outcomes = Counter(cold[url].outcome if url in cold else "missing" for url in urls)
            failures = [
                i
                for i, url in enumerate(urls)
                if url not in cold or cold[url].outcome != "ok" or cold[url].link_url != articles[i]
            ]
            _report_failures(failures, urls, articles, cold)
            _expect(
                f"cold: at most {args.max_failures} link(s) not resolved to their article",
                len(failures) <= args.max_failures,
                dict(outcomes),
            )
            _expect(
                "cold: no request misdirected or for an unknown path",
                cold_counts["421"] == 0 and cold_counts["404"] == 0 and cold_counts["other"] == 0,
                cold_counts,
            )
            if not failures:
                _expect(
                    "cold: the server answered one HEAD per hop and HEAD + GET per article",
                    all(cold_counts[key] == count for key, count in expected.items()),
                    (cold_counts, expected),
                )

            # -- cached ------------------------------------------------------------------------
            cached_runs: list[float] = []
            cached_cpu: list[float] = []
            for run in range(1, args.cached_runs + 1):
                server.reset_counts()
                cpu_before = _cpu_seconds()
                started = time.perf_counter()
                cached = app.resolve_urls(urls)
                cached_runs.append(time.perf_counter() - started)
                cached_cpu.append(_cpu_seconds() - cpu_before)
                counts = server.counts()
                _expect(
                    f"cached run #{run}: no connection, no request",
                    not any(counts.values()),
                    counts,
                )
                _expect(
                    f"cached run #{run}: the same answer for every link as the cold run",
                    all(
                        (cached[url].outcome, cached[url].link_url)
                        == (cold[url].outcome, cold[url].link_url)
                        for url in urls
                        if url in cold
                    )
                    and len(cached) == len(cold),
                    f"{len(cached)} answers",
                )
        finally:
            app.close()

    rss_mb = peak_rss_mb()
    cached_seconds = statistics.median(cached_runs)
    cold_rate = n / cold_seconds
    cached_rate = n / cached_seconds
    targets = {
        "cold_links_per_s": COLD_TARGET,
        "cached_links_per_s": CACHED_TARGET,
    }
    met = {
        "cold_links_per_s": cold_rate >= COLD_TARGET,
        "cached_links_per_s": cached_rate >= CACHED_TARGET,
    }

    print()
    print(
        f"start-up (import feedbot, open and migrate the database): {startup_seconds:.2f} s, "
        f"peak RSS then {baseline_rss_mb:.1f} MB"
    )
    answered = sum(count for key, count in cold_counts.items() if key != "connections")
    server_cpu = (
        f"; server CPU {cold_server_cpu:.2f} s ({cold_server_cpu / cold_seconds:.0%} of a core)"
        if cold_server_cpu is not None
        else ""
    )
    print(
        f"cold:   {cold_seconds:8.3f} s  {cold_rate:9,.0f} links/s  "
        f"({answered:,} requests = {answered / cold_seconds:,.0f}/s over "
        f"{cold_counts['connections']:,} connections; "
        f"feedbot CPU {cold_cpu:.2f} s ({cold_cpu / cold_seconds:.0%} of a core){server_cpu})"
    )
    print(f"        outcomes: {', '.join(f'{k} {v:,}' for k, v in outcomes.most_common())}")
    print(
        f"cached: {cached_seconds:8.3f} s  {cached_rate:9,.0f} links/s  (median of "
        f"{', '.join(f'{s:.3f}' for s in cached_runs)} s; no request reached the server)"
    )
    print(
        f"peak RSS: {rss_mb:.1f} MB (this process, after the cold run {cold_rss_mb:.1f} MB; "
        f"server processes not included); largest link worker process {worker_rss_mb:.1f} MB"
    )
    print(
        f"cold ≥ {COLD_TARGET:,.0f} links/s: {_verdict(met['cold_links_per_s'])}; "
        f"cached ≥ {CACHED_TARGET:,.0f} links/s: {_verdict(met['cached_links_per_s'])}"
    )
    if cold_server_cpu is not None and cold_server_cpu > 0.8 * cold_seconds:
        print(
            "warning: the server was busy most of the cold run "
            f"({cold_server_cpu:.2f} s of CPU in {cold_seconds:.2f} s): it may limit the figure"
        )

    figures: dict[str, Any] = {
        "bench": "resolve",
        "links": n,
        "hops": hops,
        "requests": requests,
        "max_hops": args.max_hops,
        "max_per_host": args.per_host,
        "max_connections": args.max_connections,
        "min_host_interval_seconds": 0,
        "retries": 0,
        "shortener_hosts": args.shorteners,
        "publisher_hosts": args.publishers,
        "server_processes": args.server_processes,
        "cold_seconds": rounded(cold_seconds, 3),
        "cold_links_per_s": rounded(cold_rate, 1),
        "cold_requests_per_s": rounded(answered / cold_seconds, 1),
        "cold_connections": cold_counts["connections"],
        "cold_cpu_seconds": rounded(cold_cpu, 3),
        "cold_server_cpu_seconds": rounded(cold_server_cpu, 3),
        "cold_outcomes": dict(outcomes),
        "failures": len(failures),
        "cached_seconds": rounded(cached_seconds, 4),
        "cached_runs_seconds": [rounded(s, 4) for s in cached_runs],
        "cached_cpu_seconds": [rounded(s, 4) for s in cached_cpu],
        "cached_links_per_s": rounded(cached_rate, 1),
        "startup_seconds": rounded(startup_seconds, 3),
        "startup_rss_mb": rounded(baseline_rss_mb, 1),
        "cold_peak_rss_mb": rounded(cold_rss_mb, 1),
        "peak_rss_mb": rounded(rss_mb, 1),
        "worker_peak_rss_mb": rounded(worker_rss_mb, 1),
        "workers": args.workers,
        "targets": targets,
        "targets_met": all(met.values()),
    }
    emit_json(figures)
    return 1 if args.check and not all(met.values()) else 0


def _settings(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    return {
        "title": "resolve benchmark",
        "database_url": f"sqlite:///{workdir / 'feedbot.db'}",
        "http": {
            "allow_private_networks": True,
            "max_per_host": args.per_host,
            "max_connections": args.max_connections,
            "min_host_interval_seconds": 0,
            "retries": 0,
        },
        "links": {"resolve": True, "workers": args.workers},
    }


def _clean_environment() -> None:
    """No proxy (feedbot would send loopback requests through it) and no database or config
    from the caller's environment."""
    for key in list(os.environ):
        if key in {"DATABASE_URL", "FEEDBOT_CONFIG"} or key.lower().endswith("_proxy"):
            del os.environ[key]


def _cpu_seconds() -> float:
    """CPU of this process and of its finished children: feedbot's link workers (the server's
    processes are still running while this is read, so they are not counted)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def _workers_peak_rss_mb() -> float:
    """The largest peak RSS of a finished child process: a feedbot link worker."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _report_failures(
    failures: list[int], urls: list[str], articles: list[str], results: dict[str, Any]
) -> None:
    if not failures:
        return
    print(f"{len(failures):,} link(s) did not resolve to their article; the first ones:")
    for i in failures[:10]:
        found = results.get(urls[i])
        if found is None:
            print(f"  {urls[i]}: no answer from the cache")
        else:
            print(
                f"  {urls[i]}: {found.outcome} → {found.link_url} (expected {articles[i]})"
                + (f": {found.error}" if found.error else "")
            )


def _expect(what: str, ok: bool, evidence: Any) -> None:
    if not ok:
        raise BenchError(f"{what}: not so ({evidence})")


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
