"""The on-disk index: immutable segments, atomic generations, checksums and a writer lock.

Layout of an index folder::

    index/
      CURRENT          name of the live generation, replaced atomically
      gen-000009/
        manifest.json  embedder, chunking, corpus state, every live article (id: digest,
                       text hash, segment, chunk count), and the segments making up the
                       index, each with its deleted articles and its files' checksums
      seg-000001/      one immutable batch of chunks:
        articles.jsonl   article metadata and text
        chunks.jsonl     chunk ids and character spans (texts are cut from articles)
        vectors.npy      float32, one normalised row per chunk
        hashes.npy       a 64-bit hash of each chunk's text, to find reusable vectors
        bm25/            term postings (see `rag.retrieval.lexical`)
        minhash.npz      each article's id and MinHash signature (see `rag.stories`)
        dense.hnsw       an HNSW graph, only for segments of 200k chunks or more
      seg-000009/      a later, smaller segment: the articles added or changed since
      .lock            held by whoever is writing

Segments are what make an update cheap: changing one article writes a small
segment and a new manifest that marks the article's old chunks deleted, instead
of rewriting every vector (`rag.indexer` decides when to merge segments again).

A writer writes and fsyncs a new segment under a temporary name, renames it into
place, writes the new generation the same way, and only then swaps CURRENT, so
a writer killed at any point leaves the previous generation answering. Files
not referenced by the live generation are removed by the next writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexCorruptError, IndexMissingError, RagError
from .retrieval.lexical import Postings
from .types import Article, Chunk

__all__ = [
    "IndexData",
    "Segment",
    "write_segment",
    "write_generation",
    "read_generation",
    "read_manifest",
    "verified_manifest",
    "read_segment",
    "current_generation",
    "writer_lock",
    "chunk_hashes",
    "read_signatures",
    "read_articles",
    "read_article",
    "FORMAT_VERSION",
]

FORMAT_VERSION = 2
SIGNATURES = "minhash.npz"
_CURRENT = "CURRENT"
_NUMBERED = re.compile(r"^\.?(gen|seg)-(\d{6})")


@dataclass
class Segment:
    """One segment as loaded: all its rows, and where each live row lands in the index.

    ``remap[r]`` is row r's position among the index's live chunks, or -1 when
    its article was deleted or replaced after the segment was written.
    """

    name: str
    path: Path
    articles: list[Article]
    chunks: list[Chunk]
    vectors: np.ndarray
    postings: Postings
    remap: np.ndarray
    dropped: frozenset[str] = frozenset()
    signatures: dict[str, np.ndarray] | None = None  # article id -> MinHash; None in older segments


@dataclass
class IndexData:
    """Everything an index holds, in memory: its segments and the live view over them."""

    manifest: dict[str, Any]
    segments: list[Segment] = field(default_factory=list)
    path: Path | None = None

    @cached_property
    def articles(self) -> dict[str, Article]:
        return {a.id: a for s in self.segments for a in s.articles if a.id not in s.dropped}

    @cached_property
    def chunks(self) -> list[Chunk]:
        return [c for s in self.segments for c, r in zip(s.chunks, s.remap) if r >= 0]

    @cached_property
    def vectors(self) -> np.ndarray:
        """The live chunks' vectors, row for row with :attr:`chunks`."""
        if len(self.segments) == 1 and (self.segments[0].remap >= 0).all():
            return self.segments[0].vectors
        dim = self.manifest.get("dim", 0)
        parts = [s.vectors[s.remap >= 0] for s in self.segments]
        return np.concatenate(parts) if parts else np.zeros((0, dim), np.float32)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def chunk_hashes(texts: Sequence[str]) -> np.ndarray:
    """A 64-bit hash per text: the same text always hashes the same, in any run."""
    return np.array(
        [int.from_bytes(hashlib.blake2b(t.encode("utf-8"), digest_size=8).digest(), "little") for t in texts],
        dtype=np.uint64,
    )


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                os.fsync(f.fileno())
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_generation(index_dir: Path) -> Path | None:
    """The live generation folder, or None when the folder holds no index."""
    pointer = index_dir / _CURRENT
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    gen = index_dir / name
    return gen if name and gen.is_dir() else None


def _next_number(index_dir: Path) -> int:
    """One more than any generation or segment number used so far, even a dead writer's."""
    numbers = [int(m.group(2)) for p in index_dir.iterdir() if (m := _NUMBERED.match(p.name))]
    pointer = current_generation(index_dir)
    if pointer is not None:
        numbers.append(int(pointer.name.split("-")[1]))
    return max(numbers, default=0) + 1


def _publish(index_dir: Path, prefix: str, fill: Callable[[Path], None]) -> Path:
    """Create ``prefix-NNNNNN`` atomically: ``fill`` writes a temporary folder, which is
    fsynced and renamed into place."""
    name = f"{prefix}-{_next_number(index_dir):06d}"
    tmp = index_dir / f".{name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    fill(tmp)
    _fsync_tree(tmp)
    final = index_dir / name
    os.rename(tmp, final)
    return final


def write_segment(
    index_dir: Path,
    articles: Sequence[Article],
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    postings: Postings,
    write_extra: Callable[[Path], None] | None = None,
    signatures: np.ndarray | None = None,
) -> dict[str, Any]:
    """Write a new segment; returns its entry for a generation manifest (name, size, checksums).

    ``signatures`` holds one MinHash row per article; ``write_extra(folder)`` may add files,
    such as a large segment's HNSW graph.
    """
    index_dir.mkdir(parents=True, exist_ok=True)

    def fill(tmp: Path) -> None:
        with open(tmp / "articles.jsonl", "w", encoding="utf-8") as f:
            for art in articles:
                f.write(json.dumps(art.to_dict(), ensure_ascii=False) + "\n")
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(json.dumps({"id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end}) + "\n")
        np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        np.save(tmp / "hashes.npy", chunk_hashes([c.text for c in chunks]))
        postings.save(tmp / "bm25")
        if signatures is not None:
            np.savez(tmp / SIGNATURES, ids=np.array([a.id for a in articles], dtype=str), sig=signatures)
        if write_extra is not None:
            write_extra(tmp)

    final = _publish(index_dir, "seg", fill)
    files = sorted(p for p in final.rglob("*") if p.is_file())
    return {
        "name": final.name,
        "rows": len(chunks),
        "dead": 0,
        "dropped": [],
        "checksums": {str(p.relative_to(final)): sha256_file(p) for p in files},
    }


def write_generation(index_dir: Path, manifest: dict[str, Any]) -> Path:
    """Make ``manifest`` (whose ``segments`` were written by `write_segment`) the live index."""
    manifest = dict(manifest, format_version=FORMAT_VERSION, created=time.strftime("%Y-%m-%dT%H:%M:%S%z"))

    def fill(tmp: Path) -> None:
        with open(tmp / "manifest.json", "w", encoding="utf-8") as f:
            json.dump(manifest, f, ensure_ascii=False, separators=(",", ":"))

    final = _publish(index_dir, "gen", fill)
    pointer_tmp = index_dir / f".{_CURRENT}.tmp-{os.getpid()}"
    with open(pointer_tmp, "w", encoding="utf-8") as f:
        f.write(final.name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(pointer_tmp, index_dir / _CURRENT)
    _fsync_dir(index_dir)
    _remove_stale(index_dir, final.name, {s["name"] for s in manifest["segments"]})
    return final


def _remove_stale(index_dir: Path, live: str, segments: set[str]) -> None:
    """Drop old generations, unreferenced segments and dead writers' temp folders (we hold the lock)."""
    for entry in index_dir.iterdir():
        if entry.name == live or entry.name in segments or not entry.is_dir():
            continue
        if _NUMBERED.match(entry.name):
            shutil.rmtree(entry, ignore_errors=True)
    for entry in index_dir.glob(f".{_CURRENT}.tmp-*"):
        entry.unlink(missing_ok=True)


def _fix(index_dir: Path) -> str:
    return f"rebuild it with: rag index --rebuild --index {index_dir}"


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The live manifest, or None when there is no readable index."""
    gen = current_generation(index_dir)
    if gen is None:
        return None
    try:
        return json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def verified_manifest(index_dir: Path, *, verify: bool = True) -> tuple[Path, dict[str, Any]]:
    """The live generation and its manifest, every segment file checked against its checksum."""
    index_dir = Path(index_dir)
    gen = current_generation(index_dir)
    if gen is None:
        raise IndexMissingError(f"no index in {index_dir}/; build one with: rag index corpus --index {index_dir}")
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"index manifest {gen / 'manifest.json'} is unreadable ({exc}); {_fix(index_dir)}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(f"index in {index_dir}/ has an older or unknown format; {_fix(index_dir)}")
    for seg in manifest["segments"] if verify else []:
        for rel, digest in seg["checksums"].items():
            path = index_dir / seg["name"] / rel
            if not path.is_file():
                raise IndexCorruptError(f"index file {path} is missing; {_fix(index_dir)}")
            if sha256_file(path) != digest:
                raise IndexCorruptError(f"index file {path} is corrupted (checksum mismatch); {_fix(index_dir)}")
    return gen, manifest


def read_segment(index_dir: Path, entry: dict[str, Any], offset: int = 0) -> Segment:
    """Load one segment; its live rows are numbered from ``offset``."""
    folder = index_dir / entry["name"]
    try:
        articles = read_articles(index_dir, entry)
        texts = {a.id: a.text for a in articles}
        chunks = []
        with open(folder / "chunks.jsonl", encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                text = texts[d["doc_id"]][d["start"] : d["end"]]
                chunks.append(Chunk(id=d["id"], doc_id=d["doc_id"], text=text, start=d["start"], end=d["end"]))
        vectors = np.load(folder / "vectors.npy")
        postings = Postings.load(folder / "bm25")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"index segment {folder} is unreadable ({exc}); {_fix(index_dir)}") from exc
    if not len(vectors) == len(chunks) == postings.size:
        raise IndexCorruptError(f"index segment {folder} has {len(vectors)} vectors for {len(chunks)} chunks; {_fix(index_dir)}")
    dropped = frozenset(entry["dropped"])
    live = np.array([c.doc_id not in dropped for c in chunks], dtype=bool)
    remap = np.full(len(chunks), -1, dtype=np.int64)
    remap[live] = offset + np.arange(int(live.sum()))
    sigs = read_signatures(index_dir, entry)
    return Segment(entry["name"], folder, articles, chunks, vectors, postings, remap, dropped, sigs)


def read_articles(index_dir: Path, entry: dict[str, Any]) -> list[Article]:
    """Every article a segment holds (dropped ones too)."""
    with open(Path(index_dir) / entry["name"] / "articles.jsonl", encoding="utf-8") as f:
        return [Article(**json.loads(line)) for line in f]


def read_article(index_dir: Path, entry: dict[str, Any], doc_id: str) -> Article | None:
    """One article of a segment, found without parsing the others (each line starts with its id)."""
    head = '{"id": ' + json.dumps(doc_id, ensure_ascii=False) + ","
    with open(Path(index_dir) / entry["name"] / "articles.jsonl", encoding="utf-8") as f:
        for line in f:
            if line.startswith(head):
                return Article(**json.loads(line))
    return None


def read_signatures(index_dir: Path, entry: dict[str, Any]) -> dict[str, np.ndarray] | None:
    """A segment's live articles' MinHash signatures by id, None when it has none (older index)."""
    path = Path(index_dir) / entry["name"] / SIGNATURES
    if SIGNATURES not in entry["checksums"]:
        return None
    dropped = set(entry["dropped"])
    try:
        with np.load(path) as f:
            return {str(i): row for i, row in zip(f["ids"], f["sig"]) if str(i) not in dropped}
    except (OSError, ValueError, KeyError) as exc:
        raise IndexCorruptError(f"index file {path} is unreadable ({exc}); {_fix(index_dir)}") from exc


def read_generation(index_dir: Path, *, verify: bool = True) -> IndexData:
    """Load the live generation, checking every file against its checksum.

    A writer that finishes while we read may delete segments the old generation
    used; that shows as a missing file while CURRENT has moved on, and the read
    starts again with the new generation.
    """
    index_dir = Path(index_dir)
    for attempt in range(3):
        before = current_generation(index_dir)
        try:
            gen, manifest = verified_manifest(index_dir, verify=verify)
            segments: list[Segment] = []
            offset = 0
            for entry in manifest["segments"]:
                segments.append(read_segment(index_dir, entry, offset))
                offset += int((segments[-1].remap >= 0).sum())
            return IndexData(manifest, segments, path=gen)
        except IndexCorruptError:
            if attempt == 2 or current_generation(index_dir) == before:
                raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def writer_lock(index_dir: Path, *, wait: bool = True, on_wait=None) -> Iterator[None]:
    """Serialise writers of one index folder with an advisory file lock.

    The lock file records the holder's pid and command, so a second writer can
    say who it is waiting for. The lock dies with its holder (even on SIGKILL).
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / ".lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(path)
            if not wait:
                raise RagError(f"another process is writing the index ({holder}); try again when it finishes") from None
            if on_wait:
                on_wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "since": time.time(), "cmd": _cmdline()}).encode())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing releases the flock


def _cmdline() -> str:
    try:
        return Path(f"/proc/{os.getpid()}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _read_holder(path: Path) -> str:
    try:
        d = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        d = {}
    if not d:
        return "unknown holder"
    return f"pid {d.get('pid')}: {d.get('cmd') or 'unknown command'}"
