"""The on-disk index: atomic generations, a manifest with checksums, and a writer lock.

Layout of an index folder::

    index/
      CURRENT          name of the live generation, replaced atomically
      gen-000007/      one complete, immutable index
        manifest.json  embedder, chunking, corpus state, file checksums
        articles.jsonl article metadata and text
        chunks.jsonl   chunk ids and character spans (texts are cut from articles)
        vectors.npy    float32, one normalised row per chunk
        bm25/          the bm25s index files and each chunk's term ids
        dense.hnsw     an HNSW graph, only for indexes of 200k chunks or more
      .lock            held by whoever is writing

A writer builds a new generation in a temporary folder, fsyncs it, renames it
into place and only then swaps CURRENT, so a build killed at any point leaves
the previous generation answering.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import IndexCorruptError, IndexMissingError, RagError
from .types import Article, Chunk

__all__ = ["IndexData", "write_generation", "read_generation", "current_generation", "writer_lock", "FORMAT_VERSION"]

FORMAT_VERSION = 1
_CURRENT = "CURRENT"


@dataclass
class IndexData:
    """Everything an index holds, in memory."""

    manifest: dict[str, Any]
    articles: dict[str, Article]
    chunks: list[Chunk]
    vectors: np.ndarray
    path: Path | None = None
    bm25_dir: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                os.fsync(f.fileno())
        fd = os.open(dirpath, os.O_RDONLY)
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


def write_generation(
    index_dir: Path,
    manifest: dict[str, Any],
    articles: list[Article],
    chunks: list[Chunk],
    vectors: np.ndarray,
    write_search,
) -> Path:
    """Write a complete new generation and make it live; returns its folder.

    ``write_search(folder)`` saves the search structures (``bm25/``, and the HNSW
    graph of a large index) into the new generation's ``folder``.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    prev = current_generation(index_dir)
    number = int(prev.name.split("-")[1]) + 1 if prev else 1
    name = f"gen-{number:06d}"
    tmp = index_dir / f".{name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    with open(tmp / "articles.jsonl", "w", encoding="utf-8") as f:
        for art in articles:
            f.write(json.dumps(art.to_dict(), ensure_ascii=False) + "\n")
    with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps({"id": c.id, "doc_id": c.doc_id, "start": c.start, "end": c.end}) + "\n")
    np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
    write_search(tmp)
    files = sorted(p for p in tmp.rglob("*") if p.is_file())
    manifest = dict(manifest)
    manifest["format_version"] = FORMAT_VERSION
    manifest["created"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    manifest["counts"] = {"articles": len(articles), "chunks": len(chunks)}
    manifest["checksums"] = {str(p.relative_to(tmp)): sha256_file(p) for p in files}
    with open(tmp / "manifest.json", "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
    _fsync_tree(tmp)
    final = index_dir / name
    if final.exists():  # left over from a crash between rename and pointer swap
        shutil.rmtree(final)
    os.rename(tmp, final)
    pointer_tmp = index_dir / f".{_CURRENT}.tmp-{os.getpid()}"
    with open(pointer_tmp, "w", encoding="utf-8") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(pointer_tmp, index_dir / _CURRENT)
    fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _remove_stale(index_dir, keep=name)
    return final


def _remove_stale(index_dir: Path, keep: str) -> None:
    """Drop old generations and temp folders of dead writers (we hold the lock)."""
    for entry in index_dir.iterdir():
        if entry.name == keep or not entry.is_dir():
            continue
        if entry.name.startswith("gen-") or entry.name.startswith(".gen-"):
            shutil.rmtree(entry, ignore_errors=True)
    for entry in index_dir.glob(f".{_CURRENT}.tmp-*"):
        entry.unlink(missing_ok=True)


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The live manifest, or None when there is no readable index."""
    gen = current_generation(index_dir)
    if gen is None:
        return None
    try:
        return json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_generation(index_dir: Path, *, verify: bool = True) -> IndexData:
    """Load the live generation, checking every file against its checksum."""
    index_dir = Path(index_dir)
    gen = current_generation(index_dir)
    if gen is None:
        raise IndexMissingError(f"no index in {index_dir}/; build one with: rag index corpus --index {index_dir}")
    fix = f"rebuild it with: rag index --rebuild --index {index_dir}"
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"index manifest {gen / 'manifest.json'} is unreadable ({exc}); {fix}") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexCorruptError(f"index in {index_dir}/ has an unknown format; {fix}")
    if verify:
        for rel, digest in manifest.get("checksums", {}).items():
            path = gen / rel
            if not path.is_file():
                raise IndexCorruptError(f"index file {path} is missing; {fix}")
            if sha256_file(path) != digest:
                raise IndexCorruptError(f"index file {path} is corrupted (checksum mismatch); {fix}")
    try:
        articles = {}
        with open(gen / "articles.jsonl", encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                articles[d["id"]] = Article(**d)
        chunks = []
        with open(gen / "chunks.jsonl", encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                text = articles[d["doc_id"]].text[d["start"] : d["end"]]
                chunks.append(Chunk(id=d["id"], doc_id=d["doc_id"], text=text, start=d["start"], end=d["end"]))
        vectors = np.load(gen / "vectors.npy")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise IndexCorruptError(f"index in {gen} is unreadable ({exc}); {fix}") from exc
    if len(vectors) != len(chunks):
        raise IndexCorruptError(f"index in {gen} has {len(vectors)} vectors for {len(chunks)} chunks; {fix}")
    return IndexData(manifest, articles, chunks, vectors, path=gen, bm25_dir=gen / "bm25")


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
