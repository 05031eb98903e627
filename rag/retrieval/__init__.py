"""Hybrid retrieval: a store's dense (FAISS or Milvus) and lexical (tantivy or Milvus BM25) hits, fused into one ranking."""

from __future__ import annotations

from .fusion import reciprocal_rank_fusion, zscore_fusion
from .retriever import HybridRetriever, diversify

__all__ = ["reciprocal_rank_fusion", "zscore_fusion", "HybridRetriever", "diversify"]
