"""Tagging rules: word boundaries, capitals, inflections, phrases, negatives, domains, source
defaults, arXiv categories, journals/ISSNs/subjects, multi-label. The tagger runs with
``model=None`` here, so every outcome follows from the taxonomy alone."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from feedbot.tagging import DEFAULT_TOPICS, ItemText, Tagger, TopicSettings
from feedbot.tagging.rules import Rules, inflections, tokenize

RULES = Tagger(DEFAULT_TOPICS, model=None)


def topics(title: str, summary: str = "", **metadata: object) -> set[str]:
    return {a.topic_id for a in RULES.tag(ItemText(title, summary, **metadata))}  # type: ignore[arg-type]


def kinds(topic: str, title: str, summary: str = "", **metadata: object) -> dict[str, float]:
    """Evidence kind → summed weight, for one topic, from the rules alone."""
    rules = Rules(DEFAULT_TOPICS)
    index = [t.id for t in DEFAULT_TOPICS].index(topic)
    found: dict[str, float] = {}
    for evidence in rules.evidence(ItemText(title, summary, **metadata))[index]:  # type: ignore[arg-type]
        found[evidence.kind] = found.get(evidence.kind, 0.0) + evidence.weight
    return found


# -- words ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("She said the rain would stop by noon", set()),  # "AI" is not in "said"
        ("Ai Weiwei opens a show in London", set()),  # "Ai" is not "AI"
        ("Maui and Hawaii brace for the storm", set()),
        ("How AI is changing newsrooms", {"ai"}),
        ("AI's energy bill keeps growing", {"ai"}),  # possessive
        ("AI-generated images flood stock sites", {"ai"}),  # hyphen is a boundary
        ("Why LLMs hallucinate", {"ai"}),  # acronym plural
        ("Lawn care tips for a dry summer", set()),  # "law" is not in "lawn"
        ("A new law on short-term rentals", {"law"}),
        ("The lawyer who took on the county", {"law"}),  # its own keyword, not "law" inside it
        ("Laws that changed the internet", {"law"}),  # plural
        ("Parents sued the district", {"law"}),  # sue → sued
        ("Teachers want more planning time", {"education"}),  # teacher → teachers
        ("Homework help for busy families", {"education"}),
    ],
)
def test_keywords_match_whole_words_in_any_case_capitals_exactly(
    title: str, expected: set[str]
) -> None:
    assert topics(title) == expected


def test_a_keyword_in_the_title_is_enough_in_the_summary_it_needs_company() -> None:
    assert topics("Weekly notes", "A new statute was discussed.") == set()  # 0.5 < threshold
    assert topics("Weekly notes", "A new statute and a court hearing.") == {"law"}  # 0.5 + 0.5
    assert topics("A new statute") == {"law"}  # 1.0


def test_a_word_counts_once_and_where_it_weighs_most() -> None:
    assert kinds("law", "Court news", "The court met; the court adjourned.") == {"keyword": 1.0}


def test_inflections_are_simple_english() -> None:
    assert inflections("teacher") == {"teacher", "teachers", "teachered", "teachering"}
    assert {"sues", "sued", "suing"} <= inflections("sue")
    assert {"studies", "studied"} <= inflections("study")
    assert {"classes"} <= inflections("class")
    assert inflections("LLM") == {"LLM", "LLMs"}
    assert "lawn" not in inflections("law") and "lawyer" not in inflections("law")


def test_tokens_drop_possessives_and_keep_a_single_letter_with_its_full_stop() -> None:
    assert tokenize("Moore’s law and AI's rise") == ["Moore", "law", "and", "AI", "rise"]
    assert tokenize("Smith v. Jones") == ["Smith", "v.", "Jones"]


def test_case_captions_are_law() -> None:
    assert topics("JOSE ALFARO HENRIQUEZ V. MERRICK GARLAND") == {"law"}
    assert topics("Smith v. Jones, decided today") == {"law"}


def test_phrases_weigh_more_than_keywords_and_inflect_their_last_word() -> None:
    assert kinds("education", "The school district budget") == {"phrase": 1.5}
    assert kinds("education", "Two school districts merge") == {"phrase": 1.5}
    assert kinds("ai", "A primer on machine learning") == {"phrase": 1.5}


def test_negative_keywords_consume_their_words_and_count_against() -> None:
    assert topics("Moore's law is slowing, chips keep getting faster") == set()
    assert kinds("law", "Moore's law is slowing") == {"negative": -1.5}
    assert kinds("law", "The law of large numbers, explained") == {"negative": -1.5}
    assert kinds("education", "A school of fish moves as one") == {"negative": -1.5}
    assert topics("Food court favourites in the mall") == set()
    # outside the negative phrase, the word still counts
    assert kinds("law", "Moore's law and the law of the sea") == {"negative": -1.5, "keyword": 1.0}


def test_custom_topic_rules() -> None:
    climate = TopicSettings(
        id="climate",
        name="Climate",
        keywords=["glacier", "study"],
        phrases=["sea level rise"],
        negative_keywords=["climate of fear"],
    )
    tagger = Tagger([climate], model=None)
    assert [a.topic_id for a in tagger.tag(ItemText("Glaciers retreat faster"))] == ["climate"]
    assert [a.topic_id for a in tagger.tag(ItemText("New studies of ice"))] == ["climate"]
    assert tagger.tag(ItemText("Sea level rise and a study")) != []
    assert tagger.tag(ItemText("A climate of fear in the office")) == []


# -- metadata ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.chalkbeat.org/2026/02/17/teachers/", {"education"}),
        ("https://newsletter.chalkbeat.org/p/issue-12", {"education"}),  # subdomain
        ("chalkbeat.org/2026/02/17/tea…", {"education"}),  # as pasted from X, no scheme
        ("https://notchalkbeat.org/story", set()),  # not a subdomain
        ("https://www.kqed.org/mindshift/12345/recess", {"education"}),  # path prefix
        ("https://www.kqed.org/news/12345/traffic", set()),
        ("https://www.scotusblog.com/2026/01/case/", {"law"}),
        ("https://www.anthropic.com/news/something", {"ai"}),
        ("not a url at all", set()),
    ],
)
def test_domains_match_the_host_and_its_subdomains(url: str, expected: set[str]) -> None:
    assert topics("Weekly roundup", url=url) == expected


def test_domains_may_be_written_as_urls() -> None:
    topic = TopicSettings(id="x", name="X", domains=["https://www.Example.org/Blog/"])
    tagger = Tagger([topic], model=None)
    assert tagger.tag(ItemText("Post", url="https://news.example.org/blog/2026/post")) != []
    assert tagger.tag(ItemText("Post", url="https://example.org/shop")) == []


def test_source_defaults() -> None:
    assert topics("Weekly roundup", source_topics=("law",)) == {"law"}
    assert topics("Weekly roundup", source_topics=("law", "ai")) == {"law", "ai"}
    assert topics("Weekly roundup", source_topics=("unknown-topic",)) == set()
    assert kinds("law", "Weekly roundup", source_topics=("law", "law")) == {"source": 2.0}


@pytest.mark.parametrize(
    ("categories", "expected"),
    [
        (("cs.AI",), {"ai"}),
        (("cs.CL", "cs.LG"), {"ai"}),
        (("stat.ML",), {"ai"}),
        (("physics.ed-ph",), {"education"}),
        (("cs.CY",), set()),  # computers and society: neither law nor AI by itself
        (("q-bio.NC",), set()),
    ],
)
def test_arxiv_categories(categories: tuple[str, ...], expected: set[str]) -> None:
    assert topics("On the structure of things", arxiv_categories=categories) == expected


def test_journals_issns_and_subjects() -> None:
    assert topics("Input-based tasks", journal="Language Teaching Research") == {"education"}
    assert topics("Input-based tasks", journal="language teaching research") == {"education"}
    assert topics("Input-based tasks", issns=("1362-1688",)) == {"education"}
    assert topics("Input-based tasks", issns=("13621688",)) == {"education"}
    assert topics("A study", subjects=("Law",)) == {"law"}
    assert topics("A study", journal="Harvard Law Review") == {"law"}
    assert topics("A study", journal="Ecology Letters", issns=("1461-023X",)) == set()
    # name and ISSN of the same journal count once
    assert kinds(
        "education", "Tasks", journal="Language Teaching Research", issns=("1362-1688",)
    ) == {"journal": 2.5}


def test_a_journal_cited_in_the_text_counts() -> None:
    citation = (
        "Shintani, N. (2012). Input-based tasks and the acquisition of vocabulary and grammar. "
        "Language Teaching Research, 16(2), 253–279."
    )
    assert kinds("education", citation) == {"journal": 1.5}


def test_multi_label() -> None:
    assert topics("An essay on AI and the law") == {"ai", "law"}
    assert topics("AI tutors in the classroom raise student privacy law questions") == {
        "education",
        "ai",
        "law",
    }


# -- settings ---------------------------------------------------------------------------------


def test_every_topic_setting_is_described() -> None:
    for name, field in TopicSettings.model_fields.items():
        assert field.description, f"TopicSettings.{name} has no description"


def test_old_configs_with_keywords_only_still_work() -> None:
    topic = TopicSettings(id="space", name="Space", description="", keywords=["NASA", "rocket"])
    assert Tagger([topic], model=None).tag(ItemText("NASA tests a rocket")) != []


def test_issns_are_validated() -> None:
    with pytest.raises(ValidationError, match="expected an ISSN"):
        TopicSettings(id="x", name="X", issns=["12-34"])


def _issn_check_digit_ok(issn: str) -> bool:
    digits = issn.replace("-", "").upper()
    total = sum(int(d) * w for d, w in zip(digits[:7], range(8, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return digits[7] == ("X" if check == 10 else str(check))


def test_default_issns_have_valid_check_digits() -> None:
    for topic in DEFAULT_TOPICS:
        for issn in topic.issns:
            assert _issn_check_digit_ok(issn), f"{topic.id}: {issn}"


def test_default_topic_ids() -> None:
    assert [t.id for t in DEFAULT_TOPICS] == ["education", "ai", "law"]


def test_the_old_call_form_still_works() -> None:
    assigned = RULES.tag("Weekly roundup", "Nothing to see.", {"education"})
    assert [(a.topic_id, a.score) for a in assigned] == [("education", 2.0)]
    assert assigned[0].reason == "source a source's default topic (+2.00)"
