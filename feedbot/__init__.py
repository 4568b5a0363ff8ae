"""feedbot: a curated-link and research feed aggregator.

The pipeline, one run of ``feedbot fetch``::

    sources (config) ─► ingest ─► store ─► tag ─► publish
                         │          │        │       ├─ site (HTML pages)
                         │          │        │       ├─ feeds (RSS 2.0, Atom 1.0, JSON Feed 1.1)
                         │          │        │       └─ digest (multipart email, one day)
                         │          │        └─ topics per article (feedbot.tagging)
                         │          └─ entries, one link per article URL, mentions (feedbot.store)
                         └─ one shared HTTP client, conditional GET, parse (feedbot.sources)

Each stage is a module with one job; network, clock, disk and database sit at the edges and are
wired together in :mod:`feedbot.app`.
"""

__version__ = "0.1.0"
