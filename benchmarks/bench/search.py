"""Retrieval at scale: fused retrieval latency, and the HNSW graph against exact search, on synthetic chunks.

The vectors are synthetic (random, or embedding-like for the recall sweep) so
that sizes far beyond the shipped corpus can be measured in minutes. The HNSW
figure goes through `rag.retrieval.HnswIndex` only: the graph is built, saved,
and loaded again at each ``efSearch`` of the sweep.
"""

from __future__ import annotations

import inspect
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import Figure, pct

__all__ = ["retrieval_latency", "approximate_index", "embedding_like"]


def _synthetic_chunks(n: int, dim: int, seed: int = 0):
    from rag.types import Chunk

    rng = np.random.default_rng(seed)
    vocab = [f"term{i}" for i in range(30_000)]
    zipf = 1 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
    words = rng.choice(len(vocab), size=(n, 40), p=zipf)
    texts = [" ".join(vocab[j] for j in row) for row in words]
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk(f"c{i}", f"d{i // 4}", t, 0, len(t)) for i, t in enumerate(texts)]
    return chunks, vectors, vocab, rng


def retrieval_latency(embedder, n: int, queries: int = 200) -> Figure:
    """Fused retrieval of single queries (query embedding included) over ``n`` synthetic chunks."""
    from rag.config import available_cores
    from rag.retrieval import BM25Index, FaissIndex, HybridRetriever

    chunks, vectors, vocab, rng = _synthetic_chunks(n, embedder.dim)
    retriever = HybridRetriever(
        chunks, FaissIndex(vectors), BM25Index.build([c.text for c in chunks]), lambda q: embedder.embed([q])[0]
    )
    times = []
    for i in range(queries + 5):
        q = " ".join(vocab[j] for j in rng.integers(0, 3000, size=6))
        t = time.perf_counter()
        retriever.search(q, 5)
        if i >= 5:  # the first few warm caches
            times.append(time.perf_counter() - t)
    p95 = pct(times, 95) * 1000
    return Figure(
        "retrieval_p95", p95, "ms", goal="<= 40 ms at 100k chunks", met=p95 <= 40 if n >= 100_000 else None,
        note=f"{n} synthetic chunks, {queries} queries, p50 {pct(times, 50) * 1000:.1f} ms, "
        f"dense exact + BM25 + z-score fusion, query embedding included, {available_cores()} threads",
    )


def embedding_like(n: int, dim: int, rng) -> np.ndarray:
    """Unit vectors with embedding-like structure: a 32-d latent space plus a little noise
    (sentence embeddings have low intrinsic dimension; uniform random vectors would not)."""
    mix = rng.standard_normal((32, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, 100_000):
        b = min(n, a + 100_000)
        block = rng.standard_normal((b - a, 32)).astype(np.float32) @ mix
        block += 0.3 * rng.standard_normal((b - a, dim)).astype(np.float32)
        out[a:b] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def _sweep_point(graph, qs, truth) -> tuple[float, float]:
    """Mean recall@10 against ``truth`` and p95 ms of ``graph`` over the queries ``qs``."""
    times, recall = [], []
    for q, want in zip(qs, truth):
        t = time.perf_counter()
        got = {i for i, _ in graph.search(q, 10)}
        times.append(time.perf_counter() - t)
        recall.append(len(got & want) / 10)
    return float(np.mean(recall)), pct(times, 95) * 1000


def approximate_index(n: int, dim: int, queries: int = 200, work: Path | None = None) -> Figure:
    """HNSW (picked automatically from `APPROXIMATE_FROM` rows) against exact search; the graph is
    saved under ``work`` (a temporary folder when None) and loaded at each efSearch of the sweep."""
    from rag.retrieval import APPROXIMATE_FROM, FaissIndex, HnswIndex

    rng = np.random.default_rng(1)
    vectors = embedding_like(n, dim, rng)
    qs = embedding_like(queries, dim, rng)
    exact = FaissIndex(vectors)
    truth, exact_times = [], []
    for q in qs:
        t = time.perf_counter()
        truth.append({i for i, _ in exact.search(q, 10)})
        exact_times.append(time.perf_counter() - t)
    del exact
    default_ef = inspect.signature(HnswIndex.load).parameters["ef_search"].default
    with tempfile.TemporaryDirectory(prefix="rag-bench-hnsw-", dir=work) as folder:
        saved = Path(folder) / "graph.hnsw"
        t = time.perf_counter()
        graph = HnswIndex.build(vectors)
        build = time.perf_counter() - t
        graph.save(saved)
        del graph, vectors
        per_chunk = saved.stat().st_size / n
        sweep = {}
        for ef in sorted({64, 128, 256, 512, default_ef}):
            sweep[ef] = _sweep_point(HnswIndex.load(saved, ef_search=ef), qs, truth)
    r10, p95 = sweep[default_ef]
    exact_p95 = pct(exact_times, 95) * 1000
    others = "; ".join(f"efSearch {ef}: recall {r:.3f}, p95 {p:.1f} ms" for ef, (r, p) in sweep.items())
    return Figure(
        "approximate_index_p95", p95, "ms", exact_p95, "exact search (IndexFlatIP) p95 on the same vectors",
        p95 / exact_p95, "recall@10 >= 0.95, p95 <= 10 ms", r10 >= 0.95 and p95 <= 10,
        f"{n} synthetic embedding-like chunks; recall@10 {r10:.3f} at the default efSearch {default_ef}; "
        f"HNSW build {build:.0f} s; {per_chunk:.0f} bytes per chunk (vector + graph); "
        f"used automatically from {APPROXIMATE_FROM} chunks; {others}",
    )
