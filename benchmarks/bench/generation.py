"""Generation figures: tokens/s and time to first token through `Assistant.stream`, and KV-cache reuse.

The baselines are llama-cpp-python itself, driven through the public
`LlamaCppLLM.raw` (a `llama_cpp.Llama`) on the same prompt in the same run:
`create_chat_completion` for decode speed, `eval` of a probe prompt for the
prompt-processing rate. KV-cache reuse is read from the public
`Llama.input_ids` / `Llama.n_tokens` after each turn. All llama.cpp work runs
on `rag.compute`'s thread, as the assistant's does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from rag import compute

from .common import Figure, not_measured

__all__ = ["generation_figures"]


class _Recording:
    """Passes an LLM through and records what the assistant sent and when each token came."""

    def __init__(self, llm) -> None:
        self.llm, self.name, self.n_ctx = llm, llm.name, llm.n_ctx
        self.count_tokens = llm.count_tokens
        self.messages: list[dict] = []
        self.token_times: list[float] = []
        self.calls = 0

    def stream_chat(self, messages, *, max_tokens: int, temperature: float = 0.0) -> Iterator[str]:
        self.calls += 1
        self.messages, self.token_times = list(messages), []
        for piece in self.llm.stream_chat(messages, max_tokens=max_tokens, temperature=temperature):
            self.token_times.append(time.perf_counter())
            yield piece


def _decode_rate(times: Sequence[float]) -> float | None:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 2 else None


def _raw_token_times(raw, messages, max_tokens: int) -> list[float]:
    times = []
    for chunk in raw.create_chat_completion(
        messages=list(messages), max_tokens=max_tokens, temperature=0.0, top_k=1, stream=True
    ):
        if chunk["choices"][0].get("delta", {}).get("content"):
            times.append(time.perf_counter())
    return times


def _prompt_rate(raw, tokens) -> float:
    raw.reset()
    t = time.perf_counter()
    raw.eval(tokens)
    return len(tokens) / (time.perf_counter() - t)


def _context(raw, drop: int = 0) -> list[int]:
    """The tokens in llama.cpp's context (its KV cache), less the last ``drop``."""
    return [int(t) for t in raw.input_ids[: raw.n_tokens - drop]]


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def generation_figures(seed_index: Path, embedder, model: str | None) -> list[Figure]:
    """Tokens/s and time to first token through `Assistant.stream`, and KV reuse on a follow-up."""
    from rag import Assistant
    from rag.config import Settings
    from rag.llm import spec_of

    settings = Settings()
    llm = spec_of(model).load(n_ctx=settings.n_ctx, threads=settings.threads)  # a GGUF path or a hub reference
    rec = _Recording(llm)
    assistant = Assistant.load(seed_index, embedder=embedder, llm=rec, mode="generative")
    raw = llm.raw
    assistant.ask("What did Russia's foreign ministry claim?")  # warm-up: models and caches loaded
    question = "Why did the protests start?"
    t0 = time.perf_counter()
    stream = assistant.stream(question)
    for _ in stream:
        pass
    answer = stream.answer
    ours_times, messages = rec.token_times, rec.messages
    context_after = raw.n_tokens
    ours = _decode_rate(ours_times)
    raw_times = compute.run(_raw_token_times, raw, messages, assistant.settings.max_tokens)
    bare = _decode_rate(raw_times)
    figures = [
        Figure(
            "generation_tokens_per_s", ours, "tokens/s", bare, "llama-cpp-python create_chat_completion, same prompt",
            ours / bare if ours and bare else None, ">= 0.9x", (ours / bare >= 0.9) if ours and bare else None,
            f"{len(ours_times)} tokens decoded; model {llm.name}, {llm.threads} threads, batch {llm.n_batch}",
        )
    ]
    # Time to first token against prompt tokens / the measured prompt-processing rate + retrieval.
    prompt_tokens = context_after - len(ours_times)
    probe = raw.tokenize(("The protests began over fuel prices. " * 40).encode(), add_bos=True)[:400]
    pp_rate = compute.run(_prompt_rate, raw, probe)
    before_llm = answer.timings["retrieval"] + answer.timings["evidence"]
    expected = before_llm + prompt_tokens / pp_rate
    actual = ours_times[0] - t0
    figures.append(
        Figure(
            "time_to_first_token", actual, "s", expected,
            "prompt tokens / measured prompt-processing rate + retrieval and evidence time",
            actual / expected, "<= 1.15x", actual / expected <= 1.15,
            f"{prompt_tokens} prompt tokens at {pp_rate:.0f} tokens/s; retrieval+evidence {before_llm * 1000:.0f} ms",
        )
    )
    return [*figures, _follow_up(assistant, rec, raw)]


# Turn-1 questions for the follow-up figure, in order: the first whose answer the model phrases (and
# the verifier keeps) is used, since a quoted turn 1 leaves no prompt for turn 2 to extend.
FOLLOW_UP_OPENERS = ("Why did the protests start?", "What did Russia's foreign ministry claim?", "Who is Tokayev?")


def _follow_up(assistant, rec: _Recording, raw) -> Figure:
    """A follow-up: how much of its prompt llama.cpp had to evaluate."""
    name, goal = "follow_up_prompt_tokens_evaluated", "only the new part: the KV cache prefix is reused"
    for question in FOLLOW_UP_OPENERS:
        compute.run(raw.reset)
        first = assistant.ask(question)  # turn 1, from an empty cache
        if first.mode == "generative":
            break
    else:
        return not_measured(name, goal, "no opener's generated answer survived the check, so no prompt to extend")
    history = [{"role": "user", "content": question}, {"role": "assistant", "content": first.text}]
    cached = _context(raw)
    calls = rec.calls
    assistant.ask("What did the government do about them?", history)
    if rec.calls == calls:
        return not_measured(name, "only the new part", "the follow-up abstained")
    prompt2 = _context(raw, drop=len(rec.token_times))
    reused = common_prefix(cached, prompt2)
    evaluated = len(prompt2) - reused
    new_part = len(prompt2) - len(cached)  # what turn 2 adds after turn 1's prompt and reply
    return Figure(
        name, evaluated, "tokens", len(prompt2), "the follow-up's whole prompt",
        evaluated / len(prompt2), goal,
        evaluated <= new_part + 2,  # +2: the reply's last token is sampled, not yet evaluated, and may re-tokenise
        f"{reused} tokens of turn 1 (prompt and reply) reused; the new part is {new_part} tokens",
    )
