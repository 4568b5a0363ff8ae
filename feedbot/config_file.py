"""Writing the config file: the commented starter, and adding/removing sources while keeping the
user's comments and layout (tomlkit). Every edit is validated before the file is replaced."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import tomlkit
from tomlkit.items import AoT

from feedbot.config import SourceSettings, load_settings, settings_from_dict
from feedbot.errors import ConfigError

STARTER = """\
# feedbot configuration. Every setting is optional except your sources.
# Reference: README.md, "Configuration". Relative paths are relative to this file.

title = "My feedbot digest"          # name of the site, feeds and digest
base_url = "http://localhost:8000/"  # where the site will be served (absolute links in feeds)
timezone = "UTC"                     # IANA zone that decides which day an item belongs to
# database_url = "sqlite:///feedbot.db"   # or postgresql+psycopg://user@host/db (env DATABASE_URL)
# output_dir = "site"                     # where `feedbot build` writes the site and feeds
# templates_dir = "my-templates"          # your templates, searched before feedbot's own

[http]
# allow_private_networks = false  # true allows loopback/private targets (local testing only)
# timeout_seconds = 20
# max_connections = 64
# max_per_host = 4
# max_response_bytes = 10485760
# retries = 2
# min_host_interval_seconds = 0.1  # politeness: least time between two requests to one host
# contact_url = "https://example.org/about-this-bot"  # in the User-Agent, for site owners

[links]
# resolve = true        # follow shared links to their articles and read their metadata
# max_hops = 10
# tracking_parameters = ["utm_*", "fbclid", "gclid"]  # replaces the default list (README)

[digest]
# from_address = "feedbot@example.org"
# to = ["you@example.org"]
# send_at = "07:00"        # local time a day's digest is due (digest.timezone, else timezone)
# empty = "skip"           # or "note": send a short note when nothing is new
# [[digest.lists]]         # more lists, each with its topics: see README, "The email digest"
# name = "ai"
# recipients = ["lab@example.org"]
# topics = ["ai"]
# [digest.smtp]
# host = "smtp.example.org"
# security = "starttls"    # or "tls" (implicit, port 465)
# username = "feedbot@example.org"   # password: env FEEDBOT_SMTP_PASSWORD, never in this file

# Topics: the default taxonomy is education, ai and law. Define [[topics]] to replace it:
# [[topics]]
# id = "education"
# name = "Education"
# keywords = ["school", "teacher", "students"]

# Sources: RSS, Atom or JSON Feed URLs; `topics` puts every item of the source in those topics.
# [[sources]]
# name = "Example blog"
# url = "https://example.org/feed.xml"
# topics = ["education"]
"""


def write_starter(path: Path, force: bool = False) -> None:
    if path.exists() and not force:
        raise ConfigError(f"{path}: already exists (use --force to overwrite)")
    _replace(path, STARTER)


def add_sources(path: Path, sources: Sequence[SourceSettings]) -> list[str]:
    """Append ``sources`` to the config's ``[[sources]]``; returns the names added (sources whose
    name or URL is already configured are skipped)."""
    document = _read(path)
    current = load_settings(path)
    names = {s.name.casefold() for s in current.sources}
    urls = {s.location for s in current.sources}
    table = document.get("sources")
    if table is None:
        table = AoT([])
        document["sources"] = table
    added = []
    for source in sources:
        if source.name.casefold() in names or source.location in urls:
            continue
        entry = tomlkit.table()
        entry["name"] = source.name
        if source.kind != "feed":
            entry["kind"] = source.kind
        if source.url:
            entry["url"] = source.url
        for key, value in (source.model_extra or {}).items():
            entry[key] = value
        for key, value in source.general.items():
            entry[key] = value
        if source.topics:
            entry["topics"] = list(source.topics)
        table.append(entry)
        names.add(source.name.casefold())
        urls.add(source.location)
        added.append(source.name)
    _validate_and_write(path, document)
    return added


def remove_source(path: Path, name: str) -> None:
    document = _read(path)
    table = document.get("sources")
    index = next(
        (i for i, entry in enumerate(table or []) if str(entry.get("name", "")).casefold()
         == name.casefold()),
        None,
    )  # fmt: skip
    if table is None or index is None:
        raise ConfigError(f"{path}: no source named {name!r}")
    del table[index]
    _validate_and_write(path, document)


def _read(path: Path) -> tomlkit.TOMLDocument:
    load_settings(path)  # a clear error if the file is missing or invalid
    return tomlkit.parse(path.read_text(encoding="utf-8"))


def _validate_and_write(path: Path, document: tomlkit.TOMLDocument) -> None:
    text = tomlkit.dumps(document)
    settings_from_dict(tomlkit.parse(text).unwrap(), path)
    _replace(path, text)


def _replace(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
