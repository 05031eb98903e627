"""Plain-text articles: the first non-empty line is the title, the rest is the text.

Right under the title there may be metadata lines, in any order, before the body:
``Date: ...`` or ``Published: ...`` (the publication date) and ``Source: ...``
(the outlet). Keys are case-insensitive; the lines are removed from the text. A
date that does not parse costs only the date: the article is kept undated, with a
warning issue.
"""

from __future__ import annotations

import re
from pathlib import Path

from rag.loaders.base import (
    LoadError,
    failed,
    make_article,
    read_published,
    read_text,
    split_title,
)
from rag.types import LoadIssue, LoadResult

SUFFIXES: tuple[str, ...] = (".txt",)

# "Date: 3 March 2026", "PUBLISHED: 2026-03-03", "Source: Daily Courier".
_META_LINE = re.compile(r"^[ \t]*(date|published|source)[ \t]*:[ \t]*(\S.*?)[ \t]*$", re.I)
# Both date keys fill the same field, so at most one of them is metadata.
_FIELD = {"date": "published", "published": "published", "source": "source"}


def load(path: Path) -> LoadResult:
    """Load one .txt file as one article (title and metadata lines removed from the text)."""
    try:
        text = read_text(path)
        title, body = split_title(text)
        # The body is the tail of the text, so this is the file line it starts on.
        body_line = text.count("\n") - body.count("\n") + 1
        meta, body = _metadata(body)
        if not body.strip():
            raise LoadError("only a title line, no article text")
        date, date_offset = meta.get("published", (None, 0))
        published, warning = read_published(date)
        source = meta.get("source", (None, 0))[0]
        article = make_article(path, body, title, source=source, published=published)
        issues = [LoadIssue(str(path), warning, body_line + date_offset)] if warning else []
        return LoadResult(articles=[article], issues=issues)
    except LoadError as exc:
        return failed(path, exc)


def _metadata(body: str) -> tuple[dict[str, tuple[str, int]], str]:
    """Peel metadata lines off the top of ``body``: ({field: (value, offset)}, rest).

    ``offset`` is the line's index within ``body``. Blank lines between the title
    and the metadata are allowed; the first other line (or a field seen twice)
    ends the block, so a body that merely starts with "Date:" prose keeps the rest.
    """
    lines = body.split("\n")
    meta: dict[str, tuple[str, int]] = {}
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    end = 0  # lines before this index are title-block lines and are dropped
    while i < len(lines):
        m = _META_LINE.match(lines[i])
        if not m or _FIELD[m.group(1).lower()] in meta:
            break
        meta[_FIELD[m.group(1).lower()]] = (m.group(2), i)
        i += 1
        end = i
    return meta, "\n".join(lines[end:]) if meta else body
