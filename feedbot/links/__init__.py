"""Links: from the URLs posts carry to one row per article.

    extract (which URLs a post shares) → expand (where each leads) → canonical (its key)
    → metadata (what the page says about itself)

The records below are shared by the sources (which fill them) and the store (which keeps them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PartialLink:
    """A display URL cut short with "…" (as X and Mastodon show long links): never a link."""

    text: str  # exactly as it appeared, e.g. "chalkbeat.org/2026/02/17/tea…"
    host: str  # lowercase host without "www.", e.g. "chalkbeat.org"
    prefix: str  # "https://" + text less scheme and "…", "https://chalkbeat.org/2026/02/17/tea"


@dataclass(frozen=True)
class ExtractedLinks:
    urls: tuple[str, ...]  # absolute http(s) URLs, first appearance order, no exact duplicates
    partial: tuple[PartialLink, ...]
    references: tuple[str, ...] = ()  # citation texts without a whole DOI, to recover it
