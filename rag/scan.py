"""What the corpus holds now, against what the index holds: the indexer's scan of its roots.

Each file under the roots is hashed; a file whose bytes are unchanged keeps its articles
without being read, a changed file is loaded and each article compared by a hash of all its
fields, and the same text twice is kept once. A changed JSON Lines file is read line by line
against the hash each line had last time, so only its new or changed lines are parsed. A file
that fails to load keeps the articles it had, so bad input never loses data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import RagError
from .loaders import SUPPORTED_SUFFIXES, load_file, walk
from .store.base import ArticleInfo
from .store.vectors import sha256_file
from .types import Article, LoadIssue, text_id

if TYPE_CHECKING:
    from .indexer import IndexReport

__all__ = ["Entry", "corpus_roots", "collect_articles"]


@dataclass
class Entry:
    """An article found in the corpus. ``article`` is None when it is unchanged since the
    last run: it stays in its segment and is never loaded."""

    id: str
    digest: str  # of the whole article, metadata included
    text: str  # hash of the text alone, to spot the same article twice
    article: Article | None


def _digest(article: Article) -> str:
    """A hash of every field (hashing beats serialising: 0.05 s against 0.24 s for 43 MB of articles)."""
    h = hashlib.sha256()
    for value in vars(article).values():
        h.update(b"\1" if value is None else value.encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()[:16]


def corpus_roots(paths: Sequence[str | Path], prev_roots: Sequence[str], report: IndexReport) -> list[Path]:
    roots: list[Path] = []
    for p in paths:
        path = Path(p).expanduser().resolve()
        if not path.exists():
            raise RagError(f"no such file or folder: {p}")
        if path not in roots:
            roots.append(path)
    for r in prev_roots:
        path = Path(r)
        if path in roots:
            continue
        if not path.exists():
            report.notes.append(f"{path} no longer exists; its articles were removed from the index")
            continue
        roots.append(path)
    if not roots:
        raise RagError("nothing to index; name a folder or file, e.g.: rag index corpus")
    return roots


def collect_articles(
    roots: list[Path], known: dict[str, ArticleInfo], prev_sources: dict[str, dict], report: IndexReport
) -> tuple[list[Entry], dict[str, dict]]:
    """The articles of every file under ``roots``, deduplicated, and the per-file state.

    ``known`` is the store's catalogue of the articles it holds (`rag.store.Store.catalogue`)."""
    sources: dict[str, dict] = {}
    entries: list[Entry] = []
    seen_ids: set[str] = set()
    seen_texts: set[str] = set()
    files: list[Path] = []
    for root in roots:
        found_here = []
        for f in walk(root):
            if isinstance(f, LoadIssue):
                report.issues.append(f)
            else:
                found_here.append(f)
        if not found_here:
            report.issues.append(LoadIssue(str(root), f"no supported files found ({', '.join(SUPPORTED_SUFFIXES)})"))
        for f in found_here:
            if f not in files:
                files.append(f)

    def kept(article_id: str) -> Entry:
        return Entry(article_id, known[article_id].digest, known[article_id].text_hash, None)

    for f in files:
        key = str(f)
        try:
            digest = sha256_file(f)
        except OSError as exc:
            report.issues.append(LoadIssue(key, f"unreadable ({exc.strerror or exc})"))
            digest = None
        old = prev_sources.get(key)
        records = (old or {}).get("records", {})
        if digest and old and old.get("sha256") == digest and all(i in known for i in old["articles"]):
            found = [kept(i) for i in old["articles"]]
        else:
            found = []
            # A changed JSON Lines file: its unchanged lines are not parsed again.
            result = load_file(f, {k: i for i, k in records.items() if i in known}) if digest else None
            if result is not None:
                report.issues.extend(result.issues)
                records = result.records
                fresh = {a.id: a for a in result.articles}
                unchanged = set(result.unchanged)
                for i in list(records) if records else list(fresh):  # in file order
                    if i in unchanged:
                        found.append(kept(i))
                    elif i in fresh:
                        art = fresh[i]
                        d = _digest(art)
                        same = i in known and known[i].digest == d
                        found.append(kept(i) if same else Entry(i, d, text_id(art.text), art))
            if not found and old:
                # Bad input never costs what was already indexed.
                found = [kept(i) for i in old["articles"] if i in known]
                if found:
                    report.notes.append(f"{key}: kept the previously indexed version")
                    digest, records = old.get("sha256"), old.get("records", {})
        ids = []
        for e in found:
            if e.id in seen_ids or e.text in seen_texts:
                report.duplicates += 1
                continue
            seen_ids.add(e.id)
            seen_texts.add(e.text)
            entries.append(e)
            ids.append(e.id)
            if e.article is not None:
                (report.updated if e.id in known else report.added).append(e.id)
        if digest:
            sources[key] = {"sha256": digest, "articles": ids}
            if records:
                sources[key]["records"] = {i: records[i] for i in ids if i in records}
    return entries, sources
