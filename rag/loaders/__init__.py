"""Turn corpus files (.txt, .md, .html, .jsonl, .json) into cleaned ``Article`` objects.

This module's one job is loading: ``load_path`` walks a folder (or takes one
file), picks the loader for each suffix, and returns a ``LoadResult`` with the
good articles and one ``LoadIssue`` per bad input. It never raises for bad input.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from rag.loaders import html, jsonl, markdown, txt
from rag.loaders.base import clean_text
from rag.types import LoadIssue, LoadResult

__all__ = ["SUPPORTED_SUFFIXES", "clean_text", "load_file", "load_path", "walk", "corpus_files"]

_LOADERS: dict[str, Callable[[Path], LoadResult]] = {
    suffix: module.load
    for module in (txt, markdown, html, jsonl)
    for suffix in module.SUFFIXES
}
SUPPORTED_SUFFIXES: tuple[str, ...] = tuple(sorted(_LOADERS))


def load_file(path: str | os.PathLike[str], known: Mapping[str, str] | None = None) -> LoadResult:
    """Load one file by its suffix (case-insensitive); problems become issues.

    ``known``: the records of a JSON Lines file that need not be parsed again (`jsonl.load`)."""
    path = Path(path)
    loader = _LOADERS.get(path.suffix.lower())
    if loader is None:
        if path.is_dir():
            return _issue(
                path, "is a directory, not a file (use load_path for folders)"
            )
        if not path.exists():
            return _issue(path, "no such file or folder")
        kind = f"'{path.suffix}'" if path.suffix else "(no suffix)"
        supported = ", ".join(SUPPORTED_SUFFIXES)
        return _issue(path, f"unsupported file type {kind}; supported: {supported}")
    try:
        result = jsonl.load(path, known) if known and loader is jsonl.load else loader(path)
    except Exception as exc:  # noqa: BLE001 -- a loader bug must not abort a whole corpus load
        return _issue(
            path, f"internal error while loading ({type(exc).__name__}: {exc})"
        )
    return _drop_duplicates(result, {})


def load_path(path: str | os.PathLike[str]) -> LoadResult:
    """Load a file, or every supported file under a folder (recursively, sorted by name).

    Hidden files and folders (names starting with ".") and files with other
    suffixes are skipped silently inside a folder. An article whose id was
    already loaded is skipped with an issue.
    """
    path = Path(path)
    if not path.is_dir():
        return load_file(path)
    result = LoadResult()
    seen: dict[str, str] = {}
    found = False
    for file_or_issue in walk(path):
        if isinstance(file_or_issue, LoadIssue):
            result.issues.append(file_or_issue)
            continue
        found = True
        result.extend(_drop_duplicates(load_file(file_or_issue), seen))
    if not found and not result.issues:
        supported = ", ".join(SUPPORTED_SUFFIXES)
        result.issues.append(
            LoadIssue(str(path), f"no supported files found ({supported})")
        )
    return result


def walk(root: str | os.PathLike[str]) -> list[Path | LoadIssue]:
    """The corpus walker: supported files under ``root`` (or ``root`` itself, a file), sorted by
    name, plus an issue for each folder that can't be read.

    Loading and indexing both see the corpus through this one function. Hidden files and
    folders are skipped; symlinked folders are followed, each real folder once (so a link
    loop ends)."""
    root = Path(root)
    if not root.is_dir():
        return [root]
    return _walk(root, set())


def corpus_files(root: str | os.PathLike[str]) -> list[Path]:
    """The files `walk` finds under ``root``."""
    return [f for f in walk(root) if isinstance(f, Path)]


def _walk(folder: Path, visited: set[str]) -> list[Path | LoadIssue]:
    real = os.path.realpath(folder)
    if real in visited:  # a symlink loop, or the same folder linked twice
        return []
    visited.add(real)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        return [LoadIssue(str(folder), f"cannot read folder ({exc.strerror or exc})")]
    found: list[Path | LoadIssue] = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        child = folder / entry.name
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if is_dir:
            found.extend(_walk(child, visited))
        elif child.suffix.lower() in _LOADERS:
            found.append(child)
    return found


def _drop_duplicates(result: LoadResult, seen: dict[str, str]) -> LoadResult:
    """Keep the first article per id (``seen`` maps id -> where it was first loaded)."""
    kept = LoadResult(issues=list(result.issues), records=result.records, unchanged=result.unchanged)
    for article in result.articles:
        if article.id in seen:
            first = seen[article.id]
            reason = (
                f'duplicate id "{article.id}" (already loaded from {first}); skipped'
            )
            kept.issues.append(LoadIssue(article.path, reason))
            continue
        seen[article.id] = article.path
        kept.articles.append(article)
    return kept


def _issue(path: Path, reason: str) -> LoadResult:
    return LoadResult(issues=[LoadIssue(str(path), reason)])
