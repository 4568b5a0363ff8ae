"""Canonical form of an article URL: the key that merges the same article seen under several URLs.

For now this lowercases the scheme and host, drops default ports, fragments and well-known
tracking parameters; the links issue replaces it with a library-backed canonicalizer that also
follows redirects and ``rel=canonical``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PARAMETERS = frozenset(
    {"fbclid", "gclid", "mc_cid", "mc_eid", "igshid", "ref_src", "_hsenc", "_hsmi", "yclid"}
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str) -> str:
    """Return the canonical form of an absolute http(s) ``url``."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [
        (key, value)
        for key, value in pairs
        if not key.lower().startswith("utm_") and key.lower() not in TRACKING_PARAMETERS
    ]
    query = parts.query if len(kept) == len(pairs) else urlencode(kept)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))
