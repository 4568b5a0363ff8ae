"""Config: typed settings, defaults, and errors that name the file, the key and the expectation."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from feedbot.config import DEFAULT_TOPICS, Settings, load_settings
from feedbot.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feedbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, '[[sources]]\nname = "A"\nurl = "https://a.example.org/feed"\n')
    settings = load_settings(path)
    assert [t.id for t in settings.topics] == ["education", "ai", "law"]
    assert settings.http.allow_private_networks is False
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path.resolve() / 'feedbot.db'}"
    assert settings.output_path == tmp_path.resolve() / "site"
    assert settings.base_url.endswith("/")


def test_database_url_from_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db.example.org/feedbot")
    settings = load_settings(write(tmp_path, 'database_url = "sqlite:///other.db"\n'))
    assert settings.resolved_database_url() == "postgresql+psycopg://u@db.example.org/feedbot"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("title = \n", "invalid TOML: "),
        ("[http]\ntimeout_seconds = -1\n", "http.timeout_seconds: Input should be greater than 0 (got -1)"),
        ("[http]\ntimout_seconds = 3\n", "http.timout_seconds: unknown setting (check its spelling and table)"),
        ('[[sources]]\nname = "A"\nurl = "ftp://x"\n', "sources[0].url: expected an http:// or https:// URL (got 'ftp://x')"),
        ('[[sources]]\nname = "A"\n', "sources[0].url: required for a 'feed' source"),
        ('[[sources]]\nname = "A"\nkind = "gopher"\nurl = "https://a.org/f"\n',
         "sources[0].kind: unknown source kind 'gopher'; known kinds are feed, arxiv, crossref"),
        ('[[sources]]\nname = "A"\nurl = "https://a.org/f"\nissn = "1362-1688"\n',
         "sources[0].issn: unknown setting for a 'feed' source"),
        ('[[sources]]\nname = "A"\nkind = "arxiv"\n',
         "sources[0]: give categories, a query, or both"),
        ('[[sources]]\nname = "A"\nkind = "arxiv"\ncategories = ["cs AI"]\n',
         "sources[0].categories: not an arXiv category: 'cs AI'"),
        ('[[sources]]\nname = "A"\nkind = "crossref"\nissn = "12345"\n',
         "sources[0].issn: not an ISSN: '12345'"),
        ('[[sources]]\nname = "A"\nkind = "crossref"\nquery = "x"\nrows = 3\n',
         "sources[0].rows: unknown setting for a 'crossref' source"),
        ('[[sources]]\nname = "A"\nurl = "https://a.org/f"\ntopics = ["sport"]\n',
         "sources[0].topics: unknown topic 'sport'; known topics are education, ai, law"),
        ('[[sources]]\nname = "A"\nurl = "https://a.org/f"\n[[sources]]\nname = "a"\nurl = "https://b.org/f"\n',
         "sources[1].name: duplicate source name 'a'"),
        ('timezone = "Mars/Olympus"\n', "timezone: unknown time zone 'Mars/Olympus'"),
        ('[[topics]]\nid = "Big Topic"\nname = "X"\n', "topics[0].id: expected a lowercase slug"),
        ("http = 3\n", "http: Input should be a valid dictionary"),
    ],
)  # fmt: skip
def test_errors_name_file_key_and_expectation(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_settings(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_file_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file not found \(run 'feedbot init'"):
        load_settings(tmp_path / "nope.toml")


def test_starter_config_is_valid_and_documents_itself(tmp_path: Path) -> None:
    from feedbot.config_file import STARTER

    settings = load_settings(write(tmp_path, STARTER))
    assert settings.sources == []
    for key in ("allow_private_networks", "database_url", "timezone", "[[sources]]", "[[topics]]"):
        assert key in STARTER


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    missing = []
    tables = {
        name: field.annotation
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
    }
    assert {"http", "links", "research", "digest"} <= set(tables)
    models = [("", Settings)] + [(f"{name}.", model) for name, model in tables.items()]
    for prefix, model in models:
        for name, field in model.model_fields.items():  # type: ignore[union-attr]
            if field.exclude:
                continue
            assert field.description, f"{prefix}{name} has no description"
            if name in tables and not prefix:
                continue  # tables: their keys are checked one by one
            if name in ("topics", "sources"):
                assert f"`[[{name}]]`" in readme
            elif f"`{prefix}{name}`" not in readme:
                missing.append(prefix + name)
    assert not missing, f"settings missing from README's configuration reference: {missing}"


def test_default_topics_are_education_ai_law() -> None:
    assert [t.id for t in DEFAULT_TOPICS] == ["education", "ai", "law"]
