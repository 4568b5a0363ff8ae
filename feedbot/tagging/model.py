"""The learned part: one logistic regression per topic over TF-IDF features of title + summary.

Why this model: it is small (a vocabulary of unigrams and bigrams, one weight per term and
topic), trains on the shipped corpus in about a quarter of a second on one core, scores tens of
thousands of items a second in batches, and is linear, so "which words pushed this item into the
topic" is an exact reading of the weights, not an approximation. scikit-learn provides the
vectorizer and the solver; it is imported only when a model is trained (about 0.7 s, once).

Nothing is downloaded and no weights are shipped: :func:`shipped_model` trains from
``data/train.jsonl`` the first time it is asked for in a process (cached afterwards), which keeps
the package free of pickles tied to one scikit-learn version.

Learning from corrections: a corrected item joins the training data of its topic with
``CORRECTION_WEIGHT`` times the weight of a corpus item, so a handful of corrections of similar
items moves the decision for items like them. The shipped corpus labels the default topics
(``education``, ``ai``, ``law``); any other topic gets a model only from corrections, once it
has ``MIN_EXAMPLES`` positive and negative ones, and is tagged by its rules alone until then.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from feedbot.tagging.corpus import TRAIN_FILE, load_examples
from feedbot.tagging.records import Correction, ItemText, LabeledItem

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

MODEL_VERSION = 1  # bump when features or training change
CORRECTION_WEIGHT = 8.0
MIN_EXAMPLES = 3  # per class, for a topic known only from corrections
C = 2.0  # inverse regularisation strength of the logistic regressions
# Function words only. They carry style, not topic: without this list the model learns that
# chatty first-person text (most tweets in the corpus) is in no topic.
_STOP_WORDS = """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further
    had has have having he her here hers herself him himself his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours ourselves out
    over own same she should so some such than that the their theirs them themselves then there
    these they this those through to too under until up very was we were what when where which
    while who whom why will with would you your yours yourself yourselves s t d ll m re ve don
    didn doesn isn wasn aren weren won wouldn couldn shouldn ain im ive id youre theyre its lol
    omg u ur yall gonna wanna gotta oh yeah yes ok okay"""
STOP_WORDS = frozenset(_STOP_WORDS.split())


def model_text(item: ItemText) -> str:
    """What the model reads: the title twice (it is the densest part) and the summary."""
    return f"{item.title} . {item.title} . {item.summary}"


@dataclass(frozen=True)
class ModelScores:
    """Log-odds for a batch: ``log_odds[i, k]`` for item ``i`` and topic ``topics[k]``, and the
    features, to explain a score with :meth:`TopicModel.top_terms`."""

    topics: tuple[str, ...]
    log_odds: np.ndarray[Any, Any]
    features: csr_matrix


class TopicModel:
    """Per-topic linear classifiers sharing one TF-IDF vocabulary."""

    def __init__(
        self,
        vectorizer: Any,
        topics: tuple[str, ...],
        weights: np.ndarray[Any, Any],
        intercepts: np.ndarray[Any, Any],
        fingerprint: str,
    ) -> None:
        self._vectorizer = vectorizer
        self.topics = topics
        self._weights = weights  # (features, topics)
        self._intercepts = intercepts  # (topics,)
        self._terms = vectorizer.get_feature_names_out()
        self._analyze = vectorizer.build_analyzer()
        self._vocabulary: dict[str, int] = vectorizer.vocabulary_
        self._idf = vectorizer.idf_.astype("float64")
        self.fingerprint = fingerprint

    @classmethod
    def train(
        cls,
        examples: Sequence[LabeledItem],
        labeled_topics: Collection[str],
        corrections: Sequence[Correction] = (),
    ) -> TopicModel:
        """Train on ``examples``, whose labels are complete for ``labeled_topics`` (an item not
        listing one of them is a negative for it), plus ``corrections`` for any topic."""
        import numpy as np
        import sklearn
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        texts = [model_text(e.item) for e in examples]
        correction_texts = [model_text(c.item) for c in corrections]
        vectorizer = TfidfVectorizer(
            ngram_range=(1, 2),
            min_df=2,
            sublinear_tf=True,
            token_pattern=r"(?u)\b\w+\b",
            stop_words=sorted(STOP_WORDS),
            dtype=np.float32,
        )
        features = vectorizer.fit_transform([*texts, *correction_texts])
        corpus_rows = len(texts)
        topics: list[str] = []
        weights: list[np.ndarray[Any, Any]] = []
        intercepts: list[float] = []
        corrected = sorted({c.topic_id for c in corrections})
        for topic in [*sorted(labeled_topics), *(t for t in corrected if t not in labeled_topics)]:
            rows: list[int] = []
            labels: list[int] = []
            sample_weights: list[float] = []
            if topic in labeled_topics:
                rows += range(corpus_rows)
                labels += [int(topic in e.topics) for e in examples]
                sample_weights += [1.0] * corpus_rows
            for k, correction in enumerate(corrections):
                if correction.topic_id == topic:
                    rows.append(corpus_rows + k)
                    labels.append(int(correction.positive))
                    sample_weights.append(CORRECTION_WEIGHT)
            positives = sum(labels)
            if min(positives, len(labels) - positives) < MIN_EXAMPLES:
                continue
            classifier = LogisticRegression(C=C, class_weight="balanced", max_iter=1000)
            classifier.fit(features[rows], labels, sample_weight=sample_weights)
            topics.append(topic)
            weights.append(classifier.coef_[0].astype(np.float32))
            intercepts.append(float(classifier.intercept_[0]))
        digest = hashlib.sha256(
            json.dumps(
                [
                    MODEL_VERSION,
                    sklearn.__version__,
                    C,
                    CORRECTION_WEIGHT,
                    MIN_EXAMPLES,
                    sorted(labeled_topics),
                ]
            ).encode()
        )
        for text, example in zip(texts, examples, strict=True):
            digest.update(f"{text}\0{sorted(example.topics)}\n".encode())
        for correction in corrections:
            digest.update(f"{model_text(correction.item)}\0{correction}\n".encode())
        n_features = features.shape[1]
        return cls(
            vectorizer,
            tuple(topics),
            np.stack(weights, axis=1) if weights else np.zeros((n_features, 0), np.float32),
            np.array(intercepts, dtype=np.float32),
            digest.hexdigest()[:16],
        )

    def features(self, items: Sequence[ItemText]) -> csr_matrix:
        """TF-IDF rows of the items, each of unit length (a dot product is a cosine).

        The same as the vectorizer's ``transform`` (sublinear tf × idf, L2-normalised rows; a
        test holds them equal), computed here because ``transform``'s input checks cost about a
        millisecond per call, which is most of the time of tagging one item."""
        import numpy as np
        from scipy.sparse import csr_matrix

        analyze, vocabulary = self._analyze, self._vocabulary
        indptr = [0]
        indices: list[int] = []
        counts: list[int] = []
        for item in items:
            row: dict[int, int] = {}
            for term in analyze(model_text(item)):
                column = vocabulary.get(term)
                if column is not None:
                    row[column] = row.get(column, 0) + 1
            indices += row
            counts += row.values()
            indptr.append(len(indices))
        columns = np.array(indices, dtype=np.int32)
        data = (1.0 + np.log(np.array(counts, dtype=np.float64))) * self._idf[columns]
        rows = np.repeat(np.arange(len(items)), np.diff(indptr))
        norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=len(items)))
        data /= norms[rows]
        shape = (len(items), len(self._terms))
        return csr_matrix((data.astype(np.float32), columns, np.array(indptr)), shape=shape)

    def scores(self, items: Sequence[ItemText]) -> ModelScores:
        """Log-odds of every topic of the model for every item."""
        features = self.features(items)
        log_odds = features @ self._weights + self._intercepts
        return ModelScores(self.topics, log_odds, features)

    def intercept(self, topic: str) -> float:
        """The topic's log-odds for an item with no known word (its base rate)."""
        return float(self._intercepts[self.topics.index(topic)])

    def top_terms(
        self, scores: ModelScores, row: int, topic: str, count: int = 3, positive: bool = True
    ) -> list[tuple[str, float]]:
        """The ``count`` terms of item ``row`` that add most to (or, with ``positive=False``,
        take most from) the topic's log-odds, with their contributions."""
        import numpy as np

        k = self.topics.index(topic)
        features = scores.features
        start, end = features.indptr[row], features.indptr[row + 1]
        columns = features.indices[start:end]
        contributions = features.data[start:end] * self._weights[columns, k]
        order = np.argsort(-contributions if positive else contributions)[:count]
        return [
            (str(self._terms[columns[j]]), float(contributions[j]))
            for j in order
            if (contributions[j] > 0) == positive and contributions[j] != 0
        ]


def shipped_model(corrections: Sequence[Correction] = ()) -> TopicModel:
    """The model trained on the shipped corpus (plus ``corrections``), trained once per process
    for the same corrections."""
    return _shipped_model(tuple(corrections))


@lru_cache(maxsize=4)
def _shipped_model(corrections: tuple[Correction, ...]) -> TopicModel:
    examples = load_examples(TRAIN_FILE)
    labeled = sorted({t for e in examples for t in e.topics})
    return TopicModel.train(examples, labeled, corrections)
