"""Settings with one precedence rule: explicit argument > ``RAG_*`` environment variable > default."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace

__all__ = ["Settings", "MODES", "available_cores"]

MODES = ("auto", "extractive", "generative")


def available_cores() -> int:
    """Cores this process may run on (cgroup/affinity aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Settings:
    """Everything a user can tune. Each field reads ``RAG_<FIELD>`` from the environment.

    - ``index``: the store (``RAG_STORE``, or ``RAG_INDEX`` as before): a folder, ``milvus:FILE.db``
      or ``http://HOST:19530`` (see `rag.store`).

    - ``model``: path of a GGUF file, or a Hugging Face reference ``owner/repo[:quant]``
      (see `rag.llm.resolve`); None means the shipped SmolLM2-135M-Instruct.
    - ``llm_url``: an OpenAI-compatible server (``http://HOST:PORT/v1``) to generate with instead;
      ``llm_model`` the model name sent to it (None: the first it lists), ``llm_api_key`` its key.
    - ``mode``: "auto" picks extractive or generative per question.
    - ``k``: passages retrieved per question.
    - ``threads``: llama.cpp threads; None means every available core.
    - ``n_ctx``: llama.cpp context size; prompts are trimmed to fit it.
    """

    index: str = "index"
    corpus: str = "corpus"
    model: str | None = None
    llm_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = field(default=None, repr=False)  # a secret: kept out of logs and results
    mode: str = "auto"
    k: int = 5
    threads: int | None = None
    n_ctx: int = 2048
    max_tokens: int = 96
    temperature: float = 0.0

    @classmethod
    def from_env(cls, **overrides) -> Settings:
        """Defaults, then ``RAG_*`` variables, then the non-None ``overrides``."""
        values = {}
        for f in fields(cls):
            raw = os.environ.get(f"RAG_{f.name.upper()}")
            if f.name == "index":
                raw = os.environ.get("RAG_STORE") or raw  # the store's name since it may be Milvus; RAG_INDEX still works
            if raw is None or raw == "":
                continue
            values[f.name] = _coerce(f.name, raw, cls)
        settings = replace(cls(), **values)
        return settings.with_overrides(**overrides)

    def with_overrides(self, **overrides) -> Settings:
        updates = {k: v for k, v in overrides.items() if v is not None}
        settings = replace(self, **updates)
        if settings.mode not in MODES:
            from .errors import RagError

            raise RagError(f"unknown mode {settings.mode!r}; use one of: {', '.join(MODES)}")
        return settings


def _coerce(name: str, raw: str, cls) -> object:
    default = getattr(cls(), name)
    kind = {f.name: f.type for f in fields(cls)}[name]
    try:
        if isinstance(default, bool):
            return raw.lower() in ("1", "true", "yes", "on")
        if isinstance(default, int) or "int" in str(kind):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        from .errors import RagError

        raise RagError(f"RAG_{name.upper()}={raw!r} is not a valid {type(default).__name__}") from None
    return raw
