"""Many rows in one statement whose text does not grow with them, on PostgreSQL.

A multi-row ``INSERT … VALUES (…), (…)`` or an ``IN (…)`` list has one placeholder a value: its
SQL text is new for every row count, so psycopg parses it again each time (it caches only short
statements with few parameters; parsing a 2,000-placeholder insert cost a worker a third of its
CPU) and PostgreSQL plans it again. Here each column travels as one array parameter instead:

    INSERT INTO t (a, b) SELECT * FROM unnest(%(a)s::TEXT[], %(b)s::INTEGER[]) … ;
    … WHERE c = ANY(%(c)s::TEXT[])

— the same text whatever the number of rows. SQLite, which binds parameters without parsing
the statement in Python, gets the plain forms.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BindParameter,
    Column,
    ColumnElement,
    Connection,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    func,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import CursorResult


def among(conn: Connection, column: Column[Any], values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN values``: ``column = ANY(array)`` on PostgreSQL."""
    if conn.dialect.name != "postgresql":
        return column.in_(list(values))
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))


def among_pairs(
    conn: Connection, columns: tuple[Column[Any], Column[Any]], pairs: Collection[tuple[Any, Any]]
) -> ColumnElement[bool]:
    """``(a, b) IN pairs``: on PostgreSQL against two arrays unnested side by side, which the
    planner joins pair by pair on an index of (a, b) (``a = ANY(…) AND b = ANY(…)`` would
    probe every combination)."""
    if conn.dialect.name != "postgresql":
        return tuple_(*columns).in_(list(pairs))
    arrays = [
        bindparam(None, [pair[i] for pair in pairs], type_=ARRAY(column.type))
        for i, column in enumerate(columns)
    ]
    keys = func.unnest(*arrays).table_valued("a", "b").render_derived()
    return tuple_(*columns).in_(select(keys.c.a, keys.c.b))


def insert_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    unique: Sequence[str] = (),
    returning: Sequence[str] = (),
) -> CursorResult[Any]:
    """Insert ``rows`` (dicts with the same keys), in their order, skipping those that clash on
    the ``unique`` columns when given; ``returning``: columns of the rows inserted."""
    names = list(rows[0])
    postgres = conn.dialect.name == "postgresql"
    dialect = postgresql if postgres else sqlite
    statement: Any = dialect.insert(table)
    if postgres:
        arrays = [_array(table.c[name], [row[name] for row in rows]) for name in names]
        source = func.unnest(*arrays).table_valued(*names).render_derived()
        values = [
            cast(value, table.c[name].type) if isinstance(table.c[name].type, JSON) else value
            for name, value in zip(names, source.c, strict=True)
        ]
        statement = statement.from_select(names, select(*values))
    if unique:
        statement = statement.on_conflict_do_nothing(index_elements=list(unique))
    if returning:
        statement = statement.returning(*(table.c[name] for name in returning))
    if postgres:
        return conn.execute(statement)
    return conn.execute(statement, list(rows))


def _array(column: Column[Any], values: list[Any]) -> BindParameter[Any]:
    """One column's values as an array parameter. JSON values go as their text (an array of
    lists would be read as a multi-dimensional array), cast back to JSON in the statement; None
    is JSON ``null`` there, as SQLAlchemy writes it."""
    if isinstance(column.type, JSON):
        return bindparam(None, [json.dumps(value) for value in values], type_=ARRAY(Text))
    return bindparam(None, values, type_=ARRAY(column.type))
