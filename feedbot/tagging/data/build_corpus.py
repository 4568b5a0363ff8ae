"""Rebuild ``train.jsonl`` and ``heldout.jsonl`` from the shared corpora and ``handwritten.txt``.

    python feedbot/tagging/data/build_corpus.py [PATH/TO/shared/corpora]

This is a maintenance script, not part of the running program: the two JSONL files it writes are
shipped, and nothing at run time reads the shared corpora. It documents, as code, how every label
was assigned (see ``PROVENANCE.md`` for the summary):

* a **source label**: every item of an AI-lab feed or the arXiv cs.AI feed is ``ai``, every item
  of a court feed or a law blog is ``law``; the other sources (general news, tech blogs, Reddit,
  podcasts, tweets…) default to no topic;
* **judgement overrides**: items a reviewer read and labelled differently (``_FEED_OVERRIDES``,
  ``_TWEET_LABELS``), for example AI-lab posts about the EU AI Act (``ai`` + ``law``), a Guardian
  story on a lawsuit (``law``) or a tweet about exam revision (``education``). The reviewer read
  every item of the general sources that matched a broad candidate list (school, student, court,
  law, sue, AI, robot, model…) and skimmed the rest;
* TweetTopic's ``learning_&_educational`` label was *not* copied: it covers self-help and trivia
  ("painkillers can lead to dependence") as much as schooling, so the tweets it marks were read
  and relabelled by hand like the others;
* the hand-written items carry their own labels.

Items are de-duplicated by normalised title, large feeds are capped (a deterministic sample by
hash), and the split is by a hash of the normalised title: about a quarter is held out. The held-out
file has exactly the evaluation format ``{"title", "summary", "url", "topics"}``; the training file
may carry optional ``arxiv_categories`` and always an ``origin`` naming where the item came from.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
HELDOUT_PERCENT = 25

_AI_OVERRIDES = {
    # AI-lab posts that are also about law (regulation, legislation, legal terms, litigation)
    "Expanded legal protections and improvements to our API": ["ai", "law"],
    "Third-party testing as a key ingredient of AI policy": ["ai", "law"],
    "The case for targeted regulation": ["ai", "law"],
    "Anthropic to sign the EU Code of Practice": ["ai", "law"],
    "Anthropic is endorsing SB 53": ["ai", "law"],
    "Sharing our compliance framework for California's Transparency in Frontier AI Act": [
        "ai",
        "law",
    ],
    "Statement on the US government directive to suspend access": ["ai", "law"],
    "Updates to Consumer Terms and Privacy Policy": ["ai", "law"],
    "Gemini Flash Gets Pricey, AI Act Delays": ["ai", "law"],
    "Qwen3.7-Max Challenges Google for Third Place": ["ai", "law"],
    "Meta Pivots From Open Weights, Big Pharma Bets On AI, Regulatory Patchwork": ["ai", "law"],
    "US vs. OpenAI": ["ai", "law"],
    # ... and also about education
    "Introducing Claude for Education": ["ai", "education"],
    "Anthropic Education Report: How university students use Claude": ["ai", "education"],
    "Advancing Claude for Education": ["ai", "education"],
    "Anthropic launches higher education advisory board and AI Fluency courses": [
        "ai",
        "education",
    ],
    "Anthropic Education Report: How educators use Claude": ["ai", "education"],
    "Anthropic Signs White House Pledge to America's Youth: Investing in AI Education": [
        "ai",
        "education",
    ],
    "Anthropic and Iceland announce one of the world’s first national AI education pilots": [
        "ai",
        "education",
    ],
    "Anthropic partners with Rwandan Government and ALX to bring AI education": ["ai", "education"],
    "Anthropic and Teach For All launch global AI training initiative for educators": [
        "ai",
        "education",
    ],
    "Anthropic and the Government of Rwanda sign MOU for AI in health and education": [
        "ai",
        "education",
    ],
    "Introducing Claude for Teachers": ["ai", "education"],
    "New national blueprint for embedding data-centric engineering skills in higher education": [
        "ai",
        "education",
    ],
    "Summer School in Responsible AI and Human Rights": ["ai", "education"],
    "Machine Learning for Real-World Change: Celebrating AI4Good Lab": ["ai", "education"],
}

# General sources: title prefix → topics, where the reviewer disagreed with "no topic".
_GENERAL_OVERRIDES = {
    "Winnipeg High School Orders Custom Hijabs": ["education"],
    "Building Bridges with Pope Francis and Students Over the Web": ["education"],
    "Elevate Web Design at the University Level": ["education"],
    "Brighter Horizons for Web Education": ["education"],
    "On ICT Seminars at IPS": ["education"],
    "Neuroplasticity in learning to read": ["education"],
    "Today I found out how to remotely control my high school student": ["education"],
    "White House Exempts YouTube From Web Privacy Rules": ["law"],
    "RIM's co-CEOs face record fines in options backdating": ["law"],
    "Who will prosecute Bush?": ["law"],
    "Trump sues over property tax bill": ["law"],
    "'A crisis for human rights': new index reveals global fall in basic justice": ["law"],
    "Lorde: Israeli fans sue activists": ["law"],
    "Bill Cosby wins defamation case": ["law"],
    "Obama Edicts Boost FOIA": ["law"],
    "2004 Larry Nassar investigation dropped": ["law"],
    "Danish teen fought off her attacker - now she'll face fine": ["law"],
    "Purchase orders and custom licenses": ["law"],
    "Brazil Seeks To Copy U.S. Gun Culture": ["law"],
    "Dall-E 2": ["ai"],
    "The role of\n": ["ai"],  # "The role of <scp>AI</scp> in ecology's …" (Crossref)
    "Deep reinforcement learning for conservation decisions": ["ai"],
}

# Items dropped because the reviewer could not decide (kept out rather than guessed).
_AMBIGUOUS = {
    "LPT: When starting univerity/college",
    '"Safe Space" Students Silence Asian Woman',
    "Prof Galloway's Career Advice",
    "Student Becomes Teacher - Google Compare",
    "Trump-Russia investigation: the key questions answered",
}

_TWEET_LABELS = {
    # education, by judgement (schools, teaching, studying and exams, courses, education policy)
    1469849483139633152: ["education"],
    1481355297025404928: ["education"],
    1481566689372344320: ["education"],
    1496122602976595968: ["education"],
    1498206333862318080: ["education"],
    1499051904864862208: ["education"],
    1504789712673951744: ["education"],
    1506058070320951296: ["education"],
    1516899255474167808: ["education"],
    1517533434964500480: ["education"],
    1518892387485229056: ["education"],
    1521308307612323840: ["education"],
    1522395471267782656: ["education"],
    1524690594278555648: ["education"],
    1524690595440177152: ["education"],
    1532270539569364992: ["education"],
    1547581428547739648: ["education"],
    1483288032333680640: ["education"],
    1483559824034050048: ["education"],
    1448740389222035456: ["education"],
    1451397900274044928: ["education"],
    1539578696683724800: ["education"],
    1555644557932564480: ["education"],
    1552534062283501568: ["education"],
    1455625758903209984: ["education"],
    1499051904680316928: ["education"],
    1529250642656567296: ["education"],
    # law, by judgement (trials, lawsuits, legislation, legal rules)
    1440496065631830016: ["law"],
    1456803520137531392: ["law"],
    1458494663673843712: ["law"],
    1506933840891322368: ["law"],
    1527348106190213120: ["law"],
    1526562932603162624: ["law"],
    1557849083624099840: ["law"],
    1436207808433827840: ["law"],
    1545829886836629504: ["law"],
}
_TWEET_AMBIGUOUS = {
    1546101677463597056,
    1466316201672392704,
    1495156234617602048,
    1453753422155436032,
    1450129543088517120,
    1462420531534254080,
}


@dataclass(frozen=True)
class FeedGroup:
    """Feeds labelled alike: a glob under real-feeds/, the default topics, a cap per file."""

    origin: str
    pattern: str
    topics: tuple[str, ...]
    cap: int = 10_000
    overrides: dict[str, list[str]] = field(default_factory=dict)


_FEEDS = (
    FeedGroup("ai-rss-feeds", "ai-rss-feeds/head/*.xml", ("ai",), 60, _AI_OVERRIDES),
    FeedGroup("arxiv-cs.AI", "arxiv/*.xml", ("ai",)),
    FeedGroup("hunch.net", "feedjira/historical/MachineLearningTheory.xml", ("ai",)),
    FeedGroup("juriscraper-opinions", "juriscraper-law/opinions/united_states/*", ("law",), 40),
    FeedGroup("juriscraper-oral-args", "juriscraper-law/oral_args/united_states/*", ("law",), 20),
    FeedGroup("juriscraper-pacer", "juriscraper-law/pacer/rss_feeds/*.xml", ("law",), 30),
    FeedGroup("ny-small-business-law", "feedjira/historical/NewYorkSmallBusinessLaw.xml", ("law",)),
    FeedGroup("general-feeds", "feedjira/head/*.xml", (), 12, _GENERAL_OVERRIDES),
    FeedGroup("general-feeds", "feedjira/historical/*.xml", (), 12, _GENERAL_OVERRIDES),
    FeedGroup("general-feeds", "feed-rs/*/*.xml", (), 12, _GENERAL_OVERRIDES),
    FeedGroup("general-feeds", "rss-parser/input/*", (), 25, _GENERAL_OVERRIDES),
    FeedGroup("general-feeds", "miniflux/parser/testdata/large_*.xml", (), 12, _GENERAL_OVERRIDES),
)
# Not English, or not prose (release lists, commit logs, test stubs): left out.
_SKIP = re.compile(
    r"(heise|uolNoticias|encoding|customfields|itunes-href|itunes-keywords|urdu|ilgiornale|"
    r"ilmessaggero|spiegel|spreaker|iso8859|rss_1\.0_example_1|rss_0\.91_missing_id|gulp-atom|"
    r"GeneralStudiesLounge|Communications\.xml|a10\.xml|Permalinks|InvalidDateFormat|"
    r"incomplete-fields|missing-fields|instant-article|heraldsun|pagination|FeedBurnerUrl|"
    r"Escaped|example_1|atom_xml_base|atom_relative|atom_spec|atom_pub_spec|"
    r"atom_simple|relurl_2|GoogleDocs|ITunesWith|item-itunes|_ghost_1|narro)"
)
_OWN_GROUP = {"MachineLearningTheory.xml", "NewYorkSmallBusinessLaw.xml"}


@dataclass(frozen=True)
class Example:
    title: str
    summary: str
    url: str
    topics: tuple[str, ...]
    origin: str
    arxiv_categories: tuple[str, ...] = ()


def main(argv: list[str]) -> int:
    corpora = Path(argv[1]) if len(argv) > 1 else HERE.parents[3] / "shared" / "corpora"
    examples = list(_dedupe([*_handwritten(), *_feeds(corpora), *_crossref(corpora)]))
    examples += _dedupe_against(examples, _tweets(corpora))
    train = [e for e in examples if not _held_out(e)]
    heldout = [e for e in examples if _held_out(e)]
    _write(HERE / "train.jsonl", train, extra=True)
    _write(HERE / "heldout.jsonl", heldout, extra=False)
    for name, part in (("train", train), ("heldout", heldout)):
        counts = Counter(t for e in part for t in e.topics)
        none = sum(1 for e in part if not e.topics)
        multi = sum(1 for e in part if len(e.topics) > 1)
        origins = Counter(e.origin for e in part)
        print(f"{name}: {len(part)} items, {dict(counts)}, none {none}, multi-label {multi}")
        print(f"  by origin: {dict(sorted(origins.items()))}")
    return 0


def _handwritten() -> Iterator[Example]:
    for line in (HERE / "handwritten.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        topics, title, summary, url = (part.strip() for part in line.split(" || "))
        labels = () if topics == "-" else tuple(topics.split(","))
        yield Example(title, summary, url, labels, "handwritten")


def _feeds(corpora: Path) -> Iterator[Example]:
    import feedparser  # the project's own dependency; only this script needs it here

    root = corpora / "real-feeds"
    for group in _FEEDS:
        for path in sorted(root.glob(group.pattern)):
            if path.suffix in (".json", ".txt", ".tsv", ".opml") or _SKIP.search(path.name):
                continue
            if group.origin == "general-feeds" and path.name in _OWN_GROUP:
                continue
            parsed = feedparser.parse(path.read_bytes())
            items: list[Example] = []
            forced: list[Example] = []
            for entry in parsed.entries:
                title = _clean(str(entry.get("title") or ""))
                if not title or any(title.startswith(p) for p in _AMBIGUOUS):
                    continue
                summary = _summary(str(entry.get("summary") or ""))
                categories = tuple(str(t["term"]) for t in entry.get("tags", []) if t.get("term"))
                topics = group.topics
                override = _override(group.overrides, title)
                if override is not None:
                    topics = tuple(override)
                arxiv = categories if group.origin == "arxiv-cs.AI" else ()
                example = Example(
                    title, summary, str(entry.get("link") or ""), topics, group.origin, arxiv
                )
                (forced if override is not None else items).append(example)
            items.sort(key=lambda e: _hash(e.title))
            yield from forced
            yield from items[: group.cap]


def _crossref(corpora: Path) -> Iterator[Example]:
    """Works from recorded Crossref answers (ecology, medicine…): real negatives with journals."""
    for path in sorted((corpora / "doi-arxiv" / "habanero-crossref").glob("test-works__*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for interaction in data.get("interactions", []):
            body = interaction["response"].get("body")
            message = body.get("message") if isinstance(body, dict) else None
            if not isinstance(message, dict):
                continue
            for work in message.get("items", [message]):
                titles = work.get("title") or []
                journal = (work.get("container-title") or [""])[0]
                if not titles or not journal:
                    continue
                raw = str(titles[0])
                title = _clean(re.sub(r"<[^>]+>", "", raw))
                override = _override(_GENERAL_OVERRIDES, raw)
                doi = str(work.get("DOI", ""))
                yield Example(
                    title,
                    f"{journal}.",
                    f"https://doi.org/{doi}" if doi else "",
                    tuple(override or ()),
                    "crossref",
                )


def _tweets(corpora: Path) -> Iterator[Example]:
    path = corpora / "social-posts" / "tweet_topicXL" / "en_1000.jsonl"
    unlabeled = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["id"] in _TWEET_AMBIGUOUS:
            continue
        text = _clean(record["text"])
        labels = _TWEET_LABELS.get(record["id"])
        example = Example(text, "", "", tuple(labels or ()), "tweet_topicXL")
        if labels:
            yield example
        else:
            unlabeled.append(example)
    unlabeled.sort(key=lambda e: _hash(e.title))
    yield from unlabeled[:500]


def _override(overrides: dict[str, list[str]], title: str) -> list[str] | None:
    return next((v for k, v in overrides.items() if title.startswith(k)), None)


def _summary(html: str) -> str:
    from bs4 import BeautifulSoup

    text = _clean(BeautifulSoup(html, "html.parser").get_text(" "))
    text = re.sub(r"^arXiv:\S+ Announce Type: \w+ Abstract: ", "", text)
    if len(text) > 500:
        text = text[:500].rsplit(" ", 1)[0] + " …"
    return text


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _key(title: str) -> str:
    return re.sub(r"\W+", " ", title.casefold()).strip()


def _hash(text: str) -> str:
    return hashlib.sha1(_key(text).encode()).hexdigest()


def _held_out(example: Example) -> bool:
    return int(_hash(example.title)[:8], 16) % 100 < HELDOUT_PERCENT


def _dedupe(examples: Iterable[Example]) -> Iterator[Example]:
    seen: set[str] = set()
    for example in examples:
        key = _key(example.title)
        if key and key not in seen:
            seen.add(key)
            yield example


def _dedupe_against(kept: list[Example], more: Iterable[Example]) -> list[Example]:
    seen = {_key(e.title) for e in kept}
    return [e for e in _dedupe(more) if _key(e.title) not in seen]


def _write(path: Path, examples: list[Example], extra: bool) -> None:
    with path.open("w", encoding="utf-8") as out:
        for e in examples:
            record: dict[str, object] = {
                "title": e.title,
                "summary": e.summary,
                "url": e.url,
                "topics": list(e.topics),
            }
            if extra:
                if e.arxiv_categories:
                    record["arxiv_categories"] = list(e.arxiv_categories)
                record["origin"] = e.origin
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
