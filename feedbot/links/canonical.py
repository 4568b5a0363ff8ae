"""Canonical form of an article URL: the key that merges the same article seen under many URLs.

Offline, without fetching anything (:func:`canonical_url`):

* syntax: ``url-normalize`` lowercases the scheme and host, converts IDNs to punycode, drops
  default ports and empty queries, removes dot segments and normalizes percent-encoding;
* fragments are dropped (they name a place in a page, not another page);
* tracking parameters are removed (``utm_*``, ``fbclid``, ``gclid``, … — configurable, see
  :class:`UrlRules`); every other parameter is kept, in its order and encoding;
* AMP wrappers are unwrapped: Google's AMP viewer (``google.com/amp/s/…``) and the AMP cache
  (``*.cdn.ampproject.org/c/s/…``), and the AMP markers ``?amp=1`` and ``?outputType=amp`` are
  removed. AMP pages at their own paths (``/article/amp/``) are mapped by the ``rel=canonical``
  every AMP page must carry, not by guessing from the path.

Once a page has been read, :func:`prefer_page_canonical` lets the page's own
``<link rel=canonical>`` (or ``og:url``) win when it is on the same site (same registrable domain,
so ``m.`` and ``amp.`` hosts map to the main site) and is not a lazy "every page is the home page"
canonical.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from publicsuffixlist import PublicSuffixList
from url_normalize import url_normalize

DEFAULT_TRACKING_PARAMETERS: tuple[str, ...] = (
    "utm_*", "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
    "twclid", "ttclid", "li_fat_id", "mc_cid", "mc_eid", "igshid", "igsh", "ref", "ref_src",
    "ref_url", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking", "mkt_tok",
    "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "wickedid", "s_cid", "cmpid", "ncid",
    "sr_share", "share", "smid", "cmp", "spm", "_ga", "_gl", "at_medium", "at_campaign",
    "guccounter", "guce_referrer", "guce_referrer_sig", "mtm_*", "itm_*", "ga_*", "hmb_*",
    "otm_*", "vn_*", "echobox", "fb_ref", "fb_source", "fb_action_ids", "fb_action_types",
    "action_object_map", "action_type_map", "action_ref_map", "srsltid", "wt_mc", "wt_zmc",
    "wtmc", "wtzmc", "wtrid", "__twitter_impression", "_openstat", "ref_", "mc_tc", "gs_l",
    "os_ehash", "tracking_source", "ceneo_spo", "__s", "ml_subscriber", "ml_subscriber_hash",
    "rb_clickid", "clickid",
)  # fmt: skip

_AMP_PARAMETERS = {"amp": None, "outputtype": "amp", "amp_js_v": None, "usqp": None}
_AMP_CACHE = re.compile(r"\.cdn\.ampproject\.org$")


@dataclass(frozen=True)
class UrlRules:
    """Which query parameters are tracking noise. A name ending in ``*`` is a prefix."""

    tracking_parameters: tuple[str, ...] = DEFAULT_TRACKING_PARAMETERS

    @functools.cached_property
    def _exact(self) -> frozenset[str]:
        return frozenset(p.lower() for p in self.tracking_parameters if not p.endswith("*"))

    @functools.cached_property
    def _prefixes(self) -> tuple[str, ...]:
        return tuple(p[:-1].lower() for p in self.tracking_parameters if p.endswith("*"))

    def is_tracking(self, name: str) -> bool:
        name = name.lower()
        return name in self._exact or (bool(self._prefixes) and name.startswith(self._prefixes))


DEFAULT_RULES = UrlRules()


def canonical_url(url: str, rules: UrlRules = DEFAULT_RULES) -> str:
    """The canonical form of an absolute http(s) ``url`` (see the module docstring)."""
    return _canonical(url.strip(), rules)


@functools.lru_cache(maxsize=65536)
def _canonical(url: str, rules: UrlRules) -> str:
    try:
        normalized = _normalize(_unwrap_amp_cache(url), rules)
        # "http://@/x" has no host: normalizing would make one of the path, differently each time
        return normalized if urlsplit(normalized).hostname else url
    except ValueError:  # urlsplit rejects it (e.g. "http://[example.com]"): keep it as given
        return url


# URLs url-normalize would return unchanged: lowercase scheme and host, no default port, no
# userinfo, no escapes, dot segments or characters it would encode. Most shared URLs look like
# this, and skipping the library for them (its IDNA host check dominates) halves the cost of
# storing new entries; a test checks both give the same key on every corpus URL.
_SEGMENT = r"\.?[A-Za-z0-9\-_~!$&'()*+,;=:@]+(?:\.[A-Za-z0-9\-_~!$&'()*+,;=:@]+)*"
SIMPLE_URL = re.compile(
    r"(?P<scheme>https?)://(?:[a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}(?::(?P<port>[1-9][0-9]{0,4}))?"
    rf"(?:/{_SEGMENT})*/?"
    r"(?:\?[A-Za-z0-9\-._~!$&'()*+,=:@/?]*)?"  # no ";": url-normalize escapes what follows
)


def _is_simple(url: str) -> bool:
    match = SIMPLE_URL.fullmatch(url)
    return match is not None and match["port"] != _DEFAULT_PORT[match["scheme"]]


_DEFAULT_PORT = {"http": "80", "https": "443"}


def _normalize(url: str, rules: UrlRules) -> str:
    parts = urlsplit(url)
    if parts.fragment:
        parts = parts._replace(fragment="")
    unfragmented = urlunsplit(parts)
    try:
        if _is_simple(unfragmented):
            normalized = unfragmented
        else:
            normalized = url_normalize(unfragmented) or url
    except (ValueError, UnicodeError):  # an unparsable host or port: keep what we were given
        normalized = unfragmented
    parts = urlsplit(normalized)
    query = _clean_query(parts.query, rules)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


def _clean_query(query: str, rules: UrlRules) -> str:
    if not query:
        return ""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        name = unquote_plus(name)
        if rules.is_tracking(name) or _is_amp_marker(name, unquote_plus(value)):
            continue
        kept.append(pair)
    return "&".join(kept)


def _is_amp_marker(name: str, value: str) -> bool:
    name = name.lower()
    if name not in _AMP_PARAMETERS:
        return False
    wanted = _AMP_PARAMETERS[name]
    return wanted is None or value.lower() == wanted


def _unwrap_amp_cache(url: str) -> str:
    """``https://www.google.com/amp/s/example.com/a`` and
    ``https://example-com.cdn.ampproject.org/c/s/example.com/a`` → ``https://example.com/a``."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path
    if re.fullmatch(r"(www\.)?google\.[a-z.]+", host):
        wrapped = re.match(r"^/amp/(s/)?(.+)$", path)
    elif _AMP_CACHE.search(host):
        wrapped = re.match(r"^/[a-z]/(s/)?(.+)$", path)
    else:
        return url
    if not wrapped or "." not in wrapped[2].split("/", 1)[0]:
        return url
    secure, inner = bool(wrapped[1]), wrapped[2]
    rebuilt = ("https://" if secure else "http://") + inner
    return rebuilt + ("?" + parts.query if parts.query else "")


@functools.cache
def _suffix_list() -> PublicSuffixList:
    return PublicSuffixList()


def site_of(url: str) -> str:
    """The registrable domain of ``url`` (``m.nytimes.com`` → ``nytimes.com``); the host itself
    for IP addresses and single-label hosts."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host or re.fullmatch(r"[\d.]+|\[?[0-9a-f:]+\]?", host):
        return host
    return _suffix_list().privatesuffix(host) or host


def same_site(a: str, b: str) -> bool:
    return site_of(a) == site_of(b)


def prefer_page_canonical(
    final_url: str, candidates: Iterable[str | None], rules: UrlRules = DEFAULT_RULES
) -> str:
    """The canonical URL of a page reached at ``final_url``: the first candidate (``rel=canonical``
    then ``og:url``) on the same site, unless it points at the site's home page while the page
    itself is deeper (a common template mistake); else ``final_url``'s own canonical form."""
    own = canonical_url(final_url, rules)
    for candidate in candidates:
        if not candidate or not candidate.startswith(("http://", "https://")):
            continue
        if not same_site(candidate, final_url):
            continue
        preferred = canonical_url(candidate, rules)
        if _is_home(preferred) and not _is_home(own):
            continue
        return preferred
    return own


def _is_home(url: str) -> bool:
    parts = urlsplit(url)
    return parts.path == "/" and not parts.query
