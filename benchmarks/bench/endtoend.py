"""End-to-end figures: cold start of `rag ask` in fresh processes, and ask latency per mode on the seed gold set.

The seed gold questions are read from `tests/gold/seed.jsonl` (`common.SEED_GOLD`):
answerable and unanswerable questions and follow-ups, as `rag eval` asks them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from .common import SEED_GOLD, Figure, pct

__all__ = ["cold_start", "ask_latency"]

_COLD = """
import json, sys, time
t0 = time.perf_counter()
import rag
from rag.assistant import Assistant
t_import = time.perf_counter()
a = Assistant.load(sys.argv[1], mode="extractive")
t_index = time.perf_counter()
from rag.answer.nlp import _pipeline
_pipeline()
t_spacy = time.perf_counter()
a.ask("How many people were arrested?")
t_answer = time.perf_counter()
print(json.dumps({"imports": t_import - t0, "index and embedder": t_index - t_import, "spaCy": t_spacy - t_index,
                  "first reading": t_answer - t_spacy, "embedder": f"{type(a.embedder.inner).__name__} {a.embedder.precision}"}))
"""


def _first_answer(seed_index: Path, env: dict) -> tuple[float, float]:
    """Seconds from starting `rag ask` to the first character of its answer on stdout (what the
    user waits for; `rag ask` flushes each piece as it streams), and to the process's exit."""
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag", "ask", "How many people were arrested?", "--index", str(seed_index), "--mode", "extractive"],
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
    wall = pct(walls, 50)
    exit_s = pct([done for _, done in samples], 50)
    parts = json.loads(
        subprocess.run([sys.executable, "-c", _COLD, str(seed_index)], capture_output=True, text=True, env=env, check=True).stdout
    )
    where = ", ".join(f"{k} {v:.2f} s" if isinstance(v, float) else f"{k} {v}" for k, v in parts.items())
    runs_s = ", ".join(f"{w:.2f}" for w in walls)
    return Figure(
        "cold_start_rag_ask", wall, "s", goal="<= 2.5 s", met=wall <= 2.5,
        note=f"process start to the first character of an extractive answer on stdout, median of {runs} processes "
        f"({runs_s} s); one more process in steps: {where}; the process exits at {exit_s:.2f} s",
    )


def ask_latency(seed_index: Path, embedder, model: str | None, limit: int | None, gold: Path = SEED_GOLD) -> list[Figure]:
    """p95 of `Assistant.ask` per mode over the first ``limit`` questions of ``gold``."""
    from rag import Assistant
    from rag.evaluation import load_gold, run_eval

    items = load_gold(gold)[:limit]
    assistant = Assistant.load(seed_index, embedder=embedder, model=model)
    assistant.ask("Which countries sent troops?", mode="generative")  # models loaded before timing
    figures = []
    for mode, goal in (("extractive", 0.2), ("generative", 2.0)):
        _m, rows, _ = run_eval(assistant, items, mode=mode)
        totals = [r["timings"]["total"] for r in rows]
        p50, p95 = pct(totals, 50), pct(totals, 95)
        figures.append(
            Figure(
                f"ask_{mode}_p95", p95, "s", goal=f"<= {goal} s", met=p95 <= goal,
                note=f"p50 {p50:.3f} s; {len(rows)} seed gold questions incl. abstentions and follow-ups",
            )
        )
    return figures
