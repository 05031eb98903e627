"""BM25 over chunk texts with bm25s, tokenised by `rag.text.terms`.

Using our own tokeniser (stemmed, accents folded, "2,000" kept as "2000")
matters for news: bm25s's default pattern drops one-character tokens and splits
numbers on commas, so "2,000 arrested" would lose its number.
"""

from __future__ import annotations

import json
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
    """A bm25s index; build with :meth:`build`, persist with :meth:`save`/:meth:`load`.

    Alongside bm25s's files it saves every chunk's term ids (``terms.json``,
    ``term_ids.npy``, ``term_offsets.npy``), so an update can reuse the terms of
    unchanged chunks: tokenising is most of the cost of rebuilding BM25
    (34 of 38 s for 96k chunks), and bm25s cannot add documents in place.
    """

    def __init__(self, model, size: int, vocab: list[str] | None = None, ids: list[np.ndarray] | None = None) -> None:
        self._model = model
        self.size = size
        self.vocab = vocab or []
        self.ids = ids or []

    @classmethod
    def build(
        cls, texts: Sequence[str], *, reuse: Sequence[np.ndarray | None] | None = None, vocab: Sequence[str] = ()
    ) -> BM25Index:
        """Index ``texts``; ``reuse[i]``, when given, is text i's term ids in ``vocab`` (see :meth:`load_terms`)."""
        import bm25s
        from bm25s.tokenization import Tokenized

        lookup = {t: i for i, t in enumerate(vocab)}
        ids: list[np.ndarray] = []
        for i, text in enumerate(texts):
            cached = reuse[i] if reuse is not None else None
            if cached is None:
                toks = tokenize(text) or [""]  # bm25s needs a token per document
                cached = np.fromiter((lookup.setdefault(t, len(lookup)) for t in toks), dtype=np.int32, count=len(toks))
            ids.append(cached)
        model = bm25s.BM25()
        if texts:
            model.index(Tokenized(ids=[a.tolist() for a in ids], vocab=lookup), show_progress=False)
        return cls(model, len(texts), list(lookup), ids)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.size:
            self._model.save(str(folder), show_progress=False)
        (folder / "size").write_text(str(self.size))
        (folder / "terms.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        lengths = np.array([len(a) for a in self.ids], dtype=np.int64)
        np.save(folder / "term_offsets.npy", np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64))
        np.save(folder / "term_ids.npy", np.concatenate(self.ids) if self.ids else np.zeros(0, np.int32))

    @staticmethod
    def load_terms(folder: Path) -> tuple[list[str], list[np.ndarray]] | None:
        """(vocabulary, per-chunk term ids) saved with an index; None for an index saved without them."""
        try:
            vocab = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
            offsets = np.load(folder / "term_offsets.npy")
            flat = np.load(folder / "term_ids.npy")
        except (OSError, ValueError):
            return None
        return vocab, [flat[a:b] for a, b in zip(offsets[:-1], offsets[1:])]

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
