"""Which links an entry shares: the decision between "this entry is an article" and "this entry
is a post pointing at articles".

* An entry whose own link is an ordinary web page (a blog post, a news article, a link-blog item
  pointing through a short link) shares exactly that link.
* An entry without a link, or whose link is a social-media post's permalink (a Mastodon status
  served as RSS, an X status, a Bluesky post…), is a post: it shares every outbound link in its
  content, and display URLs cut short with "…" are kept as partial links, never as links. A post
  that links nowhere is its own item, under its permalink; a post with no web address at all (a
  pasted X post) under an identity URN (:func:`post_identity`) that
  is never fetched and never linked to. Once such a post is known to share something (its cut
  link completed, its cited paper recovered), it is a mention of that instead.
* A post also shares the papers its text names without a link (``doi:10.1177/…``,
  ``arXiv:2401.01234``), as their ``https://doi.org/`` or ``https://arxiv.org/abs/`` URLs; and a
  citation text in it ("Shintani, N. (2012). Title. Journal, 16(2), 253–279.") whose DOI is cut
  short or missing is kept as a reference, for the research stage to recover its DOI.
"""

from __future__ import annotations

import hashlib
import re

from feedbot.links import ExtractedLinks
from feedbot.sanitize import html_to_text

_SOCIAL_POST = re.compile(
    r"""^https?://(?:www\.|mobile\.)?(?:
        (?:twitter|x)\.com/[^/]+/status(?:es)?/\d+         # X
      | bsky\.app/profile/[^/]+/post/[^/?#]+              # Bluesky
      | threads\.(?:net|com)/@[^/]+/post/[^/?#]+          # Threads
      | linkedin\.com/(?:posts/|feed/update/)             # LinkedIn
      | [^/]+/@[^/]+/\d+(?:[/?#]|$)                       # Mastodon and other ActivityPub servers
      | [^/]+/users/[^/]+/statuses/\d+                    # Mastodon, canonical form
    )""",
    re.IGNORECASE | re.VERBOSE,
)


POST_IDENTITY = "urn:feedbot:post:"


def post_identity(guid: str) -> str:
    """The identity of a post that has no web address and links nowhere (a pasted X post): it
    is still an item, under this URN, which is never fetched."""
    return POST_IDENTITY + hashlib.sha1(guid.encode("utf-8")).hexdigest()


def is_post_identity(url: str) -> bool:
    return url.startswith(POST_IDENTITY)


def is_social_post(url: str) -> bool:
    """True for the permalink of a post on a social platform."""
    return bool(_SOCIAL_POST.match(url))


def shared_links(url: str | None, summary_html: str, content_html: str) -> ExtractedLinks:
    """The links an entry with permalink ``url`` and this (sanitized) HTML shares."""
    web_url = url if url and url.lower().startswith(("http://", "https://")) else None
    if web_url and not is_social_post(web_url):
        return ExtractedLinks((web_url,), ())
    from feedbot.links.extract import extract_links  # BeautifulSoup: only for posts

    html = content_html or summary_html
    found = extract_links(html=html, base_url=web_url)
    urls = [link for link in found.urls if link != web_url]
    papers, references = _papers_in_text(html_to_text(html, lines=True), urls)
    urls.extend(papers)
    if not urls and web_url:
        urls = [web_url]
    return ExtractedLinks(tuple(urls), found.partial, references)


def _papers_in_text(text: str, urls: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """The identity URLs of the papers ``text`` names without linking them, and its citation
    text when it has one whose DOI is not given whole."""
    from feedbot.links.arxiv import arxiv_id_in_url, arxiv_ids_in_text
    from feedbot.links.doi import doi_in_url, dois_in_text
    from feedbot.links.recover import looks_like_reference, parse_reference

    dois = {doi_in_url(url) for url in urls}
    arxiv_ids = {arxiv_id_in_url(url) for url in urls}
    found = [f"https://doi.org/{doi}" for doi in dois_in_text(text) if doi not in dois]
    found += [f"https://arxiv.org/abs/{i}" for i in arxiv_ids_in_text(text) if i not in arxiv_ids]
    references: tuple[str, ...] = ()
    if looks_like_reference(text):
        reference = parse_reference(text)
        whole = dois | set(dois_in_text(text))
        if reference is not None and reference.title and reference.doi_prefix not in whole:
            references = (reference.text,)
    return found, references
