"""rag.retrieval: reciprocal rank fusion, BM25 tokenisation, hybrid / dense / lexical search."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import ARRESTED

from rag.index import Index
from rag.retrieval import (
    BM25Index,
    FaissIndex,
    HnswIndex,
    HybridRetriever,
    Postings,
    SegmentedIndex,
    reciprocal_rank_fusion,
)
from rag.retrieval.lexical import tokenize
from rag.types import Chunk


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


def test_tokenize_keeps_numbers_whole_and_drops_stopwords():
    assert "2000" in tokenize("At least 2,000 people were arrested")
    assert tokenize("2,000") == tokenize("2000")
    assert "the" not in tokenize("the arrests")
    assert tokenize("arrested") == tokenize("Arrested")


TEXTS = [
    "At least 2,000 people have reportedly been arrested.",
    "Banks have been shut down across the nation.",
    "Flights into the country have been halted.",
    "The price of 200 loaves of bread rose sharply.",
]


def test_bm25_finds_2000_by_query_2000():
    bm25 = BM25Index.build(TEXTS)
    hits = bm25.search("2000", 3)
    assert hits and hits[0][0] == 0
    assert all(i != 3 for i, _ in hits)  # "200" is a different number
    assert bm25.search("2,000 arrested", 1)[0][0] == 0


def test_bm25_edge_cases(tmp_path):
    bm25 = BM25Index.build(TEXTS)
    assert bm25.search("the of and", 3) == []  # only stopwords
    assert bm25.search("zebra", 3) == []  # unknown word
    assert len(bm25.search("been", 10)) <= len(TEXTS)
    assert BM25Index.build([]).search("2000", 3) == []
    empty = Postings.build([])
    empty.save(tmp_path / "empty")
    assert BM25Index([(Postings.load(tmp_path / "empty"), np.arange(0))], 0).search("2000", 3) == []


def test_bm25_scores_by_hand():
    """Lucene BM25 (k1 1.5, b 0.75), worked out for a two-term query over three documents."""
    bm25 = BM25Index.build(["flood flood river", "river bank", "bank loan rate rise"])
    # lengths 3, 2, 4: avgdl 3. "flood": df 1; "river": df 2. N = 3.
    idf = {1: math.log(1 + (3 - 1 + 0.5) / 1.5), 2: math.log(1 + (3 - 2 + 0.5) / 2.5)}

    def part(tf, df, length):
        return idf[df] * tf / (tf + 1.5 * (1 - 0.75 + 0.75 * length / 3))

    hits = dict(bm25.search("flood river", 3))
    assert hits[0] == pytest.approx(part(2, 1, 3) + part(1, 2, 3))
    assert hits[1] == pytest.approx(part(1, 2, 2))
    assert 2 not in hits


def test_bm25_over_segments_with_deleted_rows_scores_like_one_index(tmp_path):
    """Rows spread over two saved postings, some deleted, score exactly like one index of the live rows."""
    texts = TEXTS + ["Arrested protesters were released on bail.", "Bread and flour prices rose again."]
    first, second = Postings.build(texts[:4]), Postings.build(texts[4:])
    first.save(tmp_path / "a")
    # Row 1 of the first part is deleted; the live rows are 0, 2, 3 then the second part's 0, 1.
    parts = [(Postings.load(tmp_path / "a"), np.array([0, -1, 1, 2])), (second, np.array([3, 4]))]
    segmented = BM25Index(parts, 5)
    whole = BM25Index.build([t for i, t in enumerate(texts) if i != 1])
    for query in ("arrested", "bread prices rose", "banks shut", "flights halted 2,000"):
        got, want = segmented.search(query, 5), whole.search(query, 5)
        assert [i for i, _ in got] == [i for i, _ in want], query
        assert [s for _, s in got] == pytest.approx([s for _, s in want]), query
    assert segmented.search("banks shut nation", 5) == []  # only the deleted row had these words
    merged = BM25Index([(Postings.combine(parts, 5), np.arange(5))], 5)
    got, want = merged.search("bread prices rose", 5), whole.search("bread prices rose", 5)
    assert [i for i, _ in got] == [i for i, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want])


def test_faiss_exact_inner_product():
    vectors = np.eye(4, dtype=np.float32)
    index = FaissIndex(vectors)
    query = np.array([0.1, 0.9, 0.2, 0.0], dtype=np.float32)
    hits = index.search(query, 3)
    assert [i for i, _ in hits] == [1, 2, 0]
    assert hits[0][1] == pytest.approx(0.9)
    assert len(index.search(query, 99)) == 4
    assert FaissIndex(np.zeros((0, 4), dtype=np.float32)).search(query, 3) == []


@pytest.mark.parametrize("kind", [FaissIndex, HnswIndex.build])
def test_segmented_dense_search_skips_deleted_rows(kind):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((60, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[5] + 0.01
    first, second = kind(vectors[:40]), FaissIndex(vectors[40:])
    # The query's nearest rows (5 itself among them) are deleted from the first segment.
    nearest = [i for i, _ in first.search(query, 10)][:6]
    remap = np.full(40, -1)
    live = [i for i in range(40) if i not in nearest]
    remap[live] = np.arange(len(live))
    segmented = SegmentedIndex([(first, remap), (second, np.arange(len(live), len(live) + 20))])
    keep = np.array(live + list(range(40, 60)))
    want = FaissIndex(vectors[keep]).search(query, 10)
    got = segmented.search(query, 10)
    assert [i for i, _ in got] == [i for i, _ in want]  # ten live rows, though six nearer ones were deleted
    assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)
    assert len(segmented.search(query, 99)) == 54


def test_hybrid_retriever_on_toy_data():
    chunks = [Chunk(id=f"d-{i}", doc_id="d", text=t, start=0, end=len(t)) for i, t in enumerate(TEXTS)]
    vectors = np.eye(len(TEXTS), dtype=np.float32)
    # The "embedding" points at chunk 2; the words point at chunk 0.
    retriever = HybridRetriever(chunks, FaissIndex(vectors), BM25Index.build(TEXTS), lambda q: vectors[2])
    dense = retriever.search("2000 arrested", 2, method="dense")
    lexical = retriever.search("2000 arrested", 2, method="lexical")
    hybrid = retriever.search("2000 arrested", 4)
    assert dense[0].chunk.id == "d-2" and dense[0].lexical_rank is None and dense[0].dense_rank == 1
    assert lexical[0].chunk.id == "d-0" and lexical[0].dense_rank is None and lexical[0].lexical_rank == 1
    top_two = {p.chunk.id for p in hybrid[:2]}
    assert top_two == {"d-0", "d-2"}
    assert [p.score for p in hybrid] == sorted((p.score for p in hybrid), reverse=True)
    assert retriever.search("   ", 3) == []


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
    assert len(passages) == len({p.chunk.id for p in passages}) == min(50, len(seed.chunks))
    assert seed.stats()["chunks"] == len(seed.chunks)


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


def test_allowed_rows_limit_dense_lexical_and_segmented_search():
    vectors = np.eye(4, dtype=np.float32)
    query = np.array([0.1, 0.9, 0.2, 0.0], dtype=np.float32)
    allowed = np.array([True, False, True, True])
    assert [i for i, _ in FaissIndex(vectors).search(query, 3, allowed)] == [2, 0, 3]
    bm25 = BM25Index.build(TEXTS)
    assert [i for i, _ in bm25.search("2000 arrested", 4, np.array([False, True, True, True]))] == []
    remap = np.array([0, 1, -1, 2])  # row 2 deleted
    seg = SegmentedIndex([(FaissIndex(vectors), remap)])
    assert [i for i, _ in seg.search(query, 3, np.array([True, False, True]))] == [0, 2]


def test_recency_prior_and_as_of_mask():
    from rag.retrieval.recency import allowed_rows, recency_prior

    days = np.array([100, 90, 110, -1])  # the last row is undated
    mask = allowed_rows(days, 100)
    assert mask.tolist() == [True, True, False, True]  # published after as_of: out; undated: kept
    assert allowed_rows(days, 200) is None  # nothing to exclude
    prior = recency_prior(days, 100, half_life=7.0)
    assert prior[0] == 0.0 and prior[1] == pytest.approx(-math.log1p(10 / 7))
    assert prior[1] < prior[0]
    assert prior[3] == pytest.approx(np.median(prior[:3]))  # undated rows are neither hidden nor favoured
    assert recency_prior(np.array([-1, -1]), 100, 7.0) is None


def test_diversify_takes_one_passage_per_article_then_fills():
    from rag.retrieval import diversify
    from rag.types import Passage

    def p(doc, i, score):
        return Passage(Chunk(f"{doc}-{i}", doc, "x", 0, 1), score)

    ranked = [p("a", 0, 3.0), p("a", 1, 2.9), p("b", 0, 2.0), p("a", 2, 1.5), p("c", 0, 1.0)]
    assert [x.chunk.id for x in diversify(ranked, 3, 1)] == ["a-0", "b-0", "c-0"]
    one_article = [p("a", i, 3.0 - i) for i in range(4)]
    assert [x.chunk.id for x in diversify(one_article, 3, 1)] == ["a-0", "a-1", "a-2"]  # a lone article still fills k


def test_titles_join_the_fusion():
    from rag.retrieval.titles import TitleScorer

    texts = ["The budget vote was held on Tuesday.", "The vote was held on Tuesday."]
    chunks = [Chunk(f"d{i}-0", f"d{i}", t, 0, len(t)) for i, t in enumerate(texts)]
    vectors = np.array([[1, 0], [1, 0]], dtype=np.float32)
    titles = TitleScorer(["Bakery opens downtown", "Senate passes budget"], np.array([0, 1]), lambda ts: np.array([[0, 1.0] if "Senate" in t else [1.0, 0] for t in ts], dtype=np.float32))
    plain = HybridRetriever(chunks, FaissIndex(vectors), BM25Index.build(texts), lambda q: np.array([0.6, 0.8], np.float32))
    titled = HybridRetriever(chunks, FaissIndex(vectors), BM25Index.build(texts), lambda q: np.array([0.6, 0.8], np.float32), titles=titles)
    assert plain.search("senate budget vote", 2)[0].chunk.doc_id == "d0"  # the chunk's own words
    assert titled.search("senate budget vote", 2)[0].chunk.doc_id == "d1"  # the headline decides
