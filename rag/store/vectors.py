"""Chunk vectors on disk, searched with FAISS by chunk key.

Vectors live in immutable files, ``vec-NNNNNN.npy`` (float32, one normalised row
a chunk) beside ``vec-NNNNNN.keys.npy`` (the rows' chunk keys). A commit writes one
new file for the chunks it adds; SQLite records which files make up a generation
and their checksums, and which keys are live, so a replaced chunk's row stays in
its file, unused, until files are merged (`rag.store.sqlite` decides when).

Each file is searched by its own FAISS index by inner product (cosine on
normalised rows), and its result rows are mapped back to chunk keys. A small file
is scanned exactly (``IndexFlatIP``); from `RESCORE_FROM` rows an 8-bit scalar
quantised scan (``IndexScalarQuantizer``) proposes candidates that the float32 rows
score again (``IndexRefineFlat``), so the scores returned are the exact ones. From
`APPROXIMATE_FROM` rows a file gets an HNSW graph instead, built once when the file
is written and saved beside it (``vec-NNNNNN.faiss``, keyed by chunk key). Rows that
are not live, or not allowed by a search's `Where`, are left out inside FAISS by an
id selector, so they never crowd out the rows that are.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["APPROXIMATE_FROM", "EF_SEARCH", "RESCORE_FROM", "VectorFile", "write_vectors", "damaged", "read_file_keys", "DenseSearch", "wants_graph"]

# Exact search grows linearly, ~15 ms p95 per 100k rows on two cores (measured by
# `rag bench`: 31.6 ms at 200k), so from here an HNSW graph takes over (~1 ms at 200k,
# recall@10 0.96). Below it exact search is fast enough and costs no build time or memory.
APPROXIMATE_FROM = 200_000
# At a million embedding-like rows efSearch 128 gave recall@10 0.91, 256 gave 0.96 (`rag bench`).
EF_SEARCH = 256
# From this many rows an exact file is scanned in 8 bits first and its best RESCORE_FACTOR x k
# rows re-scored in float32. At 96k realtimeqa rows that took the dense p95 from 21 to 9 ms and
# returned the exact search's top 100, scores included, for all of 100 queries (factor 2 missed
# one row of one query). Below it the plain float32 scan takes a few milliseconds.
RESCORE_FROM = 20_000
RESCORE_FACTOR = 4


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


class _Part:
    """One vector file's FAISS index. ``rows`` maps its result labels to chunk keys, or is None
    when the index answers in chunk keys itself (an ``IndexIDMap``, as saved HNSW graphs are)."""

    def __init__(self, index, rows: np.ndarray | None, coarse=None) -> None:
        self.index, self.rows = index, rows
        self._coarse = coarse  # a refine index points at its coarse index without owning it

    @property
    def rescored(self) -> bool:
        """Whether an 8-bit scan proposes candidates that the float32 rows score again."""
        return self._coarse is not None

    def params(self, filt: _Filter | None):
        """FAISS search parameters restricting this part to ``filt``'s keys (None: no restriction)."""
        import faiss

        if filt is None:
            sel = None
        elif self.rows is None:
            sel = filt.key_selector()
        else:
            sel = filt.row_selector(self)
        if not self.rescored:
            return None if sel is None else faiss.SearchParameters(sel=sel)
        params = faiss.IndexRefineSearchParameters()
        params.k_factor = RESCORE_FACTOR
        if sel is not None:
            params.base_index_params = faiss.SearchParameters(sel=sel)
            params._keep = (sel, params.base_index_params)
        return params


class _Filter:
    """The live keys a search may return, as a flag per key of the key space."""

    def __init__(self, bits: np.ndarray, allowed: int) -> None:
        self.bits, self.allowed = bits, allowed
        self._selectors: dict[int, object] = {}  # per part (0: the key space), made once per filter

    def key_selector(self):
        """A selector over chunk keys, for parts that answer in keys."""
        return self._selector(0, lambda: self.bits)

    def row_selector(self, part: _Part):
        """A selector over ``part``'s rows, for parts that answer in row numbers."""
        return self._selector(id(part), lambda: self.bits[part.rows])

    def _selector(self, slot: int, make_flags: Callable[[], np.ndarray]):
        if slot not in self._selectors:
            import faiss

            flags = make_flags()
            packed = np.packbits(flags, bitorder="little")
            sel = faiss.IDSelectorBitmap(len(flags), faiss.swig_ptr(packed))
            sel._keep = packed  # FAISS holds a raw pointer: keep its owner alive with the selector
            self._selectors[slot] = sel
        return self._selectors[slot]


def _parts(folder: Path, vf: VectorFile, keys: np.ndarray, pieces: int) -> list[_Part]:
    """The file's index; a rescored file is cut into ``pieces`` row ranges, searched side by side."""
    import faiss

    if f"{vf.name}.faiss" in vf.checksums:
        index = faiss.read_index(str(folder / f"{vf.name}.faiss"))
        faiss.downcast_index(index.index).hnsw.efSearch = EF_SEARCH
        return [_Part(index, None)]
    vectors = np.ascontiguousarray(read_file_vectors(folder, vf.name), dtype=np.float32)
    dim = vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1
    if len(keys) < RESCORE_FROM:
        index = faiss.IndexFlatIP(dim)
        index.add(vectors.reshape(-1, dim))
        return [_Part(index, keys)]
    out = []
    cuts = np.linspace(0, len(keys), max(1, min(pieces, len(keys))) + 1).astype(int)
    for a, b in zip(cuts, cuts[1:]):  # row ranges: views of the file's rows, not copies
        # An 8-bit scan of the rows proposes RESCORE_FACTOR x k candidates and the float32 rows
        # score them: a quarter of the memory read per query, with the exact scores.
        coarse = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        coarse.train(vectors[a:b])
        index = faiss.IndexRefineFlat(coarse)
        index.add(vectors[a:b])
        out.append(_Part(index, keys[a:b], coarse))
    return out


class DenseSearch:
    """Inner-product search over the live keys of some vector files."""

    def __init__(self, folder: Path, files: Sequence[VectorFile], live: np.ndarray) -> None:
        from ..config import available_cores

        self._parts: list[_Part] = []
        self._live = live  # sorted live chunk keys
        self._threads = min(2, available_cores())
        stale = 0
        for vf in files:
            keys = read_file_keys(folder, vf.name)
            stale += int(len(keys) - np.isin(keys, live, assume_unique=True).sum())
            self._parts.extend(_parts(folder, vf, keys, self._threads))
        self._space = int(live.max()) + 1 if len(live) else 0
        # With no stale rows anywhere, an unfiltered search needs no selector at all.
        self._all = None if not stale else self.selector(np.ones(len(live), dtype=bool))

    def selector(self, mask: np.ndarray) -> _Filter:
        """The live keys flagged in ``mask`` (one flag per live key, in order), for `search`."""
        bits = np.zeros(self._space, dtype=np.uint8)
        bits[self._live[mask]] = 1
        return _Filter(bits, int(mask.sum()))

    def set_ef_search(self, ef: int) -> None:
        """Trade speed for recall in the HNSW graphs (exact files are unaffected); `rag bench` sweeps it."""
        import faiss

        for part in self._parts:
            inner = faiss.downcast_index(part.index.index) if part.rows is None else None
            if hasattr(inner, "hnsw"):
                inner.hnsw.efSearch = ef

    def search(self, query: np.ndarray, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """The top ``k`` (key, score) among the live keys (those flagged in ``mask`` when given)."""
        filt = self._all if mask is None else self.selector(mask)
        k = min(k, len(self._live) if filt is None else filt.allowed)
        if k <= 0:
            return []
        import faiss

        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)

        def one(part: _Part) -> list[tuple[int, float]]:
            faiss.omp_set_num_threads(1)  # per thread in OpenMP: the pool's threads set their own
            n = min(k, part.index.ntotal)
            if n <= 0:
                return []
            scores, labels = part.index.search(q, n, params=part.params(filt))
            found = labels[0] >= 0
            keys = labels[0][found] if part.rows is None else part.rows[labels[0][found]]
            return list(zip(keys.tolist(), scores[0][found].tolist()))

        # A query's parts are searched side by side on plain threads (FAISS lets go of the GIL),
        # each part on one OpenMP thread: OpenMP splits a search by queries, so for one query its
        # second thread only got in the way (exact search at 100k: 39 ms against 31 ms), while two
        # halves of an 8-bit scan on two threads took 5.0 ms against 7.5 ms.
        if len(self._parts) > 1 and self._threads > 1:
            from .. import compute

            found = list(compute.pool("rag-dense", self._threads).map(one, self._parts))
        else:
            threads = faiss.omp_get_max_threads()
            try:
                found = [one(p) for p in self._parts]
            finally:
                faiss.omp_set_num_threads(threads)  # the calling thread's own setting, as it was
        hits = [h for part in found for h in part]
        hits.sort(key=lambda t: (-t[1], t[0]))
        return hits[:k]
