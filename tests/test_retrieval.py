"""rag.retrieval: reciprocal rank fusion, BM25 tokenisation, hybrid / dense / lexical search."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ARRESTED

from rag.index import Index
from rag.retrieval import BM25Index, FaissIndex, HybridRetriever, reciprocal_rank_fusion
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
    empty = BM25Index.build([])
    assert empty.search("2000", 3) == []
    empty.save(tmp_path / "empty")
    assert BM25Index.load(tmp_path / "empty").search("2000", 3) == []


def test_bm25_save_and_load_round_trip(tmp_path):
    bm25 = BM25Index.build(TEXTS)
    bm25.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.size == len(TEXTS)
    assert loaded.search("flights halted", 2) == bm25.search("flights halted", 2)


def test_faiss_exact_inner_product():
    vectors = np.eye(4, dtype=np.float32)
    index = FaissIndex(vectors)
    query = np.array([0.1, 0.9, 0.2, 0.0], dtype=np.float32)
    hits = index.search(query, 3)
    assert [i for i, _ in hits] == [1, 2, 0]
    assert hits[0][1] == pytest.approx(0.9)
    assert len(index.search(query, 99)) == 4
    assert FaissIndex(np.zeros((0, 4), dtype=np.float32)).search(query, 3) == []


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
