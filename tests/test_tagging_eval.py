"""Evaluation: exact figures on a small fixture, and the JSON and text reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feedbot.tagging import (
    Tagger,
    TaggingDataError,
    TopicSettings,
    evaluate,
    format_report,
    load_examples,
    report_to_json,
)

DATA = Path(__file__).resolve().parent / "data" / "tagging"

# One keyword per topic and no model, so that every prediction is known in advance:
#
#   item                                   labels          predicted
#   1 Teachers strike in Chicago           education       education
#   2 AI tutors for teachers               ai, education   ai, education
#   3 Court rules on AI copyright          law, ai         law, ai
#   4 School board meets on Tuesday        education       -            ("school" not a keyword)
#   5 Food court opens downtown            -               law          (no negative keywords)
#   6 Said the spider to the fly           -               -            ("AI" is not in "said")
#   7 New lawsuit against the district     law             -            ("lawsuit" not a keyword)
#   8 AI model beats benchmark             ai              ai
#   9 Heat records broken again            climate         -
#
#   education: TP 2 (1, 2), FP 0, FN 1 (4) → P = 2/2 = 1, R = 2/3 = 0.6667, F1 = 2·1·⅔/(1+⅔) = 0.8
#   ai:        TP 3 (2, 3, 8), FP 0, FN 0  → P = 1, R = 1, F1 = 1
#   law:       TP 1 (3), FP 1 (5), FN 1 (7) → P = 1/2, R = 1/2, F1 = 0.5
#   climate:   TP 0, predicted 0, FN 1 (9)  → P = 0 (no predictions, by definition), R = 0, F1 = 0
#   macro-F1 = (0.8 + 1 + 0.5 + 0) / 4 = 0.575
TOPICS = [
    TopicSettings(id="education", name="Education", keywords=["teacher"]),
    TopicSettings(id="ai", name="AI", keywords=["AI"]),
    TopicSettings(id="law", name="Law", keywords=["court"]),
    TopicSettings(id="climate", name="Climate", keywords=["glacier"]),
]

EXPECTED_JSON = {
    "topics": {
        "education": {"precision": 1.0, "recall": 0.6667, "f1": 0.8, "support": 3},
        "ai": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 3},
        "law": {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2},
        "climate": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1},
    },
    "macro_f1": 0.575,
}

EXPECTED_TEXT = """\
topic      precision  recall  f1      support
education  1.0000     0.6667  0.8000  3
ai         1.0000     1.0000  1.0000  3
law        0.5000     0.5000  0.5000  2
climate    0.0000     0.0000  0.0000  1
macro-F1   0.5750  (9 items)"""


def test_eval_on_the_fixture_gives_the_hand_computed_figures() -> None:
    report = evaluate(Tagger(TOPICS, model=None), load_examples(DATA / "eval_small.jsonl"))
    assert report_to_json(report) == EXPECTED_JSON
    assert format_report(report) == EXPECTED_TEXT
    assert report.topics["climate"].predicted == 0
    # the JSON form is what `feedbot tag eval --json` prints: one object, plain JSON types
    assert json.loads(json.dumps(report_to_json(report))) == EXPECTED_JSON


def test_topics_neither_labelled_nor_predicted_are_left_out_of_the_average() -> None:
    topics = [*TOPICS, TopicSettings(id="sport", name="Sport", keywords=["goal"])]
    report = evaluate(Tagger(topics, model=None), load_examples(DATA / "eval_small.jsonl"))
    assert "sport" not in report.topics
    assert report.macro_f1 == pytest.approx(0.575)


def test_bad_lines_are_reported_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"title": "ok", "topics": []}\n\n{"title": "no topics"}\n', encoding="utf-8")
    with pytest.raises(TaggingDataError, match=r"bad\.jsonl:3: missing key 'topics'"):
        load_examples(path)
    path.write_text('{"title": "x", "topics": "ai"}\n', encoding="utf-8")
    with pytest.raises(TaggingDataError, match=r":1: 'topics' must be a list of strings"):
        load_examples(path)
    path.write_text("[1, 2]\n", encoding="utf-8")
    with pytest.raises(TaggingDataError, match=r":1: expected a JSON object"):
        load_examples(path)
    with pytest.raises(TaggingDataError, match="cannot read"):
        load_examples(tmp_path / "missing.jsonl")
