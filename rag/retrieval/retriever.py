"""The hybrid retriever: dense and BM25 candidates fused into top-k passages."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..types import Chunk, Passage
from .dense import DenseIndex
from .fusion import reciprocal_rank_fusion, zscore_fusion
from .lexical import LexicalIndex

__all__ = ["HybridRetriever"]


class HybridRetriever:
    """Retrieves chunks by meaning (dense) and by words (BM25), fused into one list.

    ``method`` is "hybrid" (default), "dense" or "lexical"; the single-method
    settings exist to measure what fusion adds. ``fusion`` is "zscore" (default,
    dense weighted ``dense_weight``) or "rrf".
    """

    def __init__(
        self,
        chunks: Sequence[Chunk],
        dense: DenseIndex,
        lexical: LexicalIndex,
        embed_query,
        *,
        candidates: int = 100,
        rrf_k: int = 60,
        fusion: str = "zscore",
        dense_weight: float = 0.65,
    ) -> None:
        self.chunks = chunks
        self.dense = dense
        self.lexical = lexical
        self.embed_query = embed_query
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.dense_weight = dense_weight

    def search(
        self, query: str, k: int = 5, *, method: str = "hybrid", query_vector: np.ndarray | None = None
    ) -> list[Passage]:
        if not self.chunks or not query.strip():
            return []
        n = max(self.candidates, k)
        dense_hits: list[tuple[int, float]] = []
        lexical_hits: list[tuple[int, float]] = []
        if method in ("hybrid", "dense"):
            vec = query_vector if query_vector is not None else self.embed_query(query)
            dense_hits = self.dense.search(vec, n)
        if method in ("hybrid", "lexical"):
            lexical_hits = self.lexical.search(query, n)
        dense_rank = {i: r for r, (i, _) in enumerate(dense_hits, start=1)}
        lexical_rank = {i: r for r, (i, _) in enumerate(lexical_hits, start=1)}
        if method == "dense":
            fused = dense_hits
        elif method == "lexical":
            fused = lexical_hits
        elif self.fusion == "rrf":
            fused = reciprocal_rank_fusion([[i for i, _ in dense_hits], [i for i, _ in lexical_hits]], k=self.rrf_k)
        else:
            fused = zscore_fusion([dense_hits, lexical_hits], weights=[self.dense_weight, 1 - self.dense_weight])
        return [
            Passage(self.chunks[i], float(score), dense_rank.get(i), lexical_rank.get(i))
            for i, score in fused[:k]
        ]
