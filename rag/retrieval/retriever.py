"""The hybrid retriever: a store's dense and BM25 candidates fused into top-k passages."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .. import compute
from ..store.base import Hit, Store, Where
from ..types import Passage
from .fusion import reciprocal_rank_fusion, zscore_fusion
from .titles import TitleScorer

__all__ = ["HybridRetriever", "diversify"]


class HybridRetriever:
    """Retrieves chunks by meaning (dense) and by words (BM25) from a store, fused into one list.

    ``method`` is "hybrid" (default), "dense" or "lexical"; the single-method
    settings exist to measure what fusion adds. ``fusion`` is "zscore" (default,
    dense weighted ``dense_weight``) or "rrf". With ``titles``, the candidates' headlines
    join the z-score fusion as two more lists, each weighted ``title_weight``.

    The weights were fitted on realtimeqa-2023 (`benchmarks/fit_retrieval.py`, cross-validated
    by week; the README gives every fold): dense 0.65 against BM25 0.35, titles 0.35 each.
    Fusion happens here, the same for every store backend, so answers do not depend on which
    engine holds the index.
    """

    def __init__(
        self,
        store: Store,
        embed_query,
        *,
        candidates: int = 100,
        rrf_k: int = 60,
        fusion: str = "zscore",
        dense_weight: float = 0.65,
        titles: TitleScorer | None = None,
        title_weight: float = 0.35,
    ) -> None:
        self.store = store
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
        where: Where | None = None,
        prior: Callable[[str], float] | None = None,
        per_doc: int | None = None,
        group: Callable[[str], str] | None = None,
        known: Callable[[str], bool] | None = None,
    ) -> list[Passage]:
        """The top ``k`` passages. ``where`` limits what may be returned (inside the store's
        engines), ``prior(doc_id)`` is added to each fused score (the recency boost), and
        ``per_doc`` caps the passages taken from one article while others remain (see
        `diversify`); ``group`` maps an article to its story, so that copies of one story share
        that cap; ``known(doc_id)`` false leaves an article out (one another writer added after
        the caller loaded what it knows of the articles)."""
        if not query.strip():
            return []
        n = max(self.candidates, k)
        dense_hits: list[Hit] = []
        lexical_hits: list[Hit] = []
        vec = None
        lexical = None
        if method == "hybrid" and query_vector is None:
            # BM25 does not wait for the query's embedding: it runs beside it.
            lexical = compute.pool("rag-lexical").submit(self.store.lexical, query, n, where)
        if method in ("hybrid", "dense"):
            vec = query_vector if query_vector is not None else self.embed_query(query)
            dense_hits = self.store.dense(vec, n, where)
        if lexical is not None:
            lexical_hits = lexical.result()
        elif method in ("hybrid", "lexical"):
            lexical_hits = self.store.lexical(query, n, where)
        doc_of = {h.chunk_id: h.doc_id for h in dense_hits + lexical_hits}
        dense_rank = {h.chunk_id: r for r, h in enumerate(dense_hits, start=1)}
        lexical_rank = {h.chunk_id: r for r, h in enumerate(lexical_hits, start=1)}
        dense_list = [(h.chunk_id, h.score) for h in dense_hits]
        lexical_list = [(h.chunk_id, h.score) for h in lexical_hits]
        if method == "dense":
            fused = dense_list
        elif method == "lexical":
            fused = lexical_list
        elif self.fusion == "rrf":
            fused = reciprocal_rank_fusion([[i for i, _ in dense_list], [i for i, _ in lexical_list]], k=self.rrf_k)
        else:
            lists = [dense_list, lexical_list]
            weights = [self.dense_weight, 1 - self.dense_weight]
            if self.titles is not None and doc_of:
                candidates = list(doc_of.items())
                lists += [self.titles.lexical(query, candidates), self.titles.dense(vec, candidates)]
                weights += [self.title_weight, self.title_weight]
            fused = zscore_fusion(lists, weights=weights)
        if known is not None:
            fused = [t for t in fused if known(doc_of[t[0]])]
        if prior is not None:
            fused = sorted(((i, s + prior(doc_of[i])) for i, s in fused), key=lambda t: -t[1])
        # Only the passages returned are read from the store (texts are the slow part to fetch).
        def pick(ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
            if not per_doc:
                return ranked[:k]
            return diversify(ranked, k, per_doc, group, doc=lambda t: doc_of[t[0]], score=lambda t: t[1])

        top = pick(fused)
        chunks = {c.id: c for c in self.store.chunks([i for i, _ in top])}
        if len(chunks) < len(top):
            # A chunk replaced since this reader loaded: pick again among those still there.
            chunks = {c.id: c for c in self.store.chunks([i for i, _ in fused])}
            top = pick([t for t in fused if t[0] in chunks])
        return [Passage(chunks[i], float(s), dense_rank.get(i), lexical_rank.get(i)) for i, s in top]


def diversify(
    passages: Sequence, k: int, per_doc: int, group: Callable[[str], str] | None = None, *,
    doc: Callable = lambda p: p.chunk.doc_id, score: Callable = lambda p: p.score,
) -> list:
    """The first ``k`` passages taking at most ``per_doc`` from one article (one story, with
    ``group``), then, if fewer were found, the best of the rest (a one-article corpus still gets k).
    ``doc`` and ``score`` read an item's article and score (a `Passage`'s by default)."""
    out: list = []
    rest: list = []
    count: dict[str, int] = {}
    for p in passages:
        key = group(doc(p)) if group else doc(p)
        if count.get(key, 0) < per_doc:
            count[key] = count.get(key, 0) + 1
            out.append(p)
            if len(out) == k:
                return out
        else:
            rest.append(p)
    kept = out + rest[: k - len(out)]
    return sorted(kept, key=lambda p: -score(p)) if rest else kept
