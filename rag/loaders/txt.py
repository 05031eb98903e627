"""Plain-text articles: the first non-empty line is the title, the rest is the text."""

from __future__ import annotations

from pathlib import Path

from rag.loaders.base import LoadError, failed, make_article, read_text, split_title
from rag.types import LoadResult

SUFFIXES: tuple[str, ...] = (".txt",)


def load(path: Path) -> LoadResult:
    """Load one .txt file as one article (title line removed from the text)."""
    try:
        title, body = split_title(read_text(path))
        if not body.strip():
            raise LoadError("only a title line, no article text")
        return LoadResult(articles=[make_article(path, body, title)])
    except LoadError as exc:
        return failed(path, exc)
