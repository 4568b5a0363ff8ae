"""Which links an entry shares: the decision between "this entry is an article" and "this entry
is a post pointing at articles".

* An entry whose own link is an ordinary web page (a blog post, a news article, a link-blog item
  pointing through a short link) shares exactly that link.
* An entry without a link, or whose link is a social-media post's permalink (a Mastodon status
  served as RSS, an X status, a Bluesky post…), is a post: it shares every outbound link in its
  content, and display URLs cut short with "…" are kept as partial links, never as links. A post
  that links nowhere is its own item, under its permalink.
"""

from __future__ import annotations

import re

from feedbot.links import ExtractedLinks

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


def is_social_post(url: str) -> bool:
    """True for the permalink of a post on a social platform."""
    return bool(_SOCIAL_POST.match(url))


def shared_links(url: str | None, summary_html: str, content_html: str) -> ExtractedLinks:
    """The links an entry with permalink ``url`` and this (sanitized) HTML shares."""
    web_url = url if url and url.lower().startswith(("http://", "https://")) else None
    if web_url and not is_social_post(web_url):
        return ExtractedLinks((web_url,), ())
    from feedbot.links.extract import extract_links  # BeautifulSoup: only for posts

    found = extract_links(html=content_html or summary_html, base_url=web_url)
    urls = tuple(link for link in found.urls if link != web_url)
    if not urls and web_url:
        urls = (web_url,)
    return ExtractedLinks(urls, found.partial)
