"""Timeline: a dated digest of one topic across the days' reports (`rag timeline`).

The topic is retrieved and read as a question would be (`rag.answer.query`,
`rag.answer.reader`), then `rag.answer.digest.dated_digest` keeps the best sentence
of each of up to five days, oldest first, and `rag.answer.compose.digest` writes
it with each item's date and citation, exactly as a digest question is answered.
"""

from __future__ import annotations

from datetime import date

from ..embedder import Embedder
from ..index import Index
from ..types import Answer
from .compose import abstention, digest, with_copies
from .digest import dated_digest
from .query import plan
from .reader import Reader

__all__ = ["timeline"]


def timeline(index: Index, embedder: Embedder, reader: Reader, topic: str, *, k: int, as_of: int) -> Answer:
    """The digest of ``topic`` as of the day number ``as_of`` (an abstention when fewer than two
    days' reports on it are found)."""
    p = plan(index, embedder, topic, None, k=k, as_of=as_of)
    reading = reader.read(p.question, p.vector, p.pool, index.articles, p.as_of, index.story_of)
    items = dated_digest(reading, index.articles, topic, index.idf)
    answer = Answer(
        question=topic, text="", query=p.query, passages=p.passages, as_of=date.fromordinal(as_of).isoformat(), mode="digest"
    )
    if not items:
        answer.abstained = True
        answer.text = abstention("no two days' reports on it were found")
        return answer
    text, citations = digest(items, index.articles, as_of)
    answer.text, answer.citations = text, with_copies(citations, index.articles, lambda d: index.also_in(d, as_of))
    return answer
