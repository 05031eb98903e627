"""The embedded store: SQLite is the truth, FAISS holds the vectors, tantivy the keywords.

Layout of a store folder::

    index/
      store.sqlite     articles (metadata, text, hashes, MinHash signature), chunks (spans,
                       texts, text hash, day), the vector files of the live generation with
                       their checksums, the generation number and the indexer's manifest
      vectors/         immutable vector files (see `rag.store.vectors`)
      keywords/        the tantivy index of chunk terms (see `rag.store.keywords`)
      .lock            held by whoever is writing (see `rag.store.lock`)

SQLite runs in WAL mode, so readers keep reading the previous generation while a
writer works. A commit writes and fsyncs the new vector file and commits tantivy
(then its marker file naming the new generation) first; then one SQLite
transaction records the chunks, the vector files and the generation. Files that
no generation records are removed after it. A process killed anywhere leaves
SQLite at the old or the new generation; FAISS and tantivy are derived from it:
vector files not recorded are never read, and a tantivy index whose marker names
another generation is rebuilt from the chunk texts in SQLite when the store opens
(the user is told so).

A reader keeps in memory only each live chunk's key, id, article and day, plus the
vectors inside FAISS; chunk and article texts are read from SQLite when asked for.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import IndexCorruptError
from ..types import Article, Chunk
from .base import UNDATED, ArticleInfo, Hit, StoreStats, Where, iter_batches
from .keywords import TermIndex
from .lock import writer_lock
from .schema import FORMAT, SCHEMA
from .sqlite_write import Writes, _Pending
from .vectors import DenseSearch, VectorFile, damaged

__all__ = ["SqliteStore"]

_BATCH = 500  # ids per SQL statement (SQLite's default limit is 32766 variables)


def _fix(folder: Path) -> str:
    return f"rebuild it with: rag index --rebuild --store {folder}"


class SqliteStore(Writes):
    """The embedded backend of `rag.store.base.Store` in ``folder`` (writing: `rag.store.sqlite_write`)."""

    backend = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.location = str(self.folder)
        self._db: sqlite3.Connection | None = None
        self._terms: TermIndex | None = None
        self._memory: _Memory | None = None
        self._pending: _Pending | None = None
        self._locked = False  # this object holds the writer lock
        self._verified: set[tuple[str, str]] = set()  # vector files (name, sha256) found intact
        self.notes: list[str] = []  # what opening had to repair, for the user
        # The retriever reads keywords on a side thread while the dense search runs: the first
        # search of both must open (or repair) each part once, not twice at the same time.
        self._opening = threading.RLock()

    # -- opening -------------------------------------------------------------------------
    @property
    def _path(self) -> Path:
        return self.folder / "store.sqlite"

    def _conn(self, create: bool = False) -> sqlite3.Connection | None:
        if self._db is None:
            if not self._path.exists():
                if not create:
                    return None
                self.folder.mkdir(parents=True, exist_ok=True)
            try:
                db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=FULL")  # a commit survives power loss, not only a crash
                db.executescript(SCHEMA)
            except sqlite3.DatabaseError as exc:
                raise IndexCorruptError(f"index database {self._path} is unreadable ({exc}); {_fix(self.folder)}") from exc
            self._db = db
        return self._db

    def _meta(self, key: str) -> Any:
        db = self._conn()
        if db is None:
            return None
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def generation(self) -> int:
        return int(self._meta("generation") or 0)

    def manifest(self) -> dict[str, Any] | None:
        """The manifest, once the vector files it goes with are found intact: a damaged store has
        none to build on (the indexer rebuilds it) and none to answer from (`IndexCorruptError`)."""
        if self._meta("format") not in (None, FORMAT):
            raise IndexCorruptError(f"index in {self.folder}/ has an unknown format; {_fix(self.folder)}")

        def read():
            manifest = self._meta("manifest")
            self._verify(self._files())
            return manifest

        return self._at_one_generation(read)

    def _verify(self, files: Sequence[VectorFile]) -> None:
        """Raise `IndexCorruptError` unless every file of ``files`` is there with its recorded checksum."""
        # Vector files are immutable: one check per file and reader.
        for path, problem in damaged(self.folder / "vectors", files, self._verified):
            raise IndexCorruptError(f"index file {path} is {problem}; {_fix(self.folder)}")
        self._verified.update((name, digest) for vf in files for name, digest in vf.checksums.items())

    def _at_one_generation(self, read: Callable[[], Any]) -> Any:
        """``read()``, all of it at one generation: a writer committing meanwhile (and removing the
        vector files of the generation before) sends the reader round again."""
        for _ in range(20):
            generation = self.generation()
            try:
                out = read()
            except (IndexCorruptError, OSError):
                if self.generation() == generation:
                    raise
                continue
            if self.generation() == generation:
                return out
        raise IndexCorruptError(f"index in {self.folder}/ kept changing while being read; try again")

    def _keywords(self) -> TermIndex:
        """The tantivy index, rebuilt from SQLite when it was committed for another generation
        or is damaged."""
        with self._opening:
            if self._terms is None:
                terms = self._open_keywords()
                if terms is None or (terms.generation() != self.generation() and self.generation()):
                    terms = self._rebuild_keywords()
                self._terms = terms
            return self._terms

    def _open_keywords(self) -> TermIndex | None:
        """The tantivy index, or None when it is damaged (tantivy reports that as a ValueError)."""
        try:
            terms = TermIndex(self.folder / "keywords")
            terms.generation()
        except ValueError:
            return None
        return terms

    def _rebuild_keywords(self) -> TermIndex:
        folder = self.folder / "keywords"
        with contextlib.ExitStack() as stack:
            if not self._locked:
                stack.enter_context(writer_lock(self.folder / ".lock"))
                again = self._open_keywords()
                if again is not None and again.generation() == self.generation():
                    return again  # the writer we waited for finished its commit
            terms = self._open_keywords()
            if terms is None:  # nothing in a damaged index is worth keeping: it is derived from SQLite
                shutil.rmtree(folder, ignore_errors=True)
                terms = TermIndex(folder)
                why = "was unreadable"
            else:
                why = "did not match the database"
            terms.clear()
            rows = self._conn().execute("SELECT key, doc_id, day, text FROM chunks ORDER BY key")
            while batch := rows.fetchmany(5000):
                terms.add(batch)
            terms.commit(self.generation())
        self.notes.append(f"the keyword index in {folder} {why}; rebuilt it")
        return terms

    def _mem(self) -> _Memory:
        memory = self._memory
        if memory is None:
            with self._opening:
                if self._memory is None:
                    self._memory = _Memory.load(self)
                memory = self._memory
        return memory

    # -- reading -------------------------------------------------------------------------
    def catalogue(self) -> dict[str, ArticleInfo]:
        db = self._conn()
        if db is None:
            return {}
        rows = db.execute("SELECT id, title, published, source, digest, text_hash, chunks FROM articles ORDER BY num")
        return {r[0]: ArticleInfo(*r) for r in rows}

    def articles(self, ids: Sequence[str]) -> list[Article]:
        found = self._by_id("SELECT id, title, text, path, url, source, published FROM articles", ids)
        return [Article(*found[i]) for i in ids if i in found]

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        found = self._by_id("SELECT id, doc_id, text, start, end FROM chunks", ids)
        return [Chunk(*found[i]) for i in ids if i in found]

    def _by_id(self, select: str, ids: Sequence[str]) -> dict[str, tuple]:
        db = self._conn()
        out: dict[str, tuple] = {}
        if db is None:
            return out
        for batch in iter_batches(list(dict.fromkeys(ids)), _BATCH):
            marks = ",".join("?" * len(batch))
            out.update((r[0], r) for r in db.execute(f"{select} WHERE id IN ({marks})", batch))
        return out

    def signatures(self) -> dict[str, np.ndarray]:
        db = self._conn()
        if db is None:
            return {}
        rows = db.execute("SELECT id, signature FROM articles WHERE signature IS NOT NULL ORDER BY num")
        return {i: np.frombuffer(b, dtype=np.uint32).copy() for i, b in rows}

    def dense(self, vector: np.ndarray, k: int, where: Where | None = None) -> list[Hit]:
        if self._conn() is None:
            return []
        mem = self._mem()
        return mem.hits(mem.dense.search(vector, k, mem.mask(where)))

    def lexical(self, text: str, k: int, where: Where | None = None) -> list[Hit]:
        if self._conn() is None or not self.generation():
            return []
        return self._mem().hits(self._keywords().search(text, k, where))

    def doc_freq(self, terms: Sequence[str]) -> tuple[int, list[int]]:
        if self._conn() is None or not self.generation():
            return 0, [0] * len(terms)
        return len(self._mem().keys), self._keywords().doc_freq(terms)

    def stats(self, *, check: bool = False) -> StoreStats:
        from .health import store_stats

        return store_stats(self, check=check)

    def _files(self) -> list[VectorFile]:
        db = self._conn()
        if db is None:
            return []
        return [VectorFile(n, r, json.loads(c)) for n, r, c in db.execute("SELECT name, rows, checksums FROM vector_files ORDER BY name")]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._terms = None
        self._memory = None

class _Memory:
    """A reader's in-memory view of the live chunks: keys, ids, articles, days, and FAISS."""

    def __init__(self, keys, ids, docs, days, dense) -> None:
        self.keys, self.ids, self.docs, self.days, self.dense = keys, ids, docs, days, dense
        self._mask_cache: tuple[Where, np.ndarray] | None = None

    @classmethod
    def load(cls, store: SqliteStore) -> _Memory:
        return store._at_one_generation(lambda: cls._read(store))

    @classmethod
    def _read(cls, store: SqliteStore) -> _Memory:
        db = store._conn()
        rows = db.execute("SELECT key, id, doc_id, day FROM chunks ORDER BY key").fetchall()
        keys = np.array([r[0] for r in rows], dtype=np.int64)
        ids = np.array([r[1] for r in rows], dtype=object)
        docs = np.array([r[2] for r in rows], dtype=object)
        days = np.array([r[3] for r in rows], dtype=np.int64)
        files = store._files()
        store._verify(files)
        try:
            dense = DenseSearch(store.folder / "vectors", files, keys)
        except (OSError, ValueError, RuntimeError) as exc:
            raise IndexCorruptError(f"index vectors in {store.folder / 'vectors'} are unreadable ({exc}); {_fix(store.folder)}") from exc
        return cls(keys, ids, docs, days, dense)

    def mask(self, where: Where | None) -> np.ndarray | None:
        if where is None or where.everything:
            return None
        if self._mask_cache is not None and self._mask_cache[0] == where:
            return self._mask_cache[1]
        ok = np.ones(len(self.keys), dtype=bool)
        dated = self.days != UNDATED
        if where.first is not None:
            ok &= ~dated | (self.days >= where.first)
        if where.last is not None:
            ok &= ~dated | (self.days <= where.last)
        if not where.undated:
            ok &= dated
        if where.articles is not None:
            ok &= np.isin(self.docs, list(where.articles))
        self._mask_cache = (where, ok)
        return ok

    def hits(self, found: list[tuple[int, float]]) -> list[Hit]:
        pos = np.searchsorted(self.keys, np.array([k for k, _ in found], dtype=np.int64))
        out = []
        for (key, score), p in zip(found, pos):
            if p < len(self.keys) and self.keys[p] == key:  # a key committed after this reader loaded is skipped
                out.append(Hit(self.ids[p], self.docs[p], score))
        return out


