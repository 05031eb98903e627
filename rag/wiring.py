"""Wiring: turn `Settings` into the assistant's parts. The one place that chooses concrete classes.

`parts` returns the embedder, the LLM (loaded on first use), the index (the
store, searched through its retriever) and the reader (the evidence finder).
Any part passed in is used as given, which is how tests hand in fakes and how a
program reuses one embedder for several assistants. The embedder is wrapped so
that its calls always run on the compute thread (`rag.compute`), whichever
thread asks: an answer whose LLM is a remote server runs off that thread.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .compute import OnCompute
from .config import Settings
from .llm import LLM
from .llm.resolve import ModelSpec, spec_of

__all__ = ["Parts", "parts", "LazyLLM", "embedder_for", "index_embedder", "query_embedder", "make_reader"]


class LazyLLM:
    """An `LLM` that loads its model on first use, so a quoted answer never pays for one.

    ``name`` and ``local`` are known from the settings alone.
    """

    def __init__(self, spec: ModelSpec, settings: Settings) -> None:
        self.spec = spec
        self._settings = settings
        self._llm: LLM | None = None
        self._lock = threading.Lock()
        self.local = spec.local

    @property
    def loaded(self) -> LLM:
        with self._lock:
            if self._llm is None:
                s = self._settings
                self._llm = self.spec.load(n_ctx=s.n_ctx, threads=s.threads, api_key=s.llm_api_key)
            return self._llm

    @property
    def name(self) -> str:
        return self._llm.name if self._llm is not None else self.spec.name

    def __getattr__(self, attr: str):  # n_ctx, count_tokens, stream_chat, choose, raw
        return getattr(self.loaded, attr)


@dataclass
class Parts:
    """What an `Assistant` is made of."""

    settings: Settings
    index_dir: str
    embedder: object
    llm: LLM
    index: object
    reader: object


def index_embedder():
    """The embedder that indexes: sentence-transformers (bf16 where the CPU has AMX)."""
    from .embedder import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def query_embedder():
    """The embedder that answers: the quickest to start that gives the index's vectors."""
    from .embedder import answering_embedder

    return answering_embedder()


def make_reader(embedder):
    from .answer.reader import Reader

    return Reader(embedder)


def embedder_for(embedder=None, *, indexing: bool = False):
    """The given embedder, or the default one for the job, made to run on the compute thread."""
    if embedder is None:
        embedder = index_embedder() if indexing else query_embedder()
    return embedder if isinstance(embedder, OnCompute) else OnCompute(embedder)


def parts(settings: Settings, *, embedder=None, llm: LLM | None = None, reader=None) -> Parts:
    """The parts for ``settings``; a model that cannot be used fails here, in one line."""
    from .index import Index

    if llm is None:
        spec = spec_of(settings.model, settings.llm_url, settings.llm_model)
        # A bad model is an error now, not at the first answer that needs it (a quoted answer would hide it).
        spec.check(api_key=settings.llm_api_key)
        llm = LazyLLM(spec, settings)
    embedder = embedder_for(embedder)
    index_dir = settings.index  # a store spec: a folder, milvus:FILE.db or a Milvus URL (rag.store)
    return Parts(settings, index_dir, embedder, llm, Index.load(index_dir, embedder), reader or make_reader(embedder))
