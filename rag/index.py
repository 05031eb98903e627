"""A loaded index: articles, chunks and the hybrid retriever over them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .dates import day_number
from .embedder import Embedder
from .errors import RagError
from .retrieval import BM25Index, HybridRetriever, SegmentedIndex, dense_index
from .retrieval.recency import allowed_rows, day_numbers, recency_prior
from .retrieval.titles import TitleScorer
from .store import IndexData, read_generation
from .stories import groups_of
from .types import Article, Chunk, Passage

__all__ = ["Index", "RECENCY_WEIGHT", "RECENCY_HALF_LIFE"]

# The recency boost (see `rag.retrieval.recency`), fitted with the fusion weights by
# `benchmarks/fit_retrieval.py` on realtimeqa-2023.
RECENCY_WEIGHT = 0.05
RECENCY_HALF_LIFE = 7.0


class Index:
    """Read-only view of one index generation, ready to search."""

    def __init__(self, data: IndexData, embedder: Embedder) -> None:
        built_with = data.manifest.get("embedder")
        if built_with != embedder.name:
            raise RagError(
                f"the index was built with embedder {built_with!r}, not {embedder.name!r}; "
                "rebuild it with: rag index --rebuild"
            )
        self.data = data
        self.embedder = embedder
        self.articles: dict[str, Article] = data.articles
        self.chunks: list[Chunk] = data.chunks
        segments = data.segments
        self.lexical = BM25Index([(s.postings, s.remap) for s in segments], len(self.chunks))
        dense = [(dense_index(s.vectors, s.path), s.remap) for s in segments]
        whole = len(dense) == 1 and (segments[0].remap >= 0).all()
        order = {a: i for i, a in enumerate(self.articles)}
        row_article = np.array([order[c.doc_id] for c in self.chunks], dtype=np.int64)
        self.days = day_numbers([self.articles[c.doc_id].published for c in self.chunks])
        # Syndicated copies: each grouped article's story, its members oldest first (the original).
        by_date = {i: (a.published or "9999", i) for i, a in self.articles.items()}
        self.stories: dict[str, list[str]] = groups_of(data.manifest.get("stories", {}).get("pairs", []), by_date)
        titles = TitleScorer([a.title for a in self.articles.values()], row_article, embedder.embed)
        self.retriever = HybridRetriever(
            self.chunks,
            dense[0][0] if whole else SegmentedIndex(dense),
            self.lexical,
            lambda q: embedder.embed([q])[0],
            titles=titles,
        )
        self._idf: dict[str, float] = {}

    @classmethod
    def load(cls, index_dir: str | Path, embedder: Embedder, *, verify: bool = True) -> Index:
        return cls(read_generation(Path(index_dir), verify=verify), embedder)

    @property
    def generation(self) -> str:
        return self.data.path.name if self.data.path else ""

    def story_of(self, doc_id: str) -> str:
        """The id of the story an article belongs to (its oldest copy; itself when it has none)."""
        members = self.stories.get(doc_id)
        return members[0] if members else doc_id

    def also_in(self, doc_id: str, as_of: int | None = None) -> list[str]:
        """The other articles carrying the same story, oldest first; with ``as_of`` only those
        published by then (undated ones always, as in retrieval)."""
        return [
            m for m in self.stories.get(doc_id, ())
            if m != doc_id and (as_of is None or (d := day_number(self.articles[m].published)) is None or d <= as_of)
        ]

    def search(
        self, query: str, k: int = 5, *, as_of: int | None = None, per_doc: int | None = None,
        window: tuple[int | None, int | None] | None = None, **kw,
    ) -> list[Passage]:
        """The top ``k`` passages for ``query``; with ``as_of`` (a day number) only chunks of
        articles published by then, newer ones boosted (those inside ``window``, a pair of day
        numbers, when the question names days); ``per_doc`` caps passages per story (copies of
        one story count as one article)."""
        if as_of is not None:
            by_date = allowed_rows(self.days, as_of)
            given = kw.get("allowed")
            kw["allowed"] = by_date if given is None else (given if by_date is None else given & by_date)
            prior = recency_prior(self.days, as_of, RECENCY_HALF_LIFE, window)
            if prior is not None and RECENCY_WEIGHT:
                kw.setdefault("prior", RECENCY_WEIGHT * prior)
        return self.retriever.search(query, k, per_doc=per_doc, group=self.story_of if self.stories else None, **kw)

    def idf(self, stems: list[str]) -> list[float]:
        """Inverse document frequencies of stemmed terms over the chunks (cached)."""
        from .retrieval.lexical import tokenize

        out = []
        for s in stems:
            if s not in self._idf:
                tokens = tokenize(s)
                self._idf[s] = max((self.lexical.idf(t) for t in tokens), default=0.0)
            out.append(self._idf[s])
        return out

    def stats(self) -> dict:
        return {
            "articles": len(self.articles),
            "chunks": len(self.chunks),
            "embedder": self.embedder.name,
            "generation": self.generation,
        }
