"""Opening the database and bringing its schema up to date (Alembic, ``migrations/``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from feedbot.errors import StoreError
from feedbot.resources import resource_dir

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# The newest migration in migrations/versions. Checked against Alembic's own answer by a test;
# knowing it here lets every start confirm the schema with one query instead of loading Alembic.
SCHEMA_HEAD = "0010"


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
            event.listen(engine, "connect", _binary_lists)
    except (ArgumentError, NoSuchModuleError, ImportError) as e:
        raise StoreError(f"database URL {_redact(url)!r} is not usable: {e}") from e
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _binary_lists(dbapi_connection: Any, _record: Any) -> None:
    """psycopg: send Python lists (the array parameters of :mod:`feedbot.bulk`) in binary.
    The text form escapes every element in Python: 60 ms for a thousand posts' HTML, against
    half a millisecond."""
    adapters = getattr(dbapi_connection, "adapters", None)
    if adapters is not None:
        from psycopg.types.array import ListBinaryDumper

        adapters.register_dumper(list, ListBinaryDumper)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str | None:
    """The newest migration, as Alembic reads it from ``migrations/versions``."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    config = AlembicConfig()
    config.set_main_option("script_location", str(resource_dir("migrations")))
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The database's schema revision (None for an empty database)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> None:
    """Apply every pending migration. Idempotent; raises :class:`StoreError` on failure."""
    try:
        if current_revision(engine) == SCHEMA_HEAD:
            return
        from alembic import command

        logging.getLogger("alembic").setLevel(logging.WARNING)
        command.upgrade(alembic_config(engine), "head")
    except OperationalError as e:
        raise StoreError(f"cannot open database {_redact(str(engine.url))}: {db_error(e)}") from e
    except SQLAlchemyError as e:
        raise StoreError(
            f"cannot migrate database {_redact(str(engine.url))}: {db_error(e)}"
        ) from e


def db_error(error: SQLAlchemyError) -> str:
    """The driver's own one-line message, without SQLAlchemy's statement dump and links."""
    original = getattr(error, "orig", None) or error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__
