"""The answer flow: one question in, a cited `Answer` out, streamed as it is written.

1. `plan` parses the question and its conversation once into a query (a follow-up
   resolved, time words read) and retrieves the passages;
2. the reader finds the best evidence; a model may choose among its short
   answers where that was measured to help; news-aware arrangement may swap in a
   newer report, a disagreement or a dated digest (`rag.answer.news`);
3. the reply is an abstention, a quote, a digest, or a generated answer whose
   every sentence was checked (`rag.answer.generate`), falling back to a quote.

Each step returns a result; the `Answer` is assembled once, at the end. The flow
runs wherever it is called: `rag.assistant` decides which thread.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import date

from ..errors import RagError
from ..types import Answer, Citation
from .choose import read_with
from .compose import VERDICT, abstention, digest, disagreement, extractive, with_copies
from .conversation import taken_to_mean
from .extract import read_by_model
from .generate import Exchanges, generate
from .news import arrange
from .query import plan, reports_of
from .question import statement
from .reader import sources
from .verify import check_support

__all__ = ["Tools", "Reply", "answer_flow", "MAX_QUESTION_CHARS", "GENERATIVE"]

MAX_QUESTION_CHARS = 2000  # longer questions are trimmed, and the answer says so
# Answer classes that auto mode lets the LLM phrase; factoid questions are answered by the reader.
GENERATIVE = ("reason", "manner", "other")
UNSETTLED = "no passage states it outright, so they don't settle whether it is true"


@dataclass
class Tools:
    """What the flow answers with (the index is passed per answer: one generation throughout)."""

    embedder: object
    reader: object
    llm: object
    exchanges: Exchanges
    max_tokens: int
    temperature: float


@dataclass
class Reply:
    """The answer's text and what backs it, as the reply step produced them."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    mode: str = "extractive"
    short: str | None = None
    abstained: bool = False
    withheld: str | None = None
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def answer_flow(
    tools: Tools, index, question: str, history: Sequence[dict] | None, mode: str, k: int, as_of: int | None
) -> Generator[str, None, Answer]:
    """Yield the answer's text as it is written; return the whole `Answer`."""
    t0 = time.perf_counter()
    notes: list[str] = []
    question = (question or "").strip()
    if not question:
        raise RagError("the question is empty; type a question about the articles")
    if len(question) > MAX_QUESTION_CHARS:
        question = question[:MAX_QUESTION_CHARS]
        notes.append(f"the question was trimmed to its first {MAX_QUESTION_CHARS} characters")
    if not index.size:
        raise RagError("the index has no articles yet; add some with: rag index corpus")
    p = plan(index, tools.embedder, question, history, k=k, as_of=as_of)
    t_retrieved = time.perf_counter()
    reader = tools.reader
    reading = reader.read(p.question, p.vector, p.pool, index.articles, p.as_of, index.story_of)
    reading, chose, note = _with_model(tools, p, reading, index.articles, mode)
    if note:
        notes.append(note)
    news = arrange(
        p.question, reading, p.passages, index.articles, p.window,
        lambda day: reader.read(p.question, p.vector, reports_of(index, p, day), index.articles, p.as_of, index.story_of),
        index.idf,
        as_of=p.as_of,
    )
    timings = {"retrieval": t_retrieved - t0, "evidence": time.perf_counter() - t_retrieved}
    if p.resolution.note:
        notes.append(p.resolution.note)
    reply = yield from _reply(tools, index, p, news, history, mode, chose, t0)
    reply.timings = {**timings, **reply.timings}
    reply.timings.setdefault("first_token", time.perf_counter() - t0)
    reply.timings["total"] = time.perf_counter() - t0
    return Answer(
        question=question, text=reply.text, mode=reply.mode, query=p.query,
        passages=sources(news.reading, p.pool, k, index.story_of),
        notes=notes + reply.notes, confidence=round(news.reading.confidence, 4),
        as_of=None if as_of is None else date.fromordinal(as_of).isoformat(),
        citations=with_copies(reply.citations, index.articles, lambda d: index.also_in(d, as_of)),
        short=reply.short, abstained=reply.abstained, withheld=reply.withheld, timings=reply.timings,
    )


def _reply(tools: Tools, index, p, news, history, mode: str, chose: bool, t0: float) -> Generator[str, None, Reply]:
    reading = news.reading
    if not reading.answerable and not news.digest:
        withheld = extractive(reading, index.articles, factoid=p.question.factoid)[0] if reading.ranked else None
        reply = Reply(abstention(reading.reason), abstained=True, withheld=withheld)
        yield reply.text
        return reply
    claim = statement(p.resolution.question) if not news.digest else None
    if claim is not None and not check_support(claim, [reading.best.with_context]).supported:
        # A verdict is asked for, and a quote is not one: "True" only when the best sentence states
        # the claim itself (the verifier's test); telling "false" from "not said" needs more than that.
        withheld = extractive(reading, index.articles, factoid=False)[0]
        reply = Reply(abstention(UNSETTLED), abstained=True, withheld=withheld)
        yield reply.text
        return reply
    notes: list[str] = []
    guess = p.resolution.note or taken_to_mean(p.resolution, reading.best.text if reading.best else "")
    if guess and guess != p.resolution.note:
        notes.append(guess)
    lead = f"{guess} " if guess else ""
    if news.digest or news.differs:
        # Several dated or disagreeing reports: quoted as they are, never merged by a model.
        text, citations = (
            digest(news.digest, index.articles, p.as_of) if news.digest else disagreement(news.differs, index.articles, p.as_of)
        )
        reply = Reply(lead + text, citations, notes=notes)
        yield reply.text
        return reply
    auto = mode == "auto" and p.question.answer_class in GENERATIVE and not _quote_suffices(p, reading)
    if not chose and claim is None and (mode == "generative" or auto):
        started = False
        pieces = generate(
            tools.llm, p.resolution.question, history, reading, index.articles, tools.exchanges,
            max_tokens=tools.max_tokens, temperature=tools.temperature,
        )
        while True:
            try:
                piece = next(pieces)
            except StopIteration as done:
                out = done.value
                break
            yield (lead + piece) if not started else piece
            started = True
        notes.extend(out.notes)
        if out.text:
            timings = {"generation": out.seconds, "first_token": (out.first_token or time.perf_counter()) - t0}
            return Reply(lead + out.text, out.citations, mode="generative", notes=notes, timings=timings)
        notes.append("the generated answer was not supported by the articles; quoting them instead")
    text, citations, short = extractive(
        reading, index.articles, factoid=p.question.factoid, dated=p.question.answer_class == "number", as_of=p.as_of
    )
    if claim is not None:
        lead += VERDICT
    reply = Reply(lead + text, citations, mode="generative" if chose else "extractive", short=short, notes=notes)
    reply.timings["first_token"] = time.perf_counter() - t0
    yield reply.text
    return reply


def _with_model(tools: Tools, p, reading, articles, mode: str):
    """(reading, whether the model's pick leads, a note): where this LLM was measured to read
    better than the reader alone (`rag.answer.fit_extractor`, `rag.answer.fit_chooser`), it
    names the answer; the reader's reading stands otherwise."""
    if mode == "extractive" or not reading.ranked:
        return reading, False, None
    weights, name = tools.reader.weights, tools.llm.name

    def trusted(entry) -> bool:
        return bool(entry) and (mode == "generative" or bool(entry.get("better_than_reader")))

    entry = weights.extractors.get(name)
    if trusted(entry):
        reading, used = read_by_model(tools.llm, entry, p.question, p.resolution.question, reading, articles)
        return reading, used, f"{name} found the short answer in the evidence" if used else None
    entry = weights.choosers.get(name) if p.question.factoid else None
    if trusted(entry) and hasattr(tools.llm, "choose"):
        chosen = read_with(tools.llm, entry, p.question, p.resolution.question, reading, articles)
        if chosen is not None:
            return chosen, True, f"{name} chose the short answer among the reader's best"
    return reading, False, None


def _quote_suffices(p, reading) -> bool:
    """A sentence that holds every term of the question is already the best answer."""
    best = reading.best
    if best is None:
        return False
    from ..text import content_terms
    from .features import terms_found

    return terms_found(p.question.weights, set(content_terms(best.text)))
