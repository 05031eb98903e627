"""Generate: stream an LLM's answer one checked sentence at a time.

The model sees the reader's best sentences as numbered evidence. Each
sentence it writes is held back until complete, checked by `verify` against
that evidence, and released with citations the system attaches (markers the
model wrote are ignored); an unsupported sentence is dropped and noted. A
follow-up to an answer generated here extends that exact prompt and reply, so
llama.cpp evaluates only the new message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field

from ..llm import LLM
from ..prompts import NOT_FOUND, EvidenceLine, build_messages, continue_messages
from ..text import split_sentences
from ..types import Article, Citation
from .compose import attach, citation, evidence_set
from .reader import Reading
from .verify import check_support, strip_markers

__all__ = ["Generated", "Exchanges", "generate"]

EVIDENCE_SENTENCES = 4


@dataclass
class Generated:
    """What generation produced: the checked text, its citations and what was dropped."""

    text: str = ""
    citations: list[Citation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    first_token: float | None = None
    seconds: float = 0.0


class Exchanges:
    """(question, answer text) -> (messages sent, raw reply, last evidence number) of recent
    generated answers, so a follow-up can extend that prompt. Answers through a remote server
    run on their callers' threads, hence the lock."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._items: dict[tuple[str, str], tuple[list[dict], str, int]] = {}
        self._lock = threading.Lock()

    def get(self, history: Sequence[dict] | None):
        key = _last_exchange(history)
        with self._lock:
            return self._items.get(key) if key else None

    def put(self, key: tuple[str, str], value: tuple[list[dict], str, int]) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.pop(next(iter(self._items)))


def _last_exchange(history: Sequence[dict] | None) -> tuple[str, str] | None:
    """(question, answer) of the conversation's last turn, if it ends with one."""
    if not history or len(history) < 2:
        return None
    user, reply = history[-2], history[-1]
    if user.get("role") != "user" or reply.get("role") != "assistant":
        return None
    return (str(user.get("content", "")).strip(), str(reply.get("content", "")))


def _sentences_from(tokens: Iterator[str]) -> Iterator[str]:
    """Group streamed tokens into complete sentences."""
    buffer = ""
    for tok in tokens:
        buffer += tok
        sents = split_sentences(buffer)
        if len(sents) > 1:
            for s in sents[:-1]:
                yield s.text
            buffer = buffer[sents[-1].start :]
    if buffer.strip():
        yield buffer.strip()


def generate(
    llm: LLM,
    question: str,
    history: Sequence[dict] | None,
    reading: Reading,
    articles: dict[str, Article],
    exchanges: Exchanges,
    *,
    max_tokens: int,
    temperature: float,
) -> Generator[str, None, Generated]:
    """Yield checked sentences (with markers); return what was generated, whose ``text`` is empty
    if no sentence survived the check."""
    out = Generated()
    ev = evidence_set(reading, EVIDENCE_SENTENCES)
    budget = llm.n_ctx - max_tokens - 16
    prior = exchanges.get(history)
    messages = None
    if prior:  # a follow-up to an answer generated here: extend that exact prompt (KV cache reuse)
        lines = _lines(ev, articles, first=prior[2] + 1)
        messages = continue_messages(prior[0], prior[1], question, lines, count_tokens=llm.count_tokens, budget=budget)
    if messages is None:
        lines = _lines(ev, articles, first=1)
        messages = build_messages(question, lines, history, count_tokens=llm.count_tokens, budget=budget)
    texts = [s.text for _, s, _ in ev]
    cited: dict[tuple[str, int], Citation] = {}
    parts: list[str] = []
    raw: list[str] = []
    t0 = time.perf_counter()
    tokens = llm.stream_chat(messages, max_tokens=max_tokens, temperature=temperature)
    for piece in _sentences_from(_recorded(tokens, raw)):
        claim = strip_markers(piece)
        if not claim or NOT_FOUND.lower() in claim.lower():
            continue
        support = check_support(claim, texts, question)
        if not support.supported:
            out.notes.append(f"dropped an unsupported sentence ({support.reason}): {claim}")
            continue
        marks = []
        for src in support.sources:
            cand, s, p = ev[src]
            key = (cand.doc_id, s.start)
            if key not in cited:
                cited[key] = citation(len(cited) + 1, cand, s, articles[cand.doc_id], p)
            marks.append(f"[{cited[key].n}]")
        sentence = attach(claim, marks)
        if not parts:
            out.first_token = time.perf_counter()
        yield sentence if not parts else " " + sentence
        parts.append(sentence)
    out.seconds = time.perf_counter() - t0
    if parts:
        out.text = " ".join(parts)
        out.citations = sorted(cited.values(), key=lambda c: c.n)
        exchanges.put((question, out.text), (messages, "".join(raw), lines[-1].n))
    return out


def _lines(ev, articles: dict[str, Article], *, first: int) -> list[EvidenceLine]:
    """The evidence sentences as the model sees them, numbered from ``first``."""
    return [
        EvidenceLine(first + i, s.text, articles[c.doc_id].title, articles[c.doc_id].published)
        for i, (c, s, _) in enumerate(ev)
    ]


def _recorded(tokens: Iterator[str], into: list[str]) -> Iterator[str]:
    for t in tokens:
        into.append(t)
        yield t
