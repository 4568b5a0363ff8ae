"""OPML import and export of sources, every kind of them.

Export (:func:`render_opml`): a feed is the outline every reader knows, ``type="rss"`` with its
``xmlUrl``. A source of another kind (arXiv, Crossref, Mastodon, Bluesky, X, page…) is an outline
``type="feedbot"`` that other readers skip, with its kind and settings in attributes of feedbot's
namespace (``xmlns:feedbot="https://github.com/feedbot/feedbot/opml"``): ``feedbot:kind``,
``feedbot:url`` when the config gives one, and one attribute per setting that differs from its
default (text as is; numbers, booleans, lists and tables as JSON). ``htmlUrl`` is the source's
location. Topics go in ``category`` (``"education,ai"``), and each source sits in the folder of its
first topic, named after the topic, as readers expect.

Import (:func:`parse_opml`): feeds from any reader's OPML (Feedly, Inoreader, NetNewsWire, …),
folders nested at any depth, ``xmlUrl`` in any letter case; feedbot's own outlines come back as
the sources they were, so export → import gives the same settings. An outline nested in a folder
whose title (or whose ``category``) names a topic id or name gets that topic; ``/`` and ``,``
separate category paths ("/Education/K-12"). Names are kept unique: a second feed with a name
already taken gets its host added.
"""

from __future__ import annotations

import json
import types
import typing
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from feedbot.config import GENERAL_SOURCE_KEYS, SourceSettings, TopicSettings
from feedbot.errors import ConfigError
from feedbot.sanitize import is_web_url

NAMESPACE = "https://github.com/feedbot/feedbot/opml"
_NS = "{" + NAMESPACE + "}"
FEED_TYPES = frozenset({"rss", "atom", "feed", "rdf", ""})


def parse_opml(
    content: bytes, topics: Sequence[TopicSettings], label: str = "OPML"
) -> list[SourceSettings]:
    """Sources of an OPML document. Raises :class:`ConfigError` when it is not OPML, or when one
    of feedbot's own outlines has settings its kind does not accept."""
    try:
        root = ET.fromstring(content)
    except ET.ParseError as e:
        raise ConfigError(f"{label}: not a readable OPML file: {e}") from e
    body = root.find("body")
    if root.tag != "opml" or body is None:
        raise ConfigError(f"{label}: not an OPML file (no <opml><body>)")
    lookup = {t.id.casefold(): t.id for t in topics} | {t.name.casefold(): t.id for t in topics}
    found: list[SourceSettings] = []
    seen: set[str] = set()
    names: set[str] = set()

    def topic_ids(names: Sequence[str]) -> list[str]:
        ids = []
        for name in names:
            for part in name.replace(",", "/").split("/"):
                topic = lookup.get(part.strip().casefold())
                if topic and topic not in ids:
                    ids.append(topic)
        return ids

    def unique(name: str, url: str) -> str:
        if name.casefold() in names:
            host = urlsplit(url).hostname or ""
            name = f"{name} ({host})" if host else name
            n = 2
            while name.casefold() in names:
                name, n = f"{name.rsplit(' #', 1)[0]} #{n}", n + 1
        names.add(name.casefold())
        return name

    def walk(node: ET.Element, folders: list[str]) -> None:
        for outline in node.findall("outline"):
            attributes = {key.lower(): value for key, value in outline.attrib.items()}
            kind = outline.get(_NS + "kind") or attributes.get("feedbotkind")
            url = (attributes.get("xmlurl") or "").strip()
            title = (outline.get("title") or outline.get("text") or "").strip()
            categories = [*folders, outline.get("category") or ""]
            if kind and kind != "feed":
                source = _feedbot_source(outline, kind, title, topic_ids(categories), label)
                if source.kind + source.location not in seen:
                    seen.add(source.kind + source.location)
                    names.add(source.name.casefold())
                    found.append(source)
            elif url and is_web_url(url) and url not in seen:
                seen.add(url)
                name = unique(title or url, url)
                data = {"name": name, "url": url, "topics": topic_ids(categories)}
                found.append(_validated(data | _general_settings(outline), title, label))
            walk(outline, [*folders, title] if not url and not kind else folders)

    walk(body, [])
    return found


def _feedbot_source(
    outline: ET.Element, kind: str, title: str, topics: list[str], label: str
) -> SourceSettings:
    """A source of a non-feed kind, from its outline's ``feedbot:`` attributes."""
    from feedbot.sources import registry

    known = registry().get(kind)
    if known is None:
        raise ConfigError(f"{label}: outline {title!r}: unknown source kind {kind!r}")
    fields = known.options.model_fields if known.options else {}
    data: dict[str, Any] = {"name": title, "kind": kind, "topics": topics}
    for key, value in outline.attrib.items():
        if not key.startswith(_NS) or key in (_NS + "kind",):
            continue
        name = key[len(_NS) :]
        annotation = fields[name].annotation if name in fields else str
        data[name] = value if name == "url" or _takes_text(annotation) else _json(value)
    if "url" not in data and outline.get("feedbotKind") and outline.get("xmlUrl"):
        data["url"] = outline.get("xmlUrl")  # exported by an earlier feedbot
    return _validated(data | _general_settings(outline), title, label)


def _general_settings(outline: ET.Element) -> dict[str, Any]:
    """The settings every kind has beyond name, URL and topics (``weight``, ``interval_minutes``…)
    from a feed outline's ``feedbot:`` attributes."""
    return {
        key[len(_NS) :]: _json(value)
        for key, value in outline.attrib.items()
        if key.startswith(_NS) and key[len(_NS) :] in GENERAL_SOURCE_KEYS
    }


def _validated(data: dict[str, Any], title: str, label: str) -> SourceSettings:
    try:
        return SourceSettings.model_validate(data)
    except ValidationError as e:
        error = e.errors(include_url=False)[0]
        cause = error.get("ctx", {}).get("error")
        where = getattr(cause, "key", None) or ".".join(str(p) for p in error["loc"])
        message = str(cause) if cause else error["msg"]
        raise ConfigError(f"{label}: outline {title!r}: {where}: {message}") from None


def _takes_text(annotation: Any) -> bool:
    """True when a setting's type is text (str, or str | None): its attribute is taken as is."""
    if annotation is str:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return str in typing.get_args(annotation)
    return False


def _json(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value  # let the kind's model say what is wrong with it


def render_opml(
    sources: Sequence[SourceSettings],
    title: str,
    topics: Sequence[TopicSettings] = (),
) -> bytes:
    """An OPML 2.0 document of ``sources``; with ``topics``, each in the folder of its first."""
    ET.register_namespace("feedbot", NAMESPACE)
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    names = {topic.id: topic.name for topic in topics}
    folders: dict[str, ET.Element] = {}
    for source in sources:
        parent = body
        if source.topics and source.topics[0] in names:
            topic = source.topics[0]
            if topic not in folders:
                folders[topic] = ET.SubElement(
                    body, "outline", {"text": names[topic], "title": names[topic]}
                )
            parent = folders[topic]
        attributes = {"text": source.name, "title": source.name}
        if source.kind == "feed":
            attributes |= {"type": "rss", "xmlUrl": source.location}
        else:
            attributes |= {"type": "feedbot", "htmlUrl": source.location}
            attributes[_NS + "kind"] = source.kind
            if source.url:
                attributes[_NS + "url"] = source.url
            for key, value in (source.model_extra or {}).items():
                attributes[_NS + key] = value if isinstance(value, str) else json.dumps(value)
        for key, value in source.general.items():
            attributes[_NS + key] = json.dumps(value)
        if source.topics:
            attributes["category"] = ",".join(source.topics)
        ET.SubElement(parent, "outline", attributes)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
