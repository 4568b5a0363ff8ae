"""feedbot's side of the ingest benchmark, measured the way ``_reader_peer.py`` measures reader:
the process imports feedbot and opens its database (start-up, reported separately), then the
ingest stage (``App.ingest``, exactly what ``feedbot ingest`` runs) is timed on its own.

    python bench/_feedbot_peer.py CONFIG

The last line of output is a JSON object: in-process ``update_seconds``, whole-process
``seconds``, and the count of sources by outcome.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path


def main(argv: list[str]) -> None:
    started = time.perf_counter()
    from feedbot.app import open_app
    from feedbot.config import load_settings

    app = open_app(load_settings(Path(argv[0])))
    opened = time.perf_counter()
    results = app.ingest()
    update_seconds = time.perf_counter() - opened
    app.close()
    outcomes = Counter(result.status for result in results)
    print(json.dumps({
        "startup_seconds": opened - started,
        "update_seconds": update_seconds,
        "seconds": time.perf_counter() - started,
        "outcomes": dict(outcomes),
        "new_entries": sum(result.new for result in results),
    }))  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
