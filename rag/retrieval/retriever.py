"""The hybrid retriever: dense and BM25 candidates fused into top-k passages."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..types import Chunk, Passage
from .dense import DenseIndex
from .fusion import reciprocal_rank_fusion, zscore_fusion
from .lexical import LexicalIndex
from .titles import TitleScorer

__all__ = ["HybridRetriever", "diversify"]


class HybridRetriever:
    """Retrieves chunks by meaning (dense) and by words (BM25), fused into one list.

    ``method`` is "hybrid" (default), "dense" or "lexical"; the single-method
    settings exist to measure what fusion adds. ``fusion`` is "zscore" (default,
    dense weighted ``dense_weight``) or "rrf". With ``titles``, the candidates' headlines
    join the z-score fusion as two more lists, each weighted ``title_weight``.

    The weights were fitted on realtimeqa-2023 (`benchmarks/fit_retrieval.py`, cross-validated
    by week; the README gives every fold): dense 0.65 against BM25 0.35, titles 0.35 each.
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
        titles: TitleScorer | None = None,
        title_weight: float = 0.35,
    ) -> None:
        self.chunks = chunks
        self.dense = dense
        self.lexical = lexical
        self.embed_query = embed_query
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.fusion = fusion
        self.dense_weight = dense_weight
        self.titles = titles
        self.title_weight = title_weight

    def search(
        self,
        query: str,
        k: int = 5,
        *,
        method: str = "hybrid",
        query_vector: np.ndarray | None = None,
        allowed: np.ndarray | None = None,
        prior: np.ndarray | None = None,
        per_doc: int | None = None,
        group: Callable[[str], str] | None = None,
    ) -> list[Passage]:
        """The top ``k`` passages. ``allowed`` flags the rows that may be returned, ``prior`` is
        added to each fused score (the recency boost), and ``per_doc`` caps the passages taken
        from one article while others remain (see `diversify`); ``group`` maps an article to
        its story, so that copies of one story share that cap."""
        if not self.chunks or not query.strip():
            return []
        n = max(self.candidates, k)
        dense_hits: list[tuple[int, float]] = []
        lexical_hits: list[tuple[int, float]] = []
        if method in ("hybrid", "dense"):
            vec = query_vector if query_vector is not None else self.embed_query(query)
            dense_hits = self.dense.search(vec, n, allowed) if allowed is not None else self.dense.search(vec, n)
        if method in ("hybrid", "lexical"):
            lexical_hits = self.lexical.search(query, n, allowed) if allowed is not None else self.lexical.search(query, n)
        dense_rank = {i: r for r, (i, _) in enumerate(dense_hits, start=1)}
        lexical_rank = {i: r for r, (i, _) in enumerate(lexical_hits, start=1)}
        if method == "dense":
            fused = dense_hits
        elif method == "lexical":
            fused = lexical_hits
        elif self.fusion == "rrf":
            fused = reciprocal_rank_fusion([[i for i, _ in dense_hits], [i for i, _ in lexical_hits]], k=self.rrf_k)
        else:
            lists = [dense_hits, lexical_hits]
            weights = [self.dense_weight, 1 - self.dense_weight]
            if self.titles is not None and method == "hybrid":
                rows = list(dict.fromkeys([i for i, _ in dense_hits] + [i for i, _ in lexical_hits]))
                if rows:
                    vec = query_vector if query_vector is not None else self.embed_query(query)
                    lists += [self.titles.lexical(query, rows), self.titles.dense(vec, rows)]
                    weights += [self.title_weight, self.title_weight]
            fused = zscore_fusion(lists, weights=weights)
        if prior is not None:
            fused = sorted(((i, s + float(prior[i])) for i, s in fused), key=lambda t: -t[1])
        passages = [Passage(self.chunks[i], float(s), dense_rank.get(i), lexical_rank.get(i)) for i, s in fused]
        return diversify(passages, k, per_doc, group) if per_doc else passages[:k]


def diversify(
    passages: Sequence[Passage], k: int, per_doc: int, group: Callable[[str], str] | None = None
) -> list[Passage]:
    """The first ``k`` passages taking at most ``per_doc`` from one article (one story, with
    ``group``), then, if fewer were found, the best of the rest (a one-article corpus still gets k)."""
    out: list[Passage] = []
    rest: list[Passage] = []
    count: dict[str, int] = {}
    for p in passages:
        key = group(p.chunk.doc_id) if group else p.chunk.doc_id
        if count.get(key, 0) < per_doc:
            count[key] = count.get(key, 0) + 1
            out.append(p)
            if len(out) == k:
                return out
        else:
            rest.append(p)
    kept = out + rest[: k - len(out)]
    return sorted(kept, key=lambda p: -p.score) if rest else kept
