"""The garbage collector's settings for the long-running processes (``feedbot run`` and
``feedbot worker``) and for ``feedbot build``, which makes hundreds of thousands of objects.

CPython's cyclic collector, with its default settings, took about 9 % of a worker's CPU
time in ``bench/scale.py`` (about 2 % with these settings): every full collection walks the
heap, most of which is what start-up created and never frees (modules, SQLAlchemy's tables and
compiled statements, the HTTP client), about 70 ms a time; and the youngest generation,
collected every 700 net allocations, promotes the rows of a batch being stored (alive until it
is written) to the older generations, which brings the next full collection nearer. Each
process pays this on its own, so a machine running more workers than it has cores pays it more
times for the same feeds.

So, once a process has started: everything alive is moved out of the collector's sight
(``gc.freeze``: it is never collected, which start-up's objects never are anyway, and never
walked again), and the youngest generation is collected after ``YOUNG_THRESHOLD`` net
allocations instead of 700, long enough for a batch's short-lived objects to die by reference
counting first. Reference cycles made later are still found and freed, a little later.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 20_000  # net container allocations between collections of generation 0


def settle_after_start() -> int:
    """Collect once, then freeze what survives and raise the youngest generation's threshold
    (never lowers one that is already higher). Returns the number of objects frozen. Call it
    once the process has done its start-up, in a process that runs for long."""
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
    frozen = gc.get_freeze_count()
    log.debug(
        "garbage collector: %d start-up objects frozen, generation 0 collected every %d "
        "allocations",
        frozen,
        gc.get_threshold()[0],
    )
    return frozen
