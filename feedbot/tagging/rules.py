"""The rules: every piece of evidence the taxonomy itself gives for or against each topic.

Text is split into word tokens once (possessive ``'s`` dropped, so "Moore's law" and "AI's" are
"Moore law" and "AI"; a single letter keeps a following full stop, so "v." in "Smith v. Jones" is
a token). Every keyword, phrase, negative keyword and cited journal of every topic sits in one
dictionary keyed by its lowercased token sequence, expanded with simple inflections of its last
word (teacher → teachers, sue → sued/suing, study → studies). Matching is one left-to-right pass
with dictionary look-ups, so its cost grows with the text, not with the size of the taxonomy::

    tokens ──► at each position, longest entry first, per topic ──► a match "consumes" its tokens
               for that topic: "Moore's law" (negative) stops "law" (keyword) counting for law

Tokens written in capitals in the taxonomy ("AI", "LLM", "AI Act") must appear in capitals in the
text, so "AI" is not found in "said" (whole tokens only) nor in "Ai Weiwei"; every other token
matches in any case. A word counts once per field; the title weighs more than the summary.

Metadata rules need no text: the URL's host (subdomains included) against ``domains``, the item's
arXiv categories, journal name, ISSNs and Crossref subjects, and the default topics of the sources
that shared it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from feedbot.tagging.records import Evidence, EvidenceKind, ItemText
from feedbot.tagging.taxonomy import TopicSettings

# Weights of text evidence, per field. Keywords in the summary count half as much as in the
# title; positive text evidence per topic is capped, so that a long text that repeats a topic's
# vocabulary scores like a short one that clearly belongs.
TITLE_WEIGHTS: dict[EvidenceKind, float] = {
    "keyword": 1.0,
    "phrase": 1.5,
    "journal": 1.5,
    "negative": -1.5,
}
SUMMARY_WEIGHTS: dict[EvidenceKind, float] = {
    "keyword": 0.5,
    "phrase": 1.0,
    "journal": 1.0,
    "negative": -1.0,
}
TEXT_CAP = 3.0
DOMAIN_WEIGHT = 2.0
SOURCE_WEIGHT = 2.0
ARXIV_WEIGHT = 2.5
JOURNAL_WEIGHT = 2.5  # the item's own journal (by name or ISSN), not a citation in its text
SUBJECT_WEIGHT = 2.0
MIN_CITED_JOURNAL_WORDS = 3  # shorter names ("Machine Learning") are too common in prose

_TOKEN = re.compile(r"\b\w\.(?!\w)|\w+(?:'\w+)*")
_VOWELS = frozenset("aeiou")


def tokenize(text: str) -> list[str]:
    """Word tokens of ``text`` in their original case (see the module docstring)."""
    tokens = _TOKEN.findall(text.replace("’", "'"))
    return [t[:-2] if t.endswith(("'s", "'S")) else t for t in tokens]


def inflections(word: str) -> set[str]:
    """``word`` and its simple English inflections: -s/-es, -ed, -ing (with the usual spelling
    changes for final e and consonant + y). Capitals: only the plural ``-s`` (LLM → LLMs)."""
    if is_acronym(word):
        return {word, word + "s"}
    forms = {word}
    if not word.isalpha() or len(word) < 2:
        return forms
    if word.endswith("y") and word[-2] not in _VOWELS:
        forms |= {word[:-1] + "ies", word[:-1] + "ied", word + "ing"}
    elif word.endswith("e"):
        forms |= {word + "s", word + "d", word[:-1] + "ing"}
    elif word.endswith(("s", "x", "z", "ch", "sh")):
        forms |= {word + "es", word + "ed", word + "ing"}
    else:
        forms |= {word + "s", word + "ed", word + "ing"}
    return forms


def is_acronym(token: str) -> bool:
    """A token written in capitals (at least two letters): matched case-sensitively."""
    letters = [c for c in token if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


@dataclass(frozen=True)
class _Entry:
    topic: int
    kind: EvidenceKind
    label: str  # as written in the taxonomy
    length: int  # in tokens
    exact: tuple[tuple[int, str], ...]  # (offset, spelling) of tokens that must match exactly


@dataclass(frozen=True)
class _Domain:
    topic: int
    path: str  # "" or a path prefix such as "/mindshift"
    label: str


class Rules:
    """The compiled taxonomy. :meth:`evidence` gives, per topic, the rule evidence for an item."""

    def __init__(self, topics: Sequence[TopicSettings]) -> None:
        self.topic_ids = tuple(t.id for t in topics)
        self._index: dict[tuple[str, ...], list[_Entry]] = {}
        self._lengths: dict[str, list[int]] = {}  # first token → entry lengths > 1, longest first
        self._domains: dict[str, list[_Domain]] = {}
        self._arxiv: dict[str, list[int]] = {}
        self._journals: dict[str, list[int]] = {}
        self._issns: dict[str, list[int]] = {}
        self._subjects: dict[str, list[int]] = {}
        for i, topic in enumerate(topics):
            text_rules: tuple[tuple[EvidenceKind, list[str]], ...] = (
                ("negative", topic.negative_keywords),
                ("phrase", topic.phrases),
                ("keyword", topic.keywords),
            )
            for kind, words in text_rules:
                for word in words:
                    self._add_text(i, kind, word)
            for journal in topic.journals:
                if len(tokenize(journal)) >= MIN_CITED_JOURNAL_WORDS:
                    self._add_text(i, "journal", journal, inflect=False)
                self._journals.setdefault(_journal_key(journal), []).append(i)
            for domain in topic.domains:
                bare = re.sub(r"^[a-z]+://", "", domain.strip().lower()).removeprefix("www.")
                host, _, path = bare.partition("/")
                entry = _Domain(i, "/" + path.strip("/") if path else "", domain)
                self._domains.setdefault(host, []).append(entry)
            for category in topic.arxiv_categories:
                self._arxiv.setdefault(category.strip().casefold(), []).append(i)
            for issn in topic.issns:
                self._issns.setdefault(_issn_key(issn), []).append(i)
            for subject in topic.subjects:
                self._subjects.setdefault(subject.strip().casefold(), []).append(i)
        for lengths in self._lengths.values():
            lengths.sort(reverse=True)

    def _add_text(self, topic: int, kind: EvidenceKind, text: str, inflect: bool = True) -> None:
        tokens = tokenize(text)
        if not tokens:
            return
        last_forms = inflections(tokens[-1]) if inflect else {tokens[-1]}
        for last in sorted(last_forms):
            variant = [*tokens[:-1], last]
            exact = tuple((k, t) for k, t in enumerate(variant) if is_acronym(t))
            key = tuple(t.lower() for t in variant)
            entries = self._index.setdefault(key, [])
            if not any(e.topic == topic and e.kind == kind for e in entries):
                entries.append(_Entry(topic, kind, text.strip(), len(key), exact))
            if len(key) > 1 and len(key) not in self._lengths.setdefault(key[0], []):
                self._lengths[key[0]].append(len(key))

    # -- evidence ----------------------------------------------------------------------------

    def evidence(self, item: ItemText) -> list[list[Evidence]]:
        """Per topic (in taxonomy order), every piece of rule evidence for ``item``."""
        found: list[list[Evidence]] = [[] for _ in self.topic_ids]
        title_hits = self._text_hits(item.title)
        summary_hits = self._text_hits(item.summary)
        for i, evidence in enumerate(found):
            self._text_evidence(evidence, title_hits[i], summary_hits[i])
        self._metadata_evidence(item, found)
        return found

    def _text_hits(self, text: str) -> list[dict[tuple[EvidenceKind, str], None]]:
        """Per topic, the (kind, label) pairs found in ``text``, in order of appearance."""
        hits: list[dict[tuple[EvidenceKind, str], None]] = [{} for _ in self.topic_ids]
        if not text:
            return hits
        tokens = tokenize(text)
        lowered = [t.lower() for t in tokens]
        free_from = [0] * len(self.topic_ids)  # per topic: first token not consumed yet
        index, lengths = self._index, self._lengths
        count = len(tokens)
        for start, first in enumerate(lowered):
            candidates = lengths.get(first)
            if candidates:
                for length in candidates:
                    if start + length <= count:
                        entries = index.get(tuple(lowered[start : start + length]))
                        if entries:
                            self._take(entries, tokens, start, free_from, hits)
            entries = index.get((first,))
            if entries:
                self._take(entries, tokens, start, free_from, hits)
        return hits

    @staticmethod
    def _take(
        entries: list[_Entry],
        tokens: list[str],
        start: int,
        free_from: list[int],
        hits: list[dict[tuple[EvidenceKind, str], None]],
    ) -> None:
        for entry in entries:
            if free_from[entry.topic] > start:
                continue  # a longer entry of this topic already covers this token
            if any(not _same(tokens[start + k], spelling) for k, spelling in entry.exact):
                continue
            free_from[entry.topic] = start + entry.length
            hits[entry.topic][(entry.kind, entry.label)] = None

    @staticmethod
    def _text_evidence(
        evidence: list[Evidence],
        title: dict[tuple[EvidenceKind, str], None],
        summary: dict[tuple[EvidenceKind, str], None],
    ) -> None:
        positive = 0.0
        fields = (("title", title, TITLE_WEIGHTS), ("text", summary, SUMMARY_WEIGHTS))
        for field, hits, weights in fields:
            for kind, label in hits:
                if field == "text" and (kind, label) in title:
                    continue  # counted once, where it weighs most
                weight = weights[kind]
                if weight > 0:
                    weight = min(weight, TEXT_CAP - positive)
                    if weight <= 0:
                        continue
                    positive += weight
                evidence.append(Evidence(kind, f"{field}: {label}", weight))

    def _metadata_evidence(self, item: ItemText, found: list[list[Evidence]]) -> None:
        if item.url:
            for domain in self._matching_domains(item.url):
                found[domain.topic].append(Evidence("domain", domain.label, DOMAIN_WEIGHT))
        for source_topic in dict.fromkeys(item.source_topics):
            if source_topic in self.topic_ids:
                i = self.topic_ids.index(source_topic)
                found[i].append(Evidence("source", "a source's default topic", SOURCE_WEIGHT))
        for category in item.arxiv_categories:
            for i in self._arxiv.get(category.strip().casefold(), ()):
                found[i].append(Evidence("arxiv", category.strip(), ARXIV_WEIGHT))
        journal_topics: dict[int, str] = {}
        for i in self._journals.get(_journal_key(item.journal), ()) if item.journal else ():
            journal_topics.setdefault(i, item.journal.strip())
        for issn in item.issns:
            for i in self._issns.get(_issn_key(issn), ()):
                journal_topics.setdefault(i, f"ISSN {issn.strip()}")
        for i, detail in journal_topics.items():
            found[i].append(Evidence("journal", detail, JOURNAL_WEIGHT))
        for subject in dict.fromkeys(s.strip().casefold() for s in item.subjects):
            for i in self._subjects.get(subject, ()):
                found[i].append(Evidence("subject", subject, SUBJECT_WEIGHT))

    def _matching_domains(self, url: str) -> list[_Domain]:
        host, path = _host_and_path(url)
        if not host:
            return []
        labels = host.split(".")
        matches = []
        seen: set[int] = set()
        for k in range(len(labels) - 1):
            for domain in self._domains.get(".".join(labels[k:]), ()):
                if domain.topic in seen:
                    continue
                if not domain.path or path == domain.path or path.startswith(domain.path + "/"):
                    matches.append(domain)
                    seen.add(domain.topic)
        return matches


def _same(token: str, spelling: str) -> bool:
    return token == spelling or (token.isupper() and token == spelling.upper())


def _host_and_path(url: str) -> tuple[str, str]:
    url = url.strip()
    if "://" not in url:
        url = "http://" + url  # "chalkbeat.org/2026/…" as posts show links
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").removeprefix("www.")
    except ValueError:
        return "", ""
    return host, parts.path.rstrip("/")


def _journal_key(name: str) -> str:
    key = name.casefold().replace("&", " and ")
    key = re.sub(r"\W+", " ", key).strip()
    return key.removeprefix("the ")


def _issn_key(issn: str) -> str:
    return issn.strip().replace("-", "").upper()
