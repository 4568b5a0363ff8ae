"""Reading labelled items and corrections from JSON Lines, and where the shipped corpus lives.

Evaluation and training files hold one item per line::

    {"title": "…", "summary": "…", "url": "…", "topics": ["education", "law"]}

``summary`` and ``url`` may be left out; ``source_topics``, ``arxiv_categories``, ``journal``,
``issns`` and ``subjects`` may be added (see :class:`~feedbot.tagging.records.ItemText`). Other
keys (the training file's ``origin``) are ignored.

Correction files hold one verdict per line::

    {"title": "…", "summary": "…", "url": "…", "topic": "law"}               # is in law
    {"title": "…", "summary": "…", "url": "…", "topic": "law", "not": true}  # is not in law

The shipped corpus (``data/train.jsonl``, ``data/heldout.jsonl``) and its provenance
(``data/PROVENANCE.md``) are described there; ``data/build_corpus.py`` rebuilds it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from feedbot.errors import FeedbotError
from feedbot.tagging.records import Correction, ItemText, LabeledItem

DATA = Path(__file__).resolve().parent / "data"
TRAIN_FILE = DATA / "train.jsonl"
HELDOUT_FILE = DATA / "heldout.jsonl"

T = TypeVar("T")


class TaggingDataError(FeedbotError):
    """A labelled-items or corrections file cannot be read; the message names file and line."""


def load_examples(path: Path) -> list[LabeledItem]:
    """The labelled items of a JSONL file (evaluation or training format)."""
    return list(_read(path, ("title", "topics"), _labeled))


def load_corrections(path: Path) -> list[Correction]:
    """The corrections of a JSONL file (see the module docstring)."""
    return list(_read(path, ("title", "topic"), _correction))


def corrections_from_records(records: Iterable[dict[str, Any]]) -> list[Correction]:
    """Corrections from already-parsed records of the correction-file shape."""
    return [_correction(record) for record in records]


def item_from_record(record: dict[str, Any]) -> ItemText:
    """An :class:`ItemText` from a record's ``title``, ``summary``, ``url`` and metadata keys."""
    return ItemText(
        title=_text(record, "title"),
        summary=_text(record, "summary"),
        url=_text(record, "url"),
        source_topics=_texts(record, "source_topics"),
        arxiv_categories=_texts(record, "arxiv_categories"),
        journal=_text(record, "journal"),
        issns=_texts(record, "issns"),
        subjects=_texts(record, "subjects"),
    )


def _read(
    path: Path, required: tuple[str, ...], convert: Callable[[dict[str, Any]], T]
) -> Iterator[T]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise TaggingDataError(f"{path}: cannot read ({e})") from e
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("expected a JSON object")
            missing = [key for key in required if key not in record]
            if missing:
                raise ValueError(f"missing key {missing[0]!r}")
            converted = convert(record)
        except (ValueError, TypeError) as e:
            raise TaggingDataError(f"{path}:{number}: {e}") from e
        yield converted


def _labeled(record: dict[str, Any]) -> LabeledItem:
    return LabeledItem(item_from_record(record), frozenset(_texts(record, "topics")))


def _correction(record: dict[str, Any]) -> Correction:
    negative = record.get("not", False)
    if not isinstance(negative, bool):
        raise ValueError(f"'not' must be true or false (got {negative!r})")
    return Correction(item_from_record(record), _text(record, "topic"), positive=not negative)


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key) or ""
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string (got {value!r})")
    return value


def _texts(record: dict[str, Any], key: str) -> tuple[str, ...]:
    value = record.get(key) or []
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key!r} must be a list of strings (got {value!r})")
    return tuple(value)
