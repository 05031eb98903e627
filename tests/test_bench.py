"""rag bench: the figures' JSON shape and the measuring functions on tiny inputs (no timing asserts)."""

from __future__ import annotations

import json

import pytest
from conftest import CORPUS

from rag.bench import Figure, approximate_index, embedder_speedup, ingest_throughput, reindex_one, retrieval_latency
from rag.loaders import load_path

KEYS = {"name", "value", "unit", "baseline", "ratio", "goal", "met"}


def test_figure_json_has_the_documented_keys():
    f = Figure("x", 1.23456, "s", 2.0, "base", 0.61728, "<= 1x", True, "note")
    d = json.loads(json.dumps(f.to_dict()))
    assert KEYS <= d.keys()
    assert d["value"] == 1.2346 and d["ratio"] == 0.6173


def test_ingest_and_reindex_on_the_seed_article(embedder, tmp_path):
    articles = load_path(CORPUS).articles
    ingest = ingest_throughput(embedder, articles, tmp_path)
    assert ingest.value > 0 and ingest.baseline > 0 and ingest.ratio == pytest.approx(ingest.value / ingest.baseline)
    corpus = tmp_path / "ingest.jsonl"  # written by ingest_throughput, indexed into ingest-index
    again = reindex_one(corpus, tmp_path / "ingest-index", embedder, build_seconds=10.0)
    assert "chunks embedded" in again.note
    assert again.note.startswith(("1 chunks", "2 chunks", "3 chunks"))  # only the changed article's chunks


def test_retrieval_figures_on_small_synthetic_sets(embedder):
    fused = retrieval_latency(embedder, 2_000, queries=5)
    assert fused.value > 0 and fused.met is None  # the goal is stated for 100k chunks
    approx = approximate_index(3_000, embedder.dim, queries=20)
    assert approx.baseline > 0 and "recall@10" in approx.note
    recall = float(approx.note.split("recall@10 ")[1].split()[0])
    assert recall >= 0.9  # an HNSW graph over 3k rows is near exact


def test_embedder_speedup_compares_bf16_with_fp32_on_the_same_chunks(embedder):
    figure = embedder_speedup(embedder, load_path(CORPUS).articles)
    assert figure.value > 0 and figure.baseline > 0 and figure.ratio == pytest.approx(figure.value / figure.baseline)
    cosine = float(figure.note.split("lowest cosine to the fp32 vector ")[1].split(";")[0])
    assert cosine >= 0.999
