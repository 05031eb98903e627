"""rag.retrieval: rank fusion, keyword terms, and hybrid / dense / lexical search over a real store.

The store is a `rag.store.sqlite.SqliteStore` written in a tmp folder through the store protocol
(FAISS for vectors, tantivy for BM25), so these tests exercise the engines retrieval really uses.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import ARRESTED

from rag.dates import day_number
from rag.index import Index
from rag.retrieval import HybridRetriever, reciprocal_rank_fusion
from rag.store import Where, open_store
from rag.store.base import UNDATED, StoredArticle
from rag.text import index_terms
from rag.types import Article, Chunk

DIM = 8


def _unit(rows: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _write(store, items, vectors=None, *, delete=(), manifest=None):
    """One store commit. ``items`` are (article id, published, chunk texts); chunk j of article
    ``a`` gets id ``a-000j``. ``vectors`` has one row per chunk, in that order (random when None)."""
    arts, chunks = [], []
    for doc_id, published, texts in items:
        text = " ".join(texts)
        art = Article(id=doc_id, title=f"Report {doc_id}", text=text, published=published)
        arts.append(StoredArticle(art, digest=doc_id, text_hash=doc_id))
        pos = 0
        for j, t in enumerate(texts):
            start = text.index(t, pos)
            chunks.append(Chunk(f"{doc_id}-{j:04d}", doc_id, t, start, start + len(t)))
            pos = start + len(t)
    if vectors is None:
        vectors = _unit(len(chunks))
    with store.writing():
        if delete:
            store.delete(list(delete))
        if chunks:
            store.upsert(arts, chunks, np.asarray(vectors, dtype=np.float32))
        store.commit(manifest or {"embedder": "test/fake"})
    return store


def _toy(folder: Path, texts, vectors=None):
    """A store of one single-chunk article per text: article ``d{i}``, chunk ``d{i}-0000``."""
    return _write(open_store(folder), [(f"d{i}", None, [t]) for i, t in enumerate(texts)], vectors)


def _ids(hits) -> list[str]:
    return [h.chunk_id for h in hits]


def test_rrf_hand_example():
    # a: ranks 1 and 3; b: ranks 2 and 1; c: rank 3 in the first list only; d: rank 2 in the second only.
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d", "a"]], k=1)
    scores = dict(fused)
    assert scores["a"] == pytest.approx(1 / 2 + 1 / 4)
    assert scores["b"] == pytest.approx(1 / 3 + 1 / 2)
    assert scores["c"] == pytest.approx(1 / 4)
    assert scores["d"] == pytest.approx(1 / 3)
    assert [item for item, _ in fused] == ["b", "a", "d", "c"]


def test_rrf_default_k_weights_and_ties():
    fused = reciprocal_rank_fusion([[1, 2], [2, 1]])
    assert dict(fused)[1] == pytest.approx(1 / 61 + 1 / 62)
    assert [i for i, _ in fused] == [1, 2]  # a tie keeps first appearance
    weighted = reciprocal_rank_fusion([[1, 2], [2, 1]], k=0, weights=[1.0, 3.0])
    assert [i for i, _ in weighted] == [2, 1]
    assert dict(weighted)[2] == pytest.approx(1 / 2 + 3 / 1)
    assert reciprocal_rank_fusion([]) == []
    assert reciprocal_rank_fusion([[], [5]], k=0) == [(5, 1.0)]


def test_index_terms_keep_numbers_whole_and_drop_stopwords():
    assert "2000" in index_terms("At least 2,000 people were arrested")
    assert index_terms("2,000") == index_terms("2000")
    assert "the" not in index_terms("the arrests")
    assert index_terms("arrested") == index_terms("Arrested")


TEXTS = [
    "At least 2,000 people have reportedly been arrested.",
    "Banks have been shut down across the nation.",
    "Flights into the country have been halted.",
    "The price of 200 loaves of bread rose sharply.",
]


def test_bm25_finds_2000_by_query_2000(tmp_path):
    store = _toy(tmp_path / "index", TEXTS)
    hits = store.lexical("2000", 3)
    assert _ids(hits)[:1] == ["d0-0000"]
    assert "d3-0000" not in _ids(hits)  # "200" is a different number
    assert _ids(store.lexical("2,000 arrested", 1)) == ["d0-0000"]
    assert hits[0].doc_id == "d0" and hits[0].score > 0


def test_bm25_edge_cases(tmp_path):
    store = _toy(tmp_path / "index", TEXTS)
    assert store.lexical("the of and", 3) == []  # only stopwords
    assert store.lexical("zebra", 3) == []  # unknown word
    assert store.lexical("2000", 0) == []
    assert 0 < len(store.lexical("shut halted arrested rose", 10)) <= len(TEXTS)
    assert open_store(tmp_path / "never-written").lexical("2000", 3) == []
    assert _write(open_store(tmp_path / "empty"), []).lexical("2000", 3) == []  # committed, no chunks


def test_bm25_scores_by_hand(tmp_path):
    """BM25 as tantivy computes it (k1 1.2, b 0.75), worked out for a two-term query over three chunks."""
    store = _toy(tmp_path / "index", ["flood flood river", "river bank", "bank loan rate rise"])
    # lengths 3, 2, 4: avgdl 3. "flood": df 1; "river": df 2. N = 3.
    idf = {1: math.log(1 + (3 - 1 + 0.5) / 1.5), 2: math.log(1 + (3 - 2 + 0.5) / 2.5)}

    def part(tf, df, length):
        return idf[df] * tf * 2.2 / (tf + 1.2 * (1 - 0.75 + 0.75 * length / 3))

    hits = {h.chunk_id: h.score for h in store.lexical("flood river", 3)}
    assert set(hits) == {"d0-0000", "d1-0000"}
    assert hits["d0-0000"] == pytest.approx(part(2, 1, 3) + part(1, 2, 3), rel=1e-5)
    assert hits["d1-0000"] == pytest.approx(part(1, 2, 2), rel=1e-5)


def test_bm25_after_changes_ranks_like_a_fresh_index(tmp_path):
    """Chunks added over two commits, one article deleted in the second, rank like a store built
    once from the live chunks; a word only the deleted chunk had finds nothing."""
    texts = TEXTS + ["Arrested protesters were released on bail.", "Bread and flour prices rose again."]
    changed = _write(open_store(tmp_path / "changed"), [(f"d{i}", None, [t]) for i, t in enumerate(texts[:4])])
    _write(changed, [(f"d{i}", None, [t]) for i, t in enumerate(texts) if i >= 4], delete=["d1"])
    fresh = _write(open_store(tmp_path / "fresh"), [(f"d{i}", None, [t]) for i, t in enumerate(texts) if i != 1])
    for query in ("arrested", "bread prices rose", "flights halted 2,000", "price of bread"):
        got, want = changed.lexical(query, 5), fresh.lexical(query, 5)
        assert got and _ids(got) == _ids(want), query
    assert changed.lexical("banks shut nation", 5) == []  # only the deleted chunk had these words
    assert changed.chunks(["d1-0000"]) == []


def test_dense_search_is_exact_inner_product(tmp_path):
    store = _toy(tmp_path / "index", ["a", "b", "c", "d"], np.eye(4, dtype=np.float32))
    query = np.array([0.1, 0.9, 0.2, 0.0], dtype=np.float32)
    hits = store.dense(query, 3)
    assert _ids(hits) == ["d1-0000", "d2-0000", "d0-0000"]
    assert [h.score for h in hits] == pytest.approx([0.9, 0.2, 0.1])
    assert len(store.dense(query, 99)) == 4
    assert open_store(tmp_path / "never-written").dense(query, 3) == []


@pytest.mark.parametrize("graph", [False, True], ids=["exact", "hnsw"])
def test_dense_search_skips_deleted_and_replaced_rows(tmp_path, monkeypatch, graph):
    import rag.store.vectors

    if graph:  # the first commit's 40 rows get an HNSW graph, as a large store's files do
        monkeypatch.setattr(rag.store.vectors, "APPROXIMATE_FROM", 30)
    vectors = _unit(60)
    query = vectors[5] + 0.01
    query /= np.linalg.norm(query)
    store = open_store(tmp_path / "index")
    _write(store, [(f"d{i}", None, [f"text {i}"]) for i in range(40)], vectors[:40])
    _write(store, [(f"d{i}", None, [f"text {i}"]) for i in range(40, 60)], vectors[40:])
    assert bool(list((tmp_path / "index" / "vectors").glob("*.faiss"))) == graph
    # The query's six nearest rows (row 5 among them) are deleted; d50 is replaced by a vector far away.
    nearest = [int(h.doc_id[1:]) for h in store.dense(query, 6)]
    assert 5 in nearest
    _write(store, [("d50", None, ["text 50"])], -query.reshape(1, -1), delete=[f"d{i}" for i in nearest])
    assert store.stats().details["vector_rows"] == 61 > store.stats().chunks == 54  # old rows are still in the files
    live = {f"d{i}-0000": vectors[i] for i in range(60) if i not in nearest and i != 50}
    live["d50-0000"] = -query
    want = sorted(live, key=lambda c: -float(live[c] @ query))
    got = store.dense(query, 10)
    assert _ids(got) == want[:10]  # ten live rows, though six nearer ones were deleted
    assert [h.score for h in got] == pytest.approx([float(live[c] @ query) for c in want[:10]], abs=1e-5)
    assert len(store.dense(query, 99)) == 54
    assert _ids(store.dense(-query, 1)) == ["d50-0000"]  # the replacement, not the old row


def test_hybrid_retriever_on_toy_data(tmp_path):
    vectors = np.eye(len(TEXTS), dtype=np.float32)
    store = _toy(tmp_path / "index", TEXTS, vectors)
    # The "embedding" points at chunk 2; the words point at chunk 0.
    retriever = HybridRetriever(store, lambda q: vectors[2])
    dense = retriever.search("2000 arrested", 2, method="dense")
    lexical = retriever.search("2000 arrested", 2, method="lexical")
    hybrid = retriever.search("2000 arrested", 4)
    assert dense[0].chunk.id == "d2-0000" and dense[0].lexical_rank is None and dense[0].dense_rank == 1
    assert lexical[0].chunk.id == "d0-0000" and lexical[0].dense_rank is None and lexical[0].lexical_rank == 1
    assert lexical[0].chunk.text == TEXTS[0]  # texts are read back from the store
    top_two = {p.chunk.id for p in hybrid[:2]}
    assert top_two == {"d0-0000", "d2-0000"}
    assert [p.score for p in hybrid] == sorted((p.score for p in hybrid), reverse=True)
    assert len({p.chunk.id for p in hybrid}) == len(hybrid) == 4
    assert retriever.search("   ", 3) == []
    rrf = HybridRetriever(store, lambda q: vectors[2], fusion="rrf", rrf_k=60)
    fused = rrf.search("2000 arrested", 4)
    # d0: lexical rank 1, dense rank 2 (it ties d1 and d3 at 0, and comes first by key); d2: dense rank 1 only.
    assert [p.chunk.id for p in fused[:2]] == ["d0-0000", "d2-0000"]
    assert fused[0].score == pytest.approx(1 / 61 + 1 / 62) and fused[1].score == pytest.approx(1 / 61)


@pytest.fixture(scope="module")
def seed(seed_index, embedder) -> Index:
    return Index.load(seed_index, embedder)


def test_hybrid_search_finds_the_arrests(seed):
    passages = seed.search(ARRESTED, k=3)
    assert len(passages) == 3
    assert any("2,000 people" in p.chunk.text for p in passages)
    for p in passages:
        assert p.chunk.text == seed.articles[p.chunk.doc_id].text[p.chunk.start : p.chunk.end]
        assert p.dense_rank is not None or p.lexical_rank is not None


@pytest.mark.parametrize("method", ["dense", "lexical"])
def test_single_method_search(seed, method):
    passages = seed.search(ARRESTED, k=3, method=method)
    assert passages and len(passages) <= 3
    assert any("2,000 people" in p.chunk.text for p in passages)
    if method == "dense":
        assert all(p.dense_rank is not None and p.lexical_rank is None for p in passages)
    else:
        assert all(p.lexical_rank is not None and p.dense_rank is None for p in passages)
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_lexical_search_by_number_on_the_seed(seed):
    passages = seed.search("2000", k=1, method="lexical")
    assert passages and "2,000" in passages[0].chunk.text


def test_search_returns_at_most_k_distinct_chunks(seed):
    passages = seed.search("Kazakhstan protests", k=50)
    assert len(passages) == len({p.chunk.id for p in passages}) == min(50, seed.size)
    assert seed.stats()["chunks"] == seed.size == seed.store.stats().chunks


def test_zscore_fusion_worked_example():
    from rag.retrieval import zscore_fusion

    # dense: a=0.9, b=0.5, c=0.1 -> mean 0.5, std sqrt(0.32/3); z = +1.2247, 0, -1.2247
    # lexical: b=4, d=2 -> mean 3, std 1; z = +1, -1. Missing items count the list's mean (z 0).
    fused = dict(zscore_fusion([[("a", 0.9), ("b", 0.5), ("c", 0.1)], [("b", 4.0), ("d", 2.0)]], weights=[0.65, 0.35]))
    z = 0.4 / math.sqrt(0.32 / 3)
    assert fused["a"] == pytest.approx(0.65 * z)
    assert fused["b"] == pytest.approx(0.35 * 1.0)
    assert fused["c"] == pytest.approx(-0.65 * z)
    assert fused["d"] == pytest.approx(-0.35)
    assert [i for i, _ in zscore_fusion([[("a", 0.9), ("b", 0.5), ("c", 0.1)], [("b", 4.0), ("d", 2.0)]], weights=[0.65, 0.35])] == [
        "a", "b", "d", "c",
    ]
    assert zscore_fusion([[("x", 3.0)]]) == [("x", 1.0)]  # a lone hit counts one spread ahead


def test_where_filters_inside_the_engines_so_excluded_chunks_never_crowd_out_allowed_ones(tmp_path):
    """Thirty chunks nearer the query and richer in its words are excluded (published after the day
    asked, or of other articles): with fewer candidates than that, the allowed ones still come back."""
    vectors = _unit(33)
    query = vectors[0]
    late = [(f"late{i}", "2026-03-20", [f"The arrested protesters {i} were arrested again, arrested."]) for i in range(30)]
    # The late chunks lie nearest the query; the allowed ones point elsewhere.
    late_vectors = np.tile(query, (30, 1)) + 0.01 * _unit(30, seed=1)
    late_vectors /= np.linalg.norm(late_vectors, axis=1, keepdims=True)
    allowed = [("early", "2026-03-01", ["Police said people were arrested on Monday."]),
               ("undated", None, ["Some were arrested, the court heard."]),
               ("other", "2026-03-02", ["Flights were halted at the airport."])]
    store = _write(open_store(tmp_path / "index"), late + allowed, np.vstack([late_vectors, -vectors[1:4]]))
    retriever = HybridRetriever(store, lambda q: query, candidates=5)
    by_day = Where(last=day_number("2026-03-10"))
    for method in ("dense", "lexical", "hybrid"):
        hits = retriever.search("arrested", 3, method=method, where=by_day)
        want = {"early", "undated", "other"} if method != "lexical" else {"early", "undated"}
        assert {p.chunk.doc_id for p in hits} == want, method
        assert retriever.search("arrested", 3, method=method)[0].chunk.doc_id.startswith("late")
    dated_only = Where(last=day_number("2026-03-10"), undated=False)
    assert {p.chunk.doc_id for p in retriever.search("arrested", 3, where=dated_only)} == {"early", "other"}
    only = Where(articles=frozenset({"other", "late7"}))
    assert {p.chunk.doc_id for p in retriever.search("arrested", 5, where=only)} == {"other", "late7"}
    assert retriever.search("arrested", 5, where=Where(articles=frozenset())) == []
    assert store.dense(query, 5, Where(first=day_number("2026-04-01"), undated=False)) == []


def test_recency_prior_and_the_as_of_filter():
    from rag.retrieval.recency import day_numbers, recency_prior

    days = np.array([100, 90, 110, UNDATED])  # the last article is undated
    as_of = Where(last=100)
    assert [as_of.allows(int(d), "x") for d in days] == [True, True, False, True]  # published after: out; undated: kept
    assert Where(last=200).allows(110, "x") and not Where(last=100, undated=False).allows(UNDATED, "x")
    prior = recency_prior(days, 100, half_life=7.0)
    assert prior[0] == 0.0 and prior[1] == pytest.approx(-math.log1p(10 / 7))
    assert prior[1] < prior[0]
    assert prior[3] == pytest.approx(np.median(prior[:3]))  # undated articles are neither hidden nor favoured
    assert recency_prior(np.array([UNDATED, UNDATED]), 100, 7.0) is None
    assert recency_prior(days, None, 7.0) is None
    # A question naming days: inside the window no penalty, outside by the distance to it.
    windowed = recency_prior(days, 120, 7.0, window=(95, 105))
    assert windowed[0] == 0.0 and windowed[1] == pytest.approx(-math.log1p(5 / 7))
    assert windowed[2] == pytest.approx(-math.log1p(5 / 7))
    assert day_numbers(["2026-03-01", None, "2026-03-02T10:00:00Z"]).tolist() == [
        day_number("2026-03-01"), UNDATED, day_number("2026-03-01") + 1,
    ]


class _SameVector:
    """An embedder whose every text is the same vector: dense and title scores can't tell chunks apart."""

    name = "test/same-vector"
    dim = DIM
    max_tokens = 256

    def embed(self, texts, *, progress: bool = False) -> np.ndarray:
        return np.tile(_unit(1), (len(texts), 1))

    def count_tokens(self, texts) -> list[int]:
        return [len(t.split()) for t in texts]


def test_index_search_as_of_leaves_later_articles_out_and_prefers_newer_ones(tmp_path):
    text = "The minister resigned after the vote."
    days = {"old": "2026-03-01", "recent": "2026-03-09", "later": "2026-03-12", "undated": None}
    store = _write(
        open_store(tmp_path / "index"), [(d, p, [text]) for d, p in days.items()],
        np.tile(_unit(1), (4, 1)), manifest={"embedder": _SameVector.name},
    )
    index = Index(store, _SameVector())
    assert index.size == 4 and set(index.articles) == set(days)
    everything = index.search("minister resigned", k=4)
    assert {p.chunk.doc_id for p in everything} == set(days)
    asked = index.search("minister resigned", k=4, as_of=day_number("2026-03-10"))
    order = [p.chunk.doc_id for p in asked]
    assert "later" not in order and set(order) == {"old", "recent", "undated"}
    assert order.index("recent") < order.index("old")  # equal texts: the newer ranks higher
    assert order[0] == "recent"
    narrowed = index.search("minister resigned", k=4, as_of=day_number("2026-03-10"),
                            where=Where(articles=frozenset({"old", "later"})))
    assert [p.chunk.doc_id for p in narrowed] == ["old"]


def test_diversify_takes_one_passage_per_article_then_fills():
    from rag.retrieval import diversify
    from rag.types import Passage

    def p(doc, i, score):
        return Passage(Chunk(f"{doc}-{i}", doc, "x", 0, 1), score)

    ranked = [p("a", 0, 3.0), p("a", 1, 2.9), p("b", 0, 2.0), p("a", 2, 1.5), p("c", 0, 1.0)]
    assert [x.chunk.id for x in diversify(ranked, 3, 1)] == ["a-0", "b-0", "c-0"]
    one_article = [p("a", i, 3.0 - i) for i in range(4)]
    assert [x.chunk.id for x in diversify(one_article, 3, 1)] == ["a-0", "a-1", "a-2"]  # a lone article still fills k


def test_search_per_doc_caps_passages_per_article_or_per_story(tmp_path):
    store = _write(open_store(tmp_path / "index"), [
        ("a", None, ["Flood waters rose in the river town.", "The flood closed the river bridge.",
                     "Flood defences on the river failed."]),
        ("b", None, ["The river flood reached the farms."]),
        ("c", None, ["Rain fell on the river valley."]),
    ])
    retriever = HybridRetriever(store, lambda q: _unit(1)[0])
    # BM25 ties a-0001, a-0002 and b-0000 (ties go by the store's key order), then a-0000, then c-0000.
    uncapped = retriever.search("river flood", 3, method="lexical")
    assert [p.chunk.id for p in uncapped] == ["a-0001", "a-0002", "b-0000"]
    capped = retriever.search("river flood", 3, method="lexical", per_doc=1)
    assert [p.chunk.id for p in capped] == ["a-0001", "b-0000", "c-0000"]
    # a and b copies of one story: they share the cap, so c comes in and the best left fills k.
    story = {"a": "a", "b": "a", "c": "c"}
    grouped = retriever.search("river flood", 3, method="lexical", per_doc=1, group=story.__getitem__)
    assert [p.chunk.id for p in grouped] == ["a-0001", "a-0002", "c-0000"]
    assert [p.score for p in grouped] == sorted((p.score for p in grouped), reverse=True)


def test_titles_join_the_fusion(tmp_path):
    from rag.retrieval.titles import TitleScorer

    texts = ["The budget vote was held on Tuesday.", "The vote was held on Tuesday."]
    store = _write(open_store(tmp_path / "index"), [(f"d{i}", None, [t]) for i, t in enumerate(texts)],
                   np.array([[1, 0], [1, 0]], dtype=np.float32))
    embedded: list[str] = []

    def embed(ts):
        embedded.extend(ts)
        return np.array([[0, 1.0] if "Senate" in t else [1.0, 0] for t in ts], dtype=np.float32)

    titles = TitleScorer({"d0": "Bakery opens downtown", "d1": "Senate passes budget"}, embed)
    plain = HybridRetriever(store, lambda q: np.array([0.6, 0.8], np.float32))
    titled = HybridRetriever(store, lambda q: np.array([0.6, 0.8], np.float32), titles=titles)
    assert plain.search("senate budget vote", 2)[0].chunk.doc_id == "d0"  # the chunk's own words
    assert titled.search("senate budget vote", 2)[0].chunk.doc_id == "d1"  # the headline decides
    assert sorted(embedded) == ["Bakery opens downtown", "Senate passes budget"]
    titled.search("senate budget", 2)
    assert len(embedded) == 2  # a title is embedded once per process
    assert titles.lexical("senate budget", [("d1-0000", "d1"), ("d0-0000", "d0"), ("x-0000", "unknown")])[0][1] > 0
    assert [s for _, s in titles.lexical("senate", [("d0-0000", "d0"), ("x-0000", "unknown")])] == [0.0, 0.0]


@pytest.mark.parametrize("per_doc", [None, 1])
def test_a_passage_deleted_since_the_search_loaded_is_replaced_by_the_next(tmp_path, per_doc):
    """Only the k passages returned are read from SQLite; one deleted by a writer since this reader
    loaded its keys is skipped and the next in the ranking takes its place, so k still come back."""
    texts = ["river flood homes", "river flood bridge", "river flood school", "river flood farm", "river flood road"]
    store = _toy(tmp_path / "index", texts)
    retriever = HybridRetriever(store, lambda q: _unit(1)[0])
    before = retriever.search("river flood", 3, per_doc=per_doc)
    assert len(before) == 3
    gone = before[0].chunk.doc_id
    _write(open_store(tmp_path / "index"), [], delete=[gone])
    after = retriever.search("river flood", 3, per_doc=per_doc)
    assert len(after) == 3 and gone not in {p.chunk.doc_id for p in after}
