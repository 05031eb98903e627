"""Writing the embedded store: one generation per `Writes.commit` (the order is in `rag.store.sqlite`).

Between `writing` and `commit`, rows go into an open SQLite transaction (``BEGIN IMMEDIATE``)
and tantivy's writer, and new vectors wait in memory; `commit` writes them as one vector file
(merging old ones when they pile up, `rag.store.compaction`), commits tantivy with the new
generation's marker, then SQLite. Leaving `writing` without a commit rolls both back.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dates import day_number
from ..errors import IndexCorruptError, RagError
from ..types import Chunk
from .base import UNDATED, StoredArticle, iter_batches
from .lock import writer_lock
from .schema import FORMAT, text_hash64
from .vectors import VectorFile, read_file_keys, read_file_vectors

__all__ = ["Writes", "MAX_FILES", "MAX_STALE"]

MAX_FILES = 8  # each vector file costs one FAISS search per query
MAX_STALE = 0.25  # replaced rows still take memory until their file is rewritten
_BATCH = 500  # ids per SQL statement (SQLite's default limit is 32766 variables)


class Writes:
    """The writing half of `rag.store.sqlite.SqliteStore`."""

    @contextlib.contextmanager
    def writing(self, *, wait: bool = True, on_wait: Callable[[str], None] | None = None):
        with writer_lock(self.folder / ".lock", wait=wait, on_wait=on_wait):
            self._locked = True
            try:
                db = self._conn(create=True)
            except IndexCorruptError as exc:
                cause = exc.__cause__
                if not isinstance(cause, sqlite3.DatabaseError) or isinstance(cause, sqlite3.OperationalError):
                    raise  # not damage (a lock, a permission): never a reason to start over
                # Unreadable, it holds nothing to build on: the writer starts a new one in its place.
                self.notes.append(f"previous index unusable, rebuilding: {exc}")
                self.destroy()
                db = self._conn(create=True)
            self._keywords()  # repaired first, while the old generation is what SQLite holds
            db.execute("BEGIN IMMEDIATE")
            self._pending = _Pending()
            try:
                yield self
            finally:
                if self._pending is not None:  # left without a commit: nothing happened
                    db.execute("ROLLBACK")
                    self._keywords().rollback()
                    self._pending = None
                self._memory = None
                self._locked = False

    def _writing(self) -> _Pending:
        if self._pending is None:
            raise RagError("the store is not open for writing (use: with store.writing(): ...)")
        return self._pending

    def reusable(self, texts: Sequence[str]) -> list[np.ndarray | None]:
        db = self._conn()
        out: list[np.ndarray | None] = [None] * len(texts)
        if db is None or not texts:
            return out
        wanted: dict[int, list[int]] = {}
        for i, t in enumerate(texts):  # the same text twice in one request gets the vector twice
            wanted.setdefault(text_hash64(t), []).append(i)
        key_of: dict[int, int] = {}
        for batch in iter_batches(list(wanted), _BATCH):
            rows = db.execute(f"SELECT hash, key FROM chunks WHERE hash IN ({','.join('?' * len(batch))})", batch)
            key_of.update((k, h) for h, k in rows)
        if not key_of:
            return out
        want = np.array(sorted(key_of), dtype=np.int64)
        for vf in self._files():
            keys = read_file_keys(self.folder / "vectors", vf.name)
            rows = np.flatnonzero(np.isin(keys, want))
            if len(rows):
                vectors = read_file_vectors(self.folder / "vectors", vf.name, mmap=True)
                for r in rows:
                    for i in wanted[key_of[int(keys[r])]]:
                        out[i] = np.array(vectors[r])
        return out

    def clear(self) -> None:
        self._writing().cleared = True
        db = self._conn()
        db.execute("DELETE FROM chunks")
        db.execute("DELETE FROM articles")
        self._keywords().clear()

    def delete(self, article_ids: Sequence[str]) -> None:
        self._writing()
        db = self._conn()
        for batch in iter_batches(list(article_ids), _BATCH):
            marks = ",".join("?" * len(batch))
            db.execute(f"DELETE FROM chunks WHERE doc_id IN ({marks})", batch)
            db.execute(f"DELETE FROM articles WHERE id IN ({marks})", batch)
        self._keywords().delete_articles(article_ids)

    def upsert(self, articles: Sequence[StoredArticle], chunks: Sequence[Chunk], vectors: np.ndarray) -> None:
        pending = self._writing()
        self.delete([a.article.id for a in articles])
        db = self._conn()
        counts: dict[str, int] = {}
        for c in chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        days = {}
        for sa in articles:
            a = sa.article
            days[a.id] = UNDATED if (d := day_number(a.published)) is None else d
            sig = None if sa.signature is None else np.ascontiguousarray(sa.signature, dtype=np.uint32).tobytes()
            db.execute(
                "INSERT INTO articles (id, title, text, path, url, source, published, day, digest, text_hash, chunks,"
                " signature) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (a.id, a.title, a.text, a.path, a.url, a.source, a.published, days[a.id], sa.digest, sa.text_hash,
                 counts.get(a.id, 0), sig),
            )
        rows = [(c.id, c.doc_id, c.start, c.end, c.text, text_hash64(c.text), days[c.doc_id]) for c in chunks]
        keys = []
        for row in rows:
            cur = db.execute("INSERT INTO chunks (id, doc_id, start, end, text, hash, day) VALUES (?,?,?,?,?,?,?)", row)
            keys.append(cur.lastrowid)
        self._keywords().add((k, r[1], r[6], r[4]) for k, r in zip(keys, rows))
        if keys:  # (no chunks: nothing to reshape, nothing for a vector file)
            pending.keys.append(np.array(keys, dtype=np.int64))
            pending.vectors.append(np.asarray(vectors, dtype=np.float32).reshape(len(chunks), -1))

    def commit(self, manifest: dict[str, Any]) -> None:
        from .compaction import plan_files

        pending = self._writing()
        db = self._conn()
        generation = self.generation() + 1
        files = [] if pending.cleared else self._files()
        files = plan_files(self, files, pending, generation)
        self._keywords().commit(generation)
        db.execute("DELETE FROM vector_files")
        db.executemany(
            "INSERT INTO vector_files (name, rows, checksums) VALUES (?,?,?)",
            [(f.name, f.rows, json.dumps(f.checksums)) for f in files],
        )
        for key, value in (("generation", generation), ("manifest", manifest), ("format", FORMAT)):
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))
        db.execute("COMMIT")
        self._pending = None
        self._remove_unrecorded(files)

    def _remove_unrecorded(self, files: Sequence[VectorFile]) -> None:
        keep = {name for f in files for name in f.checksums}
        folder = self.folder / "vectors"
        for p in folder.iterdir() if folder.exists() else []:
            if p.name not in keep:
                p.unlink(missing_ok=True)

    def destroy(self) -> None:
        """Remove the store's files (a rebuild over an old-format folder starts from nothing)."""
        self.close()
        for name in ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm"):
            (self.folder / name).unlink(missing_ok=True)
        for name in ("vectors", "keywords"):
            shutil.rmtree(self.folder / name, ignore_errors=True)



class _Pending:
    """What a writer has added since `SqliteStore.writing` began: the vectors not yet in a file."""

    def __init__(self) -> None:
        self.keys: list[np.ndarray] = []
        self.vectors: list[np.ndarray] = []
        self.cleared = False
