"""Research-identifier benchmark: detect DOIs and arXiv ids in N mixed social posts, one core.

N posts (default 100,000) are generated deterministically (``random.Random(--seed)``), 100 to 400
characters of post-like prose each:

* about 75 % plain text without an identifier, many with look-alikes that reach the regexes:
  version numbers ("10.5.2"), dates ("10.12.2023"), IP addresses, prices, "arXiv" alone, bare
  "2401.01234", URLs of news sites;
* about 10 % with one DOI (or two): a doi.org or dx.doi.org link, ``doi:10.…``, ``DOI 10.…``, a
  bare DOI closing an APA reference, a publisher URL (Wiley /doi/full/, Taylor & Francis
  /doi/abs/, Springer /article/, SAGE /doi/, PLOS ?id=), in parentheses or before a full stop;
* about 8 % with an arXiv id: ``arXiv:2401.01234v2``, ``arXiv 2401.01234``, arxiv.org/abs/,
  /pdf/….pdf, /html/, export.arxiv.org, old style ``arXiv:hep-th/9901001``;
* about 4 % with a DOI cut short as X shows it (``doi.org/10.1177/136216…``);
* about 3 % with a DOI and an arXiv id (a preprint and its published version).

Timed, with ``time.perf_counter`` and nothing else in the loop: ``dois_in_text``,
``arxiv_ids_in_text`` and ``truncated_dois_in_text`` on every post, in this one process (pinned to
one CPU where the platform allows), ``--runs`` times after a warm-up pass; the median run is
reported. Checked before any figure is printed: every post gives exactly the identifiers put into
it (and no other), so a fast but wrong detector fails the benchmark.

Target: ≥ 20,000 posts/s (``--check`` exits 1 when it is missed).

    .venv/bin/python bench/research.py            # 100,000 posts
    .venv/bin/python bench/research.py --quick    # 10,000 posts, a smoke test

The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import WORDS, BenchError, emit_json, one_core_args, pin_one_cpu, rounded

from feedbot.links.arxiv import arxiv_ids_in_text
from feedbot.links.doi import dois_in_text, truncated_dois_in_text
from feedbot.links.recover import looks_like_reference, parse_reference

TARGET = 20_000.0  # posts/s
DEFAULT_POSTS = 100_000
QUICK_POSTS = 10_000


@dataclass(frozen=True)
class Post:
    text: str
    dois: tuple[str, ...]  # normalized, as put in
    arxiv_ids: tuple[str, ...]
    truncated: tuple[str, ...]  # prefixes


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    try:
        return _run(args)
    except BenchError as e:
        print(f"bench/research.py: FAILED: {e}", file=sys.stderr)
        return 1


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    return one_core_args(
        argv,
        "Time DOI and arXiv-id detection over N generated posts on one core.",
        "posts",
        DEFAULT_POSTS,
        QUICK_POSTS,
        runs=5,
    )


def _run(args: argparse.Namespace) -> int:
    pinned = pin_one_cpu() if not args.no_pin else None
    started = time.perf_counter()
    posts = make_posts(args.count, seed=args.seed)
    generate_seconds = time.perf_counter() - started
    texts = [post.text for post in posts]
    chars = sum(len(text) for text in texts)
    kinds = {
        "with a DOI": sum(bool(p.dois) for p in posts),
        "with an arXiv id": sum(bool(p.arxiv_ids) for p in posts),
        "with a cut DOI": sum(bool(p.truncated) for p in posts),
        "with none": sum(not (p.dois or p.arxiv_ids or p.truncated) for p in posts),
    }
    print(
        f"research benchmark: {len(posts):,} posts, {chars / len(posts):.0f} characters on "
        f"average ({min(map(len, texts))}–{max(map(len, texts))}); "
        + ", ".join(f"{count:,} {kind}" for kind, count in kinds.items())
        + f"; generated in {generate_seconds:.2f} s (seed {args.seed})",
        flush=True,
    )
    print(
        f"one core: {'pinned to CPU ' + str(pinned) if pinned is not None else 'not pinned'} "
        f"of {os.cpu_count()}; Python {sys.version.split()[0]}; {args.runs} timed run(s) after "
        "a warm-up pass",
        flush=True,
    )

    found = _detect(texts)  # warm-up, and the answers checked below
    _verify(posts, found)

    runs = [_timed_pass(texts, references=False) for _ in range(args.runs)]
    # What the ingest stage does with a post's text on top: the cheap citation pre-check, and
    # the reference parser where it fires (feedbot.links.shares).
    with_references = [_timed_pass(texts, references=True) for _ in range(args.runs)]
    references = sum(1 for text in texts if looks_like_reference(text))

    seconds = statistics.median(runs)
    rate = len(posts) / seconds
    dois_found = sum(len(d) for d, _, _ in found)
    arxiv_found = sum(len(a) for _, a, _ in found)
    truncated_found = sum(len(t) for _, _, t in found)
    met = rate >= TARGET

    print()
    print(
        f"detected: {dois_found:,} DOIs in {sum(bool(d) for d, _, _ in found):,} posts, "
        f"{arxiv_found:,} arXiv ids in {sum(bool(a) for _, a, _ in found):,} posts, "
        f"{truncated_found:,} cut DOIs; every post gave exactly what it holds"
    )
    print(
        f"time: {seconds:.3f} s per pass (median of {', '.join(f'{s:.3f}' for s in runs)} s) "
        f"= {rate:,.0f} posts/s, {seconds / len(posts) * 1e6:.1f} µs per post "
        f"(three detectors)"
    )
    full = statistics.median(with_references)
    print(
        f"with the citation-text check as ingest runs it ({references:,} posts look like a "
        f"reference and are parsed): {len(posts) / full:,.0f} posts/s"
    )
    print(f"≥ {TARGET:,.0f} posts/s: {'met' if met else 'MISSED'}")

    figures: dict[str, Any] = {
        "bench": "research",
        "posts": len(posts),
        "seed": args.seed,
        "mean_chars": rounded(chars / len(posts), 1),
        "runs": args.runs,
        "runs_seconds": [rounded(s, 4) for s in runs],
        "seconds": rounded(seconds, 4),
        "posts_per_s": rounded(rate, 1),
        "posts_per_s_with_references": rounded(len(posts) / full, 1),
        "posts_looking_like_references": references,
        "us_per_post": rounded(seconds / len(posts) * 1e6, 2),
        "dois_found": dois_found,
        "arxiv_found": arxiv_found,
        "truncated_found": truncated_found,
        "posts_with_doi": kinds["with a DOI"],
        "posts_with_arxiv": kinds["with an arXiv id"],
        "posts_with_cut_doi": kinds["with a cut DOI"],
        "pinned_cpu": pinned,
        "python": sys.version.split()[0],
        "targets": {"posts_per_s": TARGET},
        "targets_met": met,
    }
    emit_json(figures)
    return 1 if args.check and not met else 0


def _detect(texts: list[str]) -> list[tuple[list[str], list[str], list[str]]]:
    return [
        (
            dois_in_text(text),
            arxiv_ids_in_text(text),
            [cut.prefix for cut in truncated_dois_in_text(text)],
        )
        for text in texts
    ]


def _timed_pass(texts: list[str], references: bool) -> float:
    """Seconds to run the three detectors (and the citation-text check) over every text."""
    started = time.perf_counter()
    for text in texts:
        dois_in_text(text)
        arxiv_ids_in_text(text)
        truncated_dois_in_text(text)
        if references and looks_like_reference(text):
            parse_reference(text)
    return time.perf_counter() - started


def _verify(posts: list[Post], found: list[tuple[list[str], list[str], list[str]]]) -> None:
    wrong = [
        (post, answer)
        for post, answer in zip(posts, found, strict=True)
        if answer != (list(post.dois), list(post.arxiv_ids), list(post.truncated))
    ]
    if wrong:
        lines = [
            f"  {post.text!r}\n    expected {post.dois}, {post.arxiv_ids}, {post.truncated}; "
            f"found {answer}"
            for post, answer in wrong[:5]
        ]
        raise BenchError(
            f"{len(wrong):,} post(s) gave other identifiers than they hold:\n" + "\n".join(lines)
        )


# -- generated posts ---------------------------------------------------------------------------

# The feed benchmark's prose, plus words research posts use.
_WORDS = [*WORDS, "paper", "preprint", "evidence", "effect", "results", "sample", "survey"]
_LOOKALIKES = (
    "version 10.5.2 is out",
    "macOS 10.15.7 broke it",
    "on 10.12.2023 at 10.30",
    "ping 10.0.0.1 first",
    "tickets $10.99 each",
    "a 10.5% rise",
    "I read it on arXiv yesterday",
    "arXiv is slow today",
    "we ran 2401.01234 trials",
    "see page 10.1234",
    "Python 3.10.12",
    "R²=0.91 for cities",
    "2.02 hours to 1.80 hours",
)
_NEWS = (
    "https://www.chalkbeat.org/2026/02/17/teacher-transfer-program-study/",
    "https://t.co/4JZ31G6lc7",
    "nytimes.com/2026/02/17/us/schools.html",
    "https://github.com/karpathy/nanochat",
    "https://www.theverge.com/2026/1/2/ai-policy",
    "chalkbeat.org/2026/02/17/tea…",
    "cambridge.org/core/journals/…",
)
_REGISTRANTS = ("1177", "1016", "1007", "1080", "1111", "1371", "1038", "1145", "5281", "1002")
_ARCHIVES = ("hep-th", "hep-ph", "astro-ph", "cond-mat", "quant-ph", "math", "cs", "gr-qc")


def make_posts(count: int, seed: int = 1) -> list[Post]:
    """``count`` deterministic posts, each with the identifiers it holds."""
    rng = random.Random(seed)
    return [_post(rng) for _ in range(count)]


def _post(rng: random.Random) -> Post:
    roll = rng.random()
    dois: list[str] = []
    ids: list[str] = []
    cut: list[str] = []
    pieces: list[str] = []
    if roll < 0.10:
        for _ in range(1 if rng.random() < 0.85 else 2):
            shown, doi = _doi_form(rng)
            pieces.append(shown)
            if doi not in dois:
                dois.append(doi)
    elif roll < 0.18:
        shown, arxiv_id = _arxiv_form(rng)
        pieces.append(shown)
        ids.append(arxiv_id)
    elif roll < 0.22:
        shown, prefix = _cut_doi(rng)
        pieces.append(shown)
        cut.append(prefix)
    elif roll < 0.25:
        shown, arxiv_id = _arxiv_form(rng)
        doi_shown, doi = _doi_form(rng)
        pieces += [f"Preprint {shown}, now published:", doi_shown]
        ids.append(arxiv_id)
        dois.append(doi)
    else:
        if rng.random() < 0.5:
            pieces.append(rng.choice(_LOOKALIKES))
        if rng.random() < 0.4:
            pieces.append(rng.choice(_NEWS))
    target = rng.randint(100, 400)
    body = _prose(rng, max(20, target - sum(len(p) + 1 for p in pieces)))
    words = body.split(" ")
    # The pieces go into the second half of the post, in their order.
    slots = sorted(rng.randint(len(words) // 2, len(words)) for _ in pieces)
    for slot, piece in reversed(list(zip(slots, pieces, strict=True))):
        words.insert(slot, piece)
    return Post(text=" ".join(words), dois=tuple(dois), arxiv_ids=tuple(ids), truncated=tuple(cut))


def _prose(rng: random.Random, length: int) -> str:
    words: list[str] = []
    size = 0
    while size < length:
        word = rng.choice(_WORDS)
        words.append(word)
        size += len(word) + 1
    sentence = " ".join(words)
    return sentence[:1].upper() + sentence[1:] + "."


def _suffix(rng: random.Random, registrant: str) -> str:
    year = rng.randint(2005, 2025)
    n = rng.randint(1, 99999)
    if registrant == "1016":
        return f"j.compedu.{year}.{100000 + n}"
    if registrant == "1007":
        return f"s{rng.randint(10000, 19999)}-0{year % 100:02d}-{n:05d}-{rng.randint(1, 9)}"
    if registrant == "1371":
        return f"journal.pone.{n:07d}"
    if registrant == "5281":
        return f"zenodo.{rng.randint(1000000, 9999999)}"
    if registrant == "1002":
        return f"(SICI)1097-4636(1997{rng.randint(1, 12):02d})35:4<459::AID-JBM5>3.0.CO;2-I"
    if registrant == "1111":
        return f"bjet.{rng.randint(10000, 13999)}"
    return f"{1362168800000000 + n * 7}"


def _doi_form(rng: random.Random) -> tuple[str, str]:
    """A DOI as posts show it, and its normalized form."""
    registrant = rng.choice(_REGISTRANTS)
    doi = f"10.{registrant}/{_suffix(rng, registrant)}"
    form = rng.randrange(10)
    if registrant == "1002":  # an old SICI DOI: only in doi: or doi.org forms
        form %= 2
    shown = {
        0: f"doi:{doi}",
        1: f"https://doi.org/{doi}",
        2: f"http://dx.doi.org/{doi}",
        3: f"DOI {doi}.",
        4: f"Language Teaching Research, 16(2), 253–279. {doi}",
        5: f"(https://onlinelibrary.wiley.com/doi/full/{doi})",
        6: f"https://www.tandfonline.com/doi/abs/{doi}?journalCode=rred20",
        7: f"https://link.springer.com/article/{doi}",
        8: f"https://journals.sagepub.com/doi/{doi}",
        9: f"https://journals.plos.org/plosone/article?id={doi}",
    }[form]
    return shown, doi.lower()


def _arxiv_form(rng: random.Random) -> tuple[str, str]:
    """An arXiv id as posts show it, and its normalized form."""
    if rng.random() < 0.1:
        arxiv_id = f"{rng.choice(_ARCHIVES)}/{rng.randint(92, 99)}{rng.randint(1, 12):02d}" + (
            f"{rng.randint(1, 999):03d}"
        )
        return rng.choice((f"arXiv:{arxiv_id}", f"https://arxiv.org/abs/{arxiv_id}v2")), arxiv_id
    arxiv_id = f"{rng.randint(15, 26)}{rng.randint(1, 12):02d}.{rng.randint(1, 29999):05d}"
    version = f"v{rng.randint(1, 4)}" if rng.random() < 0.5 else ""
    shown = rng.choice(
        (
            f"arXiv:{arxiv_id}{version}",
            f"arXiv {arxiv_id}{version}",
            f"https://arxiv.org/abs/{arxiv_id}{version}",
            f"arxiv.org/pdf/{arxiv_id}{version}.pdf",
            f"https://arxiv.org/html/{arxiv_id}{version or 'v1'}",
            f"(export.arxiv.org/abs/{arxiv_id})",
        )
    )
    return shown, arxiv_id


def _cut_doi(rng: random.Random) -> tuple[str, str]:
    """A DOI link cut short as X shows it, and the prefix left."""
    registrant = rng.choice(_REGISTRANTS[:6])
    doi = f"10.{registrant}/{_suffix(rng, registrant)}"
    keep = rng.randint(len(registrant) + 5, len(doi) - 1)
    return f"doi.org/{doi[:keep]}…", doi[:keep].lower()


if __name__ == "__main__":
    sys.exit(main())
