"""rag.chunking: exact spans, the embedder's token limit, overlap and stable ids."""

from __future__ import annotations

import random

import pytest
from conftest import SEED_ARTICLE

from rag.chunking import Chunker, ChunkingConfig
from rag.loaders import load_file
from rag.types import Article, text_id


def _article(text: str, title: str = "t") -> Article:
    return Article(id=text_id(text), title=title, text=text)


def _covered(text: str, chunks) -> bool:
    """Every non-space character of ``text`` lies inside some chunk."""
    mask = [False] * len(text)
    for c in chunks:
        for i in range(c.start, c.end):
            mask[i] = True
    return all(m or ch.isspace() for ch, m in zip(text, mask))


_rng = random.Random(1234)
_WORDS = ["alpha", "beta", "gamma", "delta", "kazakhstan", "protest", "government", "almaty", "2,000"]
LONG_TEXTS = {
    "no punctuation": " ".join(_rng.choice(_WORDS) for _ in range(3000)),
    "one paragraph of sentences": " ".join(
        f"Sentence number {i} says that {_rng.choice(_WORDS)} met {_rng.choice(_WORDS)} on Thursday."
        for i in range(400)
    ),
    "chinese": "".join(chr(0x4E00 + _rng.randrange(2000)) for _ in range(3000)),
    "cyrillic": " ".join(
        "".join(chr(0x430 + _rng.randrange(32)) for _ in range(_rng.randrange(3, 10))) for _ in range(800)
    ),
    "arabic": " ".join(
        "".join(chr(0x628 + _rng.randrange(20)) for _ in range(_rng.randrange(2, 8))) for _ in range(800)
    ),
    "one huge word": "x" * 20000,
    "digits and symbols": "".join(_rng.choice("0123456789.,;:-/%$€") for _ in range(6000)),
}


@pytest.fixture(scope="module")
def chunker(embedder):
    return Chunker(embedder.count_tokens, embedder.max_tokens)


@pytest.fixture(scope="module")
def seed_article() -> Article:
    return load_file(SEED_ARTICLE).articles[0]


def test_limit_never_exceeds_what_the_embedder_reads(embedder):
    assert Chunker(embedder.count_tokens, embedder.max_tokens).limit <= embedder.max_tokens
    big = Chunker(embedder.count_tokens, embedder.max_tokens, ChunkingConfig(chunk_tokens=10_000))
    assert big.limit <= embedder.max_tokens - 2


def test_seed_article_chunks_are_exact(chunker, seed_article, embedder):
    chunks = chunker.chunk([seed_article])
    assert len(chunks) > 1
    for c in chunks:
        assert c.doc_id == seed_article.id
        assert c.text == seed_article.text[c.start : c.end]
        assert c.text.strip() == c.text and c.text
    assert max(embedder.count_tokens([c.text for c in chunks])) <= chunker.limit
    assert _covered(seed_article.text, chunks)
    assert any("At least 2,000 people have reportedly been arrested." in c.text for c in chunks)


@pytest.mark.parametrize("name", sorted(LONG_TEXTS))
def test_long_articles_stay_within_the_token_limit(chunker, embedder, name):
    text = LONG_TEXTS[name]
    article = _article(text, name)
    chunks = chunker.chunk([article])
    assert chunks
    counts = embedder.count_tokens([c.text for c in chunks])
    assert max(counts) <= chunker.limit <= embedder.max_tokens, (name, max(counts))
    for c in chunks:
        assert c.text == text[c.start : c.end]
    assert _covered(text, chunks), name


def test_whole_text_is_one_token_heavy_paragraph(embedder):
    # A smaller limit forces the re-split path on a dense script.
    small = Chunker(embedder.count_tokens, embedder.max_tokens, ChunkingConfig(chunk_tokens=40, overlap_tokens=8))
    text = LONG_TEXTS["chinese"]
    chunks = small.chunk([_article(text)])
    assert len(chunks) > 10
    assert max(embedder.count_tokens([c.text for c in chunks])) <= 40


@pytest.mark.parametrize("name", ["no punctuation", "one paragraph of sentences"])
def test_consecutive_chunks_overlap(chunker, name):
    text = LONG_TEXTS[name]
    chunks = chunker.chunk([_article(text)])
    assert len(chunks) > 5
    for a, b in zip(chunks, chunks[1:]):
        assert a.start < b.start, "chunks are in text order"
        assert b.start < a.end, f"no overlap between {a.id} and {b.id}"
        shared = text[b.start : a.end]
        assert shared.strip() and shared in a.text and shared in b.text


def test_ids_are_stable_and_sequential(chunker, seed_article):
    first = chunker.chunk([seed_article])
    again = chunker.chunk([seed_article])
    assert [c.id for c in first] == [c.id for c in again]
    assert first == again
    assert [c.id for c in first] == [f"{seed_article.id}-{i:04d}" for i in range(len(first))]
    assert len({c.id for c in first}) == len(first)


def test_ids_do_not_depend_on_other_articles(chunker, seed_article):
    other = _article(LONG_TEXTS["one paragraph of sentences"])
    alone = chunker.chunk([seed_article])
    together = chunker.chunk([other, seed_article])
    assert [c for c in together if c.doc_id == seed_article.id] == alone


def test_blank_article_gives_no_chunks(chunker):
    assert chunker.chunk([Article(id="blank", title="", text="   \n\n  ")]) == []
    assert chunker.chunk([]) == []


def test_repeated_paragraphs_map_to_their_own_occurrence(chunker):
    para = "The same paragraph repeats here with the same words in it. " * 20
    text = "\n\n".join([para.strip()] * 6)
    chunks = chunker.chunk([_article(text)])
    assert all(c.text == text[c.start : c.end] for c in chunks)
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert _covered(text, chunks)
