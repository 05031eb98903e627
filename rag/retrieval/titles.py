"""Titles in ranking: a chunk also scores by its article's headline.

News headlines say what an article is about in a few words, and a chunk deep
in the article often repeats none of them. The retriever adds two lists to
the fusion for its candidate chunks: BM25 of the query against the titles, and
the cosine of the query and title embeddings (embedded on first use and kept,
so a title costs one embedding per process).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .lexical import BM25Index

__all__ = ["TitleScorer"]


class TitleScorer:
    """``titles[a]`` is article a's headline; ``row_article[r]`` the article of chunk row r."""

    def __init__(self, titles: Sequence[str], row_article: np.ndarray, embed: Callable[[list[str]], np.ndarray]) -> None:
        self.titles = list(titles)
        self.row_article = row_article
        self.embed = embed
        self._bm25: BM25Index | None = None
        self._vectors: dict[int, np.ndarray] = {}

    def _lexical(self) -> BM25Index:
        if self._bm25 is None:
            self._bm25 = BM25Index.build(self.titles)
        return self._bm25

    def lexical(self, query: str, rows: Sequence[int]) -> list[tuple[int, float]]:
        arts = self.row_article[np.asarray(rows, dtype=np.int64)]
        wanted = set(arts.tolist())
        scores = {a: s for a, s in self._lexical().search(query, len(self.titles)) if a in wanted}
        return [(int(r), scores.get(int(a), 0.0)) for r, a in zip(rows, arts)]

    def dense(self, query_vector: np.ndarray, rows: Sequence[int]) -> list[tuple[int, float]]:
        arts = self.row_article[np.asarray(rows, dtype=np.int64)].tolist()
        todo = list(dict.fromkeys(a for a in arts if a not in self._vectors))
        if todo:
            for a, v in zip(todo, self.embed([self.titles[a] for a in todo])):
                self._vectors[a] = v
        return [(int(r), float(self._vectors[a] @ query_vector)) for r, a in zip(rows, arts)]
