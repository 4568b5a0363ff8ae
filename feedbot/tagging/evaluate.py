"""Evaluation: precision, recall and F1 per topic, and their macro average.

Definitions (per topic, over the items of the file):

* precision = true positives / items the tagger put in the topic — **0 when it put none there**;
* recall = true positives / items labelled with the topic — 0 when none are;
* F1 = 2PR / (P + R) — 0 when P + R = 0;
* support = items labelled with the topic;
* macro-F1 = the mean F1 of the topics that occur in the labels or in the predictions (a topic of
  the taxonomy that the file never mentions and the tagger never predicts is left out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from feedbot.tagging.records import LabeledItem
from feedbot.tagging.tagger import Tagger

DIGITS = 4  # decimals in reports


@dataclass(frozen=True)
class TopicMetrics:
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


@dataclass(frozen=True)
class EvalReport:
    topics: dict[str, TopicMetrics]  # in taxonomy order, then other labelled topics
    macro_f1: float
    items: int


def evaluate(tagger: Tagger, examples: Sequence[LabeledItem]) -> EvalReport:
    """Tag every example and compare with its labels."""
    predictions = tagger.tag_many([e.item for e in examples])
    return score(
        [e.topics for e in examples],
        [frozenset(a.topic_id for a in p) for p in predictions],
        [t.id for t in tagger.topics],
    )


def score(
    truth: Sequence[frozenset[str]],
    predicted: Sequence[frozenset[str]],
    order: Sequence[str] = (),
) -> EvalReport:
    """The report for given true and predicted topic sets (``order``: topics listed first)."""
    seen = {t for labels in (*truth, *predicted) for t in labels}
    topics = [t for t in order if t in seen] + sorted(seen - set(order))
    metrics = {}
    for topic in topics:
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if topic in t and topic in p)
        support = sum(1 for t in truth if topic in t)
        guessed = sum(1 for p in predicted if topic in p)
        precision = tp / guessed if guessed else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        metrics[topic] = TopicMetrics(precision, recall, f1, support, guessed)
    macro = sum(m.f1 for m in metrics.values()) / len(metrics) if metrics else 0.0
    return EvalReport(metrics, macro, len(truth))


def report_to_json(report: EvalReport) -> dict[str, Any]:
    """``{"topics": {id: {"precision", "recall", "f1", "support"}}, "macro_f1": …}``, figures
    rounded to ``DIGITS`` decimals."""
    return {
        "topics": {
            topic: {
                "precision": round(m.precision, DIGITS),
                "recall": round(m.recall, DIGITS),
                "f1": round(m.f1, DIGITS),
                "support": m.support,
            }
            for topic, m in report.topics.items()
        },
        "macro_f1": round(report.macro_f1, DIGITS),
    }


def format_report(report: EvalReport) -> str:
    """A text table: one line per topic, then macro-F1."""
    width = max([len("macro-F1"), *(len(t) for t in report.topics)])
    lines = [f"{'topic':<{width}}  precision  recall  f1      support"]
    for topic, m in report.topics.items():
        lines.append(
            f"{topic:<{width}}  {m.precision:<9.{DIGITS}f}  {m.recall:<6.{DIGITS}f}  "
            f"{m.f1:<6.{DIGITS}f}  {m.support}"
        )
    lines.append(f"{'macro-F1':<{width}}  {report.macro_f1:.{DIGITS}f}  ({report.items} items)")
    return "\n".join(lines)
