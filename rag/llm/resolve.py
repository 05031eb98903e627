"""What ``--model`` / ``--llm-url`` name, turned into an `LLM`: a GGUF path, a hub reference, or a server.

- A path to a ``.gguf`` file (or nothing: the shipped SmolLM2) runs in-process with llama-cpp-python.
- A hub reference ``owner/repo[:quant]``, e.g. ``Qwen/Qwen2.5-1.5B-Instruct-GGUF:q4_k_m``, names a
  GGUF in a Hugging Face repository. It is found in the standard Hugging Face cache
  (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``) and used from there,
  offline. Only when it is not cached and the hub is allowed (``HF_HUB_OFFLINE=0``) is it fetched,
  once, through llama-cpp-python's ``Llama.from_pretrained`` (huggingface_hub, with a progress bar).
- ``--llm-url`` sends generation to an OpenAI-compatible server and wins over ``--model``.

Resolution is split from loading: `describe` names the model without loading anything (a
quoted answer never loads a model), `check` fails early on a bad name, and `load` builds it.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import RagError
from .llama_cpp import SHIPPED_MODEL, check_gguf

__all__ = ["ModelSpec", "HubRef", "parse_hub_ref", "cached_hub_file", "fetch_hub_file", "spec_of", "hub_cache_dir"]

# owner/repo, then optionally ":quant" (a file-name fragment such as q4_k_m, or a glob).
_HUB_REF = re.compile(r"^(?P<repo>[A-Za-z0-9][\w.-]*/[\w.-]+?)(?::(?P<quant>[\w.*?-]+))?$")


@dataclass(frozen=True)
class HubRef:
    repo: str
    quant: str | None = None

    @property
    def pattern(self) -> str:
        """The file-name glob the reference selects, matched case-insensitively."""
        if self.quant is None:
            return "*.gguf"
        q = self.quant.lower()
        return q if q.endswith(".gguf") else f"*{q}*.gguf"

    @property
    def hub_glob(self) -> str:
        """`pattern` for a case-sensitive matcher: ``Llama.from_pretrained`` matches repository file
        names with fnmatch, which is case-sensitive on Linux, and repositories write Q4_K_M or q4_k_m."""
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in self.pattern)

    def __str__(self) -> str:
        return self.repo + (f":{self.quant}" if self.quant else "")


def parse_hub_ref(text: str) -> HubRef | None:
    """``owner/repo[:quant]`` as a `HubRef`; None for anything that reads as a file path."""
    text = text.strip()
    if text.lower().endswith(".gguf") or text.startswith((".", "/", "~")) or Path(text).expanduser().exists():
        return None
    m = _HUB_REF.match(text)
    return HubRef(m["repo"], m["quant"]) if m else None


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache, read from the environment at call time."""
    env = os.environ.get
    if env("HF_HUB_CACHE"):
        return Path(env("HF_HUB_CACHE")).expanduser()
    home = Path(env("HF_HOME")).expanduser() if env("HF_HOME") else Path.home() / ".cache" / "huggingface"
    return home / "hub"


def _matching(ref: HubRef, names: list[str]) -> str:
    found = sorted(n for n in names if fnmatch.fnmatch(Path(n).name.lower(), ref.pattern))
    if len(found) > 1:
        first_shards = [n for n in found if re.search(r"-0*1-of-\d+\.gguf$", n.lower())]
        found = first_shards if len(first_shards) == 1 else found
    if len(found) == 1:
        return found[0]
    if not found:
        raise LookupError(ref)
    raise RagError(f"{ref} matches {len(found)} files ({', '.join(Path(n).name for n in found[:6])}); add the quantisation, e.g. {ref.repo}:q4_k_m")


def cached_hub_file(ref: HubRef, cache_dir: Path | None = None) -> Path | None:
    """The reference's GGUF in the local cache (its ``main`` snapshot), or None."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        snapshot = Path(snapshot_download(ref.repo, cache_dir=cache_dir or hub_cache_dir(), local_files_only=True))
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None
    names = [str(p.relative_to(snapshot)) for p in snapshot.rglob("*.gguf")]
    try:
        return snapshot / _matching(ref, names)
    except LookupError:
        return None


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def fetch_hub_file(ref: HubRef, cache_dir: Path | None = None) -> Path:
    """The reference's GGUF, from the cache or else fetched once into it."""
    cached = cached_hub_file(ref, cache_dir)
    if cached is not None:
        return cached
    if _offline():
        raise RagError(
            f"{ref} is not in the Hugging Face cache ({cache_dir or hub_cache_dir()}) and the hub is off; "
            f"fetch it once with: HF_HUB_OFFLINE=0 rag models --pull {ref}"
        )
    try:
        from llama_cpp import Llama
    except ImportError as exc:
        raise RagError("llama-cpp-python is missing; run: pip install llama-cpp-python") from exc
    try:
        # vocab_only: download the file and read its header, without loading the weights twice.
        llama = Llama.from_pretrained(
            ref.repo, ref.hub_glob, cache_dir=str(cache_dir or hub_cache_dir()), vocab_only=True, verbose=False
        )
    except ValueError as exc:  # no file, or several, matching the pattern
        raise RagError(f"{ref}: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # noqa: BLE001 -- network and hub errors come in many classes
        raise RagError(f"could not fetch {ref} from the Hugging Face hub: {' '.join(str(exc).split())[:200]}") from None
    return Path(llama.model_path)


@dataclass(frozen=True)
class ModelSpec:
    """Which LLM the settings name, before anything is loaded."""

    kind: str  # "shipped" | "path" | "hub" | "url"
    value: str | None = None  # the path, hub reference or URL
    server_model: str | None = None  # the model name sent to a server

    @property
    def name(self) -> str:
        """The model's name as answers and fitted per-model trust know it."""
        if self.kind == "shipped":
            return SHIPPED_MODEL
        if self.kind == "path":
            return Path(self.value or "").name
        if self.kind == "hub":
            return str(self.value)
        return self.server_model or self.value or "server"

    @property
    def local(self) -> bool:
        return self.kind != "url"

    @property
    def ref(self) -> HubRef | None:
        return parse_hub_ref(self.value or "") if self.kind == "hub" else None

    def check(self, *, api_key: str | None = None) -> None:
        """Fail now, in one line, on a model that cannot be used (a quoted answer would hide it)."""
        if self.kind == "url":
            from .openai_compat import OpenAICompatLLM

            OpenAICompatLLM(self.value or "", self.server_model, api_key=api_key).check()
        elif self.kind == "path":
            check_gguf(self.value or "")
        elif self.kind == "hub" and _offline():
            fetch_hub_file(self.ref)  # offline: the cached file, or the one-line "not cached" error

    def load(self, *, n_ctx: int, threads: int | None, api_key: str | None = None):
        """Build the `LLM` (the slow part: reads a model, or greets no one for a URL)."""
        if self.kind == "url":
            from .openai_compat import OpenAICompatLLM

            return OpenAICompatLLM(self.value or "", self.server_model, api_key=api_key, n_ctx=n_ctx)
        from .llama_cpp import LlamaCppLLM

        path: str | Path | None = fetch_hub_file(self.ref) if self.kind == "hub" else self.value
        llm = LlamaCppLLM(path, n_ctx=n_ctx, threads=threads)
        if self.kind == "hub":
            llm.name = self.name
        return llm


def spec_of(model: str | None, llm_url: str | None = None, llm_model: str | None = None) -> ModelSpec:
    """The `ModelSpec` for a ``--model`` value and an optional ``--llm-url``."""
    if llm_url:
        if not re.match(r"^https?://", llm_url):
            raise RagError(f"--llm-url {llm_url!r} is not an http(s) URL; e.g. http://127.0.0.1:8080/v1")
        return ModelSpec("url", llm_url.rstrip("/"), llm_model)
    if not model:
        return ModelSpec("shipped")
    ref = parse_hub_ref(model)
    if ref is not None:
        return ModelSpec("hub", str(ref))
    return ModelSpec("path", model)
