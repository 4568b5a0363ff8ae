"""Tagging as users drive it: stored items tagged with reasons, labels that flip an item at
once, re-tagging that is incremental (only what a change affects), and the commands `tag eval`,
`tag text`, `explain` and `label` over a real database."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from click.testing import CliRunner

from feedbot.app import App
from feedbot.cli import cli
from feedbot.fixture_server import FixtureServer, Route
from feedbot.tagging import Tagger, evaluate, load_examples, report_to_json

DATA = Path(__file__).resolve().parent / "data" / "tagging"

LITERACY = "https://hechingerreport.org/structured-literacy-laws/"
CHATBOT = "https://example.com/chatbot-tutors-in-class"
GARDEN = "https://example.com/garden-notes"

FEED = f"""<?xml version="1.0"?><rss version="2.0"><channel><title>Mixed</title>
<item><title>Structured literacy laws spread to half the states</title><link>{LITERACY}</link>
<guid>1</guid><description>States now require phonics in early reading instruction.</description>
</item>
<item><title>Chatbot tutors arrive in middle-school classrooms</title><link>{CHATBOT}</link>
<guid>2</guid><description>A district pilots large language model tutors for homework.</description>
</item>
<item><title>Notes from the garden</title><link>{GARDEN}</link><guid>3</guid>
<description>Tomatoes, late frost and a new compost bin.</description></item>
</channel></rss>""".encode()


@pytest.fixture
def app(server: FixtureServer, make_app: Callable[..., App]) -> App:
    server.routes["/mixed.xml"] = Route(body=FEED)
    app = make_app([{"name": "Mixed", "url": server.url("/mixed.xml")}])
    app.fetch()
    return app


def topics(app: App) -> dict[str, list[str]]:
    return {item.url: [t.id for t in item.topics] for item in app.items()}


def test_items_are_tagged_with_their_reasons(app: App) -> None:
    found = topics(app)
    assert "ai" in found[CHATBOT]
    assert "education" in found[CHATBOT]
    assert found[GARDEN] == []
    [chatbot] = [item for item in app.items() if item.url == CHATBOT]
    reasons = {t.id: t.reason for t in chatbot.topics}
    assert "keyword" in reasons["ai"] or "model" in reasons["ai"]
    assert "(+" in reasons["ai"]  # each piece of evidence with its weight


def test_a_label_flips_its_item_at_once_and_retagging_is_incremental(app: App) -> None:
    before = topics(app)
    assert set(before[LITERACY]) == {"education", "law"}  # "laws" in the title
    assert app.tag() == 0  # nothing changed: nothing is re-tagged

    # The curator files reading mandates under education only.
    app.label(LITERACY, "law", positive=False)
    after = topics(app)
    assert after[LITERACY] == ["education"]
    assert after[GARDEN] == []
    assert app.tag() == 0  # the labels' re-tag already ran

    # A taxonomy change is one command too: every item is due under the new fingerprint.
    law = app.settings.topics[2]
    settings = app.settings.model_copy(
        update={"topics": [*app.settings.topics[:2],
                           law.model_copy(update={"phrases": [*law.phrases, "compost bin"]})]}
    )  # fmt: skip
    changed = App(settings, app.store, clock=app.clock)
    assert changed.tag() == 3
    assert "law" in topics(changed)[GARDEN]  # the new phrase applies
    assert changed.tag() == 0


def test_unknown_items_and_topics_are_clear_errors(app: App) -> None:
    from feedbot.errors import FeedbotError

    with pytest.raises(FeedbotError, match="unknown topic 'sport'"):
        app.label(LITERACY, "sport")
    with pytest.raises(FeedbotError, match=r"no item 'https://nowhere\.example/'"):
        app.label("https://nowhere.example/", "law")


def write_config(app: App, tmp_path: Path) -> Path:
    path = tmp_path / "cli.toml"
    document = tomlkit.document()
    document["database_url"] = app.settings.resolved_database_url()
    path.write_text(tomlkit.dumps(document), encoding="utf-8")
    return path


def run(config: Path, *args: str) -> Any:
    result = CliRunner().invoke(cli, ["--config", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_tag_eval_prints_the_figures_evaluate_computes(app: App, tmp_path: Path) -> None:
    config = write_config(app, tmp_path)
    printed = json.loads(run(config, "tag", "eval", str(DATA / "eval_small.jsonl"), "--json"))
    expected = report_to_json(
        evaluate(Tagger(app.settings.topics), load_examples(DATA / "eval_small.jsonl"))
    )
    assert printed == expected
    assert set(printed) == {"topics", "macro_f1"}
    assert printed["topics"]["education"]["support"] == 3
    assert printed["topics"]["law"]["support"] == 2
    table = run(config, "tag", "eval", str(DATA / "eval_small.jsonl"))
    assert "macro" in table.lower()
    assert f"{expected['macro_f1']:.3f}" in table


def test_tag_text_and_explain_show_evidence(app: App, tmp_path: Path) -> None:
    config = write_config(app, tmp_path)
    essay = json.loads(
        run(config, "tag", "text", "An essay on AI, the law, and the future of the republic",
            "--url", "https://www.lawfaremedia.org/article/essay", "--json")
    )  # fmt: skip
    assert set(essay["assigned"]) == {"ai", "law"}
    law = next(t for t in essay["topics"] if t["topic"] == "law")
    assert {"kind": "domain", "detail": "lawfaremedia.org", "weight": 2.0} in law["evidence"]

    explained = run(config, "explain", CHATBOT)
    assert explained.splitlines()[0] == "Chatbot tutors arrive in middle-school classrooms"
    assert "ai" in explained and "assigned" in explained

    run(config, "label", CHATBOT, "--not", "ai")
    assert "ai" not in topics(app)[CHATBOT]
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"title": "Notes from the garden", "url": GARDEN,
                                  "topic": "education"}) + "\n", encoding="utf-8")  # fmt: skip
    assert "Imported 1 labels" in run(config, "label", "--import", str(labels))
    assert "education" in topics(app)[GARDEN]
