"""The store contract: one suite, run unchanged against every backend (`rag.store.base.Store`).

Each test writes articles, chunks and vectors through the protocol and checks what
comes back against a brute-force reference computed here from the same data.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from rag.dates import day_number
from rag.errors import RagError
from rag.store import open_store
from rag.store.base import UNDATED, StoredArticle, Where
from rag.types import Article, Chunk

DIM = 8
BACKENDS = ["sqlite", "milvus"]

WORDS = "fire flood quay harbour police minister budget river storm vote court strike".split()


@pytest.fixture(params=[*BACKENDS, "sqlite-rescored"])
def spec(request, tmp_path, monkeypatch):
    if request.param == "milvus":
        return f"milvus:{tmp_path / 'store.db'}"
    if request.param == "sqlite-rescored":
        # Every vector file takes the large-file path: an 8-bit scan in two pieces, re-scored in
        # float32, with the filters as row selectors (`rag.store.vectors.RESCORE_FROM`).
        import rag.store.vectors as vectors

        monkeypatch.setattr(vectors, "RESCORE_FROM", 1)
    return str(tmp_path / "index")


def _article(i: int, day: str | None, words: list[str]) -> tuple[StoredArticle, list[Chunk]]:
    text = ". ".join(f"The {w} report number {i} said {2000 + i:,} people" for w in words) + "."
    art = Article(id=f"a{i}", title=f"Title {i} {words[0]}", text=text, path=f"/c/{i}.txt", published=day, source="Wire")
    chunks, pos = [], 0
    for j, w in enumerate(words):
        piece = f"The {w} report number {i} said {2000 + i:,} people"
        start = text.index(piece, pos)
        chunks.append(Chunk(id=f"a{i}-{j:04d}", doc_id=art.id, text=piece, start=start, end=start + len(piece)))
        pos = start + len(piece)
    sig = np.arange(4, dtype=np.uint32) + i
    return StoredArticle(art, digest=f"d{i}", text_hash=f"t{i}", signature=sig), chunks


def _vectors(chunks: list[Chunk]) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(" ".join(c.id for c in chunks).encode()))  # the same in every run
    v = rng.normal(size=(len(chunks), DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


class Reference:
    """What the store should hold: the live chunks and their vectors."""

    def __init__(self) -> None:
        self.articles: dict[str, StoredArticle] = {}
        self.chunks: dict[str, tuple[Chunk, np.ndarray]] = {}

    def upsert(self, arts, chunks, vectors) -> None:
        self.delete([a.article.id for a in arts])
        self.articles.update({a.article.id: a for a in arts})
        self.chunks.update({c.id: (c, v) for c, v in zip(chunks, vectors)})

    def delete(self, ids) -> None:
        for i in ids:
            self.articles.pop(i, None)
        self.chunks = {k: cv for k, cv in self.chunks.items() if cv[0].doc_id in self.articles}

    def day(self, doc_id: str) -> int:
        d = day_number(self.articles[doc_id].article.published)
        return UNDATED if d is None else d

    def dense(self, q: np.ndarray, k: int, where: Where | None = None) -> list[str]:
        rows = [(c.id, float(v @ q)) for c, v in self.chunks.values() if where is None or where.allows(self.day(c.doc_id), c.doc_id)]
        return [i for i, _ in sorted(rows, key=lambda t: -t[1])[:k]]

    def holding(self, word: str, where: Where | None = None) -> set[str]:
        return {c.id for c, _ in self.chunks.values() if word in c.text.lower()
                and (where is None or where.allows(self.day(c.doc_id), c.doc_id))}


def _write(store, ref: Reference, items, *, delete=()) -> None:
    with store.writing():
        if delete:
            store.delete(list(delete))
            ref.delete(delete)
        if items:
            arts = [a for a, _ in items]
            chunks = [c for _, cs in items for c in cs]
            vectors = _vectors(chunks)
            store.upsert(arts, chunks, vectors)
            ref.upsert(arts, chunks, vectors)
        store.commit({"embedder": "fake", "n": len(ref.articles)})


DAYS = ["2026-03-01", "2026-03-02", "2026-03-03", None, "2026-03-05", "2026-03-06"]


def _corpus() -> list:
    return [_article(i, DAYS[i % len(DAYS)], [WORDS[(i + j) % len(WORDS)] for j in range(3)]) for i in range(12)]


def _check(store, ref: Reference) -> None:
    rng = np.random.default_rng(7)
    cat = store.catalogue()
    assert set(cat) == set(ref.articles)
    assert {i: info.chunks for i, info in cat.items()} == {
        i: sum(c.doc_id == i for c, _ in ref.chunks.values()) for i in ref.articles
    }
    assert {i: (info.digest, info.text_hash, info.title) for i, info in cat.items()} == {
        i: (a.digest, a.text_hash, a.article.title) for i, a in ref.articles.items()
    }
    ids = sorted(ref.chunks)
    assert store.chunks(ids) == [ref.chunks[i][0] for i in ids]
    assert store.articles(sorted(ref.articles)) == [ref.articles[i].article for i in sorted(ref.articles)]
    for _ in range(5):
        q = rng.normal(size=DIM).astype(np.float32)
        q /= np.linalg.norm(q)
        assert [h.chunk_id for h in store.dense(q, 5)] == ref.dense(q, 5)
        where = Where(last=day_number("2026-03-03"))
        assert [h.chunk_id for h in store.dense(q, 5, where)] == ref.dense(q, 5, where)
    for word in ("fire", "police", "court"):
        hits = store.lexical(f"what about the {word}?", 100)
        assert {h.chunk_id for h in hits} == ref.holding(word)
        assert all(h.doc_id == ref.chunks[h.chunk_id][0].doc_id for h in hits)
    stats = store.stats(check=True)
    assert (stats.articles, stats.chunks, stats.problems) == (len(ref.articles), len(ref.chunks), [])


def test_an_empty_store_has_nothing(spec):
    store = open_store(spec)
    assert store.manifest() is None and store.catalogue() == {}
    assert store.dense(np.ones(DIM, np.float32) / DIM**0.5, 3) == [] and store.lexical("fire", 3) == []
    assert store.stats().chunks == 0


def test_add_then_search_matches_brute_force(spec):
    store, ref = open_store(spec), Reference()
    _write(store, ref, _corpus())
    _check(store, ref)
    assert store.manifest() == {"embedder": "fake", "n": 12}


def test_a_large_vector_file_is_scanned_in_8_bits_and_returns_the_exact_scores(tmp_path, monkeypatch):
    import faiss

    import rag.store.vectors as vectors

    monkeypatch.setattr(vectors, "RESCORE_FROM", 1)
    store, ref = open_store(str(tmp_path / "index")), Reference()
    _write(store, ref, _corpus())
    q = np.ones(DIM, np.float32) / DIM**0.5
    hits = store.dense(q, 7)
    parts = store._mem().dense._parts
    assert len(parts) == 2 and all(isinstance(faiss.downcast_index(p.index), faiss.IndexRefineFlat) for p in parts)
    assert [h.chunk_id for h in hits] == ref.dense(q, 7)
    exact = {c.id: float(v @ q) for c, v in ref.chunks.values()}
    assert [h.score for h in hits] == pytest.approx([exact[h.chunk_id] for h in hits], abs=1e-6)


def test_change_delete_and_re_add(spec):
    store, ref = open_store(spec), Reference()
    corpus = _corpus()
    _write(store, ref, corpus)
    # Change: a3 gets other words and one chunk fewer; its old chunks must be gone everywhere.
    _write(store, ref, [_article(3, "2026-03-04", ["vote", "strike"])])
    _check(store, ref)
    assert store.chunks(["a3-0002"]) == []
    # Delete two, one of them the changed one.
    _write(store, ref, [], delete=["a3", "a7"])
    _check(store, ref)
    assert store.articles(["a3", "a7"]) == []
    # Re-add one of them as it first was.
    _write(store, ref, [corpus[7]])
    _check(store, ref)


def test_date_filters_and_article_filters_apply_inside_the_engine(spec):
    store, ref = open_store(spec), Reference()
    _write(store, ref, _corpus())
    q = np.ones(DIM, np.float32) / DIM**0.5
    day = day_number("2026-03-02")
    for where in (Where(first=day, last=day, undated=False), Where(last=day), Where(first=day + 1),
                  Where(articles=frozenset({"a1", "a4"})), Where(undated=False, first=day, articles=frozenset({"a1", "a9"}))):
        # k as large as the store: every allowed chunk comes back and no other.
        dense = store.dense(q, 100, where)
        assert [h.chunk_id for h in dense] == ref.dense(q, 100, where)
        assert {h.chunk_id for h in store.lexical("numbers", 100, where)} == ref.holding("number", where)
        # k smaller than what is allowed: the filter still runs first, so k allowed hits come back.
        assert [h.chunk_id for h in store.dense(q, 2, where)] == ref.dense(q, 2, where)


def test_a_restart_sees_the_same_store(spec):
    store, ref = open_store(spec), Reference()
    _write(store, ref, _corpus())
    _write(store, ref, [_article(5, "2026-03-05", ["storm"])], delete=["a2"])
    store.close()
    again = open_store(spec)
    _check(again, ref)
    assert again.manifest() == {"embedder": "fake", "n": 11}
    assert set(again.signatures()) == set(ref.articles)
    assert again.signatures()["a5"].tolist() == [5, 6, 7, 8]


def test_writes_without_a_commit_are_thrown_away(spec):
    store, ref = open_store(spec), Reference()
    _write(store, ref, _corpus())
    with store.writing():
        art, chunks = _article(40, "2026-03-01", ["harbour"])
        store.upsert([art], chunks, _vectors(chunks))
        store.delete(["a1"])
    _check(store, ref)
    store.close()
    _check(open_store(spec), ref)


def test_clear_then_commit_leaves_only_what_came_after(spec):
    store, ref = open_store(spec), Reference()
    _write(store, ref, _corpus())
    with store.writing():
        store.clear()
        ref.delete(list(ref.articles))
        art, chunks = _article(50, None, ["flood", "river"])
        vectors = _vectors(chunks)
        store.upsert([art], chunks, vectors)
        ref.upsert([art], chunks, vectors)
        store.commit({"embedder": "fake"})
    _check(store, ref)


def test_stored_vectors_are_found_by_chunk_text(spec):
    store, ref = open_store(spec), Reference()
    _write(store, ref, _corpus())
    c, v = ref.chunks["a4-0001"]
    got = store.reusable([c.text, "a text nobody stored", c.text])
    assert got[1] is None and np.allclose(got[0], v, atol=1e-6) and np.allclose(got[2], v, atol=1e-6)


def test_numbers_are_whole_terms_and_doc_freq_counts_chunks(spec):
    store, ref = open_store(spec), Reference()
    _write(store, ref, _corpus())
    # "2,004" is one term, matched by "2004" and "2,004" alike, and not by "2" or "004".
    assert [h.doc_id for h in store.lexical("2,004", 10)] == ["a4"] * 3
    assert {h.doc_id for h in store.lexical("2004", 10)} == {"a4"}
    assert store.lexical("004", 10) == []
    n, dfs = store.doc_freq(["fire", "2004", "zzz"])
    assert n == len(ref.chunks) and dfs == [len(ref.holding("fire")), 3, 0]


def test_a_second_writer_is_refused_while_the_first_writes(spec):
    store = open_store(spec)
    other = open_store(spec)
    with store.writing():
        with pytest.raises(RagError, match="another process is writing"):
            with other.writing(wait=False):
                pass


def test_first_searches_on_two_threads_open_the_store_once(tmp_path, monkeypatch):
    """The retriever runs BM25 on a side thread beside the dense search: the first of each, at the
    same moment, must load the vectors (and open tantivy) once and both answer."""
    import threading

    import rag.store.sqlite as sqlite_store

    _write(open_store(str(tmp_path / "index")), Reference(), _corpus())
    real, loads = sqlite_store._Memory.load, []

    def counted(store):
        loads.append(store)
        return real(store)

    monkeypatch.setattr(sqlite_store._Memory, "load", staticmethod(counted))
    q = np.ones(DIM, np.float32) / DIM**0.5

    def at_once(start: threading.Barrier, out: dict, name: str, search) -> None:
        start.wait()
        out[name] = search()

    for _ in range(5):
        store, start, out = open_store(str(tmp_path / "index")), threading.Barrier(2), {}
        threads = [
            threading.Thread(target=at_once, args=(start, out, "dense", lambda s=store: s.dense(q, 3))),
            threading.Thread(target=at_once, args=(start, out, "lexical", lambda s=store: s.lexical("fire", 3))),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(out["dense"]) == 3 and out["lexical"]
        assert loads.count(store) == 1
