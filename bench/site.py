"""Site build benchmark: a full build of N items (default 100,000 over two years), then an
incremental build after 100 new items, against the physical floor of writing the same bytes.

Items are generated deterministically (``random.Random(--seed)``): titles and summaries from the
bench word list, 200 sources (one to four sharers per item, some posts by a named author, some
boosted), zero to three topics with a reason, one in twenty a paper with its citation, one in
five with a picture, one in fifty a post with no web address. The default page size (50) and
feed size (100) apply.

The items live in a SQLite database, as feedbot keeps them, and every build is what ``feedbot
build`` does: ``App.build()`` (after the garbage collector's settings of
:func:`feedbot.gcsettings.settle_after_start`, as the command), timed whole (reading the items
from the database, planning, rendering, writing, and recording the build's index for the next
one). Not timed, as start-up: the interpreter, and loading the modules (``feedbot.app`` and
what a build imports on first use: the publishing modules, jinja2; reported as
``*_import_seconds``, about 0.08 s). Each step runs in its own
process (``_common.run_child``), so a build gets nothing from an earlier one but the database and
the output folder, and each peak RSS is that process's own:

1. ``setup``: the N items inserted into a fresh database, as the stages leave them (not timed);
2. ``full``: the first build, into an empty folder: every item is loaded and every file written.
   Run three times (the folder emptied in between), the median taken;
3. ``floor``: every file of the full build read into memory (not timed), then written with
   plain ``open/write`` into an empty folder, making the same folders: the time any build of
   these bytes must spend. Run five times, the median taken (this disk's speed varies a lot
   between runs). ``sync`` runs before every step, so that none pays for an earlier one's
   write-back. Nothing is fsync'ed, neither by the floor nor by the build (``feedbot build``
   does not fsync: see :mod:`feedbot.publish.output`), so both pay the same for the page cache.
   The fastest floor run is reported too, and the ratio against it (the unflattering one);
4. ``add``: 100 newer items arrive as the daemon gets them: their sources' new entries saved
   through ``Store.save_fetches``, their topics through ``Store.save_tags`` (not timed);
5. ``incremental``: ``feedbot build`` again, into the same folder. Steps 4 and 5 run five
   times, each from the same state (the database and the folder as the full build left them,
   copied before step 4; the folder's files by hard link, which a build never writes through:
   it replaces files by renaming), and the median is taken: one run of under a second moves
   by a quarter with the machine's other work;
6. ``check``: ``feedbot build --full`` of the same database into another empty folder, then
   both trees are compared file by file (they must be identical, manifest included).

Targets: full ≤ 4× floor, incremental < 3 % of full, peak RSS < 600 MB (``--check`` exits 1
when one is missed). The last line of output is one JSON object with the figures.

    .venv/bin/python bench/site.py                 # 100,000 items
    .venv/bin/python bench/site.py --quick         # 10,000 items, a smoke test
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import WORDS, BenchError, emit_json, peak_rss_mb, rounded, run_child

DEFAULT_ITEMS = 100_000
QUICK_ITEMS = 10_000
NEW_ITEMS = 100
SOURCES = 200
END = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
SPAN = timedelta(days=730)
TOPICS = [("education", "Education"), ("ai", "AI"), ("law", "Law")]
FLOOR_RUNS = 5  # the disk's speed varies from run to run: the median is the floor
BUILD_RUNS = 3  # full builds: the median is reported
INCREMENTAL_RUNS = 5  # under a second each, so more of them: the median is reported
TARGETS = {"floor_ratio": 4.0, "incremental_fraction": 0.03, "peak_rss_mb": 600.0}


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.child:
        return _child(args)
    try:
        return _run(args)
    except BenchError as e:
        print(f"bench/site.py: FAILED: {e}", file=sys.stderr)
        return 1


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--items", type=int, default=None, help=f"items (default {DEFAULT_ITEMS:,})"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ITEMS:,} items")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to build (default: a temp dir)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the built sites")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--child", choices=["setup", "build", "add", "floor"], help=argparse.SUPPRESS
    )
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--new", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.items is None:
        args.items = QUICK_ITEMS if args.quick else DEFAULT_ITEMS
    if args.items < 1:
        parser.error("--items must be positive")
    return args


# -- the generated items -------------------------------------------------------------------


def make_items(count: int, new: int, seed: int) -> list[Any]:
    """``count`` items over two years back from END, plus ``new`` newer ones (the same first
    ``count`` whatever ``new`` is), newest first."""
    from feedbot.links.citation import Author, Citation
    from feedbot.records import Item, MentionRef, SourceRef, TopicRef

    rng = random.Random(seed)
    newer = random.Random(seed + 1_000_003)  # the new items' own, so the others stay the same
    sources = [SourceRef(f"Source {n} {rng.choice(WORDS).title()}", f"source-{n}")
               for n in range(SOURCES)]  # fmt: skip
    topics = TOPICS
    people = [f"@{w}{n}" for n, w in enumerate(WORDS[:60])]
    step = SPAN / count
    items = []
    for number in [*range(count), *range(-1, -new - 1, -1)]:
        rng = newer if number < 0 else rng
        when = END - step * number if number >= 0 else END + timedelta(minutes=-number)
        words = [rng.choice(WORDS) for _ in range(rng.randint(6, 13))]
        title = " ".join(words).capitalize()
        summary = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 60))).capitalize()
        paper = rng.random() < 0.05
        post = not paper and rng.random() < 0.02
        slug = "-".join(words[:6])
        host = rng.choice(WORDS)
        url = (f"https://doi.org/10.{1000 + number % 9000}/b{number}" if paper
               else f"urn:feedbot:post:x:{number}" if post
               else f"https://{host}.example.org/{when:%Y/%m}/{slug}-{number}")  # fmt: skip
        shared = rng.sample(sources, 1 if rng.random() < 0.75 else rng.randint(2, 4))
        mentions = []
        for source in shared:
            author = rng.choice(people) if rng.random() < 0.4 else None
            booster = rng.choice(people) if author and rng.random() < 0.2 else None
            post_url = f"https://social.example/{source.slug}/{number}" if author else url
            mentions.append(MentionRef(source, title, post_url if not post else None, url, when,
                                       author=author, reposted_by=booster))  # fmt: skip
        chosen = [t for t in topics if rng.random() < 0.35]
        items.append(
            Item(
                id=number if number >= 0 else count - number, url=url, title=title,
                summary_html=f"<p>{summary}</p>",
                summary_text=summary, date=when, first_seen_at=when, sources=tuple(shared),
                topics=tuple(TopicRef(i, n, f"keyword title: {rng.choice(WORDS)} (+1.00); "
                                            f"model log-odds +{rng.random():.2f} (+0.50)")
                             for i, n in chosen),
                reached_by=(url,), mention_count=len(mentions), mentions=tuple(mentions),
                site_name=None if post else f"{rng.choice(WORDS)}.example.org",
                image_url=(f"https://img.example.org/{number}.jpg"
                           if not post and rng.random() < 0.2 else None),
                doi=f"10.{1000 + number % 9000}/b{number}" if paper else None,
                citation=Citation(title, doi=f"10.{1000 + number % 9000}/b{number}",
                                  authors=(Author(rng.choice(WORDS).title(), "A."),),
                                  container="Journal of " + rng.choice(WORDS).title(),
                                  year=when.year, volume=str(number % 40), pages="1-20")
                if paper else None,
            )
        )  # fmt: skip
    items.sort(key=lambda item: (item.date, item.url), reverse=True)
    return items


# -- the steps, each in its own process ---------------------------------------------------


def _child(args: argparse.Namespace) -> int:
    if args.child == "floor":
        return _floor(args.source, args.out)
    if args.child == "setup":
        return _setup(args)
    app = _open_app(args)
    try:
        if args.child == "add":
            return _add(app, args)
        generated_rss = peak_rss_mb()
        imports = _import_build_modules()
        from feedbot.gcsettings import settle_after_start

        settle_after_start()  # as `feedbot build` does before building
        started, cpu = time.perf_counter(), time.process_time()
        report = app.build(full=args.full)
        seconds = time.perf_counter() - started
    finally:
        app.close()
    print(json.dumps({
        "seconds": seconds, "cpu_seconds": time.process_time() - cpu, "written": report.written,
        "unchanged": report.unchanged,
        "deleted": report.deleted, "bytes_written": report.bytes_written, "pages": report.pages,
        "feeds": report.feeds, "items": report.items, "rss_before_build_mb": generated_rss,
        "import_seconds": imports,
        "peak_rss_mb": peak_rss_mb(),
    }))  # fmt: skip
    return 0


def _import_build_modules() -> float:
    """Load the modules a build uses (publishing, templates, identifiers) before the timer, as
    the interpreter's start-up and ``feedbot.app``'s imports are: a ``feedbot build`` process
    loads them before any work, and the daemon, which rebuilds after every ingest, once in its
    life. How long it took is reported beside the build's time."""
    started = time.perf_counter()
    import feedbot.links.arxiv
    import feedbot.publish.cache
    import feedbot.publish.render  # noqa: F401

    return time.perf_counter() - started


def _open_app(args: argparse.Namespace) -> Any:
    """The App a ``feedbot build`` opens, on the bench's database, building into ``--out``."""
    from feedbot.app import App
    from feedbot.config import settings_from_dict
    from feedbot.db import make_engine
    from feedbot.store import Store

    settings = settings_from_dict(
        {"title": "Bench digest", "base_url": "https://digest.example.org/",
         "timezone": "Europe/Berlin", "output_dir": str(args.out),
         "database_url": f"sqlite:///{args.db}",
         "topics": [{"id": topic, "name": name} for topic, name in TOPICS]},
        args.db.parent / "feedbot.toml",
    )  # fmt: skip
    return App(settings, Store(make_engine(settings.resolved_database_url())), clock=lambda: END)


def _setup(args: argparse.Namespace) -> int:
    """The N items into a fresh SQLite database, row by row as the stages leave them: links
    with their metadata and citations, sources, entries, mentions and topics (not timed)."""
    from sqlalchemy import insert

    from feedbot.db import make_engine, upgrade
    from feedbot.links.citation import citation_to_json, version_urls
    from feedbot.models import Entry, Link, LinkTopic, Mention, PaperVersion, Source, Topic

    items = make_items(args.items, 0, args.seed)
    args.db.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{args.db}")
    upgrade(engine)
    sources: dict[str, dict[str, Any]] = {}
    links, entries, mentions, tags, versions = [], [], [], [], []
    for item in items:
        if item.citation:  # the other versions it names, as the store writes them with it
            versions.extend({"url": url, "link_id": item.id + 1}
                            for url in version_urls(item.citation))  # fmt: skip
        links.append({"id": item.id + 1, "url": item.url, "title": item.title,
                      "first_seen_at": item.first_seen_at, "site_name": item.site_name,
                      "image_url": item.image_url, "doi": item.doi,
                      "description": item.summary_text, "needs_tagging": False,
                      "read_at": item.first_seen_at,
                      "paper": citation_to_json(item.citation) if item.citation
                      else None})  # fmt: skip
        for mention in item.mentions:
            source = sources.setdefault(mention.source.slug, _source_row(mention.source, sources))
            number = len(entries) + 1
            entries.append({"id": number, "source_id": source["id"], "guid": f"g{number}",
                            "url": mention.url, "title": mention.title, "author": mention.author,
                            "reposted_by": mention.reposted_by, "published_at": mention.date,
                            "first_seen_at": mention.date})  # fmt: skip
            mentions.append({"entry_id": number, "link_id": item.id + 1,
                             "url": mention.shared_url})  # fmt: skip
        tags.extend({"link_id": item.id + 1, "topic_id": topic.id, "score": 1.0,
                     "reason": topic.reason} for topic in item.topics)  # fmt: skip
    topics = [{"id": topic, "name": name} for topic, name in TOPICS]
    with engine.begin() as conn:
        for table, rows in ((Source, list(sources.values())), (Topic, topics), (Link, links),
                            (PaperVersion, versions), (Entry, entries), (Mention, mentions),
                            (LinkTopic, tags)):  # fmt: skip
            for start in range(0, len(rows), 20_000):
                conn.execute(insert(table.__table__), rows[start : start + 20_000])  # type: ignore[attr-defined]
    engine.dispose()
    print(json.dumps({"items": len(items), "entries": len(entries)}))
    return 0


def _source_row(source: Any, sources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"id": len(sources) + 1, "name": source.name, "slug": source.slug,
            "url": f"https://{source.slug}.example/feed"}  # fmt: skip


def _add(app: Any, args: argparse.Namespace) -> int:
    """The ``--new`` newest generated items arrive as a daemon gets them: each source's new
    posts saved through ``Store.save_fetches`` (entries, links, mentions, citations), then
    their topics through ``Store.save_tags``, as the tagging stage does (not timed)."""
    from collections import defaultdict

    from sqlalchemy import select

    from feedbot.models import Source
    from feedbot.sources import FetchedEntry, FetchOutcome

    new = [item for item in make_items(args.items, args.new, args.seed) if item.id >= args.items]
    with app.store.engine.connect() as conn:
        source_ids = dict(conn.execute(select(Source.slug, Source.id)).all())  # type: ignore[call-overload]
    posts: dict[int, list[Any]] = defaultdict(list)
    for item in new:
        for number, mention in enumerate(item.mentions):
            posts[source_ids[mention.source.slug]].append(FetchedEntry(
                guid=f"new-{item.id}-{number}", url=mention.url, title=mention.title,
                summary_html=item.summary_html, author=mention.author,
                reposted_by=mention.reposted_by, published_at=mention.date, links=(item.url,),
                citation=item.citation,
            ))  # fmt: skip
    for source_id, entries in posts.items():
        app.store.save_outcome(source_id, FetchOutcome("ok", entries=tuple(entries)), END, END)
    ids = {url: link_id for link_id, url in _link_ids(app, [item.url for item in new])}
    app.store.save_tags({ids[item.url]: [(t.id, 1.0, t.reason) for t in item.topics]
                         for item in new})  # fmt: skip
    print(json.dumps({"added": len(new), "entries": sum(len(e) for e in posts.values())}))
    return 0


def _link_ids(app: Any, urls: list[str]) -> list[tuple[int, str]]:
    from sqlalchemy import select

    from feedbot.models import Link

    with app.store.engine.connect() as conn:
        query = select(Link.id, Link.url).where(Link.url.in_(urls))  # type: ignore[attr-defined]
        return [(row.id, row.url) for row in conn.execute(query)]


def _floor(source: Path, out: Path) -> int:
    files = []
    for folder, _dirs, names in os.walk(source):
        for name in names:
            path = Path(folder) / name
            files.append((str(path.relative_to(source)), path.read_bytes()))
    started = time.perf_counter()
    made: set[str] = set()
    for relative, data in files:
        target = os.path.join(out, relative)
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        with open(target, "wb") as file:
            file.write(data)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "files": len(files),
                      "bytes": sum(len(d) for _, d in files)}))  # fmt: skip
    return 0


def _step(args: argparse.Namespace, mode: str, out: Path, *extra: str) -> dict[str, Any]:
    os.sync()  # the disk's write-back of an earlier step must not slow this one down
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", mode, "--out", str(out),
            "--db", str(args.db), "--items", str(args.items), "--seed", str(args.seed),
            "--new", str(NEW_ITEMS), *extra]  # fmt: skip
    run = run_child(argv, timeout=3600).check(f"the {mode} step")
    figures = run.last_json()
    figures["process_peak_rss_mb"] = run.peak_rss_mb
    figures["process_seconds"] = run.seconds
    return figures


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of the median time."""
    return sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]


def _seconds(runs: list[dict[str, Any]], digits: int = 2) -> str:
    return ", ".join(f"{run['seconds']:.{digits}f}" for run in runs)


def _copy_state(site: Path, db: Path, to: Path) -> None:
    """Keep the database folder (copied) and the site (hard links: a build replaces a file by
    renaming a new one over it, never writing into it, so the links keep the old bytes)."""
    shutil.copytree(db, to / "db")
    shutil.copytree(site, to / "site", copy_function=os.link)


def _restore_state(kept: Path, site: Path, db: Path) -> None:
    shutil.rmtree(db)
    shutil.rmtree(site)
    shutil.copytree(kept / "db", db)
    shutil.copytree(kept / "site", site, copy_function=os.link)


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.blake2b(p.read_bytes(), digest_size=16).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _run(args: argparse.Namespace) -> int:
    base = Path(tempfile.mkdtemp(prefix="feedbot-bench-site-", dir=args.dir))
    try:
        print(f"site benchmark: {args.items:,} items over two years (seed {args.seed}), then "
              f"{NEW_ITEMS} new ones; building under {base}", flush=True)  # fmt: skip
        args.db = base / "db" / "feedbot.db"
        made = _step(args, "setup", base / "step" / "site")
        print(
            f"setup: {made['items']:,} items from {made['entries']:,} entries in a fresh "
            f"SQLite database ({made['process_seconds']:.1f} s, not timed)",
            flush=True,
        )
        fulls = []
        for _ in range(BUILD_RUNS):
            shutil.rmtree(base / "step" / "site", ignore_errors=True)
            fulls.append(_step(args, "build", base / "step" / "site"))
        full = _median(fulls)
        print(f"full build: {full['seconds']:.2f} s (median of {_seconds(fulls)} s; "
              f"{full['cpu_seconds']:.2f} s of CPU), {full['written']:,} files, "
              f"{full['bytes_written'] / 1e6:,.1f} MB ({full['pages']:,} pages, {full['feeds']} "
              f"feeds); peak RSS {full['process_peak_rss_mb']:.0f} MB "
              f"({full['rss_before_build_mb']:.0f} MB with the items, before building; "
              f"loading the build's modules took {full['import_seconds']:.2f} s, not timed)",
              flush=True)  # fmt: skip
        floors = []
        for _ in range(FLOOR_RUNS):
            os.sync()  # each run starts with nothing waiting to be written back, as the build did
            floors.append(run_child(
                [sys.executable, str(Path(__file__).resolve()), "--child", "floor", "--source",
                 str(base / "step" / "site"), "--out", str(base / "floor")], timeout=3600,
            ).check("the floor").last_json())  # fmt: skip
            shutil.rmtree(base / "floor", ignore_errors=True)
        floor = sorted(floors, key=lambda f: f["seconds"])[len(floors) // 2]
        fastest = min(f["seconds"] for f in floors)
        runs = ", ".join(f"{f['seconds']:.2f}" for f in floors)
        print(f"floor: writing the same {floor['files']:,} files, {floor['bytes'] / 1e6:,.1f} MB "
              f"(open/write, no fsync, as the build), takes {floor['seconds']:.2f} s "
              f"(median of {runs} s; fastest {fastest:.2f} s)", flush=True)  # fmt: skip
        site, db = base / "step" / "site", args.db.parent
        _copy_state(site, db, base / "before")
        incrementals = []
        for run in range(INCREMENTAL_RUNS):
            if run:
                _restore_state(base / "before", site, db)
            added = _step(args, "add", site)
            incrementals.append(_step(args, "build", site))
        print(f"add: {added['added']} new items from {added['entries']} new entries saved and "
              f"tagged through the store ({added['process_seconds']:.1f} s, not timed)",
              flush=True)  # fmt: skip
        incremental = _median(incrementals)
        print(f"incremental build after {NEW_ITEMS} new items: {incremental['seconds']:.3f} s "
              f"(median of {_seconds(incrementals, 3)} s; "
              f"{incremental['cpu_seconds']:.2f} s of CPU), "
              f"{incremental['written']:,} files rewritten, "
              f"{incremental['bytes_written'] / 1e6:,.2f} MB, {incremental['deleted']} deleted; "
              f"peak RSS {incremental['process_peak_rss_mb']:.0f} MB; loading the build's "
              f"modules took {incremental['import_seconds']:.2f} s, not timed",
              flush=True)  # fmt: skip
        if len({(i["written"], i["bytes_written"]) for i in incrementals}) != 1:
            raise BenchError("the incremental builds from the same state wrote different files")
        check = _step(args, "build", base / "whole" / "site", "--full")
        stepwise, whole = (
            _tree_digest(base / "step" / "site"),
            _tree_digest(base / "whole" / "site"),
        )
        if stepwise != whole:
            differ = sorted(k for k in stepwise.keys() | whole.keys()
                            if stepwise.get(k) != whole.get(k))  # fmt: skip
            raise BenchError(f"the incremental and the full build differ in {len(differ)} files, "
                             f"e.g. {differ[:5]}")  # fmt: skip
        print(f"check: a full build of the same {args.items + NEW_ITEMS:,} items into an empty "
              f"folder ({check['seconds']:.2f} s) gives the same {len(whole):,} files, "
              "byte for byte", flush=True)  # fmt: skip
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)

    floor_ratio = full["seconds"] / floor["seconds"]
    fraction = incremental["seconds"] / full["seconds"]
    peak = max(run["process_peak_rss_mb"] for run in [*fulls, *incrementals])
    met = {
        "floor_ratio": floor_ratio <= TARGETS["floor_ratio"],
        "incremental_fraction": fraction < TARGETS["incremental_fraction"],
        "peak_rss_mb": peak < TARGETS["peak_rss_mb"],
    }
    print()
    print(f"full / floor: {floor_ratio:.2f}× (target ≤ {TARGETS['floor_ratio']:g}×: "
          f"{'met' if met['floor_ratio'] else 'MISSED'})")  # fmt: skip
    print(f"incremental / full: {fraction:.1%} (target < {TARGETS['incremental_fraction']:.0%}: "
          f"{'met' if met['incremental_fraction'] else 'MISSED'})")  # fmt: skip
    print(f"full / fastest floor run: {full['seconds'] / fastest:.2f}×")
    print(f"peak RSS: {peak:.0f} MB (target < {TARGETS['peak_rss_mb']:g} MB: "
          f"{'met' if met['peak_rss_mb'] else 'MISSED'})")  # fmt: skip
    emit_json({
        "bench": "site",
        "items": args.items,
        "new_items": NEW_ITEMS,
        "seed": args.seed,
        "full_seconds": rounded(full["seconds"], 3),
        "full_runs_seconds": [rounded(f["seconds"], 3) for f in fulls],
        "full_cpu_seconds": rounded(full["cpu_seconds"], 3),
        "full_import_seconds": rounded(full["import_seconds"], 3),
        "incremental_import_seconds": rounded(incremental["import_seconds"], 3),
        "incremental_cpu_seconds": rounded(incremental["cpu_seconds"], 3),
        "incremental_seconds": rounded(incremental["seconds"], 4),
        "incremental_runs_seconds": [rounded(i["seconds"], 4) for i in incrementals],
        "floor_seconds": rounded(floor["seconds"], 3),
        "floor_runs_seconds": [rounded(f["seconds"], 3) for f in floors],
        "floor_ratio": rounded(floor_ratio, 3),
        "floor_fastest_seconds": rounded(fastest, 3),
        "floor_ratio_fastest": rounded(full["seconds"] / fastest, 3),
        "incremental_fraction": rounded(fraction, 4),
        "files_rewritten": incremental["written"],
        "incremental_bytes_written": incremental["bytes_written"],
        "full_files_written": full["written"],
        "full_bytes_written": full["bytes_written"],
        "floor_files": floor["files"],
        "floor_bytes": floor["bytes"],
        "pages": full["pages"],
        "peak_rss_mb": rounded(peak, 1),
        "full_peak_rss_mb": rounded(max(f["process_peak_rss_mb"] for f in fulls), 1),
        "incremental_peak_rss_mb": rounded(max(i["process_peak_rss_mb"] for i in incrementals), 1),
        "rss_with_items_mb": rounded(full["rss_before_build_mb"], 1),
        "trees_identical": True,
        "python": sys.version.split()[0],
        "targets": TARGETS,
        "targets_met": met,
    })  # fmt: skip
    return 1 if args.check and not all(met.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
