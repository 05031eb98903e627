"""Text generation behind one protocol: llama-cpp-python in-process, or any OpenAI-compatible server.

`base` holds the `LLM` protocol, `llama_cpp` and `openai_compat` the adapters,
and `resolve` turns a ``--model`` path or hub reference, or an ``--llm-url``,
into one of them.
"""

from .base import LLM, Chooser, is_local
from .llama_cpp import SHIPPED_MODEL, LlamaCppLLM, check_gguf, gbnf_choice, shipped_model_path
from .resolve import ModelSpec, parse_hub_ref, spec_of

__all__ = [
    "LLM", "Chooser", "is_local", "LlamaCppLLM", "SHIPPED_MODEL", "check_gguf", "gbnf_choice",
    "shipped_model_path", "ModelSpec", "parse_hub_ref", "spec_of",
]
