"""rag.embedder: the shipped MiniLM, its precision setting, and what the index relies on."""

from __future__ import annotations

import numpy as np
import pytest

from rag.embedder import SentenceTransformerEmbedder
from rag.errors import RagError

TEXTS = [
    f"Report {i}: the council met on day {i} to discuss budget item {i * 7}, and {i + 3} residents spoke."
    for i in range(20)
] + ["At least 2,000 people have reportedly been arrested.", "Flights into the country have been halted."]


@pytest.fixture(scope="module")
def fp32_vectors(embedder):
    fp32 = SentenceTransformerEmbedder(precision="fp32")
    return fp32.embed(TEXTS)


def test_bf16_vectors_match_fp32(fp32_vectors):
    """bf16 (the default on AMX CPUs) gives unit float32 vectors within cosine 0.999 of fp32,
    which is why it shares the embedder's name and an index need not be rebuilt."""
    bf16 = SentenceTransformerEmbedder(precision="bf16")
    vectors = bf16.embed(TEXTS)  # one batch of 22: above the size where bf16 applies
    assert vectors.dtype == np.float32 and vectors.shape == fp32_vectors.shape
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    cosine = (vectors * fp32_vectors).sum(axis=1)
    assert cosine.min() >= 0.999
    assert not np.array_equal(vectors, fp32_vectors)  # bf16 really ran
    # A lone query runs in fp32 either way.
    assert np.allclose(bf16.embed(TEXTS[-1:])[0], fp32_vectors[-1], atol=1e-5)


def test_precision_follows_argument_then_environment(monkeypatch, embedder):
    monkeypatch.setenv("RAG_EMBED_PRECISION", "fp32")
    assert SentenceTransformerEmbedder().precision == "fp32"
    assert SentenceTransformerEmbedder(precision="bf16").precision == "bf16"
    monkeypatch.setenv("RAG_EMBED_PRECISION", "fp8")
    with pytest.raises(RagError, match="unknown embedding precision 'fp8'; use one of: auto, fp32, bf16"):
        SentenceTransformerEmbedder()
    monkeypatch.delenv("RAG_EMBED_PRECISION")
    assert SentenceTransformerEmbedder().precision in ("fp32", "bf16")  # auto: by the CPU's features


def test_empty_input(embedder):
    assert embedder.embed([]).shape == (0, embedder.dim)
