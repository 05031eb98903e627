"""Titles in ranking: a chunk also scores by its article's headline.

News headlines say what an article is about in a few words, and a chunk deep
in the article often repeats none of them. The retriever adds two lists to
the fusion for its candidate chunks: BM25 of the query against the titles (a
tantivy index in memory, built on first use), and the cosine of the query and
title embeddings (embedded on first use and kept, so a title costs one embedding
per process).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = ["TitleScorer"]


class TitleScorer:
    """``titles`` maps each article id to its headline."""

    def __init__(self, titles: dict[str, str], embed: Callable[[list[str]], np.ndarray]) -> None:
        self.ids = list(titles)
        self.titles = [titles[i] for i in self.ids]
        self._num = {d: n for n, d in enumerate(self.ids)}
        self.embed = embed
        self._bm25 = None
        self._vectors: dict[str, np.ndarray] = {}

    def _lexical(self):
        if self._bm25 is None:
            from ..store.keywords import TermIndex

            self._bm25 = TermIndex(None)
            self._bm25.add((n, d, 0, t) for n, (d, t) in enumerate(zip(self.ids, self.titles)))
            self._bm25.commit(1)
        return self._bm25

    def lexical(self, query: str, candidates: Sequence[tuple[str, str]]) -> list[tuple[str, float]]:
        """BM25 of ``query`` against each (chunk id, article id) candidate's title."""
        scores = dict(self._lexical().search(query, len(self.titles)))
        return [(c, scores.get(self._num.get(d, -2), 0.0)) for c, d in candidates]

    def dense(self, query_vector: np.ndarray, candidates: Sequence[tuple[str, str]]) -> list[tuple[str, float]]:
        """The cosine of ``query_vector`` and each candidate's title embedding."""
        todo = list(dict.fromkeys(d for _, d in candidates if d not in self._vectors and d in self._num))
        if todo:
            for d, v in zip(todo, self.embed([self.titles[self._num[d]] for d in todo])):
                self._vectors[d] = v
        return [(c, float(self._vectors[d] @ query_vector) if d in self._vectors else 0.0) for c, d in candidates]
