"""The records tagging passes around: what an item says (:class:`ItemText`), why a topic was
considered (:class:`Evidence`), the outcome per topic (:class:`TopicAssignment`) and a user's
verdict on an item (:class:`Correction`). All are small frozen dataclasses; nothing here computes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

EvidenceKind = Literal[
    "keyword",  # a keyword of the topic, in the title or the summary
    "phrase",  # a phrase of the topic (multi-word, more specific than a keyword)
    "negative",  # a negative keyword or phrase of the topic (its words stop counting for it)
    "domain",  # the item's URL is on one of the topic's domains
    "source",  # a source that shared the item lists the topic as a default
    "arxiv",  # one of the item's arXiv categories maps to the topic
    "journal",  # the item's journal (name or ISSN) maps to the topic, or the text cites it
    "subject",  # one of the item's Crossref subjects maps to the topic
    "model",  # the learned model's log-odds for the topic
    "correction",  # a user corrected this very item
]


@dataclass(frozen=True)
class ItemText:
    """What the tagger sees of an item. Sequences are stored as tuples (lists are accepted)."""

    title: str
    summary: str = ""
    url: str = ""
    source_topics: tuple[str, ...] = ()  # default topics of the sources that shared the item
    arxiv_categories: tuple[str, ...] = ()  # e.g. ("cs.CL", "cs.AI")
    journal: str = ""  # container title, e.g. "Language Teaching Research"
    issns: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()  # Crossref subject strings, e.g. ("Education",)

    def __post_init__(self) -> None:
        for name in ("source_topics", "arxiv_categories", "issns", "subjects"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, _strings(value))


def _strings(values: Iterable[str] | str | None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        return (values,)
    return tuple(values)


@dataclass(frozen=True)
class Evidence:
    """One reason for (positive ``weight``) or against (negative ``weight``) a topic."""

    kind: EvidenceKind
    detail: str  # human-readable: "title: teachers", "chalkbeat.org", "p=0.93: teachers +0.41"
    weight: float


@dataclass(frozen=True)
class TopicAssignment:
    """A topic's outcome for one item: the combined ``score`` (sum of the evidence weights), the
    ``reason`` as one line (what the store saves) and the structured ``evidence``."""

    topic_id: str
    score: float
    reason: str
    evidence: tuple[Evidence, ...] = ()
    assigned: bool = True  # False only in :meth:`Tagger.explain` results below the threshold


@dataclass(frozen=True)
class Correction:
    """A user's verdict: ``item`` is (``positive``) or is not in ``topic_id``."""

    item: ItemText
    topic_id: str
    positive: bool = True


@dataclass(frozen=True)
class Explanation:
    """Every topic's outcome for one item, assigned or not, for ``feedbot explain``."""

    item: ItemText
    topics: tuple[TopicAssignment, ...]
    threshold: float

    @property
    def assigned(self) -> list[TopicAssignment]:
        return [t for t in self.topics if t.assigned]


@dataclass(frozen=True)
class LabeledItem:
    """An item with its true topics: a line of an evaluation or training file."""

    item: ItemText
    topics: frozenset[str] = field(default_factory=frozenset)
