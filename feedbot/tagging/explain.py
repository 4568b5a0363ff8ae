"""Explanations for people: ``feedbot explain`` and the site's detail view print these.

One block per topic: the score, whether it passed the threshold, then every piece of evidence
with its weight, strongest first::

    education  +3.52  assigned (threshold 1.00)
      +2.00  domain    chalkbeat.org
      +1.00  keyword   title: teacher
      +0.52  model     log-odds +0.65 (teachers +0.41, schools +0.22, performance +0.05)
"""

from __future__ import annotations

from collections.abc import Sequence

from feedbot.tagging.records import Explanation, TopicAssignment
from feedbot.tagging.tagger import THRESHOLD


def explain_text(result: Explanation | Sequence[TopicAssignment]) -> str:
    """Human-readable evidence of an :meth:`~feedbot.tagging.Tagger.explain` result or of a
    list of assignments; "no topic" when there is nothing to show."""
    if isinstance(result, Explanation):
        topics, threshold = result.topics, result.threshold
    else:
        topics, threshold = tuple(result), THRESHOLD
    if not topics:
        return "no topic"
    width = max(len(t.topic_id) for t in topics)
    kind_width = max((len(e.kind) for t in topics for e in t.evidence), default=0)
    lines = []
    for topic in topics:
        verdict = "assigned" if topic.assigned else "not assigned"
        lines.append(
            f"{topic.topic_id:<{width}}  {topic.score:+.2f}  {verdict} (threshold {threshold:.2f})"
        )
        for evidence in sorted(topic.evidence, key=lambda e: -abs(e.weight)):
            lines.append(
                f"  {evidence.weight:+.2f}  {evidence.kind:<{kind_width}}  {evidence.detail}"
            )
        if not topic.evidence:
            lines.append("  (no evidence)")
    return "\n".join(lines)
