"""Build or update an index from corpus paths, incrementally and atomically.

The index remembers the corpus roots it was built from. Each run rescans all
of them: a file whose bytes are unchanged is not even read, a changed file is
loaded and only its new or changed articles are chunked, a file that
disappeared takes its articles with it, and no chunk whose text already has a
vector is embedded again. A file that fails to load keeps its previously
indexed articles, so bad input never loses data.

An update writes only what changed: one new segment holding the new and
changed articles, and a manifest that marks the replaced articles deleted in
their old segments (see `rag.store`). So changing one article of a 96k-chunk
corpus rewrites a few chunks, not 150 MB of vectors. Segments are merged back
when they pile up: past `MAX_SEGMENTS` the small ones are merged into one, and
once more than `MAX_DEAD` of all rows are deleted everything is rewritten.
"""

from __future__ import annotations

import hashlib
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
from .retrieval.lexical import Postings
from .store import (
    SIGNATURES,
    chunk_hashes,
    read_article,
    read_segment,
    read_signatures,
    sha256_file,
    verified_manifest,
    write_generation,
    write_segment,
    writer_lock,
)
from .stories import RULE as STORY_RULE
from .stories import Stories, groups_of, signatures
from .types import Article, LoadIssue, text_id

__all__ = ["IndexReport", "update_index", "corpus_files"]

TOKENIZER_VERSION = "terms-v2"  # bump when rag.text.terms changes, to rebuild BM25 (vectors are kept)
MAX_SEGMENTS = 8  # searching a segment costs a FAISS and a postings lookup per query
MAX_DEAD = 0.25  # deleted rows still take memory and FAISS must skip them


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


@dataclass
class _Entry:
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


def _compatible(m: dict, embedder: Embedder, config: ChunkingConfig) -> str | None:
    """Why the previous index (its manifest ``m``) can't be reused, or None when it can."""
    if m.get("embedder") != embedder.name or m.get("dim") != embedder.dim:
        return f"it was built with embedder {m.get('embedder')!r}, now {embedder.name!r}"
    if m.get("chunking") != config.to_dict():
        return "its chunking settings differ"
    # A changed keyword tokenizer needs only new BM25 postings: update_index then merges every
    # segment and tokenises the chunk texts again, keeping their vectors.
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
    report = _update(paths, index_dir, embedder, config, rebuild, progress, on_wait)
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


def _update(
    paths: Sequence[str | Path],
    index_dir: str | Path,
    embedder: Embedder,
    config: ChunkingConfig | None,
    rebuild: bool,
    progress: bool,
    on_wait: Callable[[str], None] | None,
) -> IndexReport:
    t0 = time.perf_counter()
    index_dir = Path(index_dir)
    config = config or ChunkingConfig()
    report = IndexReport(path=str(index_dir))
    with writer_lock(index_dir, on_wait=on_wait):
        prev: dict | None = None
        prev_roots: list[str] = []
        if not rebuild:
            try:
                prev = verified_manifest(index_dir)[1]  # the segments we keep or copy from are sound
            except IndexCorruptError as exc:
                report.notes.append(f"previous index unusable, rebuilding: {exc}")
            except RagError:
                prev = None
        if prev is not None:
            prev_roots = prev.get("roots", [])
            why = _compatible(prev, embedder, config)
            if why:
                report.notes.append(f"rebuilding the index from scratch: {why}")
                prev = None
        roots = _roots(paths, prev_roots if not rebuild else [], report)
        known: dict[str, list] = prev["articles"] if prev else {}  # id: [digest, text hash, segment, chunks]
        entries, sources = _collect_articles(roots, known, prev["sources"] if prev else {}, report)
        report.removed = sorted(set(known) - {e.id for e in entries})
        report.articles = len(entries)
        unchanged = (
            prev is not None
            and not report.added
            and not report.updated
            and not report.removed
            and prev.get("roots") == [str(r) for r in roots]
            and prev.get("sources") == sources
            and prev.get("tokenizer") == TOKENIZER_VERSION
            and prev.get("stories", {}).get("rule") == STORY_RULE
        )
        if unchanged:
            report.chunks = sum(s["rows"] - s["dead"] for s in prev["segments"])
            _count_stories(report, prev["stories"]["pairs"], prev["articles"])
            report.seconds = time.perf_counter() - t0
            return report
        segments = [dict(s, dropped=list(s["dropped"])) for s in prev["segments"]] if prev else []
        by_name = {s["name"]: s for s in segments}
        for article_id in [*report.removed, *report.updated]:
            seg = by_name[known[article_id][2]]
            seg["dropped"].append(article_id)
            seg["dead"] += known[article_id][3]
        retokenize = prev is not None and prev.get("tokenizer") != TOKENIZER_VERSION
        # An index from before story grouping gets its articles' signatures by one full merge.
        unsigned = any(SIGNATURES not in s["checksums"] for s in segments)
        merge = _to_merge(segments, everything=prev is None or retokenize or unsigned)
        fresh = [e.article for e in entries if e.article is not None]
        carried = [s for s in segments if s["name"] in merge]
        new, counts = _write_segment(
            index_dir, carried, segments, fresh, embedder, config, retokenize, progress, report
        )
        segments = [s for s in segments if s["name"] not in merge] + ([new] if new else [])
        pairs = _group(index_dir, segments, {a.id for a in fresh}, (prev or {}).get("stories", {}))
        articles = {}
        for e in entries:
            if e.article is None and known[e.id][2] not in merge:
                articles[e.id] = [e.digest, e.text, known[e.id][2], known[e.id][3]]
            else:
                articles[e.id] = [e.digest, e.text, new["name"], counts[e.id]]
        manifest = {
            "embedder": embedder.name,
            "dim": embedder.dim,
            "chunking": config.to_dict(),
            "tokenizer": TOKENIZER_VERSION,
            "roots": [str(r) for r in roots],
            "sources": sources,
            "counts": {"articles": len(articles), "chunks": sum(s["rows"] - s["dead"] for s in segments)},
            "articles": articles,
            "segments": segments,
            "stories": {"rule": STORY_RULE, "pairs": pairs},
        }
        write_generation(index_dir, manifest)
        _count_stories(report, pairs, articles)
    report.chunks = manifest["counts"]["chunks"]
    report.reused = report.chunks - report.embedded
    report.seconds = time.perf_counter() - t0
    return report


def _to_merge(segments: list[dict], *, everything: bool) -> set[str]:
    """Names of the segments whose live rows go into the new segment (see the module docstring)."""
    names = {s["name"] for s in segments}
    rows = sum(s["rows"] for s in segments)
    if everything or sum(s["dead"] for s in segments) > MAX_DEAD * rows:
        return names
    gone = {s["name"] for s in segments if s["dead"] >= s["rows"]}
    if len(segments) - len(gone) + 1 > MAX_SEGMENTS:
        largest = max(segments, key=lambda s: s["rows"] - s["dead"])["name"]
        return names - {largest}
    return gone


def _write_segment(
    index_dir: Path,
    merge: list[dict],
    segments: list[dict],
    fresh: list[Article],
    embedder: Embedder,
    config: ChunkingConfig,
    retokenize: bool,
    progress: bool,
    report: IndexReport,
) -> tuple[dict | None, dict[str, int]]:
    """Write one segment with the live rows of ``merge`` and the ``fresh`` articles' chunks;
    returns its manifest entry (None when there is nothing to write) and each article's chunk count."""
    carried = []
    rows = 0
    for entry in merge:
        if entry["dead"] < entry["rows"]:
            carried.append(read_segment(index_dir, entry, rows))
            rows += entry["rows"] - entry["dead"]
    articles = [a for s in carried for a in s.articles if a.id not in s.dropped] + fresh
    chunks = [c for s in carried for c, r in zip(s.chunks, s.remap) if r >= 0]
    new_chunks = Chunker(embedder.count_tokens, embedder.max_tokens, config).chunk(fresh)
    chunks += new_chunks
    if not chunks and not articles:
        return None, {}
    known = {i: row for s in carried for i, row in (s.signatures or {}).items()}
    todo_sigs = [a for a in articles if a.id not in known]
    known.update(zip([a.id for a in todo_sigs], signatures([a.text for a in todo_sigs])))
    sigs = {a.id: known[a.id] for a in articles}
    vectors = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    for s in carried:
        vectors[s.remap[s.remap >= 0]] = s.vectors[s.remap >= 0]
    todo = _reuse_vectors(index_dir, segments, new_chunks, vectors[rows:])
    if todo:
        vectors[[rows + i for i in todo]] = embedder.embed([new_chunks[i].text for i in todo], progress=progress)
    report.embedded = len(todo)
    if retokenize:
        postings = Postings.build([c.text for c in chunks])
    else:
        parts = [(s.postings, s.remap) for s in carried]
        parts.append((Postings.build([c.text for c in new_chunks]), np.arange(rows, len(chunks))))
        postings = Postings.combine(parts, len(chunks))
    graph = HnswIndex.build(vectors) if wants_graph(len(vectors)) else None
    entry = write_segment(
        index_dir, articles, chunks, vectors, postings, graph and (lambda folder: graph.save(folder / HNSW_FILE)),
        signatures=np.stack(list(sigs.values())) if sigs else None,
    )
    counts: dict[str, int] = {a.id: 0 for a in articles}
    for c in chunks:
        counts[c.doc_id] += 1
    return entry, counts


def _count_stories(report: IndexReport, pairs: list[list], articles: dict) -> None:
    groups = groups_of(pairs, {i: (i,) for i in articles})
    report.grouped = len(groups)
    report.stories = len({g[0] for g in groups.values()})


def _group(index_dir: Path, segments: list[dict], regroup: set[str], prev: dict) -> list[list]:
    """The near-duplicate pairs of the live articles: the previous pairs among unchanged
    articles, plus one LSH query per article in ``regroup`` (the new and changed ones)."""
    sigs: dict[str, np.ndarray] = {}
    home: dict[str, dict] = {}
    for entry in segments:
        for i, row in (read_signatures(index_dir, entry) or {}).items():
            sigs[i], home[i] = row, entry
    texts: dict[str, str] = {}

    def text_of(doc_id: str) -> str:
        # Only a proposed pair needs texts, so they are read one article at a time.
        if doc_id not in texts:
            texts[doc_id] = read_article(index_dir, home[doc_id], doc_id).text
        return texts[doc_id]

    if prev.get("rule") != STORY_RULE:
        regroup = set(sigs)  # never grouped, or grouped under another rule: look at everything
    if not regroup & set(sigs):
        # Nothing new to look up (a deletion, say): the pairs are the previous ones among the living.
        return sorted(p for p in prev.get("pairs", []) if p[0] in sigs and p[1] in sigs)
    stories = Stories(text_of)
    stable = [i for i in sigs if i not in regroup]
    stories.load(stable, np.array([sigs[i] for i in stable]), prev.get("pairs", []))
    for i in sorted(regroup & set(sigs)):
        stories.add(i, sigs[i])
    return stories.pair_list()


def _reuse_vectors(index_dir: Path, segments: list[dict], chunks: list, out: np.ndarray) -> list[int]:
    """Copy into ``out`` the vectors that ``segments`` already hold for these chunks' texts
    (deleted rows included: a text's vector never changes); returns the chunks still to embed."""
    if not chunks:
        return []
    wanted = chunk_hashes([c.text for c in chunks])
    todo = set(range(len(chunks)))
    for entry in segments:
        folder = index_dir / entry["name"]
        have = np.load(folder / "hashes.npy")
        hit = np.flatnonzero(np.isin(have, wanted[sorted(todo)]))
        if not len(hit):
            continue
        rows = {int(h): int(r) for h, r in zip(have[hit], hit)}
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        for i in sorted(todo):
            row = rows.get(int(wanted[i]))
            if row is not None:
                out[i] = vectors[row]
                todo.discard(i)
        if not todo:
            break
    return sorted(todo)


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
    roots: list[Path], known: dict[str, list], prev_sources: dict[str, dict], report: IndexReport
) -> tuple[list[_Entry], dict[str, dict]]:
    """The articles of every file under ``roots``, deduplicated, and the per-file state.

    ``known`` is the previous manifest's ``articles`` (id: [digest, text hash, segment, chunks])."""
    sources: dict[str, dict] = {}
    entries: list[_Entry] = []
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

    def kept(article_id: str) -> _Entry:
        return _Entry(article_id, known[article_id][0], known[article_id][1], None)

    for f in files:
        key = str(f)
        try:
            digest = sha256_file(f)
        except OSError as exc:
            report.issues.append(LoadIssue(key, f"unreadable ({exc.strerror or exc})"))
            digest = None
        old = prev_sources.get(key)
        if digest and old and old.get("sha256") == digest and all(i in known for i in old["articles"]):
            found = [kept(i) for i in old["articles"]]
        else:
            found = []
            result = load_file(f) if digest else None
            if result is not None:
                report.issues.extend(result.issues)
                for art in result.articles:
                    d = _digest(art)
                    same = art.id in known and known[art.id][0] == d
                    found.append(kept(art.id) if same else _Entry(art.id, d, text_id(art.text), art))
            if not found and old:
                # Bad input never costs what was already indexed.
                found = [kept(i) for i in old["articles"] if i in known]
                if found:
                    report.notes.append(f"{key}: kept the previously indexed version")
                    digest = old.get("sha256")
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
    return entries, sources
