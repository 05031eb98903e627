"""Would an int8 ONNX MiniLM be a faster embedder without losing recall? (issue: performance)

    python benchmarks/onnx_embedder.py --index IDX [--articles 600] [--json FILE]

The fp32 ONNX model is the one `rag.embedder.onnx` exports for answering (the
same file, from the same cache) and runs with `OnnxEmbedder`; the int8 one is
that file dynamically quantised. (sentence-transformers 6's own ONNX backend
needs optimum-onnx, which pins transformers < 4.58, while sentence-transformers
6 needs >= 5.) Speed: chunks per second on the same chunks as the current
backend (`SentenceTransformer.encode`), same batch size and threads, measured
in the same run. Quality: hybrid recall@5 on the realtimeqa-2023 questions
whose evidence lies in the first ``--articles`` articles of an index built from
it, with those articles' chunks embedded by each backend into a store of their own
in a temporary folder (`rag.store.sqlite`; BM25 and fusion unchanged).

Outcome on this project's 2-core Xeon: int8 1.12-1.18x, fp32 0.66-0.72x, so
neither indexes. What `rag.embedder` adopted for indexing instead is torch's
bf16 autocast on AMX CPUs: 2.5x with no recall lost (`rag bench`, figure
embedder_bf16_speedup). The fp32 ONNX model answers questions, for its start-up
time: onnxruntime imports in ~0.15 s, where sentence-transformers takes ~10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT.parent / "shared" / "data" / "realtimeqa-2023" / "gold.jsonl"


def quantised(fp32: Path, work: Path) -> Path:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    int8 = work / "minilm-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return int8


def _rate(fn, texts) -> tuple[float, np.ndarray]:
    fn(texts[:32])
    t = time.perf_counter()
    vecs = fn(texts)
    return len(texts) / (time.perf_counter() - t), vecs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", required=True, help="an index built from realtimeqa-2023 articles.jsonl")
    ap.add_argument("--articles", type=int, default=600)
    ap.add_argument("--speed-chunks", type=int, default=800)
    ap.add_argument("--json", dest="json_file")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from rag.config import available_cores
    from rag.embedder import SentenceTransformerEmbedder
    from rag.embedder.onnx import OnnxEmbedder, export
    from rag.evaluation import load_gold
    from rag.evaluation.metrics import chunk_hits
    from rag.retrieval import HybridRetriever
    from rag.store import StoredArticle, open_store

    threads = available_cores()
    work = Path(tempfile.mkdtemp(prefix="rag-onnx-"))
    st = SentenceTransformerEmbedder(threads=threads)
    fp32_file = export(st.folder)
    int8_file = quantised(fp32_file, work)
    backends = {
        "sentence-transformers fp32 (current)": lambda t: st.embed(t),
        "onnxruntime fp32": OnnxEmbedder(st.folder, fp32_file, name=st.name, threads=threads).embed,
        "onnxruntime int8": OnnxEmbedder(st.folder, int8_file, name=st.name, threads=threads).embed,
    }
    source = open_store(args.index)
    catalogue = source.catalogue()  # in the order the articles were stored
    keep = list(catalogue)[: args.articles]
    keep_docs = set(keep)
    # Chunk j of article a is "a-000j" (`rag.chunking`); the catalogue says how many each has.
    chunks = source.chunks([f"{d}-{j:04d}" for d in keep for j in range(catalogue[d].chunks)])
    articles = [StoredArticle(a, catalogue[a.id].digest, catalogue[a.id].text_hash) for a in source.articles(keep)]
    source.close()
    texts = [c.text for c in chunks]
    items = [g for g in load_gold(GOLD) if set(g.evidence_docs) & keep_docs]
    results = {}
    for n, (name, embed) in enumerate(backends.items()):
        rate, _ = _rate(embed, texts[: args.speed_chunks])
        vectors = embed(texts)
        store = open_store(work / f"store-{n}")  # the same articles and chunks, this backend's vectors
        with store.writing():
            store.upsert(articles, chunks, vectors)
            store.commit({"embedder": name})
        retriever = HybridRetriever(store, lambda q, e=embed: e([q])[0])
        hits = 0
        for g in items:
            passages = retriever.search(g.question, 5)
            hits += any(chunk_hits(p.chunk.text, p.chunk.doc_id, g.evidence, g.evidence_docs, g.answers) for p in passages)
        results[name] = {"chunks_per_s": round(rate, 1), "recall@5": round(hits / len(items), 4)}
        print(name, results[name], flush=True)
    base = results["sentence-transformers fp32 (current)"]
    for r in results.values():
        r["speedup"] = round(r["chunks_per_s"] / base["chunks_per_s"], 3)
        r["recall_change_points"] = round(100 * (r["recall@5"] - base["recall@5"]), 2)
    summary = {
        "articles": args.articles, "chunks": len(texts), "questions": len(items), "threads": threads,
        "speed_chunks": args.speed_chunks, "backends": results,
        "goal": ">= 1.5x speed, <= 1 point of recall@5 lost",
    }
    print(json.dumps(summary, indent=1))
    if args.json_file:
        Path(args.json_file).write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
