"""Retrieval quality on a gold set: dense only, BM25 only and fused, with no LLM.

For each question, does a top-k chunk contain a gold answer string
(normalised as in `rag.text.normalize_answer`)? Prints one line per method
and, with --json, writes the figures.

    python benchmarks/retrieval.py --index /tmp/rtqa-index \
        --gold ../shared/data/realtimeqa-2023/gold.jsonl -k 5
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rag.embedder import SentenceTransformerEmbedder  # noqa: E402
from rag.evaluation import load_gold  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.text import normalize_answer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True)
    ap.add_argument("--gold", required=True)
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--json", dest="json_file")
    args = ap.parse_args()
    embedder = SentenceTransformerEmbedder()
    t0 = time.perf_counter()
    index = Index.load(args.index, embedder)
    load_s = time.perf_counter() - t0
    items = [i for i in load_gold(args.gold) if i.answerable]
    vectors = embedder.embed([i.question for i in items])
    figures = {"questions": len(items), "k": args.k, "chunks": index.size, "index_load_s": round(load_s, 2)}
    for method in ("dense", "lexical", "hybrid"):
        hits = 0
        t = time.perf_counter()
        for item, vec in zip(items, vectors):
            passages = index.search(item.question, args.k, method=method, query_vector=vec)
            golds = [normalize_answer(a) for a in item.answers if normalize_answer(a)]
            if any(g in normalize_answer(p.chunk.text) for p in passages for g in golds):
                hits += 1
        ms = (time.perf_counter() - t) / max(1, len(items)) * 1000
        figures[method] = {"answer_in_top_k": round(hits / len(items), 4), "ms_per_query": round(ms, 1)}
        print(f"{method:>8}: answer in top-{args.k} {hits / len(items):.3f} ({hits}/{len(items)}), {ms:.1f} ms/query")
    if args.json_file:
        with open(args.json_file, "w") as f:
            json.dump(figures, f, indent=1)


if __name__ == "__main__":
    main()
