"""BM25 keyword search with tantivy, over terms we tokenise ourselves.

tantivy (Rust, Lucene-style segments) does the inverted index, BM25 scoring,
deletes and atomic commits. The text it indexes is `rag.text.index_terms` joined
by spaces under tantivy's whitespace tokenizer, so the terms are exactly ours:
stemmed, accents folded, and "2,000" one term "2000" (tantivy's own English
tokenizer splits it into "2" and "000"). Queries are built from the same terms
as a disjunction of term queries, never parsed, so no user text is query syntax.

Each document is a chunk: its integer ``key`` (the store's row key, a fast field
read back for the hits without loading documents), its article ``doc`` (raw, to
delete an article's chunks by term) and publication ``day`` (a fast field, for date
filters inside the search). Beside tantivy's files, ``generation.json`` records the
store generation the index was committed for (see `rag.store.sqlite`). It is a file,
not a document in the index, because every document counts in BM25: an empty marker
document added one to the number of documents and shortened the average length.
A commit removes the file, commits tantivy and only then writes it anew, so a process
killed in between leaves no file, which reads as "another generation" and has the
index rebuilt from SQLite, never a file naming a generation the index does not hold.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..text import index_terms
from .base import UNDATED, Where

__all__ = ["TermIndex"]

_MARKER = "generation.json"
# Bump when `rag.text.index_terms` changes: an index of other terms is rebuilt from SQLite's texts.
TERMS_VERSION = 2
_HEAP = 64_000_000  # tantivy's writer buffer; it flushes a segment when full


def _schema():
    import tantivy

    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("key", stored=False, indexed=True, fast=True)
    sb.add_text_field("doc", stored=False, tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("day", stored=False, indexed=True, fast=True)
    sb.add_text_field("body", stored=False, tokenizer_name="whitespace", index_option="freq")
    return sb.build()


class TermIndex:
    """A tantivy index of chunk terms in ``folder`` (in memory when None)."""

    def __init__(self, folder: Path | None = None) -> None:
        import tantivy

        self._schema = _schema()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self._index = tantivy.Index(self._schema, path=None if folder is None else str(folder))
        self._writer = None
        self._marker = None if folder is None else folder / _MARKER
        self._generation: int | None = None  # an in-memory index's marker

    # -- reading -------------------------------------------------------------------------
    def searcher(self):
        return self._index.searcher()

    def generation(self) -> int | None:
        """The generation the index was last committed for, or None when nothing says (or when it
        was built from another version of the terms, which is as good as none)."""
        if self._marker is None:
            return self._generation
        try:
            marker = json.loads(self._marker.read_text(encoding="utf-8"))
            if marker["terms"] != TERMS_VERSION:
                return None
            return int(marker["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def search(self, text: str, k: int, where: Where | None = None) -> list[tuple[int, float]]:
        """The top ``k`` (key, BM25 score) for ``text``'s terms, ties broken by key."""
        from tantivy import Occur, Query

        terms = list(dict.fromkeys(index_terms(text)))
        if not terms or k <= 0:
            return []
        q = Query.boolean_query([(Occur.Should, Query.term_query(self._schema, "body", t)) for t in terms])
        filters = self._filters(where)
        if filters:
            # A filter must not add to the score: wrapped to score 0, it only restricts.
            q = Query.boolean_query([(Occur.Must, q)] + [(Occur.Must, Query.const_score_query(f, 0.0)) for f in filters])
        s = self._index.searcher()
        hits = s.search(q, k).hits
        if not hits:
            return []
        keys = s.fast_field_values("key", [a for _, a in hits])
        return sorted(((int(key), float(score)) for (score, _), key in zip(hits, keys)), key=lambda t: (-t[1], t[0]))

    def _filters(self, where: Where | None) -> list:
        from tantivy import FieldType, Occur, Query

        if where is None or where.everything:
            return []
        out = []
        if where.articles is not None:
            out.append(Query.term_set_query(self._schema, "doc", sorted(where.articles)) if where.articles else Query.empty_query())
        if where.first is not None or where.last is not None:
            dated = Query.range_query(self._schema, "day", FieldType.Integer, where.first, where.last)
            if where.first is None:
                # UNDATED (-1) sorts before every day: an open lower bound must start after it.
                dated = Query.range_query(self._schema, "day", FieldType.Integer, UNDATED + 1, where.last)
            undated = Query.term_query(self._schema, "day", UNDATED)
            out.append(Query.boolean_query([(Occur.Should, dated), (Occur.Should, undated)]) if where.undated else dated)
        elif not where.undated:
            out.append(Query.boolean_query([(Occur.Must, Query.all_query()),
                                            (Occur.MustNot, Query.term_query(self._schema, "day", UNDATED))]))
        return out

    def doc_freq(self, terms: Sequence[str]) -> list[int]:
        """How many live chunks hold each term (counted by search, so deleted ones don't count)."""
        from tantivy import Query

        s = self._index.searcher()
        return [s.search(Query.term_query(self._schema, "body", t), 1, count=True).count for t in terms]

    def count(self) -> int:
        """Live chunk documents."""
        return self._index.searcher().num_docs

    # -- writing -------------------------------------------------------------------------
    def _w(self):
        if self._writer is None:
            self._writer = self._index.writer(_HEAP, 1)
        return self._writer

    def add(self, rows: Iterable[tuple[int, str, int, str]]) -> None:
        """Add chunk documents: (key, article id, day, text)."""
        import tantivy

        w = self._w()
        for key, doc_id, day, text in rows:
            d = tantivy.Document()
            d.add_integer("key", key)
            d.add_text("doc", doc_id)
            d.add_integer("day", day)
            d.add_text("body", " ".join(index_terms(text)))
            w.add_document(d)

    def delete_articles(self, doc_ids: Iterable[str]) -> None:
        w = self._w()
        for doc_id in doc_ids:
            w.delete_documents_by_term("doc", doc_id)

    def clear(self) -> None:
        self._w().delete_all_documents()

    def commit(self, generation: int) -> None:
        """Commit what was added and deleted, then record ``generation`` (see the module docstring)."""
        w = self._w()
        if self._marker is not None:
            self._marker.unlink(missing_ok=True)
        w.commit()
        w.wait_merging_threads()
        self._writer = None
        self._index.reload()
        self._generation = generation
        if self._marker is not None:
            _record(self._marker, generation)

    def rollback(self) -> None:
        if self._writer is not None:
            self._writer.rollback()
            self._writer = None


def _record(marker: Path, generation: int) -> None:
    """Write ``marker`` whole or not at all: a reader never sees half of it."""
    tmp = marker.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"generation": generation, "terms": TERMS_VERSION}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, marker)
