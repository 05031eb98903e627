"""BM25 over chunk texts, scored at query time from postings, tokenised by `rag.text.terms`.

Using our own tokeniser (stemmed, accents folded, "2,000" kept as "2000")
matters for news: common BM25 tokenisers drop one-character tokens and split
numbers on commas, so "2,000 arrested" would lose its number.

Postings keep raw term counts and scores are computed per query (Lucene's
BM25: idf ``ln(1 + (N - df + .5) / (df + .5))``, k1 1.5, b 0.75) rather than
precomputed per document. That is what makes updates cheap: an index made of
several segments, some with deleted rows, scores exactly like one index over
the live rows, because N, df and the average length are summed over the live
rows of every segment when the query runs. A precomputing library (bm25s) has
to rebuild everything when one article changes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..text import STOPWORDS, terms

__all__ = ["LexicalIndex", "BM25Index", "Postings", "tokenize"]

K1 = 1.5
B = 0.75


class LexicalIndex(Protocol):
    """Keyword search over the chunks, by row number."""

    def search(self, query: str, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]: ...


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


_FILES = ("indptr", "rows", "tfs", "lengths")


@dataclass
class Postings:
    """One segment's inverted file: for term ``t`` (a position in ``vocab``), the rows
    ``rows[indptr[t]:indptr[t + 1]]`` hold it ``tfs[...]`` times; ``lengths[r]`` is row r's term count."""

    vocab: list[str]
    indptr: np.ndarray
    rows: np.ndarray
    tfs: np.ndarray
    lengths: np.ndarray

    @property
    def size(self) -> int:
        return len(self.lengths)

    @classmethod
    def build(cls, texts: Sequence[str]) -> Postings:
        """Tokenise ``texts`` (one row each) and invert them."""
        lookup: dict[str, int] = {}
        ids = [np.fromiter((lookup.setdefault(t, len(lookup)) for t in tokenize(x)), dtype=np.int64) for x in texts]
        lengths = np.array([len(a) for a in ids], dtype=np.int32)
        flat = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        rows = np.repeat(np.arange(len(ids), dtype=np.int64), lengths)
        return cls._from_pairs(list(lookup), flat, rows, None, lengths)

    @classmethod
    def combine(cls, parts: Sequence[tuple[Postings, np.ndarray]], size: int) -> Postings:
        """One postings over ``size`` rows from ``parts``: each part's row r becomes row
        ``remap[r]``, or is dropped where that is -1. Nothing is tokenised again."""
        vocab: dict[str, int] = {}
        term_parts, row_parts, tf_parts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0, np.float32)]
        for postings, remap in parts:
            to_new = np.array([vocab.setdefault(t, len(vocab)) for t in postings.vocab], dtype=np.int64)
            term = np.repeat(to_new, np.diff(postings.indptr))
            rows = remap[postings.rows]
            keep = rows >= 0
            term_parts.append(term[keep])
            row_parts.append(rows[keep])
            tf_parts.append(postings.tfs[keep])
        lengths = _live_lengths(parts, size)
        return cls._from_pairs(
            list(vocab), np.concatenate(term_parts), np.concatenate(row_parts), np.concatenate(tf_parts), lengths
        )

    @classmethod
    def _from_pairs(cls, vocab, term, rows, tfs, lengths) -> Postings:
        """Sort (term, row[, tf]) entries by term then row; without ``tfs``, repeated pairs are counted."""
        n = max(len(lengths), 1)
        key = term * n + rows
        if tfs is None:
            key, counts = np.unique(key, return_counts=True)
            tfs = counts.astype(np.float32)
        else:
            order = np.argsort(key, kind="stable")
            key, tfs = key[order], tfs[order]
        indptr = np.searchsorted(key // n, np.arange(len(vocab) + 1)).astype(np.int64)
        return cls(vocab, indptr, (key % n).astype(np.int32), tfs.astype(np.float32), lengths.astype(np.int32))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "terms.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        for name in _FILES:
            np.save(folder / f"{name}.npy", getattr(self, name))

    @classmethod
    def load(cls, folder: Path) -> Postings:
        vocab = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        return cls(vocab, *(np.load(folder / f"{name}.npy") for name in _FILES))


def _live_lengths(parts: Sequence[tuple[Postings, np.ndarray]], size: int) -> np.ndarray:
    """Each of the ``size`` live rows' term count, gathered from the parts that hold them."""
    lengths = np.zeros(size, dtype=np.int32)
    for postings, remap in parts:
        live = remap >= 0
        lengths[remap[live]] = postings.lengths[live]
    return lengths


class BM25Index:
    """BM25 over the live rows of one or more `Postings`.

    ``parts`` pairs each postings with ``remap``: its row r is row ``remap[r]``
    of this index, or deleted where that is -1. Rows are numbered 0..size-1.
    """

    def __init__(self, parts: Sequence[tuple[Postings, np.ndarray]], size: int) -> None:
        self.size = size
        self._parts = [(p, {t: i for i, t in enumerate(p.vocab)}, remap) for p, remap in parts]
        self._lengths = _live_lengths(parts, size).astype(np.float32)
        self._avgdl = float(self._lengths.mean()) if size and self._lengths.any() else 1.0

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        """An index over ``texts``, row i being text i."""
        return cls([(Postings.build(texts), np.arange(len(texts)))], len(texts))

    def idf(self, term: str) -> float:
        """Lucene's inverse document frequency of an index term over the live rows (a term no row
        holds gets the highest value: it is as rare as a term can be)."""
        df = 0
        for postings, lookup, remap in self._parts:
            t = lookup.get(term)
            if t is not None:
                df += int(np.count_nonzero(remap[postings.rows[postings.indptr[t] : postings.indptr[t + 1]]] >= 0))
        return float(np.log(1 + (self.size - df + 0.5) / (df + 0.5)))

    def search(self, query: str, n: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
        scores = np.zeros(self.size, dtype=np.float32)
        for term in tokenize(query):
            hits = []
            for postings, lookup, remap in self._parts:
                t = lookup.get(term)
                if t is None:
                    continue
                a, b = postings.indptr[t], postings.indptr[t + 1]
                rows = remap[postings.rows[a:b]]
                live = rows >= 0
                hits.append((rows[live], postings.tfs[a:b][live]))
            df = sum(len(r) for r, _ in hits)
            if not df:
                continue
            idf = np.log(1 + (self.size - df + 0.5) / (df + 0.5))
            for rows, tf in hits:
                norm = K1 * (1 - B + B * self._lengths[rows] / self._avgdl)
                scores[rows] += idf * tf / (tf + norm)  # a row appears once per term, so no add.at
        if allowed is not None:
            scores[~allowed] = 0.0
        n = min(n, int(np.count_nonzero(scores)))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.lexsort((top, -scores[top]))]  # ties by row, so results are deterministic
        return [(int(i), float(scores[i])) for i in top]
