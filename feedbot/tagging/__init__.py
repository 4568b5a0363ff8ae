"""Topic tagging: which topics of the taxonomy an item belongs to, with the evidence why.

    ItemText ─► Rules (taxonomy.py → rules.py) ──────┐
            ─► TopicModel (model.py, scikit-learn) ──┼─► Tagger (tagger.py) ─► TopicAssignment[]
            ─► the user's Corrections ───────────────┘        │
                                                               └─► explain_text (explain.py)

* :mod:`~feedbot.tagging.records` — the frozen records: ItemText, Evidence, TopicAssignment,
  Correction, Explanation;
* :mod:`~feedbot.tagging.taxonomy` — the settings of a topic and the defaults (education, ai, law);
* :mod:`~feedbot.tagging.rules` — keywords, phrases, negatives, domains, source defaults, arXiv
  categories, journals/ISSNs and Crossref subjects, each a weighted :class:`Evidence`;
* :mod:`~feedbot.tagging.model` — a linear model trained on the shipped corpus and corrections;
* :mod:`~feedbot.tagging.tagger` — sums the evidence per topic and applies one threshold;
* :mod:`~feedbot.tagging.evaluate` — precision, recall, F1 per topic and macro-F1;
* :mod:`~feedbot.tagging.corpus` — JSONL files of labelled items and of corrections; the shipped
  corpus lives in ``data/`` with its ``PROVENANCE.md``.

Typical use (``tag_many`` is several times faster than ``tag`` per item)::

    tagger = Tagger(settings.topics, corrections=load_corrections(path))
    for link, assigned in zip(links, tagger.tag_many([ItemText(...) for link in links])):
        save(link, [(a.topic_id, a.score, a.reason) for a in assigned])
    print(explain_text(tagger.explain(item)))

``tagger.fingerprint`` identifies taxonomy + model + corrections: links tagged under another
fingerprint are the ones to re-tag.
"""

from __future__ import annotations

from feedbot.tagging.corpus import (
    HELDOUT_FILE,
    TRAIN_FILE,
    TaggingDataError,
    corrections_from_records,
    item_from_record,
    load_corrections,
    load_examples,
)
from feedbot.tagging.evaluate import (
    EvalReport,
    TopicMetrics,
    evaluate,
    format_report,
    report_to_json,
)
from feedbot.tagging.explain import explain_text
from feedbot.tagging.model import TopicModel, shipped_model
from feedbot.tagging.records import (
    Correction,
    Evidence,
    EvidenceKind,
    Explanation,
    ItemText,
    LabeledItem,
    TopicAssignment,
)
from feedbot.tagging.tagger import THRESHOLD, Tagger
from feedbot.tagging.taxonomy import DEFAULT_TOPICS, TopicSettings

__all__ = [
    "DEFAULT_TOPICS",
    "HELDOUT_FILE",
    "THRESHOLD",
    "TRAIN_FILE",
    "Correction",
    "EvalReport",
    "Evidence",
    "EvidenceKind",
    "Explanation",
    "ItemText",
    "LabeledItem",
    "Tagger",
    "TaggingDataError",
    "TopicAssignment",
    "TopicMetrics",
    "TopicModel",
    "TopicSettings",
    "corrections_from_records",
    "evaluate",
    "explain_text",
    "format_report",
    "item_from_record",
    "load_corrections",
    "load_examples",
    "report_to_json",
    "shipped_model",
]
