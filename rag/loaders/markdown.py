"""Markdown articles, with optional YAML front matter for title/source/url/published.

A front-matter ``published`` (a YAML date, datetime or written date) that is not a
date costs only the date: the article is kept undated, with a warning issue.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from rag.loaders.base import (
    LoadError,
    failed,
    field_str,
    make_article,
    read_published,
    read_text,
    split_title,
)
from rag.types import LoadIssue, LoadResult

SUFFIXES: tuple[str, ...] = (".md", ".markdown")

_FENCE = re.compile(r"^ {0,3}(```|~~~)")
# An ATX level-1 heading: "# Title" (optionally closed with trailing #s).
_H1 = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_SETEXT_H1 = re.compile(r"^ {0,3}=+[ \t]*$")


def load(path: Path) -> LoadResult:
    """Load one Markdown file as one article.

    Title: front matter ``title``, else the first ``# heading`` (removed from the
    text), else the first line (removed, as for .txt).
    """
    try:
        meta, body, body_line = _front_matter(read_text(path))
        names = ("id", "title", "url", "source", "published")
        fields = {name: field_str(meta, name) for name in names}
        title = fields.pop("title")
        published, warning = read_published(fields.pop("published"))
        if not title:
            title, body = _title_from_body(body)
        if not body.strip():
            raise LoadError("no article text after the title", body_line)
        article = make_article(path, body, title, published=published, **fields)
        issues = [LoadIssue(str(path), warning)] if warning else []
        return LoadResult(articles=[article], issues=issues)
    except LoadError as exc:
        return failed(path, exc)


def _front_matter(text: str) -> tuple[dict[str, Any], str, int]:
    """Split ``---`` YAML front matter off ``text``: (mapping, body, body's first line no.)."""
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text, 1
    end = next(
        (i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None
    )
    if end is None:
        raise LoadError(
            "front matter starts with '---' but has no closing '---' line", 1
        )
    try:
        import yaml
    except ImportError:
        raise LoadError("YAML front matter needs PyYAML: pip install pyyaml") from None
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        # +2: the mark is 0-based and counts from the line after the opening '---'.
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "cannot parse"
        raise LoadError(f"malformed YAML front matter ({problem})", line) from None
    except (ValueError, TypeError, RecursionError):
        # PyYAML raises plain ValueError for impossible dates such as 2021-13-45.
        reason = "malformed YAML front matter (invalid value, e.g. an impossible date)"
        raise LoadError(reason, 1) from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise LoadError("front matter must be 'key: value' lines", 2)
    return meta, "\n".join(lines[end + 1 :]), end + 2


def _title_from_body(body: str) -> tuple[str, str]:
    """(title, body without the title line) from the first H1, else the first line."""
    lines = body.split("\n")
    in_fence = False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = (
                not in_fence
            )  # a "# comment" inside a code block is not a heading
        elif not in_fence and (m := _H1.match(line)):
            return m.group(1), "\n".join(lines[:i] + lines[i + 1 :])
    title, rest = split_title(body)
    rest_lines = rest.split("\n")
    if rest_lines and _SETEXT_H1.match(rest_lines[0]):
        # "Title\n=====" is a setext heading: the underline goes with the title.
        rest = "\n".join(rest_lines[1:])
    return title.lstrip("#").strip(), rest
