"""Hybrid retrieval: dense (FAISS) and lexical (BM25) search, fused into one ranking."""

from __future__ import annotations

from .dense import APPROXIMATE_FROM, DenseIndex, FaissIndex, HnswIndex, SegmentedIndex, dense_index
from .fusion import reciprocal_rank_fusion, zscore_fusion
from .lexical import BM25Index, LexicalIndex, Postings
from .retriever import HybridRetriever, diversify

__all__ = [
    "DenseIndex",
    "FaissIndex",
    "HnswIndex",
    "SegmentedIndex",
    "APPROXIMATE_FROM",
    "dense_index",
    "LexicalIndex",
    "BM25Index",
    "Postings",
    "reciprocal_rank_fusion",
    "zscore_fusion",
    "HybridRetriever",
    "diversify",
]
