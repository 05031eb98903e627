"""Describe where a measurement ran: the machine, the library versions and the assistant's settings.

Evaluation and benchmark results carry this block so that two runs can be
compared knowing what differed between them.
"""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

__all__ = ["machine_info", "versions", "assistant_settings"]

_PACKAGES = (
    "rag-news",
    "sentence-transformers",
    "torch",
    "llama-cpp-python",
    "faiss-cpu",
    "langchain-text-splitters",
    "gradio",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)


def machine_info() -> dict:
    """CPU model, cores (all and usable by this process), memory, OS and Python."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict:
    """Installed versions of the packages the figures depend on (None when absent)."""
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def assistant_settings(assistant) -> dict:
    """The settings that shape an assistant's answers, with the index's embedder and chunking."""
    from .config import available_cores
    s = assistant.settings
    manifest = assistant.index.manifest
    stats = assistant.index.stats()
    return {
        "mode": s.mode,
        "k": s.k,
        "model": assistant.model_name,
        "llm_url": s.llm_url,
        "n_ctx": s.n_ctx,
        "max_tokens": s.max_tokens,
        "temperature": s.temperature,
        "threads": s.threads or available_cores(),
        "embedder": manifest.get("embedder", stats.get("embedder")),
        # The embedder that answered (questions and evidence sentences): the ONNX export in int8 or
        # fp32, or sentence-transformers; the index's own vectors were embedded at index time.
        "answer_embedder": type(getattr(assistant.index.embedder, "inner", assistant.index.embedder)).__name__,
        "embed_precision": getattr(assistant.index.embedder, "precision", None),
        "chunking": manifest.get("chunking"),
        "index": str(assistant.index_dir),
        "store": assistant.index.store.backend,
        "articles": stats["articles"],
        "chunks": stats["chunks"],
    }
