"""Ingest figures: indexer throughput, the bf16 embedder against fp32, the full build, one-article re-index.

Each compares the project's code path with a baseline measured in the same run
on the same inputs: bare `SentenceTransformer.encode` (a model this module
loads itself, see `common.bare_model`), the same model in fp32, or the full
build of the same corpus.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from .common import Figure, bare_encode, bare_model, write_jsonl

__all__ = ["ingest_throughput", "embedder_speedup", "full_build", "reindex_one"]


def _chunk_texts(embedder, articles) -> list[str]:
    from rag.chunking import Chunker

    return [c.text for c in Chunker(embedder.count_tokens, embedder.max_tokens).chunk(articles)]


def ingest_throughput(embedder, articles, work: Path, model=None) -> Figure:
    """Chunks per second through the indexer against bare ``SentenceTransformer.encode`` (``model``,
    loaded here when not given) on the same chunks, in the embedder's precision and batch size."""
    from rag.indexer import update_index

    model = model or bare_model()
    corpus = write_jsonl(articles, work / "ingest.jsonl")
    texts = _chunk_texts(embedder, articles)
    embedder.embed(texts[:32])  # warm both paths alike
    bare_encode(model, texts[:32], embedder.precision, embedder.batch_size)
    bare = len(texts) / bare_encode(model, texts, embedder.precision, embedder.batch_size)[0]
    t = time.perf_counter()
    report = update_index([corpus], work / "ingest-index", embedder)
    ours = report.chunks / (time.perf_counter() - t)
    return Figure(
        "ingest_throughput", ours, "chunks/s", bare, "SentenceTransformer.encode on the same chunks",
        ours / bare, ">= 0.85x", ours / bare >= 0.85,
        f"{len(articles)} articles, {report.chunks} chunks; includes loading, chunking, BM25 and writing",
    )


def embedder_speedup(embedder, articles, model=None) -> Figure:
    """The default embedding precision against fp32, the backend it replaced, on the same chunks."""
    model = model or bare_model()
    texts = _chunk_texts(embedder, articles)
    batch = embedder.batch_size
    bare_encode(model, texts[:64], "bf16", batch)  # warm both
    bare_encode(model, texts[:64], "fp32", batch)
    fp32_s, fp32_v = bare_encode(model, texts, "fp32", batch)
    bf16_s, bf16_v = bare_encode(model, texts, "bf16", batch)
    cosine = float((fp32_v * bf16_v).sum(axis=1).min())
    ratio = fp32_s / bf16_s
    return Figure(
        "embedder_bf16_speedup", len(texts) / bf16_s, "chunks/s", len(texts) / fp32_s,
        "the same model in fp32 (the previous default)", ratio, ">= 1.5x, <= 1 point recall@5 lost",
        ratio >= 1.5 and cosine >= 0.999,
        f"{len(texts)} chunks; bf16 autocast, the default where the CPU has AMX (here: {embedder.precision}); "
        f"lowest cosine to the fp32 vector {cosine:.5f}; realtimeqa recall@5: see README",
    )


def _suffix(store: str | Path) -> str:
    """Figure names of the default (embedded) store are bare; other backends' carry their name."""
    from rag.store import is_milvus

    return "_milvus" if is_milvus(str(store)) else ""


def full_build(corpus: Path, index_dir: str | Path) -> tuple[Figure, Figure]:
    """`rag index` in a child process, into the store ``index_dir`` (a folder or a `milvus:` spec):
    wall time and the child's peak memory."""
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "rag", "index", str(corpus), "--store", str(index_dir), "--quiet", "--json"],
        capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    wall = time.perf_counter() - t
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1])
    # RUSAGE_CHILDREN is the largest child so far: the figure is this build's only while it is the largest.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = json.loads(out.stdout)
    note = f"{report['articles']} articles -> {report['chunks']} chunks, process start to finish, store {index_dir}"
    sx = _suffix(index_dir)
    return (
        Figure(f"full_build_wall{sx}", wall, "s", note=note, goal="report; as fast as the embedder allows"),
        Figure(f"full_build_peak_memory{sx}", peak_mb, "MB", note="peak RSS of the largest `rag index` process so far",
               goal="report"),
    )


def reindex_one(corpus_file: Path, index_dir: str | Path, embedder, build_seconds: float) -> Figure:
    """Change one article of a JSONL corpus and update the store ``index_dir`` built from it."""
    from rag.indexer import update_index

    lines = corpus_file.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["text"] += "\n\nUpdate: officials revised the figures on Friday evening."
    corpus_file.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n", encoding="utf-8")
    t = time.perf_counter()
    report = update_index([corpus_file], index_dir, embedder)
    seconds = time.perf_counter() - t
    one = report.updated == [first["id"]] and report.embedded <= 20
    sx = _suffix(index_dir)
    goal, met = ("<= 1 s; only that article embedded", seconds <= 1 and one) if not sx else ("reported", None)
    return Figure(
        f"reindex_one_article{sx}", seconds, "s", build_seconds, "the full build of the same corpus",
        seconds / build_seconds, goal, met,
        f"{report.embedded} chunks embedded of {report.chunks}; updated {report.updated}",
    )
