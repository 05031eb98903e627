"""Build or update an index from corpus paths, incrementally and atomically.

The index remembers the corpus roots it was built from. Each run rescans all
of them: a file whose bytes are unchanged is not even read, a changed file is
loaded and only its new or changed articles are chunked, a file that
disappeared takes its articles with it, and no chunk whose text already has a
vector is embedded again. A file that fails to load keeps its previously
indexed articles, so bad input never loses data.

The indexer plans (what changed, found by `rag.scan`); the store (`rag.store`) writes. One run is
one store commit: readers see the whole old corpus or the whole new one.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .chunking import Chunker, ChunkingConfig
from .embedder import Embedder
from .errors import IndexCorruptError
from .loaders import corpus_files
from .scan import collect_articles, corpus_roots
from .store import Store, StoredArticle, open_store
from .store.base import ArticleInfo
from .store.legacy import OldVectors, old_manifest
from .stories import DIRECT_MAX, Stories, groups_of, signatures
from .stories import RULE as STORY_RULE
from .types import Article, LoadIssue

__all__ = ["IndexReport", "update_index", "corpus_files"]

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
    grouped: int = 0  # articles that share a story with another (syndicated or near-duplicate copies)
    stories: int = 0  # groups of such articles
    issues: list[LoadIssue] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    path: str = ""

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["issues"] = [str(i) for i in self.issues]
        return d


def _compatible(m: dict, embedder: Embedder, config: ChunkingConfig) -> str | None:
    """Why the previous index (its manifest ``m``) can't be reused, or None when it can."""
    if m.get("embedder") != embedder.name or m.get("dim") != embedder.dim:
        return f"it was built with embedder {m.get('embedder')!r}, now {embedder.name!r}"
    if m.get("chunking") != config.to_dict():
        return "its chunking settings differ"
    # A changed keyword tokenizer needs no rebuild here: the store re-indexes its own
    # keywords from the chunk texts it holds (see `rag.store.keywords.TERMS_VERSION`).
    return None


def update_index(
    paths: Sequence[str | Path],
    index_dir: str | Path | Store,
    embedder: Embedder,
    *,
    config: ChunkingConfig | None = None,
    rebuild: bool = False,
    progress: bool = False,
    on_wait: Callable[[str], None] | None = None,
) -> IndexReport:
    """Bring the store ``index_dir`` (a `rag.store` spec, or a store) up to date with ``paths``
    plus the roots it already tracks."""
    store = index_dir if isinstance(index_dir, Store) else open_store(index_dir)
    report = IndexReport(path=store.location)
    t0 = time.perf_counter()
    with store.writing(on_wait=on_wait):
        _update(store, paths, embedder, config or ChunkingConfig(), rebuild, progress, report)
    report.notes.extend(getattr(store, "notes", []))
    report.seconds = time.perf_counter() - t0
    _export_for_answering(embedder, report)
    return report


def _export_for_answering(embedder: Embedder, report: IndexReport) -> None:
    """Leave the ONNX export that answering starts from (see `rag.embedder.onnx`), once per
    model: here torch is loaded, or about to be anyway. A failure costs only the answering
    side's start-up time, so it is a note, not an error."""
    export = getattr(embedder, "export_for_answering", None)
    if export is None:
        return
    try:
        export()
    except Exception as exc:  # noqa: BLE001 - any layer of torch.onnx may fail; indexing has succeeded
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        report.notes.append(f"answers will start slower (no ONNX export of the embedder: {first})")


def _previous(
    store: Store, old: dict | None, embedder: Embedder, config: ChunkingConfig, rebuild: bool, report: IndexReport
):
    """The manifest to build on, or None for a build from nothing; and the roots it tracked.
    ``old`` is the manifest of an old-format index in the store's folder (`_old_format`)."""
    if old is not None:
        report.notes.append(f"the index in {store.location} was in the old segment format; rebuilt it in the new one")
        return None, list(old.get("roots", []))
    try:
        prev = store.manifest()
    except IndexCorruptError as exc:
        report.notes.append(f"previous index unusable, rebuilding: {exc}")
        return None, []
    if prev is None:
        return None, []
    if rebuild:
        return None, []
    why = _compatible(prev, embedder, config)
    if why:
        report.notes.append(f"rebuilding the index from scratch: {why}")
        return None, prev.get("roots", [])
    return prev, prev.get("roots", [])


def _update(
    store: Store, paths: Sequence[str | Path], embedder: Embedder, config: ChunkingConfig, rebuild: bool,
    progress: bool, report: IndexReport,
) -> None:
    old = _old_format(store)
    prev, prev_roots = _previous(store, old, embedder, config, rebuild, report)
    roots = corpus_roots(paths, [] if rebuild else prev_roots, report)
    known: dict[str, ArticleInfo] = store.catalogue() if prev else {}
    entries, sources = collect_articles(roots, known, prev["sources"] if prev else {}, report)
    report.removed = sorted(set(known) - {e.id for e in entries})
    report.articles = len(entries)
    stories = (prev or {}).get("stories", {})
    if (
        prev is not None
        and not report.added and not report.updated and not report.removed
        and prev.get("roots") == [str(r) for r in roots]
        and prev.get("sources") == sources
        and stories.get("rule") == STORY_RULE
    ):
        report.chunks = sum(i.chunks for i in known.values())
        _count_stories(report, stories["pairs"], known)
        return
    fresh = [e.article for e in entries if e.article is not None]
    chunks = Chunker(embedder.count_tokens, embedder.max_tokens, config).chunk(fresh)
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    todo = []
    texts = [c.text for c in chunks]
    found = OldVectors(Path(store.location), old).find(texts) if old else (store.reusable(texts) if prev else [None] * len(texts))
    for i, v in enumerate(found):
        if v is None:
            todo.append(i)
        else:
            vectors[i] = v
    if todo:
        vectors[todo] = embedder.embed([chunks[i].text for i in todo], progress=progress)
    report.embedded = len(todo)
    sigs = dict(zip([a.id for a in fresh], signatures([a.text for a in fresh])))
    kept = {e.id for e in entries if e.article is None}
    pairs = _group(store, kept, fresh, sigs, stories)
    if prev is None:
        store.clear()
    else:
        store.delete(report.removed)
    by_id = {e.id: e for e in entries}
    store.upsert(
        [StoredArticle(a, by_id[a.id].digest, by_id[a.id].text, sigs[a.id]) for a in fresh], chunks, vectors
    )
    counts = {i: known[i].chunks for i in kept}
    for c in chunks:
        counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
    report.chunks = sum(counts.values())
    report.reused = report.chunks - report.embedded
    store.commit({
        "embedder": embedder.name,
        "dim": embedder.dim,
        "chunking": config.to_dict(),
        "roots": [str(r) for r in roots],
        "sources": sources,
        "counts": {"articles": len(entries), "chunks": report.chunks},
        "stories": {"rule": STORY_RULE, "pairs": pairs},
    })
    if old is not None:
        _remove_old_format(store)
    _count_stories(report, pairs, counts)


def _old_format(store: Store) -> dict | None:
    """The manifest of an index of the old segment format in the store's folder ({} when it is
    unreadable), or None when the folder holds none."""
    return old_manifest(Path(store.location)) if getattr(store, "backend", "") == "sqlite" else None


def _remove_old_format(store: Store) -> None:
    """Once the new store is committed, the old format's generations and segments go."""
    folder = Path(store.location)
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name.lstrip(".").startswith(("gen-", "seg-")):
            shutil.rmtree(entry, ignore_errors=True)
    (folder / "CURRENT").unlink(missing_ok=True)


def _count_stories(report: IndexReport, pairs: list[list], articles) -> None:
    groups = groups_of(pairs, {i: (i,) for i in articles})
    report.grouped = len(groups)
    report.stories = len({g[0] for g in groups.values()})


def _group(store: Store, kept: set[str], fresh: list[Article], sigs: dict[str, np.ndarray], prev: dict) -> list[list]:
    """The near-duplicate pairs of the live articles: the previous pairs among unchanged
    articles, plus one LSH query per fresh (new or changed) article."""
    stored = {i: s for i, s in store.signatures().items() if i in kept}
    texts = {a.id: a.text for a in fresh}

    def text_of(doc_id: str) -> str:
        # Only a proposed pair needs texts, so stored ones are read one article at a time.
        if doc_id not in texts:
            texts[doc_id] = store.articles([doc_id])[0].text
        return texts[doc_id]

    regroup = set(sigs)
    if prev.get("rule") != STORY_RULE:
        # Never grouped, or grouped under another rule: look at everything.
        regroup |= set(stored)
        prev = {}
    if not regroup:
        # Nothing new to look up (a deletion, say): the pairs are the previous ones among the living.
        return sorted(p for p in prev.get("pairs", []) if p[0] in kept and p[1] in kept)
    stories = Stories(text_of, lsh=len(regroup) > DIRECT_MAX)
    stable = [i for i in stored if i not in regroup]
    stories.load(stable, np.array([stored[i] for i in stable]), [p for p in prev.get("pairs", []) if p[0] in kept and p[1] in kept])
    everything = {**stored, **sigs}
    for i in sorted(regroup):
        stories.add(i, everything[i])
    return stories.pair_list()
