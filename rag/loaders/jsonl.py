"""JSON Lines (.jsonl, one object per line) and JSON (.json, an object or a list) articles.

Each object has ``text`` (required) and optionally ``id``, ``title``, ``url``,
``source``, ``published``; other keys are ignored. A ``published`` that is not a
date costs only the date: the record is kept undated, with a warning issue.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rag.loaders.base import (
    LoadError,
    check_encodable,
    decode,
    failed,
    field_str,
    kind_of,
    make_article,
    read_bytes,
    read_published,
    read_text,
)
from rag.types import Article, LoadIssue, LoadResult

SUFFIXES: tuple[str, ...] = (".jsonl", ".json")


def load(path: Path, known: Mapping[str, str] | None = None) -> LoadResult:
    """Load every good record of a .jsonl or .json file; each bad one is an issue.

    ``known`` maps record keys (`record_key` of a line's bytes) to the article ids the caller
    already holds: those lines are not parsed again, their ids go to ``result.unchanged``.
    Changing one article of a 43 MB file then parses one line, not 4,000 (cleaning the text
    is most of a load)."""
    try:
        if path.suffix.lower() == ".json":
            return _load_json(path)
        return _load_jsonl(path, known or {})
    except LoadError as exc:
        return failed(path, exc)


def record_key(raw: bytes) -> str:
    """A JSON Lines record's identity: a hash of its line's bytes."""
    return hashlib.blake2b(raw, digest_size=10).hexdigest()


def _load_jsonl(path: Path, known: Mapping[str, str]) -> LoadResult:
    result = LoadResult()
    first_line: dict[str, int] = {}
    # Decode line by line so one bad line (even bad UTF-8) costs only that record.
    for n, raw in enumerate(read_bytes(path).split(b"\n"), start=1):
        if not raw.strip():
            continue
        key = record_key(raw)
        if key in known:
            if _first(result, known[key], path, first_line, n, "line"):
                result.unchanged.append(known[key])
                result.records[known[key]] = key
            continue
        try:
            article, warning = _record(_parse(decode(raw, in_line=True)), path, n)
        except LoadError as exc:
            result.issues.append(LoadIssue(str(path), exc.reason, n))
            continue
        if _add(result, article, path, first_line, n, "line"):
            result.records[article.id] = key
            if warning:
                result.issues.append(LoadIssue(str(path), warning, n))
    return result


def _load_json(path: Path) -> LoadResult:
    data = _parse(read_text(path))
    if isinstance(data, dict):
        article, warning = _record(data, path, None)
        issues = [LoadIssue(str(path), warning)] if warning else []
        return LoadResult(articles=[article], issues=issues)
    if not isinstance(data, list):
        raise LoadError(
            f"expected a JSON object or a list of objects, got {kind_of(data)}"
        )
    if not data:
        raise LoadError("empty list: no articles")
    result = LoadResult()
    first_item: dict[str, int] = {}
    # Items of a list have no cheap line number; issues say "item N" (1-based).
    for n, item in enumerate(data, start=1):
        try:
            article, warning = _record(item, path, None)
        except LoadError as exc:
            result.issues.append(LoadIssue(str(path), f"item {n}: {exc.reason}"))
            continue
        if _add(result, article, path, first_item, n, "item") and warning:
            result.issues.append(LoadIssue(str(path), f"item {n}: {warning}"))
    return result


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoadError(
            f"malformed JSON ({exc.msg}, column {exc.colno})", exc.lineno
        ) from None
    except (ValueError, RecursionError):
        # e.g. a 5000-digit number (int conversion limit) or absurdly deep nesting
        raise LoadError(
            "malformed JSON (value too large or nested too deeply)"
        ) from None


def _record(obj: Any, path: Path, line: int | None) -> tuple[Article, str | None]:
    """The record's article and its bad-date warning (None when the date is fine)."""
    if not isinstance(obj, dict):
        raise LoadError(f"expected a JSON object, got {kind_of(obj)}", line)
    text = obj.get("text")
    if text is None:
        raise LoadError('missing "text" field', line)
    if not isinstance(text, str):
        raise LoadError(f'field "text" must be a string, got {kind_of(text)}', line)
    check_encodable(text, "text", line)
    if not text.strip():
        raise LoadError('field "text" is empty', line)
    fields = {name: field_str(obj, name, line) for name in ("id", "url", "source")}
    title = field_str(obj, "title", line)
    published, warning = read_published(field_str(obj, "published", line))
    article = make_article(path, text, title, line=line, published=published, **fields)
    return article, warning


def _add(
    result: LoadResult,
    article: Article,
    path: Path,
    first: dict[str, int],
    n: int,
    unit: str,
) -> bool:
    """Append ``article`` unless its id already appeared in this file (``unit`` N).

    Returns whether it was kept, so a skipped duplicate gets no date warning too.
    """
    if _first(result, article.id, path, first, n, unit):
        result.articles.append(article)
        return True
    return False


def _first(result: LoadResult, doc_id: str, path: Path, first: dict[str, int], n: int, unit: str) -> bool:
    """Whether ``doc_id`` is new in this file; a repeat is an issue."""
    if doc_id not in first:
        first[doc_id] = n
        return True
    reason = (
        f'duplicate id "{doc_id}" (first on {unit} {first[doc_id]}); skipped'
    )
    if unit == "line":
        result.issues.append(LoadIssue(str(path), reason, n))
    else:
        result.issues.append(LoadIssue(str(path), f"{unit} {n}: {reason}"))
    return False
