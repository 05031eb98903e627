"""Split articles into overlapping chunks that the embedder never truncates.

Sizing simplification: langchain's splitter runs on characters (fast), with a
size derived from a chars-per-token estimate; every chunk is then measured in
the embedder's own tokens in one batched tokenizer call, and the rare chunk that
is still too long is split again with a smaller size. Using the tokenizer as
the splitter's length function gives the same guarantee but costs ~50x more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from .types import Article, Chunk

__all__ = ["ChunkingConfig", "Chunker"]

# Separators from coarse to fine; ". " keeps chunks on sentence boundaries where it can.
_SEPARATORS = ["\n\n", "\n", ". ", "? ", "! ", "; ", ", ", " ", ""]


@dataclass(frozen=True)
class ChunkingConfig:
    """Chunk sizes in embedder tokens. Stored in the index manifest."""

    chunk_tokens: int = 160
    overlap_tokens: int = 32
    chars_per_token: float = 4.0

    def to_dict(self) -> dict:
        return asdict(self)


class Chunker:
    """Chunks articles; ``count_tokens`` is the embedder's batched token counter."""

    def __init__(
        self,
        count_tokens: Callable[[Sequence[str]], list[int]],
        max_tokens: int,
        config: ChunkingConfig | None = None,
    ) -> None:
        self.config = config or ChunkingConfig()
        self.count_tokens = count_tokens
        # Never above what the embedder reads (MiniLM: 256 word pieces, specials included).
        self.limit = min(self.config.chunk_tokens, max_tokens - 2) if max_tokens > 2 else self.config.chunk_tokens

    def chunk(self, articles: Sequence[Article]) -> list[Chunk]:
        """Chunks for every article, in order, each with its exact character span."""
        chars = int(self.limit * self.config.chars_per_token)
        overlap = int(self.config.overlap_tokens * self.config.chars_per_token)
        spans: list[tuple[Article, int, int]] = []
        for article in articles:
            spans.extend((article, a, b) for a, b in _split(article.text, 0, len(article.text), chars, overlap))
        # Measure in real tokens; re-split whatever overflows (dense text, tables, non-Latin scripts).
        for _ in range(6):
            counts = self.count_tokens([art.text[a:b] for art, a, b in spans]) if spans else []
            if all(n <= self.limit for n in counts):
                break
            fixed: list[tuple[Article, int, int]] = []
            for (art, a, b), n in zip(spans, counts):
                if n <= self.limit:
                    fixed.append((art, a, b))
                    continue
                size = max(16, int((b - a) * self.limit / n * 0.9))
                fixed.extend((art, x, y) for x, y in _split(art.text, a, b, size, min(overlap, size // 4)))
            spans = fixed
        chunks = []
        seq: dict[str, int] = {}
        for art, a, b in spans:
            i = seq.get(art.id, 0)
            seq[art.id] = i + 1
            chunks.append(Chunk(id=f"{art.id}-{i:04d}", doc_id=art.id, text=art.text[a:b], start=a, end=b))
        return chunks


def _split(text: str, lo: int, hi: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """Character spans covering ``text[lo:hi]`` split by langchain's recursive splitter."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    piece = text[lo:hi]
    if not piece.strip():
        return []
    chunk_overlap = max(0, min(overlap, size - 1))
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=max(size, 1),
        chunk_overlap=chunk_overlap,
        separators=_SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )
    spans = []
    cursor = 0
    prev = -1
    for part in splitter.split_text(piece):
        # The splitter returns substrings; a part overlaps the previous one by at most
        # ``chunk_overlap`` characters, so it starts no earlier than the previous end minus
        # that. Searching from there (not just past the previous start) maps repeated
        # passages to the right occurrence instead of an earlier copy.
        at = piece.find(part, cursor)
        if at < 0:  # defensive: should not happen with strip_whitespace substrings
            at = piece.find(part, prev + 1)
        if at < 0:
            continue
        spans.append((lo + at, lo + at + len(part)))
        prev = at
        cursor = max(at + 1, at + len(part) - chunk_overlap)
    return spans
