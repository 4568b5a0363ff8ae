"""The tagger with its learned model: out-of-the-box quality, learning from corrections,
explanations and the fingerprint used for incremental re-tagging."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from feedbot.tagging import (
    DEFAULT_TOPICS,
    HELDOUT_FILE,
    TRAIN_FILE,
    Correction,
    ItemText,
    Tagger,
    TaggingDataError,
    TopicModel,
    TopicSettings,
    evaluate,
    explain_text,
    load_corrections,
    load_examples,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DATA = Path(__file__).resolve().parent / "data" / "tagging"


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return Tagger(DEFAULT_TOPICS)  # trains the shipped model once per process


def ids(tagger: Tagger, item: ItemText) -> set[str]:
    return {a.topic_id for a in tagger.tag(item)}


# -- the six posts of the pasted X timeline ------------------------------------------------------

_URL = re.compile(r"(?:https?://)?(?:[\w-]+\.)+[a-z]{2,}/\S*")


def timeline_posts() -> list[str]:
    """The posts of ``x-timeline-pasted.txt``: blocks separated by blank lines, after the
    profile header (name and post count, then the @handle and bio)."""
    text = (SHARED / "samples" / "x-timeline-pasted.txt").read_text(encoding="utf-8")
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    handle = next(i for i, b in enumerate(blocks) if b.startswith("@"))
    return blocks[handle + 1 :]


EXPECTED_POSTS = [
    ("Three days ago I left autoresearch tuning nanochat", {"ai"}),  # agents tuning an LLM
    ('(1/2) Just dropped a new paper: "World Properties', {"ai"}),  # LLM world models
    ("New research on a federal program found that when top teachers", {"education"}),
    ("New article on prophets and AI", {"ai"}),  # religion and AI; not law
    ("A quite brilliant essay on AI, the law", {"ai", "law"}),
    ("Shintani, N. (2012). Input-based tasks", {"education"}),  # Language Teaching Research
]


def test_the_six_pasted_posts_get_sensible_topics(tagger: Tagger) -> None:
    posts = timeline_posts()
    assert len(posts) == 6
    for post, (start, expected) in zip(posts, EXPECTED_POSTS, strict=True):
        assert post.startswith(start)
        link = _URL.search(post)
        item = ItemText(post, url=link.group(0) if link else "")
        assert ids(tagger, item) == expected, explain_text(tagger.explain(item))


# -- quality -------------------------------------------------------------------------------------


def test_held_out_corpus_reaches_the_target(tagger: Tagger) -> None:
    report = evaluate(tagger, load_examples(HELDOUT_FILE))
    assert report.items > 400
    assert report.macro_f1 >= 0.90, report
    assert all(m.f1 >= 0.8 for m in report.topics.values()), report


def test_held_out_items_are_not_trained_on() -> None:
    def key(title: str) -> str:
        return re.sub(r"\W+", " ", title.casefold()).strip()

    train = {key(e.item.title) for e in load_examples(TRAIN_FILE)}
    assert not train & {key(e.item.title) for e in load_examples(HELDOUT_FILE)}


def test_the_model_alone_knows_the_default_topics(tagger: Tagger) -> None:
    assert tagger.model is not None
    assert set(tagger.model.topics) == {"education", "ai", "law"}
    # no rule fires here; the model does it
    item = ItemText("Students in Kenya return after the strike", "Schools reopened on Monday.")
    explanation = tagger.explain(item)
    education = next(t for t in explanation.topics if t.topic_id == "education")
    assert education.assigned
    assert any(e.kind == "model" and e.weight > 0 for e in education.evidence)


def test_a_users_own_topic_is_tagged_by_its_rules(tagger: Tagger) -> None:
    climate = TopicSettings(id="climate", name="Climate", keywords=["glacier"])
    own = Tagger([*DEFAULT_TOPICS, climate])
    assigned = own.tag(ItemText("Glaciers in the Alps retreat faster"))
    assert [a.topic_id for a in assigned] == ["climate"]
    assert [e.kind for e in assigned[0].evidence] == ["keyword"]  # no model for it


def test_the_models_features_equal_the_vectorizers(tagger: Tagger) -> None:
    from feedbot.tagging.model import model_text

    assert tagger.model is not None
    items = [e.item for e in load_examples(HELDOUT_FILE)] + [ItemText(""), ItemText("qqq zzz")]
    ours = tagger.model.features(items)
    theirs = tagger.model._vectorizer.transform([model_text(item) for item in items])
    assert ours.shape == theirs.shape and ours.nnz == theirs.nnz
    assert abs(ours - theirs).max() < 1e-6


def test_tag_many_agrees_with_tag(tagger: Tagger) -> None:
    items = [e.item for e in load_examples(HELDOUT_FILE)[:60]]
    assert tagger.tag_many(items) == [tagger.tag(item) for item in items]


# -- learning from corrections -------------------------------------------------------------------

CODING = [
    ("Day 5 of #100DaysOfCode: learned CSS grid on freeCodeCamp", "Slowly getting layouts."),
    ("Day 12 of #100DaysOfCode: JavaScript basics on freeCodeCamp done", "Functions and loops."),
    ("Day 21 of #100DaysOfCode: started the freeCodeCamp algorithms section", "Recursion!"),
    ("Day 30 of #100DaysOfCode: my first freeCodeCamp certification", "Web design certificate."),
]
CODING_TARGET = ItemText(
    "Day 40 of #100DaysOfCode: finished the JavaScript algorithms certification on freeCodeCamp",
    "Next up: the responsive web design projects.",
)
BASKETBALL = [
    ("Celtics defend home court in game five", "Boston beat Miami 112-104."),
    ("Knicks lose home court advantage after overtime defeat", "Brunson scored 38."),
    ("Warriors take back home court with a win in Dallas", "Curry hit eight threes."),
    ("Nuggets win on home court to force game seven", "Jokic had a triple-double."),
]
BASKETBALL_TARGET = ItemText(
    "Lakers rally to win on their home court", "LeBron scored 40 as Los Angeles beat Denver."
)


def test_a_few_corrections_flip_a_missed_item(tagger: Tagger) -> None:
    assert "education" not in ids(tagger, CODING_TARGET)
    corrections = [Correction(ItemText(t, s), "education") for t, s in CODING]
    learned = Tagger(DEFAULT_TOPICS, corrections=corrections)
    assert "education" in ids(learned, CODING_TARGET)
    # the retrained model alone now says so, not only the similarity to corrected items
    (education,) = [a for a in learned.tag(CODING_TARGET) if a.topic_id == "education"]
    model = next(e for e in education.evidence if e.kind == "model")
    assert model.weight > 0.6 and "freecodecamp" in model.detail


def test_a_few_corrections_flip_a_wrong_item(tagger: Tagger) -> None:
    assert "law" in ids(tagger, BASKETBALL_TARGET)  # "court" in the title
    corrections = [Correction(ItemText(t, s), "law", positive=False) for t, s in BASKETBALL]
    learned = Tagger(DEFAULT_TOPICS, corrections=corrections)
    assert "law" not in ids(learned, BASKETBALL_TARGET)
    explanation = explain_text(learned.explain(BASKETBALL_TARGET))
    assert "marked not in the topic" in explanation


def test_a_correction_of_the_very_item_decides() -> None:
    item = ItemText("Weekly roundup", "Links.", "https://example.org/roundup?utm_source=x")
    same = ItemText("Weekly roundup #12", "", "http://www.example.org/roundup/")
    tagger = Tagger(DEFAULT_TOPICS, model=None, corrections=[Correction(item, "law")])
    assert [a.topic_id for a in tagger.tag(same)] == ["law"]
    assert tagger.tag(ItemText("Weekly roundup", "", "https://example.org/other")) == []
    wrong = Correction(ItemText("Court rules on zoning appeal"), "law", positive=False)
    tagger = Tagger(DEFAULT_TOPICS, model=None, corrections=[wrong])
    assert tagger.tag(ItemText("Court rules on zoning appeal")) == []


def test_a_users_own_topic_learns_from_corrections() -> None:
    climate = TopicSettings(id="climate", name="Climate")  # no rules at all
    texts = [
        ("Glaciers in the Alps retreat faster than expected", True),
        ("Arctic sea ice hits a record low", True),
        ("Heatwaves are becoming longer in southern Europe", True),
        ("The best pizza in Naples", False),
        ("Marathon training for beginners", False),
        ("A review of the new smartphone", False),
    ]
    corrections = [Correction(ItemText(t), "climate", positive=p) for t, p in texts]
    learned = Tagger([*DEFAULT_TOPICS, climate], corrections=corrections)
    assert learned.model is not None and "climate" in learned.model.topics
    assert "climate" in ids(learned, ItemText("Glaciers and sea ice retreat as heatwaves grow"))
    assert "climate" not in ids(learned, ItemText("Naples pizza review"))


def test_corrections_load_from_jsonl(tmp_path: Path) -> None:
    corrections = load_corrections(DATA / "corrections.jsonl")
    assert [(c.topic_id, c.positive) for c in corrections] == [
        ("law", False),
        ("education", True),
        ("climate", True),
    ]
    assert corrections[0].item.url == "https://sports.example.com/celtics-game-five"
    assert corrections[1].item.summary == ""
    assert corrections[2].item.source_topics == ("education",)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "x", "topic": "law", "not": "yes"}\n', encoding="utf-8")
    with pytest.raises(TaggingDataError, match=r"bad\.jsonl:1: 'not' must be true or false"):
        load_corrections(bad)
    bad.write_text('{"title": "x"}\n', encoding="utf-8")
    with pytest.raises(TaggingDataError, match=r":1: missing key 'topic'"):
        load_corrections(bad)


# -- explanations and the fingerprint ------------------------------------------------------------


def test_explanations_list_rules_and_model_evidence_with_weights(tagger: Tagger) -> None:
    item = ItemText(
        "New research finds top teachers lose effectiveness in high-need schools",
        url="https://www.chalkbeat.org/2026/02/17/teachers/",
    )
    explanation = tagger.explain(item)
    assert [t.topic_id for t in explanation.topics] == ["education", "ai", "law"]
    assert [t.topic_id for t in explanation.assigned] == ["education"]
    education = explanation.topics[0]
    assert {e.kind for e in education.evidence} >= {"domain", "keyword", "model"}
    assert education.score == pytest.approx(sum(e.weight for e in education.evidence), abs=1e-3)
    text = explain_text(explanation)
    assert "education  +" in text and "assigned (threshold 0.60)" in text
    assert "+2.00  domain" in text and "chalkbeat.org" in text
    assert "\nai         -" in text  # topic ids are padded to one width
    assert "not assigned" in text
    assert "domain chalkbeat.org (+2.00)" in education.reason
    assert explain_text([]) == "no topic"


def test_the_fingerprint_follows_taxonomy_model_and_corrections() -> None:
    base = Tagger(DEFAULT_TOPICS)
    assert Tagger(DEFAULT_TOPICS).fingerprint == base.fingerprint
    education = DEFAULT_TOPICS[0]
    changed = [
        education.model_copy(update={"keywords": [*education.keywords, "whiteboard"]}),
        *DEFAULT_TOPICS[1:],
    ]
    correction = Correction(ItemText("Celtics defend home court"), "law", positive=False)
    others = {
        Tagger(changed).fingerprint,
        Tagger(DEFAULT_TOPICS, model=None).fingerprint,
        Tagger(DEFAULT_TOPICS, corrections=[correction]).fingerprint,
        Tagger(DEFAULT_TOPICS, model=None, corrections=[correction]).fingerprint,
    }
    assert base.fingerprint not in others and len(others) == 4


def test_a_model_trained_on_other_examples_is_used_as_given() -> None:
    examples = load_examples(TRAIN_FILE)[:400]
    model = TopicModel.train(examples, ["education", "ai", "law"])
    tagger = Tagger(DEFAULT_TOPICS, model=model)
    assert tagger.model is model
    assert tagger.fingerprint != Tagger(DEFAULT_TOPICS).fingerprint
