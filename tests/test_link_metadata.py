"""Page metadata: what read_metadata finds in small realistic pages, one flavour per test."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedbot.links.metadata import PageMetadata, head_complete, read_metadata

PAGE = "https://news.example.com/2024/05/story.html"


def test_opengraph_only() -> None:
    html = """<!doctype html><html><head>
    <meta property="og:title" content="Rivers return to the valley">
    <meta property="og:description" content="After fifty years, the dams come down.">
    <meta property="og:site_name" content="Valley News">
    <meta property="og:image" content="/img/river.jpg">
    <meta property="og:url" content="https://news.example.com/2024/05/story">
    <meta property="og:locale" content="en_GB">
    <meta property="article:published_time" content="2024-05-02T08:30:00+02:00">
    <meta property="article:author" content="https://www.facebook.com/valleynews">
    </head><body><p>Text</p></body></html>"""
    assert read_metadata(html, PAGE) == PageMetadata(
        title="Rivers return to the valley",
        description="After fifty years, the dams come down.",
        site_name="Valley News",
        published_at=datetime(2024, 5, 2, 6, 30, tzinfo=UTC),
        language="en-GB",
        image_url="https://news.example.com/img/river.jpg",
        og_url="https://news.example.com/2024/05/story",
    )


def test_twitter_card_only() -> None:
    html = """<html><head>
    <meta name="twitter:card" content="summary_large_image">
    <meta name="twitter:site" content="@valleynews">
    <meta name="twitter:title" content="Dams come down">
    <meta name="twitter:description" content="A short card description.">
    <meta name="twitter:image:src" content="https://cdn.example.net/card.png">
    </head>"""
    meta = read_metadata(html, PAGE)
    assert meta == PageMetadata(
        title="Dams come down",
        description="A short card description.",
        site_name="valleynews",
        image_url="https://cdn.example.net/card.png",
    )


def test_json_ld_news_article_in_graph_with_author_list() -> None:
    html = """<html lang="de"><head><title>Ignored - Valley News</title>
    <script type="application/ld+json">
    {"@context": "https://schema.org", "@graph": [
      {"@type": "WebSite", "@id": "https://news.example.com/#site", "name": "Valley News Site"},
      {"@type": "Organization", "@id": "https://news.example.com/#org", "name": "Valley News"},
      {"@type": "WebPage", "@id": "https://news.example.com/2024/05/story#page",
       "name": "Web page name", "description": "Web page description",
       "datePublished": "2020-01-01"},
      {"@type": ["NewsArticle"], "headline": "Headline from JSON-LD",
       "description": "JSON-LD description &amp; more",
       "datePublished": "2024-05-02T10:00:00Z", "inLanguage": "en-US",
       "author": [{"@type": "Person", "name": "Ada Lovelace"}, "Charles Babbage",
                  {"@id": "https://news.example.com/#/person/grace"}],
       "publisher": {"@id": "https://news.example.com/#org"},
       "image": [{"@type": "ImageObject", "url": "https://cdn.example.net/lead.jpg"}]},
      {"@type": "Person", "@id": "https://news.example.com/#/person/grace", "name": "Grace Hopper"}
    ]}
    </script></head>"""
    assert read_metadata(html, PAGE) == PageMetadata(
        title="Headline from JSON-LD",
        description="JSON-LD description & more",
        site_name="Valley News",
        author="Ada Lovelace, Charles Babbage, Grace Hopper",
        published_at=datetime(2024, 5, 2, 10, 0, tzinfo=UTC),
        language="de",
        image_url="https://cdn.example.net/lead.jpg",
    )


def test_json_ld_list_falls_back_to_webpage_and_ignores_other_types() -> None:
    html = """<head>
    <script type="application/ld+json">[
      {"@type": "Organization", "name": "Not a title", "image": "https://x.example/logo.png"},
      {"@type": "WebPage", "name": "Page name", "image": "https://x.example/page.png",
       "author": "Solo Writer", "datePublished": "Tue, 07 May 2024 09:00:00 -0400"}
    ]</script>
    <script type="application/ld+json">{"@type": "Article", "headline": "",
      "image": {"url": "javascript:alert(1)"}}</script></head>"""
    meta = read_metadata(html, PAGE)
    assert (meta.title, meta.author, meta.image_url, meta.published_at) == (
        "Page name",
        "Solo Writer",
        "https://x.example/page.png",
        datetime(2024, 5, 7, 13, 0, tzinfo=UTC),
    )


def test_highwire_citation_page() -> None:
    html = """<html><head><title>Sci Journal: A study</title>
    <meta name="citation_title" content="Effects of   light on plants">
    <meta name="citation_author" content="Smith, Jane">
    <meta name="citation_author" content="Doe, John">
    <meta name="citation_author" content=" Roe, Richard ">
    <meta name="citation_doi" content="10.1234/abcd.5678">
    <meta name="citation_publication_date" content="2012/04/01">
    <meta name="citation_journal_title" content="Journal of Plants">
    <meta name="citation_volume" content="12">
    <meta name="citation_pdf_url" content="https://journal.example.org/a.pdf">
    <meta name="description" content="We study light.">
    </head>"""
    meta = read_metadata(html, "https://journal.example.org/article/5678")
    assert meta == PageMetadata(
        title="Effects of light on plants",
        description="We study light.",
        author="Smith, Jane, Doe, John, Roe, Richard",
        published_at=datetime(2012, 4, 1, tzinfo=UTC),
        citation={
            "citation_title": ["Effects of light on plants"],
            "citation_author": ["Smith, Jane", "Doe, John", "Roe, Richard"],
            "citation_doi": ["10.1234/abcd.5678"],
            "citation_publication_date": ["2012/04/01"],
            "citation_journal_title": ["Journal of Plants"],
            "citation_volume": ["12"],
            "citation_pdf_url": ["https://journal.example.org/a.pdf"],
        },
    )


def test_dublin_core_and_prism() -> None:
    html = """<html><head>
    <meta name="DC.title" content="Repository Item Title">
    <meta name="DC.creator" content="Curie, Marie">
    <meta name="DC.creator" content="Curie, Pierre">
    <meta name="DC.identifier" content="https://hdl.example.org/1/2">
    <meta name="DCTERMS.abstract" content="">
    <meta name="dc.date" content="1903-12">
    <meta name="prism.doi" content="10.5555/xyz">
    <meta name="DC.description" content="Radioactivity.">
    </head>"""
    assert read_metadata(html, "https://repo.example.org/item/2") == PageMetadata(
        title="Repository Item Title",
        description="Radioactivity.",
        author="Curie, Marie, Curie, Pierre",
        published_at=datetime(1903, 12, 1, tzinfo=UTC),
        citation={
            "dc.title": ["Repository Item Title"],
            "dc.creator": ["Curie, Marie", "Curie, Pierre"],
            "dc.identifier": ["https://hdl.example.org/1/2"],
            "dc.date": ["1903-12"],
            "prism.doi": ["10.5555/xyz"],
            "dc.description": ["Radioactivity."],
        },
    )


def test_plain_title_only() -> None:
    html = "<html><head><title>\n  Just a   title\n</title></head><body>Hi</body></html>"
    assert read_metadata(html, PAGE) == PageMetadata(title="Just a title")


def test_empty_and_garbage_input() -> None:
    assert read_metadata("", PAGE) == PageMetadata()
    assert read_metadata(b"\x00\xff<<<>>>&&&", PAGE) == PageMetadata()


def test_precedence_when_everything_is_present() -> None:
    html = """<html lang="fr"><head><title>Title tag</title>
    <meta name="description" content="Meta description">
    <meta name="author" content="Meta Author">
    <meta name="application-name" content="App Name">
    <meta name="twitter:site" content="@handle">
    <meta name="twitter:title" content="Twitter title">
    <meta name="twitter:description" content="Twitter description">
    <meta name="twitter:image" content="https://x.example/twitter.png">
    <meta name="citation_title" content="Citation title">
    <meta name="citation_author" content="Citation Author">
    <meta name="citation_publication_date" content="2001">
    <meta name="date" content="2002-02-02">
    <meta http-equiv="Content-Language" content="es">
    <script type="application/ld+json">{"@type": "BlogPosting", "headline": "LD headline",
      "description": "LD description", "author": {"name": "LD Author"},
      "publisher": {"@type": "Organization", "name": "LD Publisher"},
      "datePublished": "2003-03-03", "image": "https://x.example/ld.png"}</script>
    <meta property="og:title" content="OG title">
    <meta property="og:description" content="OG description">
    <meta name="og:site_name" content="OG Site">
    <meta property="og:image" content="https://x.example/og.png">
    <meta property="article:published_time" content="2004-04-04">
    </head>"""
    meta = read_metadata(html, PAGE)
    assert meta == PageMetadata(
        title="OG title",
        description="OG description",
        site_name="OG Site",
        author="LD Author",
        published_at=datetime(2004, 4, 4, tzinfo=UTC),
        language="fr",
        image_url="https://x.example/og.png",
        citation={
            "citation_title": ["Citation title"],
            "citation_author": ["Citation Author"],
            "citation_publication_date": ["2001"],
        },
    )


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ('<meta name="twitter:title" content="T"><title>X</title>', ("T", None, None, None)),
        (
            '<meta name="citation_title" content="C"><meta name="dc.title" content="D">',
            ("C", None, None, None),
        ),
        (
            '<meta name="author" content="M"><meta property="article:author" content="A">',
            (None, "M", None, None),
        ),
        ('<meta property="article:author" content="Art Author">', (None, "Art Author", None, None)),
        (
            '<meta name="application-name" content="App"><meta name="twitter:site" content="@h">',
            (None, None, "App", None),
        ),
        # unparsable first date falls through to the next source
        (
            '<meta property="article:published_time" content="last Tuesday">'
            '<meta name="citation_date" content="2012-04">',
            (None, None, None, datetime(2012, 4, 1, tzinfo=UTC)),
        ),
        (
            '<meta name="date" content="2019-06-30 23:15:00">',
            (None, None, None, datetime(2019, 6, 30, 23, 15, tzinfo=UTC)),
        ),
    ],
)
def test_fallbacks(
    tags: str, expected: tuple[str | None, str | None, str | None, datetime | None]
) -> None:
    meta = read_metadata(f"<head>{tags}</head>", PAGE)
    assert (meta.title, meta.author, meta.site_name, meta.published_at) == expected


@pytest.mark.parametrize(
    ("tags", "language"),
    [
        ('<html lang="EN-us">', "en-US"),
        ('<html><meta property="og:locale" content="pt_BR">', "pt-BR"),
        ('<html lang=""><meta http-equiv="content-language" content="en-GB, fr">', "en-GB"),
        ('<script type="application/ld+json">{"@type":"Article","inLanguage":"nl"}</script>', "nl"),
        ('<html lang="zh-hant-tw">', "zh-Hant-TW"),
        ('<html lang="not a language">', None),
    ],
)
def test_language(tags: str, language: str | None) -> None:
    assert read_metadata(f"{tags}<head></head>", PAGE).language == language


def test_relative_urls_are_made_absolute() -> None:
    html = """<head>
    <link rel="canonical" href="../canonical-story">
    <meta property="og:image" content="//cdn.example.net/a.jpg">
    <meta property="og:url" content="/2024/05/og-story">
    </head>"""
    meta = read_metadata(html, PAGE)
    assert (meta.canonical_url, meta.image_url, meta.og_url) == (
        "https://news.example.com/2024/canonical-story",
        "https://cdn.example.net/a.jpg",
        "https://news.example.com/2024/05/og-story",
    )


def test_base_href_is_used_for_resolving() -> None:
    html = """<head><base href="https://static.example.org/site/">
    <link rel="alternate canonical" href="story">
    <meta property="og:image" content="img/a.jpg">
    <meta http-equiv="refresh" content="0; url=next">
    </head>"""
    meta = read_metadata(html, PAGE)
    assert (meta.canonical_url, meta.image_url, meta.refresh_url) == (
        "https://static.example.org/site/story",
        "https://static.example.org/site/img/a.jpg",
        "https://static.example.org/site/next",
    )


def test_non_http_urls_are_rejected() -> None:
    html = """<head>
    <link rel="canonical" href="javascript:alert(1)">
    <meta property="og:url" content="ftp://files.example/x">
    <meta property="og:image" content="data:image/png;base64,AAAA">
    <meta name="twitter:image" content="JavaScript:alert(2)">
    <meta http-equiv="refresh" content="0; url=javascript:alert(3)">
    <script>window.location = "javascript:alert(4)";</script>
    </head>"""
    meta = read_metadata(html, PAGE)
    assert meta == PageMetadata()


def test_rejected_image_falls_through_to_next_source() -> None:
    html = """<head><meta property="og:image" content="data:image/gif;base64,R0lGOD">
    <meta name="twitter:image" content="https://x.example/t.png"></head>"""
    assert read_metadata(html, PAGE).image_url == "https://x.example/t.png"


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("""<meta http-equiv="refresh" content="0;URL='/x'">""", "https://news.example.com/x"),
        ('<meta http-equiv="refresh" content="5; url=https://a.example/b">', "https://a.example/b"),
        ('<META HTTP-EQUIV="REFRESH" CONTENT="0;URL=HTTPS://A.EXAMPLE/C">', "https://A.EXAMPLE/C"),
        (
            """<meta http-equiv="Refresh" content='1; URL="https://a.example/d?x=1&y=2"'>""",
            "https://a.example/d?x=1&y=2",
        ),
        ('<meta http-equiv="refresh" content="0; https://a.example/e">', "https://a.example/e"),
        ('<meta http-equiv="refresh" content="30; url=https://a.example/slow">', None),
        ('<meta http-equiv="refresh" content="300">', None),
        ('<meta name="refresh" content="0; url=https://a.example/not-equiv">', None),
    ],
)
def test_meta_refresh(tag: str, expected: str | None) -> None:
    assert read_metadata(f"<head>{tag}</head>", PAGE).refresh_url == expected


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('window.location = "https://a.example/1";', "https://a.example/1"),
        ("window.location.href='https://a.example/2'", "https://a.example/2"),
        ('location.replace("https://a.example/3");', "https://a.example/3"),
        ("window.location.assign( 'https://a.example/4' );", "https://a.example/4"),
        ('document.location = "/relative/5";', "https://news.example.com/relative/5"),
        ('top.location.href = "https://a.example/6";', "https://a.example/6"),
        (
            'setTimeout(function(){location.href="https://a.example/7"}, 100);',
            "https://a.example/7",
        ),
        (r'location.replace("https:\/\/t.example\/8");', "https://t.example/8"),
        ('location.href = "https://a.example/9"\nfoo();', "https://a.example/9"),
        # the first literal redirect wins
        (
            'location="https://a.example/first"; location="https://a.example/second";',
            "https://a.example/first",
        ),
        # not redirects
        ("var location = foo;", None),
        ('var location = "https://a.example/local";', None),
        ('// window.location = "https://a.example/commented";', None),
        ('/* location.href = "https://a.example/block"; */', None),
        ('console.log("https://a.example/just-a-string");', None),
        ('window.location.href = "https://a.example/?u=" + encodeURIComponent(u);', None),
        ('if (window.location.href == "https://a.example/") {}', None),
        ('myLocation = "https://a.example/other-variable";', None),
        ('location.href.replace("https://a.example/string-method");', None),
        ('window.location = "#top";', None),
    ],
)
def test_script_redirect(script: str, expected: str | None) -> None:
    html = f"<html><head><title>Redirecting…</title><script>{script}</script></head></html>"
    assert read_metadata(html, PAGE).script_redirect_url == expected


def test_script_redirect_skips_external_and_non_js_scripts() -> None:
    html = """<head>
    <script src="/app.js">location = "https://a.example/src";</script>
    <script type="text/template">location = "https://a.example/template";</script>
    <script type="application/ld+json">{"url": "https://a.example/ld"}</script>
    <script type="text/javascript">
      var target = "https://a.example/done";
      window.location.replace('https://a.example/done');
    </script></head>"""
    assert read_metadata(html, PAGE).script_redirect_url == "https://a.example/done"


def test_truncated_html_mid_head() -> None:
    html = """<!DOCTYPE html><html lang="en"><head>
    <meta charset="utf-8"><title>Cut &amp; kept</title>
    <meta property="og:description" content="Still here">
    <script type="application/ld+json">{"@type": "NewsArticle", "headline": "Half
    <meta property="og:image" content="https://x.example/a.jpg"><meta name="author" cont"""
    assert read_metadata(html, PAGE) == PageMetadata(
        title="Cut & kept", description="Still here", language="en"
    )


def test_truncated_after_head_close() -> None:
    html = (
        '<html><head><meta property="og:title" content="Head only">'
        '<link rel="canonical" href="https://news.example.com/s"></head><body><div cla'
    )
    meta = read_metadata(html.encode(), PAGE)
    assert (meta.title, meta.canonical_url) == ("Head only", "https://news.example.com/s")


def test_bytes_in_windows_1252_declared_by_meta_charset() -> None:
    html = (
        b'<html><head><meta charset="windows-1252">'
        b"<title>Caf\xe9 \x93quotes\x94 \x96 na\xefve</title>"
        b'<meta name="description" content="Pr\xe9cis \x80 10"></head>'
    )
    meta = read_metadata(html, PAGE)
    assert (meta.title, meta.description) == ("Café “quotes” – naïve", "Précis € 10")


def test_bytes_charset_in_http_equiv_and_explicit_encoding() -> None:
    latin = b'<meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"><title>\xc9t\xe9 \x85</title>'
    assert read_metadata(latin, PAGE).title == "Été …"  # ISO-8859-1 is read as windows-1252
    utf8 = "<meta charset='iso-8859-1'><title>Über</title>".encode()
    assert read_metadata(utf8, PAGE, encoding="utf-8").title == "Über"
    assert read_metadata(b"<title>\xc3\xbcber \xff</title>", PAGE).title == "über \ufffd"
    bogus = b'<meta charset="no-such-codec"><title>\xc3\xa9</title>'
    assert read_metadata(bogus, PAGE).title == "é"


def test_invalid_json_ld_is_ignored() -> None:
    html = """<head><title>Fallback title</title>
    <script type="application/ld+json">{"@type": "Article", "headline": "Broken",}</script>
    <script type="application/ld+json">not json at all</script>
    <script type="application/ld+json">"just a string"</script>
    <script type="application/ld+json">{"@type": "Article", "author": 42, "headline": 7}</script>
    </head>"""
    assert read_metadata(html, PAGE) == PageMetadata(title="Fallback title")


def test_entities_and_tags_are_stripped_from_text() -> None:
    html = """<head>
    <meta property="og:title" content="Tom &amp;amp; Jerry &lt;em&gt;return&lt;/em&gt;!">
    <meta property="og:description" content="  Line one
        line&nbsp;two <b>bold</b> &#8212; 1 &lt; 2  ">
    <title>ignored</title></head>"""
    meta = read_metadata(html, PAGE)
    assert (meta.title, meta.description) == (
        "Tom & Jerry return!",
        "Line one line two bold — 1 < 2",
    )


def test_title_tag_markup_and_length_caps() -> None:
    long_title = "word " * 200
    html = f"<head><title>A <b>bold</b> &amp;amp; move {long_title}</title>"
    html += f'<meta name="description" content="{"x" * 1500}"></head>'
    meta = read_metadata(html, PAGE)
    assert meta.title == ("A bold & move " + long_title)[:500]
    assert meta.title.endswith(" word w")
    assert meta.description == "x" * 1000


def test_meta_attribute_names_are_case_insensitive_and_name_or_property() -> None:
    html = """<head>
    <META NAME="OG:TITLE" CONTENT="Upper">
    <meta Property="Twitter:Description" content="Mixed">
    <meta name="Citation_DOI" content="10.1/x">
    </head>"""
    meta = read_metadata(html, PAGE)
    assert (meta.title, meta.description, meta.citation) == (
        "Upper",
        "Mixed",
        {"citation_doi": ["10.1/x"]},
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-02", datetime(2024, 5, 2, tzinfo=UTC)),
        ("2024-05-02T12:34:56", datetime(2024, 5, 2, 12, 34, 56, tzinfo=UTC)),
        ("2024-05-02T12:34:56.789Z", datetime(2024, 5, 2, 12, 34, 56, 789000, tzinfo=UTC)),
        ("2024-05-02T12:34:56-0500", datetime(2024, 5, 2, 17, 34, 56, tzinfo=UTC)),
        ("Thu, 02 May 2024 12:00:00 GMT", datetime(2024, 5, 2, 12, 0, tzinfo=UTC)),
        ("2012/04/01", datetime(2012, 4, 1, tzinfo=UTC)),
        ("2012", datetime(2012, 1, 1, tzinfo=UTC)),
        ("2012-13-01", None),
        ("0000", None),
        ("yesterday", None),
    ],
)
def test_date_formats(value: str, expected: datetime | None) -> None:
    html = f'<head><meta name="citation_publication_date" content="{value}"></head>'
    assert read_metadata(html, PAGE).published_at == expected


@pytest.mark.parametrize(
    ("data", "complete"),
    [
        (b"<html><head><title>x</title>", False),
        (b"<html><head><title>x</title></head>", True),
        (b"<html><HEAD></HEAD ><body>", True),
        (b"<html><head></head", True),
        (b"<title>x</title><BODY class='a'>", True),
        (b"<title>x</title><body", True),
        (b"<head><header></header><bodyguard>", False),
        (b"", False),
    ],
)
def test_head_complete(data: bytes, complete: bool) -> None:
    assert head_complete(data) is complete
