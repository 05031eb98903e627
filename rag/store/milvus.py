"""The Milvus backend of the store protocol (`rag.store.base.Store`): Milvus Lite in one local
``PATH.db`` (``milvus:PATH.db``), or a Milvus server or cluster (``http://HOST:19530``; the token,
if any, from ``RAG_MILVUS_TOKEN``). What lives in which collection is `rag.store.milvus_schema`.

Dense search runs on an exact FLAT index (inner product), so results equal brute force; a
cluster holding some 220M chunks would use HNSW or IVF instead. Keyword search is Milvus's own
BM25 over the chunks' `rag.text.index_terms`, so the terms are those of every other store.
`Where` filters become filter expressions evaluated inside the search.

Unlike the embedded backend, a commit is not atomic: Milvus has no transactions. Writes are
buffered in memory between `writing` and `commit` (leaving `writing` without a commit drops
them), and `commit` applies them behind an in-progress marker in ``rag_meta``. If the process
dies mid-commit the marker stays: `manifest` raises `IndexCorruptError` and `stats` reports it,
until ``rag index --rebuild --store SPEC`` rebuilds the store. Readers of a server that search
while a commit runs may see part of it.

Writers are serialised by a lock file: ``PATH.db.lock`` beside a Lite store; for a server, one
under the user's cache (``rag-news/locks``) keyed by the URL, which only serialises writers on
this machine: writers on different machines must be serialised by the operator. Milvus Lite
itself lets one process at a time open a file (readers included); a server has no such limit.

Milvus Lite differences, handled here: it has no whitespace tokenizer (terms are encoded so its
``\\w+`` one splits them the same way), reports BM25 scores negated, evaluates TEXT_MATCH row by
row, and scores BM25 with each segment's own statistics, so scores (not the set of matches)
differ a little from a server's.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError, RagError
from ..types import Article, Chunk
from . import milvus_schema as ms
from .base import ArticleInfo, Hit, StoreStats, Where, iter_batches
from .milvus_write import BATCH, MilvusWrites, Pending
from .schema import text_hash64

__all__ = ["MilvusStore"]

MAX_K = 16384  # a server's cap on top-k and on one query's result window


class MilvusStore(MilvusWrites):
    """A store in Milvus Lite (``milvus:PATH.db``) or on a Milvus server (``http(s)://...``)."""

    backend = "milvus"

    def __init__(self, spec: str) -> None:
        self.spec, self.lite = spec, spec.startswith("milvus:")
        if self.lite:
            path = Path(spec[len("milvus:"):]).expanduser().absolute()
            if path.suffix != ".db":
                raise RagError(f"a Milvus Lite store is a file named *.db, not {path}; use --store milvus:PATH.db")
            self.uri, self.location = str(path), f"milvus:{path}"  # a location that is also a spec, for messages
            self._lock = Path(self.uri + ".lock")
        else:
            self.uri = self.location = spec
            self._lock = ms.server_lock(spec)
        self._client: Any = None
        self._connecting = threading.Lock()  # BM25 runs on a side thread beside the dense search
        self._known: set[str] = set()  # collections seen to exist, and loaded
        self._pending: Pending | None = None
        self._df: tuple[Any, int, dict[str, int]] = ((), 0, {})  # generation, chunks, chunks holding each term

    # -- connection ------------------------------------------------------------------------
    @property
    def client(self) -> Any:
        with self._connecting:
            if self._client is None:  # one client per store: Milvus Lite starts a server for the file on first use
                self._client = ms.connect(self.uri, lite=self.lite)
            return self._client

    def _has(self, name: str) -> bool:
        if name in self._known:
            return True
        if self.lite and self._client is None and not Path(self.uri).exists():
            return False  # never committed: don't create the file by looking
        if not self.client.has_collection(name):
            return False
        if str(self.client.get_load_state(name).get("state")) != "Loaded":
            self.client.load_collection(name)  # a reopened collection starts released
        self._known.add(name)
        return True

    def _scan(self, name: str, fields: list[str], expr: str = "") -> Iterator[dict[str, Any]]:
        """Every row matching ``expr``. A server caps a query's result window, so there an iterator
        pages through; Milvus Lite has no cap (and warns on every iterator)."""
        if not self._has(name):
            return
        if self.lite:
            yield from self.client.query(name, filter=expr, output_fields=fields)
            return
        it = self.client.query_iterator(name, batch_size=BATCH, filter=expr, output_fields=fields)
        try:
            while batch := it.next():
                yield from batch
        finally:
            it.close()

    def _count(self, name: str, expr: str = "") -> int:
        if not self._has(name):
            return 0
        return int(self.client.query(name, filter=expr, output_fields=["count(*)"])[0]["count(*)"])

    def _meta(self, key: str) -> Any:
        rows = self.client.get(ms.META, ids=[key], output_fields=["value"]) if self._has(ms.META) else []
        return json.loads(rows[0]["value"]) if rows else None

    def _rebuild(self, what: str) -> str:
        return f"{what}; rebuild it with: rag index --rebuild --store {self.location}"

    # -- reading ---------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any] | None:
        state = self._meta("state")
        if state is None:
            return None
        if state.get("in_progress"):
            raise IndexCorruptError(self._rebuild(f"the last commit to {self.location} was interrupted (or runs now)"))
        keys = [f"manifest:{i}" for i in range(state["parts"])]
        rows = {r["key"]: r["value"] for r in self.client.get(ms.META, ids=keys, output_fields=["value"])}
        if set(rows) != set(keys):
            raise IndexCorruptError(self._rebuild(f"the manifest of {self.location} is incomplete"))
        return json.loads("".join(rows[k] for k in keys))

    def catalogue(self) -> dict[str, ArticleInfo]:
        return {r["doc_id"]: ms.row_info(r) for r in self._scan(ms.ARTICLES, ms.HEAD_FIELDS, "part == 0")}

    def articles(self, ids: Sequence[str]) -> list[Article]:
        rows: dict[str, list[dict]] = defaultdict(list)
        for batch in iter_batches(list(dict.fromkeys(ids)), BATCH // 10):  # an article may have several rows
            for r in self._scan(ms.ARTICLES, ms.ARTICLE_FIELDS, ms.one_of("doc_id", batch)):
                rows[r["doc_id"]].append(r)
        found = {i: a for i, rs in rows.items() if (a := ms.rows_article(rs)) is not None}
        return [found[i] for i in ids if i in found]

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        found: dict[str, Chunk] = {}
        if self._has(ms.CHUNKS):
            for batch in iter_batches(list(dict.fromkeys(ids)), BATCH):
                rows = self.client.get(ms.CHUNKS, ids=list(batch), output_fields=ms.CHUNK_FIELDS)
                found.update((r["id"], ms.row_chunk(r)) for r in rows)
        return [found[i] for i in ids if i in found]

    def signatures(self) -> dict[str, np.ndarray]:
        rows = self._scan(ms.ARTICLES, ["doc_id", "signature"], "part == 0")
        return {r["doc_id"]: sig for r in rows if (sig := ms.row_signature(r)) is not None}

    def _search(self, data: Any, field_: str, metric: str, k: int, where: Where | None) -> list[Hit]:
        expr = ms.where_expr(where)
        if k <= 0 or expr is None or not self._has(ms.CHUNKS):
            return []
        res = self.client.search(ms.CHUNKS, data=[data], anns_field=field_, limit=min(k, MAX_K), filter=expr,
                                 output_fields=["doc_id"], search_params={"metric_type": metric})
        sign = abs if metric == "BM25" else float  # Milvus Lite reports BM25 scores negated
        return [Hit(h["id"], h["entity"]["doc_id"], float(sign(h["distance"]))) for h in res[0]]

    def dense(self, vector: np.ndarray, k: int, where: Where | None = None) -> list[Hit]:
        return self._search(np.asarray(vector, dtype=np.float32).tolist(), "vector", "IP", k, where)

    def lexical(self, text: str, k: int, where: Where | None = None) -> list[Hit]:
        query = ms.query_terms(text)
        return self._search(query, "sparse", "BM25", k, where) if query else []

    def hybrid(self, vector: np.ndarray, text: str, k: int, where: Where | None = None,
               dense_weight: float = 0.65) -> list[Hit]:
        """Dense and BM25 search fused by Milvus (``hybrid_search``, a WeightedRanker over scores it
        normalises), each route bringing 4k candidates; with no index terms in ``text``, dense alone."""
        from pymilvus import AnnSearchRequest, WeightedRanker

        expr, query = ms.where_expr(where), ms.query_terms(text)
        if not query:
            return self.dense(vector, k, where)
        if k <= 0 or expr is None or not self._has(ms.CHUNKS):
            return []
        n, flt, vec = min(4 * k, MAX_K), {"expr": expr} if expr else {}, np.asarray(vector, dtype=np.float32)
        reqs = [AnnSearchRequest([vec.tolist()], "vector", {"metric_type": "IP"}, n, **flt),
                AnnSearchRequest([query], "sparse", {"metric_type": "BM25"}, n, **flt)]
        res = self.client.hybrid_search(ms.CHUNKS, reqs, WeightedRanker(dense_weight, 1 - dense_weight),
                                        limit=min(k, MAX_K), output_fields=["doc_id"])
        return [Hit(h["id"], h["entity"]["doc_id"], float(h["distance"])) for h in res[0]]

    def doc_freq(self, terms: Sequence[str]) -> tuple[int, list[int]]:
        # Counts change only at a commit, and are costly on Milvus Lite: kept until the generation moves.
        gen = ((state := self._meta("state") or {}).get("generation"), state.get("at"))  # "at": mid-commit
        if self._df[0] != gen:
            self._df = (gen, self._count(ms.CHUNKS), {})
        _, n, known = self._df
        asked = [ms.encode_term(t) for t in terms]
        if n and (todo := [t for t in dict.fromkeys(asked) if t and t not in known]):
            if self.lite:
                # Milvus Lite evaluates TEXT_MATCH row by row in Python (4 s a term at 20k chunks); a BM25
                # search for each term alone, as deep as the store, returns exactly the chunks holding it.
                res = self.client.search(ms.CHUNKS, data=todo, anns_field="sparse", limit=n, output_fields=["id"],
                                         search_params={"metric_type": "BM25"})
                known.update((t, len(hits)) for t, hits in zip(todo, res))
            else:  # on a server TEXT_MATCH runs on the analysed field's inverted index (enable_match)
                known.update((t, self._count(ms.CHUNKS, f"TEXT_MATCH(terms, {ms.literal(t)})")) for t in todo)
        return n, [known.get(t, 0) for t in asked]

    def reusable(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        found: dict[str, np.ndarray] = {}
        if self._has(ms.CHUNKS):
            for batch in iter_batches(list({text_hash64(t) for t in texts}), BATCH):
                for r in self.client.query(ms.CHUNKS, filter=ms.one_of("text_hash", batch),
                                           output_fields=["text", "vector"]):
                    found.setdefault(r["text"], np.asarray(r["vector"], dtype=np.float32))  # the text, not a collision
        return [found.get(t) for t in texts]

    def stats(self, *, check: bool = False) -> StoreStats:
        st = StoreStats(self.backend, self.location)
        state = self._meta("state") or {}
        st.generation = int(state.get("generation", 0))
        st.articles, st.chunks = self._count(ms.ARTICLES, "part == 0"), self._count(ms.CHUNKS)
        if self.lite and Path(self.uri).exists():
            st.bytes = sum(p.stat().st_size for p in Path(self.uri).rglob("*") if p.is_file())
        st.details = {"uri": self.uri, "lite": self.lite, "dim": state.get("dim")}
        if state.get("in_progress"):
            st.problems.append(self._rebuild("the last commit was interrupted (or runs now)"))
        if check:
            held = Counter(r["doc_id"] for r in self._scan(ms.CHUNKS, ["doc_id"]))
            rows = Counter(r["doc_id"] for r in self._scan(ms.ARTICLES, ["doc_id"]))
            heads = {r["doc_id"]: r["parts"] for r in self._scan(ms.ARTICLES, ["doc_id", "parts"], "part == 0")}
            st.problems += ms.problems(held, self.catalogue(), rows, heads)
        return st

    def close(self) -> None:
        if self._client is not None:
            ms.disconnect(self._client, self.uri, lite=self.lite)
            self._client, self._known = None, set()
