"""Tagging benchmark: items/s of the tagger (rules + model) on one core, model training time on
the shipped corpus, and the held-out quality.

N items (default 50,000) are generated deterministically (``random.Random(--seed)``) from the
shipped corpus (``feedbot/tagging/data/*.jsonl``: news headlines, lab posts, court dockets,
tweets, hand-written items) with variations, so that they are varied, realistic and not exact
repeats:

* the title gets words added, dropped or swapped (from the bench's shared word list);
* about half take the summary of another item, a third have none, the rest keep their own;
* URLs are kept, moved to another path on the same host, or replaced with a general news site;
* about 10 % carry the source defaults a feed would give, 3 % arXiv categories, 3 % a journal.

Timed, with ``time.perf_counter`` and nothing else in the loop, in this one process (pinned to
one CPU where the platform allows):

* ``train``: ``TopicModel.train`` on ``data/train.jsonl`` (what the first tagging of a process
  pays; scikit-learn's import is timed apart);
* ``tag_many`` over all N items, ``--runs`` times after a warm-up pass; the median is reported;
* for comparison: rules only (``model=None``), and ``tag`` called item by item on a sample.

Checked before any figure is printed: every run gives the same answers, and each default topic is
assigned to some items. The held-out file is then evaluated (``macro_f1``), with and without the
items' URLs (``macro_f1_text_only``: no domain rules).

Target: ≥ 5,000 items/s (``--check`` exits 1 when it is missed).

    .venv/bin/python bench/tagging.py            # 50,000 items
    .venv/bin/python bench/tagging.py --quick    # 5,000 items, a smoke test

The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import WORDS, BenchError, emit_json, one_core_args, pin_one_cpu, rounded

from feedbot.tagging import (
    DEFAULT_TOPICS,
    HELDOUT_FILE,
    TRAIN_FILE,
    ItemText,
    LabeledItem,
    Tagger,
    TopicModel,
    evaluate,
    load_examples,
)

TARGET = 5_000.0  # items/s
DEFAULT_ITEMS = 50_000
QUICK_ITEMS = 5_000
ONE_BY_ONE = 2_000  # items tagged with tag() one at a time, for comparison

_NEWS_HOSTS = (
    "https://www.nytimes.com/2026/02/17/us/",
    "https://www.theguardian.com/world/2026/feb/17/",
    "https://www.reuters.com/world/",
    "https://www.bbc.com/news/articles/",
    "https://www.theverge.com/2026/2/17/",
    "https://apnews.com/article/",
)
_ARXIV = (("cs.AI",), ("cs.CL", "cs.LG"), ("cs.CY",), ("q-bio.NC",), ("stat.ML", "math.ST"))
_JOURNALS = ("Language Teaching Research", "Ecology Letters", "Harvard Law Review", "PLoS ONE")


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        return _run(args)
    except BenchError as e:
        print(f"bench/tagging.py: FAILED: {e}", file=sys.stderr)
        return 1


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    return one_core_args(
        argv,
        "Time the tagger over N generated items on one core, and model training.",
        "items",
        DEFAULT_ITEMS,
        QUICK_ITEMS,
        runs=3,
    )


def _run(args: argparse.Namespace) -> int:
    pinned = pin_one_cpu() if not args.no_pin else None
    corpus = load_examples(TRAIN_FILE)
    heldout = load_examples(HELDOUT_FILE)
    started = time.perf_counter()
    items = make_items(args.count, [*corpus, *heldout], seed=args.seed)
    generate_seconds = time.perf_counter() - started
    chars = sum(len(i.title) + len(i.summary) for i in items)
    print(
        f"tagging benchmark: {len(items):,} items, {chars / len(items):.0f} characters of title "
        f"and summary on average; generated in {generate_seconds:.2f} s (seed {args.seed})",
        flush=True,
    )
    print(
        f"one core: {'pinned to CPU ' + str(pinned) if pinned is not None else 'not pinned'} "
        f"of {os.cpu_count()}; Python {sys.version.split()[0]}; {args.runs} timed run(s) after "
        "a warm-up pass",
        flush=True,
    )

    started = time.perf_counter()
    import sklearn  # noqa: F401  (timed apart from training)

    import_seconds = time.perf_counter() - started
    labeled = sorted({t for e in corpus for t in e.topics})
    started = time.perf_counter()
    model = TopicModel.train(corpus, labeled)
    train_seconds = time.perf_counter() - started
    print(
        f"training: {train_seconds:.2f} s on {len(corpus):,} items ({', '.join(labeled)}); "
        f"importing scikit-learn took {import_seconds:.2f} s before that"
    )

    tagger = Tagger(DEFAULT_TOPICS, model=model)
    first = tagger.tag_many(items)  # warm-up, and the answers checked below
    runs: list[float] = []
    for _ in range(args.runs):
        started = time.perf_counter()
        answers = tagger.tag_many(items)
        runs.append(time.perf_counter() - started)
        if answers != first:
            raise BenchError("two runs over the same items gave different topics")
    counts = {
        t.id: sum(1 for a in first if any(x.topic_id == t.id for x in a)) for t in DEFAULT_TOPICS
    }
    if not all(counts.values()):
        raise BenchError(f"a default topic was never assigned: {counts}")

    rules_only = Tagger(DEFAULT_TOPICS, model=None)
    rules_only.tag_many(items[:1000])
    rules_runs: list[float] = []
    for _ in range(args.runs):
        started = time.perf_counter()
        rules_only.tag_many(items)
        rules_runs.append(time.perf_counter() - started)

    sample = items[:ONE_BY_ONE]
    started = time.perf_counter()
    for item in sample:
        tagger.tag(item)
    one_by_one = len(sample) / (time.perf_counter() - started)

    report = evaluate(tagger, heldout)
    text_only = evaluate(
        tagger, [dataclasses.replace(e, item=dataclasses.replace(e.item, url="")) for e in heldout]
    )

    seconds = statistics.median(runs)
    rate = len(items) / seconds
    rules_rate = len(items) / statistics.median(rules_runs)
    met = rate >= TARGET
    none = sum(1 for a in first if not a)
    print()
    print(
        "assigned: "
        + ", ".join(f"{topic} {count:,}" for topic, count in counts.items())
        + f", none {none:,}; every run gave the same answers"
    )
    print(
        f"time: {seconds:.3f} s per pass (median of {', '.join(f'{s:.3f}' for s in runs)} s) "
        f"= {rate:,.0f} items/s, {seconds / len(items) * 1e6:.1f} µs per item (rules + model)"
    )
    print(f"rules only: {rules_rate:,.0f} items/s; tag() one item at a time: {one_by_one:,.0f}/s")
    print(
        f"held-out ({report.items} items): macro-F1 {report.macro_f1:.4f} ("
        + ", ".join(f"{t} {m.f1:.4f}" for t, m in report.topics.items())
        + f"); without URLs {text_only.macro_f1:.4f}"
    )
    print(f"≥ {TARGET:,.0f} items/s: {'met' if met else 'MISSED'}")

    figures: dict[str, Any] = {
        "bench": "tagging",
        "items": len(items),
        "seed": args.seed,
        "mean_chars": rounded(chars / len(items), 1),
        "runs": args.runs,
        "runs_seconds": [rounded(s, 4) for s in runs],
        "seconds": rounded(seconds, 4),
        "items_per_s": rounded(rate, 1),
        "us_per_item": rounded(seconds / len(items) * 1e6, 2),
        "items_per_s_rules_only": rounded(rules_rate, 1),
        "items_per_s_one_by_one": rounded(one_by_one, 1),
        "train_seconds": rounded(train_seconds, 3),
        "train_items": len(corpus),
        "sklearn_import_seconds": rounded(import_seconds, 3),
        "assigned": counts,
        "macro_f1": rounded(report.macro_f1, 4),
        "f1": {t: rounded(m.f1, 4) for t, m in report.topics.items()},
        "macro_f1_text_only": rounded(text_only.macro_f1, 4),
        "heldout_items": report.items,
        "peak_rss_mb": rounded(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "pinned_cpu": pinned,
        "python": sys.version.split()[0],
        "targets": {"items_per_s": TARGET},
        "targets_met": met,
    }
    emit_json(figures)
    return 1 if args.check and not met else 0


def make_items(count: int, corpus: list[LabeledItem], seed: int = 1) -> list[ItemText]:
    """``count`` deterministic items varied from the corpus (see the module docstring)."""
    rng = random.Random(seed)
    return [_item(rng, corpus) for _ in range(count)]


def _item(rng: random.Random, corpus: list[LabeledItem]) -> ItemText:
    base = rng.choice(corpus).item
    words = base.title.split()
    for _ in range(rng.randint(0, 3)):
        change = rng.random()
        if change < 0.4 or len(words) < 3:
            words.insert(rng.randint(0, len(words)), rng.choice(WORDS))
        elif change < 0.7:
            words.pop(rng.randrange(len(words)))
        else:
            words[rng.randrange(len(words))] = rng.choice(WORDS)
    roll = rng.random()
    if roll < 0.5:
        summary = rng.choice(corpus).item.summary
    elif roll < 0.83:
        summary = ""
    else:
        summary = base.summary
    url = base.url
    roll = rng.random()
    if roll < 0.3 and url:
        url = url.rstrip("/") + f"/{rng.randrange(10**6)}"
    elif roll < 0.6 or not url:
        url = rng.choice(_NEWS_HOSTS) + "-".join(words[:6]).lower()
    return ItemText(
        " ".join(words),
        summary,
        url,
        source_topics=(rng.choice(("education", "ai", "law")),) if rng.random() < 0.1 else (),
        arxiv_categories=rng.choice(_ARXIV) if rng.random() < 0.03 else (),
        journal=rng.choice(_JOURNALS) if rng.random() < 0.03 else "",
    )


if __name__ == "__main__":
    sys.exit(main())
