"""Stable fingerprints of what a page is made from, for incremental builds.

A page is rewritten only when its fingerprint changes: the digest of everything that goes into
it (the records it shows, its own context, the templates, the static files and the settings).
Fingerprints must be equal across processes and machines, so Python's salted ``hash()`` is no
use; records are turned into plain tuples (``record_key``) and hashed with ``marshal`` + BLAKE2.

Every field of a record counts, not only those our templates show: a user's template may show
any of them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import marshal
import types
import typing
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time
from typing import Any

DIGEST_SIZE = 16
# marshal's version 3 and later mark shared and interned strings, so the same values can give
# different bytes in two processes (a string interned in one and not the other); version 2
# writes values only.
MARSHAL_VERSION = 2

_Converter = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _iso(value: date | time) -> str:
    return value.isoformat()


_CONVERTERS: dict[type, _Converter] = {
    str: _same,
    int: _same,
    float: _same,
    bool: _same,
    bytes: _same,
    type(None): _same,
    datetime: _iso,
    date: _iso,
    time: _iso,
}


def record_key(value: Any) -> Any:
    """``value`` (a record, or a structure of records, dates and plain values) as nested tuples
    of plain values that ``marshal`` can serialize."""
    converter = _CONVERTERS.get(type(value))
    if converter is None:
        converter = _converter_for(type(value))
    return converter(value)


def _converter_for(kind: type) -> _Converter:
    converter: _Converter
    if dataclasses.is_dataclass(kind):
        converter = _dataclass_converter(kind)
    elif issubclass(kind, (tuple, list)):
        converter = lambda value: tuple([record_key(part) for part in value])  # noqa: E731
    elif issubclass(kind, (frozenset, set)):
        converter = lambda value: tuple(  # noqa: E731
            sorted((record_key(part) for part in value), key=repr)
        )
    elif issubclass(kind, dict):
        converter = lambda value: tuple(  # noqa: E731
            sorted((str(k), record_key(v)) for k, v in value.items())
        )
    else:  # anything else (an enum, a Path, a str subclass…) by its type and text
        converter = lambda value: (kind.__name__, str(value))  # noqa: E731
    _CONVERTERS[kind] = converter
    return converter


_PLAIN = (str, int, float, bool, type(None))


def _dataclass_converter(kind: type) -> _Converter:
    """A function made for ``kind`` (as ``dataclasses`` makes its ``__init__``): one tuple of its
    fields, each converted as its annotation says, so a record costs a few microseconds rather
    than a dispatch per field. Fields whose annotation cannot be read go through
    :func:`record_key`."""
    try:
        hints = typing.get_type_hints(kind)
    except Exception:  # an annotation that does not resolve: the generic path is still right
        hints = {}
    names = {"_record_key": record_key, "_iso": _iso_or_none}
    parts = []
    for index, field in enumerate(dataclasses.fields(kind)):
        access = f"value.{field.name}"
        shape = _shape(hints.get(field.name))
        if shape == "plain":
            parts.append(access)
        elif shape == "date":
            parts.append(f"_iso({access})")
        elif isinstance(shape, type):  # a tuple of records of one dataclass
            names[f"_c{index}"] = record_key
            parts.append(f"tuple([_c{index}(x) for x in {access}])")
        else:
            parts.append(f"_record_key({access})")
    body = f"def convert(value):\n    return ({kind.__name__!r}, ({', '.join(parts)},))\n"
    if not parts:
        body = f"def convert(value):\n    return ({kind.__name__!r}, ())\n"
    exec(body, names)  # the code above, built from field names only
    converter: _Converter = names["convert"]  # type: ignore[assignment]
    return converter


def _shape(hint: Any) -> Any:
    """ "plain" (marshal takes it as it is), "date", a dataclass (a tuple of those records), or
    None (convert generically)."""
    if hint is None:
        return None
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if all(a in _PLAIN for a in args):
            return "plain"
        if len(args) == 1 and args[0] in (datetime, date):
            return "date"
        return None
    if hint in _PLAIN:
        return "plain"
    if hint in (datetime, date):
        return "date"
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        inner = args[0]
        if inner in _PLAIN:
            return "plain"
        if dataclasses.is_dataclass(inner):
            return inner
    return None


def _iso_or_none(value: date | None) -> str | float | None:
    if value is None:
        return None
    if type(value) is datetime and value.tzinfo is UTC:  # the store's: 5× cheaper than text
        return value.timestamp()
    return value.isoformat()


def digest(value: Any) -> bytes:
    """The 16-byte digest of ``value`` (see :func:`record_key`)."""
    try:
        data = marshal.dumps(record_key(value), MARSHAL_VERSION)
    except ValueError:  # an annotation that lies (a str subclass in a str field)
        data = repr(_slow_key(value)).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=DIGEST_SIZE).digest()


def _slow_key(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value).__name__, tuple(_slow_key(getattr(value, f.name)) for f in fields))
    if isinstance(value, (tuple, list)):
        return tuple(_slow_key(part) for part in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _slow_key(v)) for k, v in value.items()))
    if isinstance(value, (date, time)):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)


def combine(parts: Iterable[bytes], *extra: Any) -> str:
    """One hex fingerprint of several digests plus plain values (already keys)."""
    hasher = hashlib.blake2b(digest_size=DIGEST_SIZE)
    hasher.update(marshal.dumps(extra, MARSHAL_VERSION))
    hasher.update(b"".join(parts))  # one call: a page has up to hundreds of parts
    return hasher.hexdigest()
