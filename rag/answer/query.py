"""Plan: from a question in its conversation to the question read, the query and the passages.

One function serves answering, retrieval-only evaluation and fitting, so all
three see exactly the same passages: the conversation resolves follow-ups, the
question is analysed with the index's term statistics, and the hybrid search
runs with ``as_of`` (no article published after it; newer ones first among
equals). The reader reads a wide pool of passages; the ``k`` shown as sources
are the best passage of each of the top articles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..embedder import Embedder
from ..index import Index
from ..retrieval.retriever import diversify
from ..types import Passage
from .conversation import Resolution, resolve
from .question import Question, analyze

__all__ = ["Plan", "plan", "POOL", "POOL_PER_ARTICLE"]

POOL = 30  # passages the reader reads
POOL_PER_ARTICLE = 4  # at most this many from one article, while others remain


@dataclass
class Plan:
    resolution: Resolution
    question: Question
    vector: np.ndarray
    pool: list[Passage]
    passages: list[Passage]  # the k shown as sources
    as_of: int | None

    @property
    def query(self) -> str:
        return self.resolution.query


def plan(
    index: Index,
    embedder: Embedder,
    question: str,
    history: Sequence[dict] | None,
    *,
    k: int,
    as_of: int | None,
    analyse: bool = True,
    allowed: np.ndarray | None = None,
) -> Plan:
    """``allowed`` (one flag per chunk row) further limits what may be retrieved."""
    res = resolve(question, history)
    vector = embedder.embed([res.query])[0]
    pool = index.search(res.query, max(POOL, k), query_vector=vector, as_of=as_of, per_doc=POOL_PER_ARTICLE, allowed=allowed)
    q = analyze(res.question, referent=res.referent, idf=index.idf) if analyse else Question(res.question, "other")
    return Plan(res, q, vector, pool, diversify(pool, k, 1), as_of)
