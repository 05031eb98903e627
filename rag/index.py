"""A loaded index: a store, what is known of its articles, and the hybrid retriever over it.

Only the articles' metadata (title, date, outlet) is kept in memory; an article's
text is read from the store when a reader asks for it (`Articles`), so a loaded
index of 96k chunks holds vectors (inside FAISS) and ids, not texts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from pathlib import Path

from .dates import day_number
from .embedder import Embedder
from .errors import IndexCorruptError, IndexMissingError, RagError
from .retrieval import HybridRetriever
from .retrieval.recency import day_numbers, recency_prior
from .retrieval.titles import TitleScorer
from .store import Store, Where, open_store
from .store.base import ArticleInfo
from .stories import groups_of
from .types import Article, Passage

__all__ = ["Index", "Articles", "RECENCY_WEIGHT", "RECENCY_HALF_LIFE"]

# The recency boost (see `rag.retrieval.recency`), fitted with the fusion weights by
# `benchmarks/fit_retrieval.py` on realtimeqa-2023.
RECENCY_WEIGHT = 0.05
RECENCY_HALF_LIFE = 7.0
_CACHED_ARTICLES = 512  # texts kept after reading: a question reads a few dozen articles


class Articles(Mapping):
    """The store's articles by id, texts read on first use and kept in a small LRU cache."""

    def __init__(self, store: Store, catalogue: dict[str, ArticleInfo]) -> None:
        self._store = store
        self._info = catalogue
        self._cache: OrderedDict[str, Article] = OrderedDict()

    def __getitem__(self, doc_id: str) -> Article:
        art = self._cache.get(doc_id)
        if art is None:
            if doc_id not in self._info:
                raise KeyError(doc_id)
            found = self._store.articles([doc_id])
            if not found:
                raise KeyError(doc_id)  # deleted by a writer since this index was loaded
            art = found[0]
        self._cache[doc_id] = art
        self._cache.move_to_end(doc_id)
        while len(self._cache) > _CACHED_ARTICLES:
            self._cache.popitem(last=False)
        return art

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._info

    def __iter__(self) -> Iterator[str]:
        return iter(self._info)

    def __len__(self) -> int:
        return len(self._info)

    def info(self, doc_id: str) -> ArticleInfo:
        return self._info[doc_id]


class Index:
    """Read-only view of one store generation, ready to search."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        manifest = store.manifest()
        if manifest is None:
            if Path(store.location, "CURRENT").is_file():
                raise IndexCorruptError(
                    f"index in {store.location}/ has an older format; rebuild it with: rag index --store {store.location}"
                )
            raise IndexMissingError(
                f"no index in {store.location}/; build one with: rag index corpus --store {store.location}"
            )
        built_with = manifest.get("embedder")
        if built_with != embedder.name:
            raise RagError(
                f"the index was built with embedder {built_with!r}, not {embedder.name!r}; "
                "rebuild it with: rag index --rebuild"
            )
        self.store = store
        self.manifest = manifest
        self.embedder = embedder
        catalogue = store.catalogue()
        self.articles = Articles(store, catalogue)
        self.size = sum(i.chunks for i in catalogue.values())
        self._position = {doc_id: i for i, doc_id in enumerate(catalogue)}  # row of each article in _days
        self._days = day_numbers([i.published for i in catalogue.values()])
        # Syndicated copies: each grouped article's story, its members oldest first (the original).
        by_date = {i: (a.published or "9999", i) for i, a in catalogue.items()}
        self.stories: dict[str, list[str]] = groups_of(manifest.get("stories", {}).get("pairs", []), by_date)
        titles = TitleScorer({i: a.title for i, a in catalogue.items()}, embedder.embed)
        self.retriever = HybridRetriever(store, lambda q: embedder.embed([q])[0], titles=titles)
        self._idf: dict[str, float] = {}

    @classmethod
    def load(cls, index_dir: str | Path | Store, embedder: Embedder) -> Index:
        """Open the store ``index_dir`` names (see `rag.store.open_store`); the store checks its files."""
        store = index_dir if isinstance(index_dir, Store) else open_store(index_dir)
        return cls(store, embedder)

    @property
    def generation(self) -> str:
        gen = getattr(self.store, "generation", None)
        return str(gen()) if callable(gen) else ""

    def story_of(self, doc_id: str) -> str:
        """The id of the story an article belongs to (its oldest copy; itself when it has none)."""
        members = self.stories.get(doc_id)
        return members[0] if members else doc_id

    def also_in(self, doc_id: str, as_of: int | None = None) -> list[str]:
        """The other articles carrying the same story, oldest first; with ``as_of`` only those
        published by then (undated ones always, as in retrieval)."""
        return [
            m for m in self.stories.get(doc_id, ())
            if m != doc_id and (as_of is None or (d := day_number(self.articles.info(m).published)) is None or d <= as_of)
        ]

    def search(
        self, query: str, k: int = 5, *, as_of: int | None = None, per_doc: int | None = None,
        window: tuple[int | None, int | None] | None = None, where: Where | None = None, **kw,
    ) -> list[Passage]:
        """The top ``k`` passages for ``query``; with ``as_of`` (a day number) only chunks of
        articles published by then, newer ones boosted (those inside ``window``, a pair of day
        numbers, when the question names days); ``where`` limits them further; ``per_doc`` caps
        passages per story (copies of one story count as one article)."""
        if as_of is not None:
            where = Where(last=as_of).and_(where)
            prior = recency_prior(self._days, as_of, RECENCY_HALF_LIFE, window)
            if prior is not None and RECENCY_WEIGHT:
                boost, position = RECENCY_WEIGHT * prior, self._position
                kw.setdefault("prior", lambda doc_id: float(boost[position[doc_id]]) if doc_id in position else 0.0)
        # The store is read live, the catalogue as loaded: an article another writer added since
        # is left out until `Assistant.reload`, so every passage has its title, date and story.
        return self.retriever.search(
            query, k, per_doc=per_doc, group=self.story_of if self.stories else None, where=where,
            known=self.articles.__contains__, **kw,
        )

    def idf(self, stems: list[str]) -> list[float]:
        """Lucene's inverse document frequency of stemmed terms over the chunks (cached); a term
        no chunk holds gets the highest value, as rare as a term can be."""
        import math

        from .text import index_terms

        todo = [s for s in stems if s not in self._idf]
        if todo:
            tokens = [index_terms(s) for s in todo]
            flat = sorted({t for ts in tokens for t in ts})
            n, dfs = self.store.doc_freq(flat)
            df = dict(zip(flat, dfs))
            for s, ts in zip(todo, tokens):
                self._idf[s] = max((math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in ts), default=0.0)
        return [self._idf[s] for s in stems]

    def stats(self) -> dict:
        return {
            "articles": len(self.articles),
            "chunks": self.size,
            "embedder": self.embedder.name,
            "generation": self.generation,
        }
