"""Topic tagging behind one function, :func:`Tagger.tag`.

For now: a source's default topics, plus whole-word keyword and phrase matches from the taxonomy.
Keywords written in capitals (``AI``, ``LLM``) match case-sensitively, so "AI" never matches
"said" or "Ai"; others match in any case. Every assignment carries its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from feedbot.tagging.taxonomy import TopicSettings


@dataclass(frozen=True)
class TopicAssignment:
    topic_id: str
    score: float
    reason: str


@dataclass(frozen=True)
class _CompiledTopic:
    id: str
    any_case: re.Pattern[str] | None
    exact_case: re.Pattern[str] | None


def _pattern(words: Iterable[str], flags: int) -> re.Pattern[str] | None:
    words = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    if not words:
        return None
    alternatives = "|".join(r"\s+".join(map(re.escape, w.split())) for w in words)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", flags)


class Tagger:
    """Assigns topics to an item from its text and the topics of the sources that shared it."""

    TITLE_WEIGHT = 2.0
    THRESHOLD = 2.0

    def __init__(self, topics: Sequence[TopicSettings]) -> None:
        self._topics = [
            _CompiledTopic(
                id=t.id,
                any_case=_pattern((k for k in t.keywords if not _is_acronym(k)), re.IGNORECASE),
                exact_case=_pattern((k for k in t.keywords if _is_acronym(k)), 0),
            )
            for t in topics
        ]

    def tag(
        self, title: str, text: str, source_topics: Iterable[str] = ()
    ) -> list[TopicAssignment]:
        """Topics of an item, in taxonomy order. ``source_topics`` are the default topics of the
        sources that shared it."""
        defaults = set(source_topics)
        assignments = []
        for topic in self._topics:
            title_hits = self._matches(topic, title)
            text_hits = self._matches(topic, text) - title_hits
            score = self.TITLE_WEIGHT * len(title_hits) + len(text_hits)
            reasons = []
            if topic.id in defaults:
                reasons.append("source default")
                score = max(score, self.THRESHOLD)
            if title_hits:
                reasons.append("title mentions " + ", ".join(sorted(title_hits)))
            if text_hits:
                reasons.append("text mentions " + ", ".join(sorted(text_hits)))
            if score >= self.THRESHOLD:
                assignments.append(TopicAssignment(topic.id, score, "; ".join(reasons)))
        return assignments

    @staticmethod
    def _matches(topic: _CompiledTopic, text: str) -> set[str]:
        hits: set[str] = set()
        for pattern in (topic.any_case, topic.exact_case):
            if pattern is not None and text:
                hits.update(re.sub(r"\s+", " ", m.group(0)).lower() for m in pattern.finditer(text))
        return hits


def _is_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters) and " " not in word.strip()
