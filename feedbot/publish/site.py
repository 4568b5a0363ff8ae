"""The static site: home, one page per day, per topic and per source, plus the feeds.

Two phases: :func:`plan_site` renders every file in memory, then :func:`write_tree` writes them
into a temporary folder next to the output and swaps it in. A failure before the swap leaves the
previous site untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, TemplateError

from feedbot.config import Settings
from feedbot.errors import PublishError
from feedbot.publish import feeds
from feedbot.records import Item, SourceStatus, TopicRef
from feedbot.resources import resource_dir


@dataclass(frozen=True)
class Page:
    path: str
    template: str
    context: Mapping[str, Any]


@dataclass(frozen=True)
class BuildReport:
    out_dir: Path
    pages: int
    feeds: int
    items: int


def day_of(item: Item, settings: Settings) -> date:
    return item.date.astimezone(settings.zone).date()


def plan_pages(
    items: Sequence[Item],
    topics: Sequence[TopicRef],
    sources: Sequence[SourceStatus],
    settings: Settings,
    now: datetime,
) -> list[Page]:
    by_day: dict[date, list[Item]] = defaultdict(list)
    by_topic: dict[str, list[Item]] = defaultdict(list)
    by_source: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        by_day[day_of(item, settings)].append(item)
        for topic in item.topics:
            by_topic[topic.id].append(item)
        for source in item.sources:
            by_source[source.slug].append(item)
    days = sorted(by_day, reverse=True)
    common = {
        "title": settings.title,
        "topics": topics,
        "topic_counts": {topic.id: len(by_topic[topic.id]) for topic in topics},
        "paper_count": sum(1 for item in items if item.doi or item.arxiv_id),
        "generated_at": now,
    }

    def page(path: str, template: str, **context: Any) -> Page:
        root = "../" * path.count("/")
        return Page(path, template, {**common, "root": root, "path": path, **context})

    pages = [
        page("index.html", "index.html", items=items[: settings.home_items], total=len(items),
             days=days[:14], feed_base=""),
        page("papers.html", "papers.html",
             items=[item for item in items if item.doi or item.arxiv_id]),
        page("days/index.html", "archive.html",
             days=[(day, len(by_day[day])) for day in days], heading="Archive"),
        page("sources/index.html", "sources.html", sources=sources,
             counts={slug: len(found) for slug, found in by_source.items()}),
    ]  # fmt: skip
    for index, day in enumerate(days):
        newer = days[index - 1] if index > 0 else None
        older = days[index + 1] if index + 1 < len(days) else None
        pages.append(
            page(f"days/{day.isoformat()}.html", "day.html", day=day, items=by_day[day],
                 newer=newer, older=older)
        )  # fmt: skip
    for topic in topics:
        pages.append(
            page(f"topics/{topic.id}.html", "topic.html", topic=topic, items=by_topic[topic.id],
                 feed_base=f"topics/{topic.id}")
        )  # fmt: skip
    for status in sources:
        pages.append(
            page(f"sources/{status.slug}.html", "source.html", source=status,
                 items=by_source[status.slug])
        )  # fmt: skip
    return pages


def plan_feeds(
    items: Sequence[Item], topics: Sequence[TopicRef], settings: Settings, now: datetime
) -> dict[str, bytes]:
    """Feed files by path: overall (feed.xml, atom.xml, feed.json) and per topic."""
    base = settings.base_url
    limit = settings.feed_items
    sets: list[tuple[str, str, str, Sequence[Item]]] = [
        ("", settings.title, "index.html", items[:limit])
    ]
    for topic in topics:
        in_topic = [item for item in items if any(t.id == topic.id for t in item.topics)]
        sets.append((f"topics/{topic.id}.", f"{settings.title}: {topic.name}",
                     f"topics/{topic.id}.html", in_topic[:limit]))  # fmt: skip
    files: dict[str, bytes] = {}
    for prefix, title, page, chosen in sets:
        rss_path = f"{prefix}xml" if prefix else "feed.xml"
        atom_path = f"{prefix}atom" if prefix else "atom.xml"
        json_path = f"{prefix}json" if prefix else "feed.json"
        description = f"{title}, curated by feedbot"
        files[rss_path] = feeds.rss(
            chosen,
            title=title,
            link=base + page,
            self_url=base + rss_path,
            description=description,
            now=now,
        )
        files[atom_path] = feeds.atom(
            chosen,
            title=title,
            link=base + page,
            self_url=base + atom_path,
            feed_id=base + atom_path,
            now=now,
        )
        files[json_path] = feeds.json_feed(
            chosen,
            title=title,
            link=base + page,
            self_url=base + json_path,
            description=description,
        )
    return files  # fmt: skip


def render_pages(pages: Sequence[Page], env: Environment) -> dict[str, bytes]:
    rendered = {}
    for page in pages:
        try:
            html = env.get_template(page.template).render(**page.context)
        except TemplateError as e:
            raise PublishError(f"cannot render {page.path} with {page.template}: {e}") from e
        rendered[page.path] = html.encode("utf-8")
    return rendered


def build_site(
    items: Sequence[Item],
    topics: Sequence[TopicRef],
    sources: Sequence[SourceStatus],
    settings: Settings,
    env: Environment,
    now: datetime,
) -> BuildReport:
    pages = plan_pages(items, topics, sources, settings, now)
    files = render_pages(pages, env)
    feed_files = plan_feeds(items, topics, settings, now)
    out = settings.output_path
    write_tree(out, files | feed_files, resource_dir("static"))
    return BuildReport(out, len(files), len(feed_files), len(items))


def write_tree(out: Path, files: Mapping[str, bytes], static_dir: Path) -> None:
    """Write ``files`` (and a copy of ``static_dir`` as ``static/``) as the new ``out`` folder,
    atomically from a reader's point of view: a new folder is filled, then renamed into place."""
    out = out.resolve()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
    except OSError as e:
        raise PublishError(f"cannot create the output folder {out}: {e.strerror or e}") from e
    try:
        shutil.copytree(static_dir, staging / "static")
        for relative, content in files.items():
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        os.chmod(staging, 0o755)
        _swap(staging, out)
    except OSError as e:
        shutil.rmtree(staging, ignore_errors=True)
        raise PublishError(f"cannot write the site to {out}: {e.strerror or e}") from e
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _swap(staging: Path, out: Path) -> None:
    if not out.exists():
        staging.rename(out)
        return
    if not out.is_dir():
        raise PublishError(f"output path {out} exists and is not a folder")
    previous = out.with_name(f".{out.name}.previous-{os.getpid()}")
    out.rename(previous)
    try:
        staging.rename(out)
    except OSError:
        previous.rename(out)
        raise
    shutil.rmtree(previous, ignore_errors=True)
