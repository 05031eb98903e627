"""Chunk vectors on disk, searched with FAISS by chunk key.

Vectors live in immutable files, ``vec-NNNNNN.npy`` (float32, one normalised row
a chunk) beside ``vec-NNNNNN.keys.npy`` (the rows' chunk keys). A commit writes one
new file for the chunks it adds; SQLite records which files make up a generation
and their checksums, and which keys are live, so a replaced chunk's row stays in
its file, unused, until files are merged (`rag.store.sqlite` decides when).

Each file is searched by its own FAISS index, ``IndexIDMap`` over exact inner
product (``IndexFlatIP``, cosine on normalised rows), so results come back as
chunk keys. From `APPROXIMATE_FROM` rows a file gets an HNSW graph instead, built
once when the file is written and saved beside it (``vec-NNNNNN.faiss``). Rows
that are not live, or not allowed by a search's `Where`, are left out inside FAISS
by an id selector, so they never crowd out the rows that are.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["APPROXIMATE_FROM", "EF_SEARCH", "VectorFile", "write_vectors", "damaged", "read_file_keys", "DenseSearch", "wants_graph"]

# Exact search grows linearly, ~15 ms p95 per 100k rows on two cores (measured by
# `rag bench`: 31.6 ms at 200k), so from here an HNSW graph takes over (~1 ms at 200k,
# recall@10 0.96). Below it exact search is fast enough and costs no build time or memory.
APPROXIMATE_FROM = 200_000
# At a million embedding-like rows efSearch 128 gave recall@10 0.91, 256 gave 0.96 (`rag bench`).
EF_SEARCH = 256


def wants_graph(rows: int) -> bool:
    """Whether a vector file of ``rows`` chunks is searched through an HNSW graph."""
    return rows >= APPROXIMATE_FROM


@dataclass(frozen=True)
class VectorFile:
    """One vector file as SQLite records it: its name, rows and each of its files' sha256."""

    name: str
    rows: int
    checksums: dict[str, str]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsynced_save(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, array)
        f.flush()
        os.fsync(f.fileno())


def write_vectors(folder: Path, name: str, keys: np.ndarray, vectors: np.ndarray, *, graph: bool | None = None) -> VectorFile:
    """Write (and fsync) one vector file, with its HNSW graph when it is large enough (or when
    ``graph`` says so: `rag bench` measures the graph at any size)."""
    import faiss

    folder.mkdir(parents=True, exist_ok=True)
    keys = np.ascontiguousarray(keys, dtype=np.int64)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    _fsynced_save(folder / f"{name}.keys.npy", keys)
    _fsynced_save(folder / f"{name}.npy", vectors)
    files = [f"{name}.keys.npy", f"{name}.npy"]
    if wants_graph(len(keys)) if graph is None else graph:
        hnsw = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = 64
        index = faiss.IndexIDMap(hnsw)
        index.add_with_ids(vectors, keys)
        faiss.write_index(index, str(folder / f"{name}.faiss"))
        with open(folder / f"{name}.faiss", "rb") as f:
            os.fsync(f.fileno())
        files.append(f"{name}.faiss")
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return VectorFile(name, len(keys), {f: sha256_file(folder / f) for f in files})


def damaged(folder: Path, files: Sequence[VectorFile], known_good: set[tuple[str, str]] = frozenset()):
    """(path, what is wrong) for each file of ``files`` that is missing or fails its recorded
    checksum; files whose (name, sha256) is in ``known_good`` are not read again."""
    for vf in files:
        for name, digest in vf.checksums.items():
            if (name, digest) in known_good:
                continue
            path = folder / name
            if not path.is_file():
                yield path, "missing"
            elif sha256_file(path) != digest:
                yield path, "corrupted (checksum mismatch)"


def read_file_keys(folder: Path, name: str) -> np.ndarray:
    return np.load(folder / f"{name}.keys.npy")


def read_file_vectors(folder: Path, name: str, *, mmap: bool = False) -> np.ndarray:
    return np.load(folder / f"{name}.npy", mmap_mode="r" if mmap else None)


def _faiss_index(folder: Path, vf: VectorFile, keys: np.ndarray):
    import faiss

    if f"{vf.name}.faiss" in vf.checksums:
        index = faiss.read_index(str(folder / f"{vf.name}.faiss"))
        faiss.downcast_index(index.index).hnsw.efSearch = EF_SEARCH
        return index
    vectors = read_file_vectors(folder, vf.name)
    index = faiss.IndexIDMap(faiss.IndexFlatIP(vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1))
    if len(keys):
        index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), keys)
    return index


class DenseSearch:
    """Inner-product search over the live keys of some vector files."""

    def __init__(self, folder: Path, files: Sequence[VectorFile], live: np.ndarray) -> None:
        self._parts = []
        self._live = live  # sorted live chunk keys
        stale = 0
        for vf in files:
            keys = read_file_keys(folder, vf.name)
            stale += int(len(keys) - np.isin(keys, live, assume_unique=True).sum())
            self._parts.append(_faiss_index(folder, vf, keys))
        self._space = int(live.max()) + 1 if len(live) else 0
        # With no stale rows anywhere, an unfiltered search needs no selector at all.
        self._all = None if not stale else self.selector(np.ones(len(live), dtype=bool))

    def selector(self, mask: np.ndarray):
        """A FAISS selector of the live keys flagged in ``mask`` (one flag per live key, in order)."""
        import faiss

        bits = np.zeros(self._space, dtype=np.uint8)
        bits[self._live[mask]] = 1
        packed = np.packbits(bits, bitorder="little")
        sel = faiss.IDSelectorBitmap(self._space, faiss.swig_ptr(packed))
        params = faiss.SearchParameters(sel=sel)
        params._keep = (packed, sel)  # FAISS holds raw pointers: keep their owners alive with the params
        return params, int(mask.sum())

    def set_ef_search(self, ef: int) -> None:
        """Trade speed for recall in the HNSW graphs (exact files are unaffected); `rag bench` sweeps it."""
        import faiss

        for index in self._parts:
            inner = faiss.downcast_index(index.index)
            if hasattr(inner, "hnsw"):
                inner.hnsw.efSearch = ef

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The top ``k`` (key, score) among the live keys (those flagged in ``mask`` when given)."""
        params, allowed = (self._all or (None, len(self._live))) if mask is None else self.selector(mask)
        k = min(k, allowed)
        if k <= 0:
            return []
        import faiss

        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        hits: list[tuple[int, float]] = []
        # One query is searched on one thread: OpenMP's second thread made the exact search at
        # 100k chunks slower here (retrieval p95 39 ms against 31 ms), not faster.
        threads = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            for index in self._parts:
                n = min(k, index.ntotal)
                if n <= 0:
                    continue
                scores, keys = index.search(q, n, params=params)
                hits.extend((int(i), float(s)) for i, s in zip(keys[0], scores[0]) if i >= 0)
        finally:
            faiss.omp_set_num_threads(threads)
        hits.sort(key=lambda t: (-t[1], t[0]))
        return hits[:k]
