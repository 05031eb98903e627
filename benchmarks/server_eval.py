"""The seed gold set answered in-process and through an OpenAI-compatible server (issue: models and endpoints).

    python benchmarks/server_eval.py --index IDX [--mode auto] [--model GGUF]

Starts `python -m llama_cpp.server` with the same GGUF (`bench.server.llama_server`), runs the gold
set both ways with `rag.evaluation.run_eval`, and prints both metric sets and how many answers are
identical. Latency figures are not comparable when other jobs share the cores; quality ones are.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.common import SEED_GOLD  # noqa: E402
from bench.server import llama_server  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--gold", default=str(SEED_GOLD))
    ap.add_argument("--mode", default="auto")
    ap.add_argument("--model", default=None, help="a GGUF path (default: the shipped model)")
    args = ap.parse_args()

    from rag import Assistant
    from rag.embedder import answering_embedder
    from rag.evaluation import load_gold, run_eval

    items = load_gold(args.gold)
    embedder = answering_embedder()
    results = {}
    with llama_server(args.model) as url:
        for name, kw in (("in-process", {"model": args.model}), ("server", {"llm_url": url})):
            assistant = Assistant.load(args.index, embedder=embedder, mode=args.mode, **kw)
            metrics, rows, _ = run_eval(assistant, items, mode=args.mode, k=5)
            results[name] = (metrics, [r["answer"] for r in rows])
    same = sum(a == b for a, b in zip(results["in-process"][1], results["server"][1]))
    print(json.dumps({name: m for name, (m, _) in results.items()}, indent=1))
    print(f"identical answers: {same} / {len(items)}")


if __name__ == "__main__":
    main()
