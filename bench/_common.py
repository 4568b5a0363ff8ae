"""Shared pieces of the benchmarks under ``bench/``.

* :func:`run_child` — run a command in a child process and measure its wall time and its own
  peak RSS (``os.wait4`` → ``ru_maxrss``), with its output captured to files.
* :func:`emit_json` — print the figures as the last line of output, one JSON object.
* :func:`make_feeds` — N realistic, deterministic RSS 2.0 / Atom documents.
* :class:`FeedServer` — serves documents from one or more *separate processes* (so the server
  never shares a GIL with the client being measured), answers conditional GETs with 304,
  gzip-encodes on request, and counts responses by status across its processes.
* :func:`probe_capacity` — the server's raw requests/s, to tell whether it limits a benchmark.
* :class:`LinkServer` — serves a :class:`LinkFarm` (short links redirecting hop by hop to small
  article pages across several loopback hosts) from separate processes, counting requests.
* :func:`peak_rss_mb`, :func:`process_cpu_seconds` — this process's peak RSS, another's CPU time.

Everything here is standard library only (``feedbot.fixture_server`` is imported only when that
backend is chosen).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import gzip
import hashlib
import html
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

# -- child processes -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildRun:
    """What a child process did: exit code, wall time, its own peak RSS, and its output."""

    argv: tuple[str, ...]
    returncode: int
    seconds: float
    peak_rss_mb: float
    stdout: str
    stderr: str

    def check(self, what: str) -> ChildRun:
        """Raise :class:`BenchError` naming ``what`` if the child failed."""
        if self.returncode != 0:
            tail = "\n".join((self.stderr or self.stdout).strip().splitlines()[-15:])
            raise BenchError(f"{what} failed (exit {self.returncode}):\n{tail}")
        return self

    def last_json(self) -> dict[str, Any]:
        """The JSON object on the child's last line of standard output."""
        lines = self.stdout.strip().splitlines()
        if not lines:
            raise BenchError(f"{self.argv[0]}: no output, expected a JSON line")
        value = json.loads(lines[-1])
        if not isinstance(value, dict):
            raise BenchError(f"{self.argv[0]}: last line is not a JSON object")
        return value


class BenchError(Exception):
    """A benchmark could not produce honest figures (a failed child, incomplete work…)."""


def run_child(
    argv: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> ChildRun:
    """Run ``argv`` to completion; return its exit code, wall time (process start included) and
    peak resident set size in MB (``ru_maxrss`` of that one process, from ``os.wait4``).

    The command is started by a tiny launcher process that forks, execs it and waits for it with
    ``os.wait4``. Linux carries the *parent's* high-water RSS into a child's ``ru_maxrss`` across
    fork/vfork + exec, so a command started straight from a benchmark holding 80 MB of feeds
    would report at least 80 MB; started from the launcher (about 10 MB) it reports its own peak.
    Figures near 10 MB are therefore floors, not measurements."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r", suffix=".rusage") as report,
    ):
        process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _LAUNCHER, report.name, *argv],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,  # so a timeout can stop the command with its launcher
        )
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise BenchError(f"{argv[0]}: still running after {timeout:g} s, killed") from None
        fields = report.read().split()
        if process.returncode != 0 or len(fields) != 3:
            raise BenchError(f"could not start {list(argv)} (launcher exit {process.returncode})")
        out.seek(0)
        err.seek(0)
        return ChildRun(
            argv=tuple(argv),
            returncode=int(fields[0]),
            seconds=float(fields[2]),
            peak_rss_mb=_maxrss_mb(int(fields[1])),
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


# Run argv[2:], wait for it, write "exit-code ru_maxrss seconds" to the file argv[1].
_LAUNCHER = """\
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
with open(sys.argv[1], "w") as report:
    report.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss} {seconds!r}")
"""


def _maxrss_mb(maxrss: int) -> float:
    # Linux reports kilobytes, macOS bytes.
    return maxrss / (1024 * 1024) if sys.platform == "darwin" else maxrss / 1024


# -- output ------------------------------------------------------------------------------------


def run_in_workdir(
    name: str, args: argparse.Namespace, run: Callable[[argparse.Namespace, Path], int]
) -> int:
    """A bench's ``main``: ``run(args, workdir)`` in a fresh temporary folder, removed after
    unless ``args.keep``; a :class:`BenchError` is one FAILED line and exit status 1."""
    workdir = Path(tempfile.mkdtemp(prefix=f"feedbot-bench-{name}-"))
    try:
        return run(args, workdir)
    except BenchError as e:
        print(f"bench/{name}.py: FAILED: {e}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def pin_one_cpu() -> int | None:
    """Pin this process to one CPU it may run on (Linux); None where that is not possible."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return None
    return cpu


def one_core_args(
    argv: list[str] | None, description: str, noun: str, default: int, quick: int, runs: int
) -> argparse.Namespace:
    """The options of a one-core benchmark over N generated ``noun``: ``--NOUN N``, ``--quick``,
    ``--runs``, ``--seed``, ``--no-pin`` and ``--check``; ``args.count`` is N."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        f"--{noun}",
        dest="count",
        type=int,
        default=None,
        help=f"number of {noun} (default {default:,}; {quick:,} with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help=f"{quick:,} {noun}, for a smoke test")
    parser.add_argument(
        "--runs",
        type=int,
        default=runs,
        help=f"timed runs; the median is reported (default {runs})",
    )
    parser.add_argument("--seed", type=int, default=1, help=f"seed of the generated {noun}")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when the target is missed (for CI)"
    )
    args = parser.parse_args(argv)
    if args.count is None:
        args.count = quick if args.quick else default
    if args.count < 1 or args.runs < 1:
        parser.error(f"--{noun} and --runs must be positive")
    return args


def emit_json(figures: Mapping[str, Any]) -> None:
    """Print ``figures`` as one JSON object on one line: a benchmark's last line of output."""
    sys.stdout.flush()
    print(json.dumps(dict(figures), separators=(", ", ": ")), flush=True)


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def ratio(ours: float | None, theirs: float | None) -> float | None:
    if ours is None or not theirs:
        return None
    return ours / theirs


# -- generated feeds ---------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


WORDS = _words(
    "students teachers school curriculum literacy university classroom assessment tutoring "
    "learning model language models neural network benchmark agents training embeddings "
    "court ruling judge lawsuit regulation copyright statute appeals privacy contract "
    "the a of to in for on with at by from about into over after before between during "
    "new report study data policy city council budget research team project market year "
    "week update release plan analysis review open public local national global early late "
    "improves shows finds raises cuts delays expands launches announces explains questions "
    "system platform community program funding network service design method approach tool "
    "science health climate energy water housing transit election vote campaign economy"
)
_FIRST = _words("Ada Grace Alan Linus Barbara Ken Margaret Dennis Frances Edsger Radia Tim")
_LAST = _words("Lovelace Hopper Turing Torvalds Liskov Thompson Hamilton Ritchie Allen Dijkstra")
_CATEGORIES = _words("Education AI Law Policy Science Technology Local Opinion Research News")
FEED_EPOCH = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Document:
    """One document the server serves."""

    path: str
    body: bytes
    content_type: str
    modified: float  # Last-Modified, as a POSIX timestamp
    entries: int = 0


def make_feeds(count: int, entries_per_feed: int = 50, seed: int = 1) -> list[Document]:
    """``count`` deterministic feeds of ``entries_per_feed`` entries each: mostly RSS 2.0 (HTML
    descriptions escaped or in CDATA, some with content:encoded, dc:creator, categories), every
    tenth one Atom. About one item in twenty links to a story many feeds share (with tracking
    parameters on some), as aggregated feeds do. Every entry has a distinct id within its feed."""
    rng = random.Random(seed)
    return [_make_feed(i, entries_per_feed, rng) for i in range(count)]


def _make_feed(index: int, entries: int, rng: random.Random) -> Document:
    atom = index % 10 == 9
    host = f"blog{index}.example.org"
    flavour = index % 4  # 0: escaped, 1: CDATA, 2: CDATA + content:encoded, 3: escaped + creator
    items: list[str] = []
    for j in range(entries):
        when = FEED_EPOCH - timedelta(hours=j * 7 + index % 13, minutes=index % 60)
        title = _sentence(rng, 5, 11).rstrip(".")
        if rng.random() < 0.05:
            story = rng.randrange(300)
            link = f"https://news.example.com/story/{story}"
            if rng.random() < 0.5:
                link += f"?utm_source=blog{index}&utm_medium=rss"
            permalink = False
        else:
            link = f"https://{host}/{when:%Y/%m}/{_slug(title)}-{j}"
            permalink = index % 2 == 0
        description = _description(rng, link)
        author = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        categories = rng.sample(_CATEGORIES, rng.randint(1, 3))
        if atom:
            items.append(_atom_entry(index, j, title, link, description, author, categories, when))
        else:
            items.append(
                _rss_item(
                    index,
                    j,
                    flavour,
                    permalink,
                    title,
                    link,
                    description,
                    author,
                    categories,
                    when,
                    rng,
                )
            )
    modified = (FEED_EPOCH - timedelta(minutes=index)).timestamp()
    if atom:
        body = _atom_feed(index, host, items, modified)
        content_type = "application/atom+xml; charset=utf-8"
    else:
        body = _rss_feed(index, host, items, modified)
        content_type = "application/rss+xml; charset=utf-8"
    path = f"/feeds/{index}.{'atom' if atom else 'xml'}"
    return Document(path, body.encode("utf-8"), content_type, modified, entries)


def _sentence(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(words).capitalize() + "."


def _slug(title: str) -> str:
    return "-".join(title.lower().split()[:6])


def _description(rng: random.Random, link: str) -> str:
    """A few hundred bytes of typical feed HTML."""
    first = _sentence(rng, 12, 24)
    words = first.split()
    at = rng.randrange(1, len(words))
    words[at] = f'<a href="{link}">{words[at]}</a>'
    parts = [f"<p>{' '.join(words)} {_sentence(rng, 8, 16)}</p>"]
    if rng.random() < 0.5:
        parts.append(f"<p><em>{_sentence(rng, 4, 8)}</em> {_sentence(rng, 10, 20)}</p>")
    if rng.random() < 0.25:
        parts.append(
            f'<p><img src="https://cdn.example.net/img/{rng.randrange(10**6)}.jpg" '
            f'alt="{_sentence(rng, 2, 4)}" width="640" height="360"></p>'
        )
    if rng.random() < 0.2:
        parts.append(f"<ul><li>{_sentence(rng, 3, 6)}</li><li>{_sentence(rng, 3, 6)}</li></ul>")
    return "".join(parts)


def _rss_item(
    index: int,
    j: int,
    flavour: int,
    permalink: bool,
    title: str,
    link: str,
    description: str,
    author: str,
    categories: list[str],
    when: datetime,
    rng: random.Random,
) -> str:
    if flavour in (1, 2):
        desc = f"<![CDATA[{description}]]>"
    else:
        desc = html.escape(description, quote=False)
    guid = (
        f'<guid isPermaLink="true">{html.escape(link)}</guid>'
        if permalink
        else f'<guid isPermaLink="false">urn:example:blog{index}:post:{j}</guid>'
    )
    extra = "".join(f"<category>{c}</category>" for c in categories)
    if flavour == 2:
        body = description + f"<p>{_sentence(rng, 20, 40)}</p><p>{_sentence(rng, 20, 40)}</p>"
        extra += f"<content:encoded><![CDATA[{body}]]></content:encoded>"
    if flavour == 3:
        extra += f"<dc:creator>{author}</dc:creator>"
    return (
        f"<item><title>{html.escape(title)}</title><link>{html.escape(link)}</link>{guid}"
        f"<pubDate>{format_datetime(when)}</pubDate><description>{desc}</description>{extra}"
        "</item>\n"
    )


def _rss_feed(index: int, host: str, items: list[str], modified: float) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n'
        f"<channel><title>Example blog {index}</title><link>https://{host}/</link>"
        f'<atom:link href="https://{host}/feed.xml" rel="self" type="application/rss+xml"/>'
        f"<description>Posts from example blog number {index}</description>"
        f"<language>en-us</language><lastBuildDate>{formatdate(modified, usegmt=True)}"
        "</lastBuildDate><generator>bench</generator>\n" + "".join(items) + "</channel></rss>\n"
    )


def _atom_entry(
    index: int,
    j: int,
    title: str,
    link: str,
    description: str,
    author: str,
    categories: list[str],
    when: datetime,
) -> str:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    terms = "".join(f'<category term="{c}"/>' for c in categories)
    return (
        f'<entry><title type="html">{html.escape(title)}</title>'
        f'<link rel="alternate" type="text/html" href="{html.escape(link)}"/>'
        f"<id>tag:blog{index}.example.org,2026:post-{j}</id>"
        f"<published>{stamp}</published><updated>{stamp}</updated>"
        f"<author><name>{author}</name></author>{terms}"
        f'<summary type="html">{html.escape(description)}</summary></entry>\n'
    )


def _atom_feed(index: int, host: str, entries: list[str], modified: float) -> str:
    updated = datetime.fromtimestamp(modified, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>Example journal {index}</title>"
        f'<link rel="alternate" href="https://{host}/"/>'
        f'<link rel="self" href="https://{host}/atom.xml"/>'
        f"<id>tag:{host},2026:feed</id><updated>{updated}</updated>\n"
        + "".join(entries)
        + "</feed>\n"
    )


# -- the feed server ---------------------------------------------------------------------------

Backend = Literal["fast", "fixture"]
_STATUSES = (200, 304, 404)  # counted per process; anything else is counted as "other"
_SLOTS = len(_STATUSES) + 1


class _ServerProcesses:
    """What the benchmark servers share: child processes stopped on exit."""

    _children: list[Any]

    def stop(self) -> None:
        for child in self._children:
            if child.is_alive():
                child.terminate()
        for child in self._children:
            child.join(timeout=10)
        self._children.clear()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class FeedServer(_ServerProcesses):
    """Serve ``documents`` on 127.0.0.1 from ``processes`` child processes sharing one port
    (``SO_REUSEPORT``; the kernel spreads connections across them).

    Backends: ``"fast"`` is a lean asyncio HTTP/1.1 server with every response (200 identity,
    200 gzip, 304) prepared up front; ``"fixture"`` runs ``feedbot.fixture_server.FixtureServer``
    (a ``ThreadingHTTPServer`` that gzips per request) in each process instead. Both answer
    ``If-None-Match`` / ``If-Modified-Since`` with 304 and keep connections alive.

    The fixture backend is for comparison only: its handler writes a 200's headers and body in
    two sends with Nagle's algorithm on, so on a keep-alive connection every body waits for the
    client's delayed ACK (~40 ms): about 23 responses/s per connection, whatever the client.

    ``with FeedServer(docs) as server: server.url(doc.path); server.counts()``
    """

    def __init__(
        self,
        documents: Sequence[Document],
        processes: int = 1,
        backend: Backend = "fast",
    ) -> None:
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self.documents = list(documents)
        self.processes = processes
        self.backend = backend
        self.port = 0
        self._context = multiprocessing.get_context("fork")
        self._counters: Any = None  # a shared ctypes array of int64
        self._children: list[Any] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> FeedServer:
        # Hold the port (bound, not listening) until every child listens on it too.
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        self.port = holder.getsockname()[1]
        self._counters = self._context.Array("q", self.processes * _SLOTS, lock=False)
        ready = self._context.Queue()
        target = _serve_fast if self.backend == "fast" else _serve_fixture
        try:
            for slot in range(self.processes):
                child = self._context.Process(
                    target=target,
                    args=(self.documents, self.port, self._counters, slot, ready),
                    name=f"feed-server-{slot}",
                    daemon=True,
                )
                child.start()
                self._children.append(child)
            for _ in range(self.processes):
                message = ready.get(timeout=120)
                if message != "ready":
                    raise BenchError(f"feed server failed to start: {message}")
        except BaseException:
            self.stop()
            raise
        finally:
            holder.close()
        return self

    def __enter__(self) -> FeedServer:
        return self.start()

    def counts(self) -> dict[str, int]:
        """Responses sent so far, by status: ``{"200": …, "304": …, "404": …, "other": …}``."""
        keys = [str(status) for status in _STATUSES] + ["other"]
        totals = dict.fromkeys(keys, 0)
        if self._counters is not None:
            for slot in range(self.processes):
                for k, key in enumerate(keys):
                    totals[key] += self._counters[slot * _SLOTS + k]
        return totals

    def reset_counts(self) -> None:
        if self._counters is not None:
            for i in range(len(self._counters)):
                self._counters[i] = 0


def _count(counters: Any, slot: int, status: int) -> None:
    k = _STATUSES.index(status) if status in _STATUSES else len(_STATUSES)
    counters[slot * _SLOTS + k] += 1


def _child_setup() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, which stops us
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))


@dataclass(frozen=True)
class _Prepared:
    etag: str
    modified: int
    head_200: bytes
    body: bytes
    head_200_gzip: bytes
    body_gzip: bytes
    head_304: bytes


def _prepare(document: Document) -> _Prepared:
    etag = '"' + hashlib.sha1(document.body).hexdigest()[:20] + '"'
    validators = f"ETag: {etag}\r\nLast-Modified: {formatdate(document.modified, usegmt=True)}\r\n"
    common = f"Server: feedbot-bench/1\r\n{validators}"
    compressed = gzip.compress(document.body, compresslevel=5, mtime=0)

    def head(length: int, encoding: str = "") -> bytes:
        return (
            f"HTTP/1.1 200 OK\r\n{common}Content-Type: {document.content_type}\r\n{encoding}"
            f"Vary: Accept-Encoding\r\nContent-Length: {length}\r\n"
        ).encode("latin-1")

    return _Prepared(
        etag=etag,
        modified=int(document.modified),
        head_200=head(len(document.body)),
        body=document.body,
        head_200_gzip=head(len(compressed), "Content-Encoding: gzip\r\n"),
        body_gzip=compressed,
        head_304=f"HTTP/1.1 304 Not Modified\r\n{common}".encode("latin-1"),
    )


_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"


def _serve_fast(
    documents: Sequence[Document], port: int, counters: Any, slot: int, ready: Any
) -> None:
    _child_setup()
    try:
        prepared = {doc.path: _prepare(doc) for doc in documents}
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(1024)
    except Exception as e:
        ready.put(f"{type(e).__name__}: {e}")
        return
    asyncio.run(_fast_main(sock, prepared, counters, slot, ready))


async def _fast_main(
    sock: socket.socket, prepared: dict[str, _Prepared], counters: Any, slot: int, ready: Any
) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                length = headers.get("content-length", "0")
                if length.isdigit() and int(length):
                    await reader.readexactly(int(length))
                connection = headers.get("connection", "").lower()
                close = connection == "close" or (
                    version == "HTTP/1.0" and connection != "keep-alive"
                )
                tail = b"Connection: close\r\n\r\n" if close else b"\r\n"
                route = prepared.get(target.split("?", 1)[0])
                if route is None:
                    status, parts = 404, [_NOT_FOUND, tail, b"not found\n"]
                elif _not_modified(route, headers):
                    status, parts = 304, [route.head_304, tail]
                elif "gzip" in headers.get("accept-encoding", ""):
                    status, parts = 200, [route.head_200_gzip, tail, route.body_gzip]
                else:
                    status, parts = 200, [route.head_200, tail, route.body]
                if method == "HEAD":
                    parts = parts[:2]
                writer.writelines(parts)
                _count(counters, slot, status)
                await writer.drain()
                if close:
                    return
        except (ConnectionError, ValueError):
            return
        finally:
            writer.close()

    server = await asyncio.start_server(handle, sock=sock, backlog=1024)
    ready.put("ready")
    async with server:
        await server.serve_forever()


def _not_modified(route: _Prepared, headers: Mapping[str, str]) -> bool:
    tags = headers.get("if-none-match")
    if tags is not None:
        return tags.strip() == "*" or route.etag in [t.strip() for t in tags.split(",")]
    since = headers.get("if-modified-since")
    if since:
        try:
            return parsedate_to_datetime(since).timestamp() >= route.modified
        except (TypeError, ValueError):
            return False
    return False


def _serve_fixture(
    documents: Sequence[Document], port: int, counters: Any, slot: int, ready: Any
) -> None:
    _child_setup()
    try:
        from http.server import ThreadingHTTPServer

        from feedbot.fixture_server import FixtureServer, Route

        # Class attributes read by the constructor (which binds and listens): this process only.
        ThreadingHTTPServer.allow_reuse_port = True
        ThreadingHTTPServer.request_queue_size = 1024
        routes = {
            doc.path: Route(body=doc.body, content_type=doc.content_type, modified=doc.modified)
            for doc in documents
        }
        fixture = FixtureServer(routes, port=port)
        handler = fixture._server.RequestHandlerClass
        lock = threading.Lock()

        class Counting(handler):  # type: ignore[misc, valid-type]
            def send_response(self, code: int, message: str | None = None) -> None:
                with lock:
                    _count(counters, slot, code)
                super().send_response(code, message)

        fixture._server.RequestHandlerClass = Counting
    except Exception as e:
        ready.put(f"{type(e).__name__}: {e}")
        return
    ready.put("ready")
    with contextlib.suppress(KeyboardInterrupt):
        fixture._server.serve_forever()


# -- server capacity ---------------------------------------------------------------------------


def probe_capacity(
    server: FeedServer,
    *,
    seconds: float = 3.0,
    clients: int = 2,
    conditional: bool = False,
) -> float:
    """Requests per second ``server`` answers to ``clients`` minimal keep-alive clients (raw
    sockets, one process each, cycling through every document, asking for gzip; with
    ``conditional`` every request carries the document's ETag, so every answer is a 304).

    A ceiling, not an exact figure: the clients share the machine's cores with the server."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    etags = {
        doc.path: '"' + hashlib.sha1(doc.body).hexdigest()[:20] + '"' for doc in server.documents
    }
    paths = [doc.path for doc in server.documents]
    workers = [
        context.Process(
            target=_probe_client,
            args=(server.port, paths[i::clients], etags if conditional else None, seconds, results),
            daemon=True,
        )
        for i in range(clients)
    ]
    if clients > len(paths):
        raise ValueError("more clients than documents")
    for worker in workers:
        worker.start()
    total = sum(results.get(timeout=seconds + 60) for _ in workers)
    for worker in workers:
        worker.join(timeout=10)
    return total / seconds


def _probe_client(
    port: int, paths: list[str], etags: dict[str, str] | None, seconds: float, results: Any
) -> None:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    stream = sock.makefile("rb")
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        path = paths[done % len(paths)]
        condition = f"If-None-Match: {etags[path]}\r\n" if etags else ""
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept-Encoding: gzip\r\n"
            f"{condition}\r\n"
        )
        sock.sendall(request.encode("latin-1"))
        length = 0
        status = stream.readline()
        if not status:
            raise BenchError("server closed the connection")
        while (line := stream.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            stream.read(length)
        done += 1
    sock.close()
    results.put(done)


# -- this process ------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's own peak resident set size so far, in MB (``ru_maxrss``)."""
    import resource

    return _maxrss_mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time used so far by process ``pid`` (from ``/proc``; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3, utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the short-link server ---------------------------------------------------------------------

LINK_COUNTER_KEYS = (
    "connections",
    "HEAD 301",
    "HEAD 302",
    "HEAD 200",
    "GET 200",
    "GET 301",
    "GET 302",
    "404",
    "421",
    "other",
)


@dataclass(frozen=True)
class LinkFarm:
    """The layout of :class:`LinkServer`: ``links`` short links, each 1 to ``max_hops`` redirect
    hops from a small article page.

    * link ``i`` is ``/s/<i>`` on shortener host ``i % S``: a 301 to its next hop;
    * it takes ``hops(i) = 1 + i % max_hops`` redirects; the intermediate ones are
      ``/h/<i>/<k>`` (k = 1 … hops - 1) on shortener host ``(i + k) % S``, each a 302;
    * the article is ``/a/<i>`` on publisher host ``i % P``: about 4 KB of HTML whose ``<head>``
      (first ~600 bytes) has a title, OpenGraph title and description, and a canonical link to
      itself.

    Hosts are distinct loopback addresses (Linux routes all of 127.0.0.0/8 to ``lo``), all on the
    server's one port, so a client's per-host limits apply to each of them separately."""

    links: int
    max_hops: int = 3
    shorteners: tuple[str, ...] = tuple(f"127.0.0.{2 + k}" for k in range(4))
    publishers: tuple[str, ...] = tuple(f"127.0.0.{6 + k}" for k in range(8))
    port: int = 0

    @property
    def hosts(self) -> tuple[str, ...]:
        return self.shorteners + self.publishers

    def hops(self, i: int) -> int:
        """Redirects between short link ``i`` and its article (the short link's own included)."""
        return 1 + i % self.max_hops

    @property
    def total_hops(self) -> int:
        return sum(self.hops(i) for i in range(self.links))

    def short_url(self, i: int) -> str:
        return f"http://{self.shorteners[i % len(self.shorteners)]}:{self.port}/s/{i}"

    def hop_url(self, i: int, k: int) -> str:
        return f"http://{self.shorteners[(i + k) % len(self.shorteners)]}:{self.port}/h/{i}/{k}"

    def article_url(self, i: int) -> str:
        return f"http://{self.publishers[i % len(self.publishers)]}:{self.port}/a/{i}"

    def after(self, i: int, k: int) -> str:
        """Where hop ``k`` of link ``i`` leads (hop 0 being the short link itself)."""
        return self.hop_url(i, k + 1) if k + 1 < self.hops(i) else self.article_url(i)

    def article_html(self, i: int) -> bytes:
        rng = random.Random(i)
        title = html.escape(_sentence(rng, 5, 10).rstrip("."))
        summary = html.escape(_sentence(rng, 15, 30))
        publisher = i % len(self.publishers)
        paragraphs = "".join(f"<p>{_sentence(rng, 40, 70)}</p>\n" for _ in range(6))
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n'
            f"<title>{title} | Publisher {publisher}</title>\n"
            f'<link rel="canonical" href="{self.article_url(i)}">\n'
            f'<meta property="og:title" content="{title}">\n'
            f'<meta property="og:description" content="{summary}">\n'
            '<meta property="og:type" content="article">\n'
            f'<meta name="description" content="{summary}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            '</head>\n<body><header><nav><a href="/">Home</a></nav></header>\n'
            f"<article><h1>{title}</h1>\n{paragraphs}</article></body></html>\n"
        ).encode()

    def reply(self, method: str, target: str, host: str) -> tuple[int, bytes, bytes]:
        """``(status, head without the blank line, body)`` for one request."""
        parts = target.split("?", 1)[0].split("/")
        kind = parts[1] if len(parts) > 1 else ""
        numbers = parts[2:]
        if (
            kind not in {"s", "h", "a"}
            or len(numbers) != (2 if kind == "h" else 1)
            or not all(n.isdigit() for n in numbers)
        ):
            return 404, _NOT_FOUND, b"not found\n"
        i = int(numbers[0])
        k = int(numbers[1]) if kind == "h" else 0
        if not 0 <= i < self.links or (kind == "h" and not 1 <= k < self.hops(i)):
            return 404, _NOT_FOUND, b"not found\n"
        if kind == "a":
            expected = self.article_url(i)
        else:
            expected = self.short_url(i) if kind == "s" else self.hop_url(i, k)
        if host != expected.split("/")[2]:
            return 421, _MISDIRECTED, b"misdirected\n"
        if kind == "a":
            page = self.article_html(i)
            head = (
                "HTTP/1.1 200 OK\r\nServer: feedbot-bench/1\r\n"
                f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(page)}\r\n"
            )
            return 200, head.encode("latin-1"), page
        status, phrase = (301, "Moved Permanently") if kind == "s" else (302, "Found")
        location = self.after(i, k)
        body = f'<a href="{location}">moved</a>\n'.encode()
        head = (
            f"HTTP/1.1 {status} {phrase}\r\nServer: feedbot-bench/1\r\nLocation: {location}\r\n"
            f"Content-Type: text/html\r\nContent-Length: {len(body)}\r\n"
        )
        return status, head.encode("latin-1"), body


_MISDIRECTED = (
    b"HTTP/1.1 421 Misdirected Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"
)


class LinkServer(_ServerProcesses):
    """Serve a :class:`LinkFarm` from ``processes`` child processes sharing one port on each of
    the farm's loopback addresses (``SO_REUSEPORT``); a lean asyncio HTTP/1.1 server with
    keep-alive and ``HEAD``. A request for a path on the wrong host is answered 421.

    Counts connections accepted and responses by method and status (:data:`LINK_COUNTER_KEYS`)
    across its processes. Linux only (other systems route only 127.0.0.1 to loopback).

    ``with LinkServer(LinkFarm(1000)) as server: server.farm.short_url(0); server.counts()``
    """

    def __init__(self, farm: LinkFarm, processes: int = 1) -> None:
        if processes < 1:
            raise ValueError("processes must be at least 1")
        self.farm = farm
        self.processes = processes
        self._context = multiprocessing.get_context("fork")
        self._counters: Any = None
        self._children: list[Any] = []

    def start(self) -> LinkServer:
        holders = _hold_port(self.farm.hosts)
        self.farm = LinkFarm(
            self.farm.links,
            self.farm.max_hops,
            self.farm.shorteners,
            self.farm.publishers,
            port=holders[0].getsockname()[1],
        )
        slots = len(LINK_COUNTER_KEYS)
        self._counters = self._context.Array("q", self.processes * slots, lock=False)
        ready = self._context.Queue()
        try:
            for slot in range(self.processes):
                child = self._context.Process(
                    target=_serve_links,
                    args=(self.farm, self._counters, slot, ready),
                    name=f"link-server-{slot}",
                    daemon=True,
                )
                child.start()
                self._children.append(child)
            for _ in range(self.processes):
                message = ready.get(timeout=120)
                if message != "ready":
                    raise BenchError(f"link server failed to start: {message}")
        except BaseException:
            self.stop()
            raise
        finally:
            for holder in holders:
                holder.close()
        return self

    def __enter__(self) -> LinkServer:
        return self.start()

    def counts(self) -> dict[str, int]:
        """Connections accepted and responses sent so far: ``{"connections": …, "HEAD 301": …}``."""
        totals = dict.fromkeys(LINK_COUNTER_KEYS, 0)
        if self._counters is not None:
            slots = len(LINK_COUNTER_KEYS)
            for slot in range(self.processes):
                for k, key in enumerate(LINK_COUNTER_KEYS):
                    totals[key] += self._counters[slot * slots + k]
        return totals

    def reset_counts(self) -> None:
        if self._counters is not None:
            for i in range(len(self._counters)):
                self._counters[i] = 0

    def cpu_seconds(self) -> float | None:
        """CPU time the server processes have used so far (None where ``/proc`` is missing)."""
        times = [process_cpu_seconds(child.pid) for child in self._children]
        return None if any(t is None for t in times) else sum(t for t in times if t is not None)


def _hold_port(hosts: Sequence[str], attempts: int = 20) -> list[socket.socket]:
    """Sockets bound (not listening, ``SO_REUSEPORT``) to one free port on every address."""
    for _ in range(attempts):
        holders: list[socket.socket] = []
        try:
            for host in hosts:
                holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                holders.append(holder)
                holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                holder.bind((host, holders[0].getsockname()[1] if len(holders) > 1 else 0))
            return holders
        except OSError as e:
            for holder in holders:
                holder.close()
            if e.errno != errno.EADDRINUSE:
                raise BenchError(
                    f"cannot bind {hosts[len(holders) - 1]}: {e} (the link server needs the "
                    "loopback addresses 127.0.0.2 and up, as Linux provides)"
                ) from e
    raise BenchError(f"no port free on all of {', '.join(hosts)}")


def _serve_links(farm: LinkFarm, counters: Any, slot: int, ready: Any) -> None:
    _child_setup()
    socks = []
    try:
        for host in farm.hosts:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, farm.port))
            sock.listen(1024)
            socks.append(sock)
    except Exception as e:
        ready.put(f"{type(e).__name__}: {e}")
        return
    asyncio.run(_links_main(socks, farm, counters, slot, ready))


async def _links_main(
    socks: list[socket.socket], farm: LinkFarm, counters: Any, slot: int, ready: Any
) -> None:
    base = slot * len(LINK_COUNTER_KEYS)
    index = {key: base + k for k, key in enumerate(LINK_COUNTER_KEYS)}

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counters[index["connections"]] += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ", 2)
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                length = headers.get("content-length", "0")
                if length.isdigit() and int(length):
                    await reader.readexactly(int(length))
                connection = headers.get("connection", "").lower()
                close = connection == "close" or (
                    version == "HTTP/1.0" and connection != "keep-alive"
                )
                status, response_head, body = farm.reply(method, target, headers.get("host", ""))
                key = f"{method} {status}"
                if key not in index:
                    key = str(status) if str(status) in index else "other"
                counters[index[key]] += 1  # before sending: counted once the client has it
                tail = b"Connection: close\r\n\r\n" if close else b"\r\n"
                writer.writelines([response_head, tail] if method == "HEAD" else
                                  [response_head, tail, body])  # fmt: skip
                await writer.drain()
                if close:
                    return
        except (ConnectionError, ValueError):
            return
        finally:
            writer.close()

    servers = [await asyncio.start_server(handle, sock=sock, backlog=1024) for sock in socks]
    ready.put("ready")
    await asyncio.gather(*(server.serve_forever() for server in servers))
