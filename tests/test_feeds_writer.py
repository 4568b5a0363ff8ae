"""The RSS and Atom writer against ElementTree: ``feeds.rss`` and ``feeds.atom`` write their XML
as strings, and must give the very bytes the ElementTree code they replaced (issue 7) gives for
the same arguments (but for attribute values, now cleaned of what XML forbids, as text was). That code is kept below as the reference, and both are run on a few hundred
generated items full of hostile text: markup characters, quotes, line breaks and tabs, ``]]>``,
control characters XML forbids, RTL text, emoji, U+2028, empty strings; posts with no web
address, papers with citations, several sources and topics, and empty feeds."""

from __future__ import annotations

import json
import random
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from feedbot.links.citation import Author, Citation
from feedbot.links.shares import POST_IDENTITY
from feedbot.publish import feeds
from feedbot.publish.feeds import EPOCH, item_html, rfc822, rfc3339
from feedbot.publish.pages import image_of
from feedbot.records import Item, MentionRef, SourceRef, TopicRef

# ---------------------------------------------------------------------------------------------
# The reference: feedbot/publish/feeds.py's rss() and atom() as they were, with ElementTree,
# but for attribute values, which are now cleaned of the characters XML forbids as text is
# (they were not: a control character in an address made the feed ill-formed).

ATOM_NS = "http://www.w3.org/2005/Atom"
ET.register_namespace("atom", ATOM_NS)

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def reference_rss(
    items: Sequence[Item], *, title: str, link: str, self_url: str, description: str,
    body: Callable[[Item], str] = item_html,
) -> bytes:  # fmt: skip
    root = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(root, "channel")
    _sub(channel, "title", title)
    _sub(channel, "link", link)
    _sub(channel, "description", description)
    ET.SubElement(
        channel,
        f"{{{ATOM_NS}}}link",
        {"href": self_url, "rel": "self", "type": "application/rss+xml"},
    )
    if items:
        _sub(channel, "lastBuildDate", rfc822(max(item.date for item in items)))
    _sub(channel, "generator", "feedbot")
    for item in items:
        node = ET.SubElement(channel, "item")
        _sub(node, "title", item.title)
        if item.href:
            _sub(node, "link", item.href)
        _sub(node, "guid", item.url, {"isPermaLink": "true" if item.href else "false"})
        _sub(node, "pubDate", rfc822(item.date))
        _sub(node, "description", body(item))
        for topic in item.topics:
            _sub(node, "category", topic.name)
    return _xml_bytes(root)


def reference_atom(
    items: Sequence[Item], *, title: str, link: str, self_url: str, feed_id: str,
    body: Callable[[Item], str] = item_html,
) -> bytes:  # fmt: skip
    root = ET.Element(f"{{{ATOM_NS}}}feed")
    _sub(root, f"{{{ATOM_NS}}}title", title)
    _sub(root, f"{{{ATOM_NS}}}id", feed_id)
    updated = max((item.date for item in items), default=EPOCH)
    _sub(root, f"{{{ATOM_NS}}}updated", rfc3339(updated))
    ET.SubElement(root, f"{{{ATOM_NS}}}link", {"rel": "alternate", "href": link})
    ET.SubElement(
        root,
        f"{{{ATOM_NS}}}link",
        {"rel": "self", "href": self_url, "type": "application/atom+xml"},
    )
    author = ET.SubElement(root, f"{{{ATOM_NS}}}author")
    _sub(author, f"{{{ATOM_NS}}}name", title)
    _sub(root, f"{{{ATOM_NS}}}generator", "feedbot")
    for item in items:
        entry = ET.SubElement(root, f"{{{ATOM_NS}}}entry")
        _sub(entry, f"{{{ATOM_NS}}}title", item.title)
        _sub(entry, f"{{{ATOM_NS}}}id", item.url)
        if item.href:
            ET.SubElement(entry, f"{{{ATOM_NS}}}link", {"rel": "alternate", "href": item.href})
        _sub(entry, f"{{{ATOM_NS}}}published", rfc3339(item.date))
        _sub(entry, f"{{{ATOM_NS}}}updated", rfc3339(item.date))
        kind = "summary" if item.href else "content"
        _sub(entry, f"{{{ATOM_NS}}}{kind}", body(item), {"type": "html"})
        for source in item.sources:
            contributor = ET.SubElement(entry, f"{{{ATOM_NS}}}contributor")
            _sub(contributor, f"{{{ATOM_NS}}}name", source.name)
        for topic in item.topics:
            ET.SubElement(entry, f"{{{ATOM_NS}}}category", {"term": topic.id, "label": topic.name})
    return _xml_bytes(root)


def _sub(
    parent: ET.Element, tag: str, text: str, attributes: dict[str, str] | None = None
) -> ET.Element:
    node = ET.SubElement(parent, tag, attributes or {})
    node.text = _NOT_XML.sub("", text)
    return node


def _xml_bytes(root: ET.Element) -> bytes:
    for node in root.iter():
        node.attrib = {name: _NOT_XML.sub("", value) for name, value in node.attrib.items()}
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


# ---------------------------------------------------------------------------------------------
# Generated items.

# Pieces of text, joined at random: markup, quotes, whitespace XML attributes normalize, a CDATA
# end, every control character (most of which XML forbids), text that is neither ASCII nor
# left-to-right, and the characters ElementTree writes as character references.
PIECES = [
    "&", "<", ">", '"', "'", "\n", "\r", "\t", "\r\n", " ", "  ", "]]>", "<![CDATA[x]]>",
    "&amp;", "&#10;", "&lt;b&gt;", "<b>bold</b>", "<script>alert(1)</script>",
    '<a href="javascript:alert(2)">x</a>', "Tom & Jerry", "plain words", "AI", "law",
    "\u2028", "\u2029", "\u200f", "\u202e", "\ufeff", "\x7f", "\x85", "\xa0", "\ufffe",
    "\uffff", "שלום עולם", "مرحبا", "😀", "👩\u200d💻", "é", "日本語", "🏳️\u200d🌈",
    *(chr(code) for code in range(0x20)),
]  # fmt: skip
ZONES = [UTC, ZoneInfo("America/New_York"), ZoneInfo("Asia/Kolkata"), timezone(timedelta(hours=-3))]
START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def text(rng: random.Random, most: int = 6) -> str:
    if rng.random() < 0.1:
        return ""
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(1, most)))


def url(rng: random.Random, number: int) -> str:
    if rng.random() < 0.2:
        return f"{POST_IDENTITY}x:{number}{text(rng, 2)}"  # a post with no web address
    return f"https://news.example.org/{number}?q={text(rng, 3)}"


def source(rng: random.Random) -> SourceRef:
    return SourceRef(rng.choice(["Notes & Links", "", "A <b>source</b>"]) + text(rng, 3),
                     f"s{rng.randint(0, 5)}")  # fmt: skip


def topic(rng: random.Random) -> TopicRef:
    return TopicRef(rng.choice(["ai", "law", "x-y", ""]) + text(rng, 2), text(rng, 3))


def item(rng: random.Random, number: int) -> Item:
    address = url(rng, number)
    when = (START - timedelta(minutes=rng.randint(0, 60 * 24 * 400), microseconds=rng.randint(
        0, 999_999))).astimezone(rng.choice(ZONES))  # fmt: skip
    sources = tuple(source(rng) for _ in range(rng.randint(1, 3)))
    mentions = tuple(
        MentionRef(s, text(rng), rng.choice([None, address, f"https://post.example/{number}"]),
                   address, when, author=rng.choice([None, text(rng, 3)]),
                   reposted_by=rng.choice([None, None, text(rng, 2)]))
        for s in sources
    )  # fmt: skip
    values: dict[str, Any] = dict(
        id=number, url=address, title=text(rng), summary_html=rng.choice(
            ["", f"<p>{text(rng)}</p>", text(rng, 8), "<p>Kept <em>emphasis</em></p>"]),
        summary_text=text(rng), date=when, first_seen_at=when, sources=sources,
        topics=tuple(topic(rng) for _ in range(rng.randint(0, 3))), reached_by=(address,),
        mention_count=len(mentions), mentions=mentions,
    )  # fmt: skip
    if rng.random() < 0.2:  # a paper, with its citation and other versions
        values["citation"] = Citation(
            text(rng) or "A paper", doi="10.1234/abc", authors=(Author(text(rng, 2), "A. B."),),
            container=rng.choice([None, text(rng, 3)]), year=rng.choice([None, 2026]),
        )  # fmt: skip
        values["versions"] = rng.choice(
            [(), ("https://arxiv.org/abs/2401.00001",), (f"https://doi.org/10.1/{text(rng, 2)}",)]
        )
    return Item(**values)


def generated(rng: random.Random, count: int = 60) -> list[Item]:
    items = [item(rng, number) for number in range(count)] + hand_made()
    rng.shuffle(items)
    return items


def raw_body(item: Item) -> str:
    """A body as a caller may pass one: the item's text unsanitized (empty when it is empty)."""
    return item.summary_text


def hand_made() -> list[Item]:
    """The cases the generator might miss, each for sure: empty title and summary, a post, a
    paper, hostile text in every field."""
    base = item(random.Random(0), 1000)
    return [
        replace(base, url="https://a.example/1", title="", summary_html="", summary_text="",
                topics=()),
        replace(base, url=f"{POST_IDENTITY}x:77", title="A post",
                summary_html="<p>Only text.</p>"),
        replace(base, url="https://doi.org/10.1234/abc", title="A paper",
                citation=Citation("A paper", doi="10.1234/abc", authors=(Author("Ng", "A."),),
                                  year=2026),
                versions=("https://arxiv.org/abs/2401.00001",)),
        replace(base, url='https://a.example/?a=1&b="2"\n\r\t<>',
                title='Tom & Jerry <b>bold</b> \x0b "quoted" ]]> \u2028 😀 שלום',
                sources=(SourceRef("Notes & Links", "n"), SourceRef("", "e")),
                topics=(TopicRef('a"i\n', "A & <I>\t"), TopicRef("", ""))),
    ]  # fmt: skip


def both(
    items: Sequence[Item], rng: random.Random, body: Callable[[Item], str]
) -> list[tuple[bytes, bytes]]:
    """(new, reference) bytes of the RSS and the Atom feed of ``items``, with hostile feed
    titles and addresses."""
    title, link, self_url = text(rng), f"https://e.example/{text(rng, 2)}", text(rng, 3)
    description, feed_id = text(rng), text(rng, 3)
    rss_args: dict[str, Any] = dict(
        title=title, link=link, self_url=self_url, description=description
    )
    atom_args: dict[str, Any] = dict(title=title, link=link, self_url=self_url, feed_id=feed_id)
    return [
        (feeds.rss(items, **rss_args, body=body), reference_rss(items, **rss_args, body=body)),
        (feeds.atom(items, **atom_args, body=body), reference_atom(items, **atom_args, body=body)),
    ]


@pytest.mark.parametrize("seed", range(6))
def test_rss_and_atom_are_the_bytes_elementtree_writes(seed: int) -> None:
    rng = random.Random(seed)
    items = generated(rng)
    for body in (item_html, raw_body):
        for chosen in ([], items[:1], items[:7], items):
            for new, reference in both(chosen, rng, body):
                assert new == reference, _first_difference(new, reference)


def test_the_items_are_as_hostile_as_claimed() -> None:
    """The generated items cover what the equality above is meant to cover."""
    items = [i for seed in range(6) for i in generated(random.Random(seed))]
    texts = [t for i in items for t in (i.title, i.url, i.summary_text)]
    assert any(i.href is None for i in items) and any(i.href for i in items)
    assert any(i.citation for i in items) and any(i.version_links for i in items)
    assert any(i.title == "" for i in items) and any(i.summary_text == "" for i in items)
    assert any(len(i.sources) > 1 for i in items) and any(len(i.topics) > 1 for i in items)
    assert any(not i.topics for i in items)
    for needle in ["&", "<", ">", '"', "'", "\n", "\r", "\t", "]]>", "\x00", "\x1f", "\u2028",
                   "😀", "שלום"]:  # fmt: skip
        assert any(needle in t for t in texts), repr(needle)
    rng = random.Random(1)
    written = b"".join(new for new, _ in both(items, rng, raw_body))
    for escaped in [b"&amp;", b"&lt;", b"&gt;", b"&quot;", b"&#10;", b"&#13;", b"&#09;", b" />",
                    b'isPermaLink="false"', b"<atom:content ", b"\r"]:  # fmt: skip
        assert escaped in written, escaped


def test_attribute_values_are_cleaned_of_what_xml_forbids() -> None:
    """Addresses and topics in attributes lose the characters XML forbids (lone surrogates
    included), as text does: the feed stays well-formed."""
    rng = random.Random(7)
    odd = "a\x00b\x0bc\ud800d\udfffe\ufffe"
    base = item(rng, 1)
    entry = replace(base, url=f"https://x.example/{odd}", title=odd, topics=(TopicRef(odd, odd),))
    rss_args: dict[str, Any] = dict(title=odd, link=odd, self_url=odd, description=odd)
    atom_args: dict[str, Any] = dict(title=odd, link=odd, self_url=odd, feed_id=odd)
    for items in ([], [entry]):
        assert feeds.rss(items, **rss_args) == reference_rss(items, **rss_args)
        assert feeds.atom(items, **atom_args) == reference_atom(items, **atom_args)
    document = feeds.atom([entry], **atom_args)
    category = ET.fromstring(document).find(f"{{{ATOM_NS}}}entry/{{{ATOM_NS}}}category")
    assert category is not None and category.get("term") == category.get("label") == "abcde"
    channel = ET.fromstring(feeds.rss([entry], **rss_args)).find("channel")
    assert channel is not None
    assert channel.find(f"{{{ATOM_NS}}}link").get("href") == "abcde"  # type: ignore[union-attr]


def test_the_writer_output_is_well_formed_xml() -> None:
    """Every feed parses back to the same text, however hostile (the equality above makes this
    a check of the reference as much as of the writer)."""
    items = generated(random.Random(3), 300)
    document = feeds.rss(items, title="T & t", link="https://e/", self_url="https://e/f",
                         description="", body=raw_body)  # fmt: skip
    channel = ET.fromstring(document).find("channel")
    assert channel is not None
    titles = [node.findtext("title") for node in channel.findall("item")]
    assert titles == [_NOT_XML.sub("", i.title).replace("\r\n", "\n").replace("\r", "\n")
                      for i in items]  # fmt: skip
    atom = feeds.atom(items, title="", link="https://e/", self_url="https://e/a", feed_id="x")
    entries = ET.fromstring(atom).findall(f"{{{ATOM_NS}}}entry")
    assert [e.findtext(f"{{{ATOM_NS}}}id") for e in entries] == [
        _NOT_XML.sub("", i.url).replace("\r\n", "\n").replace("\r", "\n") for i in items
    ]


def reference_json_feed(
    items: Sequence[Item], *, title: str, link: str, self_url: str, description: str,
    body: Callable[[Item], str] = item_html,
) -> bytes:  # fmt: skip
    """The JSON Feed as it was made: one json.dumps of the whole document."""
    document = {
        "version": "https://jsonfeed.org/version/1.1", "title": title, "home_page_url": link,
        "feed_url": self_url, "description": description,
        "items": [
            {
                "id": item.url,
                **({"url": item.href} if item.href else {}),
                "title": item.title,
                "content_html": body(item),
                "summary": item.summary_text,
                **({"image": image} if (image := image_of(item)) else {}),
                "date_published": rfc3339(item.date),
                "authors": [{"name": source.name} for source in item.sources],
                "tags": [topic.name for topic in item.topics],
                "_feedbot": {"shared_by": item.shared_by,
                             "topics": [topic.id for topic in item.topics]},
            }
            for item in items
        ],
    }  # fmt: skip
    return json.dumps(document, ensure_ascii=False).encode("utf-8") + b"\n"


@pytest.mark.parametrize("seed", range(3))
def test_the_json_feed_made_of_entries_is_the_bytes_of_one_json_dumps(seed: int) -> None:
    rng = random.Random(seed)
    items = generated(rng)
    for body in (item_html, raw_body):
        for chosen in ([], items[:1], items):
            args: dict[str, Any] = dict(title=text(rng), link=text(rng, 2), self_url=text(rng, 3),
                                        description=text(rng))  # fmt: skip
            new = feeds.json_feed(chosen, **args, body=body)
            assert new == reference_json_feed(chosen, **args, body=body)
            assert [i["id"] for i in json.loads(new)["items"]] == [i.url for i in chosen]


def _first_difference(new: bytes, reference: bytes) -> str:
    at = next((n for n, (a, b) in enumerate(zip(new, reference, strict=False)) if a != b),
              min(len(new), len(reference)))  # fmt: skip
    start = max(at - 80, 0)
    return f"at byte {at}: new {new[start : at + 80]!r}\nreference {reference[start : at + 80]!r}"
