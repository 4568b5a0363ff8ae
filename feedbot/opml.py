"""OPML import and export of sources. Outline categories map to topics: an outline nested in a
folder whose title (or whose ``category`` attribute) names a topic id or name gets that topic."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from feedbot.config import SourceSettings, TopicSettings
from feedbot.errors import ConfigError
from feedbot.sanitize import is_web_url


def parse_opml(
    content: bytes, topics: Sequence[TopicSettings], label: str = "OPML"
) -> list[SourceSettings]:
    """Sources of an OPML document. Raises :class:`ConfigError` when it is not OPML."""
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

    def topic_ids(names: Sequence[str]) -> list[str]:
        ids = []
        for name in names:
            for part in name.replace(",", "/").split("/"):
                topic = lookup.get(part.strip().casefold())
                if topic and topic not in ids:
                    ids.append(topic)
        return ids

    def walk(node: ET.Element, folders: list[str]) -> None:
        for outline in node.findall("outline"):
            url = (outline.get("xmlUrl") or "").strip()
            title = (outline.get("title") or outline.get("text") or "").strip()
            if url:
                if not is_web_url(url) or url in seen:
                    continue
                seen.add(url)
                categories = [*folders, outline.get("category") or ""]
                found.append(
                    SourceSettings(name=title or url, url=url, topics=topic_ids(categories))
                )
            walk(outline, [*folders, title] if not url else folders)

    walk(body, [])
    return found


def render_opml(sources: Sequence[SourceSettings], title: str) -> bytes:
    root = ET.Element("opml", {"version": "2.0"})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for source in sources:
        attributes = {
            "type": "rss",
            "text": source.name,
            "title": source.name,
            "xmlUrl": source.location,
        }
        if source.topics:
            attributes["category"] = ",".join(source.topics)
        if source.kind != "feed":
            attributes["feedbotKind"] = source.kind
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
