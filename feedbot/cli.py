"""The ``feedbot`` command: a thin layer over :mod:`feedbot.app`.

Errors feedbot raises on purpose become one line on stderr and a non-zero exit (2 for a broken
config, 1 otherwise); a run in which some sources failed still exits 0 and lists them.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click
from sqlalchemy.exc import SQLAlchemyError

from feedbot import __version__
from feedbot.config import Settings, SourceSettings, default_config_path, load_settings
from feedbot.db import db_error
from feedbot.errors import ConfigError, FeedbotError, PublishError

log = logging.getLogger("feedbot")


@dataclass
class Context:
    config_path: Path
    verbose: int
    quiet: bool
    _settings: Settings | None = field(default=None, repr=False)
    _app: Any = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    @property
    def app(self) -> Any:
        if self._app is None:
            from feedbot.app import open_app

            self._app = open_app(self.settings)
        return self._app

    def say(self, message: str) -> None:
        if not self.quiet:
            click.echo(message)


pass_context = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Config file. Default: $FEEDBOT_CONFIG or ./feedbot.toml.",
)
@click.option("-v", "--verbose", count=True, help="Say more (repeat for debug output).")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors.")
@click.version_option(__version__, prog_name="feedbot")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int, quiet: bool) -> None:
    """feedbot: ingest feeds, tag them by topic, publish a site, feeds and a daily digest."""
    level = logging.WARNING if not verbose else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=logging.ERROR if quiet else level, format="%(levelname)s %(message)s")
    ctx.obj = Context(config_path or default_config_path(), verbose, quiet)


# -- setup ---------------------------------------------------------------------------------


@cli.command()
@click.option("--force", is_flag=True, help="Overwrite an existing config file.")
@pass_context
def init(ctx: Context, force: bool) -> None:
    """Write a commented starter config file."""
    from feedbot.config_file import write_starter

    write_starter(ctx.config_path, force=force)
    ctx.say(f"Wrote {ctx.config_path}. Add [[sources]], then run 'feedbot fetch'.")


@cli.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
@pass_context
def db_upgrade(ctx: Context) -> None:
    """Apply pending schema migrations (also done on every start)."""
    from feedbot.db import current_revision, make_engine, upgrade

    engine = make_engine(ctx.settings.resolved_database_url())
    upgrade(engine)
    ctx.say(f"Database is at revision {current_revision(engine)}.")


# -- sources -------------------------------------------------------------------------------


@cli.group()
def sources() -> None:
    """List, add and remove sources; import and export OPML."""


@sources.command("list")
@pass_context
def sources_list(ctx: Context) -> None:
    """List the configured sources."""
    for source in ctx.settings.sources:
        topics = f"  [{', '.join(source.topics)}]" if source.topics else ""
        click.echo(f"{source.name}\t{source.location}{topics}")
    if not ctx.settings.sources:
        ctx.say("No sources yet: 'feedbot sources add NAME URL'.")


@sources.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--topic", "topics", multiple=True, help="A default topic id (repeatable).")
@pass_context
def sources_add(ctx: Context, name: str, url: str, topics: tuple[str, ...]) -> None:
    """Add a feed source to the config file."""
    from pydantic import ValidationError

    from feedbot.config_file import add_sources

    try:
        source = SourceSettings(name=name, url=url, topics=list(topics))
    except ValidationError as e:
        raise ConfigError(
            f"invalid source: {e.errors()[0]['msg'].removeprefix('Value error, ')}"
        ) from None
    if not add_sources(ctx.config_path, [source]):
        raise ConfigError(f"{ctx.config_path}: a source named {name!r} or with that URL exists")
    ctx.say(f"Added {name}.")


@sources.command("remove")
@click.argument("name")
@pass_context
def sources_remove(ctx: Context, name: str) -> None:
    """Remove a source from the config (its items stay in the database)."""
    from feedbot.config_file import remove_source

    remove_source(ctx.config_path, name)
    ctx.say(f"Removed {name}.")


@sources.command("resume")
@click.argument("name")
@pass_context
def sources_resume(ctx: Context, name: str) -> None:
    """Resume a source paused after failing too long: it is due at once."""
    if not ctx.app.store.resume_source(name):
        raise FeedbotError(f"no source named {name!r} (see 'feedbot status')")
    ctx.say(f"Resumed {name}: it is due now.")


@sources.command("import-opml")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def sources_import_opml(ctx: Context, file: Path) -> None:
    """Add every feed of an OPML file (folders that name a topic become its topic)."""
    from feedbot.config_file import add_sources
    from feedbot.opml import parse_opml

    found = parse_opml(file.read_bytes(), ctx.settings.topics, label=str(file))
    added = add_sources(ctx.config_path, found)
    ctx.say(f"Imported {len(added)} of {len(found)} feeds from {file}.")


@sources.command("export-opml")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout)."
)
@pass_context
def sources_export_opml(ctx: Context, out: Path | None) -> None:
    """Write the configured sources as OPML."""
    from feedbot.opml import render_opml

    document = render_opml(ctx.settings.sources, ctx.settings.title, ctx.settings.topics)
    _write_output(out, document)


@sources.command("test")
@click.argument("name")
@pass_context
def sources_test(ctx: Context, name: str) -> None:
    """Fetch one source once and print what it found, without storing anything.

    For a page source, this shows what its CSS selectors match, so they can be tuned."""
    import asyncio

    from feedbot.http import HttpClient
    from feedbot.sanitize import excerpt, html_to_text
    from feedbot.sources import FetchContext, FetchOutcome, SourceState, registry

    source = _source_named(ctx.settings, name)
    app = ctx.app
    context = FetchContext(app.settings, app.clock, app.scholarly_client)
    fetcher = registry()[source.kind].make_fetcher(context)
    state = SourceState(0, source.name, source.kind, source.location, options=source.options)

    async def fetch_once() -> FetchOutcome:
        async with HttpClient(ctx.settings.http, ctx.settings.user_agent()) as http:
            return await fetcher.fetch(state, http)

    outcome = asyncio.run(fetch_once())
    if outcome.status == "not_modified":
        click.echo(f"{source.name}: nothing to fetch (its posts come from 'feedbot import').")
        return
    click.echo(f"{source.name} ({source.kind}, {source.location}): {len(outcome.entries)} items")
    for entry in outcome.entries:
        click.echo(f"\n- {entry.title or '(no title)'}")
        click.echo(f"    link:    {entry.url or '(none)'}")
        if entry.published_at:
            click.echo(f"    date:    {entry.published_at.isoformat()}")
        if entry.author:
            click.echo(f"    author:  {entry.author}")
        shared = [url for url in entry.links if url != entry.url]
        if shared:
            click.echo(f"    shares:  {', '.join(shared)}")
        if entry.partial_links:
            cut = ", ".join(p.text for p in entry.partial_links)
            click.echo(f"    cut:     {cut}")
        summary = html_to_text(entry.summary_html or entry.content_html)
        if summary:
            click.echo(f"    summary: {excerpt(summary, 160)}")
    for warning in outcome.warnings:
        click.echo(f"warning: {warning}", err=True)


def _source_named(settings: Settings, name: str) -> SourceSettings:
    found = [s for s in settings.sources if s.name.casefold() == name.casefold()]
    if not found:
        raise ConfigError(f"no source named {name!r} (see 'feedbot sources list')")
    return found[0]


# -- imports -------------------------------------------------------------------------------

X_KINDS = ("x-archive", "x-paste")


@cli.group("import")
def import_() -> None:
    """Import posts from files: X archives and pasted X timelines."""


@import_.command("x-archive")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--account", help="The account, '@handle' (default: the archive's account.js).")
@click.option("--source", "source_name", help="The source to import into (default: see README).")
@pass_context
def import_x_archive(
    ctx: Context, path: Path, account: str | None, source_name: str | None
) -> None:
    """Import the posts of an X archive: its zip, its unpacked folder, or data/tweets.js."""
    from feedbot.sources.xarchive import XArchiveOptions, archive_outcome, read_archive

    archive = read_archive(path)
    handle = _x_handle(account or archive.account, "the archive has no account.js")
    source = _x_source(ctx, "x-archive", handle, source_name)
    options = XArchiveOptions(account=handle, replies=source.options.get("replies", False))
    _store_import(ctx, source, archive_outcome(archive, options), path)


@import_.command("x-paste")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--account", help="The account, '@handle' (default: the paste's profile header).")
@click.option("--source", "source_name", help="The source to import into (default: see README).")
@pass_context
def import_x_paste(ctx: Context, path: Path, account: str | None, source_name: str | None) -> None:
    """Import an X timeline copied from the web page and saved as a text file."""
    from feedbot.sources.social import XOptions
    from feedbot.sources.xpaste import account_of, paste_outcome, read_paste

    timeline = read_paste(path)
    handle = account_of(timeline, account)
    source = _x_source(ctx, "x-paste", handle, source_name)
    _store_import(ctx, source, paste_outcome(timeline, XOptions(account=handle)), path)


def _x_handle(value: str | None, missing: str) -> str:
    from feedbot.sources.social import x_handle

    if not value:
        raise FeedbotError(f"{missing}: give --account @handle")
    try:
        return x_handle(value)
    except ValueError as e:
        raise click.UsageError(str(e)) from None


def _x_source(ctx: Context, kind: str, handle: str, name: str | None) -> SourceSettings:
    """The source an import goes into: the one named ``name``, else the X source of the
    account (either X kind), else a new one named "@handle on X" added to the config."""
    from feedbot.config_file import add_sources

    settings = ctx.settings
    if name:
        named = [s for s in settings.sources if s.name.casefold() == name.casefold()]
        if named and named[0].kind not in X_KINDS:
            raise ConfigError(f"source {named[0].name!r} is a {named[0].kind!r} source, not X's")
        if named and named[0].options["account"].casefold() != handle.casefold():
            raise ConfigError(
                f"source {named[0].name!r} is {named[0].options['account']}'s, not {handle}'s"
            )
        if named:
            return named[0]
    else:
        for source in settings.sources:
            if source.kind in X_KINDS and source.options["account"].casefold() == handle.casefold():
                return source
    source = SourceSettings.model_validate(
        {"name": name or f"{handle} on X", "kind": kind, "account": handle}
    )
    if not add_sources(ctx.config_path, [source]):
        raise ConfigError(
            f"{ctx.config_path}: a source named {source.name!r} or with URL {source.location} "
            "exists already (use --source NAME)"
        )
    ctx.say(f"Added the source {source.name!r} ({kind}) to {ctx.config_path}.")
    ctx._settings = None  # read the config again, with the new source
    return source


def _store_import(ctx: Context, source: SourceSettings, outcome: Any, path: Path) -> None:
    """Store an import's entries into its source, then resolve, research and tag as 'fetch'."""
    app = ctx.app
    [state] = [s for s in app.store.active_sources() if s.name == source.name]
    now = app.clock()
    saved = app.store.save_outcome(state.id, outcome, now, now)
    ctx.say(
        f"Imported {len(outcome.entries)} posts from {path} into {source.name}: "
        f"{saved.new} new, {saved.updated} updated."
    )
    if ctx.settings.links.resolve:
        _report_resolve(ctx, app.resolve())
    else:
        app.store.complete_partial_links()
    _report_research(ctx, app.research())
    app.tag()


# -- the pipeline --------------------------------------------------------------------------


@cli.command()
@pass_context
def fetch(ctx: Context) -> None:
    """Run the pipeline for what is new: ingest every source, resolve links, then tag."""
    with _progress(ctx, len(ctx.app.store.active_sources())) as progress:
        results = ctx.app.ingest(progress)
    _report_ingest(ctx, results)
    if ctx.settings.links.resolve:
        _report_resolve(ctx, ctx.app.resolve())
    _report_research(ctx, ctx.app.research())
    tagged = ctx.app.tag()
    ctx.say(f"Tagged {tagged} new or changed items.")


@cli.command()
@click.argument("urls", nargs=-1)
@click.option("--refresh", is_flag=True, help="Resolve the URLs again even if cached.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per URL.")
@pass_context
def resolve(ctx: Context, urls: tuple[str, ...], refresh: bool, as_json: bool) -> None:
    """Stage: follow shared links to their articles and read them.

    Without URLs, resolves every link not resolved yet (and failures due for a retry). With
    URLs, shows where each leads: the redirect chain, the canonical URL and the title."""
    if not urls:
        _report_resolve(ctx, ctx.app.resolve())
        return
    import json

    bad = [url for url in urls if not url.lower().startswith(("http://", "https://"))]
    if bad:
        raise click.UsageError(f"not an http(s) URL: {bad[0]}")
    found = ctx.app.resolve_urls(list(urls), refresh=refresh)
    for url in urls:
        known = found[url]
        if as_json:
            record = {"url": url, "outcome": known.outcome, "canonical_url": known.link_url,
                      "final_url": known.final_url, "title": known.title, "error": known.error,
                      "chain": [list(hop) for hop in known.chain]}  # fmt: skip
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        click.echo(f"{url}\n  {known.outcome}: {known.link_url}")
        for hop_url, status, via in known.chain:
            click.echo(f"    {status or '---'} {via:<8} {hop_url}")
        if known.title:
            click.echo(f"  title: {known.title}")
        if known.error:
            click.echo(f"  error: {known.error}")


@cli.command()
@pass_context
def ingest(ctx: Context) -> None:
    """Stage: fetch and store every source (no tagging)."""
    with _progress(ctx, len(ctx.app.store.active_sources())) as progress:
        results = ctx.app.ingest(progress)
    _report_ingest(ctx, results)


@cli.command()
@pass_context
def research(ctx: Context) -> None:
    """Stage: find the papers among the links (DOIs, arXiv ids) and look up their citations."""
    _report_research(ctx, ctx.app.research())


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@pass_context
def references(ctx: Context, as_json: bool) -> None:
    """Citation texts found in posts: whether their DOI was recovered, and if not, why."""
    rows = ctx.app.store.references()
    if not rows and not as_json:
        ctx.say("No citation texts found in posts yet.")
    for text, state, doi, note in rows:
        if as_json:
            click.echo(json.dumps({"text": text, "state": state, "doi": doi, "note": note}))
            continue
        click.echo(f"{state}: {text}")
        if note:
            click.echo(f"    {note}")


@cli.group(invoke_without_command=True)
@click.option("--all", "everything", is_flag=True, help="Re-tag every item, not only new ones.")
@click.pass_context
def tag(click_ctx: click.Context, everything: bool) -> None:
    """Stage: assign topics to new or changed items, and to every item tagged under another
    taxonomy, model or set of labels (so after editing [[topics]] or labelling, this is the
    one command to run). Subcommands evaluate and try the tagger."""
    if click_ctx.invoked_subcommand is None:
        ctx = click_ctx.find_object(Context)
        assert ctx is not None
        count = ctx.app.tag(everything)
        ctx.say(f"Tagged {count} items.")


@tag.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of a table.")
@pass_context
def tag_eval(ctx: Context, file: Path, as_json: bool) -> None:
    """Precision, recall and F1 per topic, and macro-F1, on a JSONL file of labelled items
    (lines of {"title", "summary", "url", "topics": [...]})."""
    from feedbot.tagging import evaluate, format_report, load_examples, report_to_json

    report = evaluate(ctx.app.tagger(), load_examples(file))
    if as_json:
        click.echo(json.dumps(report_to_json(report)))
    else:
        click.echo(format_report(report))


@tag.command("text")
@click.argument("title")
@click.option("--summary", default="", help="The item's summary or text.")
@click.option("--url", default="", help="The item's URL (its domain can decide a topic).")
@click.option("--json", "as_json", is_flag=True, help="Topics and evidence as JSON.")
@pass_context
def tag_text(ctx: Context, title: str, summary: str, url: str, as_json: bool) -> None:
    """Tag a text that is not stored, and show why."""
    from feedbot.tagging import ItemText, explain_text

    explanation = ctx.app.tagger().explain(ItemText(title, summary, url))
    if as_json:
        click.echo(json.dumps(_explanation_json(explanation)))
    else:
        click.echo(explain_text(explanation))


@cli.command()
@click.argument("item")
@click.option("--json", "as_json", is_flag=True, help="Topics and evidence as JSON.")
@pass_context
def explain(ctx: Context, item: str, as_json: bool) -> None:
    """Which rules and which model evidence put a stored ITEM (its URL or id) in its topics,
    with scores."""
    from feedbot.tagging import explain_text

    _, text = ctx.app.item_text(item)
    explanation = ctx.app.tagger().explain(text)
    if as_json:
        click.echo(json.dumps(_explanation_json(explanation)))
    else:
        click.echo(text.title)
        click.echo(explain_text(explanation))


@cli.command()
@click.argument("item", required=False)
@click.argument("topic", required=False)
@click.option("--not", "negative", metavar="TOPIC", help="The item is NOT in this topic.")
@click.option(
    "--import",
    "import_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='A JSONL file of verdicts: {"title", "summary", "url", "topic", "not": true|false}.',
)
@pass_context
def label(
    ctx: Context,
    item: str | None,
    topic: str | None,
    negative: str | None,
    import_file: Path | None,
) -> None:
    """Correct the tagger: ITEM (its URL or id) is in TOPIC, or with --not TOPIC is not.
    The tagger learns from every label; affected items are re-tagged at once."""
    if import_file is not None:
        count = ctx.app.import_labels(import_file)
        ctx.say(f"Imported {count} labels; items re-tagged.")
        return
    if item is None or (topic is None) == (negative is None):
        raise click.UsageError("give ITEM and TOPIC, or ITEM --not TOPIC, or --import FILE")
    chosen = topic or negative
    assert chosen is not None
    ctx.app.label(item, chosen, positive=negative is None)
    verdict = "is not in" if negative else "is in"
    ctx.say(f"Labelled: {item} {verdict} {chosen}; items re-tagged.")


def _explanation_json(explanation: Any) -> dict[str, Any]:
    return {
        "topics": [
            {
                "topic": topic.topic_id,
                "assigned": topic.assigned,
                "score": round(topic.score, 4),
                "evidence": [
                    {"kind": e.kind, "detail": e.detail, "weight": round(e.weight, 4)}
                    for e in topic.evidence
                ],
            }
            for topic in explanation.topics
        ],
        "assigned": [topic.topic_id for topic in explanation.assigned],
    }


@cli.command()
@click.option(
    "--full",
    is_flag=True,
    help="Render and write every file, trusting nothing from earlier builds.",
)
@pass_context
def build(ctx: Context, full: bool) -> None:
    """Build the static site and its RSS/Atom/JSON feeds (only what changed is rewritten)."""
    from feedbot.gcsettings import settle_after_start

    app = ctx.app
    settle_after_start()  # a build makes many short-lived objects (see feedbot.gcsettings)
    report = app.build(full=full)
    ctx.say(
        f"Built {report.pages} pages and {report.feeds} feeds ({report.items} items): "
        f"{report.written} files written, {report.unchanged} unchanged, {report.deleted} deleted"
    )
    ctx.say(f"Open {report.out_dir / 'index.html'}")


_DAY = click.DateTime(formats=["%Y-%m-%d"])


@cli.group(invoke_without_command=True)
@click.option("--date", "day", type=_DAY, help="Day (default: today).")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Where to write the .eml file."
)
@click.pass_context
def digest(click_ctx: click.Context, day: Any, out: Path | None) -> None:
    """Without a subcommand: write one day's digest (the items dated that day, every topic,
    multipart HTML + text) to a .eml file. 'send' delivers the daily digest by e-mail."""
    if click_ctx.invoked_subcommand is not None:
        return
    ctx = click_ctx.find_object(Context)
    assert ctx is not None
    chosen: date | None = day.date() if day else None
    app = ctx.app
    chosen = chosen or app.clock().astimezone(app.settings.zone).date()
    out = out or app.settings.base_dir / f"digest-{chosen.isoformat()}.eml"
    message = app.write_digest(chosen, out)
    ctx.say(f"Wrote {message['Subject']!s} to {out}")


@digest.command("send")
@click.option("--date", "day", type=_DAY, help="Digest date (default: today, digest time zone).")
@click.option("--dry-run", is_flag=True, help="Write .eml and .html files instead of sending.")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for --dry-run's files (default: digest-DATE beside the config).",
)
@pass_context
def digest_send(ctx: Context, day: Any, dry_run: bool, out: Path | None) -> None:
    """Send the digest of a day to every list and recipient that has not had it: what is new
    since the previous digest, by topic. Safe to re-run: nothing is sent twice, and a run
    after a failure sends only what is missing."""
    report = ctx.app.send_digest(day.date() if day else None, dry_run=dry_run, out_dir=out)
    zone = ctx.app.settings.digest.zone(ctx.app.settings.timezone)
    span = f"{report.window_start.astimezone(zone):%Y-%m-%d %H:%M} to " \
           f"{report.window_end.astimezone(zone):%Y-%m-%d %H:%M}"  # fmt: skip
    for delivery in report.deliveries:
        where = f" -> {delivery.path}" if delivery.path else ""
        note = f": {delivery.error}" if delivery.error else ""
        ctx.say(f"  {delivery.list_name} {delivery.recipient}: {delivery.state}"
                f" ({delivery.items} items){where}{note}")  # fmt: skip
    counts = ", ".join(
        f"{report.count(state)} {state.replace('_', ' ')}"
        for state in ("written", "sent", "already_sent", "skipped", "busy", "failed")
        if report.count(state)
    )
    ctx.say(f"Digest of {report.day} (new from {span}): {counts or 'no recipients'}.")
    if report.failed:
        first = "; ".join(f"{d.recipient}: {d.error}" for d in report.failed[:3])
        raise PublishError(
            f"digest of {report.day}: {len(report.failed)} of {len(report.deliveries)} "
            f"deliveries failed ({first}); run it again to send them"
        )


@digest.command("status")
@click.option("--date", "day", type=_DAY, help="Only this digest date.")
@pass_context
def digest_status(ctx: Context, day: Any) -> None:
    """Every recorded delivery, newest date first: list, recipient, state, attempts, error."""
    deliveries = ctx.app.store.digest_deliveries(day.date() if day else None)
    if not deliveries:
        ctx.say("No digest sent yet.")
    for d in deliveries:
        when = f" {d.sent_at:%Y-%m-%d %H:%M} UTC" if d.sent_at else ""
        tries = f", {d.attempts} attempt{'s' if d.attempts != 1 else ''}" if d.attempts else ""
        note = f": {d.error}" if d.error and d.state != "sent" else ""
        click.echo(f"{d.day} {d.list_name} {d.recipient}: {d.state}{when}"
                   f" ({d.item_count} items{tries}){note}")  # fmt: skip


@cli.command()
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout)."
)
@pass_context
def export(ctx: Context, fmt: str, out: Path | None) -> None:
    """Export every item with its fields as JSON lines or CSV."""
    from feedbot.export import to_csv, to_jsonl

    items = ctx.app.items()
    text = to_jsonl(items) if fmt == "jsonl" else to_csv(items)
    _write_output(out, text.encode("utf-8"))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per source, per line.")
@pass_context
def status(ctx: Context, as_json: bool) -> None:
    """Per source: state, entries, last success and error, failures in a row, next due."""
    from feedbot.status import status_json, status_lines

    rows = ctx.app.store.status(ctx.app.clock())
    if as_json:
        for row in rows:
            click.echo(json.dumps(status_json(row), ensure_ascii=False))
        return
    if not rows:
        ctx.say("No sources yet.")
    for row in rows:
        for line in status_lines(row, ctx.app.clock()):
            click.echo(line)


log_format_option = click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines on stderr as text or as JSON objects.",
)


@cli.command()
@log_format_option
@pass_context
def run(ctx: Context, log_format: str) -> None:
    """Run the daemon: fetch each source when it is due, then resolve, research and tag;
    rebuild the site (debounced); send the digest at digest.send_at. One per database;
    SIGTERM or Ctrl-C stops it cleanly."""
    _serve(ctx, "run", log_format, until_idle=False)


@cli.command()
@log_format_option
@click.option("--until-idle", is_flag=True, help="Exit once no source is due.")
@pass_context
def worker(ctx: Context, log_format: str, until_idle: bool) -> None:
    """Share the fetching with 'feedbot run' and other workers, on this or other machines:
    claim due sources, fetch them, store the results. SIGTERM or Ctrl-C stops it cleanly."""
    _serve(ctx, "worker", log_format, until_idle=until_idle)


def _serve(ctx: Context, role: str, log_format: str, until_idle: bool) -> None:
    import asyncio
    import functools

    from feedbot.gcsettings import settle_after_start
    from feedbot.hostslots import (
        HostSlots,
        slot_count,
        slots_folder,
        take_if_free,
        wait_for_slot,
    )
    from feedbot.logs import configure
    from feedbot.reload import ConfigWatch, restart, watch
    from feedbot.runner import Runner
    from feedbot.scheduler import serve

    level = logging.ERROR if ctx.quiet else logging.DEBUG if ctx.verbose > 1 else logging.INFO
    configure("json" if log_format == "json" else "text", level)
    schedule = ctx.settings.schedule
    runner = Runner(ctx.app, "run" if role == "run" else "worker")
    database_url = ctx.settings.resolved_database_url()
    count = slot_count(schedule.workers_per_host)
    slots = None if count is None else HostSlots(slots_folder(database_url), count)
    admit = None
    if slots is not None and role == "worker":
        admit = functools.partial(wait_for_slot, slots, runner.owner)
    elif slots is not None:  # `feedbot run` is counted when a slot is free, but never waits
        take_if_free(slots, runner.owner)
    settle_after_start()  # a daemon: a cheaper garbage collector (see feedbot.gcsettings)
    config = ConfigWatch(ctx.config_path, ctx.settings, load_settings)

    async def main() -> tuple[bool, bool]:
        stop, reload = asyncio.Event(), asyncio.Event()
        watching = asyncio.create_task(watch(config, stop, reload))
        try:
            healthy = await serve(
                runner,
                tick_seconds=schedule.tick_seconds,
                heartbeat_seconds=max(schedule.lease_seconds / 3, 0.5),
                until_idle=until_idle,
                stop=stop,
                admit=admit,
            )
        finally:
            watching.cancel()
            await asyncio.gather(watching, return_exceptions=True)
        return healthy, reload.is_set()

    try:
        healthy, reload = asyncio.run(main())
    finally:
        if slots is not None:
            slots.release()
    if reload:
        ctx.app.close()
        restart()
    if not healthy:
        raise FeedbotError("another 'feedbot run' took over this database's lock; stopped")


@cli.command()
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo"),
    show_default=True,
    help="Folder for the demo's files.",
)
@pass_context
def demo(ctx: Context, directory: Path) -> None:
    """Run everything on bundled example sources served by a local server (no internet)."""
    from feedbot.demo import run_demo

    with _progress(ctx, 4) as progress:
        report = run_demo(directory, progress)
    _report_ingest(ctx, list(report.results))
    ctx.say(f"\n{report.items} items. Open these:")
    ctx.say(f"  site:   {report.site / 'index.html'}")
    ctx.say(f"  feeds:  {report.site / 'feed.xml'}, atom.xml, feed.json, topics/*.xml")
    if report.digest:
        ctx.say(f"  digest: {report.digest}")
    ctx.say(f"  config: {report.config} (try: feedbot --config {report.config} status)")


# -- helpers -------------------------------------------------------------------------------


@contextmanager
def _progress(ctx: Context, total: int) -> Iterator[Callable[[Any], None]]:
    if ctx.quiet or not sys.stderr.isatty() or total < 2:

        def note(result: Any) -> None:
            log.info("%s: %s", result.name, result.error or result.status)

        yield note
        return
    with click.progressbar(length=total, label="Fetching", file=sys.stderr) as bar:
        yield lambda result: bar.update(1)


def _report_ingest(ctx: Context, results: list[Any]) -> None:
    new = sum(r.new for r in results)
    updated = sum(r.updated for r in results)
    failed = [r for r in results if r.status == "error"]
    unchanged = sum(1 for r in results if r.status == "not_modified")
    ctx.say(
        f"Fetched {len(results)} sources: {new} new entries, {updated} updated, "
        f"{unchanged} unchanged, {len(failed)} failed."
    )
    for result in failed:
        click.echo(f"  failed: {result.name}: {result.error}", err=True)
    if ctx.verbose:
        for result in results:
            for warning in result.warnings:
                click.echo(f"  warning: {result.name}: {warning}", err=True)


def _report_resolve(ctx: Context, report: Any) -> None:
    ctx.say(f"Resolved {report.resolved} links ({report.failed} failed, retried later).")
    if report.completed_partials:
        ctx.say(f"Completed {report.completed_partials} truncated links.")


def _report_research(ctx: Context, report: Any) -> None:
    if report.papers or report.cited or report.failed:
        ctx.say(
            f"Papers: {report.papers} found, {report.cited} citations looked up, "
            f"{report.failed} lookups failed or found nothing."
        )
    if report.recovered or report.unresolved:
        ctx.say(
            f"References: {report.recovered} DOIs recovered from citation text, "
            f"{report.unresolved} left unresolved (see 'feedbot references')."
        )


def _write_output(out: Path | None, data: bytes) -> None:
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        out.write_bytes(data)
    except OSError as e:
        raise FeedbotError(f"cannot write {out}: {e.strerror or e}") from e


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def main(argv: list[str] | None = None) -> NoReturn:
    try:
        cli.main(args=argv, prog_name="feedbot", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except ConfigError as e:
        click.echo(f"feedbot: config error: {_one_line(e)}", err=True)
        sys.exit(2)
    except FeedbotError as e:
        click.echo(f"feedbot: error: {_one_line(e)}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except SQLAlchemyError as e:
        click.echo(f"feedbot: database error: {_one_line(Exception(db_error(e)))}", err=True)
        _traceback_if_debugging()
        sys.exit(1)
    except Exception as e:  # a bug: still one line, the traceback only with -vv
        click.echo(f"feedbot: internal error: {type(e).__name__}: {_one_line(e)}", err=True)
        _traceback_if_debugging()
        sys.exit(70)
    sys.exit(0)


def _traceback_if_debugging() -> None:
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        import traceback

        traceback.print_exc()
    else:
        click.echo("(run with -vv to see the traceback)", err=True)
