"""Build or update an index from corpus paths, incrementally and atomically.

The index remembers the corpus roots it was built from. Each run rescans all
of them: a file whose bytes are unchanged reuses its articles, a changed file
replaces its old chunks, a file that disappeared takes its chunks with it, and
no chunk whose text already has a vector is embedded again. A file that fails
to load keeps its previously indexed articles, so bad input never loses data.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .chunking import Chunker, ChunkingConfig
from .embedder import Embedder
from .errors import IndexCorruptError, RagError
from .loaders import SUPPORTED_SUFFIXES, load_file
from .retrieval.dense import HNSW_FILE, HnswIndex, wants_graph
from .retrieval.lexical import BM25Index
from .store import IndexData, read_generation, sha256_file, write_generation, writer_lock
from .types import Article, Chunk, LoadIssue, text_id

__all__ = ["IndexReport", "update_index", "corpus_files"]

TOKENIZER_VERSION = "terms-v2"  # bump when rag.text.terms changes, to rebuild BM25 (vectors are kept)


@dataclass
class IndexReport:
    """What an index run did."""

    articles: int = 0
    chunks: int = 0
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    embedded: int = 0
    reused: int = 0
    duplicates: int = 0
    issues: list[LoadIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    path: str = ""

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["issues"] = [str(i) for i in self.issues]
        return d


def corpus_files(root: Path) -> list[Path]:
    """Supported files under ``root`` (or ``root`` itself), hidden ones skipped, sorted."""
    if root.is_file():
        return [root]
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES:
                out.append(Path(dirpath) / name)
    return out


def _compatible(prev: IndexData, embedder: Embedder, config: ChunkingConfig) -> str | None:
    """Why the previous index can't be reused, or None when it can."""
    m = prev.manifest
    if m.get("embedder") != embedder.name or m.get("dim") != embedder.dim:
        return f"it was built with embedder {m.get('embedder')!r}, now {embedder.name!r}"
    if m.get("chunking") != config.to_dict():
        return "its chunking settings differ"
    # A changed keyword tokenizer needs only a new BM25 index, which every write rebuilds
    # from the chunk texts; see the ``unchanged`` test in update_index.
    return None


def update_index(
    paths: Sequence[str | Path],
    index_dir: str | Path,
    embedder: Embedder,
    *,
    config: ChunkingConfig | None = None,
    rebuild: bool = False,
    progress: bool = False,
    on_wait: Callable[[str], None] | None = None,
) -> IndexReport:
    """Bring ``index_dir`` up to date with ``paths`` plus the roots it already tracks."""
    t0 = time.perf_counter()
    index_dir = Path(index_dir)
    config = config or ChunkingConfig()
    report = IndexReport(path=str(index_dir))
    with writer_lock(index_dir, on_wait=on_wait):
        prev: IndexData | None = None
        if not rebuild:
            try:
                prev = read_generation(index_dir)
            except IndexCorruptError as exc:
                report.notes.append(f"previous index unusable, rebuilding: {exc}")
            except RagError:
                prev = None
        if prev is not None:
            why = _compatible(prev, embedder, config)
            if why:
                report.notes.append(f"rebuilding the index from scratch: {why}")
                prev_roots = prev.manifest.get("roots", [])
                prev = None
            else:
                prev_roots = prev.manifest.get("roots", [])
        else:
            prev_roots = []
        roots = _roots(paths, prev_roots if not rebuild else [], report)
        articles, sources = _collect_articles(roots, prev, report)
        chunks, vectors, rows = _chunk_and_embed(articles, prev, embedder, config, progress, report)
        prev_ids = set(prev.articles) if prev else set()
        now_ids = {a.id for a in articles}
        report.removed = sorted(prev_ids - now_ids)
        unchanged = (
            prev is not None
            and not report.added
            and not report.updated
            and not report.removed
            and prev.manifest.get("roots") == [str(r) for r in roots]
            and prev.manifest.get("sources") == sources
            and prev.manifest.get("tokenizer") == TOKENIZER_VERSION
        )
        if unchanged:
            report.articles, report.chunks = len(articles), len(chunks)
            report.seconds = time.perf_counter() - t0
            return report
        manifest = {
            "embedder": embedder.name,
            "dim": embedder.dim,
            "chunking": config.to_dict(),
            "tokenizer": TOKENIZER_VERSION,
            "roots": [str(r) for r in roots],
            "sources": sources,
        }
        bm25 = _build_bm25(chunks, rows, prev)
        graph = HnswIndex.build(vectors) if wants_graph(len(vectors)) else None

        def write_search(folder: Path) -> None:
            bm25.save(folder / "bm25")
            if graph is not None:
                graph.save(folder / HNSW_FILE)

        write_generation(index_dir, manifest, articles, chunks, vectors, write_search)
    report.articles = len(articles)
    report.chunks = len(chunks)
    report.seconds = time.perf_counter() - t0
    return report


def _roots(paths: Sequence[str | Path], prev_roots: Sequence[str], report: IndexReport) -> list[Path]:
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


def _collect_articles(
    roots: list[Path], prev: IndexData | None, report: IndexReport
) -> tuple[list[Article], dict[str, dict]]:
    """Articles from every file under ``roots``, deduplicated, and the per-file state."""
    prev_sources = prev.manifest.get("sources", {}) if prev else {}
    sources: dict[str, dict] = {}
    articles: list[Article] = []
    seen_ids: set[str] = set()
    seen_texts: set[str] = set()
    files: list[Path] = []
    for root in roots:
        found_here = corpus_files(root)
        if not found_here:
            report.issues.append(LoadIssue(str(root), f"no supported files found ({', '.join(SUPPORTED_SUFFIXES)})"))
        for f in found_here:
            if f not in files:
                files.append(f)
    for f in files:
        key = str(f)
        try:
            digest = sha256_file(f)
        except OSError as exc:
            report.issues.append(LoadIssue(key, f"unreadable ({exc.strerror or exc})"))
            digest = None
        old = prev_sources.get(key)
        if digest and old and old.get("sha256") == digest and all(i in prev.articles for i in old["articles"]):
            found = [prev.articles[i] for i in old["articles"]]
        else:
            result = load_file(f) if digest else None
            if result is not None:
                report.issues.extend(result.issues)
                found = result.articles
            else:
                found = []
            if not found and old and prev is not None:
                # Bad input never costs what was already indexed.
                found = [prev.articles[i] for i in old["articles"] if i in prev.articles]
                if found:
                    report.notes.append(f"{key}: kept the previously indexed version")
                    digest = old.get("sha256")
        ids = []
        for art in found:
            h = text_id(art.text)
            if art.id in seen_ids or h in seen_texts:
                report.duplicates += 1
                continue
            seen_ids.add(art.id)
            seen_texts.add(h)
            articles.append(art)
            ids.append(art.id)
            if prev is None or art.id not in prev.articles:
                report.added.append(art.id)
            elif prev.articles[art.id].text != art.text or prev.articles[art.id] != art:
                report.updated.append(art.id)
        if digest:
            sources[key] = {"sha256": digest, "articles": ids}
    return articles, sources


def _chunk_and_embed(
    articles: list[Article],
    prev: IndexData | None,
    embedder: Embedder,
    config: ChunkingConfig,
    progress: bool,
    report: IndexReport,
) -> tuple[list[Chunk], np.ndarray, list[int | None]]:
    """Chunks of every article, their vectors, and for each the row it had in ``prev`` (None: new)."""
    prev_chunks: dict[str, list[int]] = {}
    prev_rows_by_text: dict[str, int] = {}
    if prev is not None:
        for row, c in enumerate(prev.chunks):
            prev_chunks.setdefault(c.doc_id, []).append(row)
            prev_rows_by_text.setdefault(c.text, row)
    chunker = Chunker(embedder.count_tokens, embedder.max_tokens, config)
    fresh = [a for a in articles if prev is None or a.id not in prev.articles or prev.articles[a.id].text != a.text]
    new_chunks = {}
    for c in chunker.chunk(fresh):
        new_chunks.setdefault(c.doc_id, []).append(c)
    chunks: list[Chunk] = []
    rows: list[int | None] = []
    for art in articles:
        if art.id in new_chunks or prev is None or art.id not in prev_chunks:
            for c in new_chunks.get(art.id, []):
                chunks.append(c)
                rows.append(prev_rows_by_text.get(c.text))
        else:
            for row in prev_chunks[art.id]:
                chunks.append(prev.chunks[row])
                rows.append(row)
    todo = [i for i, r in enumerate(rows) if r is None]
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    if prev is not None and len(todo) < len(chunks):
        have = [i for i, r in enumerate(rows) if r is not None]
        vectors[have] = prev.vectors[[rows[i] for i in have]]
    if todo:
        vectors[todo] = embedder.embed([chunks[i].text for i in todo], progress=progress)
    report.embedded = len(todo)
    report.reused = len(chunks) - len(todo)
    return chunks, vectors, rows


def _build_bm25(chunks: list[Chunk], rows: list[int | None], prev: IndexData | None) -> BM25Index:
    """BM25 over ``chunks``, reusing the saved terms of chunks carried over from ``prev``
    (when it was tokenised the same way)."""
    saved = None
    if prev is not None and prev.bm25_dir and prev.manifest.get("tokenizer") == TOKENIZER_VERSION:
        saved = BM25Index.load_terms(prev.bm25_dir)
    if saved is None or len(saved[1]) != len(prev.chunks):
        return BM25Index.build([c.text for c in chunks])
    vocab, prev_ids = saved
    return BM25Index.build([c.text for c in chunks], reuse=[prev_ids[r] if r is not None else None for r in rows], vocab=vocab)
