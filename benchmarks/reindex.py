"""Re-index after one article changes, on an index you built yourself (issue: performance).

    cp ../shared/data/realtimeqa-2023/articles.jsonl /tmp/r/articles.jsonl
    rag index /tmp/r/articles.jsonl --index /tmp/r/index      # once: about an hour here
    python benchmarks/reindex.py /tmp/r/articles.jsonl /tmp/r/index [--times 3]

`rag bench` measures the same figure (`bench.reindex_one`, in benchmarks/bench/ingest.py)
after building its corpus from scratch; this runs it alone, as often as you like, on a large
index built once. Each run appends a line to the first article of CORPUS, so
point it at a copy.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("corpus", type=Path, help="the JSONL corpus file the index was built from (a copy)")
    ap.add_argument("index", help="the store: an index folder, or milvus:FILE.db")
    ap.add_argument("--times", type=int, default=3, help="how many changes to time, one after the other")
    args = ap.parse_args()

    from bench import reindex_one  # benchmarks/bench: this script's folder is on sys.path

    from rag import compute
    from rag.embedder import SentenceTransformerEmbedder
    from rag.runinfo import machine_info

    embedder = SentenceTransformerEmbedder()
    compute.run(embedder.embed, ["warm up"])
    print(machine_info())
    for _ in range(args.times):
        figure = compute.run(reindex_one, args.corpus, args.index, embedder, float("nan"))
        print(f"{figure.value:.2f} s  {figure.note}")


if __name__ == "__main__":
    main()
