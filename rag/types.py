"""The dataclasses that cross module boundaries: articles, chunks, passages, answers.

Every other module speaks in these types, so no raw library dict (FAISS results,
llama-cpp completion chunks) ever leaves its adapter.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any


def text_id(text: str) -> str:
    """A stable 12-hex-digit id for a piece of text (same text, same id)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@dataclass(frozen=True)
class Article:
    """One news article as loaded from the corpus.

    ``source`` is the publisher ("CNN", "Reuters") when the input names one;
    ``path`` is the corpus file the article came from. ``published`` is set at load
    time by ``rag.dates.parse_published``: "YYYY-MM-DD" when only the day is known,
    "YYYY-MM-DDTHH:MM:SSZ" (UTC) when a time of day is known, None when undated.
    """

    id: str
    title: str
    text: str
    path: str = ""
    url: str | None = None
    source: str | None = None
    published: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LoadIssue:
    """A piece of bad input: where it is and why it was skipped."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.reason}"


@dataclass
class LoadResult:
    """What loading a file or folder produced: the good articles and the bad input."""

    articles: list[Article] = field(default_factory=list)
    issues: list[LoadIssue] = field(default_factory=list)
    # For files of many records (JSON Lines): each article's record key, and the ids of the
    # records the caller said it already holds, which were not parsed again (see `rag.scan`).
    records: dict[str, str] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)

    def extend(self, other: LoadResult) -> None:
        self.articles.extend(other.articles)
        self.issues.extend(other.issues)
        self.records.update(other.records)
        self.unchanged.extend(other.unchanged)


@dataclass(frozen=True)
class Chunk:
    """A span of an article, the unit that is embedded and retrieved.

    ``text == article.text[start:end]`` always holds, so citations can point at
    exact characters of the article.
    """

    id: str
    doc_id: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its fused score and its rank in each retriever."""

    chunk: Chunk
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None


@dataclass(frozen=True)
class Copy:
    """Another article that carried the same story (a syndicated or near-duplicate copy)."""

    doc_id: str
    title: str
    source: str | None = None
    published: str | None = None


@dataclass(frozen=True)
class Citation:
    """Where a cited sentence comes from.

    ``text`` is the passage (the chunk) holding the sentence; ``start``/``end``
    are the sentence's character span in the article, and ``quote`` is exactly
    ``article.text[start:end]``.
    """

    n: int
    doc_id: str
    title: str
    published: str | None
    text: str
    start: int
    end: int
    score: float
    quote: str = ""
    url: str | None = None
    chunk_id: str = ""
    passage_start: int = 0
    source: str | None = None  # the outlet, when the article names one
    also_in: tuple[Copy, ...] = ()  # the other articles that printed the same story, oldest first

    @property
    def day(self) -> str:
        """The article's date (YYYY-MM-DD), or "date unknown"."""
        return self.published[:10] if self.published else "date unknown"

    @property
    def also_in_text(self) -> str:
        """The other outlets that printed the story: "Daily Courier, Valley Post"."""
        return ", ".join(x.source or x.title for x in self.also_in)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Answer:
    """The assistant's reply to one question.

    ``short`` is the short answer a factoid answer opens with (a span copied from its first
    cited sentence), None for why/how answers and abstentions. ``confidence`` is the reader's
    calibrated estimate that the answer is right.
    """

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    abstained: bool = False
    short: str | None = None
    confidence: float | None = None
    as_of: str | None = None
    withheld: str | None = None  # an abstention's best answer, held back as too unsure (for evaluation)
    mode: str = "extractive"
    query: str = ""
    passages: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "text": self.text,
            "short": self.short,
            "confidence": self.confidence,
            "as_of": self.as_of,
            "withheld": self.withheld,
            "abstained": self.abstained,
            "mode": self.mode,
            "query": self.query,
            "citations": [c.to_dict() for c in self.citations],
            "passages": [
                {
                    "chunk_id": p.chunk.id,
                    "doc_id": p.chunk.doc_id,
                    "start": p.chunk.start,
                    "end": p.chunk.end,
                    "score": p.score,
                    "dense_rank": p.dense_rank,
                    "lexical_rank": p.lexical_rank,
                }
                for p in self.passages
            ],
            "timings": self.timings,
            "notes": self.notes,
        }
