"""rag bench: the figures' JSON shape, the measuring functions on tiny inputs (no timing asserts),
and the command's one-line error where `benchmarks/` is not there (an installed wheel)."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner
from conftest import CORPUS, ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))

from bench import (  # noqa: E402 -- benchmarks/bench lives beside rag/, not in the package
    Figure,
    approximate_index,
    embedder_speedup,
    full_build,
    ingest_throughput,
    reindex_one,
    retrieval_latency,
)
from bench.common import SEED_GOLD, SHIPPED_CORPUS, bare_model, default_corpus  # noqa: E402
from bench.generation import common_prefix  # noqa: E402

from rag.loaders import load_path  # noqa: E402

KEYS = {"name", "value", "unit", "baseline", "ratio", "goal", "met"}


@pytest.fixture(scope="module")
def bare():
    return bare_model()


def test_figure_json_has_the_documented_keys():
    f = Figure("x", 1.23456, "s", 2.0, "base", 0.61728, "<= 1x", True, "note")
    d = json.loads(json.dumps(f.to_dict()))
    assert KEYS <= d.keys()
    assert d["value"] == 1.2346 and d["ratio"] == 0.6173


def test_the_benchmark_paths_point_into_the_checkout():
    assert SEED_GOLD.is_file() and SHIPPED_CORPUS.is_dir()
    assert default_corpus().exists()


def test_common_prefix_counts_shared_leading_tokens():
    assert common_prefix([1, 2, 3, 4], [1, 2, 9, 4]) == 2
    assert common_prefix([1, 2], [1, 2, 3]) == 2
    assert common_prefix([], [1]) == 0


def test_ingest_and_reindex_on_the_seed_article(embedder, bare, tmp_path):
    articles = load_path(CORPUS).articles
    ingest = ingest_throughput(embedder, articles, tmp_path, bare)
    assert ingest.value > 0 and ingest.baseline > 0 and ingest.ratio == pytest.approx(ingest.value / ingest.baseline)
    corpus = tmp_path / "ingest.jsonl"  # written by ingest_throughput, indexed into ingest-index
    again = reindex_one(corpus, tmp_path / "ingest-index", embedder, build_seconds=10.0)
    assert "chunks embedded" in again.note
    assert again.note.startswith(("1 chunks", "2 chunks", "3 chunks"))  # only the changed article's chunks


@pytest.mark.slow
def test_build_and_update_rows_for_each_backend(embedder, tmp_path):
    from bench.common import write_jsonl

    corpus = write_jsonl(load_path(CORPUS).articles, tmp_path / "build.jsonl")
    for store, suffix in ((tmp_path / "index", ""), (f"milvus:{tmp_path}/store.db", "_milvus")):
        wall, peak = full_build(corpus, store)
        assert (wall.name, peak.name) == (f"full_build_wall{suffix}", f"full_build_peak_memory{suffix}")
        assert wall.value > 0 and peak.value > 0 and str(store) in wall.note
        again = reindex_one(corpus, store, embedder, build_seconds=wall.value)
        assert again.name == f"reindex_one_article{suffix}"
        assert again.note.startswith(("1 chunks", "2 chunks", "3 chunks")), again.note
        assert (again.met is None) == bool(suffix)  # the 1 s goal is the embedded store's


def test_retrieval_figures_on_small_synthetic_sets(embedder, tmp_path):
    fused = retrieval_latency(embedder, 2_000, queries=5)
    assert fused.value > 0 and fused.met is None  # the goal is stated for 100k chunks
    approx = approximate_index(3_000, embedder.dim, queries=20, work=tmp_path)
    assert approx.baseline > 0 and "recall@10" in approx.note
    recall = float(approx.note.split("recall@10 ")[1].split()[0])
    assert recall >= 0.9  # an HNSW graph over 3k rows is near exact
    per_chunk = float(approx.note.split(" bytes per chunk")[0].rsplit("; ", 1)[1])
    assert per_chunk > embedder.dim * 4  # the saved graph holds every vector and its links
    assert "efSearch 64:" in approx.note and "efSearch 512:" in approx.note
    assert list(tmp_path.iterdir()) == []  # the saved graph is removed


def test_embedder_speedup_compares_bf16_with_fp32_on_the_same_chunks(embedder, bare):
    figure = embedder_speedup(embedder, load_path(CORPUS).articles, bare)
    assert figure.value > 0 and figure.baseline > 0 and figure.ratio == pytest.approx(figure.value / figure.baseline)
    cosine = float(figure.note.split("lowest cosine to the fp32 vector ")[1].split(";")[0])
    assert cosine >= 0.999


def test_bench_without_a_source_checkout_fails_in_one_line(monkeypatch, tmp_path):
    import rag.cli

    monkeypatch.setattr(rag.cli.tools, "benchmarks_dir", lambda: tmp_path / "benchmarks")
    result = CliRunner().invoke(rag.cli.cli, ["bench", "--quick"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [
        "Error: rag bench needs a source checkout: benchmarks/ is not installed with the package; "
        "clone the repository and run it there"
    ]


def test_bench_finds_benchmarks_beside_the_package():
    import rag.cli

    assert rag.cli.benchmarks_dir() == ROOT / "benchmarks"
    assert (rag.cli.benchmarks_dir() / "bench" / "__init__.py").is_file()


def test_bench_help_is_its_docstring():
    import rag.cli

    result = CliRunner().invoke(rag.cli.cli, ["bench", "--help"])
    assert result.exit_code == 0
    assert "Measure every performance figure" in result.output
    for flag in ("--corpus", "--model", "--quick", "--json"):
        assert flag in result.output
