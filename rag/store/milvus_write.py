"""Writing a Milvus store: writes buffered between `writing` and `commit`, then applied behind an
in-progress marker (the order and what a crash leaves are in `rag.store.milvus`)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import RagError
from ..types import Chunk
from . import milvus_schema as ms
from .base import StoredArticle, iter_batches
from .lock import writer_lock

__all__ = ["MilvusWrites", "Pending", "BATCH"]

BATCH = 1000  # rows or ids one request carries


@dataclass
class Pending:
    """Writes since `writing` began: articles by id (None: deleted), their chunks and vectors."""

    cleared: bool = False
    articles: dict[str, StoredArticle | None] = field(default_factory=dict)
    chunks: dict[str, dict[str, tuple[Chunk, np.ndarray]]] = field(default_factory=dict)


class MilvusWrites:
    """The writing half of `rag.store.milvus.MilvusStore`."""

    @contextlib.contextmanager
    def writing(self, *, wait: bool = True, on_wait: Callable[[str], None] | None = None) -> Iterator[MilvusWrites]:
        with writer_lock(self._lock, wait=wait, on_wait=on_wait):
            self._pending = Pending()
            try:
                yield self
            finally:
                self._pending = None  # what was not committed is thrown away

    def _buffer(self) -> Pending:
        if self._pending is None:
            raise RagError("store writes must happen inside Store.writing()")
        return self._pending

    def clear(self) -> None:
        self._buffer()
        self._pending = Pending(cleared=True)

    def upsert(self, articles: Sequence[StoredArticle], chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        p = self._buffer()
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(chunks), -1)
        for a in articles:
            p.articles[a.article.id], p.chunks[a.article.id] = a, {}
        for c, v in zip(chunks, vectors):
            if p.articles.get(c.doc_id) is None:  # its day and chunk count come from its article
                raise RagError(f"chunk {c.id} belongs to article {c.doc_id}, which is not being written")
            p.chunks[c.doc_id][c.id] = (c, v)

    def delete(self, article_ids: Sequence[str]) -> None:
        p = self._buffer()
        for i in article_ids:
            p.articles[i] = None
            p.chunks.pop(i, None)

    def _ensure(self, name: str, dim: int | None = None) -> None:
        if not self._has(name):
            ms.create(self.client, name, dim, lite=self.lite)
            self._known.add(name)

    def _put_meta(self, rows: dict[str, str]) -> None:
        self.client.upsert(ms.META, [{"key": k, "value": v, "dummy": ms.DUMMY} for k, v in rows.items()])

    def commit(self, manifest: dict[str, Any]) -> None:
        p, c = self._buffer(), self.client
        self._ensure(ms.META)
        state = self._meta("state") or {}
        dim = next((len(v) for cs in p.chunks.values() for _, v in cs.values()), None)
        if not p.cleared and dim and state.get("dim") not in (None, dim):
            raise RagError(self._rebuild(f"the store {self.location} holds {state['dim']}-d vectors, not {dim}-d"))
        live = {i: a for i, a in p.articles.items() if a is not None}
        rows = [r for i, a in live.items() for r in ms.article_rows(a, len(p.chunks[i]))]
        texts = ms.parts(json.dumps(manifest))
        # The marker first: should this process die before the end, readers know the store is partial.
        self._put_meta({"state": json.dumps({**state, "in_progress": True, "pid": os.getpid(), "at": time.time()})})
        if p.cleared:
            for name in (ms.CHUNKS, ms.ARTICLES):
                if self._has(name):
                    c.drop_collection(name)
                self._known.discard(name)
            state["dim"] = None
        for name in (ms.CHUNKS, ms.ARTICLES):  # the old rows of replaced and deleted articles
            if self._has(name):
                for batch in iter_batches(list(p.articles), BATCH):
                    c.delete(name, filter=ms.one_of("doc_id", batch))
        if rows:
            self._ensure(ms.ARTICLES)
            for batch in iter_batches(rows, BATCH // 10):  # rows of up to 64 KB
                c.insert(ms.ARTICLES, list(batch))
        todo = [(ch, v, ms.day_of(live[i].article.published)) for i, cs in p.chunks.items() for ch, v in cs.values()]
        if todo:
            self._ensure(ms.CHUNKS, dim)
            for batch in iter_batches(todo, BATCH):  # rows made a batch at a time: the buffer is big enough
                c.insert(ms.CHUNKS, [ms.chunk_row(*t) for t in batch])
        self._put_meta({f"manifest:{i}": t for i, t in enumerate(texts)})
        if stale := [f"manifest:{i}" for i in range(len(texts), int(state.get("parts", 0)))]:
            c.delete(ms.META, ids=stale)
        self._put_meta({"state": json.dumps({"generation": int(state.get("generation", 0)) + 1, "parts": len(texts),
                                             "dim": dim or state.get("dim"), "in_progress": False})})
        for name in (ms.CHUNKS, ms.ARTICLES, ms.META):
            if self._has(name):
                c.flush(name)
        self._pending = Pending()
