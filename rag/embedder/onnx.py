"""The answering embedder: the index's model through onnxruntime, without torch.

Answering a question needs only query and sentence vectors, but loading
sentence-transformers for them costs ~10 s of imports (torch, transformers,
scikit-learn) on two cores. onnxruntime and `tokenizers` import in ~0.15 s.
So indexing, where torch is loaded anyway, exports the model's transformer to
ONNX once (`export`), and `OnnxEmbedder` answers from that file: the folder's
own tokenizer, truncation and pooling, then L2 normalisation, as
sentence-transformers does. Its vectors agree with the fp32
`SentenceTransformerEmbedder` to cosine 0.9999 (tests/test_embedder_onnx.py).

Beside it the export leaves an 8-bit copy (`_quantise`), which answers by
default: a question and its evidence sentences embed 2-2.5x faster, at cosine
0.97-0.99 to the fp32 vectors the index holds. Indexing never uses it: the
vectors stored stay full precision, so only the query side moves.

The export lives in a per-user cache (``$RAG_CACHE_DIR/onnx``, else
``$XDG_CACHE_HOME/rag-news/onnx`` or ``~/.cache/rag-news/onnx``), named by a
key of the model folder's files, so another model, or a reinstalled one, never
reuses it.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .base import ModelFolder, quiet_transformers

__all__ = ["OnnxEmbedder", "export", "cached_export", "cache_dir", "model_key", "supported", "PRECISIONS"]

PRECISIONS = ("fp32", "int8")
MIN_INT8_COSINE = 0.98  # an 8-bit copy that strays further from fp32 on the check texts is not kept

EXPORT_FORMAT = 1  # bump when `export` writes a different graph, so old exports are not reused
OPSET = 17
_CONTENT_HASHED = 1 << 20  # bytes: config and tokenizer files are hashed whole, weights by size and time
_TRACE_TEXTS = ["An example sentence.", "A longer second sentence, so the batch has padding to mask."]
# Another batch size and length than the trace: a shape the tracer baked in would show.
_CHECK_TEXTS = ["Short.", "Three people were arrested on Tuesday.", "Flights " * 40 + "were halted after the protests."]


def cache_dir() -> Path:
    if os.environ.get("RAG_CACHE_DIR"):
        return Path(os.environ["RAG_CACHE_DIR"]).expanduser() / "onnx"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser()
    return base / "rag-news" / "onnx"


def model_key(folder: Path) -> str:
    """A key of the folder's files: small ones by content, large ones (the weights) by size and
    modification time, as Python's own bytecode cache does. Hashing the 90 MB of weights would
    cost ~0.15 s of every cold start; a reinstall changes their time and so gets a new export."""
    h = hashlib.sha256(f"rag-onnx {EXPORT_FORMAT} opset {OPSET}\n".encode())
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = file.stat()
        h.update(f"{file.relative_to(folder).as_posix()}\0{stat.st_size}\0".encode())
        h.update(file.read_bytes() if stat.st_size <= _CONTENT_HASHED else str(stat.st_mtime_ns).encode())
    return h.hexdigest()[:24]


def cached_export(folder: ModelFolder, precision: str = "fp32") -> Path:
    """Where the export of ``folder`` is (or would be) cached, in ``precision`` ("fp32" or "int8")."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown ONNX precision {precision!r}; use one of: {', '.join(PRECISIONS)}")
    return cache_dir() / f"{model_key(folder.path)}{'' if precision == 'fp32' else '.' + precision}.onnx"


def export(folder: ModelFolder) -> Path:
    """Export the folder's transformer to ONNX, and its 8-bit copy, unless they are cached;
    returns the fp32 file.

    Needs torch, transformers and onnx. Each file is checked before it is kept (the graph
    against torch on a padded batch, the 8-bit copy against the graph) and written to a
    temporary file first, so the cache never holds a partial or wrong export."""
    target = cached_export(folder)
    if not supported(folder):
        raise ValueError(f"the ONNX path can't reproduce {folder.path}: not a Transformer + Pooling model it knows")
    if not target.exists():
        _export(folder, target)
    quantised = cached_export(folder, "int8")
    if not quantised.exists():
        _quantise(folder, target, quantised)
    return target


def _export(folder: ModelFolder, target: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    quiet_transformers()
    # Eager attention: plain matrix products that onnxruntime fuses itself; the SDPA export
    # is as exact but was no faster.
    model = AutoModel.from_pretrained(str(folder.path), attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(str(folder.path))
    accepted = inspect.signature(model.forward).parameters
    inputs = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted]
    trace = tokenizer(_TRACE_TEXTS, padding=True, return_tensors="pt")
    check = tokenizer(_CHECK_TEXTS, padding=True, return_tensors="pt")

    class Hidden(torch.nn.Module):  # keyword arguments: the model's positional order changes between versions
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *args):
            return self.model(**dict(zip(inputs, args))).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    axes = {0: "batch", 1: "tokens"}
    wrapper = Hidden().eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about the model's Python branches
            torch.onnx.export(
                wrapper, tuple(trace[n] for n in inputs), str(tmp), input_names=inputs,
                output_names=["last_hidden_state"], dynamic_axes={n: axes for n in [*inputs, "last_hidden_state"]},
                opset_version=OPSET, dynamo=False,  # the TorchScript exporter: the dynamo one would need onnxscript
            )
            expected = wrapper(*(check[n] for n in inputs)).numpy()
        got = _session(tmp, None).run(None, {n: check[n].numpy() for n in inputs})[0]
        real = check["attention_mask"].numpy()[..., None] > 0  # padded positions are pooled away
        gap = float(np.abs(np.where(real, got - expected, 0)).max())
        if gap > 1e-4:
            raise ValueError(f"the ONNX export differs from torch by {gap:.2g}")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _quantise(folder: ModelFolder, source: Path, target: Path) -> None:
    """The 8-bit copy: onnxruntime's dynamic quantisation of every matrix product, weights
    per output channel (per tensor, a few sentences fell to cosine 0.94 of fp32; per
    channel the lowest of the seed's was 0.986). Activations are quantised as each product
    runs, so no calibration data is needed."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp.onnx")
    logging.disable(logging.WARNING)  # its advice to pre-process first, printed through the root logger
    try:
        quantize_dynamic(source, tmp, weight_type=QuantType.QInt8, per_channel=True, op_types_to_quantize=["MatMul"])
        texts = [*_TRACE_TEXTS, *_CHECK_TEXTS]
        want = OnnxEmbedder(folder, source, name="check").embed(texts)
        got = OnnxEmbedder(folder, tmp, name="check", precision="int8").embed(texts)
        agreement = float((got * want).sum(axis=1).min())
        if agreement < MIN_INT8_COSINE:
            raise ValueError(f"the 8-bit ONNX copy agrees with fp32 only to cosine {agreement:.3f}")
        os.replace(tmp, target)
    finally:
        logging.disable(logging.NOTSET)
        tmp.unlink(missing_ok=True)


def _session(file: Path, threads: int | None):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
    # Idle pool threads sleep instead of spinning: on two cores a spinning thread takes the core
    # that spaCy and the reader need between runs (the reading took 1.7 s against 2.6 with it).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])


class OnnxEmbedder:
    """An exported sentence-transformers model on onnxruntime (fp32, or its 8-bit copy).

    ``name`` must be the sentence-transformers embedder's for the same folder, since the
    index manifest checks it; ``dim`` and ``max_tokens`` come from the folder's config."""

    def __init__(self, folder: ModelFolder, onnx_file: Path, *, name: str, batch_size: int = 8,
                 threads: int | None = None, precision: str = "fp32") -> None:
        from tokenizers import Tokenizer

        if not supported(folder):
            raise ValueError(f"the ONNX path can't reproduce {folder.path}: not a Transformer + Pooling model it knows")
        self.folder = folder
        self.name = name
        self.precision = precision
        self.dim = folder.dim
        self.max_tokens = folder.max_seq_length
        self.batch_size = batch_size
        self._session = _session(onnx_file, threads)
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._counter = None
        tokenizer = Tokenizer.from_file(str(folder.path / "tokenizer.json"))
        # tokenizer.json may carry its own truncation and fixed padding (MiniLM's: 128 tokens);
        # sentence-transformers replaces both, truncating at max_seq_length and padding to the longest.
        pad = tokenizer.padding or {"pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"}
        self._pad = {k: pad[k] for k in ("pad_id", "pad_type_id", "pad_token")}
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.no_padding()
        self._tokenizer = tokenizer

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        texts = [t.lower() for t in texts] if self.folder.do_lower_case else list(texts)
        encoded = self._tokenizer.encode_batch(texts)
        # Longest first by tokens, in small batches, so little is padded: a batch costs its longest
        # text times its size. On the reader's texts (3 to 80 tokens) batches of 8 took half the
        # time of sentence-transformers' 32 sorted by characters, and more runs cost ~1 ms each.
        order = np.argsort([-len(e.ids) for e in encoded], kind="stable")
        for start in range(0, len(texts), self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = [encoded[i] for i in rows]
            for e in batch:
                e.pad(len(batch[0].ids), **self._pad)
            feeds = {
                "input_ids": np.array([e.ids for e in batch], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in batch], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in batch], dtype=np.int64),
            }
            hidden = self._session.run(None, {n: feeds[n] for n in self._inputs})[0]
            out[rows] = _pool(hidden, feeds["attention_mask"], self.folder.pooling)
        # Always normalised, whether or not the folder has a Normalize module: the index
        # searches by inner product, and the sentence-transformers embedder asks for it too.
        out /= np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        return out

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        if self._counter is None:  # a second tokenizer: counting must not truncate
            from tokenizers import Tokenizer

            self._counter = Tokenizer.from_file(str(self.folder.path / "tokenizer.json"))
            self._counter.no_truncation()
            self._counter.no_padding()
        return [len(e.ids) for e in self._counter.encode_batch(list(texts))]


def _pool(hidden: np.ndarray, mask: np.ndarray, modes: tuple[str, ...]) -> np.ndarray:
    """Sentence vectors from token vectors (padding on the right), as sentence-transformers' Pooling."""
    m = mask[..., None].astype(np.float32)
    parts = []
    for mode in modes:
        if mode == "cls":
            parts.append(hidden[:, 0])
        elif mode == "max":
            parts.append(np.where(m > 0, hidden, -np.inf).max(axis=1))
        elif mode in ("mean", "mean_sqrt_len_tokens"):
            count = np.clip(m.sum(axis=1), 1e-9, None)
            parts.append((hidden * m).sum(axis=1) / (count if mode == "mean" else np.sqrt(count)))
        else:
            raise ValueError(f"pooling mode {mode!r} is not supported by the ONNX embedder")
    return np.concatenate(parts, axis=1)


def supported(folder: ModelFolder) -> bool:
    """Whether the folder's pipeline is one this module reproduces."""
    return folder.plain and folder.max_seq_length is not None and all(
        m in ("cls", "max", "mean", "mean_sqrt_len_tokens") for m in folder.pooling
    )
