"""Retrieval at scale through the store: fused retrieval latency per backend, and HNSW against exact search.

The chunks are synthetic (Zipf-distributed words, random or embedding-like unit
vectors) so that sizes far beyond the shipped corpus can be measured in minutes.
Retrieval latency goes through a real store (`rag.store.open_store`: the embedded
SQLite + FAISS + tantivy folder, or Milvus Lite) and the `HybridRetriever` the
assistant uses; the HNSW figure goes through the store's own vector files
(`rag.store.vectors`): the graph is built and saved as a commit would, and loaded
again at each ``efSearch`` of the sweep.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from .common import Figure, pct

__all__ = ["retrieval_latency", "approximate_index", "embedding_like", "synthetic_store"]


def _synthetic(n: int, dim: int, seed: int = 0):
    from rag.store import StoredArticle
    from rag.types import Article, Chunk

    rng = np.random.default_rng(seed)
    vocab = [f"term{i}" for i in range(30_000)]
    zipf = 1 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
    words = rng.choice(len(vocab), size=(n, 40), p=zipf)
    texts = [" ".join(vocab[j] for j in row) for row in words]
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    articles, chunks = [], []
    for a in range(0, n, 4):  # four chunks an article, one day each, over a year
        body = "\n".join(texts[a : a + 4])
        art = Article(f"d{a // 4}", f"title {texts[a][:40]}", body, published=f"2025-{1 + a // 4 % 12:02d}-{1 + a % 28:02d}")
        articles.append(StoredArticle(art, f"g{a}", f"t{a}"))
        pos = 0
        for i in range(a, min(n, a + 4)):
            chunks.append(Chunk(f"c{i}", art.id, texts[i], pos, pos + len(texts[i])))
            pos += len(texts[i]) + 1
    return articles, chunks, vectors, vocab, rng


def synthetic_store(spec: str, n: int, dim: int, batch: int = 20_000):
    """A store at ``spec`` holding ``n`` synthetic chunks; returns it, the vocabulary, an rng and the build seconds."""
    from rag.store import open_store

    articles, chunks, vectors, vocab, rng = _synthetic(n, dim)
    store = open_store(spec)
    t = time.perf_counter()
    with store.writing():
        per = batch // 4
        for a in range(0, len(articles), per):
            arts = articles[a : a + per]
            ids = {x.article.id for x in arts}
            rows = [i for i in range(a * 4, min(n, (a + per) * 4)) if chunks[i].doc_id in ids]
            store.upsert(arts, [chunks[i] for i in rows], vectors[rows])
        store.commit({"embedder": "synthetic", "dim": dim})
    return store, vocab, rng, time.perf_counter() - t


def retrieval_latency(embedder, n: int, queries: int = 200, backend: str = "sqlite", work: Path | None = None) -> Figure:
    """Fused retrieval of single queries (query embedding included) over ``n`` synthetic chunks in a
    store of ``backend`` ("sqlite" or "milvus", Milvus Lite)."""
    from rag.config import available_cores
    from rag.retrieval import HybridRetriever

    with tempfile.TemporaryDirectory(prefix="rag-bench-store-", dir=work) as folder:
        spec = f"milvus:{folder}/store.db" if backend == "milvus" else f"{folder}/index"
        store, vocab, rng, build = synthetic_store(spec, n, embedder.dim)
        retriever = HybridRetriever(store, lambda q: embedder.embed([q])[0])
        times = []
        for i in range(queries + 5):
            q = " ".join(vocab[j] for j in rng.integers(0, 3000, size=6))
            t = time.perf_counter()
            retriever.search(q, 5)
            if i >= 5:  # the first few warm caches
                times.append(time.perf_counter() - t)
        store.close()
    p95 = pct(times, 95) * 1000
    name = "retrieval_p95" if backend == "sqlite" else f"retrieval_p95_{backend}"
    goal = "<= 20 ms at 100k chunks" if backend == "sqlite" else "reported"
    return Figure(
        name, p95, "ms", goal=goal, met=(p95 <= 20 if n >= 100_000 else None) if backend == "sqlite" else None,
        note=f"{backend} store, {n} synthetic chunks (built in {build:.0f} s), {queries} queries, "
        f"p50 {pct(times, 50) * 1000:.1f} ms, dense (exact scores) + BM25 + z-score fusion, query embedding "
        f"({type(embedder).__name__}) included, {available_cores()} cores",
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


def _sweep_point(search, qs, truth) -> tuple[float, float]:
    """Mean recall@10 against ``truth`` and p95 ms of ``search`` over the queries ``qs``."""
    times, recall = [], []
    for q, want in zip(qs, truth):
        t = time.perf_counter()
        got = {k for k, _ in search(q, 10)}
        times.append(time.perf_counter() - t)
        recall.append(len(got & want) / 10)
    return float(np.mean(recall)), pct(times, 95) * 1000


def approximate_index(n: int, dim: int, queries: int = 200, work: Path | None = None) -> Figure:
    """The store's HNSW vector file (written from `APPROXIMATE_FROM` rows) against exact search; the
    graph is saved under ``work`` (a temporary folder when None) and loaded at each efSearch of the sweep."""
    import faiss

    from rag.store import vectors as vf

    rng = np.random.default_rng(1)
    vectors = embedding_like(n, dim, rng)
    qs = embedding_like(queries, dim, rng)
    keys = np.arange(n, dtype=np.int64)
    exact = faiss.IndexFlatIP(dim)
    exact.add(vectors)
    truth, exact_times = [], []
    for q in qs:
        t = time.perf_counter()
        _, ids = exact.search(q.reshape(1, -1), 10)
        truth.append(set(ids[0].tolist()))
        exact_times.append(time.perf_counter() - t)
    del exact
    with tempfile.TemporaryDirectory(prefix="rag-bench-hnsw-", dir=work) as folder:
        t = time.perf_counter()
        written = vf.write_vectors(Path(folder), "vec-000001", keys, vectors, graph=True)
        build = time.perf_counter() - t
        del vectors
        graph_file = Path(folder) / "vec-000001.faiss"
        per_chunk = graph_file.stat().st_size / n
        dense = vf.DenseSearch(Path(folder), [written], keys)
        sweep = {}
        for ef in sorted({64, 128, 256, 512, vf.EF_SEARCH}):
            dense.set_ef_search(ef)
            sweep[ef] = _sweep_point(dense.search, qs, truth)
    r10, p95 = sweep[vf.EF_SEARCH]
    exact_p95 = pct(exact_times, 95) * 1000
    others = "; ".join(f"efSearch {ef}: recall {r:.3f}, p95 {p:.1f} ms" for ef, (r, p) in sweep.items())
    return Figure(
        "approximate_index_p95", p95, "ms", exact_p95, "exact search (IndexFlatIP) p95 on the same vectors",
        p95 / exact_p95, "recall@10 >= 0.95, p95 <= 10 ms", r10 >= 0.95 and p95 <= 10,
        f"{n} synthetic embedding-like chunks; recall@10 {r10:.3f} at the default efSearch {vf.EF_SEARCH}; "
        f"vector file with HNSW written in {build:.0f} s; {per_chunk:.0f} bytes per chunk (vector + graph); "
        f"used automatically from {vf.APPROXIMATE_FROM} chunks; {others}",
    )
