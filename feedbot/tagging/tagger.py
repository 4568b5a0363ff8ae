"""The tagger: rules, model and corrections evidence summed per topic, against one threshold.

    item ─► rules (taxonomy) ──────────────────────► evidence per topic ─┐
         ├► model: log-odds, scaled and clipped ───► "model" evidence ───┼─► score = Σ weights
         ├► corrections of this very item ─────────► "correction" ───────┤     ≥ THRESHOLD?
         └► corrected items it closely resembles ──► "correction" ───────┘

Every term of the sum is kept as an :class:`Evidence`, so an assignment can always say why. The
weights are chosen so that one keyword in the title (+1.0), a phrase, a domain, a source default
or an arXiv category is enough on its own, while a keyword in the summary (+0.5) needs support.

The model adds up to ``MODEL_SCALE × MODEL_CLIP`` when it is sure an item belongs and takes away
at most ``MODEL_SCALE × MODEL_NEG_CLIP`` when it is sure it does not: enough to veto evidence
from the summary alone, not a keyword in the title. The asymmetry is deliberate: the corpus
labels topics by source, so the model's idea of "not law" is partly "not written like a court
docket", and it would otherwise overrule a title that plainly says "laws".

Corrections act twice. A correction of the very item (same URL, or same title) decides
(±``CORRECTION_WEIGHT``). A correction of a *similar* item (TF-IDF cosine ≥ ``SIMILAR_MIN``)
adds ``SIMILAR_WEIGHT × similarity`` for or against its topic, at once and visibly; the model,
retrained with corrections, generalises them further.

Topics the model does not know (a user's own topics without enough corrections) are decided by
their rules (and corrections) alone, against the same threshold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Literal, overload
from urllib.parse import parse_qsl, urlencode, urlsplit

from feedbot.tagging.model import ModelScores, TopicModel, shipped_model
from feedbot.tagging.records import (
    Correction,
    Evidence,
    Explanation,
    ItemText,
    TopicAssignment,
)
from feedbot.tagging.rules import Rules
from feedbot.tagging.taxonomy import TopicSettings

TAGGER_VERSION = 1  # bump when the way evidence is combined changes
# Chosen by 5-fold cross-validation on data/train.jsonl (never on the held-out file).
THRESHOLD = 0.6
MODEL_SCALE = (
    0.7  # model evidence = MODEL_SCALE × log-odds clipped to [-MODEL_NEG_CLIP, MODEL_CLIP]
)
MODEL_CLIP = 3.0
MODEL_NEG_CLIP = 0.5
CORRECTION_WEIGHT = 10.0
SIMILAR_MIN = 0.3  # cosine similarity from which a corrected item counts as "similar"
SIMILAR_WEIGHT = 3.0
MODEL_TERMS = 3  # terms shown in a model explanation
MIN_TITLE_WORDS = 3  # a correction finds its item by title only if the title is this long
BATCH = 4096  # items scored together by the model


class Tagger:
    """Assigns topics to items. ``model="shipped"`` (the default) uses the model trained on the
    shipped corpus plus ``corrections``; pass a :class:`TopicModel` to use another, or ``None``
    for rules only (corrections then apply to the very items corrected, not to similar ones).
    ``fingerprint`` changes whenever the taxonomy, the model or the corrections do: items tagged
    under another fingerprint are due for re-tagging."""

    def __init__(
        self,
        topics: Sequence[TopicSettings],
        model: TopicModel | Literal["shipped"] | None = "shipped",
        corrections: Iterable[Correction] = (),
    ) -> None:
        self.topics = tuple(topics)
        self.corrections = tuple(corrections)
        self._rules = Rules(self.topics)
        self.model = shipped_model(self.corrections) if model == "shipped" else model
        self._verdicts: dict[str, dict[str, bool]] = {}  # item key → topic → positive
        for correction in self.corrections:
            for key in _keys(correction.item):
                self._verdicts.setdefault(key, {})[correction.topic_id] = correction.positive
        known = {t.id for t in self.topics}
        self._similar = [c for c in self.corrections if c.topic_id in known]
        self._similar_features = (
            self.model.features([c.item for c in self._similar])
            if self.model is not None and self._similar
            else None
        )
        self.fingerprint = self._fingerprint()

    # -- public ------------------------------------------------------------------------------

    @overload
    def tag(self, item: ItemText) -> list[TopicAssignment]: ...

    @overload
    def tag(
        self, item: str, text: str = "", source_topics: Iterable[str] = ()
    ) -> list[TopicAssignment]: ...

    def tag(
        self, item: ItemText | str, text: str = "", source_topics: Iterable[str] = ()
    ) -> list[TopicAssignment]:
        """The topics of ``item``, in taxonomy order. The older form ``tag(title, text,
        source_topics)`` is still accepted."""
        if isinstance(item, str):
            item = ItemText(item, text, source_topics=tuple(source_topics))
        return self.tag_many([item])[0]

    def tag_many(self, items: Sequence[ItemText]) -> list[list[TopicAssignment]]:
        """:meth:`tag` for many items at once: the model scores them in batches."""
        results: list[list[TopicAssignment]] = []
        for start in range(0, len(items), BATCH):
            batch = _Batch(self, items[start : start + BATCH])
            for row, item in enumerate(batch.items):
                decided = self._decide(item, batch, row, explain_all=False)
                results.append([a for a in decided if a.assigned])
        return results

    def explain(self, item: ItemText) -> Explanation:
        """Every topic's score and evidence for ``item``, including topics not assigned."""
        topics = self._decide(item, _Batch(self, [item]), 0, explain_all=True)
        return Explanation(item, tuple(topics), THRESHOLD)

    # -- internals ---------------------------------------------------------------------------

    def _decide(
        self, item: ItemText, batch: _Batch, row: int, explain_all: bool
    ) -> list[TopicAssignment]:
        evidence = self._rules.evidence(item)
        verdicts = self._verdicts_for(item)
        similar = batch.similar(row) if not verdicts else {}
        scores = batch.scores
        decided = []
        for i, topic in enumerate(self.topics):
            found = evidence[i]
            model_k = -1
            if scores is not None and topic.id in scores.topics:
                model_k = scores.topics.index(topic.id)
                log_odds = float(scores.log_odds[row, model_k])
                weight = MODEL_SCALE * max(-MODEL_NEG_CLIP, min(MODEL_CLIP, log_odds))
                found = [*found, Evidence("model", f"log-odds {log_odds:+.2f}", weight)]
            verdict = verdicts.get(topic.id)
            if verdict is not None:
                detail = f"this item marked as {'in' if verdict else 'not in'} the topic"
                weight = CORRECTION_WEIGHT if verdict else -CORRECTION_WEIGHT
                found = [*found, Evidence("correction", detail, weight)]
            if topic.id in similar:
                found = [*found, similar[topic.id]]
            score = round(sum(e.weight for e in found), 3)
            assigned = score >= THRESHOLD
            if not (assigned or explain_all):
                continue
            if model_k >= 0 and scores is not None:
                found = [self._model_evidence(e, scores, row, topic.id) for e in found]
            decided.append(TopicAssignment(topic.id, score, _reason(found), tuple(found), assigned))
        return decided

    def _model_evidence(
        self, evidence: Evidence, scores: ModelScores, row: int, topic: str
    ) -> Evidence:
        if evidence.kind != "model" or self.model is None:
            return evidence
        terms = self.model.top_terms(scores, row, topic, MODEL_TERMS, evidence.weight >= 0)
        listed = "".join(f", {term} {value:+.2f}" for term, value in terms)
        base = self.model.intercept(topic)
        return Evidence("model", f"{evidence.detail} (base {base:+.2f}{listed})", evidence.weight)

    def _verdicts_for(self, item: ItemText) -> dict[str, bool]:
        if not self._verdicts:
            return {}
        for key in _keys(item):
            if key in self._verdicts:
                return self._verdicts[key]
        return {}

    def _fingerprint(self) -> str:
        digest = hashlib.sha256()
        state = {
            "version": TAGGER_VERSION,
            "weights": [
                THRESHOLD,
                MODEL_SCALE,
                MODEL_CLIP,
                MODEL_NEG_CLIP,
                CORRECTION_WEIGHT,
                SIMILAR_MIN,
                SIMILAR_WEIGHT,
            ],
            "topics": [t.model_dump(mode="json") for t in self.topics],
            "model": self.model.fingerprint if self.model else None,
        }
        digest.update(json.dumps(state, sort_keys=True).encode())
        for correction in self.corrections:
            digest.update(repr(correction).encode())
        return digest.hexdigest()[:16]


class _Batch:
    """What is computed once for a batch of items: model scores, similarity to corrections."""

    def __init__(self, tagger: Tagger, items: Sequence[ItemText]) -> None:
        self.items = items
        self._tagger = tagger
        self.scores = tagger.model.scores(items) if tagger.model is not None else None
        self._similarity = None
        if self.scores is not None and tagger._similar_features is not None:
            self._similarity = (self.scores.features @ tagger._similar_features.T).tocsr()

    def similar(self, row: int) -> dict[str, Evidence]:
        """Per topic, the evidence from the most similar corrected items (for and against)."""
        if self._similarity is None:
            return {}
        matrix = self._similarity
        best: dict[tuple[str, bool], tuple[float, Correction]] = {}
        for k in range(matrix.indptr[row], matrix.indptr[row + 1]):
            value = float(matrix.data[k])
            if value < SIMILAR_MIN:
                continue
            correction = self._tagger._similar[matrix.indices[k]]
            key = (correction.topic_id, correction.positive)
            if key not in best or value > best[key][0]:
                best[key] = (value, correction)
        found: dict[str, Evidence] = {}
        for topic in dict.fromkeys(topic for topic, _ in best):
            for_ = best.get((topic, True))
            against = best.get((topic, False))
            weight = SIMILAR_WEIGHT * (
                (for_[0] if for_ else 0.0) - (against[0] if against else 0.0)
            )
            value, correction = max((x for x in (for_, against) if x), key=lambda x: x[0])
            verdict = "in" if correction.positive else "not in"
            detail = (
                f"similar ({value:.2f}) to {_short(correction.item.title)!r}, marked {verdict} "
                "the topic"
            )
            found[topic] = Evidence("correction", detail, round(weight, 3))
        return found


def _reason(evidence: Sequence[Evidence]) -> str:
    """One line for the store: the evidence, strongest first."""
    ordered = sorted(evidence, key=lambda e: -abs(e.weight))
    return "; ".join(f"{e.kind} {e.detail} ({e.weight:+.2f})" for e in ordered)


def _keys(item: ItemText) -> list[str]:
    """How a correction finds its item again: the URL when there is one (normalised: no scheme,
    no www., no fragment, no utm_* parameters, no trailing slash), and the title when it has at
    least ``MIN_TITLE_WORDS`` words (shorter ones, "Home", are too often shared)."""
    keys = []
    if item.url.strip():
        url = item.url.strip()
        parts = urlsplit(url if "://" in url else "http://" + url)
        host = (parts.hostname or "").removeprefix("www.")
        query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("utm_")])
        keys.append(f"url:{host}{parts.path.rstrip('/')}" + (f"?{query}" if query else ""))
    words = item.title.casefold().split()
    if len(words) >= MIN_TITLE_WORDS:
        keys.append(f"title:{' '.join(words)}")
    return keys


def _short(title: str, length: int = 60) -> str:
    return title if len(title) <= length else title[: length - 1].rstrip() + "…"
