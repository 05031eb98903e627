"""The seam between the assistant and whatever writes text: the `LLM` and `Chooser` protocols.

An LLM streams a chat reply and counts tokens; ``name`` identifies the model
(fitted per-model trust is keyed by it) and ``n_ctx`` bounds the prompt.
``local`` says whether generation runs in this process: a local model must run
on the compute thread (`rag.compute`), a remote server must not hold it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

__all__ = ["LLM", "Chooser", "is_local"]


class LLM(Protocol):
    """A chat model that streams text."""

    name: str
    n_ctx: int

    def count_tokens(self, text: str) -> int: ...

    def stream_chat(
        self, messages: Sequence[dict[str, str]], *, max_tokens: int, temperature: float = 0.0
    ) -> Iterator[str]: ...


class Chooser(Protocol):
    """A model that can be made to answer with exactly one of some given texts."""

    def choose(self, messages: Sequence[dict[str, str]], options: Sequence[str]) -> int | None: ...


def is_local(llm: object) -> bool:
    """Whether ``llm`` computes in this process (the default for an adapter that does not say)."""
    return bool(getattr(llm, "local", True))
