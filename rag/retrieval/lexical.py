"""BM25 over chunk texts with bm25s, tokenised by `rag.text.terms`.

Using our own tokeniser (stemmed, accents folded, "2,000" kept as "2000")
matters for news: bm25s's default pattern drops one-character tokens and splits
numbers on commas, so "2,000 arrested" would lose its number.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from ..text import STOPWORDS, terms

__all__ = ["LexicalIndex", "BM25Index", "tokenize"]


class LexicalIndex(Protocol):
    """Keyword search over the chunks, by row number."""

    def search(self, query: str, n: int) -> list[tuple[int, float]]: ...


def tokenize(text: str) -> list[str]:
    """Index terms: stemmed words minus function words."""
    stop = _stemmed_stopwords()
    return [t for t in terms(text) if t not in stop]


_STOP_CACHE: set[str] = set()


def _stemmed_stopwords() -> set[str]:
    if not _STOP_CACHE:
        for w in STOPWORDS:
            _STOP_CACHE.update(terms(w))
    return _STOP_CACHE


class BM25Index:
    """A bm25s index; build with :meth:`build`, persist with :meth:`save`/:meth:`load`."""

    def __init__(self, model, size: int) -> None:
        self._model = model
        self.size = size

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        import bm25s

        model = bm25s.BM25()
        tokens = [tokenize(t) or [""] for t in texts]
        if texts:
            model.index(tokens, show_progress=False)
        return cls(model, len(texts))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.size:
            self._model.save(str(folder), show_progress=False)
        (folder / "size").write_text(str(self.size))

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        import bm25s

        size = int((folder / "size").read_text())
        if not size:
            return cls(bm25s.BM25(), 0)
        model = bm25s.BM25.load(str(folder), mmap=False, show_progress=False, verbosity=0)
        return cls(model, size)

    def search(self, query: str, n: int) -> list[tuple[int, float]]:
        q = [t for t in tokenize(query) if t in self._model.vocab_dict] if self.size else []
        if not q:
            return []
        scores = self._model.get_scores(q)
        n = min(n, self.size)
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]
