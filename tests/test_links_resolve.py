"""Following shared links to their articles, over real HTTP on 127.0.0.1.

The fixture server plays the real web's sites (``t.co``, ``bit.ly``, ``example.com``…) through
:class:`LoopbackTransport`, so the URLs below are the ones people share. First the
:class:`Expander` alone (one chain at a time), then the whole app: feeds in, links resolved and
merged into one item per article, the resolution cache, retries with backoff, the export record,
and a real pasted X timeline whose display URLs were cut short with "…".
"""

from __future__ import annotations

import asyncio
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup
from sqlalchemy import select

from feedbot.app import App, open_app
from feedbot.config import HttpSettings, LinkSettings, Settings
from feedbot.export import item_record
from feedbot.fixture_server import FixtureServer, LoopbackTransport, Route
from feedbot.http import HttpClient
from feedbot.links.canonical import DEFAULT_RULES
from feedbot.links.expand import Expander, Resolution
from feedbot.records import Item
from feedbot.store import partial_links_t
from tests.conftest import Clock

HTML = "text/html; charset=utf-8"
PUBLIC_IP = "93.184.216.34"  # what every fake host resolves to when the address guard is on


# -- builders ------------------------------------------------------------------------------


def rss(title: str, items: list[tuple[str, str, datetime | None]]) -> bytes:
    """An RSS 2.0 feed whose items are ``(title, link, published)``."""
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    entries = "".join(
        f"<item><title>{escape(item_title)}</title><link>{escape(link)}</link>"
        f"<guid isPermaLink='false'>{escape(link)}#{i}</guid>"
        + (f"<pubDate>{format_datetime(published)}</pubDate>" if published else "")
        + "</item>"
        for i, (item_title, link, published) in enumerate(items)
    )
    return (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{escape(title)}</title><link>https://{slug}.example.org/</link>"
        f"<description>{escape(title)}</description>{entries}</channel></rss>"
    ).encode()


def page(
    head: str = "", *, title: str = "Untitled", lang: str | None = "en", body: str = ""
) -> bytes:
    """An HTML page with ``head`` (meta tags, links, scripts) in its head."""
    html_tag = f'<html lang="{lang}">' if lang else "<html>"
    return (
        f"<!doctype html>{html_tag}<head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"{head}</head><body>{body or '<p>The article text.</p>'}</body></html>"
    ).encode()


def og_article(og_title: str, canonical: str | None = None, **og: str) -> bytes:
    """An article page with OpenGraph tags (and ``rel=canonical``)."""
    tags = f'<meta property="og:title" content="{escape(og_title)}">'
    tags += "".join(f'<meta property="og:{k}" content="{escape(v)}">' for k, v in og.items())
    if canonical:
        tags += f'<link rel="canonical" href="{escape(canonical)}">'
    return page(tags, title=og_title + " | The Site")


def html_route(body: bytes, status: int = 200, **kwargs: Any) -> Route:
    return Route(body=body, status=status, content_type=HTML, **kwargs)


def redirect(
    location: str, status: int = 301, headers: dict[str, str] | None = None, **kwargs: Any
) -> Route:
    """A redirect to ``location`` (with more ``headers``, such as a ``Set-Cookie``)."""
    return Route(
        status=status,
        headers={"Location": location, **(headers or {})},
        content_type=HTML,
        **kwargs,
    )


# -- running the expander ------------------------------------------------------------------


def http_settings(**overrides: Any) -> HttpSettings:
    values: dict[str, Any] = {
        "allow_private_networks": True,
        "retries": 0,
        "timeout_seconds": 5,
        "min_host_interval_seconds": 0,
    }
    return HttpSettings.model_validate(values | overrides)


def resolver_for(addresses: dict[str, str]) -> Callable[[str, int], Any]:
    """A DNS stand-in: the listed hosts get their address, every other host a public one."""

    async def resolve(host: str, port: int) -> list[str]:
        return [addresses.get(host, PUBLIC_IP)]

    return resolve


def expand(
    server: FixtureServer,
    url: str,
    *,
    guard: bool = False,
    addresses: dict[str, str] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    http: dict[str, Any] | None = None,
    **links: Any,
) -> Resolution:
    """Resolve ``url`` with a fresh client; ``guard`` turns the address guard on."""

    async def run() -> Resolution:
        async with HttpClient(
            http_settings(allow_private_networks=not guard, **(http or {})),
            "feedbot-test/1",
            transport=transport or LoopbackTransport(server),
            resolver=resolver_for(addresses or {}),
        ) as client:
            return await Expander(client, LinkSettings(**links), DEFAULT_RULES).resolve(url)

    return asyncio.run(run())


def chain_of(result: Resolution) -> list[tuple[str, int | None, str]]:
    return [(hop.url, hop.status, hop.via) for hop in result.chain]


# -- the expander: chains ------------------------------------------------------------------


ARTICLE = "https://example.com/2026/article?utm_medium=social&id=7"


def test_three_hops_through_two_shorteners(server: FixtureServer) -> None:
    server.routes["t.co/abc"] = redirect("https://bit.ly/x?utm_source=tw", 301)
    server.routes["bit.ly/x"] = redirect(ARTICLE, 302, head_status=405)  # HEAD refused: GET
    server.routes["example.com/2026/article"] = html_route(
        og_article(
            "Schools Rethink Homework", site_name="Example News", description="Less is more."
        )
    )

    result = expand(server, "https://t.co/abc")

    assert result.outcome == "ok" and result.error is None
    assert chain_of(result) == [
        ("https://t.co/abc", 301, "redirect"),
        ("https://bit.ly/x?utm_source=tw", 302, "redirect"),
        (ARTICLE, 200, "final"),
    ]
    assert result.url == "https://t.co/abc"
    assert result.final_url == ARTICLE
    assert result.canonical_url == "https://example.com/2026/article?id=7"
    assert (result.http_status, result.content_type) == (200, "text/html")
    assert result.metadata is not None
    assert result.metadata.title == "Schools Rethink Homework"
    assert result.metadata.site_name == "Example News"
    # t.co: HEAD only; bit.ly: HEAD (405) then GET; the article: HEAD then GET of its head.
    assert (server.hits["t.co/abc"], server.hits["bit.ly/x"]) == (1, 2)
    assert server.hits["example.com/2026/article"] == 2


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_and_a_relative_location(server: FixtureServer, status: int) -> None:
    server.routes["example.com/old/path"] = redirect("../new/path?id=1", status)
    server.routes["example.com/new/path"] = html_route(og_article("Moved Here"))

    result = expand(server, "https://example.com/old/path")

    assert chain_of(result) == [
        ("https://example.com/old/path", status, "redirect"),
        ("https://example.com/new/path?id=1", 200, "final"),
    ]
    assert (result.outcome, result.canonical_url) == ("ok", "https://example.com/new/path?id=1")


def test_meta_refresh_interstitial_is_a_hop(server: FixtureServer) -> None:
    server.routes["lnkd.in/r"] = html_route(
        page(
            '<meta http-equiv="refresh" content="0;url=https://example.com/r">', title="Redirecting"
        )
    )
    server.routes["example.com/r"] = html_route(og_article("The Refreshed Article"))

    result = expand(server, "https://lnkd.in/r")

    assert result.outcome == "ok"
    assert chain_of(result) == [
        ("https://lnkd.in/r", 200, "refresh"),
        ("https://example.com/r", 200, "final"),
    ]
    assert result.canonical_url == "https://example.com/r"
    assert result.metadata is not None and result.metadata.title == "The Refreshed Article"


def test_script_interstitial_is_a_hop(server: FixtureServer) -> None:
    # t.co's own interstitial escapes its slashes inside the string literal.
    server.routes["t.co/js"] = html_route(
        page(
            r'<script>window.opener = null; location.replace("https:\/\/example.com\/js")</script>',
            title="https://example.com/js",
            lang=None,
        )
    )
    server.routes["example.com/js"] = html_route(og_article("Reached Through a Script"))

    result = expand(server, "https://t.co/js")

    assert result.outcome == "ok"
    assert chain_of(result) == [
        ("https://t.co/js", 200, "script"),
        ("https://example.com/js", 200, "final"),
    ]
    assert result.metadata is not None and result.metadata.title == "Reached Through a Script"


def test_redirect_loop(server: FixtureServer) -> None:
    server.routes["a.example/1"] = redirect("https://b.example/1")
    server.routes["b.example/1"] = redirect("https://a.example/1", 302)

    result = expand(server, "https://a.example/1")

    assert result.outcome == "loop"
    assert result.error == "redirect loop at https://a.example/1"
    assert chain_of(result) == [
        ("https://a.example/1", 301, "redirect"),
        ("https://b.example/1", 302, "redirect"),
    ]
    assert result.canonical_url == "https://a.example/1"  # a failure stays under the shared URL
    assert result.metadata is None
    assert (server.hits["a.example/1"], server.hits["b.example/1"]) == (1, 1)


def test_a_self_redirect_that_sets_a_cookie_is_not_a_loop(server: FixtureServer) -> None:
    # The fixture server answers a route the same way every time, so the site that checks for
    # its cookie is played by a MockTransport (httpx keeps the cookie and sends it back).
    consent = "https://example.com/consent-wall"
    seen: list[tuple[str, str | None]] = []

    def site(request: httpx.Request) -> httpx.Response:
        cookie = request.headers.get("cookie")
        seen.append((request.method, cookie))
        if cookie != "consent=yes":
            return httpx.Response(
                302, headers={"Location": consent, "Set-Cookie": "consent=yes; Path=/"}
            )
        return httpx.Response(
            200, headers={"Content-Type": HTML}, content=og_article("Past the Wall")
        )

    result = expand(server, consent, transport=httpx.MockTransport(site))

    assert result.outcome == "ok"
    assert chain_of(result) == [(consent, 302, "redirect"), (consent, 200, "final")]
    assert result.metadata is not None and result.metadata.title == "Past the Wall"
    assert seen == [("HEAD", None), ("HEAD", "consent=yes"), ("GET", "consent=yes")]


def test_a_self_redirect_setting_a_cookie_forever_is_a_loop(server: FixtureServer) -> None:
    server.routes["example.com/again"] = redirect(
        "https://example.com/again", 302, headers={"Set-Cookie": "seen=1; Path=/"}
    )

    result = expand(server, "https://example.com/again")

    assert result.outcome == "loop"
    assert result.error == "redirect loop at https://example.com/again"
    assert chain_of(result) == [("https://example.com/again", 302, "redirect")] * 2
    assert server.hits["example.com/again"] == 2


def hop_chain(server: FixtureServer, redirects: int) -> str:
    """``https://hops.example/0`` → … → ``/<redirects>``, an article; returns the first URL."""
    for i in range(redirects):
        server.routes[f"hops.example/{i}"] = redirect(f"https://hops.example/{i + 1}", 302)
    server.routes[f"hops.example/{redirects}"] = html_route(og_article("At the End of the Chain"))
    return "https://hops.example/0"


def test_max_hops_redirects_are_followed(server: FixtureServer) -> None:
    result = expand(server, hop_chain(server, 10), max_hops=10)

    assert result.outcome == "ok"
    assert len(result.chain) == 11
    assert result.final_url == result.canonical_url == "https://hops.example/10"


def test_one_hop_too_many(server: FixtureServer) -> None:
    start = hop_chain(server, 11)  # twelve URLs

    result = expand(server, start, max_hops=10)

    assert result.outcome == "too_many_hops"
    assert result.error == "more than 10 redirects"
    assert chain_of(result) == [(f"https://hops.example/{i}", 302, "redirect") for i in range(11)]
    assert result.canonical_url == start
    assert server.hits["hops.example/11"] == 0  # the twelfth URL was never asked for


# -- the expander: the address guard -------------------------------------------------------


def test_guard_blocks_a_hop_into_a_private_address(server: FixtureServer) -> None:
    secret = f"http://127.0.0.1:{server.port}/secret"
    server.routes["/secret"] = html_route(og_article("Internal Admin"))
    server.routes["t.co/evil"] = redirect("https://bit.ly/evil")
    server.routes["bit.ly/evil"] = redirect(secret, 302)

    result = expand(server, "https://t.co/evil", guard=True)

    assert result.outcome == "blocked"
    assert chain_of(result) == [
        ("https://t.co/evil", 301, "redirect"),
        ("https://bit.ly/evil", 302, "redirect"),
        (secret, None, "final"),
    ]
    assert result.error is not None and "not a public address" in result.error
    assert "127.0.0.1" in result.error
    assert result.canonical_url == "https://t.co/evil"
    assert result.metadata is None
    assert server.hits["/secret"] == 0
    assert (server.hits["t.co/evil"], server.hits["bit.ly/evil"]) == (1, 1)  # public hops: fine


def test_guard_blocks_a_host_that_resolves_to_a_private_address(server: FixtureServer) -> None:
    server.routes["t.co/intra"] = redirect("https://intranet.corp.example/wiki")
    server.routes["intranet.corp.example/wiki"] = html_route(og_article("Internal Wiki"))

    result = expand(
        server, "https://t.co/intra", guard=True, addresses={"intranet.corp.example": "10.0.0.5"}
    )

    assert result.outcome == "blocked"
    assert result.error is not None and "intranet.corp.example (10.0.0.5)" in result.error
    assert server.hits["intranet.corp.example/wiki"] == 0


def test_guard_blocks_a_private_first_url(server: FixtureServer) -> None:
    secret = f"http://127.0.0.1:{server.port}/secret"
    server.routes["/secret"] = html_route(og_article("Internal Admin"))

    result = expand(server, secret, guard=True)

    assert result.outcome == "blocked"
    assert chain_of(result) == [(secret, None, "final")]
    assert server.hits["/secret"] == 0


def test_guard_lets_public_chains_through(server: FixtureServer) -> None:
    server.routes["t.co/ok"] = redirect("https://example.com/fine")
    server.routes["example.com/fine"] = html_route(og_article("A Public Article"))

    result = expand(server, "https://t.co/ok", guard=True)

    assert result.outcome == "ok"
    assert result.canonical_url == "https://example.com/fine"


# -- the expander: where chains end --------------------------------------------------------


@pytest.mark.parametrize(("status", "reason"), [(404, "Not Found"), (410, "Gone")])
def test_a_dead_target(server: FixtureServer, status: int, reason: str) -> None:
    target = "https://example.com/gone?utm_source=tw&id=3#comments"
    server.routes["t.co/dead"] = redirect(target)
    server.routes["example.com/gone"] = html_route(page(title="Not here"), status=status)

    result = expand(server, "https://t.co/dead")

    assert result.outcome == "dead"
    assert result.http_status == status
    assert result.error == f"HTTP {status} {reason}"
    assert chain_of(result) == [("https://t.co/dead", 301, "redirect"), (target, status, "final")]
    assert result.final_url == target
    assert result.canonical_url == "https://example.com/gone?id=3"  # the final URL's canonical
    assert result.metadata is None


def test_a_pdf_is_not_html_and_is_never_downloaded(server: FixtureServer) -> None:
    server.routes["doi.example/10.1/x"] = redirect("https://journals.example/paper.pdf", 302)
    server.routes["journals.example/paper.pdf"] = Route(
        body=b"%PDF-1.7\n" + b"0" * 200_000, content_type="application/pdf"
    )

    result = expand(server, "https://doi.example/10.1/x")

    assert result.outcome == "not_html"
    assert result.succeeded
    assert result.metadata is None
    assert (result.http_status, result.content_type) == (200, "application/pdf")
    assert result.final_url == result.canonical_url == "https://journals.example/paper.pdf"
    assert chain_of(result)[-1] == ("https://journals.example/paper.pdf", 200, "final")
    assert server.hits["journals.example/paper.pdf"] == 1  # the HEAD, no GET


@pytest.mark.parametrize(
    "location",
    [
        "ftp://ftp.example.com/pub/paper.txt",
        "mailto:x@example.com",
        "javascript:void(0)",
    ],
)
def test_a_redirect_to_a_non_web_url_is_dead(server: FixtureServer, location: str) -> None:
    server.routes["t.co/nonweb"] = redirect(location, 302)

    result = expand(server, "https://t.co/nonweb")

    assert (result.outcome, result.error) == ("dead", f"redirects to a non-web URL: {location}")
    assert chain_of(result) == [("https://t.co/nonweb", 302, "redirect")]
    assert result.final_url == result.canonical_url == "https://t.co/nonweb"
    assert result.http_status == 302


LOREM = "Lorem ipsum dolor sit amet. " * 110_000  # 3 MB


@pytest.mark.parametrize(
    ("head", "body"),
    [
        # </head> early, 3 MB of article after it.
        ('<meta property="og:title" content="A Very Long Read">', f"<p>{LOREM}</p>"),
        # 3 MB of inline script in the head: </head> comes long after page_bytes.
        (
            f'<meta property="og:title" content="A Very Long Read"><script>/* {LOREM} */</script>',
            "",
        ),
    ],
    ids=["head-ends-early", "head-longer-than-page-bytes"],
)
def test_a_huge_page_is_read_only_to_its_head(server: FixtureServer, head: str, body: str) -> None:
    # The response cap is 64 KB: reading the whole page would fail with "response too large";
    # stopping at </head> (or at page_bytes) reads the metadata.
    server.routes["example.com/long-read"] = html_route(page(head, body=body))

    result = expand(
        server, "https://example.com/long-read", page_bytes=8192, http={"max_response_bytes": 65536}
    )

    assert len(server.routes["example.com/long-read"].body) > 3_000_000
    assert result.outcome == "ok", result.error
    assert result.metadata is not None and result.metadata.title == "A Very Long Read"


# -- the expander: what the article says about itself --------------------------------------


FLAVOURS: dict[str, tuple[str, dict[str, Any]]] = {
    "opengraph": (
        '<meta property="og:title" content="Teachers Trade Schools">'
        '<meta property="og:site_name" content="Chalkbeat">'
        '<meta property="og:image" content="/images/lead.jpg">'
        '<meta property="og:locale" content="en_GB">'
        '<meta property="article:published_time" content="2026-02-17T08:30:00-05:00">'
        '<meta property="article:author" content="https://chalkbeat.org/author/jane">'
        '<meta name="author" content="Jane Doe">',
        {
            "title": "Teachers Trade Schools",
            "author": "Jane Doe",
            "published_at": datetime(2026, 2, 17, 13, 30, tzinfo=UTC),
            "site_name": "Chalkbeat",
            "language": "en-GB",
            "image_url": "https://articles.example/images/lead.jpg",
        },
    ),
    "twitter": (
        '<meta name="twitter:card" content="summary_large_image">'
        '<meta name="twitter:title" content="Card Title">'
        '<meta name="twitter:site" content="@edweek">'
        '<meta name="twitter:image" content="https://img.example/card.png">'
        '<meta name="author" content="Sam Lee">'
        '<meta name="date" content="2026-11-20">',
        {
            "title": "Card Title",
            "author": "Sam Lee",
            "published_at": datetime(2026, 11, 20, tzinfo=UTC),
            "site_name": "edweek",
            "language": "en",
            "image_url": "https://img.example/card.png",
        },
    ),
    "json-ld": (
        '<script type="application/ld+json">'
        + json.dumps(
            {
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": "Court Rules on School Phones",
                "author": [{"@type": "Person", "name": "Ana Ruiz"}, {"name": "Bo Chen"}],
                "datePublished": "2026-11-20T09:30:00+01:00",
                "publisher": {"@type": "Organization", "name": "The Daily Ledger"},
                "inLanguage": "fr-CA",
                "image": {"@type": "ImageObject", "url": "https://img.example/ld.jpg"},
            }
        )
        + "</script>",
        {
            "title": "Court Rules on School Phones",
            "author": "Ana Ruiz, Bo Chen",
            "published_at": datetime(2026, 11, 20, 8, 30, tzinfo=UTC),
            "site_name": "The Daily Ledger",
            "language": "fr-CA",
            "image_url": "https://img.example/ld.jpg",
        },
    ),
    "highwire": (
        '<meta name="citation_title" content="Input-based tasks and the acquisition of vocabulary">'
        '<meta name="citation_author" content="Shintani, Natsuko">'
        '<meta name="citation_author" content="Ellis, Rod">'
        '<meta name="citation_publication_date" content="2012/04/01">'
        '<meta name="citation_journal_title" content="Language Teaching Research">'
        '<meta name="citation_doi" content="10.1177/1362168811431377">'
        '<meta name="application-name" content="SAGE Journals">',
        {
            "title": "Input-based tasks and the acquisition of vocabulary",
            "author": "Shintani, Natsuko, Ellis, Rod",
            "published_at": datetime(2012, 4, 1, tzinfo=UTC),
            "site_name": "SAGE Journals",
            "language": "en",
            "image_url": None,
        },
    ),
    "dublin-core": (
        '<meta name="DC.title" content="Repository Item">'
        '<meta name="DC.creator" content="Curie, Marie">'
        '<meta name="DC.date" content="1903-12">'
        '<meta http-equiv="content-language" content="de">',
        {
            "title": "Repository Item",
            "author": "Curie, Marie",
            "published_at": datetime(1903, 12, 1, tzinfo=UTC),
            "site_name": None,
            "language": "de",  # DC.language is not among the sources read
            "image_url": None,
        },
    ),
}


@pytest.mark.parametrize("flavour", list(FLAVOURS))
def test_article_metadata_flavours(server: FixtureServer, flavour: str) -> None:
    tags, expected = FLAVOURS[flavour]
    lang = "en" if flavour in ("twitter", "highwire") else None  # <html lang> comes first
    server.routes[f"articles.example/{flavour}"] = html_route(
        page(tags, title="Fallback", lang=lang)
    )

    result = expand(server, f"https://articles.example/{flavour}?utm_source=x")

    assert result.outcome == "ok"
    assert result.canonical_url == f"https://articles.example/{flavour}"
    meta = result.metadata
    assert meta is not None
    assert {key: getattr(meta, key) for key in expected} == expected
    if flavour == "highwire":
        assert meta.citation["citation_doi"] == ["10.1177/1362168811431377"]
        assert meta.citation["citation_author"] == ["Shintani, Natsuko", "Ellis, Rod"]
    if flavour == "dublin-core":
        assert meta.citation["dc.title"] == ["Repository Item"]


# -- the expander: the page's own canonical ------------------------------------------------


@pytest.mark.parametrize(
    ("page_url", "declared", "expected"),
    [
        # Same site (m. is the main site's mobile host): the page's canonical wins.
        ("https://m.example.com/a", "https://www.example.com/a", "https://www.example.com/a"),
        # Another site claiming the page: ignored.
        ("https://m.example.com/b?utm_source=x", "https://other.org/b", "https://m.example.com/b"),
        # Every page "canonical" to the home page: a template mistake, ignored.
        (
            "https://example.com/2026/11/deep-story",
            "https://example.com/",
            "https://example.com/2026/11/deep-story",
        ),
        ("https://example.com/2026/11/deep-story", "/", "https://example.com/2026/11/deep-story"),
        # An AMP page at its own path names its article.
        ("https://example.com/a/amp/", "https://example.com/a/", "https://example.com/a/"),
    ],
    ids=["same-site-mobile", "cross-site", "home-page", "home-page-relative", "amp"],
)
def test_page_canonical(server: FixtureServer, page_url: str, declared: str, expected: str) -> None:
    key = re.sub(r"^https://|\?.*$", "", page_url)
    server.routes[key] = html_route(og_article("Some Article", canonical=declared))

    result = expand(server, page_url)

    assert result.outcome == "ok"
    assert result.canonical_url == expected


# -- the app: feeds in, one item per article -----------------------------------------------


STORY = "https://example.com/story"
STORY_TITLE = "The Real Story, From Its Own Page"
SHARED = {  # source → (its item's title, the URL it shares)
    "Alpha": ("Alpha's take on it", "https://example.com/story?utm_source=rss"),
    "Beta": ("Beta: must read", "https://t.co/xyz"),
    "Gamma": ("Gamma links", "https://m.example.com/story"),
}
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def serve_story(server: FixtureServer) -> list[dict[str, Any]]:
    """Three feeds sharing one article as three different URLs; returns the sources."""
    for i, (name, (title, url)) in enumerate(SHARED.items()):
        server.routes[f"/feeds/{name.lower()}.xml"] = Route(
            body=rss(name, [(title, url, T0 + timedelta(hours=i))])
        )
    server.routes["example.com/story"] = html_route(
        og_article(STORY_TITLE, canonical=STORY, description="What happened.", site_name="Example")
    )
    # The variants say a little less, and differently: the article's own page wins.
    server.routes["t.co/xyz"] = redirect("https://example.com/story/amp/")
    server.routes["example.com/story/amp/"] = html_route(
        og_article("The Real Story (AMP)", canonical=STORY, site_name="Example AMP")
    )
    server.routes["m.example.com/story"] = html_route(
        og_article("The Real Story, mobile", canonical=STORY, description="In short.")
    )
    return [{"name": name, "url": server.url(f"/feeds/{name.lower()}.xml")} for name in SHARED]


def link_hits(server: FixtureServer) -> int:
    """Requests made to anything but the feeds."""
    return sum(n for key, n in server.hits.items() if not key.startswith("/feeds/"))


@pytest.fixture
def resolving_app(
    make_settings: Callable[..., Settings],
    clock: Clock,
    server: FixtureServer,
    any_database_url: str,
) -> Callable[[list[dict[str, Any]]], App]:
    """Opens an app that resolves links, over the fixture server, on SQLite and PostgreSQL."""

    def make(sources: list[dict[str, Any]]) -> App:
        settings = make_settings(sources, links={"resolve": True}, database_url=any_database_url)
        return open_app(settings, clock=clock, transport=LoopbackTransport(server))

    return make


def only_item(app: App) -> Item:
    [item] = app.items()
    return item


def test_one_article_shared_three_ways_is_one_item(
    resolving_app: Callable[..., App], server: FixtureServer
) -> None:
    app = resolving_app(serve_story(server))

    results = app.fetch()

    assert [(r.status, r.new) for r in results] == [("ok", 1)] * 3
    item = only_item(app)
    assert item.url == STORY
    assert item.shared_by == 3
    assert [s.name for s in item.sources] == ["Alpha", "Beta", "Gamma"]
    assert item.reached_by == tuple(url for _, url in SHARED.values())
    assert item.title == STORY_TITLE  # the article's own, not a feed item's
    assert (item.description, item.site_name) == ("What happened.", "Example")
    assert [(m.source.name, m.title, m.shared_url) for m in item.mentions] == [
        (name, title, url) for name, (title, url) in SHARED.items()
    ]
    counts = app.store.counts()
    assert (counts["links"], counts["mentions"], counts["url_resolutions"]) == (1, 3, 3)


def test_resolutions_are_cached(resolving_app: Callable[..., App], server: FixtureServer) -> None:
    app = resolving_app(serve_story(server))
    app.fetch()
    hits = sum(server.hits.values())

    report = app.resolve()

    assert (report.resolved, report.failed, report.completed_partials) == (0, 0, 0)
    assert sum(server.hits.values()) == hits  # not one request

    # Alpha's next item shares the short link already expanded for Beta: no request to t.co.
    later = T0 + timedelta(hours=5)
    server.routes["/feeds/alpha.xml"].body = rss(
        "Alpha",
        [(SHARED["Alpha"][0], SHARED["Alpha"][1], T0), ("Alpha again", "https://t.co/xyz", later)],
    )
    before = link_hits(server)
    app.fetch()
    assert server.hits["t.co/xyz"] == 1
    assert link_hits(server) == before  # only the feeds were fetched
    item = only_item(app)
    assert (item.url, item.shared_by, item.mention_count) == (STORY, 3, 4)
    assert [m.title for m in item.mentions if m.source.name == "Alpha"] == [
        SHARED["Alpha"][0],
        "Alpha again",
    ]
    assert app.store.counts()["links"] == 1

    before = link_hits(server)
    cached = app.resolve_urls(["https://t.co/xyz", "https://m.example.com/story?utm_source=x"])
    assert link_hits(server) == before
    short = cached["https://t.co/xyz"]
    assert (short.outcome, short.link_url, short.title) == ("ok", STORY, STORY_TITLE)
    assert short.final_url == "https://example.com/story/amp/"
    assert short.chain == (
        ("https://t.co/xyz", 301, "redirect"),
        ("https://example.com/story/amp/", 200, "final"),
    )
    assert cached["https://m.example.com/story?utm_source=x"].link_url == STORY

    refreshed = app.resolve_urls(["https://t.co/xyz"], refresh=True)
    assert server.hits["t.co/xyz"] == 2  # refresh goes back to the network
    assert refreshed["https://t.co/xyz"].link_url == STORY


def test_failures_are_retried_with_backoff(
    resolving_app: Callable[..., App], server: FixtureServer, clock: Clock
) -> None:
    shared = "https://news.example.net/p/5?utm_source=feed"
    server.routes["/feeds/news.xml"] = Route(body=rss("News", [("Item five", shared, T0)]))
    server.routes["news.example.net/p/5"] = Route(
        body=b"oops", status=500, content_type="text/plain"
    )
    app = resolving_app([{"name": "News", "url": server.url("/feeds/news.xml")}])
    start = clock.now

    app.fetch()

    cached = app.store.cached_resolutions([shared])[shared]
    assert cached.outcome == "error"
    # What is resolved is the URL's offline canonical form, the key of its resolution.
    assert cached.error == "https://news.example.net/p/5: HTTP 500 Internal Server Error"
    assert only_item(app).url == "https://news.example.net/p/5"  # kept under its shared URL
    assert only_item(app).title == "Item five"
    assert server.hits["news.example.net/p/5"] == 1

    report = app.resolve()  # not due yet
    assert (report.resolved, report.failed) == (0, 0)
    assert server.hits["news.example.net/p/5"] == 1

    clock.now = start + timedelta(hours=1, seconds=1)  # retry_hours = 1
    report = app.resolve()
    assert (report.resolved, report.failed) == (0, 1)
    assert server.hits["news.example.net/p/5"] == 2

    clock.now = start + timedelta(hours=2, seconds=2)  # the second retry waits 2 hours
    assert (app.resolve().failed, server.hits["news.example.net/p/5"]) == (0, 2)

    server.routes["news.example.net/p/5"] = html_route(
        og_article("Item Five, Properly", canonical="https://news.example.net/2026/11/story-5")
    )
    clock.now = start + timedelta(hours=3, seconds=2)
    report = app.resolve()
    assert (report.resolved, report.failed) == (1, 0)
    assert server.hits["news.example.net/p/5"] == 4  # HEAD and GET
    item = only_item(app)
    assert (item.url, item.title) == (
        "https://news.example.net/2026/11/story-5",
        "Item Five, Properly",
    )
    assert item.reached_by == (shared,)
    assert app.store.counts()["links"] == 1
    assert app.store.cached_resolutions([shared])[shared].outcome == "ok"


def read_article_and_variant(
    resolving_app: Callable[..., App], server: FixtureServer, article_first: bool
) -> Item:
    """Alpha shares the article, Beta its AMP page, which says less but has an image; the two
    are resolved one at a time, in a fixed order. Returns the one item."""
    server.routes["/feeds/alpha.xml"] = Route(body=rss("Alpha", [("Alpha", STORY, T0)]))
    server.routes["/feeds/beta.xml"] = Route(body=rss("Beta", [("Beta", STORY + "/amp/", T0)]))
    server.routes["example.com/story"] = html_route(
        page(
            f'<meta property="og:title" content="{STORY_TITLE}">'
            '<meta name="author" content="Jane Doe">'
            f'<link rel="canonical" href="{STORY}">'
        )
    )
    server.routes["example.com/story/amp/"] = html_route(  # no og:title, no author; an image
        page(
            f'<link rel="canonical" href="{STORY}">'
            '<meta property="og:image" content="https://img.example.com/amp-lead.jpg">',
            title="The Real Story (AMP)",
        )
    )
    app = resolving_app(
        [{"name": n, "url": server.url(f"/feeds/{n.lower()}.xml")} for n in ("Alpha", "Beta")]
    )
    app.ingest()
    order = [STORY, STORY + "/amp/"]
    for url in order if article_first else order[::-1]:
        app.resolve_urls([url])
    item = only_item(app)
    assert (item.url, item.shared_by) == (STORY, 2)
    return item


ORDERS = pytest.mark.parametrize(
    "article_first", [True, False], ids=["article-first", "variant-first"]
)


@ORDERS
def test_the_articles_own_page_gives_the_metadata_whatever_the_order(
    resolving_app: Callable[..., App], server: FixtureServer, article_first: bool
) -> None:
    item = read_article_and_variant(resolving_app, server, article_first)

    assert (item.title, item.author) == (STORY_TITLE, "Jane Doe")


@pytest.mark.parametrize(
    "article_first",
    [
        pytest.param(True, id="article-first"),
        pytest.param(False, id="variant-first"),
    ],
)
def test_what_only_a_variant_says_is_kept_whatever_the_order(
    resolving_app: Callable[..., App], server: FixtureServer, article_first: bool
) -> None:
    item = read_article_and_variant(resolving_app, server, article_first)

    assert item.image_url == "https://img.example.com/amp-lead.jpg"


def test_fetching_again_changes_nothing(
    resolving_app: Callable[..., App], server: FixtureServer
) -> None:
    app = resolving_app(serve_story(server))
    app.fetch()
    counts, items = app.store.counts(), app.items()

    for _ in range(2):
        app.fetch()
        assert app.store.counts() == counts
        assert app.items() == items


def test_export_record(resolving_app: Callable[..., App], server: FixtureServer) -> None:
    app = resolving_app(serve_story(server))
    app.fetch()

    record = item_record(only_item(app))

    assert record["url"] == record["canonical_url"] == record["id"] == STORY
    assert record["is_post"] is False  # an article its sources shared, not a post of theirs
    assert record["title"] == STORY_TITLE
    assert record["reached_by"] == [url for _, url in SHARED.values()]
    assert record["sources"] == ["Alpha", "Beta", "Gamma"]
    assert record["shared_by"] == 3
    assert record["mentions"] == [
        {
            "source": name,
            "title": title,
            "url": url,  # an RSS item's own link is what it shares
            "shared_url": url,
            "author": None,
            "reposted_by": None,
            "date": (T0 + timedelta(hours=i)).isoformat(),
        }
        for i, (name, (title, url)) in enumerate(SHARED.items())
    ]
    json.dumps(record)  # serializable as is


# -- a real pasted X timeline --------------------------------------------------------------


TRUNCATED = (
    "chalkbeat.org/2026/02/17/tea",
    "github.com/karpathy/nanoc",
    "cambridge.org/core/journals/",
    "doi.org/10.1177/136216",
)
CHALKBEAT = "https://chalkbeat.org/2026/02/17/teacher-transfers-study"


def timeline_feed(samples: Path) -> bytes:
    """The pasted timeline as a JSON Feed: one item per post, text only, no URL."""
    text = (samples / "x-timeline-pasted.txt").read_text(encoding="utf-8")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    header, posts = paragraphs[:2], paragraphs[2:]
    assert header[0].startswith("Mark Anderson") and header[1].startswith("@mandercorn")
    assert len(posts) == 6
    return json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "Mark Anderson on X",
            "items": [
                {
                    "id": f"post-{i}",
                    "content_text": post,
                    "date_published": (T0 + timedelta(minutes=i)).isoformat(),
                }
                for i, post in enumerate(posts)
            ],
        }
    ).encode()


def site_links(out: Path) -> Iterator[tuple[Path, str]]:
    """Every link of every generated page and feed: hrefs and srcs, feed links and ids, and the
    hrefs of the HTML the feeds carry."""

    def in_html(markup: str) -> Iterator[str]:
        for tag in BeautifulSoup(markup, "html.parser").find_all(True):
            for attribute in ("href", "src"):
                if isinstance(value := tag.get(attribute), str):
                    yield value

    def in_json(value: Any, key: str = "") -> Iterator[str]:
        if isinstance(value, dict):
            for k, v in value.items():
                yield from in_json(v, k)
        elif isinstance(value, list):
            for v in value:
                yield from in_json(v, key)
        elif isinstance(value, str) and key in (
            "url",
            "external_url",
            "id",
            "home_page_url",
            "feed_url",
        ):
            yield value
        elif isinstance(value, str) and key in ("content_html", "summary"):
            yield from in_html(value)

    for file in sorted(out.rglob("*")):
        if file.suffix == ".html":
            found: Iterator[str] = in_html(file.read_text(encoding="utf-8"))
        elif file.suffix == ".json":
            found = in_json(json.loads(file.read_text(encoding="utf-8")))
        elif file.suffix in (".xml", ".atom"):
            found = iter(
                value
                for element in ET.parse(file).iter()
                for value in [
                    element.get("href"),
                    element.text
                    if element.tag.rsplit("}", 1)[-1] in ("link", "guid", "id")
                    else None,
                    *(in_html(element.text) if element.text and "<" in element.text else ()),
                ]
                if value
            )
        else:
            continue
        for link in found:
            yield file.relative_to(out), link.strip()


def is_truncated(link: str) -> bool:
    """A link made of a display URL cut short: an ellipsis (as is or escaped), or exactly one of
    the timeline's cut prefixes (a whole URL that starts with one is fine)."""
    bare = re.sub(r"^https?://(?:www\.)?", "", link).rstrip("/")
    cut = {prefix.rstrip("/") for prefix in TRUNCATED}
    return "…" in link or "%E2%80%A6" in link.upper() or bare.endswith("...") or bare in cut


def assert_no_truncated_links(out: Path) -> list[str]:
    """Every link of the site at ``out``, after checking that none is truncated."""
    links = list(site_links(out))
    assert [(str(file), link) for file, link in links if is_truncated(link)] == []
    return [link for _, link in links]


def pending_partials(app: App) -> list[str]:
    with app.store.engine.connect() as conn:
        rows = conn.execute(
            select(partial_links_t.c.text).where(partial_links_t.c.link_id.is_(None))
        )
        return sorted(row.text for row in rows)


def test_pasted_x_timeline(
    make_settings: Callable[..., Settings], clock: Clock, server: FixtureServer, samples: Path
) -> None:
    server.routes["/feeds/x.json"] = Route(
        body=timeline_feed(samples), content_type="application/feed+json"
    )
    server.routes["/feeds/chalkbeat.xml"] = Route(body=rss("Chalkbeat", []))
    sources = [
        {"name": "Mark Anderson on X", "url": server.url("/feeds/x.json")},
        {"name": "Chalkbeat", "url": server.url("/feeds/chalkbeat.xml")},
    ]
    app = open_app(make_settings(sources), clock=clock, transport=LoopbackTransport(server))

    results = app.fetch()  # links.resolve is off

    assert sorted((r.name, r.status, r.new) for r in results) == [
        ("Chalkbeat", "ok", 0),
        ("Mark Anderson on X", "ok", 6),
    ]
    # Every display URL of the timeline was cut short: none is a link, each is a partial link.
    assert pending_partials(app) == sorted(p + "…" for p in TRUNCATED)
    assert app.items() == []
    assert app.store.counts()["links"] == 0  # the profile's t.co link was never needed
    app.build()
    assert CHALKBEAT not in assert_no_truncated_links(app.settings.output_path)

    # Another source shares the whole chalkbeat URL: the truncated one is completed by it.
    server.routes["/feeds/chalkbeat.xml"].body = rss(
        "Chalkbeat", [("Top teachers who transfer", CHALKBEAT, T0 + timedelta(hours=1))]
    )
    server.routes["chalkbeat.org/2026/02/17/teacher-transfers-study"] = html_route(
        og_article("When top teachers transfer, their performance drops", site_name="Chalkbeat")
    )
    app.ingest()
    report = app.resolve()

    assert (report.resolved, report.completed_partials) == (1, 1)
    item = only_item(app)
    assert item.url == CHALKBEAT
    assert item.shared_by == 2
    assert [s.name for s in item.sources] == ["Mark Anderson on X", "Chalkbeat"]
    post = item.mentions[0]
    assert (post.source.name, post.url, post.shared_url) == ("Mark Anderson on X", None, CHALKBEAT)
    assert pending_partials(app) == sorted(
        p + "…" for p in TRUNCATED if not p.startswith("chalkbeat")
    )
    app.build()
    assert CHALKBEAT in assert_no_truncated_links(app.settings.output_path)


def test_truncated_links_are_completed_without_resolution(
    make_settings: Callable[..., Settings], clock: Clock, server: FixtureServer, samples: Path
) -> None:
    server.routes["/feeds/x.json"] = Route(
        body=timeline_feed(samples), content_type="application/feed+json"
    )
    server.routes["/feeds/chalkbeat.xml"] = Route(
        body=rss("Chalkbeat", [("Top teachers who transfer", CHALKBEAT, T0)])
    )
    sources = [
        {"name": "Mark Anderson on X", "url": server.url("/feeds/x.json")},
        {"name": "Chalkbeat", "url": server.url("/feeds/chalkbeat.xml")},
    ]
    app = open_app(make_settings(sources), clock=clock, transport=LoopbackTransport(server))

    app.fetch()  # links.resolve is off: completing a truncated link needs no network

    item = only_item(app)
    assert (item.url, item.shared_by) == (CHALKBEAT, 2)
    assert pending_partials(app) == sorted(p + "…" for p in TRUNCATED if "chalkbeat" not in p)
    assert link_hits(server) == 0


def test_a_post_without_url_shares_the_links_of_its_text(
    make_settings: Callable[..., Settings], clock: Clock, server: FixtureServer
) -> None:
    # The JSON Feed item has content_text only: its text becomes content the extractor reads.
    server.routes["/feeds/posts.json"] = Route(
        body=json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "Posts",
                "items": [
                    {
                        "id": "1",
                        "content_text": "Read this: chalkbeat.org/2026/02/17/teacher-transfers-study.",
                    }
                ],
            }
        ).encode(),
        content_type="application/feed+json",
    )
    app = open_app(
        make_settings([{"name": "Posts", "url": server.url("/feeds/posts.json")}]),
        clock=clock,
        transport=LoopbackTransport(server),
    )

    app.fetch()

    item = only_item(app)
    assert item.url == CHALKBEAT
    assert item.reached_by == (CHALKBEAT,)
    assert [(m.url, m.shared_url) for m in item.mentions] == [(None, CHALKBEAT)]
