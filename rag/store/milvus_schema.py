"""What `rag.store.milvus` keeps in Milvus (the collections' schemas and indexes, the rows they
hold, the filter expressions searches run under) and how it connects.

Three collections, named with a prefix (``rag_``) so one Milvus database can hold other data:

- ``rag_chunks``: one row per chunk: its span, text, text hash, publication day, dense vector
  (exact FLAT index, inner product) and the BM25 sparse vector that Milvus's own BM25 Function
  derives from ``terms``, the chunk's `rag.text.index_terms` joined by spaces.
- ``rag_articles``: one row per article and text part (Milvus caps a VARCHAR at 65,535 bytes and
  articles can be longer): part 0 holds the article's fields, every part a slice of its text.
- ``rag_meta``: the commit state (generation, in-progress marker) and the manifest, in parts.

Milvus requires a vector field in every collection; articles and meta rows carry a dummy one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..dates import day_number
from ..errors import RagError
from ..text import index_terms
from ..types import Article, Chunk
from .base import UNDATED, ArticleInfo, StoredArticle, Where
from .schema import text_hash64

CHUNKS, ARTICLES, META = "rag_chunks", "rag_articles", "rag_meta"
ID_LEN, TEXT_LEN = 4096, 65535
PART_CHARS = 16000  # 4 bytes a character at most in UTF-8: a part always fits TEXT_LEN bytes
DUMMY = [1.0, 0.0]  # the vector of rows that need none
_ESCAPE = re.compile(r"[\W_]")  # what is not a letter or digit: tokenizers may split there


def encode_term(term: str) -> str:
    """``term`` as one token of letters, digits and escapes, so that Milvus's tokenizers (whitespace
    on a server, the regex ``\\w+`` one of Milvus Lite) keep "kassym-jomart" or "3.5" whole. Every
    character but letters and digits becomes ``_<hex>_``, which makes the encoding one-to-one."""
    return _ESCAPE.sub(lambda m: f"_{ord(m.group()):x}_", term)


def query_terms(text: str) -> str:
    """The analysed text of a chunk, or the BM25 query of a question: its index terms, encoded."""
    return " ".join(encode_term(t) for t in index_terms(text))


def literal(value: str) -> str:
    """A string literal of Milvus's filter language (JSON's quoting is a subset of it)."""
    return json.dumps(value, ensure_ascii=False)


def one_of(field: str, values: Iterable[str | int]) -> str:
    return f"{field} in [{', '.join(literal(v) if isinstance(v, str) else str(int(v)) for v in values)}]"


def where_expr(where: Where | None) -> str | None:
    """The Milvus filter expression of ``where`` ("" for everything), or None when it allows nothing."""
    if where is None or where.everything:
        return ""
    parts = []
    if where.articles is not None:
        if not where.articles:
            return None
        parts.append(one_of("doc_id", sorted(where.articles)))
    dated = [f"day != {UNDATED}"]
    if where.first is not None:
        dated.append(f"day >= {int(where.first)}")
    if where.last is not None:
        dated.append(f"day <= {int(where.last)}")
    if not where.undated:
        parts.append(" and ".join(dated))
    elif len(dated) > 1:
        parts.append(f"(({' and '.join(dated)}) or day == {UNDATED})")
    return " and ".join(f"({p})" for p in parts)


def day_of(published: str | None) -> int:
    d = day_number(published)
    return UNDATED if d is None else d


def parts(text: str) -> list[str]:
    """``text`` in slices that each fit a VARCHAR (at least one, maybe empty)."""
    return [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]


# -- rows ------------------------------------------------------------------------------------

def chunk_row(chunk: Chunk, vector: np.ndarray, day: int) -> dict[str, Any]:
    return {
        "id": chunk.id, "doc_id": chunk.doc_id, "char_start": chunk.start, "char_end": chunk.end,
        "text": chunk.text, "text_hash": text_hash64(chunk.text), "day": day,
        "terms": query_terms(chunk.text), "vector": np.asarray(vector, dtype=np.float32).tolist(),
    }


def row_chunk(row: dict[str, Any]) -> Chunk:
    return Chunk(id=row["id"], doc_id=row["doc_id"], text=row["text"], start=row["char_start"], end=row["char_end"])


CHUNK_FIELDS = ["id", "doc_id", "char_start", "char_end", "text"]
HEAD_FIELDS = ["doc_id", "title", "published", "source", "digest", "text_hash", "chunks"]
ARTICLE_FIELDS = ["doc_id", "part", "parts", "title", "published", "source", "url", "path", "text"]


def article_rows(stored: StoredArticle, chunks: int) -> list[dict[str, Any]]:
    """The rows of one article: part 0 with its fields, then the rest of its text."""
    a = stored.article
    pieces = parts(a.text)
    sig = None if stored.signature is None else base64.b64encode(
        np.asarray(stored.signature, dtype="<u4").tobytes()).decode()
    rows = []
    for n, piece in enumerate(pieces):
        head = n == 0
        rows.append({
            "key": f"{n}:{a.id}", "doc_id": a.id, "part": n, "parts": len(pieces), "text": piece,
            "title": a.title if head else "", "published": a.published if head else None,
            "source": a.source if head else None, "url": a.url if head else None, "path": a.path if head else "",
            "digest": stored.digest if head else "", "text_hash": stored.text_hash if head else "",
            "chunks": chunks if head else 0, "day": day_of(a.published), "signature": sig if head else None,
            "dummy": DUMMY,
        })
    return rows


def row_info(row: dict[str, Any]) -> ArticleInfo:
    return ArticleInfo(id=row["doc_id"], title=row["title"], published=row["published"], source=row["source"],
                       digest=row["digest"], text_hash=row["text_hash"], chunks=int(row["chunks"]))


def rows_article(rows: Sequence[dict[str, Any]]) -> Article | None:
    """The article from all its rows (None when a part is missing)."""
    rows = sorted(rows, key=lambda r: r["part"])
    if not rows or [r["part"] for r in rows] != list(range(rows[0]["parts"])):
        return None
    h = rows[0]
    return Article(id=h["doc_id"], title=h["title"], text="".join(r["text"] for r in rows), path=h["path"],
                   url=h["url"], source=h["source"], published=h["published"])


def row_signature(row: dict[str, Any]) -> np.ndarray | None:
    sig = row.get("signature")
    return None if not sig else np.frombuffer(base64.b64decode(sig), dtype="<u4").astype(np.uint32)


def problems(held: Counter[str], cat: dict[str, ArticleInfo], rows: Counter[str], heads: dict[str, int]) -> list[str]:
    """What is inconsistent between the chunks held by article (``held``), the catalogue, and the
    number of text rows of each article (``rows``) against the number its head row records (``heads``)."""
    out = [f"{n} chunks of article {i}, which is not stored" for i, n in held.items() if i not in cat]
    out += [f"article {i} records {a.chunks} chunks but {held.get(i, 0)} are stored"
            for i, a in cat.items() if a.chunks != held.get(i, 0)]
    return out + [f"article {i} has {rows[i]} of its {n} text parts" for i, n in heads.items() if rows[i] != n]


# -- schemas ---------------------------------------------------------------------------------

def create(client: Any, name: str, dim: int | None = None, *, lite: bool) -> None:
    """Create collection ``name`` (``dim``: the chunks' vector size) with its indexes, loaded."""
    from pymilvus import DataType, Function, FunctionType

    s = client.create_schema(auto_id=False, enable_dynamic_field=False)
    idx = client.prepare_index_params()
    varchar = {"datatype": DataType.VARCHAR, "max_length": TEXT_LEN}
    if name == CHUNKS:
        s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=ID_LEN)
        s.add_field("doc_id", DataType.VARCHAR, max_length=ID_LEN)
        for f in ("char_start", "char_end", "text_hash", "day"):
            s.add_field(f, DataType.INT64)
        s.add_field("text", **varchar)
        # Milvus Lite knows only the "standard" (\w+) and "jieba" tokenizers; encoded terms are \w+
        # tokens, so both split them exactly where the server's whitespace tokenizer does.
        s.add_field("terms", **varchar, enable_analyzer=True, enable_match=True,
                    analyzer_params={"tokenizer": "standard" if lite else "whitespace"})
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        s.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                input_field_names=["terms"], output_field_names=["sparse"]))
        # FLAT: exact search, equal to brute force. At 220M chunks a cluster would use HNSW or IVF.
        idx.add_index("vector", index_type="FLAT", metric_type="IP")
        idx.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        for f in ("doc_id", "day", "text_hash"):
            idx.add_index(f, index_type="INVERTED")
    else:
        s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=ID_LEN)
        s.add_field("dummy", DataType.FLOAT_VECTOR, dim=len(DUMMY))
        idx.add_index("dummy", index_type="FLAT", metric_type="IP")
        if name == META:
            s.add_field("value", **varchar)
        else:
            s.add_field("doc_id", DataType.VARCHAR, max_length=ID_LEN)
            for f in ("part", "parts", "chunks", "day"):
                s.add_field(f, DataType.INT64)
            for f in ("title", "path", "text", "digest", "text_hash"):
                s.add_field(f, **varchar)
            for f in ("published", "source", "url", "signature"):
                s.add_field(f, **varchar, nullable=True)
            idx.add_index("doc_id", index_type="INVERTED")
    client.create_collection(name, schema=s, consistency_level="Strong")
    # sync=False: pymilvus otherwise polls each new index every 0.5 s; indexes of an empty
    # collection are built at once, and load_collection waits for them anyway.
    client.create_index(name, idx, sync=False)
    client.load_collection(name)


# -- connections -----------------------------------------------------------------------------

_lite_users: Counter[str] = Counter()  # open Lite stores by path: the last to close stops its server
_lite_guard = threading.Lock()


def connect(uri: str, *, lite: bool) -> Any:
    """A MilvusClient for a Lite file (starting its in-process server) or a server URL."""
    from pymilvus import MilvusClient

    quiet = logging.getLogger("milvus_lite.server_manager")
    level, quiet.level = quiet.level, logging.CRITICAL  # it logs a traceback when another process holds the file
    try:
        if not lite:
            return MilvusClient(uri=uri, token=os.environ.get("RAG_MILVUS_TOKEN", ""))
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        client = MilvusClient(uri=uri)
        with _lite_guard:
            _lite_users[uri] += 1
        return client
    except Exception as exc:
        why = "another process has it open: Milvus Lite allows one at a time" if lite else f"is the server up? {exc}"
        raise RagError(f"cannot open the Milvus store {uri} ({why})") from exc
    finally:
        quiet.setLevel(level)


def disconnect(client: Any, uri: str, *, lite: bool) -> None:
    client.close()
    if lite:
        with _lite_guard:
            _lite_users[uri] -= 1
            last = _lite_users[uri] <= 0
        if last:  # stop the in-process server: the file is closed, and free for another process
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(uri)


def server_lock(url: str) -> Path:
    """The writer lock file of a server store, in the user's cache, keyed by the URL."""
    if os.environ.get("RAG_CACHE_DIR"):
        base = Path(os.environ["RAG_CACHE_DIR"]).expanduser()
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser() / "rag-news"
    return base / "locks" / f"milvus-{hashlib.sha1(url.encode()).hexdigest()[:16]}.lock"
