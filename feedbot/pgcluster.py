"""A throwaway PostgreSQL cluster for the tests and the benchmarks (``bench/scale.py``): made with
``initdb`` in a temporary folder, listening on 127.0.0.1, trust authentication, fsync off. Needs
the PostgreSQL server binaries (Debian's ``postgresql`` package; ``scripts/test.sh`` installs
them) and ``psycopg`` (the ``postgres`` extra)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class PostgresMissing(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def pg_bin(name: str) -> str:
    """The path of a PostgreSQL server program (on PATH, else the newest Debian version's)."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True):
        return str(candidate)
    raise PostgresMissing(f"PostgreSQL's {name} is not installed")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """A throwaway cluster made with initdb, on 127.0.0.1, trust auth, fsync off."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            self._as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(root, "postgres")
        self._counter = 0

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as_user, *args], check=True, capture_output=True, timeout=120)

    def start(self, *settings: str) -> None:
        """initdb and start the server; ``settings`` are more ``-c name=value`` options."""
        self._run(pg_bin("initdb"), "-D", str(self.data), "-U", "feedbot", "--auth=trust",
                  "-E", "UTF8", "--locale=C")  # fmt: skip
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off " \
                  "-c synchronous_commit=off -c full_page_writes=off"  # fmt: skip
        options += "".join(f" -c {setting}" for setting in settings)
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "log"), "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def new_database(self) -> str:
        """Create a new, empty database; its SQLAlchemy URL."""
        import psycopg

        self._counter += 1
        name = f"feedbot_test_{self._counter}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=feedbot dbname=postgres",
                             autocommit=True) as conn:  # fmt: skip
            conn.execute(f"CREATE DATABASE {name}")
        return f"postgresql+psycopg://feedbot@127.0.0.1:{self.port}/{name}"


@contextmanager
def throwaway_cluster(*settings: str) -> Iterator[PostgresCluster]:
    """A started cluster, stopped and deleted on exit. Not under a private temporary folder:
    the server runs as ``postgres`` when we are root."""
    root = Path(tempfile.mkdtemp(prefix="feedbot-pg-"))
    cluster = PostgresCluster(root)
    try:
        cluster.start(*settings)
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
