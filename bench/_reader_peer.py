"""The peer side of the benchmarks: the same work done by the ``reader`` library (PyPI ``reader``,
which needs ``sgmllib3k`` beside it), run as its own process so its RSS is its own.

    python bench/_reader_peer.py cold    --db reader.sqlite --urls urls.txt --workers 8
    python bench/_reader_peer.py warm    --db reader.sqlite --workers 8
    python bench/_reader_peer.py startup --db reader.sqlite
    python bench/_reader_peer.py count   --db reader.sqlite

``cold`` adds every URL of ``--urls`` (one per line) and updates them all; ``warm`` updates every
feed again (``scheduled=False``: reader would otherwise skip feeds not yet due, i.e. fetch
nothing); ``startup`` only imports reader and opens the database (the fixed cost of a run);
``count`` counts entries and feeds, for checking, outside the timed runs. The last line of output
is a JSON object: phase, in-process seconds, results by kind (updated / not_modified / error),
new entries, and for ``count`` the entry, feed and broken-feed totals.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("phase", choices=["cold", "warm", "startup", "count"])
    parser.add_argument("--db", type=Path, required=True, help="reader's SQLite database")
    parser.add_argument("--urls", type=Path, help="feed URLs, one per line (cold only)")
    parser.add_argument("--workers", type=int, default=1, help="update_feeds(workers=…)")
    args = parser.parse_args(argv)
    if args.phase == "cold" and args.urls is None:
        parser.error("cold needs --urls")

    started = time.perf_counter()
    from reader import make_reader

    reader = make_reader(str(args.db))
    figures: dict[str, Any] = {"phase": args.phase, "workers": args.workers}
    try:
        if args.phase == "count":
            feeds = reader.get_feed_counts()
            figures |= {
                "entries_total": reader.get_entry_counts().total,
                "feeds_total": feeds.total,
                "feeds_broken": feeds.broken,
            }
        elif args.phase in ("cold", "warm"):
            figures |= _update(reader, args.urls if args.phase == "cold" else None, args.workers)
    finally:
        reader.close()
    figures["seconds"] = time.perf_counter() - started
    print(json.dumps(figures), flush=True)


def _update(reader: Any, urls: Path | None, workers: int) -> dict[str, Any]:
    add_seconds = 0.0
    if urls is not None:
        t = time.perf_counter()
        for url in urls.read_text().split():
            reader.add_feed(url, exist_ok=True)
        add_seconds = time.perf_counter() - t
    updated = not_modified = new = 0
    errors: list[str] = []
    t = time.perf_counter()
    for url, value in reader.update_feeds_iter(scheduled=False, workers=workers):
        if value is None:
            not_modified += 1
        elif isinstance(value, Exception):
            errors.append(f"{url}: {value}")
        else:
            updated += 1
            new += value.new
    return {
        "add_seconds": add_seconds,
        "update_seconds": time.perf_counter() - t,
        "updated": updated,
        "not_modified": not_modified,
        "new_entries": new,
        "error_count": len(errors),
        "errors": errors[:5],
    }


if __name__ == "__main__":
    main()
