"""Plan: from a question in its conversation to the question read, the query and the passages.

One function serves answering, retrieval-only evaluation and fitting, so all
three see exactly the same passages: the conversation resolves follow-ups, the
question is analysed with the index's term statistics, and the hybrid search
runs with ``as_of`` (no article published after it; newer ones first among
equals). The reader reads a wide pool of passages; the ``k`` top passages are
the best passage of each of the top stories (syndicated copies count once). An
answer's sources lead with the passage it quotes (`rag.answer.reader.sources`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from ..dates import day_number
from ..embedder import Embedder
from ..index import Index
from ..retrieval.retriever import diversify
from ..store.base import UNDATED, Where
from ..timewords import TimeRange
from ..timewords import resolve as time_range
from ..types import Passage
from .conversation import Resolution, resolve
from .digest import digest_cue
from .news import asks_latest
from .question import Question, analyze

__all__ = ["Plan", "plan", "reports_of", "POOL", "POOL_PER_ARTICLE"]

POOL = 30  # passages the reader reads
POOL_PER_ARTICLE = 4  # at most this many from one article, while others remain


@dataclass
class Plan:
    resolution: Resolution
    question: Question
    vector: np.ndarray
    pool: list[Passage]
    passages: list[Passage]  # the retriever's k best, one per story
    as_of: int | None  # the day the question is asked, or the snapshot day it asks about ("by Tuesday")
    window: TimeRange | None = None  # the days its time words name ("on Wednesday", "this week")

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
    where: Where | None = None,
) -> Plan:
    """``where`` (`rag.store.Where`) further limits what may be retrieved.

    Time words resolve against ``as_of``: "by Tuesday" asks as of Tuesday (later articles are
    not used); a window such as "on Wednesday" or "this week" ranks the articles published in
    it (or the day after) first, but hides nothing, since background reports from before the
    window often hold the answer. The time words stay in the query and the question's text:
    articles repeat them ("gunfire erupted anew Thursday afternoon"), and without them
    realtimeqa-2023 recall@5 fell from 0.824 to 0.816. The reader weighs them as terms only when
    the pool holds no report of the days they name (`analyze`'s ``time_words``)."""
    res = resolve(question, history)
    window = time_range(res.question, date.fromordinal(as_of)) if as_of is not None else None
    if window is not None and window.by and window.end is not None:
        as_of = min(as_of, window.days[1])
    days = None
    if window is not None and not window.by and (window.start or window.end):
        first, last = window.days
        days = (first, None if last is None else last + 1)
    vector = embedder.embed([res.query])[0]
    pool = index.search(
        res.query, max(POOL, k), query_vector=vector, as_of=as_of, per_doc=POOL_PER_ARTICLE, where=where, window=days
    )
    # A day named ("on Wednesday") picks the reports when the pool holds some of that day's (or the
    # next's); then a sentence need not repeat "Wednesday" to answer, and one that does is not the
    # better for it ("12 dead on Wednesday" for "how many were missing on Wednesday?"). Without such
    # reports the words are all that is left to match. Longer windows ("this week", "last year")
    # keep their words: dropping them changed realtimeqa-2023 by noise only (+1 right, +2 wrong).
    dated_here = window is not None and window.one_day and any(
        _allowed(index, x, Where(first=days[0], last=days[1], undated=False)) for x in pool
    )
    # "The latest toll" picks the newest reports the same way (`rag.answer.news`), and a digest's
    # "latest on" / "how has … changed" is what its dates show: not words to find.
    time_words = " ".join(
        filter(None, [window.text if dated_here else "", asks_latest(res.question), digest_cue(res.question)])
    )
    q = (
        analyze(res.question, referent=res.referent, idf=index.idf, time_words=time_words)
        if analyse else Question(res.question, "other")
    )
    return Plan(res, q, vector, pool, diversify(pool, k, 1, index.story_of), as_of, window)


def _allowed(index: Index, passage: Passage, where: Where) -> bool:
    day = day_number(index.articles.info(passage.chunk.doc_id).published)
    return where.allows(UNDATED if day is None else day, passage.chunk.doc_id)


def reports_of(index: Index, p: Plan, day: int) -> list[Passage]:
    """The pool the question would read if only the reports published on ``day`` existed."""
    return index.search(
        p.query, POOL, query_vector=p.vector, as_of=p.as_of, per_doc=POOL_PER_ARTICLE,
        where=Where(first=day, last=day, undated=False),
    )
