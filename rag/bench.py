"""`rag bench`: the project's performance figures in one run, each beside the baseline it is judged against.

Absolute times drift on a shared machine, so every figure that has a baseline
measures it in the same run, right before or after, on the same inputs. The
result is ``{"machine", "versions", "settings", "figures": [...]}``; each
figure has ``name, value, unit, baseline, ratio, goal, met`` and a ``note``
saying what was measured (or why it was not). ``quick`` shrinks every figure's
input so the whole run fits in a few minutes; the full run builds the whole
corpus given with ``corpus``.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .config import available_cores

__all__ = ["Figure", "run_bench", "default_corpus"]

ROOT = Path(__file__).resolve().parents[1]
SHARED_CORPUS = ROOT.parent / "shared" / "data" / "realtimeqa-2023" / "articles.jsonl"


@dataclass
class Figure:
    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    goal: str = ""
    met: bool | None = None
    note: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        for key in ("value", "baseline", "ratio"):
            if isinstance(d[key], float):
                d[key] = round(d[key], 4)
        return d


def default_corpus() -> Path:
    """realtimeqa-2023 when `../shared` is beside the checkout, else the shipped corpus."""
    return SHARED_CORPUS if SHARED_CORPUS.exists() else ROOT / "corpus"


def _on_compute(fn, *args):
    """Run ``fn`` on the assistant's compute thread, where all model work in a process runs:
    two OpenMP teams (torch's and llama.cpp's) on two threads slow each other down several-fold."""
    from .assistant import _COMPUTE

    return _COMPUTE.submit(fn, *args).result()


def _pct(values: Sequence[float], q: float) -> float:
    from .evaluation.metrics import percentile

    return percentile(values, q)


# -- ingest --------------------------------------------------------------------------------------


def _write_jsonl(articles, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for a in articles:
            f.write(json.dumps({"id": a.id, "title": a.title, "text": a.text, "published": a.published}) + "\n")
    return path


def ingest_throughput(embedder, articles, work: Path) -> Figure:
    """Chunks per second through the indexer against bare ``SentenceTransformer.encode``."""
    from .chunking import Chunker
    from .indexer import update_index

    corpus = _write_jsonl(articles, work / "ingest.jsonl")
    texts = [c.text for c in Chunker(embedder.count_tokens, embedder.max_tokens).chunk(articles)]
    embedder.embed(texts[:32])  # warm both paths alike
    bare = len(texts) / _bare_encode(embedder, texts, embedder.precision_scope())[0]
    t = time.perf_counter()
    report = update_index([corpus], work / "ingest-index", embedder)
    ours = report.chunks / (time.perf_counter() - t)
    return Figure(
        "ingest_throughput", ours, "chunks/s", bare, "SentenceTransformer.encode on the same chunks",
        ours / bare, ">= 0.85x", ours / bare >= 0.85,
        f"{len(articles)} articles, {report.chunks} chunks; includes loading, chunking, BM25 and writing",
    )


def _bare_encode(embedder, texts, scope) -> tuple[float, np.ndarray]:
    """Seconds for `SentenceTransformer.encode` on ``texts`` inside ``scope``, and the vectors."""
    t = time.perf_counter()
    with scope:
        vectors = embedder._model.encode(
            texts, batch_size=embedder.batch_size, convert_to_tensor=True, normalize_embeddings=True
        )
    return time.perf_counter() - t, vectors.float().numpy()


def embedder_speedup(embedder, articles) -> Figure:
    """The default embedding precision against fp32, the backend it replaced, on the same chunks."""
    import contextlib

    import torch

    from .chunking import Chunker

    texts = [c.text for c in Chunker(embedder.count_tokens, embedder.max_tokens).chunk(articles)]

    def bf16():
        return torch.autocast("cpu", dtype=torch.bfloat16)

    _bare_encode(embedder, texts[:64], bf16())  # warm both
    _bare_encode(embedder, texts[:64], contextlib.nullcontext())
    fp32_s, fp32_v = _bare_encode(embedder, texts, contextlib.nullcontext())
    bf16_s, bf16_v = _bare_encode(embedder, texts, bf16())
    cosine = float((fp32_v * bf16_v).sum(axis=1).min())
    ratio = fp32_s / bf16_s
    return Figure(
        "embedder_bf16_speedup", len(texts) / bf16_s, "chunks/s", len(texts) / fp32_s,
        "the same model in fp32 (the previous default)", ratio, ">= 1.5x, <= 1 point recall@5 lost",
        ratio >= 1.5 and cosine >= 0.999,
        f"{len(texts)} chunks; bf16 autocast, the default where the CPU has AMX (here: {embedder.precision}); "
        f"lowest cosine to the fp32 vector {cosine:.5f}; realtimeqa recall@5: see README",
    )


def full_build(corpus: Path, index_dir: Path) -> tuple[Figure, Figure]:
    """`rag index` in a child process: wall time and the child's peak memory."""
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "rag", "index", str(corpus), "--index", str(index_dir), "--quiet", "--json"],
        capture_output=True, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"),
    )
    wall = time.perf_counter() - t
    if out.returncode:
        raise RuntimeError(out.stderr.strip().splitlines()[-1])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    report = json.loads(out.stdout)
    note = f"{report['articles']} articles -> {report['chunks']} chunks, process start to finish"
    return (
        Figure("full_build_wall", wall, "s", note=note, goal="report; as fast as the embedder allows"),
        Figure("full_build_peak_memory", peak_mb, "MB", note="peak RSS of the `rag index` process", goal="report"),
    )


def reindex_one(corpus_file: Path, index_dir: Path, embedder, build_seconds: float) -> Figure:
    """Change one article of a JSONL corpus and update the index built from it."""
    from .indexer import update_index

    lines = corpus_file.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["text"] += "\n\nUpdate: officials revised the figures on Friday evening."
    corpus_file.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n", encoding="utf-8")
    t = time.perf_counter()
    report = update_index([corpus_file], index_dir, embedder)
    seconds = time.perf_counter() - t
    one = report.updated == [first["id"]] and report.embedded <= 20
    return Figure(
        "reindex_one_article", seconds, "s", build_seconds, "the full build of the same corpus",
        seconds / build_seconds, "<= 2 s; only that article embedded", seconds <= 2 and one,
        f"{report.embedded} chunks embedded of {report.chunks}; updated {report.updated}",
    )


# -- retrieval at scale ---------------------------------------------------------------------------


def _synthetic_chunks(n: int, dim: int, seed: int = 0):
    from .types import Chunk

    rng = np.random.default_rng(seed)
    vocab = [f"term{i}" for i in range(30_000)]
    zipf = 1 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
    words = rng.choice(len(vocab), size=(n, 40), p=zipf)
    texts = [" ".join(vocab[j] for j in row) for row in words]
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk(f"c{i}", f"d{i // 4}", t, 0, len(t)) for i, t in enumerate(texts)]
    return chunks, vectors, vocab, rng


def retrieval_latency(embedder, n: int, queries: int = 200) -> Figure:
    """Fused retrieval of single queries (query embedding included) over ``n`` synthetic chunks."""
    from .retrieval import BM25Index, FaissIndex, HybridRetriever

    chunks, vectors, vocab, rng = _synthetic_chunks(n, embedder.dim)
    retriever = HybridRetriever(
        chunks, FaissIndex(vectors), BM25Index.build([c.text for c in chunks]), lambda q: embedder.embed([q])[0]
    )
    times = []
    for i in range(queries + 5):
        q = " ".join(vocab[j] for j in rng.integers(0, 3000, size=6))
        t = time.perf_counter()
        retriever.search(q, 5)
        if i >= 5:  # the first few warm caches
            times.append(time.perf_counter() - t)
    p95 = _pct(times, 95) * 1000
    return Figure(
        "retrieval_p95", p95, "ms", goal="<= 40 ms at 100k chunks", met=p95 <= 40 if n >= 100_000 else None,
        note=f"{n} synthetic chunks, {queries} queries, p50 {_pct(times, 50) * 1000:.1f} ms, "
        f"dense exact + BM25 + z-score fusion, query embedding included, {available_cores()} threads",
    )


def _embedding_like(n: int, dim: int, rng) -> np.ndarray:
    """Unit vectors with embedding-like structure: a 32-d latent space plus a little noise
    (sentence embeddings have low intrinsic dimension; uniform random vectors would not)."""
    mix = rng.standard_normal((32, dim)).astype(np.float32)
    out = np.empty((n, dim), dtype=np.float32)
    for a in range(0, n, 100_000):
        b = min(n, a + 100_000)
        block = rng.standard_normal((b - a, 32)).astype(np.float32) @ mix
        block += 0.3 * rng.standard_normal((b - a, dim)).astype(np.float32)
        out[a:b] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def approximate_index(n: int, dim: int, queries: int = 200) -> Figure:
    """HNSW (picked automatically from `APPROXIMATE_FROM` rows) against exact search."""
    import faiss

    from .retrieval import APPROXIMATE_FROM, FaissIndex, HnswIndex

    rng = np.random.default_rng(1)
    vectors = _embedding_like(n, dim, rng)
    qs = _embedding_like(queries, dim, rng)
    exact = FaissIndex(vectors)
    truth, exact_times = [], []
    for q in qs:
        t = time.perf_counter()
        truth.append({i for i, _ in exact.search(q, 10)})
        exact_times.append(time.perf_counter() - t)
    t = time.perf_counter()
    graph = HnswIndex.build(vectors)
    build = time.perf_counter() - t
    default_ef = graph._index.hnsw.efSearch
    sweep = {}
    for ef in sorted({64, 128, 256, 512, default_ef}):
        graph._index.hnsw.efSearch = ef
        times, recall = [], []
        for q, want in zip(qs, truth):
            t = time.perf_counter()
            got = {i for i, _ in graph.search(q, 10)}
            times.append(time.perf_counter() - t)
            recall.append(len(got & want) / 10)
        sweep[ef] = (float(np.mean(recall)), _pct(times, 95) * 1000)
    graph._index.hnsw.efSearch = default_ef
    r10, p95 = sweep[default_ef]
    exact_p95 = _pct(exact_times, 95) * 1000
    others = "; ".join(f"efSearch {ef}: recall {r:.3f}, p95 {p:.1f} ms" for ef, (r, p) in sweep.items())
    per_chunk = len(faiss.serialize_index(graph._index)) / n
    return Figure(
        "approximate_index_p95", p95, "ms", exact_p95, "exact search (IndexFlatIP) p95 on the same vectors",
        p95 / exact_p95, "recall@10 >= 0.95, p95 <= 10 ms", r10 >= 0.95 and p95 <= 10,
        f"{n} synthetic embedding-like chunks; recall@10 {r10:.3f} at the default efSearch {default_ef}; "
        f"HNSW build {build:.0f} s; {per_chunk:.0f} bytes per chunk (vector + graph); "
        f"used automatically from {APPROXIMATE_FROM} chunks; {others}",
    )


# -- generation -----------------------------------------------------------------------------------


class _Recording:
    """Passes an LLM through and records what the assistant sent and when each token came."""

    def __init__(self, llm) -> None:
        self.llm, self.name, self.n_ctx = llm, llm.name, llm.n_ctx
        self.count_tokens = llm.count_tokens
        self.messages: list[dict] = []
        self.token_times: list[float] = []
        self.calls = 0

    def stream_chat(self, messages, *, max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        self.calls += 1
        self.messages, self.token_times = list(messages), []
        for piece in self.llm.stream_chat(messages, max_tokens=max_tokens, temperature=temperature):
            self.token_times.append(time.perf_counter())
            yield piece


def _decode_rate(times: Sequence[float]) -> float | None:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 2 else None


def _raw_token_times(raw, messages, max_tokens: int) -> list[float]:
    times = []
    for chunk in raw.create_chat_completion(
        messages=list(messages), max_tokens=max_tokens, temperature=0.0, top_k=1, stream=True
    ):
        if chunk["choices"][0].get("delta", {}).get("content"):
            times.append(time.perf_counter())
    return times


def _prompt_rate(raw, tokens) -> float:
    raw.reset()
    t = time.perf_counter()
    raw.eval(tokens)
    return len(tokens) / (time.perf_counter() - t)


def generation_figures(seed_index: Path, embedder, model: str | None) -> list[Figure]:
    """Tokens/s and time to first token through `Assistant.stream`, and KV reuse on a follow-up."""
    from . import Assistant
    from .llm import LlamaCppLLM

    llm = LlamaCppLLM(model)
    rec = _Recording(llm)
    assistant = Assistant.load(seed_index, embedder=embedder, llm=rec, mode="generative")
    raw = llm.raw
    assistant.ask("What did Russia's foreign ministry claim?")  # warm-up: models and caches loaded
    question = "Why did the protests start?"
    t0 = time.perf_counter()
    stream = assistant.stream(question)
    for _ in stream:
        pass
    answer = stream.answer
    ours_times, messages = rec.token_times, rec.messages
    context_after = raw.n_tokens
    ours = _decode_rate(ours_times)
    raw_times = _on_compute(_raw_token_times, raw, messages, assistant.settings.max_tokens)
    bare = _decode_rate(raw_times)
    figures = [
        Figure(
            "generation_tokens_per_s", ours, "tokens/s", bare, "llama-cpp-python create_chat_completion, same prompt",
            ours / bare if ours and bare else None, ">= 0.9x", (ours / bare >= 0.9) if ours and bare else None,
            f"{len(ours_times)} tokens decoded; model {llm.name}, {llm.threads} threads, batch {llm.n_batch}",
        )
    ]
    # Time to first token against prompt tokens / the measured prompt-processing rate + retrieval.
    prompt_tokens = context_after - len(ours_times)
    probe = raw.tokenize(("The protests began over fuel prices. " * 40).encode(), add_bos=True)[:400]
    pp_rate = _on_compute(_prompt_rate, raw, probe)
    before_llm = answer.timings["retrieval"] + answer.timings["evidence"]
    expected = before_llm + prompt_tokens / pp_rate
    actual = ours_times[0] - t0
    figures.append(
        Figure(
            "time_to_first_token", actual, "s", expected,
            "prompt tokens / measured prompt-processing rate + retrieval and evidence time",
            actual / expected, "<= 1.15x", actual / expected <= 1.15,
            f"{prompt_tokens} prompt tokens at {pp_rate:.0f} tokens/s; retrieval+evidence {before_llm * 1000:.0f} ms",
        )
    )
    # A follow-up: how much of its prompt llama.cpp had to evaluate.
    raw.reset()
    history = [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]
    assistant.ask(question)  # turn 1 again, from an empty cache
    cached = list(raw._input_ids[: raw.n_tokens])
    calls = rec.calls
    assistant.ask("What did the government do about them?", history)
    if rec.calls == calls:
        return [*figures, _not_measured("follow_up_prompt_tokens_evaluated", "only the new part", "the follow-up abstained")]
    prompt2 = list(raw._input_ids[: raw.n_tokens - len(rec.token_times)])
    reused = 0
    for a, b in zip(cached, prompt2):
        if a != b:
            break
        reused += 1
    evaluated = len(prompt2) - reused
    new_part = len(prompt2) - len(cached)  # what turn 2 adds after turn 1's prompt and reply
    figures.append(
        Figure(
            "follow_up_prompt_tokens_evaluated", evaluated, "tokens", len(prompt2), "the follow-up's whole prompt",
            evaluated / len(prompt2), "only the new part: the KV cache prefix is reused",
            evaluated <= new_part + 2,  # +2: the reply's last token is sampled, not yet evaluated, and may re-tokenise
            f"{reused} tokens of turn 1 (prompt and reply) reused; the new part is {new_part} tokens",
        )
    )
    return figures


# -- start-up and end-to-end ----------------------------------------------------------------------

_COLD = """
import json, sys, time
t0 = time.perf_counter()
import rag
from rag.assistant import Assistant
t_import = time.perf_counter()
from rag.embedder import SentenceTransformerEmbedder
emb = SentenceTransformerEmbedder()
t_embedder = time.perf_counter()
a = Assistant.load(sys.argv[1], embedder=emb)
t_index = time.perf_counter()
a.ask("How many people were arrested?")
t_answer = time.perf_counter()
print(json.dumps({"imports": t_import - t0, "embedder": t_embedder - t_import, "index": t_index - t_embedder,
                  "first_answer": t_answer - t_index}))
"""


def _first_answer(seed_index: Path, env: dict) -> tuple[float, float]:
    """Seconds from starting `rag ask` to the first character of its answer on stdout (what the
    user waits for; `rag ask` flushes each piece as it streams), and to the process's exit."""
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "ask", "How many people were arrested?", "--index", str(seed_index)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )
    proc.stdout.read(1)
    first = time.perf_counter() - t
    _out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(err.decode(errors="replace").strip())
    return first, time.perf_counter() - t


def cold_start(seed_index: Path, runs: int = 3) -> Figure:
    """The median of ``runs`` fresh `rag ask` processes (one sample swung by a second between runs
    of `rag bench`), and where the time goes in one more process."""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    samples = [_first_answer(seed_index, env) for _ in range(runs)]
    walls = [first for first, _ in samples]
    wall = _pct(walls, 50)
    exit_s = _pct([done for _, done in samples], 50)
    parts = json.loads(
        subprocess.run([sys.executable, "-c", _COLD, str(seed_index)], capture_output=True, text=True, env=env, check=True).stdout
    )
    where = ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())
    runs_s = ", ".join(f"{w:.2f}" for w in walls)
    return Figure(
        "cold_start_rag_ask", wall, "s", goal="<= 5 s", met=wall <= 5,
        note=f"process start to the answer on stdout, median of {runs} processes ({runs_s} s); {where}; "
        f"the process exits at {exit_s:.2f} s (Python and torch teardown)",
    )


def ask_latency(seed_index: Path, embedder, model: str | None, limit: int | None) -> list[Figure]:
    from . import Assistant
    from .evaluation import load_gold, run_eval

    items = load_gold(ROOT / "tests" / "gold" / "seed.jsonl")[:limit]
    assistant = Assistant.load(seed_index, embedder=embedder, model=model)
    assistant.ask("Which countries sent troops?", mode="generative")  # models loaded before timing
    figures = []
    for mode, goal in (("extractive", 0.2), ("generative", 2.0)):
        _m, rows, _ = run_eval(assistant, items, mode=mode)
        totals = [r["timings"]["total"] for r in rows]
        p50, p95 = _pct(totals, 50), _pct(totals, 95)
        figures.append(
            Figure(
                f"ask_{mode}_p95", p95, "s", goal=f"<= {goal} s", met=p95 <= goal,
                note=f"p50 {p50:.3f} s; {len(rows)} seed gold questions incl. abstentions and follow-ups",
            )
        )
    return figures


def _not_measured(name: str, goal: str, why: str) -> Figure:
    return Figure(name, None, "", goal=goal, met=None, note=f"not measured: {why}")


def run_bench(
    corpus: Path | None = None,
    *,
    quick: bool = False,
    model: str | None = None,
    on_figure: Callable[[Figure], None] | None = None,
) -> dict:
    from .embedder import SentenceTransformerEmbedder
    from .indexer import update_index
    from .loaders import load_path
    from .runinfo import machine_info, versions

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
        add(_on_compute(ingest_throughput, embedder, subset, work))
        build_corpus = _write_jsonl(articles if not quick else articles[:300], work / "build.jsonl")
        wall, peak = full_build(build_corpus, work / "build-index")
        if quick:
            wall.name, peak.name = "build_300_articles_wall", "build_300_articles_peak_memory"
        add(wall, peak)
        add(_on_compute(reindex_one, build_corpus, work / "build-index", embedder, wall.value))
        add(_on_compute(embedder_speedup, embedder, subset))
        add(_on_compute(retrieval_latency, embedder, 20_000 if quick else 100_000, 50 if quick else 200))
        add(_on_compute(approximate_index, 200_000 if quick else 1_000_000, embedder.dim))
        seed_index = work / "seed-index"
        _on_compute(update_index, [ROOT / "corpus"], seed_index, embedder)
        add(*generation_figures(seed_index, embedder, model))
        add(cold_start(seed_index))
        add(*ask_latency(seed_index, embedder, model, 25 if quick else None))
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
