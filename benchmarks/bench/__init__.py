"""`rag bench`: the project's performance figures in one run, each beside the baseline it is judged against.

Absolute times drift on a shared machine, so every figure that has a baseline
measures it in the same run, right before or after, on the same inputs. The
result is ``{"machine", "versions", "settings", "figures": [...]}``; each
figure has ``name, value, unit, baseline, ratio, goal, met`` and a ``note``
saying what was measured (or why it was not). ``quick`` shrinks every figure's
input so the whole run fits in a few minutes; the full run builds the whole
corpus given with ``corpus``.

This package lives in the source checkout, not in the installed `rag` package:
`rag bench` loads it from ``benchmarks/`` beside ``rag/``. It uses only public
APIs of `rag` and of the libraries; all model work runs on `rag.compute`'s
thread (two OpenMP teams, torch's and llama.cpp's, on two threads slow each
other down several-fold). The figures are in ``ingest``, ``search``,
``generation``, ``endtoend`` and ``server``; shared pieces in ``common``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from rag import compute

from .common import SHIPPED_CORPUS, Figure, default_corpus, write_jsonl
from .endtoend import ask_latency, cold_start
from .generation import generation_figures
from .ingest import embedder_speedup, full_build, ingest_throughput, reindex_one
from .search import approximate_index, retrieval_latency
from .server import server_overhead

__all__ = [
    "Figure", "run_bench", "default_corpus", "ingest_throughput", "embedder_speedup", "full_build", "reindex_one",
    "retrieval_latency", "approximate_index", "generation_figures", "cold_start", "ask_latency", "server_overhead",
]


def run_bench(
    corpus: Path | None = None,
    *,
    quick: bool = False,
    model: str | None = None,
    on_figure: Callable[[Figure], None] | None = None,
) -> dict:
    """Every figure in turn (``on_figure`` sees each as it is measured); the result as the module docstring says."""
    from rag.embedder import SentenceTransformerEmbedder
    from rag.indexer import update_index
    from rag.loaders import load_path
    from rag.runinfo import machine_info, versions
    from rag.wiring import query_embedder

    from .common import bare_model

    corpus = Path(corpus) if corpus else default_corpus()
    embedder = SentenceTransformerEmbedder()
    work = Path(tempfile.mkdtemp(prefix="rag-bench-"))
    figures: list[Figure] = []

    def add(*new: Figure) -> None:
        for f in new:
            figures.append(f)
            if on_figure:
                on_figure(f)

    try:
        articles = load_path(corpus).articles
        subset = articles[: 40 if quick else 200]
        bare = compute.run(bare_model)
        add(compute.run(ingest_throughput, embedder, subset, work, bare))
        build_corpus = write_jsonl(articles if not quick else articles[:300], work / "build.jsonl")
        for store in (work / "build-index", f"milvus:{work}/build-milvus.db"):
            wall, peak = full_build(build_corpus, store)
            if quick:
                wall.name, peak.name = (n.replace("full_build", "build_300_articles") for n in (wall.name, peak.name))
            add(wall, peak)
            add(compute.run(reindex_one, build_corpus, store, embedder, wall.value))
        add(compute.run(embedder_speedup, embedder, subset, bare))
        del bare
        # Questions are embedded by the answering embedder (ONNX once `rag index` has exported it).
        asking = compute.run(query_embedder)
        for backend in ("sqlite", "milvus"):
            add(compute.run(retrieval_latency, asking, 20_000 if quick else 100_000, 50 if quick else 200, backend, work))
        add(compute.run(approximate_index, 200_000 if quick else 1_000_000, embedder.dim, 200, work))
        seed_index = work / "seed-index"
        compute.run(update_index, [SHIPPED_CORPUS], seed_index, embedder)
        add(*generation_figures(seed_index, embedder, model))
        add(cold_start(seed_index))
        add(*ask_latency(seed_index, embedder, model, 25 if quick else None))
        add(server_overhead(seed_index, embedder, model, 5 if quick else None))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "machine": machine_info(),
        "versions": versions(),
        "settings": {"corpus": str(corpus), "quick": quick, "model": model or "SmolLM2-135M-Instruct.Q4_1.gguf",
                     "embedder": embedder.name, "embed_precision": embedder.precision,
                     "batch_size": embedder.batch_size},
        "figures": [f.to_dict() for f in figures],
    }
