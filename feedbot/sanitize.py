"""Sanitizing third-party HTML (nh3, the Rust ``ammonia`` sanitizer) and turning it into text.

Everything a source gives us passes through :func:`clean_html` before it is stored for display, so
pages, feeds and emails only ever see the allow-listed subset below.
"""

from __future__ import annotations

import functools
import html
import re

import nh3

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dfn",
        "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
        "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp",
        "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
        "thead", "time", "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
    "q": {"cite"},
    "blockquote": {"cite"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
_SPACE = re.compile(r"\s+")
# Characters a URL scheme can hide behind (DOMPurify's ATTR_WHITESPACE, C1 controls, the BOM).
# Browsers read "\u2028javascript:…" as a relative URL, so ammonia keeps it; a feed reader that
# trims Unicode white space first (JavaScript's trim(), Python's strip()) gets a javascript: URL.
_HIDDEN = re.compile("[\x00-\x20\x7f-\x9f\u00a0\u1680\u180e\u2000-\u2029\u205f\u3000\ufeff]")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):", re.IGNORECASE)
_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})


def _drop_hidden_schemes(tag: str, attribute: str, value: str) -> str | None:
    """nh3 attribute filter: drop a URL whose scheme, once hidden characters are removed, is not
    allowed."""
    if attribute in _URL_ATTRIBUTES:
        scheme = _SCHEME.match(_HIDDEN.sub("", value))
        if scheme and scheme.group(1).lower() not in URL_SCHEMES:
            return None
    return value


def _cleaner(base_url: str | None) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_drop_hidden_schemes,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        url_relative=("rewrite_with_base", base_url) if base_url else None,
    )


_DEFAULT_CLEANER = _cleaner(None)
_TEXT_CLEANER = nh3.Cleaner(tags=set(), strip_comments=True)


@functools.lru_cache(maxsize=256)
def _cleaner_for(base_url: str) -> nh3.Cleaner:
    return _cleaner(base_url)


def clean_html(fragment: str, base_url: str | None = None) -> str:
    """Return ``fragment`` with every tag, attribute and URL scheme outside the allow-list removed
    (scripts and styles with their content), links marked ``rel="noopener noreferrer nofollow"``,
    and relative URLs resolved against ``base_url`` when one is given."""
    if not fragment:
        return ""
    cleaner = _cleaner_for(base_url) if base_url and is_web_url(base_url) else _DEFAULT_CLEANER
    return cleaner.clean(fragment).strip()


# Where a block ends, text is separated ("<p>a</p><p>b</p>" is "a b", never "ab").
_BLOCK_END = re.compile(
    r"<(?:br\b[^>]*|/(?:p|div|li|h[1-6]|blockquote|pre|tr|td|th|dd|dt|section|article)\s*)>",
    re.IGNORECASE,
)


def html_to_text(fragment: str, lines: bool = False) -> str:
    """Plain text of an HTML fragment: tags dropped (script/style with their content), entities
    decoded, white space folded. With ``lines``, each paragraph, list item or ``<br>`` line is a
    line of its own."""
    if not fragment:
        return ""
    if "<" in fragment or "&" in fragment:
        if "<" in fragment:
            fragment = _BLOCK_END.sub(lambda m: m.group(0) + "\n", fragment)
        fragment = html.unescape(_TEXT_CLEANER.clean(fragment))
    # ``" ".join(text.split())`` folds exactly as ``_SPACE.sub(" ", text).strip()`` (the same
    # white space), several times faster: this runs once per item of every build.
    if lines:
        folded = (" ".join(line.split()) for line in fragment.splitlines())
        return "\n".join(line for line in folded if line)
    return " ".join(fragment.split())


# What an HTML parser drops from text (NUL) or cannot read (lone surrogates).
_PARSER_DROPS = re.compile("[\x00\ud800-\udfff]")


def text_paragraph(text: str) -> tuple[str, str]:
    """Plain ``text`` as an HTML paragraph, and that paragraph's :func:`html_to_text`: exactly
    what calling it gives, without the cost of parsing the HTML (an item's summary made from
    its page's description, once per item of every build) unless the text holds something a
    parser would drop."""
    paragraph = f"<p>{html.escape(text)}</p>"
    if _PARSER_DROPS.search(text):
        return paragraph, html_to_text(paragraph)
    return paragraph, " ".join(text.split())


def excerpt(text: str, limit: int = 280) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def is_web_url(url: str | None) -> bool:
    """True when ``url`` is an absolute http(s) URL: the only links feedbot publishes."""
    if not url:
        return False
    head = url[:8].lower()
    return head.startswith(("http://", "https://")) and not _SPACE.search(url) and len(url) < 2048
