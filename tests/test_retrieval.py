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
