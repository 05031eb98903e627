"""Dense search over normalised vectors with FAISS (exact inner product = cosine)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

__all__ = ["DenseIndex", "FaissIndex", "HnswIndex", "SegmentedIndex", "APPROXIMATE_FROM", "dense_index", "wants_graph"]

# Exact search grows linearly, ~15 ms p95 per 100k rows on two cores (measured by
# `rag bench`: 31.6 ms at 200k), so from here an HNSW graph takes over (~1 ms at 200k,
# recall@10 0.96). Below it exact search is fast enough and costs no build time or memory.
APPROXIMATE_FROM = 200_000
HNSW_FILE = "dense.hnsw"


def wants_graph(rows: int) -> bool:
    """Whether an index of ``rows`` chunks searches an HNSW graph instead of every vector."""
    return rows >= APPROXIMATE_FROM


class DenseIndex(Protocol):
    """Nearest rows of a vector matrix by inner product; ``allowed`` (one flag a row) limits
    the search to some rows, inside FAISS, so the others never crowd them out."""

    def search(self, query: np.ndarray, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]: ...


class _Bitmap:
    """A FAISS selector of the rows flagged in a boolean mask (it keeps the bits alive)."""

    def __init__(self, mask: np.ndarray) -> None:
        import faiss

        self._bits = np.packbits(np.ascontiguousarray(mask, dtype=np.uint8), bitorder="little")
        self.selector = faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(self._bits))
        self.params = faiss.SearchParameters(sel=self.selector)
        self.count = int(mask.sum())


class _Faiss:
    """Search of a wrapped FAISS index, optionally leaving some rows out."""

    _index: object
    size: int

    def search(self, query: np.ndarray, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        if allowed is None:
            return _search(self._index, self.size, query, n)
        sel = _Bitmap(allowed)
        return _search(self._index, sel.count, query, n, sel.params)

    def without(self, rows: np.ndarray) -> DenseIndex:
        """The same index searched as if ``rows`` were not there (they are filtered inside FAISS,
        so they never crowd out the rows that are)."""
        return _Without(self._index, self.size, rows)


class _Without:
    def __init__(self, index, size: int, rows: np.ndarray) -> None:
        import faiss

        self._index = index
        self.size = size - len(rows)
        # Held on self: FAISS keeps raw pointers to the selectors.
        self._batch = faiss.IDSelectorBatch(np.ascontiguousarray(rows, dtype=np.int64))
        self._not = faiss.IDSelectorNot(self._batch)
        # Plain SearchParameters keep an HNSW graph's own efSearch.
        self._params = faiss.SearchParameters(sel=self._not)

        self._alive = np.ones(size, dtype=bool)
        self._alive[rows] = False

    def search(self, query: np.ndarray, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        if allowed is None:
            return _search(self._index, self.size, query, n, self._params)
        sel = _Bitmap(allowed & self._alive)
        return _search(self._index, sel.count, query, n, sel.params)


class FaissIndex(_Faiss):
    """Exact ``IndexFlatIP`` search.

    Exact search costs O(chunks) per query (~15 ms p95 per 100k 384-d rows on
    two cores), fine for a laptop corpus; from `APPROXIMATE_FROM` chunks
    `HnswIndex` takes over (see `dense_index`).
    """

    def __init__(self, vectors: np.ndarray) -> None:
        try:
            import faiss
        except ImportError as exc:  # pragma: no cover - declared dependency
            from ..errors import RagError

            raise RagError("faiss is missing; run: pip install faiss-cpu") from exc
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.size = len(vectors)
        self._index = faiss.IndexFlatIP(vectors.shape[1] if vectors.ndim == 2 and vectors.shape[1] else 1)
        if self.size:
            self._index.add(vectors)



class HnswIndex(_Faiss):
    """Approximate inner-product search with a FAISS HNSW graph (M=32).

    ``ef_search`` trades speed for recall: at a million embedding-like rows 128
    gave recall@10 0.91 (p95 1.6 ms), so the default is 256 (`rag bench` measures
    the sweep). The graph is built once per index generation and saved beside the vectors.
    """

    def __init__(self, index, size: int) -> None:
        self._index = index
        self.size = size

    @classmethod
    def build(cls, vectors: np.ndarray, *, m: int = 32, ef_construction: int = 64, ef_search: int = 256) -> HnswIndex:
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index = faiss.IndexHNSWFlat(vectors.shape[1], m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        index.add(vectors)
        index.hnsw.efSearch = ef_search
        return cls(index, len(vectors))

    def save(self, path: Path) -> None:
        import faiss

        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, *, ef_search: int = 256) -> HnswIndex:
        import faiss

        index = faiss.read_index(str(path))
        index.hnsw.efSearch = ef_search
        return cls(index, index.ntotal)



def dense_index(vectors: np.ndarray, folder: Path | None = None) -> FaissIndex | HnswIndex:
    """Exact search for small indexes; from `APPROXIMATE_FROM` rows, the HNSW graph saved in
    ``folder`` (built here when the index was written without one)."""
    if not wants_graph(len(vectors)):
        return FaissIndex(vectors)
    saved = folder / HNSW_FILE if folder else None
    if saved is not None and saved.exists():
        index = HnswIndex.load(saved)
        if index.size == len(vectors):
            return index
    return HnswIndex.build(vectors)


class SegmentedIndex:
    """Dense search over several segments, each with its own index and deleted rows.

    ``parts`` pairs each segment's index with ``remap``: its row r is row
    ``remap[r]`` of the whole index, or deleted where that is -1.
    """

    def __init__(self, parts: Sequence[tuple[_Faiss, np.ndarray]]) -> None:
        self._parts = []
        for index, remap in parts:
            dead = np.flatnonzero(remap < 0)
            self._parts.append((index.without(dead) if len(dead) else index, remap))

    def search(self, query: np.ndarray, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        hits = []
        for index, remap in self._parts:
            part = None if allowed is None else (remap >= 0) & allowed[np.maximum(remap, 0)]
            hits.extend((int(remap[i]), s) for i, s in index.search(query, n, part))
        hits.sort(key=lambda h: -h[1])
        return hits[:n]


def _search(index, size: int, query: np.ndarray, n: int, params=None) -> list[tuple[int, float]]:
    """The top ``n`` (row, score) of a FAISS index for one query vector."""
    n = min(n, size)
    if n <= 0:
        return []
    q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
    scores, ids = index.search(q, n, params=params)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
