"""The store against the code before it, on realtimeqa-2023: build, one-article update, memory, cold ask.

Run from the checkout, with a checkout of the commit before the store beside it::

    git worktree add /tmp/oldtree 0ee75e1
    python benchmarks/store_compare.py --baseline-tree /tmp/oldtree --work /tmp/store-compare

Each figure runs in a fresh subprocess per code tree (``PYTHONPATH`` picks the tree), the two
one after the other on the same machine and inputs:

- ``build``: a full build with a stand-in embedder (deterministic random unit vectors, no model),
  so the figure is the store's own cost: chunking, keyword indexing, MinHash, writes. A real
  build adds the embedding, the same for both (measured here as chunks/s of the real embedder).
- ``update``: one article of the built index changed, re-indexed with the real embedder.
- ``memory``: resident memory after `Index.load` with the answering (ONNX) embedder, before
  any question, minus the process's memory before the load; and again after one search (the
  store loads its vectors into FAISS on the first search).
- ``cold_ask``: `rag ask --mode extractive` in a new process on the seed article's index, median of 3.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RTQA = ROOT.parent / "shared" / "data" / "realtimeqa-2023" / "articles.jsonl"

_FAKE = '''
import hashlib, numpy as np
class Stand:
    name = "sentence-transformers/all-MiniLM-L6-v2"; dim = 384; max_tokens = 256
    def __init__(self):
        from rag.wiring import index_embedder
        self._real = index_embedder()
    def count_tokens(self, texts):
        return self._real.count_tokens(texts)
    def embed(self, texts, progress=False):
        out = np.empty((len(texts), 384), np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(384).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out
'''

_BUILD = _FAKE + '''
import json, resource, sys, time
from rag.indexer import update_index
t = time.perf_counter()
r = update_index([sys.argv[1]], sys.argv[2], Stand())
print(json.dumps({"seconds": time.perf_counter() - t, "chunks": r.chunks,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''

_UPDATE = '''
import json, sys
from rag.indexer import update_index
from rag.wiring import index_embedder
e = index_embedder()
e.embed(["warm up"])
r = update_index([sys.argv[1]], sys.argv[2], e)
print(json.dumps({"seconds": r.seconds, "embedded": r.embedded, "updated": len(r.updated)}))
'''

_MEMORY = '''
import json, sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
from rag.index import Index
from rag.wiring import query_embedder
e = query_embedder()
e.embed(["warm up"])
before = rss()
index = Index.load(sys.argv[1], e)
loaded = rss()
index.search("the price of gas in Kazakhstan", 5)
searched = rss()
print(json.dumps({"before_mb": before, "loaded_mb": loaded, "index_mb": loaded - before,
                  "after_first_search_mb": searched, "index_and_search_mb": searched - before}))
'''

_EMBED = '''
import json, sys, time
from rag.loaders import load_path
from rag.chunking import Chunker, ChunkingConfig
from rag.wiring import index_embedder
e = index_embedder()
arts = load_path(sys.argv[1]).articles[:60]
texts = [c.text for c in Chunker(e.count_tokens, e.max_tokens, ChunkingConfig()).chunk(arts)][:1200]
e.embed(texts[:32])
t = time.perf_counter()
e.embed(texts)
print(json.dumps({"chunks_per_s": len(texts) / (time.perf_counter() - t), "precision": getattr(e, "precision", None)}))
'''


def _run(tree: Path, code: str, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    # cwd is the tree too: `python -c` puts the current folder first on sys.path.
    out = subprocess.run([sys.executable, "-c", code, *args], env=env, cwd=tree, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cold_ask(tree: Path, index: Path, runs: int = 3) -> float:
    env = dict(os.environ, PYTHONPATH=str(tree), HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rag", "ask", "Why did the protests start?", "--index", str(index),
                        "--mode", "extractive"], env=env, cwd=tree, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _changed_copy(src: Path, dst: Path) -> None:
    """The corpus with its first article's text changed (one sentence added)."""
    lines = src.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["text"] += " One more sentence, added for the update figure."
    dst.write_text("\n".join([json.dumps(first, ensure_ascii=False), *lines[1:]]) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-tree", type=Path, required=True, help="checkout of the commit before the store")
    ap.add_argument("--work", type=Path, default=Path("/tmp/store-compare"))
    ap.add_argument("--corpus", type=Path, default=RTQA)
    ap.add_argument("--only", nargs="*", default=["embed", "build", "update", "memory", "cold_ask"])
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    trees = {"before": args.baseline_tree.resolve(), "store": ROOT}
    out: dict = {}
    if "embed" in args.only:
        out["embed"] = _run(ROOT, _EMBED, str(args.corpus))
    for name, tree in trees.items():
        corpus = args.work / name / "corpus.jsonl"
        index = args.work / name / "index"
        corpus.parent.mkdir(parents=True, exist_ok=True)
        if "build" in args.only:
            corpus.write_bytes(args.corpus.read_bytes())
            subprocess.run(["rm", "-rf", str(index)], check=True)
            out.setdefault("build", {})[name] = _run(tree, _BUILD, str(corpus), str(index))
        if "update" in args.only:
            _changed_copy(args.corpus, corpus)
            out.setdefault("update", {})[name] = _run(tree, _UPDATE, str(corpus), str(index))
        if "memory" in args.only:
            out.setdefault("memory", {})[name] = _run(tree, _MEMORY, str(index))
        if "cold_ask" in args.only:
            seed = args.work / name / "seed-index"
            if not seed.exists():
                subprocess.run([sys.executable, "-m", "rag", "index", str(ROOT / "corpus"), "--index", str(seed), "--quiet"],
                               env=dict(os.environ, PYTHONPATH=str(tree), HF_HUB_OFFLINE="1"), cwd=tree, check=True,
                               capture_output=True)
            out.setdefault("cold_ask_s", {})[name] = _cold_ask(tree, seed)
        print(json.dumps({name: {k: v.get(name) for k, v in out.items() if isinstance(v, dict) and name in v}}), flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
