"""Hybrid retrieval: dense (FAISS) and lexical (BM25) search, fused into one ranking."""

from __future__ import annotations

from .dense import APPROXIMATE_FROM, DenseIndex, FaissIndex, HnswIndex, dense_index
from .fusion import reciprocal_rank_fusion, zscore_fusion
from .lexical import BM25Index, LexicalIndex
from .retriever import HybridRetriever

__all__ = [
    "DenseIndex",
    "FaissIndex",
    "HnswIndex",
    "APPROXIMATE_FROM",
    "dense_index",
    "LexicalIndex",
    "BM25Index",
    "reciprocal_rank_fusion",
    "zscore_fusion",
    "HybridRetriever",
]
