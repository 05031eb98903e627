"""The embedded store's SQLite schema, and the chunk-text hash that finds reusable vectors."""

from __future__ import annotations

import hashlib

__all__ = ["SCHEMA", "FORMAT", "text_hash64"]

FORMAT = 3  # 1-2: the segment folders of before; 3: SQLite + FAISS + tantivy

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    num INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL, text TEXT NOT NULL, path TEXT NOT NULL,
    url TEXT, source TEXT, published TEXT,
    day INTEGER NOT NULL,
    digest TEXT NOT NULL, text_hash TEXT NOT NULL,
    chunks INTEGER NOT NULL,
    signature BLOB
);
CREATE TABLE IF NOT EXISTS chunks (
    key INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES articles(id),
    start INTEGER NOT NULL, end INTEGER NOT NULL,
    text TEXT NOT NULL,
    hash INTEGER NOT NULL,
    day INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(hash);
CREATE TABLE IF NOT EXISTS vector_files (name TEXT PRIMARY KEY, rows INTEGER NOT NULL, checksums TEXT NOT NULL);
"""


def text_hash64(text: str) -> int:
    """A signed 64-bit hash of a chunk's text (SQLite's integer): the same text always hashes the same."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little", signed=True)
