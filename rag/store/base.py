"""The store protocol: what the indexer writes to and the retriever reads from, keyed by chunk and article id.

Two backends implement it (`rag.store.open_store` picks one from ``RAG_STORE``):
`rag.store.sqlite` (SQLite + FAISS + tantivy in one folder) and `rag.store.milvus`
(Milvus Lite or a Milvus server). Everything above the store (indexer, retriever,
reader) sees only this protocol and the dataclasses below.

Writes are grouped: between `Store.writing` opening and `Store.commit`, `upsert` and
`delete` build the next generation, and `commit` makes all of it visible at once (or
none of it, if the process dies first). `writing` also serialises writers.

Searches take a `Where`: the date range of the news-aware issue (and, for fitting,
a set of articles), applied inside the engine, so excluded chunks never crowd out
the allowed ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..types import Article, Chunk

__all__ = ["Where", "Hit", "StoredArticle", "ArticleInfo", "StoreStats", "Store", "UNDATED"]

UNDATED = -1  # the day number stored for an article without a publication date


@dataclass(frozen=True)
class Where:
    """Which chunks a search may return.

    Chunks of articles published from day ``first`` to day ``last`` (day numbers, see
    `rag.dates.day_number`; either may be None, meaning open); undated articles too unless
    ``undated`` is False; and, when ``articles`` is given, only chunks of those articles.
    """

    first: int | None = None
    last: int | None = None
    undated: bool = True
    articles: frozenset[str] | None = None

    def allows(self, day: int, doc_id: str) -> bool:
        """The reference meaning, for a chunk of article ``doc_id`` published on ``day``
        (`UNDATED` when it has no date)."""
        if self.articles is not None and doc_id not in self.articles:
            return False
        if day == UNDATED:
            return self.undated
        return (self.first is None or day >= self.first) and (self.last is None or day <= self.last)

    @property
    def everything(self) -> bool:
        return self.first is None and self.last is None and self.undated and self.articles is None

    def and_(self, other: Where | None) -> Where:
        """Chunks both allow."""
        if other is None:
            return self
        first = max((d for d in (self.first, other.first) if d is not None), default=None)
        last = min((d for d in (self.last, other.last) if d is not None), default=None)
        arts = self.articles if other.articles is None else (
            other.articles if self.articles is None else self.articles & other.articles
        )
        return Where(first, last, self.undated and other.undated, arts)


@dataclass(frozen=True)
class Hit:
    """One search result: a chunk, its article, and the engine's score (higher is better)."""

    chunk_id: str
    doc_id: str
    score: float


@dataclass(frozen=True)
class StoredArticle:
    """An article as the indexer hands it to the store: with the hash of all its fields
    (``digest``, to see it changed), of its text alone (``text_hash``, to see the same text
    twice) and its MinHash ``signature`` (`rag.stories`)."""

    article: Article
    digest: str
    text_hash: str
    signature: np.ndarray | None = None


@dataclass(frozen=True)
class ArticleInfo:
    """What is kept in memory about a stored article: everything but its text."""

    id: str
    title: str
    published: str | None
    source: str | None
    digest: str
    text_hash: str
    chunks: int


@dataclass
class StoreStats:
    """What `rag info` prints: where the store is, how big and how healthy."""

    backend: str
    location: str
    articles: int = 0
    chunks: int = 0
    generation: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "healthy": self.healthy}


@runtime_checkable
class Store(Protocol):
    """An index's storage engine. ``dim`` is the vector size; ``location`` says where it is."""

    backend: str
    location: str

    # -- reading -------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any] | None:
        """The state the indexer committed with the last generation (embedder, chunking, corpus
        roots and files, story pairs), or None when nothing was ever committed."""

    def catalogue(self) -> dict[str, ArticleInfo]:
        """Every stored article, by id, without texts."""

    def articles(self, ids: Sequence[str]) -> list[Article]:
        """The articles with these ids, in that order; unknown ids are left out."""

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        """The chunks with these ids (texts included), in that order; unknown ids are left out."""

    def signatures(self) -> dict[str, np.ndarray]:
        """Every stored article's MinHash signature, by id (those stored without one left out)."""

    def dense(self, vector: np.ndarray, k: int, where: Where | None = None) -> list[Hit]:
        """The ``k`` chunks nearest ``vector`` by inner product, best first."""

    def lexical(self, text: str, k: int, where: Where | None = None) -> list[Hit]:
        """The ``k`` best BM25 matches of ``text`` (tokenised by `rag.text.index_terms`), best first."""

    def doc_freq(self, terms: Sequence[str]) -> tuple[int, list[int]]:
        """The number of chunks, and how many hold each index term (for idf)."""

    def stats(self, *, check: bool = False) -> StoreStats:
        """Counts and size; with ``check``, an integrity check whose findings are ``problems``."""

    # -- writing -------------------------------------------------------------------------
    def writing(self, *, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> AbstractContextManager:
        """Hold the store's writer lock (waiting for another writer, or failing when not ``wait``);
        what was written but not committed when it is left is thrown away."""

    def reusable(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        """The stored vector of a chunk with each text, where one exists (embedding is the cost)."""

    def clear(self) -> None:
        """Drop everything (for a rebuild); takes effect at `commit`."""

    def upsert(self, articles: Sequence[StoredArticle], chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        """Add or replace these articles with these chunks (row i of ``vectors`` is chunk i's)."""

    def delete(self, article_ids: Sequence[str]) -> None:
        """Remove these articles and their chunks."""

    def commit(self, manifest: dict[str, Any]) -> None:
        """Make everything written since `writing` began visible, with ``manifest``, atomically."""

    def close(self) -> None: ...


def iter_batches(items: Sequence, size: int) -> Iterator[Sequence]:
    """``items`` in slices of ``size`` (engines cap how much one request may carry)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
