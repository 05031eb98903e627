"""`rag info` for the embedded store: where it is, how big, and whether its three engines agree."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from .base import StoreStats
from .keywords import TermIndex
from .vectors import damaged

if TYPE_CHECKING:
    from .sqlite import SqliteStore

__all__ = ["store_stats"]


def store_stats(store: SqliteStore, *, check: bool = False) -> StoreStats:
    """Counts and size; with ``check``, SQLite's integrity check, the vector files' checksums,
    and tantivy's generation and document count against SQLite's."""
    stats = StoreStats(backend=store.backend, location=store.location)
    db = store._conn()
    if db is None:
        return stats
    stats.bytes = sum(p.stat().st_size for p in store.folder.rglob("*") if p.is_file())
    stats.generation = store.generation()
    stats.articles = db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    stats.chunks = db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    files = store._files()
    stats.details = {
        "database": str(store.folder / "store.sqlite"),
        "vector_files": len(files),
        "vector_rows": sum(f.rows for f in files),
        "format": store._meta("format"),
    }
    if not check:
        return stats
    try:
        result = [r[0] for r in db.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:
        result = [str(exc)]
    if result != ["ok"]:
        stats.problems.append(f"SQLite integrity check: {'; '.join(result[:3])}")
    wrong = db.execute(
        "SELECT a.id FROM articles a LEFT JOIN chunks c ON c.doc_id = a.id GROUP BY a.id HAVING COUNT(c.key) != a.chunks"
    ).fetchall()
    if wrong:
        stats.problems.append(f"{len(wrong)} articles' chunk counts disagree with their chunks (e.g. {wrong[0][0]})")
    stats.problems += [f"vector file {path} is {problem}" for path, problem in damaged(store.folder / "vectors", files)]
    if stats.details["vector_rows"] < stats.chunks:
        stats.problems.append(f"{stats.chunks} chunks but only {stats.details['vector_rows']} vector rows")
    # The first search or update rebuilds tantivy from SQLite when its generation is not SQLite's, so
    # those problems say that the next question repairs them (an index from before the marker file was one
    # too); a count that disagrees at the same generation is damage only `rag index --rebuild` mends.
    healed = "; the next question or `rag index` rebuilds it from the database"
    try:
        terms = TermIndex(store.folder / "keywords")
        generation = terms.generation()
        if generation is None:
            stats.problems.append(f"keyword index records no generation (an older version's, or its commit was cut short){healed}")
        elif generation != stats.generation:
            stats.problems.append(f"keyword index is at generation {generation}, the database at {stats.generation}{healed}")
        elif terms.count() != stats.chunks:
            stats.problems.append(f"keyword index holds {terms.count()} chunks, the database {stats.chunks}")
    except (OSError, ValueError) as exc:
        stats.problems.append(f"keyword index unreadable ({exc}){healed}")
    return stats
