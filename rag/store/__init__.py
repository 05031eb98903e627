"""Where an index lives: one protocol (`rag.store.base.Store`), backends chosen by configuration.

``RAG_STORE`` / ``--store`` (``--index`` is the same option):

- a folder path (the default, ``index``): the embedded backend, `rag.store.sqlite`;
- ``milvus:PATH.db``: Milvus Lite, embedded, in one file (`rag.store.milvus`);
- ``http://HOST:19530`` (or ``https://``): a Milvus server or cluster.

Backends import their engines lazily, so choosing one never loads the other's.
"""

from __future__ import annotations

from pathlib import Path

from .base import UNDATED, ArticleInfo, Hit, Store, StoredArticle, StoreStats, Where

__all__ = ["open_store", "is_milvus", "Store", "Where", "Hit", "StoredArticle", "ArticleInfo", "StoreStats", "UNDATED"]


def is_milvus(spec: str | Path) -> bool:
    """Whether a store spec names Milvus (Lite by ``milvus:`` file, or a server by URL)."""
    s = str(spec)
    return s.startswith(("milvus:", "http://", "https://"))


def open_store(spec: str | Path) -> Store:
    """The store ``spec`` names; nothing is created until the first commit."""
    if is_milvus(spec):
        from .milvus import MilvusStore

        return MilvusStore(str(spec))
    from .sqlite import SqliteStore

    return SqliteStore(Path(spec).expanduser())
