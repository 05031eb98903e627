"""A loaded index: articles, chunks and the hybrid retriever over them."""

from __future__ import annotations

from pathlib import Path

from .embedder import Embedder
from .errors import RagError
from .retrieval import BM25Index, HybridRetriever, SegmentedIndex, dense_index
from .store import IndexData, read_generation
from .types import Article, Chunk, Passage

__all__ = ["Index"]


class Index:
    """Read-only view of one index generation, ready to search."""

    def __init__(self, data: IndexData, embedder: Embedder) -> None:
        built_with = data.manifest.get("embedder")
        if built_with != embedder.name:
            raise RagError(
                f"the index was built with embedder {built_with!r}, not {embedder.name!r}; "
                "rebuild it with: rag index --rebuild"
            )
        self.data = data
        self.embedder = embedder
        self.articles: dict[str, Article] = data.articles
        self.chunks: list[Chunk] = data.chunks
        segments = data.segments
        lexical = BM25Index([(s.postings, s.remap) for s in segments], len(self.chunks))
        dense = [(dense_index(s.vectors, s.path), s.remap) for s in segments]
        whole = len(dense) == 1 and (segments[0].remap >= 0).all()
        self.retriever = HybridRetriever(
            self.chunks, dense[0][0] if whole else SegmentedIndex(dense), lexical, lambda q: embedder.embed([q])[0]
        )

    @classmethod
    def load(cls, index_dir: str | Path, embedder: Embedder, *, verify: bool = True) -> Index:
        return cls(read_generation(Path(index_dir), verify=verify), embedder)

    @property
    def generation(self) -> str:
        return self.data.path.name if self.data.path else ""

    def search(self, query: str, k: int = 5, **kw) -> list[Passage]:
        return self.retriever.search(query, k, **kw)

    def stats(self) -> dict:
        return {
            "articles": len(self.articles),
            "chunks": len(self.chunks),
            "embedder": self.embedder.name,
            "generation": self.generation,
        }
