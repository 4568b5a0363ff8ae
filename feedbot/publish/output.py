"""Writing a build into the output folder: incrementally, and never half a file.

The folder holds a manifest (``.feedbot-manifest``, JSON): for every file feedbot wrote, the
fingerprint of what it was made from and the digest of its bytes, as one string
(``"<fingerprint> <digest>"``: a build reads and writes 15,000 of them, and strings are the
cheapest to parse). A build then

1. **stages**: every file whose fingerprint changed is rendered and written into a staging
   folder beside the output (same file system). Files whose fingerprint is unchanged are not
   even rendered. A file rendered to the same bytes as before is not staged. A failure here (a
   template error, a full disk) deletes the staging folder: the site is untouched.
2. **commits**: each staged file is renamed over its old version (``rename`` is atomic: a
   reader sees the old file or the new one, never a mix), files the build no longer produces
   are deleted (only files the manifest lists: feedbot never deletes what it did not write),
   then the new manifest is renamed into place. An old version is first hard-linked into the
   staging folder, so the rename does not wait for the file system to free its blocks (about
   three quarters of a rename's time): a thread deletes each old version as soon as it is
   superseded, beside the renames, then empties the staging folder while the build records
   itself; the build waits for it before it ends.

A crash during the commit (power cut, kill -9) can leave some pages new and others old, each
of them whole; the manifest is still the previous one, so the next build rewrites whatever
differs and completes the site. Files are not fsync'ed: after a power cut the file system may
lose the newest writes, which the next build also repairs (``feedbot build --full`` rewrites
everything). One build at a time: a second one fails at once with a clear error.

The manifest depends only on what was written, so a site built in one go and one built step by
step are byte-for-byte the same tree, manifest included.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import glob
import hashlib
import json
import os
import queue
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from feedbot.errors import PublishError

MANIFEST = ".feedbot-manifest"  # JSON; no .json suffix, so no tool takes it for a feed
MANIFEST_FORMAT = 2  # 1: [fingerprint, digest] lists


@dataclass
class WriteStats:
    """What a build did to the output folder."""

    written: int = 0  # files (re)written
    bytes_written: int = 0
    unchanged: int = 0  # files kept as they were
    rendered: int = 0  # files rendered (written, or found to be the same bytes)
    deleted: int = 0
    written_paths: list[str] = field(default_factory=list)


def read_manifest(out: Path) -> tuple[dict[str, Any] | None, bytes]:
    """The manifest of the folder (None when missing or unreadable) and its bytes."""
    try:
        data = (out / MANIFEST).read_bytes()
        document = json.loads(data)
    except FileNotFoundError:
        return None, b""
    except (OSError, ValueError):
        return None, b""  # unreadable: build as if there were none (every file rewritten)
    if not isinstance(document, dict) or document.get("format") != MANIFEST_FORMAT:
        return None, data
    files = document.get("files")
    if not isinstance(files, dict) or not all(isinstance(e, str) for e in files.values()):
        return None, data
    return document, data


class OutputTree:
    """One build's writes into ``out``; use as a context manager around the build.

    ``full=True`` trusts nothing from earlier builds: every file is rendered and written."""

    def __init__(self, out: Path, fingerprint: str, *, full: bool = False) -> None:
        self.out = out.resolve()
        self.fingerprint = fingerprint
        self.full = full
        self.stats = WriteStats()
        self._entries: dict[str, str] = {}  # path → "<input fingerprint> <digest>"
        self._staged: list[str] = []
        self._lock_fd: int | None = None
        self._staging: Path | None = None
        self._previous: dict[str, str] = {}  # the same, of the files on disk
        self._removed: set[str] = set()
        self._patch = False
        self._existing: set[str] = set()
        self._owned: set[str] = set()
        self._manifest_bytes = b""
        self._cleaner: threading.Thread | None = None
        # Known once open: the folder's manifest is there, readable, from the same setup, and
        # this is no full build; so what it says of each file may be trusted.
        self.trusted = False
        # Every file the manifest lists is on disk.
        self.intact = False

    # -- the build's side ----------------------------------------------------------------------

    def __enter__(self) -> OutputTree:
        out = self.out
        try:
            if out.exists() and not out.is_dir():
                raise PublishError(f"output path {out} exists and is not a folder")
            out.mkdir(parents=True, exist_ok=True)
            self._lock()
            prefix = f".{out.name}.building-"
            for stale in out.parent.glob(f"{glob.escape(prefix)}*"):  # of a build killed mid-way
                shutil.rmtree(stale, ignore_errors=True)
            self._staging = Path(tempfile.mkdtemp(prefix=prefix, dir=out.parent))
        except OSError as e:
            self._unlock()
            raise PublishError(f"cannot prepare the output folder {out}: {e.strerror or e}") from e
        manifest = self._read_manifest()
        self._existing = self._files_on_disk()
        self.trusted = (
            manifest is not None
            and not self.full
            and manifest.get("fingerprint") == self.fingerprint
        )
        files: dict[str, str] = manifest["files"] if manifest is not None else {}
        self._owned = set(files)
        self.intact = manifest is not None and self._owned <= self._existing
        if manifest is not None and not self.full:
            if self.trusted and self.intact:
                self._previous = files  # every file there, as the manifest says
            else:
                # Under other templates or settings no page is known to be up to date, but its
                # digest still spares rewriting the same bytes.
                keep = self.trusted
                self._previous = {
                    path: entry if keep else " " + entry.partition(" ")[2]
                    for path, entry in files.items() if path in self._existing
                }  # fmt: skip
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        try:
            if self._cleaner is not None:
                self._cleaner.join()
            elif self._staging is not None:
                shutil.rmtree(self._staging, ignore_errors=True)
        finally:
            self._unlock()

    def up_to_date(self, path: str, fingerprint: str) -> bool:
        """True (and the file is kept) when the file was made from exactly this before."""
        previous = self._previous.get(path)
        if previous is None or previous.partition(" ")[0] != fingerprint:
            return False
        self._entries[path] = previous
        self.stats.unchanged += 1
        return True

    def keep_the_rest(self) -> None:
        """Make this build a patch: every file of the previous build that the build neither
        makes again nor removes stays as it is (the caller knows it is unchanged).
        Only for a :attr:`trusted` and :attr:`intact` folder."""
        assert self.trusted and self.intact, "a patch needs the previous build's files"
        self._patch = True

    def remove(self, path: str) -> None:
        """This build no longer makes ``path`` (a patch build: see :meth:`keep_the_rest`)."""
        self._removed.add(path)

    def put(self, path: str, fingerprint: str, data: bytes) -> None:
        """Record ``data`` as the file at ``path``, staging it unless it is already on disk."""
        if path in self._entries:
            raise PublishError(f"two outputs of the build are both {path}")
        digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()  # 2× BLAKE2's speed
        self._entries[path] = f"{fingerprint} {digest}"
        self.stats.rendered += 1
        previous = self._previous.get(path)
        if previous is not None and previous.partition(" ")[2] == digest:
            self.stats.unchanged += 1
            return
        assert self._staging is not None, "OutputTree used outside its with block"
        target = self._staging / path
        try:
            try:
                target.write_bytes(data)
            except FileNotFoundError:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        except OSError as e:
            raise PublishError(f"cannot write the site to {self.out}: {e.strerror or e}") from e
        self._staged.append(path)
        self.stats.written += 1
        self.stats.bytes_written += len(data)

    def commit(self) -> WriteStats:
        """Move the staged files into place, delete what is gone, write the manifest."""
        assert self._staging is not None
        out, staging = self.out, self._staging
        made: set[Path] = set()
        superseded = staging / ".superseded"
        # The old versions are deleted (their blocks freed) by a thread as they are superseded,
        # beside the renames; it then empties the staging folder, while the build records itself.
        doomed: queue.SimpleQueue[Path | None] = queue.SimpleQueue()
        self._cleaner = threading.Thread(
            target=_clean, args=(staging, doomed), name="feedbot-output-cleaner"
        )
        self._cleaner.start()
        try:
            superseded.mkdir()
            for number, path in enumerate(self._staged):
                target = out / path
                parent = target.parent
                if parent not in made:
                    parent.mkdir(parents=True, exist_ok=True)
                    made.add(parent)
                old = None
                if path in self._previous:
                    # Gone already, or no hard links on this file system: renamed over instead.
                    with contextlib.suppress(OSError):
                        os.link(target, old := superseded / str(number))
                os.replace(staging / path, target)
                if old is not None:
                    doomed.put(old)
            if self._patch:  # the previous files stay, but those made again or removed
                kept = self._previous.keys() - self._entries.keys() - self._removed
                self._entries.update((path, self._previous[path]) for path in kept)
                self.stats.unchanged += len(kept)
            gone = sorted(self._owned - self._entries.keys())  # the previous files are owned
            for path in gone:
                with contextlib.suppress(FileNotFoundError):
                    (out / path).unlink()
                    self.stats.deleted += 1
                _remove_empty_parents(out / path, out)
            self._write_manifest(superseded)
        except OSError as e:
            raise PublishError(
                f"cannot write the site to {out}: {e.strerror or e} "
                "(some pages may be new and others old; the next build completes it)"
            ) from e
        finally:
            doomed.put(None)  # then the staging folder goes
        self.stats.written_paths = list(self._staged)
        return self.stats

    # -- the folder --------------------------------------------------------------------------

    def _lock(self) -> None:
        self._lock_fd = os.open(self.out, os.O_RDONLY)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            self._unlock()
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise PublishError(
                    f"another feedbot build is writing {self.out}; try again when it is done"
                ) from e
            raise

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the lock
            self._lock_fd = None

    def _read_manifest(self) -> dict[str, Any] | None:
        document, self._manifest_bytes = read_manifest(self.out)
        return document

    def _files_on_disk(self) -> set[str]:
        found = set()
        root = str(self.out)
        for folder, _dirs, names in os.walk(root):
            relative = os.path.relpath(folder, root)
            prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
            for name in names:
                found.add(prefix + name)
        return found

    def _write_manifest(self, superseded: Path) -> None:
        document = {
            "format": MANIFEST_FORMAT,
            "fingerprint": self.fingerprint,
            "files": {path: self._entries[path] for path in sorted(self._entries)},
        }
        data = json.dumps(document, separators=(",", ":")).encode("utf-8") + b"\n"
        if data == self._manifest_bytes:
            return  # nothing changed: the folder stays exactly as it was
        temporary = self.out / f"{MANIFEST}.tmp"
        temporary.write_bytes(data)
        if self._manifest_bytes:  # the old one's blocks are freed later, as a page's are
            with contextlib.suppress(OSError):
                os.link(self.out / MANIFEST, superseded / MANIFEST)
        os.replace(temporary, self.out / MANIFEST)


def _clean(staging: Path, doomed: queue.SimpleQueue[Path | None]) -> None:
    """Delete each path put in ``doomed`` until None comes, then the whole ``staging``."""
    while (path := doomed.get()) is not None:
        with contextlib.suppress(OSError):
            path.unlink()
    shutil.rmtree(staging, ignore_errors=True)


def _remove_empty_parents(path: Path, stop: Path) -> None:
    folder = path.parent
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
