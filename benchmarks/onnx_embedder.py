"""Would an int8 ONNX MiniLM be a faster embedder without losing recall? (issue: performance)

    pip install onnxruntime onnx        # not project dependencies
    python benchmarks/onnx_embedder.py --index IDX [--articles 600] [--json FILE]

sentence-transformers 6's own ONNX backend needs optimum-onnx, which pins
transformers < 4.58 (sentence-transformers 6 needs >= 5), so this exports
MiniLM with `torch.onnx` and runs it with onnxruntime directly, fp32 and
dynamically quantised to int8. Speed: chunks per second on the same chunks as
the current backend (`SentenceTransformer.encode`), same batch size and
threads, measured in the same run. Quality: hybrid recall@5 on the
realtimeqa-2023 questions whose evidence lies in the first ``--articles``
articles of an index built from it, with those articles' chunks embedded by
each backend (BM25 and fusion unchanged).

Outcome on this project's 2-core Xeon: int8 1.12-1.18x, fp32 0.66-0.72x, so
not adopted. What `rag.embedder` adopted instead is torch's bf16 autocast on
AMX CPUs: 2.5x with no recall lost (`rag bench`, figure embedder_bf16_speedup).
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


class OnnxMiniLM:
    """MiniLM through onnxruntime: mean pooling and normalisation as sentence-transformers does."""

    def __init__(self, model_file: Path, tokenizer, threads: int) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(model_file), opts, providers=["CPUExecutionProvider"])
        self.tokenizer = tokenizer

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        # Longest first, as sentence-transformers does, so each batch pads to similar lengths.
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        texts = [texts[i] for i in order]
        out = []
        for i in range(0, len(texts), batch_size):
            enc = self.tokenizer(texts[i : i + batch_size], padding=True, truncation=True, max_length=256, return_tensors="np")
            feeds = {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            hidden = self.session.run(None, feeds)[0]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        vectors = np.empty((len(texts), out[0].shape[1]), dtype=np.float32)
        vectors[order] = np.concatenate(out)
        return vectors


def export(model_dir: str, work: Path) -> tuple[Path, Path, object]:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    bert = AutoModel.from_pretrained(model_dir).eval()

    class Encoder(torch.nn.Module):  # keyword arguments: the model's positional order changes between versions
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    model = Encoder().eval()
    enc = tokenizer(["an example sentence"], return_tensors="pt")
    fp32 = work / "minilm.onnx"
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad():
        torch.onnx.export(
            model, (enc["input_ids"], enc["attention_mask"], enc["token_type_ids"]), str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
            opset_version=17, dynamo=False,
        )
    int8 = work / "minilm-int8.onnx"
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    return fp32, int8, tokenizer


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
    from rag.embedder import SentenceTransformerEmbedder, _minilm_path
    from rag.evaluation import load_gold
    from rag.evaluation.metrics import chunk_hits
    from rag.llm import available_cores
    from rag.retrieval import BM25Index, FaissIndex, HybridRetriever
    from rag.store import read_generation

    threads = available_cores()
    work = Path(tempfile.mkdtemp(prefix="rag-onnx-"))
    st = SentenceTransformerEmbedder(threads=threads)
    fp32_file, int8_file, tokenizer = export(_minilm_path(), work)
    backends = {
        "sentence-transformers fp32 (current)": lambda t: st.embed(t),
        "onnxruntime fp32": OnnxMiniLM(fp32_file, tokenizer, threads).embed,
        "onnxruntime int8": OnnxMiniLM(int8_file, tokenizer, threads).embed,
    }
    data = read_generation(Path(args.index), verify=False)
    order = list(dict.fromkeys(c.doc_id for c in data.chunks))
    keep_docs = set(order[: args.articles])
    rows = [i for i, c in enumerate(data.chunks) if c.doc_id in keep_docs]
    chunks = [data.chunks[i] for i in rows]
    texts = [c.text for c in chunks]
    items = [g for g in load_gold(GOLD) if set(g.evidence_docs) & keep_docs]
    bm25 = BM25Index.build(texts)
    results = {}
    for name, embed in backends.items():
        rate, _ = _rate(embed, texts[: args.speed_chunks])
        vectors = embed(texts)
        retriever = HybridRetriever(chunks, FaissIndex(vectors), bm25, lambda q, e=embed: e([q])[0])
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
