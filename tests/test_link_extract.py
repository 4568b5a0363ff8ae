"""Link extraction from posts (feedbot.links.extract).

* twitter-text's URL conformance cases (read from ../shared/corpora at test time). Cases in
  ``EXCLUDED`` are either rules that differ on purpose (t.co-only rules, our "..." rule: left out,
  and a test checks they really do differ) or known gaps of linkify (CJK text touching a URL,
  underscores in host names, IPv6 hosts, any host after a scheme: strict xfails, so a fix shows);
* one URL per TLD of twitter-text's tlds.json, with a scheme and bare;
* a real pasted X timeline: one t.co link, four display URLs cut short with "…";
* Mastodon status HTML, and the HTML rules (base URL, schemes, typed URLs, duplicates);
* ``is_platform_link`` on profile, hashtag and search pages versus shared posts.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from publicsuffixlist import PSLFILE

from feedbot.links.extract import (
    FILE_EXTENSION_TLDS,
    ExtractedLinks,
    PartialLink,
    extract_links,
    is_platform_link,
    links_in_text,
)

CONFORMANCE = Path("social-posts/twitter-text-conformance")
EXTRACT_GROUPS = (
    "urls",
    "urls_with_indices",
    "tco_urls_with_params",
    "urls_with_directional_markers",
)

# -- twitter-text conformance ----------------------------------------------------------------------

# After "http://" or "https://" linkify takes any host name as written (no TLD check, no check
# of label syntax), so twitter-text's negatives about malformed hosts are found as URLs.
ANY_HOST = "linkify: any host after an explicit scheme"
# linkify's host grammar has no "_": it misses hosts with one, and before a label starting with
# one it stops at the dot ("http://leadingunderscore").
UNDERSCORE = "linkify: no underscores in host names"
# twitter-text ends a URL where CJK script starts; linkify reads CJK letters as letters of the
# host or path (Unicode hosts and paths are valid: "http://ああ.com" passes), so a URL run together
# with CJK text, no space between, is one long match or none.
CJK = "no split where CJK text touches a URL"
# twitter-text's t.co rules (a slug is letters and digits, at most 40 of them) do not hold for URLs
# in general: we keep linkify's reading ("…/pbY2NfTZ's", "…/FNkPfmii-", "…/TKLp64dY.x").
TCO = "t.co-only rules"
# Our rule: "..." directly after a URL marks a display URL cut short, a PartialLink.
ELLIPSIS = "'...' attached marks a cut URL"
# validate.json: linkify has no IPv6-literal hosts.
IPV6 = "linkify: no IPv6 hosts"

EXCLUDED: dict[str, str] = {
    "DO NOT extract invalid URL: http://no-tld": ANY_HOST,
    "DO NOT extract invalid URL: http://tld-too-short.x": ANY_HOST,
    "DO NOT Extract a hyphenated TLD (even though it's usually a typo)": ANY_HOST,
    "DO NOT extract invalid URL": ANY_HOST,  # http://xn--はじめよう.com (not valid punycode)
    "Extract URLs with underscores and dashes in the subdomain": UNDERSCORE,
    "Extract URLs containing underscores and dashes": UNDERSCORE,
    "DO NOT extract URLs containing leading underscores in the domain with a subdomain": UNDERSCORE,
    "Valid url: underscore in subdomain": UNDERSCORE,  # validate.json
    "Extract valid URL: http://example.com/": CJK,  # http://example.comだよね.comtest/hogehoge
    "Extract long URL without protocol surrounded by CJK characters": CJK,
    "Extract short URL without protocol surrounded by CJK characters": CJK,
    "Extract URLs without protocol surrounded by CJK characters": CJK,
    "Extract URLs with and without protocol surrounded by CJK characters": CJK,
    "Extract short URLs without protocol on ccTLD domains without path": CJK,
    "Extract domain followed by Japanese characters": CJK,
    "Extract a t.co URL with a trailing apostrophe": TCO,
    "Extract a t.co URL with a trailing hyphen": TCO,
    "DO NOT extract URLs with > 40 characters in a t.co slug": TCO,
    "Extract t.co URLs skipping trailing characters and adjusting indices correctly": TCO,
    "Extract a URL with a ton of trailing periods": ELLIPSIS,
    "Valid url: ipv6": IPV6,  # validate.json
}


def corpora_path() -> Path:
    """Where conftest's ``corpora`` fixture looks (needed at collection, for parametrize)."""
    repo = Path(__file__).resolve().parent.parent
    return Path(os.environ.get("FEEDBOT_CORPORA") or repo.parent / "shared" / "corpora")


def _tests(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((corpora_path() / CONFORMANCE / name).read_text("utf-8"))
    return data["tests"]


def _absolute(url: str) -> str:
    """twitter-text returns a bare domain as written; we give it https://."""
    return url if re.match(r"https?://", url, re.IGNORECASE) else "https://" + url


def conformance_cases() -> list[Any]:
    """extract.json's URL cases, and validate.json's valid URLs (a valid URL alone is found
    whole). validate.json's invalid URLs are left out: invalid there means "not wholly a URL",
    while a trailing space or a stray quote just ends the URL we find."""
    try:
        extract, validate = _tests("extract.json"), _tests("validate.json")
    except FileNotFoundError:  # the test then fails on conftest's corpora fixture
        return [pytest.param("", (), id="corpora missing")]
    cases = []
    for group in EXTRACT_GROUPS:
        for case in extract[group]:
            urls = [item if isinstance(item, str) else item["url"] for item in case["expected"]]
            # We deduplicate, twitter-text lists each occurrence.
            expected = tuple(dict.fromkeys(_absolute(url) for url in urls))
            cases.append((group, case["description"], case["text"], expected))
    for group in ("urls", "urls_without_protocol"):
        for case in validate[group]:
            if case["expected"]:
                expected = (_absolute(case["text"]),)
                cases.append((f"validate {group}", case["description"], case["text"], expected))
    return [
        pytest.param(
            text,
            expected,
            id=f"{group}: {description}",
            marks=[pytest.mark.xfail(reason=EXCLUDED[description], strict=True)]
            if description in EXCLUDED
            else [],
        )
        for group, description, text, expected in cases
        if EXCLUDED.get(description) not in ON_PURPOSE
    ]


ON_PURPOSE = frozenset({TCO, ELLIPSIS})


def test_cases_that_differ_on_purpose_do_differ(corpora: Path) -> None:
    """The t.co-only rules and our "..." rule: left out of the conformance run above, and
    checked here to really give a different answer, so the exclusions cannot go stale."""
    extract = _tests("extract.json")
    checked = 0
    for group in EXTRACT_GROUPS:
        for case in extract[group]:
            if EXCLUDED.get(case["description"]) in ON_PURPOSE:
                urls = [i if isinstance(i, str) else i["url"] for i in case["expected"]]
                expected = tuple(dict.fromkeys(_absolute(url) for url in urls))
                assert links_in_text(case["text"]).urls != expected, case["description"]
                checked += 1
    assert checked == 5


@pytest.mark.parametrize(("text", "expected"), conformance_cases())
def test_twitter_text_conformance(corpora: Path, text: str, expected: tuple[str, ...]) -> None:
    assert links_in_text(text) == ExtractedLinks(expected, ())


def test_every_excluded_case_is_in_the_corpus(corpora: Path) -> None:
    extract, validate = _tests("extract.json"), _tests("validate.json")
    groups = [*extract.values(), *validate.values()]
    descriptions = {case["description"] for group in groups for case in group}
    assert set(EXCLUDED) <= descriptions


def _psl_tlds() -> set[str]:
    """The top-level labels of the Public Suffix List bundled with publicsuffixlist."""
    with open(PSLFILE, encoding="utf-8") as rules:
        lines = (line.split()[0] for line in rules if line.strip() and not line.startswith("//"))
        return {rule.rsplit(".", 1)[-1] for rule in lines}


def test_every_tld_is_found_with_a_scheme_and_bare(corpora: Path) -> None:
    """tlds.json: 1,574 URLs "https://twitter.<tld>", found as written; and found without the
    scheme, bare and with a path, when the TLD is in the Public Suffix List. twitter-text's list
    also has TLDs not (or no longer) in the root zone: retired brand gTLDs (.xperia, .statoil …)
    and unused country codes (.um, .tp, .bl, .eh …). The PSL does not, and bare names on them are
    not links for us. A bare name on a TLD that is also a common file extension (.py, .zip …) is
    a link only with a path: "train.py" is a file."""
    psl, failures, retired = _psl_tlds(), [], []
    tests = json.loads((corpora / CONFORMANCE / "tlds.json").read_text("utf-8"))["tests"]
    cases = [case for kind in ("country", "generic") for case in tests[kind]]
    for case in cases:
        text, expected = case["text"], tuple(case["expected"])
        if links_in_text(f"{text} and ({text}).") != ExtractedLinks(expected, ()):
            failures.append(text)
        bare = text.removeprefix("https://")
        if bare.rsplit(".", 1)[-1].lower() not in psl:
            retired.append(bare)
            continue
        tld = bare.rsplit(".", 1)[-1].lower()
        forms = [f"{bare}/path?q=1"] + ([] if tld in FILE_EXTENSION_TLDS else [bare])
        for written in forms:
            if links_in_text(f"read {written}, now").urls != ("https://" + written,):
                failures.append(written)
    assert len(cases) == 1574 and failures == []
    assert len(retired) < 200, retired  # 146 with the PSL of October 2026


# -- a real pasted X timeline ----------------------------------------------------------------------


def test_bare_file_names_are_not_links() -> None:
    assert links_in_text("I edited train.py and notes.zip, see example.org").urls == (
        "https://example.org",
    )
    assert links_in_text("code at github.io/x/train.py").urls == ("https://github.io/x/train.py",)


def test_pasted_x_timeline(samples: Path) -> None:
    text = (samples / "x-timeline-pasted.txt").read_text("utf-8")
    found = links_in_text(text)
    assert found.urls == ("https://t.co/4JZ31G6lc7",)
    assert set(found.partial) == {
        PartialLink("github.com/karpathy/nanoc…", "github.com", "https://github.com/karpathy/nanoc"),
        PartialLink("chalkbeat.org/2026/02/17/tea…", "chalkbeat.org", "https://chalkbeat.org/2026/02/17/tea"),
        PartialLink("cambridge.org/core/journals/…", "cambridge.org", "https://cambridge.org/core/journals/"),
        PartialLink("doi.org/10.1177/136216…", "doi.org", "https://doi.org/10.1177/136216"),
    }  # fmt: skip
    assert len(found.partial) == 4
    assert not any(p.text in url or p.prefix in url for p in found.partial for url in found.urls)
    assert "single train. py file" in text and links_in_text("a single train. py file").urls == ()
    assert extract_links(text=text) == found


# -- plain text ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "urls"),
    [
        ("(see example.com/x).", ("https://example.com/x",)),
        ('He said "example.com/x" twice', ("https://example.com/x",)),
        ("it's at 'example.com/x'.", ("https://example.com/x",)),
        ("see “example.com/x”, or «https://example.org/y».", ("https://example.com/x", "https://example.org/y")),
        ("（example.com/x）。", ("https://example.com/x",)),
        ("According to https://example.com/a: yes; https://example.com/b; no", ("https://example.com/a", "https://example.com/b")),
        ("Primer https://en.wikipedia.org/wiki/Primer_(film).", ("https://en.wikipedia.org/wiki/Primer_(film)",)),
        ("new gTLDs: example.ninja/x and blog.example.museum", ("https://example.ninja/x", "https://blog.example.museum")),
        ("http://example.com/a then HTTPS://Example.com/B", ("http://example.com/a", "HTTPS://Example.com/B")),
        ("example.com example.com https://example.com", ("https://example.com",)),
        ("@jack @jack@mastodon.social #edu #example.com $TVI.CA", ()),
        ("write to first.last@example.org or first.last@example.gov.uk", ()),
        ("\u202atwitter.com/jack/status/1\u202c and \u200bexample.com/x", ("https://twitter.com/jack/status/1", "https://example.com/x")),
        ("version 2.0.1 of setup, e.g. this. approx. 700", ()),
        ("a link https://example.com/path …", ("https://example.com/path",)),
    ],
)  # fmt: skip
def test_links_in_text(text: str, urls: tuple[str, ...]) -> None:
    assert links_in_text(text) == ExtractedLinks(urls, ())


@pytest.mark.parametrize(
    ("text", "partial"),
    [
        ("chalkbeat.org/2026/02/17/tea…", PartialLink("chalkbeat.org/2026/02/17/tea…", "chalkbeat.org", "https://chalkbeat.org/2026/02/17/tea")),
        ("read example.com/long/pa... now", PartialLink("example.com/long/pa...", "example.com", "https://example.com/long/pa")),
        ("http://WWW.Example.com/long/pa…", PartialLink("http://WWW.Example.com/long/pa…", "example.com", "https://WWW.Example.com/long/pa")),
        ("“nytimes.com/2026/02/…”", PartialLink("nytimes.com/2026/02/…", "nytimes.com", "https://nytimes.com/2026/02/")),
        ("averyveryverylongsubdomain.example.co…", PartialLink("averyveryverylongsubdomain.example.co…", "averyveryverylongsubdomain.example.co", "https://averyveryverylongsubdomain.example.co")),
    ],
)  # fmt: skip
def test_cut_display_urls_are_partial_links(text: str, partial: PartialLink) -> None:
    assert links_in_text(text) == ExtractedLinks((), (partial,))


# -- HTML ------------------------------------------------------------------------------------------

MASTODON_STATUS = (
    '<p><span class="h-card" translate="no"><a href="https://hachyderm.io/@edtechdaily" '
    'class="u-url mention">@<span>edtechdaily</span></a></span> Top teachers who moved to '
    "high-need schools did worse there, a study of a federal transfer program finds. "
    '<a href="https://www.chalkbeat.org/2026/02/17/teacher-transfer-program-study/" '
    'target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://www.'
    '</span><span class="ellipsis">chalkbeat.org/2026/02/17/teach</span><span class="invisible">'
    "er-transfer-program-study/</span></a></p><p>"
    '<a href="https://mastodon.social/tags/education" class="mention hashtag" rel="tag">#<span>'
    'education</span></a> <a href="https://mastodon.social/tags/research" class="mention '
    'hashtag" rel="tag">#<span>research</span></a></p>'
)


def test_mastodon_status() -> None:
    found = extract_links(html=MASTODON_STATUS, base_url="https://mastodon.social/@someone/1")
    assert found == ExtractedLinks(
        ("https://www.chalkbeat.org/2026/02/17/teacher-transfer-program-study/",), ()
    )


def test_anchor_text_cut_from_its_href_is_one_link() -> None:
    html = '<p>Read <a href="https://example.com/long/path">example.com/long/pa…</a></p>'
    assert extract_links(html=html) == ExtractedLinks(("https://example.com/long/path",), ())
    # X's embeds: the anchor shows where a t.co link goes; the t.co link is the link.
    tweet = (
        '<blockquote class="twitter-tweet"><p>Good read <a href="https://t.co/AbC123">'
        'nytimes.com/2026/02/17/edu…</a> via <a href="https://twitter.com/nytimes?ref_src=twsrc">'
        '@nytimes</a> <a href="https://twitter.com/hashtag/edu?src=hash">#edu</a></p>&mdash; Jack '
        '(@jack) <a href="https://twitter.com/jack/status/20">March 21, 2006</a></blockquote>'
    )
    assert extract_links(html=tweet) == ExtractedLinks(
        ("https://t.co/AbC123", "https://twitter.com/jack/status/20"), ()
    )


def test_html_hrefs_and_visible_text() -> None:
    html = (
        '<div><p>See <a href="/articles/1">our piece</a>, <a href="other.html?a=1&amp;b=2">this'
        '</a> and <a href="//cdn.example.net/report.pdf">the report</a>. <a href="#fn1">1</a> '
        '<a href="javascript:void(0)">Subscribe</a> <a href="mailto:editor@example.org">Write to '
        'us</a> <a href="tel:+15551234">Call</a> <a href="ftp://files.example.org/x">FTP</a></p>'
        "<p>Data typed as text: example.org/data/2026.csv. Again: "
        "https://news.example.com/articles/1 and news.example.com/articles/1</p>"
        '<ul><li><a href="https://news.example.com/articles/1">same piece</a></li><li>'
        "example.net/cut/sho…</li></ul><!-- https://comment.example --><script>"
        'var u = "https://script.example/x";</script><p>ex<wbr>ample.io/wrap<wbr>ped</p></div>'
    )
    found = extract_links(html=html, base_url="https://news.example.com/feed/")
    assert found.urls == (
        "https://news.example.com/articles/1",
        "https://news.example.com/feed/other.html?a=1&b=2",
        "https://cdn.example.net/report.pdf",
        "https://example.org/data/2026.csv",
        "https://example.io/wrapped",
    )
    assert found.partial == (
        PartialLink("example.net/cut/sho…", "example.net", "https://example.net/cut/sho"),
    )
    # Without a base URL, relative links (protocol-relative too) are dropped; the typed URL that
    # showed an href is now a link of its own, in document order.
    assert extract_links(html=html).urls == (
        "https://example.org/data/2026.csv",
        "https://news.example.com/articles/1",
        "https://example.io/wrapped",
    )


def test_html_and_text_together() -> None:
    found = extract_links(
        html='<p>cut short: example.com/long/pa…</p><a href="https://x.com/jack">@jack</a>',
        text="Full link: https://example.com/long/path and https://example.com/long/path",
    )
    assert found == ExtractedLinks(("https://example.com/long/path",), ())
    assert extract_links() == extract_links(html="", text="") == ExtractedLinks((), ())


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://twitter.com/jack", True),
        ("https://x.com/jack/", True),
        ("https://mobile.twitter.com/jack/with_replies", True),
        ("https://x.com/hashtag/edu?src=hashtag_click", True),
        ("https://twitter.com/search?q=%23edu&src=typed_query", True),
        ("https://twitter.com/intent/tweet?text=hi", True),
        ("https://x.com/jack/status/20", False),
        ("https://twitter.com/i/web/status/1234567890", False),
        ("https://mastodon.social/@Gargron", True),
        ("https://hachyderm.io/@user@mastodon.social", True),
        ("https://mastodon.social/@Gargron/109876543210987654", False),
        ("https://fediscience.org/tags/education", True),
        ("https://bsky.app/profile/jay.bsky.team", True),
        ("https://bsky.app/hashtag/edusky", True),
        ("https://bsky.app/profile/jay.bsky.team/post/3kabcdefg2x", False),
        ("https://www.threads.net/@zuck", True),
        ("https://www.threads.net/@zuck/post/C1a2b3c4", False),
        ("https://www.instagram.com/natgeo/", True),
        ("https://www.instagram.com/p/C1a2b3c4/", False),
        ("https://www.linkedin.com/in/someone", True),
        ("https://www.linkedin.com/company/acme/", True),
        ("https://www.linkedin.com/pulse/an-article-someone-abc/", False),
        ("https://www.chalkbeat.org/2026/02/17/teacher-transfer/", False),
        ("https://t.co/4JZ31G6lc7", False),
        ("http://[broken", False),
    ],
)
def test_is_platform_link(url: str, platform: bool) -> None:
    assert is_platform_link(url) is platform
