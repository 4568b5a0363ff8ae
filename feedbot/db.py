"""Opening the database and bringing its schema up to date (Alembic, ``migrations/``)."""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from feedbot.errors import StoreError
from feedbot.resources import resource_dir

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# The newest migration in migrations/versions. Checked against Alembic's own answer by a test;
# knowing it here lets every start confirm the schema with one query instead of loading Alembic.
SCHEMA_HEAD = "0013"


def make_engine(url: str) -> Engine:
    """Create an engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout. JSON
    values are written without NUL characters (see :func:`without_nul`)."""
    try:
        if url.startswith("sqlite"):
            engine = create_engine(
                url, connect_args={"timeout": 30}, json_serializer=_json_without_nul
            )
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True, json_serializer=_json_without_nul)
            event.listen(engine, "connect", _binary_lists)
    except (ArgumentError, NoSuchModuleError, ImportError) as e:
        raise StoreError(f"database URL {_redact(url)!r} is not usable: {e}") from e
    return engine


def without_nul(value: Any) -> Any:
    """``value`` with the NUL characters of its strings removed (in lists, tuples, dicts and
    dataclass records too), the same object when it has none. Text from outside can hold NUL
    (a JSON feed's ``\\u0000``, a page's metadata); PostgreSQL's text cannot, and would refuse
    the whole transaction. SQLite could keep it, but both databases must store the same, so the
    store cleans what it is given before it works with it."""
    kind = type(value)
    if kind is str:
        return value.replace("\x00", "") if "\x00" in value else value
    if kind is list or kind is tuple:
        if all(type(part) is str and "\x00" not in part for part in value):
            return value
        cleaned = [without_nul(part) for part in value]
        changed = any(new is not old for new, old in zip(cleaned, value, strict=True))
        return kind(cleaned) if changed else value
    if kind is dict:
        pairs = {key: without_nul(part) for key, part in value.items()}
        return pairs if any(pairs[key] is not part for key, part in value.items()) else value
    fields = getattr(kind, "__dataclass_fields__", None)
    if fields is not None:
        changes = {}
        for name in fields:  # inline for strings: a batch of posts has tens of thousands
            part = getattr(value, name)
            if type(part) is str:
                if "\x00" in part:
                    changes[name] = part.replace("\x00", "")
            elif part is not None and type(part) not in _PLAIN:
                cleaned = without_nul(part)
                if cleaned is not part:
                    changes[name] = cleaned
        return dataclasses.replace(value, **changes) if changes else value
    return value


_PLAIN = (int, float, bool, datetime, bytes)


def _json_without_nul(value: Any) -> str:
    import json

    return json.dumps(without_nul(value))


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
