"""The peer side of the benchmarks: the same work done by the ``reader`` library (PyPI ``reader``,
which needs ``sgmllib3k`` beside it), run as its own process so its RSS is its own.

    python bench/_reader_peer.py cold    --db reader.sqlite --urls urls.txt --workers 8
    python bench/_reader_peer.py warm    --db reader.sqlite --workers 8
    python bench/_reader_peer.py startup --db reader.sqlite

``cold`` adds every URL of ``--urls`` (one per line) and updates them all; ``warm`` updates every
feed again (``scheduled=False``: reader would otherwise skip feeds not yet due, i.e. fetch
nothing); ``startup`` only imports reader, opens the database and counts the feeds (the fixed
cost of a run). The last line
of output is a JSON object: phase, seconds (in-process), add_seconds, update_seconds, results by
kind (updated / not_modified / error), new entries, entry and feed totals, broken feeds, errors.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("phase", choices=["cold", "warm", "startup"])
    parser.add_argument("--db", type=Path, required=True, help="reader's SQLite database")
    parser.add_argument("--urls", type=Path, help="feed URLs, one per line (cold only)")
    parser.add_argument("--workers", type=int, default=1, help="update_feeds(workers=…)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from reader import make_reader

    reader = make_reader(str(args.db))
    figures: dict[str, Any] = {"phase": args.phase, "workers": args.workers}
    try:
        add_seconds = 0.0
        if args.phase == "cold":
            if args.urls is None:
                parser.error("cold needs --urls")
            t = time.perf_counter()
            for url in args.urls.read_text().split():
                reader.add_feed(url, exist_ok=True)
            add_seconds = time.perf_counter() - t
        updated = not_modified = new = 0
        errors: list[str] = []
        t = time.perf_counter()
        if args.phase != "startup":
            for url, value in reader.update_feeds_iter(scheduled=False, workers=args.workers):
                if value is None:
                    not_modified += 1
                elif isinstance(value, Exception):
                    errors.append(f"{url}: {value}")
                else:
                    updated += 1
                    new += value.new
        update_seconds = time.perf_counter() - t
        counting = args.phase != "startup"  # counting 50 000 entries is not start-up
        entries_total = reader.get_entry_counts().total if counting else None
        feeds = reader.get_feed_counts()
        figures |= {
            "seconds": time.perf_counter() - started,
            "add_seconds": add_seconds,
            "update_seconds": update_seconds,
            "updated": updated,
            "not_modified": not_modified,
            "new_entries": new,
            "error_count": len(errors),
            "errors": errors[:5],
            "entries_total": entries_total,
            "feeds_total": feeds.total,
            "feeds_broken": feeds.broken,
        }
    finally:
        reader.close()
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
