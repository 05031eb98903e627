"""rag: a local, offline Q&A assistant over news articles, with cited answers."""

from __future__ import annotations

from .assistant import AnswerStream, Assistant
from .config import Settings
from .errors import RagError
from .indexer import IndexReport
from .types import Answer, Article, Chunk, Citation, LoadIssue, Passage

__all__ = [
    "Assistant",
    "AnswerStream",
    "Answer",
    "Article",
    "Chunk",
    "Citation",
    "IndexReport",
    "LoadIssue",
    "Passage",
    "RagError",
    "Settings",
]

__version__ = "0.1.0"
